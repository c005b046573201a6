"""Recharges: what may be paid (`amounts`), the orders (`orders`), and money in (`notifications`).

The names below are the package's public face: `payments.check_order`,
`payments.open_order`, `payments.handle_notification`, and so on.
"""

from imgapp.services.payments.amounts import (
    FEN_PER_YUAN,
    MIN_AMOUNT_FEN,
    PAY_TYPES,
    PayType,
    check_order,
    credits_for,
    format_fen,
    parse_amount,
    pay_type,
)
from imgapp.services.payments.notifications import (
    ACCEPTED,
    NOTIFY_FIELDS,
    Change,
    Outcome,
    Verdict,
    confirm_paid,
    handle_notification,
)
from imgapp.services.payments.orders import (
    UNANSWERED,
    expire,
    find,
    get_order,
    new_order_id,
    open_order,
    pending,
    recent,
    record_created,
    record_refused,
    record_unanswered,
)

__all__ = [
    "ACCEPTED",
    "FEN_PER_YUAN",
    "MIN_AMOUNT_FEN",
    "NOTIFY_FIELDS",
    "PAY_TYPES",
    "UNANSWERED",
    "Change",
    "Outcome",
    "PayType",
    "Verdict",
    "check_order",
    "confirm_paid",
    "credits_for",
    "expire",
    "find",
    "format_fen",
    "get_order",
    "handle_notification",
    "new_order_id",
    "open_order",
    "parse_amount",
    "pay_type",
    "pending",
    "recent",
    "record_created",
    "record_refused",
    "record_unanswered",
]
