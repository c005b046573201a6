"""`/api/billing/*`: internal deduct (charge_usage), the user's summary and CSV statement.

Deduct takes the internal secret only (a user's API key never passes); the
summary and the statement take the session or an API key with `read`.
"""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from imgapp.api.csv_files import csv_text
from imgapp.api.deps import ReadCaller
from imgapp.api.internal import InternalKey
from imgapp.api.responses import json_object, request_lang
from imgapp.core import db, formatting
from imgapp.flows import billing as billing_flow
from imgapp.models import LedgerEntry
from imgapp.services import invites, ledger, usage
from imgapp.services.errors import InsufficientCredits, NotFound, ValidationFailed, describe

router = APIRouter(prefix="/api/billing", tags=["billing"])

# Callers' keys live in their own namespace, so they can never collide with
# the keys imgapp itself uses (charge:task:..., refund:task:...).
_DEDUCT_PREFIX = "deduct:"
CALLER_KEY_MAX_LENGTH = 100
REASON_MAX_LENGTH = 255


class DeductIn(BaseModel):
    """Charge a user's credits (server-to-server). `amount` is a positive JSON integer."""

    user_id: int = Field(gt=0, examples=[42])
    amount: int = Field(gt=0, examples=[5])
    idempotency_key: str = Field(min_length=1, max_length=CALLER_KEY_MAX_LENGTH)
    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH, examples=["poster render"])


class DeductOut(BaseModel):
    """The balance after the charge and the ledger entry that records it."""

    balance: int
    entry_id: int


class InsufficientOut(BaseModel):
    """Answer when the balance does not cover the amount."""

    error: str
    code: str
    balance: int


class UsageOut(BaseModel):
    """What one charge paid for."""

    id: int = Field(description="The charge's ledger entry id")
    task_id: int | None
    model: str
    size: str
    image_count: int
    credits: int
    description: str
    created_at: str


class EntryOut(BaseModel):
    """One ledger entry."""

    id: int
    kind: str
    amount: int
    balance_after: int
    reference: str
    description: str
    created_at: str


class InvitesSummaryOut(BaseModel):
    """The user's invite code, how many signed up with it, what it earned."""

    code: str
    count: int
    credits_earned: int


class SummaryOut(BaseModel):
    """The signed-in user's account at a glance."""

    user_id: int
    email: str
    display_name: str
    balance: int
    balance_value_fen: int
    recent_usage: list[UsageOut]
    recent_transactions: list[EntryOut]
    invites: InvitesSummaryOut


def _positive_int(data: dict[str, Any], name: str) -> int:
    if name not in data:
        raise ValidationFailed("field_missing", f"`{name}` is required.", field=name, name=name)
    return ledger.check_credits(data[name], field=name)


def _text(data: dict[str, Any], name: str, max_length: int) -> str:
    value = data.get(name)
    if name not in data or value is None:
        raise ValidationFailed("field_missing", f"`{name}` is required.", field=name, name=name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            "field_not_text", f"`{name}` must be a non-empty string.", field=name, name=name
        )
    if len(value) > max_length:
        raise ValidationFailed(
            "field_too_long",
            f"`{name}` must be at most {max_length} characters.",
            field=name,
            name=name,
            max=max_length,
        )
    return value


def _deduct(data: dict[str, Any]) -> ledger.Movement:
    user_id = _positive_int(data, "user_id")
    amount = _positive_int(data, "amount")
    key = _text(data, "idempotency_key", CALLER_KEY_MAX_LENGTH)
    reason = _text(data, "reason", REASON_MAX_LENGTH)
    try:
        return billing_flow.charge(
            user_id=user_id,
            credits=amount,
            key=_DEDUCT_PREFIX + key,
            usage=ledger.Usage(),
            reference=ledger.Reference("api", key[:64]),
            description=reason,
        )
    except NotFound as exc:  # every user has an account, so: no such user
        raise ValidationFailed(
            "unknown_user", "`user_id` does not match any user.", field="user_id"
        ) from exc


