"""`/api/auth/2fa/*`, `/api/auth/reauth`: two-factor sign-in and re-authentication (session only).

The order of a setup: `POST /2fa/setup` gives a secret and its `otpauth://`
URI (show it as a QR code); `POST /2fa/enable {"code"}` with a code from the
app turns it on and answers the 10 recovery codes, once. Turning it off and
new recovery codes need a re-authenticated session: `POST /reauth
{"password", "code"}` (the code only with 2FA on) counts for 10 minutes;
`/2fa/disable` also takes the password and code in its own body. These routes
never accept an API key.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from imgapp.api.auth import ErrorOut
from imgapp.api.deps import ClientDep, CurrentUser, SameOrigin
from imgapp.flows import security

router = APIRouter(prefix="/api/auth", tags=["two-factor"], dependencies=[SameOrigin])

_SIGNED_IN = {401: {"model": ErrorOut, "description": "Not signed in"}}
_REAUTH = {403: {"model": ErrorOut, "description": "`reauth_required`: POST /api/auth/reauth"}}


class SetupOut(BaseModel):
    """A pending secret: type it into the app, or show the URI as a QR code."""

    secret: str
    otpauth_uri: str


class CodeIn(BaseModel):
    """A 6-digit code from the authenticator app."""

    code: str = Field(examples=["123456"])


class RecoveryCodesOut(BaseModel):
    """Ten single-use recovery codes, shown this once."""

    recovery_codes: list[str]


class ReauthIn(BaseModel):
    """The password, and with 2FA on a code (from the app, or a recovery code)."""

    password: str
    code: str = ""


class ReauthOut(BaseModel):
    """Until when sensitive actions need no new confirmation."""

    until: datetime


class DisableIn(BaseModel):
    """Optional when the session re-authenticated in the last 10 minutes."""

    password: str = ""
    code: str = ""


@router.post("/2fa/setup", response_model=SetupOut, responses={**_SIGNED_IN, 409: {}})
async def setup(user: CurrentUser) -> SetupOut:
    """Start (or restart) setting up two-factor sign-in; nothing changes until `enable`."""
    found = await run_in_threadpool(security.start_two_factor, user_id=user.user_id)
    return SetupOut(secret=found.secret, otpauth_uri=found.otpauth_uri)


@router.post(
    "/2fa/enable",
    response_model=RecoveryCodesOut,
    responses={**_SIGNED_IN, 400: {"model": ErrorOut, "description": "Wrong code"}, 409: {}},
)
async def enable(body: CodeIn, user: CurrentUser, client: ClientDep) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with a code from the app; answers the recovery codes once."""
    codes = await run_in_threadpool(
        security.enable_two_factor, user_id=user.user_id, code=body.code, ip=client.ip
    )
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/2fa/recovery-codes",
    response_model=RecoveryCodesOut,
    responses={**_SIGNED_IN, **_REAUTH, 409: {"description": "Two-factor sign-in is off"}},
)
async def regenerate(user: CurrentUser, client: ClientDep) -> RecoveryCodesOut:
    """Ten new recovery codes; the old ones stop working. Needs a re-authenticated session."""
    codes = await run_in_threadpool(
        security.regenerate_recovery_codes,
        user_id=user.user_id,
        session_id=user.session_id,
        ip=client.ip,
    )
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/2fa/disable",
    responses={**_SIGNED_IN, **_REAUTH, 400: {}, 409: {}, 429: {}},
)
async def disable(
    user: CurrentUser, client: ClientDep, body: DisableIn | None = None
) -> dict[str, bool]:
    """Turn two-factor sign-in off: with `password` and `code` here, or after `/reauth`."""
    given = body or DisableIn()
    await run_in_threadpool(
        security.disable_two_factor,
        user_id=user.user_id,
        session_id=user.session_id,
        password=given.password,
        code=given.code,
        ip=client.ip,
    )
    return {"ok": True}


@router.post(
    "/reauth",
    response_model=ReauthOut,
    responses={
        **_SIGNED_IN,
        400: {"model": ErrorOut, "description": "Wrong password or code"},
        429: {"model": ErrorOut, "description": "Too many failed attempts"},
    },
)
async def reauth(body: ReauthIn, user: CurrentUser, client: ClientDep) -> ReauthOut:
    """Confirm the password (and code) again: sensitive actions are open for 10 minutes."""
    until = await run_in_threadpool(
        security.reauthenticate,
        user_id=user.user_id,
        session_id=user.session_id,
        password=body.password,
        code=body.code,
        ip=client.ip,
    )
    return ReauthOut(until=until)
