"""Webhook rules without the network: targets, the retry schedule, private addresses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from imgapp.services import webhooks
from imgapp.services.errors import ValidationFailed


def test_the_retries_back_off_exponentially_and_span_about_a_day():
    waits = [webhooks.backoff(n) for n in range(1, 13)]
    assert waits[:4] == [timedelta(seconds=s) for s in (5, 20, 80, 320)]
    assert waits == sorted(waits)
    assert max(waits) == timedelta(hours=8)
    spent, tries = timedelta(0), 0
    while spent + webhooks.backoff(tries + 1) <= timedelta(hours=24):
        tries += 1
        spent += webhooks.backoff(tries)
    assert 9 <= tries <= 11  # about ten tries over the day, then the message fails


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.0.0.8", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),  # noqa: S104 - an address to judge, not to bind
        ("::1", True),
        ("fd00::1", True),
        ("fe80::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped loopback
        ("224.0.0.1", True),
        ("64:ff9b::7f00:1", True),  # NAT64 to 127.0.0.1
        ("2002:a00:1::1", True),  # 6to4 from 10.0.0.1
        ("64:ff9b::5db8:d70e", False),  # NAT64 to a public address
        ("93.184.215.14", False),
        ("2606:4700::1111", False),
    ],
)
def test_private_addresses_are_told_apart_from_public_ones(address, private):
    assert webhooks.is_private_address(address) is private


def test_a_target_defaults_to_completed_and_takes_events_as_a_list_or_commas():
    assert webhooks.check_target("https://hooks.example/a", None) == webhooks.Target(
        "https://hooks.example/a", ("completed",)
    )
    chosen = webhooks.check_target("https://hooks.example/a", "completed, start,start")
    assert chosen is not None
    assert chosen.events == ("start", "completed")  # known order, once each
    assert webhooks.check_target(None, None) is None
    with pytest.raises(ValidationFailed) as caught:
        webhooks.check_target("https://hooks.example/a", [1, 2])
    assert caught.value.rule == "webhook_events_unknown"


def test_private_targets_pass_only_when_the_setting_allows_them(configure):
    with pytest.raises(ValidationFailed):
        webhooks.check_target("http://192.168.0.10/hook", None)
    configure(WEBHOOK_ALLOW_PRIVATE_URLS="true")
    assert webhooks.check_target("http://192.168.0.10/hook", None) is not None


def test_the_post_goes_to_the_address_that_was_checked_keeping_the_name_as_host(monkeypatch):
    """A name is resolved once; the POST is aimed at that address, the name sent as Host."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    import httpx  # noqa: PLC0415 - this test's own tools

    from imgapp.gateways import webhook_sender  # noqa: PLC0415
    from tests.support import aio  # noqa: PLC0415
    from tests.support.webhook_receiver import Receiver, serve  # noqa: PLC0415

    got = Receiver()
    server = serve(got)
    port = urlsplit(server.url).port
    looked_up: list[str] = []

    async def resolve(host: str, _port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]  # what the name resolved to when it was checked

    monkeypatch.setattr(webhook_sender, "_addresses", resolve)
    monkeypatch.setattr(webhook_sender, "is_private_address", lambda _address: False)

    async def post() -> webhook_sender.Sent:
        async with httpx.AsyncClient() as client:
            return await webhook_sender.send(
                client,
                f"http://hooks.example.test:{port}/hook",
                body='{"type": "task.completed"}',
                headers={"content-type": "application/json"},
                allow_private=False,
                seconds=5,
            )

    try:
        sent = aio.run(post())
    finally:
        server.stop()
    assert sent.status_code == 200
    assert looked_up == ["hooks.example.test"]  # once
    assert got.received[0].headers["host"] == f"hooks.example.test:{port}"