@router.post(
    "/deduct",
    response_model=DeductOut,
    responses={
        400: {"description": "Invalid input"},
        401: {"description": "Missing or wrong internal API key"},
        402: {"model": InsufficientOut, "description": "Balance does not cover the amount"},
        409: {"description": "The key was used for a different charge"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DeductIn.model_json_schema()}},
        }
    },
    dependencies=[InternalKey],
)
async def deduct(request: Request) -> Response:
    """Charge credits atomically; the same `idempotency_key` again returns the first result."""
    data = await json_object(request)
    try:
        movement = await run_in_threadpool(_deduct, data)
    except InsufficientCredits as exc:
        public = describe(exc, request_lang(request))
        return JSONResponse(
            {"error": "insufficient credits", "code": public.code, "balance": exc.balance},
            status_code=402,
        )
    return JSONResponse(
        DeductOut(balance=movement.balance_after, entry_id=movement.entry_id).model_dump()
    )


def usage_out(row: LedgerEntry) -> UsageOut:
    """A charge as the API shows what it paid for."""
    return UsageOut(
        id=row.id or 0,
        task_id=row.task_id,
        model=row.model,
        size=row.size,
        image_count=row.image_count,
        credits=-row.amount,
        description=row.description,
        created_at=row.created_at.isoformat(),
    )


def entry_out(row: LedgerEntry) -> EntryOut:
    """A ledger entry as the API shows it."""
    return EntryOut(
        id=row.id or 0,
        kind=row.kind,
        amount=row.amount,
        balance_after=row.balance_after,
        reference=row.reference,
        description=row.description,
        created_at=row.created_at.isoformat(),
    )


@router.get("/summary", response_model=SummaryOut, responses={401: {"description": "Sign in"}})
def summary(user: ReadCaller) -> SummaryOut:
    """Balance, recent usage and recent transactions of the signed-in user."""
    found = db.call_read(ledger.summary, user_id=user.user_id)
    invited = db.call(invites.overview, user_id=user.user_id)
    return SummaryOut(
        user_id=user.user_id,
        email=user.email,
        display_name=user.display_name,
        balance=found.balance,
        balance_value_fen=formatting.credits_value_fen(found.balance),
        recent_usage=[usage_out(u) for u in found.usage],
        recent_transactions=[entry_out(e) for e in found.entries],
        invites=InvitesSummaryOut(
            code=invited.code,
            count=invited.stats["invited"],
            credits_earned=invited.stats["credits_earned"],
        ),
    )


def _date_param(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(
            "date_invalid",
            f"`{name}` must be a date like 2026-11-22.",
            field=name,
            name=name,
        ) from exc


STATEMENT_COLUMNS = (
    "time",
    "entry_id",
    "kind",
    "amount",
    "balance_after",
    "reference",
    "description",
)


def statement_csv(entries: list[LedgerEntry], zone: tzinfo | None = None) -> str:
    """The statement as CSV text, oldest first, times in `zone` (default: the configured one)."""
    return csv_text(
        STATEMENT_COLUMNS,
        (
            [
                formatting.local_iso(e.created_at, zone=zone),
                e.id,
                e.kind,
                e.amount,
                e.balance_after,
                e.reference,
                e.description,
            ]
            for e in reversed(entries)
        ),
    )


@router.get(
    "/statement.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The statement"},
        400: {"description": "A date is not valid"},
        401: {"description": "Sign in"},
    },
)
def statement(user: ReadCaller, start: str | None = None, end: str | None = None) -> Response:
    """Every ledger entry between `start` and `end` (inclusive dates, YYYY-MM-DD) as CSV.

    Dates and times are in the account's time zone (default: the site's).
    """
    first, last = _date_param(start, "start"), _date_param(end, "end")
    if first and last and first > last:
        raise ValidationFailed(
            "date_range_reversed", "`start` must not be after `end`.", field="start"
        )
    zone = usage.zone_of(user.time_zone, field_name="time_zone")
    low = formatting.day_bounds(first, first, zone=zone)[0] if first else None
    high = formatting.day_bounds(last, last, zone=zone)[1] if last else None
    entries = db.call_read(ledger.statement, user_id=user.user_id, start=low, end=high)
    name = f"imgapp-statement-{first or 'start'}-to-{last or formatting.today(zone=zone)}.csv"
    return Response(
        statement_csv(entries, zone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
