"""XorPay's HTTP protocol: the four signatures, and create / query2 / refund over httpx.

Every signature is the lowercase hex MD5 of the UTF-8 concatenation of the
listed values, values only, in order, with the app secret last
(`../shared/design/XORPAY.md`). The API base is a setting, so tests and the
offline sandbox point the very same client at loopback.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_TIMEOUT_SECONDS = 10.0

# Every documented refusal of a create call, and the message key for the payer.
CREATE_REFUSALS = {
    "no_contract": "pay.gw.channel_unavailable",
    "no_alipay_contract": "pay.gw.channel_unavailable",
    "missing_argument": "pay.gw.misconfigured",
    "app_off": "pay.gw.merchant_frozen",
    "aid_not_exist": "pay.gw.misconfigured",
    "pay_type_error": "pay.gw.pay_type",
    "sign_error": "pay.gw.misconfigured",
    "order_payed": "pay.gw.already_paid",
    "order_expire": "pay.gw.expired",
    "order_exist": "pay.gw.order_exists",
    "fee_error": "pay.gw.merchant_balance",
    "alipay_api_error": "pay.gw.channel_error",
    "wechat_api_error": "pay.gw.channel_error",
}
UNREACHABLE = "unreachable"  # our word for "no usable answer", kept like a refusal word


def message_key(status: str) -> str:
    """What to tell the payer about a create call that ended with `status`."""
    if status == UNREACHABLE:
        return "pay.gw.unreachable"
    return CREATE_REFUSALS.get(status, "pay.gw.unknown_refusal")


# query2's answers.
QUERY_STATUSES = {"not_exist", "new", "payed", "success", "fee_error", "expire"}


def sign(*values: str, secret: str) -> str:
    """md5(values... + secret), lowercase hex, over UTF-8."""
    return hashlib.md5(("".join(values) + secret).encode("utf-8")).hexdigest()  # noqa: S324 - the protocol's


def create_sign(
    *, name: str, pay_type: str, price: str, order_id: str, notify_url: str, secret: str
) -> str:
    """The `sign` of a create call."""
    return sign(name, pay_type, price, order_id, notify_url, secret=secret)


def notify_sign(*, aoid: str, order_id: str, pay_price: str, pay_time: str, secret: str) -> str:
    """The `sign` XorPay puts on a notification."""
    return sign(aoid, order_id, pay_price, pay_time, secret=secret)


def query2_sign(*, order_id: str, secret: str) -> str:
    """The `sign` of a query2 call."""
    return sign(order_id, secret=secret)


def refund_sign(*, price: str, secret: str) -> str:
    """The `sign` of a refund call."""
    return sign(price, secret=secret)


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of two hex signatures."""
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8"))


def notification_authentic(fields: dict[str, str], *, secret: str) -> bool:
    """Whether a notification carries XorPay's signature (False when a signed field is missing)."""
    signed = ("aoid", "order_id", "pay_price", "pay_time")
    if any(not fields.get(name) for name in (*signed, "sign")):
        return False
    expected = notify_sign(**{name: fields[name] for name in signed}, secret=secret)
    return signature_matches(expected, fields["sign"])


class GatewayError(Exception):
    """XorPay refused: `status` is its word for why, `message_key` what to tell a person."""

    def __init__(self, status: str, message_key: str, info: object = None) -> None:
        """Keep the gateway's status word and detail."""
        super().__init__(f"XorPay answered {status!r}" + (f": {info}" if info else ""))
        self.status = status
        self.message_key = message_key
        self.info = info


class GatewayUnreachable(GatewayError):
    """No usable answer (timeout, network, a 5xx, not JSON): the outcome is unknown."""

    def __init__(self, why: str) -> None:
        """Keep what went wrong."""
        super().__init__(UNREACHABLE, message_key(UNREACHABLE), why)


@dataclass(frozen=True)
class CreatedOrder:
    """The gateway's order: its id, what to show as a QR code, how long it lasts."""

    aoid: str
    qr: str
    expires_in: int


@functools.lru_cache(maxsize=4)
def _pooled_client(timeout: float) -> httpx.Client:
    """The process's client for XorPay calls (thread-safe, keeps connections alive).

    A client made per call loaded the CA bundle into a new SSL context every
    time: under load that was half of an app process's CPU.
    """
    return httpx.Client(timeout=timeout)


@dataclass(frozen=True)
class XorPayClient:
    """One merchant app at one API base."""

    api_base: str
    aid: str
    app_secret: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    transport: httpx.BaseTransport | None = None  # tests: a mock transport

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.api_base.rstrip("/") + path
        try:
            if self.transport is not None:
                with httpx.Client(timeout=self.timeout, transport=self.transport) as http:
                    response = http.request(method, url, **kwargs)
            else:
                response = _pooled_client(self.timeout).request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise GatewayUnreachable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:  # noqa: PLR2004
            raise GatewayUnreachable(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise GatewayUnreachable(f"HTTP {response.status_code}, not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise GatewayUnreachable(f"HTTP {response.status_code}, no status in the answer")
        return data

    def create(
        self,
        *,
        name: str,
        pay_type: str,
        price: str,
        order_id: str,
        notify_url: str,
        order_uid: str = "",
        more: str = "",
        expire: int | None = None,
    ) -> CreatedOrder:
        """Create an order (same parameters again: same order); `GatewayError` if refused."""
        form = {
            "name": name,
            "pay_type": pay_type,
            "price": price,
            "order_id": order_id,
            "notify_url": notify_url,
            "sign": create_sign(
                name=name,
                pay_type=pay_type,
                price=price,
                order_id=order_id,
                notify_url=notify_url,
                secret=self.app_secret,
            ),
        }
        if order_uid:
            form["order_uid"] = order_uid
        if more:
            form["more"] = more
        if expire is not None:
            form["expire"] = str(expire)
        data = self._call("POST", f"/pay/{self.aid}", data=form)
        status = data["status"]
        if status != "ok":
            raise GatewayError(status, message_key(status), data.get("info"))
        info = data.get("info") if isinstance(data.get("info"), dict) else {}
        qr, aoid = info.get("qr"), data.get("aoid")
        if not isinstance(qr, str) or not qr or not isinstance(aoid, str | int):
            raise GatewayUnreachable("status ok without aoid or info.qr")
        try:
            expires_in = int(data.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0
        return CreatedOrder(aoid=str(aoid), qr=qr, expires_in=expires_in)

    def query(self, order_id: str) -> str:
        """query2: `not_exist`, `new`, `payed`, `success`, `fee_error` or `expire`."""
        data = self._call(
            "GET",
            f"/query2/{self.aid}",
            params={
                "order_id": order_id,
                "sign": query2_sign(order_id=order_id, secret=self.app_secret),
            },
        )
        status = data["status"]
        if status not in QUERY_STATUSES:
            raise GatewayError(status, "pay.gw.unknown_refusal", data.get("info"))
        return status

    def refund(self, *, aoid: str, price: str) -> None:
        """Refund `price` of a paid order; `GatewayError` if refused."""
        data = self._call(
            "POST",
            f"/refund/{aoid}",
            data={"price": price, "sign": refund_sign(price=price, secret=self.app_secret)},
        )
        if data["status"] != "ok":
            raise GatewayError(data["status"], "pay.gw.refund_refused", data.get("info"))
