"""Tasks shaped for the console: a snapshot as a row, and the row types its lists render.

`task_row` keeps what the page shows of a task (language-neutral; the states
translate at render time), with times in the person's zone. `TaskRow` is the
live list's card, `HistoryItem` the history's.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, tzinfo
from typing import Any

from imgapp.core import formatting, routes
from imgapp.models.base import utcnow
from imgapp.models.tasks import ACTIVE
from imgapp.services import task_views


def _when(value: object, zone: tzinfo | None) -> str:
    return formatting.local_time(value, zone=zone) if isinstance(value, datetime) else ""


def _elapsed(start: object, end: object) -> str:
    if not isinstance(start, datetime):
        return ""
    stop = end if isinstance(end, datetime) else utcnow()
    seconds = max(0, int((stop - start).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _epoch_ms(when: datetime | str | None) -> int:
    return 0 if when is None else int(task_views.stored_time(when).timestamp() * 1000)


def task_row(snapshot: dict[str, Any], zone: tzinfo | None = None) -> dict[str, Any]:
    """A snapshot reduced to what the page renders (language-neutral; see `task_rows`).

    Times are written in `zone` (the person's; None: the site's).
    """
    shares = snapshot.get("image_shares") or {}
    return {
        "id": int(snapshot["id"]),
        "status": snapshot["status"],
        "progress": int(snapshot["progress"]),
        "message_key": snapshot["message_key"],
        "message_params": {k: str(v) for k, v in snapshot["message_params"].items()},
        "prompt": snapshot["prompt"],
        "summary": " · ".join(
            [snapshot["model"], snapshot["size"], f"×{snapshot['n']}", snapshot["quality"]]
        ),
        "provider": snapshot["provider"],
        "cost": int(snapshot["cost"]),
        "refunded": int(snapshot["refunded"]),
        "created": _when(snapshot["created_at"], zone),
        "elapsed": _elapsed(
            snapshot["started_at"] or snapshot["created_at"], snapshot["finished_at"]
        ),
        "active": snapshot["status"] in ACTIVE,
        "favourite": bool(snapshot.get("favourite")),
        # When the database last changed the task (epoch ms): the page carries it
        # so a delay from write to screen can be measured (bench/live_latency.py).
        "updated_ms": _epoch_ms(snapshot["updated_at"]),
        "image_urls": [f"/api/images/{i}" for i in snapshot["image_ids"]],
        "shares": [
            {
                "id": str(i),
                "thumb": f"/api/images/{i}",
                "link": routes.share_url(token) if (token := shares.get(str(i))) else "",
            }
            for i in snapshot["image_ids"]
        ],
        "source_url": routes.upload_url(source)
        if (source := snapshot.get("source_upload_id"))
        else "",
        "params": {
            "prompt": snapshot["prompt"],
            "negative_prompt": snapshot["negative_prompt"],
            "model": snapshot["model"],
            "size": snapshot["size"],
            "n": int(snapshot["n"]),
            "quality": snapshot["quality"],
            "style": snapshot["style"],
            "source_upload_id": snapshot.get("source_upload_id") or 0,
            "mask_upload_id": snapshot.get("mask_upload_id") or 0,
        },
    }


@dataclasses.dataclass
class TaskRow:
    """One task as the console shows it."""

    id: int
    status: str
    status_label: str
    progress: int
    message: str
    prompt: str
    summary: str
    provider: str
    cost: int
    refunded: int
    created: str
    elapsed: str
    active: bool
    updated_ms: int
    image_urls: list[str]
    source_url: str  # an edit: the uploaded picture it started from ("" otherwise)
    queue_text: str  # place in the queue and time to go, while active


@dataclasses.dataclass
class HistoryItem:
    """One task in the history grid."""

    id: int
    status: str
    status_label: str
    prompt: str
    summary: str
    created: str
    cover: str  # the first image, or "" (nothing made)
    image_urls: list[str]
    source_url: str
    favourite: bool
    active: bool
    can_retry: bool  # failed or cancelled: run again as a new task
    shares: list[dict[str, str]]  # each image: id, thumb, its public link ("" = private)
    shared: bool  # any image of it is public
