"""A person using the production shape over HTTP: sign up, pay, generate, watch.

Payments are paid the way the gateway pays them: a notification signed with
the sandbox merchant's secret, posted to the webhook of the app process the
test names (`via`), not through nginx, so the test decides which process
credits the order and which one holds the page that must show it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import httpx

from imgapp.core.settings import get_settings
from imgapp.gateways import payment, xorpay
from tests.support.factories import PASSWORD
from tests.support.prod_shape import ProdShape

TERMINAL = {"completed", "failed", "cancelled"}


def signed_notification(order: dict[str, object]) -> dict[str, str]:
    """The notification XorPay (here: the sandbox merchant) sends once `order` is paid."""
    aoid = str(order["qr"]).rsplit("/", 1)[1]
    pay_time = datetime.now().strftime("%Y-%m-%d %H:%M:%S")  # noqa: DTZ005 - XorPay's local time
    fields = {
        "aoid": aoid,
        "order_id": str(order["order_id"]),
        "pay_price": str(order["amount"]),
        "pay_time": pay_time,
        "more": "",
        "detail": "{}",
    }
    fields["sign"] = xorpay.notify_sign(
        aoid=aoid,
        order_id=fields["order_id"],
        pay_price=fields["pay_price"],
        pay_time=pay_time,
        secret=payment.sandbox_secret(get_settings()),
    )
    return fields


@dataclass
class ShapeUser:
    """One signed-in account and its cookie jar."""

    shape: ProdShape
    email: str
    http: httpx.Client

    @classmethod
    def sign_up(cls, shape: ProdShape) -> ShapeUser:
        """Register through nginx."""
        email = f"shape-{uuid.uuid4().hex[:10]}@example.com"
        http = httpx.Client(base_url=shape.url, timeout=30, headers={"origin": shape.url})
        answer = http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert answer.status_code == 201, answer.text
        return cls(shape=shape, email=email, http=http)

    def create_order(self, amount: str) -> dict[str, object]:
        """A sandbox recharge order."""
        answer = self.http.post(
            "/api/payments/create", json={"amount": amount, "pay_type": "alipay"}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def recharge(self, amount: str, *, via: str) -> dict[str, object]:
        """Create an order and have it paid, the notification going to app process `via`."""
        return pay(self.create_order(amount), via=via)

    def balance(self) -> int:
        """The balance, as the API says."""
        return int(self.http.get("/api/billing/summary").json()["balance"])

    def submit(self, prompt: str = "a lighthouse at dusk", n: int = 1) -> int:
        """A generation task; its id."""
        answer = self.http.post(
            "/api/generate-image", json={"prompt": prompt, "n": n, "size": "512x512"}
        )
        assert answer.status_code in {200, 201, 202}, answer.text
        return int(answer.json()["task_id"])

    def task(self, task_id: int) -> dict[str, object]:
        """The task as its owner sees it."""
        return self.http.get(f"/api/generate-image/{task_id}").json()

    def wait_finished(self, task_ids: list[int], timeout: float = 120) -> dict[int, str]:
        """Until every task is completed, failed or cancelled; their statuses."""
        deadline = time.monotonic() + timeout
        statuses: dict[int, str] = {}
        while time.monotonic() < deadline:
            for task_id in task_ids:
                if statuses.get(task_id) not in TERMINAL:
                    try:
                        statuses[task_id] = str(self.task(task_id)["status"])
                    except (httpx.HTTPError, ValueError, KeyError):
                        statuses[task_id] = "unknown"
            if all(s in TERMINAL for s in statuses.values()) and len(statuses) == len(task_ids):
                return statuses
            time.sleep(0.5)
        msg = f"tasks not finished after {timeout}s: {statuses}"
        raise TimeoutError(msg)

    def close(self) -> None:
        """Drop the client."""
        self.http.close()


def pay(order: dict[str, object], *, via: str) -> dict[str, object]:
    """Deliver the paid notification for `order` to the webhook of `via`."""
    answer = httpx.post(via + "/api/payments/webhook", data=signed_notification(order), timeout=30)
    assert answer.status_code == 200, answer.text
    return order
