"""Task webhooks for API callers: the signing secret, and each task's delivery log.

`GET /api/webhooks/secret` shows the person's `whsec_` secret (the signed-in
session only: an API key cannot read what verifies it); `POST
/api/webhooks/secret/rotate` makes a new one after a re-authentication.
`GET /api/generate-image/{id}/webhooks` lists a task's messages: event,
`webhook-id`, status, tries, the last answer and the next try.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from imgapp.api.auth import ErrorOut
from imgapp.api.deps import ClientDep, CurrentUser, ReadCaller, SameOrigin
from imgapp.core import db
from imgapp.flows import webhooks as webhook_flow
from imgapp.services import webhooks

router = APIRouter(tags=["webhooks"])


class SecretOut(BaseModel):
    """The secret your task webhooks are signed with (Standard Webhooks)."""

    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class DeliveryOut(BaseModel):
    """One webhook message of a task and how its delivery went."""

    webhook_id: str
    event: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_status_code: int | None
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="While pending: the next try")
    delivered_at: datetime | None


@router.get(
    "/api/webhooks/secret",
    response_model=SecretOut,
    responses={401: {"model": ErrorOut}},
)
async def secret(user: CurrentUser) -> SecretOut:
    """Your signing secret (made on first use)."""
    return SecretOut(secret=await run_in_threadpool(webhook_flow.secret, user_id=user.user_id))


@router.post(
    "/api/webhooks/secret/rotate",
    response_model=SecretOut,
    dependencies=[SameOrigin],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut, "description": "`reauth_required`: POST /api/auth/reauth"},
    },
)
async def rotate(user: CurrentUser, client: ClientDep) -> SecretOut:
    """A new signing secret; deliveries from now on (retries too) are signed with it."""
    new = await run_in_threadpool(
        lambda: webhook_flow.rotate_secret(
            user_id=user.user_id, session_id=user.session_id, ip=client.ip
        )
    )
    return SecretOut(secret=new)


@router.get(
    "/api/generate-image/{task_id}/webhooks",
    response_model=list[DeliveryOut],
    responses={404: {}},
)
def deliveries(task_id: int, user: ReadCaller) -> list[DeliveryOut]:
    """The task's webhook messages, oldest first: its delivery log."""
    found = db.call_read(webhooks.log_of, task_id=task_id, user_id=user.user_id)
    return [
        DeliveryOut(
            webhook_id=d.message_id,
            event=d.event,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            delivered_at=d.delivered_at,
        )
        for d in found
    ]
