"""`GET /api/audit`: the signed-in person's own log, its categories, filters, pages and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest

from imgapp.core import db
from imgapp.models import AuditLog
from imgapp.models.billing import LedgerKind
from imgapp.services import accounts, audit_log, ledger
from imgapp.services.audit import Action
from imgapp.services.ledger import Reference, Usage
from tests.support.factories import PASSWORD, create_user

WIN_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def test_every_action_has_a_category_and_a_summary():
    unclassified = [a for a in Action if a not in audit_log.CATEGORY]
    assert unclassified == [], f"classify these in services/audit_log.CATEGORY: {unclassified}"
    assert [a for a in Action if a not in audit_log.DETAIL_KEY] == []
    assert {c.value for c in audit_log.CATEGORY.values()} == {c.value for c in audit_log.Category}


def _signed_in(http: httpx.Client, agent: str = WIN_CHROME):
    user, _ = create_user()
    response = http.post(
        "/api/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"user-agent": agent},
    )
    assert response.status_code == 200
    return user


def _add(user_id: int, action: Action, at: datetime, **fields: object) -> None:
    with db.transaction() as session:
        session.add(AuditLog(actor_user_id=user_id, action=action.value, created_at=at, **fields))


def test_the_log_shows_sign_ins_with_their_device_newest_first(client):
    user = _signed_in(client)
    client.post("/api/auth/login", json={"email": user.email, "password": "wrong password"})
    body = client.get("/api/audit").json()
    assert body["page"] == 1
    assert body["pages"] == 1
    actions = [e["action"] for e in body["events"]]
    # Sign-up's session had the user agent "pytest": Chrome on Windows is a new device.
    assert actions == ["login_failed", "new_device_sign_in", "login", "register"]
    assert body["total"] == 4
    assert body["events"][1]["category"] == "security"
    assert body["events"][1]["detail"] == "Sign-in from a new device: Chrome 120 / Windows 10."
    login = body["events"][2]
    assert login["category"] == "sign_in"
    assert login["device"] == "Chrome 120 / Windows 10"
    assert login["ip"] == "127.0.0.1"
    assert login["detail"] == "Signed in."
    assert login["time"].endswith("+00:00")
    assert body["events"][0]["detail"] == "Failed sign-in: wrong password."
    zh = client.get("/api/audit", headers={"accept-language": "zh-CN"}).json()
    assert zh["events"][2]["detail"] == "登录成功。"


def test_money_of_every_kind_is_in_the_owners_log_and_nobody_elses(client, new_client):
    user = _signed_in(client)
    uid = user.id
    db.call(ledger.adjust, user_id=uid, credits=50, key="t-adj", description="grant")
    db.call(
        ledger.credit,
        user_id=uid,
        credits=20,
        kind=LedgerKind.RECHARGE,
        key="t-rch",
        reference=Reference("payment", "ord-1"),
        description="recharge",
    )
    db.call(
        ledger.credit,
        user_id=uid,
        credits=5,
        kind=LedgerKind.REWARD,
        key="t-rwd",
        reference=Reference("invite", "9"),
        description="reward",
    )
    db.call(
        ledger.charge,
        user_id=uid,
        credits=8,
        key="t-chg",
        reference=Reference("task", "1"),
        usage=Usage(task_id=None, model="m", size="512x512", image_count=1),
        description="images",
    )
    db.call(ledger.refund, user_id=uid, charge_key="t-chg", key="t-ref", description="back")
    money = client.get("/api/audit", params={"category": "money"}).json()
    assert {e["action"] for e in money["events"]} == {
        "credits_adjusted",
        "credits_recharged",
        "credits_rewarded",
        "credits_charged",
        "credits_refunded",
    }
    assert all(e["category"] == "money" for e in money["events"])
    charged = next(e for e in money["events"] if e["action"] == "credits_charged")
    assert charged["detail"] == "8 credits charged (task:1); balance 67."
    assert "t-chg" not in str(money)  # idempotency keys stay out
    other = new_client()
    _signed_in(other)
    seen = {e["action"] for e in other.get("/api/audit").json()["events"]}
    assert seen == {"login", "register", "new_device_sign_in"}


def test_days_are_whole_local_days_in_the_accounts_zone_both_included(client):
    user = _signed_in(client)
    db.call(accounts.set_time_zone, user_id=user.id, time_zone="Asia/Shanghai")
    inside = datetime(2026, 11, 21, 16, 30, tzinfo=UTC)  # 22nd 00:30 in Shanghai
    late = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)  # 22nd 23:59
    after = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 23rd 00:00
    before = datetime(2026, 11, 21, 15, 59, tzinfo=UTC)  # 21st 23:59
    for at in (inside, late, after, before):
        _add(user.id, Action.PROFILE_UPDATED, at)
    body = client.get("/api/audit", params={"from": "2026-11-22", "to": "2026-11-22"}).json()
    assert [e["time"] for e in body["events"]] == [late.isoformat(), inside.isoformat()]
    since = client.get("/api/audit", params={"from": "2026-11-23", "category": "account"}).json()
    assert [e["time"] for e in since["events"]][-1] == after.isoformat()
    upto = client.get("/api/audit", params={"to": "2026-11-21"}).json()
    assert [e["time"] for e in upto["events"]] == [before.isoformat()]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "everything"}, "category"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-11-22", "to": "2026-11-21"}, "to"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"format": "xml"}, "format"),
    ],
)
def test_a_bad_filter_is_400_naming_it(client, params, field):
    _signed_in(client)
    response = client.get("/api/audit", params=params)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_pages_of_fifty(client):
    user = _signed_in(client)
    for minute in range(58):
        _add(user.id, Action.PROFILE_UPDATED, datetime(2026, 1, 1, 0, minute, tzinfo=UTC))
    first = client.get("/api/audit").json()
    # 58 + register, login and the new device
    assert (len(first["events"]), first["page"], first["pages"], first["total"]) == (50, 1, 2, 61)
    second = client.get("/api/audit", params={"page": "2"}).json()
    assert len(second["events"]) == 11
    assert {e["id"] for e in first["events"]}.isdisjoint(e["id"] for e in second["events"])
    assert client.get("/api/audit", params={"page": "9"}).json()["events"] == []


def test_csv_is_every_filtered_event_with_a_bom_and_safe_cells(client):
    user = _signed_in(client)
    for minute in range(60):
        _add(user.id, Action.PROFILE_UPDATED, datetime(2026, 1, 1, 0, minute, tzinfo=UTC))
    _add(
        user.id,
        Action.NOTIFICATION_REJECTED,
        datetime(2026, 1, 2, tzinfo=UTC),
        target="ord-9",
        ip="=1+2",
        details={"reason": "bad_signature", "fields": {"sign": "f00dsecret"}},
    )
    response = client.get("/api/audit", params={"format": "csv", "from": "2026-01-01"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufefftime,category,action,ip,device,detail\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1:]
    assert len(rows) == 61 + 3  # today's sign-up, sign-in and new device are after it too
    rejected = next(r for r in rows if r[2] == "notification_rejected")
    assert rejected[3] == "'=1+2"
    assert rejected[5] == "A payment notification for order ord-9 was refused (bad_signature)."
    assert "f00dsecret" not in text
    only = client.get("/api/audit", params={"format": "csv", "category": "sign_in"}).text
    assert "profile_updated" not in only


def test_a_json_download_is_every_filtered_event_in_the_language_asked_for(client):
    user = _signed_in(client)
    for minute in range(60):
        _add(user.id, Action.PROFILE_UPDATED, datetime(2026, 1, 1, 0, minute, tzinfo=UTC))
    params = {"format": "json", "download": "1", "category": "account", "lang": "zh"}
    response = client.get("/api/audit", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert 'filename="imgapp-audit-start-to-now.json"' in response.headers["content-disposition"]
    events = response.json()
    assert len(events) == 60
    assert {e["category"] for e in events} == {"account"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e["detail"]) for e in events)


def test_signed_out_is_401(client):
    assert client.get("/api/audit").status_code == 401
