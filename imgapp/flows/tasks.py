"""Generation tasks, one function per action: submit, retry, star, delete, cancel, fail, ...

Each action runs in one transaction of its own (through `core.db`), calls the
queue service, and hands the owner's open pages what that transaction already
knows: the task's snapshot and, when money moved, the balance after. Callers
(the console, the API, the processor, the CLI) get the same `Outcome` back, so
nobody reads the task or the balance again after an action.

Announcements go through `core.events`: to this process's pages at once and,
with a cross-process bus, to every app process (a standalone worker's too).
Where an announcement costs a read, it is built only when someone can hear it
(`events.is_heard`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from imgapp.core import db, events
from imgapp.core.settings import get_settings
from imgapp.flows import uploads as upload_flow
from imgapp.gateways import image_files
from imgapp.models import Task
from imgapp.services import history, queue, sharing, task_views, uploads, webhooks
from imgapp.services.generation import Params


@dataclass(frozen=True)
class Outcome:
    """A task after an action: its snapshot, and the owner's balance when money moved."""

    snapshot: dict[str, Any]
    balance: int | None = None
    refunded: int = 0
    replayed: bool = False  # submit: the request id was seen before; nothing new happened

    @property
    def task_id(self) -> int:
        """The task's id."""
        return int(self.snapshot["id"])


def _publish(snapshot: dict[str, Any], balance: int | None = None) -> None:
    data = snapshot if balance is None else {**snapshot, "balance": balance}
    events.publish(events.Event("task", int(data["user_id"]), data))


def _one(session: Session, task_id: int) -> dict[str, Any]:
    return task_views.snapshots_by_id(session, [task_id])[0]


def submit(
    *,
    user_id: int,
    params: Params,
    provider: str,
    request_id: str | None = None,
    source_upload_id: int | None = None,
    mask_upload_id: int | None = None,
    webhook: webhooks.Target | None = None,
) -> Outcome:
    """Queue a validated request and charge for it; the same request id answers the same task.

    With `source_upload_id` (and optionally `mask_upload_id`): an edit of the
    person's upload (`NotFound` for anyone else's).
    """

    def run(session: Session) -> Outcome:
        return _queue(
            session,
            user_id=user_id,
            params=params,
            provider=provider,
            request_id=request_id,
            source_upload_id=source_upload_id,
            mask_upload_id=mask_upload_id,
            webhook=webhook,
        )

    outcome = db.call(run)
    if not outcome.replayed:
        _publish(outcome.snapshot, outcome.balance)
    return outcome


def _queue(
    session: Session,
    *,
    user_id: int,
    params: Params,
    provider: str,
    request_id: str | None,
    source_upload_id: int | None,
    mask_upload_id: int | None,
    webhook: webhooks.Target | None = None,
) -> Outcome:
    source = (
        uploads.source_of(
            session, user_id=user_id, image_id=source_upload_id, mask_id=mask_upload_id
        )
        if source_upload_id is not None
        else None
    )
    submitted = queue.submit(
        session,
        user_id=user_id,
        params=params,
        provider=provider,
        request_id=request_id,
        max_queued=get_settings().task_max_queued_per_user,
        source=source,
        webhook=webhook,
    )
    [snapshot] = task_views.snapshots(session, [submitted.task])
    return Outcome(snapshot, submitted.balance, replayed=submitted.replayed)


def retry(*, task_id: int, user_id: int, provider: str, request_id: str | None = None) -> Outcome:
    """A failed or cancelled task run again as a new task with the same settings (charged anew).

    An edit starts from the same upload and mask. `NotFound` for anyone else's
    task; `ValidationFailed` (`task_not_retryable`) for one that did not fail.
    """

    def run(session: Session) -> Outcome:
        earlier = history.retryable(session, task_id=task_id, user_id=user_id)
        return _queue(
            session,
            user_id=user_id,
            params=queue.params_of(earlier),
            provider=provider,
            request_id=request_id,
            source_upload_id=earlier.source_upload_id,
            mask_upload_id=earlier.mask_upload_id,
            webhook=webhooks.Target(earlier.webhook_url, tuple(earlier.webhook_events.split(",")))
            if earlier.webhook_url
            else None,
        )

    outcome = db.call(run)
    if not outcome.replayed:
        _publish(outcome.snapshot, outcome.balance)
    return outcome


def set_favourite(*, task_id: int, user_id: int, favourite: bool) -> Outcome:
    """Star or unstar one of the person's tasks; every open tab hears it."""

    def run(session: Session) -> Outcome:
        history.set_favourite(session, task_id=task_id, user_id=user_id, favourite=favourite)
        return Outcome(_one(session, task_id))

    outcome = db.call(run)
    _publish(outcome.snapshot)
    return outcome


def set_shared(*, image_id: int, user_id: int, shared: bool) -> Outcome:
    """Publish one of the person's images at its own link, or take it down at once.

    Answers the image's task as it now is; every open tab of theirs hears it.
    """

    def run(session: Session) -> Outcome:
        change = sharing.share if shared else sharing.revoke
        image = change(session, image_id=image_id, user_id=user_id)
        return Outcome(_one(session, image.task_id))

    outcome = db.call(run)
    _publish(outcome.snapshot)
    return outcome


