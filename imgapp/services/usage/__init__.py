"""The usage report: what one user's credits did over a range of local days.

A range is whole days in a time zone: `start` inclusive, `end` exclusive. It
covers the ledger entries written in [local midnight of `start`, local
midnight of `end`), so "today" in Asia/Shanghai starts at 16:00 UTC the day
before. Every figure is a sum of ledger entries in the range, so the report
always reconciles with the ledger:

- `spent`: credits taken by charges; `refunded`: credits given back;
  `net` = spent - refunded; `recharged`, `rewarded`, `adjusted` likewise per
  kind; `balance_change` = the sum of every amount.
- `images`: images paid for by charges, less those of fully refunded ones
  (a refund counts where it happened, as its money does).
- `tasks`: tasks charged in the range; totals also count them by status now.

Refunds point at the charge they undo (ledger reference `ledger_entry:<id>`), whose
entry says the model, size and image count; so a refund groups with its
charge's model and size.

The package: `params` (zone, range and its named presets, grouping, sort),
`query` (the entries with their usage), `figures` (totals and groups), `rows`
(detail, paged or streamed).
"""

from imgapp.services.usage.figures import Figures, Group, Totals, groups, summary, totals
from imgapp.services.usage.params import (
    DEFAULT_PRESET,
    GROUPS,
    MAX_DAYS,
    PAGE_LIMIT_MAX,
    PRESETS,
    SORTS,
    TIME_GROUPS,
    Range,
    check_choice,
    check_group,
    check_limit,
    check_range,
    check_sort,
    check_zone,
    preset_range,
    zone_names,
    zone_of,
)
from imgapp.services.usage.rows import Page, Row, encode_cursor, rows, stream_rows

__all__ = [
    "DEFAULT_PRESET",
    "GROUPS",
    "MAX_DAYS",
    "PAGE_LIMIT_MAX",
    "PRESETS",
    "SORTS",
    "TIME_GROUPS",
    "Figures",
    "Group",
    "Page",
    "Range",
    "Row",
    "Totals",
    "check_choice",
    "check_group",
    "check_limit",
    "check_range",
    "check_sort",
    "check_zone",
    "encode_cursor",
    "groups",
    "preset_range",
    "rows",
    "stream_rows",
    "summary",
    "totals",
    "zone_names",
    "zone_of",
]
