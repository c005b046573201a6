"""What a recharge may be: amounts in fen, the pay types and their limits, what an amount buys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgapp.services.errors import ValidationFailed

FEN_PER_YUAN = 100
MIN_AMOUNT_FEN = 1


@dataclass(frozen=True)
class PayType:
    """A way to pay: our name for it, XorPay's, its per-payment limit, what payers call it."""

    name: str
    gateway_name: str
    max_fen: int
    label_en: str
    label_zh: str


# XORPAY.md, "Limits worth showing to the payer".
PAY_TYPES = {
    "alipay": PayType("alipay", "alipay", 1_000 * FEN_PER_YUAN, "Alipay", "支付宝"),
    "wechat": PayType("wechat", "native", 20_000 * FEN_PER_YUAN, "WeChat Pay", "微信支付"),
}
_AMOUNT = re.compile(r"^(0|[1-9]\d{0,9})(\.\d{1,2})?$")


def format_fen(fen: int) -> str:
    """5000 -> "50.00": how the gateway and the payer see an amount."""
    return f"{fen // FEN_PER_YUAN}.{fen % FEN_PER_YUAN:02d}"


def parse_amount(value: object) -> int:
    """A CNY amount as fen: a string like "50" or "50.00" (or a JSON integer of yuan)."""
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    match = _AMOUNT.match(text)
    if not match:
        raise ValidationFailed(
            "amount_format",
            'Send `amount` as a string of yuan with at most two decimals, such as "50.00".',
            field="amount",
        )
    whole, cents = match.group(1), (match.group(2) or ".")[1:]
    fen = int(whole) * FEN_PER_YUAN + int(cents.ljust(2, "0") or "0")
    if fen < MIN_AMOUNT_FEN:
        raise ValidationFailed(
            "amount_too_small", "`amount` must be at least 0.01.", field="amount"
        )
    return fen


def pay_type(name: object) -> PayType:
    """The pay type called `name`, or `ValidationFailed` listing those offered."""
    found = PAY_TYPES.get(name) if isinstance(name, str) else None
    if found is None:
        offered = ", ".join(PAY_TYPES)
        raise ValidationFailed(
            "pay_type_unknown",
            f"`pay_type` must be one of: {offered}.",
            field="pay_type",
            offered=offered,
        )
    return found


def credits_for(fen: int, *, credit_price_fen: int) -> int:
    """How many credits `fen` buys (whole credits; a remainder buys nothing)."""
    return fen // credit_price_fen


def check_order(
    amount: object, pay_type_name: object, *, credit_price_fen: int
) -> tuple[int, PayType, int]:
    """Validate a recharge request: (amount in fen, pay type, credits), or `ValidationFailed`."""
    kind = pay_type(pay_type_name)
    fen = parse_amount(amount)
    if fen > kind.max_fen:
        limit = format_fen(kind.max_fen)
        raise ValidationFailed(
            "amount_over_limit",
            f"{kind.label_en} takes at most {limit} per payment.",
            field="amount",
            limit=limit,
            pay_type=kind.name,
            label_en=kind.label_en,
            label_zh=kind.label_zh,
        )
    credits = credits_for(fen, credit_price_fen=credit_price_fen)
    if credits < 1:
        price = format_fen(credit_price_fen)
        raise ValidationFailed(
            "amount_buys_nothing",
            f"One credit costs {price}; the amount must buy at least one.",
            field="amount",
            price=price,
        )
    return fen, kind, credits
