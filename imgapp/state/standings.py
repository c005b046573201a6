"""Queue positions and times to go as the console shows them: per user, rounded.

`services.queue_outlook` works out every active task's place and ETA; this
module reads it for the pages: the measured durations are kept for
`DURATIONS_TTL_SECONDS` (one read of recent completions per process, not one
per page or API request) or until the live bridge hears of a completed task
(`forget_durations`), and seconds are rounded (`rounded`) so that a countdown changes
what a page shows, and so is pushed, every few seconds rather than every one.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from sqlmodel import Session

from imgapp.core import db
from imgapp.core.settings import get_settings
from imgapp.models.base import utcnow
from imgapp.services import queue_outlook

DURATIONS_TTL_SECONDS = 15.0

Standings = dict[int, tuple[int | None, int | None]]  # task id -> (position, seconds)

_lock = threading.Lock()
_durations: tuple[float, queue_outlook.Durations] | None = None


def rounded(seconds: int | None) -> int | None:
    """Up to the next 5 s under a minute, 30 s under ten minutes, else the next minute."""
    if seconds is None:
        return None
    step = 5 if seconds < 60 else 30 if seconds < 600 else 60  # noqa: PLR2004
    return -(-seconds // step) * step


def outlook(session: Session) -> dict[int, queue_outlook.Standing]:
    """Every active task's standing, with the process's cached durations (pages and API)."""
    global _durations  # noqa: PLW0603 - the process's one cache
    with _lock:
        cached = _durations
    if cached is None or time.monotonic() - cached[0] > DURATIONS_TTL_SECONDS:
        cached = (time.monotonic(), queue_outlook.measured(session))
        with _lock:
            _durations = cached
    return queue_outlook.standings(
        session,
        now=utcnow(),
        max_age_seconds=get_settings().ready_max_heartbeat_age_seconds,
        durations=cached[1],
    )


def _read_all() -> dict[int, queue_outlook.Standing]:
    with db.read() as session:
        return outlook(session)


def by_user(user_ids: set[int]) -> dict[int, Standings]:
    """The standings of these users' active tasks (users with none are left out)."""
    found: dict[int, Standings] = defaultdict(dict)
    for standing in _read_all().values():
        if standing.user_id in user_ids:
            found[standing.user_id][standing.task_id] = (
                standing.position,
                rounded(standing.eta_seconds),
            )
    return dict(found)


def of_user(user_id: int) -> Standings:
    """One user's active tasks' standings."""
    return by_user({user_id}).get(user_id, {})


def forget_durations() -> None:
    """Drop the cached durations: a task completed (or a test starts afresh)."""
    global _durations  # noqa: PLW0603
    with _lock:
        _durations = None
