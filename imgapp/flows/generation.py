"""Announce that a task changed: read it back from the database and publish it.

Called after the change has committed (by the processor, the API and the
console), so every open page of the owner shows the truth.
"""

from __future__ import annotations

from imgapp.core import db, events
from imgapp.models import Task
from imgapp.services import tasks


def publish_task(task_id: int, *, balance: int | None = None) -> None:
    """Publish the task's current snapshot (and the owner's balance when it moved)."""
    if not events.has_subscribers():
        return  # pages served by other processes catch up from the database
    with db.read() as session:
        task = session.get(Task, task_id)
        if task is None:
            return
        data = tasks.snapshots(session, [task])[0]
    if balance is not None:
        data["balance"] = balance
    events.publish(events.Event("task", task.user_id, data))
