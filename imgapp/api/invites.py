"""`/api/invites`: the signed-in user's code, link and invitees; binding a code; the manual reward.

`POST /api/invites/reward` is the seed's internal path (the shared secret, as
for `/api/billing/deduct`); the others act for the signed-in user. An API key
with `read` may see the overview, but binding takes the session: it is a
one-time, irreversible choice of who earns from this account's first recharge,
made by the person at sign-up, and a leaked automation key must not make it.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from imgapp.api.deps import ClientDep, CurrentUser, ReadCaller, SameOrigin
from imgapp.api.internal import InternalKey
from imgapp.api.responses import json_object, request_lang
from imgapp.core import db, i18n, routes
from imgapp.flows import invites as invite_flow
from imgapp.gateways import invite_poster
from imgapp.services import invites
from imgapp.services.errors import ValidationFailed
from imgapp.services.invites.offer import offer_text

router = APIRouter(prefix="/api/invites", tags=["invites"])


class InviteeOut(BaseModel):
    """One person the user invited (email masked)."""

    email: str
    joined: datetime
    first_recharge: datetime | None
    status: str = Field(description="pending, rewarded, held or rejected")
    reason: str
    reward: int


class InvitesOut(BaseModel):
    """The user's code, link, sums and invitees."""

    code: str
    link: str
    stats: dict[str, int]
    invitees: list[InviteeOut]
    invited_by: str = Field(description="who invited this user (masked email), or empty")
    bind_until: datetime | None = Field(
        description="until when this user may still add an invite code; null once they may not"
    )


class BindIn(BaseModel):
    """A code to bind to (within 7 days of sign-up, before the first recharge)."""

    invite_code: str = Field(examples=["7KQ2MX9P"])


class RewardIn(BaseModel):
    """Whose inviter to reward now."""

    invitee_id: int


class RewardOut(BaseModel):
    """The reward as it stands after the call."""

    invitee_id: int
    inviter_id: int
    status: str
    credits: int
    replayed: bool


def overview_out(found: invites.Overview) -> InvitesOut:
    """An overview as the API answers it."""
    return InvitesOut(
        code=found.code,
        link=routes.invite_link(found.code),
        stats=found.stats,
        invited_by=found.invited_by,
        bind_until=found.bind_until,
        invitees=[
            InviteeOut(
                email=i.email,
                joined=i.joined_at,
                first_recharge=i.first_recharge_at,
                status=i.status,
                reason=i.reason,
                reward=i.reward,
            )
            for i in found.invitees
        ],
    )


@router.get("", response_model=InvitesOut, responses={401: {"description": "Sign in"}})
def overview(user: ReadCaller) -> InvitesOut:
    """The user's invite code and link, the sums, and everyone who signed up with it."""
    return overview_out(db.call(invites.overview, user_id=user.user_id))


@router.get(
    "/poster.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 401: {"description": "Sign in"}},
)
async def poster(request: Request, user: CurrentUser, lang: str = "") -> Response:
    """The user's invite poster: the offer, the QR code of the link and the code, as a PNG.

    `lang` (`zh` or `en`) chooses its language; without it, the browser's Accept-Language.
    """
    lang = i18n.normalize_lang(lang) if lang else request_lang(request)
    found = await run_in_threadpool(db.call, invites.overview, user_id=user.user_id)
    text = invite_poster.PosterText(
        title=i18n.text("app.name", lang),
        offer=offer_text(lang),
        scan=i18n.text("invite.poster_scan", lang),
        code_label=i18n.text("invite.code_label", lang),
        code=found.code,
        link=routes.invite_link(found.code),
    )
    png = await run_in_threadpool(invite_poster.render, text)
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": f'attachment; filename="imgapp-invite-{found.code}.png"',
            "Cache-Control": "private, no-cache",
        },
    )


@router.post(
    "/register",
    status_code=201,
    responses={400: {}, 401: {}, 409: {"description": "Already bound to an inviter"}},
    dependencies=[SameOrigin],
)
async def bind(request: Request, user: CurrentUser, client: ClientDep) -> JSONResponse:
    """Bind the signed-in user to the owner of `invite_code`."""
    data = await json_object(request)
    relation = await run_in_threadpool(
        invite_flow.bind,
        invitee_id=user.user_id,
        code=data.get("invite_code"),
        ip=client.ip,
    )
    return JSONResponse(
        {"inviter_id": relation.inviter_id, "status": relation.status}, status_code=201
    )


@router.post(
    "/reward",
    response_model=RewardOut,
    responses={401: {}, 404: {"description": "Nobody invited this user"}},
    dependencies=[InternalKey],
)
async def reward(request: Request) -> RewardOut:
    """Grant the invitee's inviter the reward now; a repeat answers the same, crediting nothing."""
    data = await json_object(request)
    invitee_id = data.get("invitee_id")
    if isinstance(invitee_id, bool) or not isinstance(invitee_id, int) or invitee_id < 1:
        raise ValidationFailed(
            "field_not_id", "`invitee_id` must be a user id.", field="invitee_id"
        )
    granted = await run_in_threadpool(invite_flow.grant_now, invitee_id=invitee_id)
    return RewardOut(
        invitee_id=granted.invitee_id,
        inviter_id=granted.inviter_id,
        status=granted.status,
        credits=granted.credits,
        replayed=granted.replayed,
    )
