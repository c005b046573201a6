"""The colours statuses show in: a task's (console, dashboard, usage), an invitee's, a key's."""

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


INVITE_STATUS_COLORS = {
    "pending": "gray",
    "rewarded": "grass",
    "held": "amber",
    "rejected": "tomato",
}


def invite_status_color(status: rx.Var) -> rx.Var:
    """The badge colour for an invitee's status held in `status`."""
    return rx.match(status, *INVITE_STATUS_COLORS.items(), "gray")


API_KEY_STATUS_COLORS = {"active": "grass", "revoked": "red", "expired": "amber"}


def api_key_status_color(status: rx.Var) -> rx.Var:
    """The badge colour for an API key's status held in `status`."""
    return rx.match(status, *API_KEY_STATUS_COLORS.items(), "amber")
