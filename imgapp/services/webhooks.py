"""Task webhooks: targets checked, messages queued with the task's change, signed, retried.

An API caller names `webhook_url` and `webhook_events` (`start`, `progress`,
`completed`; default `completed`) with a task. `check_target` refuses what
is not http(s), and literal private, loopback and link-local addresses
unless `WEBHOOK_ALLOW_PRIVATE_URLS` (the sender checks resolved names
again). `queue_event` adds a message in the same transaction as the task's
change, so none is lost or sent for a change that rolled back; its body
(`{"type": "task.completed", "timestamp", "data": {...}}`) and its
`message_id` (the `webhook-id`) stay the same on every retry. Progress is
queued at most every `PROGRESS_INTERVAL` seconds per task.

Each delivery is signed with the owner's `whsec_` secret (made and rotated
here; the signing itself is the sender's, gateways/webhook_sender).
`claim_due` leases due messages to one sender, only a task's oldest waiting
one (so a receiver hears a task's events in order even across retries and
senders); `record_attempt` marks one
delivered on a 2xx, else schedules the next try (`backoff`) until
`WEBHOOK_RETRY_HOURS` after the event, then fails it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import exists, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from imgapp.core import i18n, routes
from imgapp.core.settings import get_settings
from imgapp.models import DeliveryStatus, Task, User, WebhookDelivery
from imgapp.models.base import utcnow
from imgapp.services import audit, sessions, task_views
from imgapp.services.errors import NotFound, ValidationFailed

EVENTS = ("start", "progress", "completed")
DEFAULT_EVENTS = ("completed",)
URL_MAX_LENGTH = 2000
PROGRESS_INTERVAL = timedelta(milliseconds=500)
FIRST_RETRY_SECONDS = 5
RETRY_GROWTH = 4  # 5 s, 20 s, 80 s, 5 min, 21 min, 1.4 h, 5.7 h, then every 8 h
LONGEST_WAIT = timedelta(hours=8)
LEASE = timedelta(seconds=60)  # a sender that died mid-attempt: the message is due again
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa")


@dataclass(frozen=True)
class Target:
    """Where a task's webhook goes and which events it hears."""

    url: str
    events: tuple[str, ...]

    @property
    def stored_events(self) -> str:
        """As the task keeps them."""
        return ",".join(self.events)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_private_address(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified (v4 or v6).

    An IPv6 address that carries an IPv4 one (mapped, 6to4, Teredo, NAT64) is
    judged by the IPv4 address it reaches.
    """
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            ip = inner
    return not ip.is_global or ip.is_multicast


def _refuse(rule: str, message: str, **params: object) -> ValidationFailed:
    return ValidationFailed(rule, message, field="webhook_url", **params)


def _check_url(value: object, *, allow_private: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse("webhook_url_invalid", "`webhook_url` must be an http(s) URL.")
    url = value.strip()
    if len(url) > URL_MAX_LENGTH:
        raise _refuse(
            "webhook_url_too_long",
            f"`webhook_url` can be at most {URL_MAX_LENGTH} characters.",
            max=URL_MAX_LENGTH,
        )
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # a port that is not a number raises
        host.encode("idna")  # a name no resolver could look up raises
    except (ValueError, UnicodeError):
        host = ""
    usable = url.isprintable() and not any(c.isspace() for c in url)
    if parts.scheme not in {"http", "https"} or not host or not usable:
        raise _refuse("webhook_url_invalid", "`webhook_url` must be an http(s) URL.")
    if allow_private:
        return url
    try:
        private = is_private_address(host.strip("[]"))
    except ValueError:  # a name: the sender checks what it resolves to
        private = host == "localhost" or host.endswith(_LOCAL_NAMES)
    if private:
        raise _refuse(
            "webhook_url_private",
            "`webhook_url` must be reachable on the internet: private, loopback and"
            " link-local addresses are refused.",
        )
    return url


def check_target(url: object, events: object) -> Target | None:
    """A task's webhook from request fields (None when no `webhook_url` is given)."""
    if url is None or url == "":
        if events not in (None, "", []):
            raise ValidationFailed(
                "webhook_events_without_url",
                "`webhook_events` needs a `webhook_url`.",
                field="webhook_events",
            )
        return None
    checked = _check_url(url, allow_private=get_settings().webhook_allow_private_urls)
    if events is None or events in ("", []):
        return Target(checked, DEFAULT_EVENTS)
    names = events.split(",") if isinstance(events, str) else events
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        names = [None]
    chosen = tuple(dict.fromkeys(n.strip() for n in names if n))  # type: ignore[union-attr]
    if not chosen or any(name not in EVENTS for name in chosen):
        raise ValidationFailed(
            "webhook_events_unknown",
            f"`webhook_events` must list some of: {', '.join(EVENTS)}.",
            field="webhook_events",
            choices=", ".join(EVENTS),
        )
    return Target(checked, tuple(e for e in EVENTS if e in chosen))


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_of(session: Session, *, user_id: int) -> str:
    """The person's signing secret, made on first use."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound
    if user.webhook_secret is None:
        session.execute(
            update(User)
            .where(col(User.id) == user_id, col(User.webhook_secret).is_(None))
            .values(webhook_secret=_new_secret())
        )
        session.refresh(user)
    return str(user.webhook_secret)


def rotate_secret(session: Session, *, user_id: int, session_id: int, ip: str = "") -> str:
    """A new signing secret, after a recent re-authentication.

    Every message signed from now on uses it, retries of older ones included.
    """
    sessions.require_reauth(session, session_id, user_id=user_id)
    audit.record(session, action=audit.Action.WEBHOOK_SECRET_ROTATED, actor_user_id=user_id, ip=ip)
    session.execute(
        update(User).where(col(User.id) == user_id).values(webhook_secret=_new_secret())
    )
    return secret_of(session, user_id=user_id)


def _stamp(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def task_data(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A task as its webhook describes it (absolute image URLs; the message in English)."""
    site = get_settings().site_url.rstrip("/")
    key = snapshot["message_key"]
    return {
        "task_id": snapshot["id"],
        "status": snapshot["status"],
        "progress": snapshot["progress"],
        "message": i18n.text(key, "en", **snapshot["message_params"]) if key else "",
        "prompt": snapshot["prompt"],
        "model": snapshot["model"],
        "size": snapshot["size"],
        "n": snapshot["n"],
        "quality": snapshot["quality"],
        "cost": snapshot["cost"],
        "refunded": snapshot["refunded"],
        "created_at": _stamp(snapshot["created_at"]),
        "started_at": _stamp(snapshot["started_at"]),
        "finished_at": _stamp(snapshot["finished_at"]),
        "images": [
            {"id": i, "url": f"{site}{routes.API_IMAGES}/{i}"} for i in snapshot["image_ids"]
        ],
    }


def queue_ended(session: Session, task_ids: list[int]) -> int:
    """`completed` for tasks that just ended (failed, cancelled, completed) and asked for it."""
    if not task_ids:
        return 0
    found = session.exec(
        select(Task)
        .where(col(Task.id).in_(task_ids), col(Task.webhook_url).is_not(None))
        .execution_options(populate_existing=True)  # as this transaction's UPDATEs left them
    ).all()
    if not found:
        return 0
    return queue_event(session, task_views.snapshots(session, list(found)), "completed")


def hears(snapshot: dict[str, Any], event: str) -> bool:
    """Whether the task's owner asked for this event."""
    return bool(snapshot.get("webhook_url")) and event in str(
        snapshot.get("webhook_events") or ""
    ).split(",")


def _recent_progress(session: Session, task_id: int, now: datetime) -> bool:
    last = session.exec(
        select(WebhookDelivery.created_at)
        .where(col(WebhookDelivery.task_id) == task_id, col(WebhookDelivery.event) == "progress")
        .order_by(col(WebhookDelivery.id).desc())
        .limit(1)
    ).first()
    return last is not None and now - task_views.stored_time(last) < PROGRESS_INTERVAL


def queue_event(session: Session, snapshots: list[dict[str, Any]], event: str) -> int:
    """Queue `event` for each of these tasks whose owner asked for it; answers how many."""
    now = utcnow()
    queued = 0
    for snapshot in snapshots:
        if not hears(snapshot, event):
            continue
        if event == "progress" and _recent_progress(session, int(snapshot["id"]), now):
            continue
        body = {"type": f"task.{event}", "timestamp": now.isoformat(), "data": task_data(snapshot)}
        session.add(
            WebhookDelivery(
                task_id=int(snapshot["id"]),
                user_id=int(snapshot["user_id"]),
                event=event,
                message_id="msg_" + secrets.token_urlsafe(18),
                url=str(snapshot["webhook_url"]),
                payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                next_attempt_at=now,
                created_at=now,
            )
        )
        queued += 1
    if queued:
        session.flush()
    return queued


@dataclass(frozen=True)
class Attempt:
    """A message leased to this sender: what to POST, signed with whose secret."""

    delivery_id: int
    task_id: int
    message_id: str
    url: str
    body: str
    secret: str


def any_due(session: Session) -> bool:
    """Whether some message waits for a try now (a read: the idle second's only query)."""
    return (
        session.exec(
            select(WebhookDelivery.id)
            .where(
                col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
                col(WebhookDelivery.next_attempt_at) <= utcnow(),
            )
            .limit(1)
        ).first()
        is not None
    )


def claim_due(session: Session, *, limit: int) -> list[Attempt]:
    """Lease up to `limit` due messages (soonest first) for one attempt each."""
    now = utcnow()
    earlier = aliased(WebhookDelivery, name="earlier")
    waits_behind = exists().where(
        earlier.task_id == WebhookDelivery.task_id,
        earlier.status == DeliveryStatus.PENDING.value,
        earlier.id < WebhookDelivery.id,
    )
    due = session.exec(
        select(WebhookDelivery)
        .where(
            col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
            col(WebhookDelivery.next_attempt_at) <= now,
            ~waits_behind,  # one task's messages strictly in order, whoever sends them
        )
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not due:
        return []
    ids = [d.id for d in due]
    session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id).in_(ids))
        .values(next_attempt_at=now + LEASE, attempts=WebhookDelivery.attempts + 1)
    )
    secrets_by_user = {
        u.id: u.webhook_secret
        for u in session.exec(select(User).where(col(User.id).in_({d.user_id for d in due})))
    }
    attempts = []
    for delivery in due:
        secret = secrets_by_user.get(delivery.user_id) or secret_of(
            session, user_id=delivery.user_id
        )
        attempts.append(
            Attempt(
                int(delivery.id or 0),
                delivery.task_id,
                delivery.message_id,
                delivery.url,
                delivery.payload,
                secret,
            )
        )
    return attempts


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    seconds = FIRST_RETRY_SECONDS * RETRY_GROWTH ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), LONGEST_WAIT)


