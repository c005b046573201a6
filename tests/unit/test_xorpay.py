"""XorPay's signatures (vectors computed by hand with md5sum) and the client against loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imgapp.gateways import xorpay
from tests.support.xorpay_server import AID, SECRET, FakeXorPay, start

NOTIFY_URL = "http://localhost:3000/api/payments/webhook"


def test_create_signature_matches_the_documented_formula_with_a_chinese_name():
    # printf '%s' '充值 50 元alipay50.00R20261122000000abcdef0123<notify_url>secret-123' | md5sum
    assert (
        xorpay.create_sign(
            name="充值 50 元",
            pay_type="alipay",
            price="50.00",
            order_id="R20261122000000abcdef0123",
            notify_url=NOTIFY_URL,
            secret="secret-123",
        )
        == "6a88d9ef7d7dd73379edac292e1e0972"
    )
    assert (
        xorpay.create_sign(
            name="imgapp credits",
            pay_type="native",
            price="0.01",
            order_id="order-1",
            notify_url="https://example.com/notify",
            secret="S3cr3t",
        )
        == "170e1cd55de067718b6baf3397dd2c2d"
    )


def test_notify_query_and_refund_signatures():
    assert (
        xorpay.notify_sign(
            aoid="123456",
            order_id="R20261122000000abcdef0123",
            pay_price="50.00",
            pay_time="2026-11-22 12:00:00",
            secret="secret-123",
        )
        == "88babe345d4abb7e84f032a445e97f0a"
    )
    assert (
        xorpay.query2_sign(order_id="R20261122000000abcdef0123", secret="secret-123")
        == "45bccc49a5865824bea1b43d62b5429b"
    )
    assert xorpay.refund_sign(price="50.00", secret="secret-123") == (
        "b653ae6519387d642ae4894e26a3541a"
    )


def test_signature_comparison_accepts_upper_case_and_refuses_anything_else():
    good = "b653ae6519387d642ae4894e26a3541a"
    assert xorpay.signature_matches(good, good.upper())
    assert not xorpay.signature_matches(good, good[:-1] + "b")
    assert not xorpay.signature_matches(good, "")
    assert not xorpay.signature_matches(good, "签名")


@pytest.fixture
def gateway() -> Iterator[tuple[FakeXorPay, str]]:
    fake = FakeXorPay()
    server, base = start(fake)
    yield fake, base
    server.stop()


def _create(client: xorpay.XorPayClient, order_id: str = "R1", price: str = "50.00"):
    return client.create(
        name="imgapp 500 credits",
        pay_type="alipay",
        price=price,
        order_id=order_id,
        notify_url=NOTIFY_URL,
        expire=900,
    )


def test_create_sends_the_signed_form_and_reads_the_answer(gateway):
    fake, base = gateway
    client = xorpay.XorPayClient(api_base=base, aid=AID, app_secret=SECRET)
    created = _create(client)
    assert created.aoid == "aoid000001"
    assert created.qr == "https://qr.alipay.example/aoid000001"
    assert created.expires_in == 900
    sent = fake.requests[0]
    assert sent["path"] == f"/api/pay/{AID}"
    assert sent["form"]["price"] == "50.00"
    assert sent["form"]["expire"] == "900"
    # The same order again is the same order (a retry after a timeout).
    assert _create(client).aoid == "aoid000001"


def test_a_wrong_secret_is_sign_error_and_says_the_setup_is_wrong(gateway):
    _, base = gateway
    client = xorpay.XorPayClient(api_base=base, aid=AID, app_secret="not-the-secret")
    with pytest.raises(xorpay.GatewayError) as caught:
        _create(client)
    assert caught.value.status == "sign_error"
    assert caught.value.message_key == "pay.gw.misconfigured"
    assert not isinstance(caught.value, xorpay.GatewayUnreachable)


def test_the_same_order_id_with_another_price_is_order_exist(gateway):
    _, base = gateway
    client = xorpay.XorPayClient(api_base=base, aid=AID, app_secret=SECRET)
    _create(client, "R2", "50.00")
    with pytest.raises(xorpay.GatewayError) as caught:
        _create(client, "R2", "60.00")
    assert (caught.value.status, caught.value.message_key) == ("order_exist", "pay.gw.order_exists")


@pytest.mark.parametrize("word", sorted(xorpay.CREATE_REFUSALS))
def test_every_documented_refusal_maps_to_a_message(gateway, word):
    fake, base = gateway
    fake.mode = word
    client = xorpay.XorPayClient(api_base=base, aid=AID, app_secret=SECRET)
    with pytest.raises(xorpay.GatewayError) as caught:
        _create(client)
    assert caught.value.status == word
    assert caught.value.message_key == xorpay.CREATE_REFUSALS[word]


def test_a_timeout_or_a_server_error_is_unreachable_not_refused(gateway):
    fake, base = gateway
    fake.mode, fake.delay = "timeout", 2.0
    client = xorpay.XorPayClient(api_base=base, aid=AID, app_secret=SECRET, timeout=0.3)
    with pytest.raises(xorpay.GatewayUnreachable):
        _create(client)
    fake.mode = "http500"
    with pytest.raises(xorpay.GatewayUnreachable):
        _create(client)
    nobody = xorpay.XorPayClient(api_base="http://127.0.0.1:9/api", aid=AID, app_secret=SECRET)
    with pytest.raises(xorpay.GatewayUnreachable):
        _create(nobody)


def test_query_and_refund(gateway):
    fake, base = gateway
    client = xorpay.XorPayClient(api_base=base, aid=AID, app_secret=SECRET)
    assert client.query("R-none") == "not_exist"
    created = _create(client, "R3")
    assert client.query("R3") == "new"
    with pytest.raises(xorpay.GatewayError) as caught:
        client.refund(aoid=created.aoid, price="50.00")
    assert caught.value.status == "order_error"
    fake.orders["R3"]["paid"] = True
    assert client.query("R3") == "payed"
    client.refund(aoid=created.aoid, price="10.00")
    assert fake.requests[-1]["form"]["sign"] == xorpay.refund_sign(price="10.00", secret=SECRET)
