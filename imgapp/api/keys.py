"""`/api/keys`: the signed-in user's personal API keys (create, list, revoke).

Only a signed-in session manages keys; a key never authenticates here.
Creating one needs a re-authenticated session (`POST /api/auth/reauth`) and
answers the key itself this once.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from imgapp.api.auth import ErrorOut
from imgapp.api.deps import ClientDep, CurrentUser, SameOrigin
from imgapp.api.responses import json_object
from imgapp.core import db
from imgapp.models import ApiKey
from imgapp.services import api_keys

router = APIRouter(prefix="/api/keys", tags=["api keys"])


class KeyIn(BaseModel):
    """A new key: its name, what it may do, and for how many days (1-366)."""

    name: str = Field(examples=["nightly renders"])
    scopes: list[str] = Field(examples=[["read", "generate"]])
    expires_in_days: int = Field(default=api_keys.DEFAULT_DAYS, examples=[90])


class KeyOut(BaseModel):
    """A key as listed: never its secret."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    last_used_ip: str
    revoked_at: datetime | None
    status: str = Field(description="active, expired or revoked")


class NewKeyOut(BaseModel):
    """A key just made; `key` is shown this once."""

    id: int
    name: str
    key: str
    prefix: str
    scopes: list[str]
    expires_at: datetime


def key_out(row: ApiKey) -> KeyOut:
    """A key as the API lists it."""
    return KeyOut(
        id=row.id or 0,
        name=row.name,
        prefix=row.prefix,
        scopes=api_keys.scope_list(row),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        last_used_ip=row.last_used_ip,
        revoked_at=row.revoked_at,
        status=api_keys.status(row),
    )


@router.post(
    "",
    status_code=201,
    response_model=NewKeyOut,
    responses={
        400: {"model": ErrorOut, "description": "A field is not valid (`field` names it)"},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut, "description": "`reauth_required`: POST /api/auth/reauth"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": KeyIn.model_json_schema()}},
        }
    },
    dependencies=[SameOrigin],
)
async def create(request: Request, user: CurrentUser, client: ClientDep) -> JSONResponse:
    """Make a key with `name`, `scopes` (read, generate, pay) and `expires_in_days` (default 90)."""
    data = await json_object(request)
    made = await run_in_threadpool(
        db.call,
        api_keys.create,
        user_id=user.user_id,
        session_id=user.session_id,
        name=data.get("name"),
        scopes=data.get("scopes"),
        expires_in_days=data.get("expires_in_days"),
        ip=client.ip,
    )
    body = NewKeyOut(
        id=made.row.id or 0,
        name=made.row.name,
        key=made.key,
        prefix=made.row.prefix,
        scopes=api_keys.scope_list(made.row),
        expires_at=made.row.expires_at,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201)


@router.get("", response_model=list[KeyOut], responses={401: {"model": ErrorOut}})
def listing(user: CurrentUser) -> list[KeyOut]:
    """The user's keys, newest first, without their secrets."""
    return [key_out(k) for k in db.call_read(api_keys.list_for, user_id=user.user_id)]


@router.delete(
    "/{key_id}",
    status_code=204,
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut, "description": "Not yours"}},
    dependencies=[SameOrigin],
)
async def revoke(key_id: int, user: CurrentUser, client: ClientDep) -> Response:
    """Revoke a key: it stops working at once."""
    await run_in_threadpool(
        db.call, api_keys.revoke, user_id=user.user_id, key_id=key_id, ip=client.ip
    )
    return Response(status_code=204)
