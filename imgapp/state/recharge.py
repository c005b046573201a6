"""Recharge page state: the amount and pay type, the order being paid, the user's recent orders.

The open order's status flips from pending to paid live: the webhook (or the
reconciliation job) publishes a `payment` event that the live bridge applies
here with `apply_payment`; a reload reads the same from the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import tzinfo
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n
from imgapp.core.settings import get_settings
from imgapp.flows import recharge
from imgapp.gateways import xorpay
from imgapp.models import PaymentTransaction
from imgapp.models.base import utcnow
from imgapp.services import payments
from imgapp.services.errors import ImgappError, PaymentGatewayFailed, describe
from imgapp.state.app import AppState
from imgapp.state.qr import qr_svg

PRESETS = ("10.00", "50.00", "100.00", "200.00", "500.00")
RECENT_ORDERS = 10


@dataclasses.dataclass
class OrderRow:
    """One order in the list."""

    order_id: str
    status: str
    status_label: str
    amount: str
    credits: str
    pay_type: str
    created: str


def order_view(order: PaymentTransaction, zone: tzinfo | None = None) -> dict[str, Any]:
    """What the page keeps of an order (plain data; times in `zone`, None: the site's)."""
    return {
        "order_id": order.order_id,
        "status": order.status,
        "amount": payments.format_fen(order.amount_fen),
        "credits": int(order.credits),
        "credits_text": formatting.count(order.credits),
        "pay_type": order.pay_type,
        "provider": order.provider,
        "confirmed": bool(order.confirmed),
        "qr": order.qr,
        "expires_ms": int(order.expires_at.timestamp() * 1000),
        "expired": order.expires_at < utcnow(),
        # What the gateway last said, as a message key ('' when all is well).
        "gateway_key": xorpay.message_key(order.gateway_error) if order.gateway_error else "",
        "created": formatting.local_time(order.created_at, zone=zone),
    }


class RechargeState(AppState):
    """The form, the order being paid and the recent orders."""

    amount: str = "50.00"
    pay_type: str = "alipay"
    form_error: str = ""
    creating: bool = False
    order: dict[str, Any] = {}
    qr_image: str = ""
    _orders: list[dict[str, Any]] = []

    @rx.var
    def presets(self) -> list[str]:
        """The amounts offered as one-click choices."""
        return list(PRESETS)

    @rx.var
    def credits_preview(self) -> str:
        """How many credits the amount buys, or '' when it is not a valid amount."""
        try:
            fen = payments.parse_amount(self.amount)
        except ImgappError:
            return ""
        return formatting.count(
            payments.credits_for(fen, credit_price_fen=get_settings().credit_price_fen)
        )

    @rx.var
    def has_order(self) -> bool:
        """Whether an order is on screen."""
        return bool(self.order.get("order_id"))

    @rx.var
    def order_state(self) -> str:
        """Pending / succeeded / failed / expired, with `expired` also once the clock says so."""
        status = str(self.order.get("status", ""))
        if status == "pending" and self.order.get("expired"):
            return "expired"
        return status

    @rx.var
    def order_status_label(self) -> str:
        """The order's state in this browser's language."""
        return i18n.text(f"pay.status.{self.order_state}", self.lang) if self.order_state else ""

    @rx.var
    def gateway_message(self) -> str:
        """What the gateway last said, translated ('' when nothing went wrong)."""
        key = str(self.order.get("gateway_key") or "")
        return i18n.text(key, self.lang) if key else ""

    @rx.var
    def order_rows(self) -> list[OrderRow]:
        """Recent orders with their status in this browser's language."""
        return [
            OrderRow(
                order_id=o["order_id"],
                status=o["status"],
                status_label=i18n.text(f"pay.status.{o['status']}", self.lang),
                amount=o["amount"],
                credits=formatting.count(o["credits"]),
                pay_type=i18n.text(f"pay.type.{o['pay_type']}", self.lang),
                created=o["created"],
            )
            for o in self._orders
        ]

    def _show(self, view: dict[str, Any]) -> None:
        if view.get("qr") != self.order.get("qr"):
            self.qr_image = qr_svg(str(view.get("qr") or ""))
        self.order = view
        rows = [o for o in self._orders if o["order_id"] != view["order_id"]]
        self._orders = sorted([view, *rows], key=lambda o: o["order_id"], reverse=True)[
            :RECENT_ORDERS
        ]

    @rx.event
    async def load(self) -> None:
        """Recent orders from the database; the newest pending one stays on screen."""
        await self.refresh()
        self.form_error = ""

    async def refresh(self) -> None:
        """Read the orders again (also the bridge, when events may have been missed)."""
        if not self.user_id:
            return
        found = await asyncio.to_thread(
            db.call_read, payments.recent, user_id=self.user_id, limit=RECENT_ORDERS
        )
        self._orders = [order_view(o, self.zone()) for o in found]
        current = self.order.get("order_id")
        shown = next((o for o in self._orders if o["order_id"] == current), None)
        if shown is None:
            shown = next(
                (o for o in self._orders if o["status"] == "pending" and not o["expired"]), {}
            )
        self.order = {}
        self.qr_image = ""
        if shown:
            self._show(shown)

    @rx.event
    def pick(self, amount: str) -> None:
        """Choose a preset amount."""
        self.amount = amount
        self.form_error = ""

    @rx.event
    def set_amount(self, value: str) -> None:
        """Typed amount."""
        self.amount = value.strip()
        self.form_error = ""

    @rx.event
    def set_pay_type(self, value: str) -> None:
        """Alipay or WeChat."""
        self.pay_type = value

    @rx.event
    async def create(self) -> None:
        """Open an order and show its QR code."""
        if not self.user_id or self.creating:
            return
        self.creating = True
        self.form_error = ""
        yield
        try:
            order = await asyncio.to_thread(
                recharge.create_order, self.user_id, self.amount, self.pay_type, self.client_ip()
            )
        except PaymentGatewayFailed as exc:
            self.form_error = describe(exc, self.lang).message
            found = await asyncio.to_thread(
                db.call_read, payments.get_order, order_id=exc.order_id, user_id=self.user_id
            )
            self._show(order_view(found, self.zone()))
        except ImgappError as exc:
            self.form_error = describe(exc, self.lang).message
        else:
            self._show(order_view(order, self.zone()))
        finally:
            self.creating = False

    @rx.event
    async def retry(self) -> None:
        """Send the order the gateway did not answer again."""
        order_id = str(self.order.get("order_id") or "")
        if not order_id:
            return
        self.form_error = ""
        try:
            order = await asyncio.to_thread(recharge.retry_order, self.user_id, order_id)
        except PaymentGatewayFailed as exc:
            self.form_error = describe(exc, self.lang).message
            return
        except ImgappError as exc:
            self.form_error = describe(exc, self.lang).message
            return
        self._show(order_view(order, self.zone()))

    @rx.event
    def new_order(self) -> None:
        """Put the current order away and start again."""
        self.order = {}
        self.qr_image = ""
        self.form_error = ""

    def apply_payment(self, data: dict[str, Any]) -> None:
        """A pushed update: an order of this user changed (paid, expired)."""
        if "balance" in data and data["balance"] is not None:
            self.balance = int(data["balance"])
        order_id = data.get("order_id")
        if not order_id:
            return
        for row in self._orders:
            if row["order_id"] == order_id and "status" in data:
                row["status"] = data["status"]
        self._orders = list(self._orders)
        if self.order.get("order_id") == order_id and "status" in data:
            self.order = {**self.order, "status": data["status"]}