def record_attempt(
    session: Session,
    *,
    delivery_id: int,
    status_code: int | None,
    error: str = "",
    final: bool = False,
) -> DeliveryStatus:
    """One try's outcome: delivered on a 2xx; else the next try, or failed for good.

    `final`: no retry will help (the target was refused).
    """
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
        return DeliveryStatus(delivery.status) if delivery else DeliveryStatus.FAILED
    now = utcnow()
    ok = status_code is not None and 200 <= status_code < 300  # noqa: PLR2004
    wait = backoff(delivery.attempts)
    give_up = final or now + wait > task_views.stored_time(delivery.created_at) + timedelta(
        hours=get_settings().webhook_retry_hours
    )
    status = (
        DeliveryStatus.DELIVERED
        if ok
        else DeliveryStatus.FAILED
        if give_up
        else DeliveryStatus.PENDING
    )
    session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id) == delivery_id)
        .values(
            status=status.value,
            last_status_code=status_code,
            last_error=error[:255],
            delivered_at=now if ok else None,
            next_attempt_at=now + wait if status is DeliveryStatus.PENDING else now,
        )
    )
    return status


def log_of(session: Session, *, task_id: int, user_id: int) -> list[WebhookDelivery]:
    """A task's deliveries, oldest first (`NotFound` for anyone else's task)."""
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id or task.deleted_at is not None:
        raise NotFound
    return list(
        session.exec(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.task_id) == task_id)
            .order_by(col(WebhookDelivery.id))
        )
    )
