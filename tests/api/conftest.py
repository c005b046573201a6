"""Fixtures the API tests share: XorPay on loopback, or the app's own sandbox gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imgapp.gateways import xorpay_sandbox as sandbox_gateway
from tests.support.xorpay_server import AID, SECRET, FakeXorPay, start


@pytest.fixture
def gateway(configure, api_server) -> Iterator[FakeXorPay]:
    """XorPay configured, pointing at the loopback server; notifications go to our webhook."""
    fake = FakeXorPay()
    server, base = start(fake)
    fake.api_base = base
    configure(
        XORPAY_AID=AID,
        XORPAY_APP_SECRET=SECRET,
        XORPAY_API_BASE=base,
        XORPAY_NOTIFY_URL=api_server.url + "/api/payments/webhook",
    )
    yield fake
    server.stop()


@pytest.fixture
def sandbox(configure, api_server) -> Iterator[str]:
    """No XorPay settings: the app's own sandbox gateway, reached at SITE_URL."""
    configure(SITE_URL=api_server.url, XORPAY_AID="", XORPAY_APP_SECRET="", XORPAY_NOTIFY_URL="")
    sandbox_gateway.reset()
    yield api_server.url
    sandbox_gateway.reset()