def delete(*, task_id: int, user_id: int) -> None:
    """Delete a finished task of the person's: its images and their files go, the ledger stays.

    Every open tab of theirs hears it (a snapshot with `deleted`).
    """

    def run(session: Session) -> list[str]:
        return history.delete_task(session, task_id=task_id, user_id=user_id)

    paths = db.call(run)
    image_files.remove(paths)
    events.publish(
        events.Event("task", user_id, {"id": task_id, "user_id": user_id, "deleted": True})
    )


def submit_edit(
    *,
    user_id: int,
    params: Params,
    provider: str,
    image: bytes,
    mask: bytes | None = None,
    request_id: str | None = None,
    webhook: webhooks.Target | None = None,
) -> Outcome:
    """An edit sent in one request: the picture (and mask) judged and kept, then the task.

    Nothing is charged for a refused picture; uploads of a submit that does not
    go ahead (not enough credits, a full queue, a replayed request id) are
    dropped again.
    """
    source, cutout = upload_flow.for_edit(user_id=user_id, image=image, mask=mask)
    made = [u for u in (source, cutout) if u is not None]
    try:
        outcome = submit(
            user_id=user_id,
            params=params,
            provider=provider,
            request_id=request_id,
            source_upload_id=source.id,
            mask_upload_id=cutout.id if cutout else None,
            webhook=webhook,
        )
    except BaseException:
        upload_flow.discard(made)
        raise
    if outcome.replayed:
        upload_flow.discard(made)
    return outcome


def cancel(*, task_id: int, user_id: int) -> Outcome:
    """Cancel the user's task and refund it (`NotFound` for anyone else's, `TaskFinished`)."""

    def run(session: Session) -> Outcome:
        ended = queue.cancel(session, task_id=task_id, user_id=user_id)
        return Outcome(_one(session, task_id), ended.balance, ended.refunded)

    outcome = db.call(run)
    _publish(outcome.snapshot, outcome.balance)
    return outcome


def fail(*, task_id: int, worker_id: str | None, error: str, message_key: str) -> Outcome | None:
    """End a running task as failed and refund it; None if it was no longer this processor's."""

    def run(session: Session) -> Outcome | None:
        ended = queue.fail(
            session,
            task_id=task_id,
            worker_id=worker_id,
            error=error,
            message=task_views.encode_message(message_key),
        )
        if ended is None:
            return None
        return Outcome(_one(session, task_id), ended.balance, ended.refunded)

    outcome = db.call(run)
    if outcome is not None:
        _publish(outcome.snapshot, outcome.balance)
    return outcome


def progress(
    *, task_id: int, worker_id: str, lease_seconds: int, percent: int, message: str
) -> bool:
    """Record a running task's progress (renewing its lease) and announce it, in one transaction.

    False when the task is no longer this processor's (cancelled, or re-leased).
    """
    heard = events.is_heard()

    def run(session: Session) -> tuple[bool, dict[str, Any] | None]:
        written = queue.heartbeat(
            session,
            task_id=task_id,
            worker_id=worker_id,
            lease_seconds=lease_seconds,
            progress=percent,
            message=message,
        )
        if written is None or not heard:
            return written is not None, None
        return True, task_views.snapshot(written, [])  # a running task has no images yet

    ours, snapshot = db.call(run)
    if snapshot is not None:
        _publish(snapshot)
    return ours


def record(
    *,
    worker_id: str,
    completions: list[queue.Completion],
    claim_next: int = 0,
    lease_seconds: int = 0,
    running_cap: int = 0,
) -> tuple[list[bool], list[Task]]:
    """Record finished runs (and claim up to `claim_next` more) in one transaction.

    Answers whether each completion was kept (not cancelled or re-leased
    meanwhile) and the tasks claimed; the kept ones are announced.
    """
    listening = events.is_heard()

    def run(session: Session) -> tuple[list[bool], list[Task], list[dict[str, Any]]]:
        kept, claimed = queue.complete_many(
            session,
            worker_id=worker_id,
            completions=completions,
            claim_next=claim_next,
            lease_seconds=lease_seconds,
            running_cap=running_cap,
        )
        done = [c.task_id for c, ok in zip(completions, kept, strict=True) if ok]
        return kept, claimed, task_views.snapshots_by_id(session, done) if listening else []

    kept, claimed, snapshots = db.call(run)
    for snapshot in snapshots:
        _publish(snapshot)
    return kept, claimed


def recover(*, max_attempts: int) -> queue.Recovery:
    """Expired leases: back to the queue, or failed and refunded; each one announced."""
    listening = events.is_heard()

    def run(session: Session) -> tuple[queue.Recovery, list[dict[str, Any]]]:
        recovery = queue.recover_expired(session, max_attempts=max_attempts)
        changed = recovery.requeued + recovery.failed
        return recovery, task_views.snapshots_by_id(session, changed) if listening else []

    recovery, snapshots = db.call(run)
    for snapshot in snapshots:
        _publish(snapshot, recovery.balances.get(int(snapshot["id"])))
    return recovery


def announce_claimed(task: Task) -> None:
    """Publish a task just claimed, from the row the claim returned (nothing to read)."""
    if events.is_heard():
        _publish(task_views.snapshot(task, []))  # a task starting has no images


def announce(task_id: int) -> None:
    """Publish the task as the database has it now (progress, a claim, a release: no money moved).

    Does nothing when nobody can hear it (memory bus and no page in this process).
    """
    if not events.is_heard():
        return
    with db.read() as session:
        found = task_views.snapshots_by_id(session, [task_id])
    if found:
        _publish(found[0])
