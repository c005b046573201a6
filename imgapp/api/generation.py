"""`/api/generate-image`: submit, inspect, list and cancel generation tasks.

For the signed-in session or an API key: `generate` to submit and cancel,
`read` to look.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.formparsers import MultiPartException

from imgapp.api.deps import GenerateCaller, ReadCaller
from imgapp.api.responses import json_object, request_lang
from imgapp.core import db, i18n, routes
from imgapp.flows import tasks as task_flow
from imgapp.gateways import providers
from imgapp.models.tasks import ACTIVE
from imgapp.services import generation, history, task_views, usage, webhooks
from imgapp.services.errors import ValidationFailed
from imgapp.state import standings

router = APIRouter(prefix="/api/generate-image", tags=["generation"])


class GenerateIn(BaseModel):
    """A generation request. Only `prompt` is required."""

    prompt: str = Field(examples=["a lighthouse at dusk, oil painting"])
    negative_prompt: str | None = None
    model: str | None = None
    size: str | None = Field(default=None, examples=["1024x1024"])
    n: int | None = Field(default=None, ge=1, le=4)
    quality: str | None = Field(default=None, examples=["standard"])
    style: str | None = None
    request_id: str | None = Field(default=None, description="the same id twice = one task")
    webhook_url: str | None = Field(
        default=None,
        description="Where to POST this task's events (signed per Standard Webhooks with your"
        " secret from /security).",
    )
    webhook_events: list[str] | None = Field(
        default=None, description="Any of start, progress, completed (default: completed)."
    )


class AcceptedOut(BaseModel):
    """The task as accepted (and charged)."""

    task_id: int
    status: str
    cost: int
    balance: int


def _accepted(submitted: task_flow.Outcome) -> JSONResponse:
    """202 with the task as accepted and the balance after its charge."""
    body = AcceptedOut(
        task_id=submitted.task_id,
        status=submitted.snapshot["status"],
        cost=submitted.snapshot["cost"],
        balance=submitted.balance,
    )
    return JSONResponse(body.model_dump(), status_code=202)


class ImageOut(BaseModel):
    """One image of a task; `url` serves it to its owner only; `share_url` to anyone."""

    id: int
    url: str
    share_url: str | None = Field(
        default=None, description="Its public link, when you shared it (PUT .../share)."
    )


class TaskOut(BaseModel):
    """A task's state."""

    task_id: int
    status: str
    progress: int
    message: str
    prompt: str
    negative_prompt: str
    model: str
    size: str
    n: int
    quality: str
    style: str
    provider: str
    cost: int
    refunded: int
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancelled_at: datetime | None
    images: list[ImageOut]
    favourite: bool = False
    webhook_url: str | None = None
    webhook_events: list[str] = Field(default_factory=list)
    source_image_url: str | None = Field(
        default=None, description="An edit: the uploaded picture it started from (owner only)."
    )
    mask_url: str | None = Field(default=None, description="An edit's mask, if it had one.")
    queue_position: int | None = Field(
        default=None,
        description="While waiting: its place in the queue, 1 = starts next (null otherwise).",
    )
    eta_seconds: int | None = Field(
        default=None,
        description=(
            "While waiting or running: seconds until it should be done, from the measured"
            " durations of recent tasks like it (null when none has been measured yet)."
        ),
    )


class CancelIn(BaseModel):
    """Which task to cancel."""

    task_id: int


class CancelOut(BaseModel):
    """A cancelled task and the credits returned."""

    status: str
    refunded: int


_SHAPED = frozenset({"images", "webhook_url", "webhook_events"})  # written out by `task_out`


def task_out(snapshot: dict[str, Any], lang: str) -> TaskOut:
    """A task snapshot as the API shows it, its message in the caller's language."""
    key = snapshot["message_key"]
    message = i18n.text(key, lang, **snapshot["message_params"]) if key else ""
    source, mask = snapshot.get("source_upload_id"), snapshot.get("mask_upload_id")
    shares = snapshot.get("image_shares") or {}
    return TaskOut(
        task_id=snapshot["id"],
        message=message,
        images=[
            ImageOut(
                id=i,
                url=f"/api/images/{i}",
                share_url=routes.share_url(token) if (token := shares.get(str(i))) else None,
            )
            for i in snapshot["image_ids"]
        ],
        source_image_url=routes.upload_url(source) if source else None,
        webhook_url=snapshot.get("webhook_url"),
        webhook_events=[e for e in str(snapshot.get("webhook_events") or "").split(",") if e],
        mask_url=routes.upload_url(mask) if mask else None,
        **{k: snapshot[k] for k in TaskOut.model_fields if k in snapshot and k not in _SHAPED},
    )


def _submit(user_id: int, data: dict[str, Any]) -> task_flow.Outcome:
    params = generation.validate(data)
    request_id = generation.request_id(data.get("request_id"))
    return task_flow.submit(
        user_id=user_id,
        params=params,
        provider=providers.configured_name(),
        request_id=request_id,
        webhook=webhooks.check_target(data.get("webhook_url"), data.get("webhook_events")),
    )


