"""`/api/auth/sessions`: the signed-in person's sessions, and ending them.

`GET` lists every usable session with its device (parsed user agent), address,
times and which one is this browser; `DELETE /{id}` ends one (204; an id that
is not one of yours is 404), `POST /revoke-others` ends all but this one.
Both are audited and announced to open pages (`flows.sessions`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from imgapp.api.deps import ClientDep, CurrentUser, SameOrigin
from imgapp.core import db
from imgapp.flows import sessions as session_flow
from imgapp.services import devices, sessions

router = APIRouter(prefix="/api/auth/sessions", tags=["auth"])


class SessionOut(BaseModel):
    """One signed-in browser; labels are "" when its user agent does not say."""

    id: int
    device: str = Field(examples=["iPhone"])
    browser: str = Field(examples=["Chrome 120"])
    os: str = Field(examples=["Windows 10"])
    ip: str
    created_at: str = Field(description="ISO 8601, UTC")
    last_active_at: str = Field(description="ISO 8601, UTC")
    current: bool = Field(description="this browser's own session")


class SessionsOut(BaseModel):
    """The person's usable sessions, this one first."""

    sessions: list[SessionOut]


class RevokedOut(BaseModel):
    """How many sessions ended."""

    revoked: int


@router.get("", response_model=SessionsOut, responses={401: {}})
def list_sessions(user: CurrentUser) -> SessionsOut:
    """Every session that can still be used, with device, browser, OS, address and times."""
    found = db.call_read(
        devices.list_for_user, user_id=user.user_id, current_session_id=user.session_id
    )
    return SessionsOut(sessions=[SessionOut.model_validate(v.as_dict()) for v in found])


@router.delete(
    "/{session_id}",
    status_code=204,
    responses={401: {}, 403: {}, 404: {"description": "not one of your sessions"}},
    dependencies=[SameOrigin],
)
async def revoke_session(session_id: int, user: CurrentUser, client: ClientDep) -> Response:
    """Sign one of your sessions out (this one too: then this browser is signed out)."""
    await run_in_threadpool(
        session_flow.revoke_session,
        user_id=user.user_id,
        session_id=session_id,
        acting_session_id=user.session_id,
        ip=client.ip,
    )
    response = Response(status_code=204)
    if session_id == user.session_id:
        response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


@router.post(
    "/revoke-others",
    response_model=RevokedOut,
    responses={401: {}, 403: {}},
    dependencies=[SameOrigin],
)
async def revoke_others(user: CurrentUser, client: ClientDep) -> RevokedOut:
    """Sign out every session but this one."""
    ended = await run_in_threadpool(
        session_flow.revoke_other_sessions,
        user_id=user.user_id,
        keep_session_id=user.session_id,
        ip=client.ip,
    )
    return RevokedOut(revoked=len(ended))
