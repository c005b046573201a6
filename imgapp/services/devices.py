"""Which device a session is: user agents parsed (ua-parser), networks, the new-device rule.

A sign-in is from a new device when none of the account's earlier sessions
had the same browser and OS family on the same network (the same /24 for
IPv4, the same /48 for IPv6; an address that does not parse must match
exactly). Versions are ignored, so a browser update is not a new device.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import ua_parser
from sqlmodel import Session, col, select

from imgapp.models import UserSession
from imgapp.models.base import utcnow
from imgapp.services import audit
from imgapp.services.audit import Action

# How many of the account's earlier sessions a new sign-in is compared with.
_COMPARED_SESSIONS = 200
_IPV4_PREFIX = 24
_IPV6_PREFIX = 48


@dataclass(frozen=True)
class Device:
    """What a user agent says, as labels a page shows ("" when it does not say)."""

    device: str
    browser: str
    os: str
    browser_family: str
    os_family: str

    @property
    def family(self) -> tuple[str, str]:
        """Browser and OS without versions: what "the same device" compares."""
        return self.browser_family, self.os_family

    def as_dict(self) -> dict[str, str]:
        """The labels, as events and audit details carry them."""
        return {"device": self.device, "browser": self.browser, "os": self.os}


def _versioned(family: str, major: str | None, minor: str | None = None) -> str:
    if not family or family == "Other":
        return ""
    version = ".".join(v for v in (major, minor) if v)
    return f"{family} {version}" if version else family


@lru_cache(maxsize=2048)
def describe(user_agent: str) -> Device:
    """Parse a user agent string (cached: a page lists the same few again and again)."""
    found = ua_parser.parse(user_agent or "")
    browser = found.user_agent
    system = found.os
    device = found.device
    device_label = ""
    if device is not None and device.family and device.family != "Other":
        device_label = (
            f"{device.brand} {device.model}".strip()
            if device.brand and device.model and device.brand not in device.model
            else (device.model or device.family)
        )
    return Device(
        device=device_label,
        browser=_versioned(browser.family, browser.major) if browser else "",
        os=_versioned(system.family, system.major, system.minor) if system else "",
        browser_family=browser.family if browser else "",
        os_family=system.family if system else "",
    )


def network(ip: str) -> str:
    """The network an address belongs to for the new-device rule (the address if unparsable)."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return (ip or "").strip()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = _IPV4_PREFIX if address.version == 4 else _IPV6_PREFIX  # noqa: PLR2004
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@dataclass(frozen=True)
class SessionView:
    """One live session as the sessions list shows it."""

    id: int
    device: str
    browser: str
    os: str
    ip: str
    created_at: datetime
    last_seen_at: datetime
    current: bool

    def as_dict(self) -> dict[str, object]:
        """As the API writes it (times in ISO 8601, UTC)."""
        return {
            "id": self.id,
            "device": self.device,
            "browser": self.browser,
            "os": self.os,
            "ip": self.ip,
            "created_at": self.created_at.isoformat(),
            "last_active_at": self.last_seen_at.isoformat(),
            "current": self.current,
        }


def list_for_user(session: Session, *, user_id: int, current_session_id: int) -> list[SessionView]:
    """The user's usable sessions with their devices, this one first, then most recent."""
    query = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            col(UserSession.revoked_at).is_(None),
            col(UserSession.expires_at) > utcnow(),
        )
        .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.id).desc())
    )
    views = []
    for row in session.exec(query).all():
        seen = describe(row.user_agent)
        views.append(
            SessionView(
                id=row.id or 0,
                device=seen.device,
                browser=seen.browser,
                os=seen.os,
                ip=row.ip,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                current=row.id == current_session_id,
            )
        )
    return sorted(views, key=lambda v: not v.current)


@dataclass(frozen=True)
class NewDevice:
    """A sign-in from a device the account had not used: what to tell its other pages."""

    user_id: int
    session_id: int
    ip: str
    device: Device
    at: datetime

    def event_data(self) -> dict[str, object]:
        """The `session` event's data (kind `new_device`)."""
        return {
            "kind": "new_device",
            "session_id": self.session_id,
            "ip": self.ip,
            "at": self.at.isoformat(),
            **self.device.as_dict(),
        }


def note_sign_in(session: Session, *, session_id: int) -> NewDevice | None:
    """Compare a new session with the account's earlier ones; audit and answer it if new."""
    row = session.get(UserSession, session_id)
    if row is None:
        return None
    earlier = session.exec(
        select(UserSession.user_agent, UserSession.ip)
        .where(UserSession.user_id == row.user_id, col(UserSession.id) != session_id)
        .order_by(col(UserSession.id).desc())
        .limit(_COMPARED_SESSIONS)
    ).all()
    if not earlier:
        return None  # the account's first session (sign-up): nothing to compare with
    seen = describe(row.user_agent)
    here = (seen.family, network(row.ip))
    if any((describe(agent).family, network(ip)) == here for agent, ip in earlier):
        return None
    audit.record(
        session,
        action=Action.NEW_DEVICE_SIGN_IN,
        actor_user_id=row.user_id,
        target=str(session_id),
        ip=row.ip,
        details={"session_id": session_id, **seen.as_dict()},
    )
    return NewDevice(
        user_id=row.user_id, session_id=session_id, ip=row.ip, device=seen, at=row.created_at
    )