@router.post(
    "",
    status_code=202,
    response_model=AcceptedOut,
    responses={400: {}, 401: {}, 402: {"description": "Not enough credits"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": GenerateIn.model_json_schema()}},
        }
    },
)
async def submit(request: Request, user: GenerateCaller) -> JSONResponse:
    """Queue a generation task; its cost is charged now and refunded if it fails or is cancelled."""
    data = await json_object(request)
    submitted = await run_in_threadpool(_submit, user.user_id, data)
    return _accepted(submitted)


def _with_standing(session: Session, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each active task's queue position and ETA added to its snapshot."""
    if not any(s["status"] in ACTIVE for s in found):
        return found
    placed = standings.outlook(session)
    return [
        {**s, "queue_position": p.position, "eta_seconds": p.eta_seconds}
        if (p := placed.get(int(s["id"]))) is not None
        else s
        for s in found
    ]


_EDIT_FIELDS = ("prompt", "negative_prompt", "model", "size", "n", "quality", "style")


async def _edit_form(request: Request) -> tuple[dict[str, Any], bytes, bytes | None]:
    """The multipart form of an edit: its text fields, the picture, the optional mask."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise ValidationFailed(
            "edit_not_multipart",
            "Send an edit as multipart/form-data: the picture as the `image` file.",
        )
    try:
        form = await request.form(max_files=2, max_fields=20)
    except (HTTPException, MultiPartException) as exc:
        raise ValidationFailed(
            "edit_form_invalid", "The multipart form could not be read.", detail=str(exc)
        ) from None
    fields: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for name, value in form.multi_items():
        if isinstance(value, StarletteUploadFile):
            if name in {"image", "mask"}:
                files[name] = await value.read()
        elif name == "webhook_events":  # repeated, or one comma-separated field
            fields.setdefault(name, []).extend(value.split(","))
        elif name in (*_EDIT_FIELDS, "request_id", "webhook_url"):
            fields[name] = int(value) if name == "n" and value.isdigit() else value
    await form.close()
    if "image" not in files:
        raise ValidationFailed(
            "upload_missing", "Attach the picture to edit as the `image` file.", field="image"
        )
    return fields, files["image"], files.get("mask")


def _submit_edit(
    user_id: int, fields: dict[str, Any], image: bytes, mask: bytes | None
) -> task_flow.Outcome:
    params = generation.validate(fields)  # the form first: a bad field keeps no picture
    webhooks.check_target(fields.get("webhook_url"), fields.get("webhook_events"))
    return task_flow.submit_edit(
        user_id=user_id,
        params=params,
        provider=providers.configured_name(),
        image=image,
        mask=mask,
        request_id=generation.request_id(fields.get("request_id")),
        webhook=webhooks.check_target(fields.get("webhook_url"), fields.get("webhook_events")),
    )


@router.post(
    "/edits",
    status_code=202,
    response_model=AcceptedOut,
    responses={
        400: {"description": "A field, the picture or the mask is not acceptable"},
        401: {},
        402: {"description": "Not enough credits"},
        404: {},
        413: {"description": "Over twice UPLOAD_MAX_BYTES"},
        429: {"description": "Too many of your tasks are waiting"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["image", "prompt"],
                        "properties": {
                            "image": {
                                "type": "string",
                                "format": "binary",
                                "description": "PNG, JPEG or WebP (judged by content).",
                            },
                            "mask": {
                                "type": "string",
                                "format": "binary",
                                "description": "PNG with transparency where the edit may paint;"
                                " the picture's size.",
                            },
                            **{
                                name: {"type": "integer" if name == "n" else "string"}
                                for name in (*_EDIT_FIELDS, "request_id", "webhook_url")
                            },
                        },
                    }
                }
            },
        }
    },
)
async def edit(request: Request, user: GenerateCaller) -> JSONResponse:
    """Edit an uploaded picture (optionally only where a mask is transparent).

    Priced like any task (size, quality, count); charged now, refunded if it
    fails or is cancelled. The picture is judged by its content before
    anything is charged, and kept without its metadata.
    """
    fields, image, mask = await _edit_form(request)
    submitted = await run_in_threadpool(_submit_edit, user.user_id, fields, image, mask)
    return _accepted(submitted)


class HistoryQuery(BaseModel):
    """The history's query parameters; each is checked by the history service, which names it."""

    q: str | None = Field(None, description="words to find in the prompt (all of them)")
    status: str | None = Field(None, description="pending, processing, completed, failed, …")
    model: str | None = None
    size: str | None = Field(None, examples=["1024x1024"])
    start: str | None = Field(None, alias="from", description="first local day, YYYY-MM-DD")
    end: str | None = Field(None, alias="to", description="the day after the last, YYYY-MM-DD")
    favourite: str | None = Field(None, description="true: starred tasks only")
    page: str | None = Field(None, description="1 (default) and on")
    limit: int = Field(30, description="tasks per page, at most 100")


def _history(user_id: int, filters: history.Filters) -> tuple[list[dict[str, Any]], int]:
    with db.read() as session:
        found = history.page(session, user_id=user_id, filters=filters)
        return _with_standing(session, task_views.snapshots(session, found.tasks)), found.total


def _page_link(request: Request, page: int) -> str:
    return str(request.url.include_query_params(page=page))


@router.get(
    "",
    response_model=list[TaskOut],
    responses={
        200: {
            "headers": {
                "X-Total-Count": {"description": "How many tasks match, on every page"},
                "Link": {"description": 'rel="next" / rel="prev" pages (RFC 8288)'},
            }
        },
        400: {},
    },
)
def recent(
    request: Request, response: Response, user: ReadCaller, query: Annotated[HistoryQuery, Query()]
) -> list[TaskOut]:
    """The user's tasks, newest first (at most 100 a page): searched and filtered.

    `q` finds every word in the prompt (any case); `status`, `model`, `size`;
    `from`/`to` are local dates in the account's zone (`to` not included);
    `favourite=true` keeps the starred ones. The total is in `X-Total-Count`,
    the neighbouring pages in `Link`.
    """
    lang = request_lang(request)
    filters = history.check_filters(
        {
            **query.model_dump(by_alias=True, exclude={"limit"}),
            "per_page": max(1, min(query.limit, history.PER_PAGE_MAX)),
        },
        zone=usage.zone_of(user.time_zone),
    )
    found, total = _history(user.user_id, filters)
    pages = max(1, -(-total // filters.per_page))
    response.headers["X-Total-Count"] = str(total)
    links = []
    if filters.page < pages:
        links.append(f'<{_page_link(request, filters.page + 1)}>; rel="next"')
    if filters.page > 1:
        links.append(f'<{_page_link(request, filters.page - 1)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return [task_out(s, lang) for s in found]


def _one(user_id: int, task_id: int) -> dict[str, Any]:
    with db.read() as session:
        task = task_views.get(session, task_id=task_id, user_id=user_id)
        return _with_standing(session, task_views.snapshots(session, [task]))[0]


@router.get("/{task_id}", response_model=TaskOut, responses={404: {}})
def get_task(task_id: int, request: Request, user: ReadCaller) -> TaskOut:
    """One of the user's tasks (404 for anyone else's)."""
    return task_out(_one(user.user_id, task_id), request_lang(request))


class FavouriteOut(BaseModel):
    """A task's star."""

    task_id: int
    favourite: bool


async def _star(task_id: int, user_id: int, *, favourite: bool) -> FavouriteOut:
    await run_in_threadpool(
        functools.partial(
            task_flow.set_favourite, task_id=task_id, user_id=user_id, favourite=favourite
        )
    )
    return FavouriteOut(task_id=task_id, favourite=favourite)


@router.put("/{task_id}/favourite", response_model=FavouriteOut, responses={404: {}})
async def star(task_id: int, user: GenerateCaller) -> FavouriteOut:
    """Star one of your tasks (the history's favourites)."""
    return await _star(task_id, user.user_id, favourite=True)


@router.delete("/{task_id}/favourite", response_model=FavouriteOut, responses={404: {}})
async def unstar(task_id: int, user: GenerateCaller) -> FavouriteOut:
    """Take the star off one of your tasks."""
    return await _star(task_id, user.user_id, favourite=False)


@router.delete(
    "/{task_id}",
    status_code=204,
    responses={404: {}, 409: {"description": "Still waiting or running: cancel it first"}},
)
async def delete_task(task_id: int, user: GenerateCaller) -> Response:
    """Delete a finished task: its images are removed; what it cost stays in the ledger."""
    await run_in_threadpool(
        functools.partial(task_flow.delete, task_id=task_id, user_id=user.user_id)
    )
    return Response(status_code=204)


@router.post(
    "/{task_id}/retry",
    status_code=202,
    response_model=AcceptedOut,
    responses={400: {}, 402: {}, 404: {}, 429: {}},
)
async def retry(task_id: int, request: Request, user: GenerateCaller) -> JSONResponse:
    """Run a failed or cancelled task again as a new task with its settings (charged anew).

    An optional JSON body `{"request_id": ...}`: the same id twice makes one task.
    """
    data = await json_object(request) if (await request.body()).strip() else {}
    submitted = await run_in_threadpool(
        functools.partial(
            task_flow.retry,
            task_id=task_id,
            user_id=user.user_id,
            provider=providers.configured_name(),
            request_id=generation.request_id(data.get("request_id")),
        )
    )
    return _accepted(submitted)


@router.post(
    "/cancel",
    response_model=CancelOut,
    responses={404: {"description": "No such task of yours"}, 409: {"description": "Finished"}},
)
async def cancel(body: CancelIn, user: GenerateCaller) -> CancelOut:
    """Cancel a queued or running task; its cost comes back once."""
    cancelled = await run_in_threadpool(
        task_flow.cancel, task_id=body.task_id, user_id=user.user_id
    )
    return CancelOut(status="cancelled", refunded=cancelled.refunded)
