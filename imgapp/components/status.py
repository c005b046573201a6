"""The colour a task's status shows in, everywhere a task appears (console, dashboard, usage)."""

from __future__ import annotations

import reflex as rx

TASK_STATUS_COLORS = {
    "pending": "gray",
    "processing": "blue",
    "completed": "grass",
    "failed": "tomato",
    "cancelled": "amber",
}


def task_status_color(status: rx.Var) -> rx.Var:
    """The badge colour for a task status held in `status` (gray for anything unknown)."""
    return rx.match(status, *TASK_STATUS_COLORS.items(), "gray")
