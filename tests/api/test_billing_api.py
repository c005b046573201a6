"""`/api/billing/*` over HTTP: the guarded deduct, the summary, the CSV statement."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.models import LedgerEntry
from imgapp.services import accounts, ledger
from tests.support.factories import PASSWORD, funded_user

KEY = "test-internal-api-key-0123456789"


def _deduct(client: httpx.Client, body: object, **headers: str) -> httpx.Response:
    headers = headers or {"authorization": f"Bearer {KEY}"}
    return client.post("/api/billing/deduct", json=body, headers=headers)


def _entries() -> int:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(LedgerEntry)).one()


def _sign_in(client: httpx.Client, email: str) -> None:
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {KEY}"},
        {"authorization": f"bearer {KEY}"},
        {"x-api-key": KEY},
        {"x-internal-token": KEY},
    ],
)
def test_deduct_accepts_the_key_in_each_documented_header(client, headers):
    user = funded_user(100)
    body = {"user_id": user.id, "amount": 5, "idempotency_key": "job-1", "reason": "render"}
    response = _deduct(client, body, **headers)
    assert response.status_code == 200, response.text
    assert response.json()["balance"] == 95


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong-key"},
        {"authorization": KEY},  # no scheme
        {"authorization": "Basic " + KEY},
        {"x-api-key": KEY[:-1]},
        {"x-api-key": ""},
    ],
)
def test_deduct_without_the_right_key_is_401_json_and_moves_nothing(client, headers):
    user = funded_user(100)
    body = {"user_id": user.id, "amount": 5, "idempotency_key": "job-1", "reason": "render"}
    response = client.post("/api/billing/deduct", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "internal_key"
    assert db.call_read(ledger.balance, user_id=user.id) == 100


def test_deduct_charges_and_a_replay_returns_the_same_body(client):
    user = funded_user(100)
    body = {"user_id": user.id, "amount": 30, "idempotency_key": "order-7", "reason": "poster"}
    first = _deduct(client, body)
    assert first.status_code == 200
    assert first.json()["balance"] == 70
    entries = _entries()
    again = _deduct(client, body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _entries() == entries
    assert db.call_read(ledger.balance, user_id=user.id) == 70


def test_deduct_the_same_key_for_a_different_amount_is_409(client):
    user = funded_user(100)
    _deduct(client, {"user_id": user.id, "amount": 3, "idempotency_key": "k", "reason": "r"})
    response = _deduct(
        client, {"user_id": user.id, "amount": 4, "idempotency_key": "k", "reason": "r"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert db.call_read(ledger.balance, user_id=user.id) == 97


def test_deduct_more_than_the_balance_is_402_with_the_balance(client):
    user = funded_user(10)
    entries = _entries()
    body = {"user_id": user.id, "amount": 11, "idempotency_key": "big", "reason": "render"}
    response = _deduct(client, body)
    assert response.status_code == 402
    assert response.json() == {
        "error": "insufficient credits",
        "code": "insufficient_credits",
        "balance": 10,
    }
    assert _entries() == entries


GOOD = {"amount": 5, "idempotency_key": "job", "reason": "render"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": 0}, "amount_not_positive"),
        ({"amount": -5}, "amount_not_positive"),
        ({"amount": 1.5}, "amount_not_integer"),
        ({"amount": "3"}, "amount_not_integer"),
        ({"amount": None}, "amount_not_integer"),
        ({"amount": True}, "amount_not_integer"),
        ({"amount": 10**13}, "amount_too_large"),
        ({"user_id": "1"}, "amount_not_integer"),
        ({"user_id": 0}, "amount_not_positive"),
        ({"user_id": 999_999}, "unknown_user"),
        ({"idempotency_key": ""}, "field_not_text"),
        ({"idempotency_key": 7}, "field_not_text"),
        ({"idempotency_key": "k" * 101}, "field_too_long"),
        ({"reason": "   "}, "field_not_text"),
        ({"reason": None}, "field_missing"),
    ],
)
def test_deduct_refuses_bad_input_with_a_message_and_changes_nothing(client, change, code):
    user = funded_user(100)
    entries = _entries()
    response = _deduct(client, {"user_id": user.id, **GOOD, **change})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert response.json()["error"]
    assert _entries() == entries
    assert db.call_read(ledger.balance, user_id=user.id) == 100


@pytest.mark.parametrize("missing", ["user_id", "amount", "idempotency_key", "reason"])
def test_deduct_names_a_missing_field(client, missing):
    user = funded_user(100)
    body = {"user_id": user.id, **GOOD}
    del body[missing]
    response = _deduct(client, body)
    assert response.status_code == 400
    assert f"`{missing}`" in response.json()["error"]


@pytest.mark.parametrize("raw", [b"", b"nope", b"[1]", b'"text"'])
def test_deduct_body_must_be_a_json_object(client, raw):
    response = client.post(
        "/api/billing/deduct",
        content=raw,
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_twenty_concurrent_deducts_with_one_key_charge_once(client, api_server):
    user = funded_user(100)
    body = {"user_id": user.id, "amount": 7, "idempotency_key": "burst", "reason": "render"}

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=api_server.url, timeout=30) as http:
            return _deduct(http, body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.text for r in answers}) == 1
    assert db.call_read(ledger.balance, user_id=user.id) == 93
    assert db.call_read(ledger.check_invariants) == []


def test_summary_needs_a_session_and_shows_only_the_users_own_data(client, new_client):
    assert client.get("/api/billing/summary").status_code == 401
    alice = funded_user(100)
    bob = funded_user(50)
    db.call(ledger.charge, user_id=alice.id, credits=4, key="a1", usage=ledger.Usage(model="m"))
    db.call(ledger.charge, user_id=bob.id, credits=9, key="b1", usage=ledger.Usage(model="m"))
    _sign_in(client, alice.email)
    body = client.get("/api/billing/summary").json()
    assert body["user_id"] == alice.id
    assert body["email"] == alice.email
    assert body["balance"] == 96
    assert body["balance_value_fen"] == 960
    assert [u["credits"] for u in body["recent_usage"]] == [4]
    assert [e["amount"] for e in body["recent_transactions"]] == [-4, 100]


def _rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_statement_csv_lists_the_entries_safely(client):
    user = funded_user(100)
    db.call(ledger.charge, user_id=user.id, credits=3, key="c1", description="=HYPERLINK(1)")
    _sign_in(client, user.email)
    response = client.get("/api/billing/statement.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith("\ufeff".encode())
    rows = _rows(response)
    assert rows[0] == [
        "time",
        "entry_id",
        "kind",
        "amount",
        "balance_after",
        "reference",
        "description",
    ]
    assert [(r[2], r[3], r[4]) for r in rows[1:]] == [
        ("adjustment", "100", "100"),
        ("charge", "-3", "97"),
    ]
    assert rows[2][6] == "'=HYPERLINK(1)"  # a spreadsheet will not run it


def test_statement_csv_date_range(client):
    user = funded_user(100)
    _sign_in(client, user.email)
    assert len(_rows(client.get("/api/billing/statement.csv?start=2001-01-01&end=2001-12-31"))) == 1
    assert len(_rows(client.get("/api/billing/statement.csv?start=2001-01-01"))) == 2


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("start=yesterday", "date_invalid"),
        ("end=2026-13-01", "date_invalid"),
        ("start=2026-05-02&end=2026-05-01", "date_range_reversed"),
    ],
)
def test_statement_csv_bad_dates_are_400(client, query, code):
    user = funded_user(1)
    _sign_in(client, user.email)
    response = client.get(f"/api/billing/statement.csv?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_statement_csv_needs_a_session(client):
    assert client.get("/api/billing/statement.csv").status_code == 401


def test_statement_csv_is_in_the_accounts_time_zone(client):
    user = funded_user(100)
    db.call(accounts.set_time_zone, user_id=user.id, time_zone="America/New_York")
    _sign_in(client, user.email)
    rows = _rows(client.get("/api/billing/statement.csv"))
    assert rows[1][0].endswith(("-05:00", "-04:00"))
