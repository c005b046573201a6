"""`/api/payments/*` over HTTP, against a XorPay-protocol server on loopback and the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from imgapp.core import db
from imgapp.gateways import xorpay_sandbox as sandbox_gateway
from imgapp.models import PaymentTransaction
from imgapp.models.base import utcnow
from imgapp.services import ledger
from imgapp.worker import reconciler as payment_reconciler
from tests.support.factories import PASSWORD, create_user
from tests.support.servers import PROJECT_ROOT
from tests.support.xorpay_server import AID, SECRET


def _signed_in(client: httpx.Client):
    user, _ = create_user()
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    return user


def _create(client: httpx.Client, amount: object = "50.00", pay_type: str = "alipay"):
    return client.post("/api/payments/create", json={"amount": amount, "pay_type": pay_type})


def test_create_answers_201_with_the_gateways_qr_and_the_credits(client, gateway):
    _signed_in(client)
    response = _create(client)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["credits"] == 500
    assert body["amount"] == "50.00"
    assert body["provider"] == "xorpay"
    assert body["confirmed"] is True
    sent = gateway.orders[body["order_id"]]
    assert body["qr"] == f"https://qr.alipay.example/{sent['aoid']}"
    assert sent["price"] == "50.00"
    assert sent["pay_type"] == "alipay"
    assert client.get(f"/api/payments/{body['order_id']}").json()["status"] == "pending"


def test_wechat_goes_to_the_gateway_as_native(client, gateway):
    _signed_in(client)
    body = _create(client, "120.5", "wechat").json()
    assert gateway.orders[body["order_id"]]["pay_type"] == "native"
    assert gateway.orders[body["order_id"]]["price"] == "120.50"


@pytest.mark.parametrize(
    ("amount", "pay_type", "code"),
    [
        ("0", "alipay", "amount_too_small"),
        ("1.234", "alipay", "amount_format"),
        (12.5, "alipay", "amount_format"),
        ("-3", "alipay", "amount_format"),
        ("1000.01", "alipay", "amount_over_limit"),
        ("50.00", "paypal", "pay_type_unknown"),
    ],
)
def test_bad_requests_are_400_with_a_message_and_create_nothing(
    client, gateway, amount, pay_type, code
):
    _signed_in(client)
    response = _create(client, amount, pay_type)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["error"]
    assert gateway.orders == {}
    assert client.get("/api/payments").json() == []


def test_signed_out_is_401_and_someone_elses_order_is_404(client, new_client, gateway):
    assert _create(client).status_code == 401
    _signed_in(client)
    order_id = _create(client).json()["order_id"]
    other = new_client()
    _signed_in(other)
    assert other.get(f"/api/payments/{order_id}").status_code == 404


def test_paying_credits_through_the_webhook_once(client, gateway):
    user = _signed_in(client)
    order_id = _create(client).json()["order_id"]
    answer = gateway.pay(order_id)
    assert (answer.status_code, answer.text) == (200, "success")
    assert db.call_read(ledger.balance, user_id=user.id) == 500
    assert client.get(f"/api/payments/{order_id}").json()["status"] == "succeeded"
    # XorPay retries; twenty copies at once still credit once, and all get 200.
    form = gateway.notification(order_id)
    url = gateway.orders[order_id]["notify_url"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, data=form, timeout=30), range(20)))
    assert {(a.status_code, a.text) for a in answers} == {(200, "success")}
    assert db.call_read(ledger.balance, user_id=user.id) == 500


def test_forged_wrong_amount_unknown_and_empty_notifications_are_400(client, gateway):
    user = _signed_in(client)
    order_id = _create(client).json()["order_id"]
    url = gateway.orders[order_id]["notify_url"]
    forged = {**gateway.notification(order_id), "sign": "f" * 32}
    assert httpx.post(url, data=forged).status_code == 400
    cheap = gateway.notification(order_id, pay_price="0.01")
    assert httpx.post(url, data=cheap).status_code == 400
    assert httpx.post(url, data={}).status_code == 400
    assert (
        httpx.post(url, content=b"\x00\xff", headers={"content-type": "text/plain"}).status_code
        == 400
    )
    gateway.orders["R-unknown"] = {**gateway.orders[order_id], "order_id": "R-unknown"}
    assert httpx.post(url, data=gateway.notification("R-unknown")).status_code == 400
    assert db.call_read(ledger.balance, user_id=user.id) == 0
    assert client.get(f"/api/payments/{order_id}").json()["status"] == "pending"


def test_a_silent_gateway_keeps_the_order_pending_and_retry_confirms_it(client, gateway):
    _signed_in(client)
    gateway.mode = "http500"
    response = _create(client)
    assert response.status_code == 502
    body = response.json()
    assert body["retryable"] is True
    assert body["code"] == "payment_gateway"
    order = client.get(f"/api/payments/{body['order_id']}").json()
    assert (order["status"], order["confirmed"]) == ("pending", False)
    gateway.mode = "ok"
    retried = client.post(f"/api/payments/{body['order_id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["confirmed"] is True
    assert retried.json()["qr"]


def test_a_refusal_fails_the_order_and_says_what_it_means(client, gateway, configure):
    _signed_in(client)
    configure(XORPAY_APP_SECRET="a-wrong-secret-0123456789")
    response = _create(client, "50.00")
    assert response.status_code == 502
    body = response.json()
    assert (body["gateway_status"], body["retryable"]) == ("sign_error", False)
    assert "misconfigured" in body["error"]
    assert client.get(f"/api/payments/{body['order_id']}").json()["status"] == "failed"


def test_the_sandbox_speaks_the_protocol_and_its_checkout_pays_through_the_webhook(client, sandbox):
    user = _signed_in(client)
    body = _create(client, "9.90").json()
    assert body["provider"] == "sandbox"
    assert body["credits"] == 99
    checkout = body["qr"]
    assert checkout.startswith(sandbox + "/api/sandbox/xorpay/checkout/")
    page = httpx.get(checkout)
    assert page.status_code == 200
    assert "SANDBOX" in page.text
    assert "9.90" in page.text
    paid = httpx.post(checkout + "/pay")
    assert paid.status_code == 200
    assert "Paid" in paid.text
    assert db.call_read(ledger.balance, user_id=user.id) == 99
    assert client.get(f"/api/payments/{body['order_id']}").json()["status"] == "succeeded"
    # Paying again (a double click) credits nothing more.
    assert httpx.post(checkout + "/pay").status_code == 200
    assert db.call_read(ledger.balance, user_id=user.id) == 99


def test_the_sandbox_is_gone_when_xorpay_is_configured(client, gateway):
    assert client.get("/api/sandbox/xorpay/checkout/sbx1").status_code == 404
    assert client.post("/api/sandbox/xorpay/pay/sandbox", data={}).status_code == 404


def _cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgapp", "payments", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_reconciliation_credits_a_paid_order_whose_notification_was_lost(client, gateway):
    user = _signed_in(client)
    order_id = _create(client).json()["order_id"]
    gateway.orders[order_id]["paid"] = True  # paid, but the notification never came
    # Too young for the scheduled round...
    assert payment_reconciler.run_once(older_than=timedelta(minutes=3)).checked == 0
    # ...but the operator's round asks about every pending order.
    report = payment_reconciler.run_once(older_than=None)
    assert report.credited == [order_id]
    assert db.call_read(ledger.balance, user_id=user.id) == 500
    assert payment_reconciler.run_once(older_than=None).checked == 0
    # The late notification changes nothing.
    assert gateway.pay(order_id).text == "success"
    assert db.call_read(ledger.balance, user_id=user.id) == 500


def test_reconciliation_expires_dead_orders_and_reports_gateway_trouble(client, gateway):
    _signed_in(client)
    dead = _create(client).json()["order_id"]
    alive = _create(client, "10.00").json()["order_id"]
    with db.transaction() as session:
        session.execute(
            update(PaymentTransaction)
            .where(col(PaymentTransaction.order_id) == dead)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    gateway.query_status[alive] = "new"
    report = payment_reconciler.run_once(older_than=None)
    assert (report.expired, report.credited) == ([dead], [])
    assert client.get(f"/api/payments/{dead}").json()["status"] == "expired"
    assert client.get(f"/api/payments/{alive}").json()["status"] == "pending"
    gateway.mode = "http500"
    assert [o for o, _ in payment_reconciler.run_once(older_than=None).failed] == [alive]


def test_payments_show_and_reconcile_from_the_command_line(client, gateway, database_url):
    _signed_in(client)
    order_id = _create(client).json()["order_id"]
    gateway.orders[order_id]["paid"] = True
    env = {
        "XORPAY_AID": AID,
        "XORPAY_APP_SECRET": SECRET,
        "XORPAY_API_BASE": gateway.api_base,
    }
    shown = _cli(database_url, "show", order_id, **env)
    assert shown.returncode == 0, shown.stderr
    assert "pending" in shown.stdout
    assert "50.00 CNY via alipay -> 500 credits" in shown.stdout
    done = _cli(database_url, "reconcile", **env)
    assert done.returncode == 0, done.stderr
    assert f"credited  {order_id}" in done.stdout
    shown = _cli(database_url, "show", order_id, **env)
    assert "succeeded" in shown.stdout
    assert "payment_succeeded" in shown.stdout
    assert _cli(database_url, "show", "R-nope", **env).returncode == 1


def test_with_redis_any_process_serves_a_sandbox_order(client, sandbox, configure, redis_server):
    # Several app processes share Redis: the order created through one is paid
    # through another (here: this process after forgetting its own memory).
    configure(REDIS_URL=redis_server.url, EVENT_BUS="memory")
    user = _signed_in(client)
    body = _create(client, "5.00").json()
    sandbox_gateway.reset()
    checkout = body["qr"]
    assert httpx.get(checkout).status_code == 200
    assert "Paid" in httpx.post(checkout + "/pay").text
    assert db.call_read(ledger.balance, user_id=user.id) == 50
    assert client.get(f"/api/payments/{body['order_id']}").json()["status"] == "succeeded"
