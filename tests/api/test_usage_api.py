"""`/api/usage/report` over HTTP: JSON, both CSVs, parameters, isolation, sign-in."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from imgapp.core import db
from imgapp.models import User
from imgapp.services import ledger
from tests.support.factories import PASSWORD, create_user
from tests.support.history import charge_at, clock, credit_at, refund_at

DAY = datetime(2026, 11, 20, 2, tzinfo=UTC)  # 10:00 in Shanghai
RANGE = "from=2026-11-20&to=2026-11-22&tz=Asia/Shanghai"


def _sign_in(client: httpx.Client, email: str) -> None:
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200


def _history() -> User:
    """Two days of usage: a recharge, three charges (one refunded), one prompt that is a formula."""
    user, _ = create_user()
    credit_at(user.id, DAY, 500, f"r:{user.id}")
    charge_at(user.id, DAY + timedelta(minutes=1), 16, f"a:{user.id}", model="gpt-image-1", n=2)
    charge_at(user.id, DAY + timedelta(minutes=2), 4, f"b:{user.id}", model="dall-e-3", n=1)
    refund_at(user.id, DAY + timedelta(minutes=3), f"a:{user.id}", f"ra:{user.id}")
    charge_at(
        user.id, DAY + timedelta(days=1, hours=13), 8, f"c:{user.id}", model="gpt-image-1", n=1
    )
    return user


def _csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_report_has_totals_groups_and_rows_in_the_zone(client):
    user = _history()
    _sign_in(client, user.email)
    response = client.get(f"/api/usage/report?{RANGE}&group_by=day")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tz"] == "Asia/Shanghai"
    assert body["range"]["from_utc"] == "2026-11-19T16:00:00+00:00"
    totals = body["totals"]
    assert (totals["spent"], totals["refunded"], totals["net"]) == (28, 16, 12)
    assert (totals["recharged"], totals["images"], totals["tasks"]) == (500, 2, 0)
    assert totals["balance_change"] == 500 - 28 + 16
    assert [(g["key"], g["net"]) for g in body["groups"]] == [("2026-11-20", 4), ("2026-11-21", 8)]
    rows = body["rows"]
    assert [r["kind"] for r in rows] == ["charge", "refund", "charge", "charge", "recharge"]
    assert rows[0]["time"] == "2026-11-21T23:00:00+08:00"
    assert rows[0]["time_utc"] == "2026-11-21T15:00:00Z"
    refund = rows[1]
    assert (refund["credits"], refund["model"], refund["images"]) == (-16, "gpt-image-1", -2)
    assert refund["refund_of"] == rows[3]["entry_id"]
    assert body["next_cursor"] is None


def test_rows_page_by_cursor_in_either_order(client):
    user = _history()
    _sign_in(client, user.email)
    for sort in ("-time", "time", "-credits", "credits"):
        seen, cursor = [], ""
        while True:
            page = client.get(f"/api/usage/report?{RANGE}&sort={sort}&limit=2&cursor={cursor}")
            assert page.status_code == 200, page.text
            seen += [r["entry_id"] for r in page.json()["rows"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 5, sort
    amounts = client.get(f"/api/usage/report?{RANGE}&sort=credits").json()["rows"]
    assert [r["amount"] for r in amounts] == sorted(r["amount"] for r in amounts)


def test_the_detail_csv_is_the_json_rows_and_neutralises_formulas(client):
    user, _ = create_user()
    credit_at(user.id, DAY, 50, f"r:{user.id}")
    with clock(DAY + timedelta(minutes=5)):
        db.call(
            ledger.charge,
            user_id=user.id,
            credits=3,
            key=f"f:{user.id}",
            usage=ledger.Usage(model="m", size="512x512", image_count=1),
            description='=HYPERLINK("http://x")',
        )
    _sign_in(client, user.email)
    response = client.get(f"/api/usage/report?{RANGE}&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="imgapp-usage-2026-11-20-to-2026-11-21.csv"'
    rows = _csv(response)
    as_json = client.get(f"/api/usage/report?{RANGE}&sort=time").json()["rows"]
    assert len(rows) == len(as_json) == 2
    for from_csv, from_json in zip(rows, as_json, strict=True):
        for name, value in from_json.items():
            shown = "" if value is None else str(value)
            if name == "description" and shown.startswith("="):
                shown = "'" + shown
            assert from_csv[name] == shown, name
    assert rows[1]["description"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["credits"] == "3"
    assert rows[1]["amount"] == "-3"  # a number stays a number


def test_the_grouped_csv_is_the_json_groups(client):
    user = _history()
    _sign_in(client, user.email)
    response = client.get(f"/api/usage/report?{RANGE}&format=csv&view=groups&group_by=model")
    assert response.status_code == 200
    assert (
        "imgapp-usage-by-model-2026-11-20-to-2026-11-21.csv"
        in (response.headers["content-disposition"])
    )
    rows = _csv(response)
    groups = client.get(f"/api/usage/report?{RANGE}&group_by=model").json()["groups"]
    assert [r["key"] for r in rows] == [g["key"] for g in groups]
    assert [int(r["net"]) for r in rows] == [g["net"] for g in groups]
    by_key = {r["key"]: r for r in rows}
    assert (by_key["gpt-image-1"]["spent"], by_key["gpt-image-1"]["refunded"]) == ("24", "16")


def test_the_account_zone_is_the_default(client):
    user = _history()
    with db.transaction() as session:
        session.get(User, user.id).time_zone = "UTC"  # type: ignore[union-attr]
    _sign_in(client, user.email)
    body = client.get("/api/usage/report?from=2026-11-20&to=2026-11-22").json()
    assert body["tz"] == "UTC"
    assert body["range"]["from_utc"] == "2026-11-20T00:00:00+00:00"


def test_without_a_range_it_is_the_last_30_days(client):
    user, _ = create_user()
    _sign_in(client, user.email)
    body = client.get("/api/usage/report").json()
    start = datetime.fromisoformat(body["range"]["from"])
    end = datetime.fromisoformat(body["range"]["to"])
    assert (end - start).days == 30


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-31&to=2026-12-01", "from"),
        ("from=2026-11-01&to=tomorrow", "to"),
        ("from=2026-11-05&to=2026-11-01", "to"),
        ("from=2025-01-01&to=2026-06-01", "to"),
        (f"{RANGE}&group_by=hour", "group_by"),
        ("from=2026-11-01&to=2026-11-02&tz=Mars/Base", "tz"),
        (f"{RANGE}&format=xlsx", "format"),
        (f"{RANGE}&view=everything", "view"),
        (f"{RANGE}&sort=prompt", "sort"),
        (f"{RANGE}&limit=501", "limit"),
        (f"{RANGE}&cursor=abc", "cursor"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, query, field):
    user, _ = create_user()
    _sign_in(client, user.email)
    response = client.get(f"/api/usage/report?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_anonymous_is_401(client):
    assert client.get(f"/api/usage/report?{RANGE}").status_code == 401
    assert client.get(f"/api/usage/report?{RANGE}&format=csv").status_code == 401


def test_another_users_rows_never_appear(client, new_client):
    mine = _history()
    theirs = _history()
    _sign_in(client, mine.email)
    ids_mine = {r["entry_id"] for r in client.get(f"/api/usage/report?{RANGE}").json()["rows"]}
    other = new_client()
    _sign_in(other, theirs.email)
    rows = _csv(other.get(f"/api/usage/report?{RANGE}&format=csv"))
    assert ids_mine.isdisjoint({int(r["entry_id"]) for r in rows})
    assert len(rows) == 5
