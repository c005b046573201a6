"""Which payment gateway this process talks to: XorPay when configured, else the sandbox.

Both are reached through the same `XorPayClient` and both notify the same
webhook; only the API base, the merchant id and the secret differ. The
sandbox (`imgapp.gateways.xorpay_sandbox`) is served by this app on loopback and
is refused in production (`settings.assert_startable` demands XorPay there).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from imgapp.core.settings import Settings, get_settings
from imgapp.gateways.xorpay import XorPayClient

SANDBOX = "sandbox"
XORPAY = "xorpay"
SANDBOX_AID = "sandbox"
WEBHOOK_PATH = "/api/payments/webhook"
SANDBOX_PATH = "/api/sandbox/xorpay"


@dataclass(frozen=True)
class Gateway:
    """The gateway in use: its name, a client for it, and where it sends notifications."""

    provider: str
    client: XorPayClient
    notify_url: str

    @property
    def is_sandbox(self) -> bool:
        """Whether payments here are make-believe."""
        return self.provider == SANDBOX


def sandbox_secret(settings: Settings) -> str:
    """The sandbox merchant's app secret, derived from SESSION_SECRET (never configured)."""
    key = settings.session_secret.get_secret_value().encode()
    return hmac.new(key, b"imgapp sandbox xorpay", hashlib.sha256).hexdigest()


def configured(settings: Settings | None = None) -> Gateway:
    """XorPay when XORPAY_AID and XORPAY_APP_SECRET are set; the sandbox otherwise."""
    settings = settings or get_settings()
    site = settings.site_url.rstrip("/")
    if settings.xorpay_aid and settings.xorpay_app_secret:
        return Gateway(
            provider=XORPAY,
            client=XorPayClient(
                api_base=settings.xorpay_api_base,
                aid=settings.xorpay_aid,
                app_secret=settings.xorpay_app_secret.get_secret_value(),
            ),
            notify_url=settings.xorpay_notify_url or site + WEBHOOK_PATH,
        )
    return Gateway(
        provider=SANDBOX,
        client=XorPayClient(
            api_base=site + SANDBOX_PATH, aid=SANDBOX_AID, app_secret=sandbox_secret(settings)
        ),
        notify_url=site + WEBHOOK_PATH,
    )
