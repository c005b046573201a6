"""JSON in and out of the API: request bodies as objects, errors as `{"error", "code"}`."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from imgapp.core.i18n import Lang
from imgapp.services.errors import (
    ServiceUnavailable,
    TooManyAttempts,
    ValidationFailed,
    describe,
    is_database_outage,
)


async def json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object, or `ValidationFailed` (400) saying to send one."""
    try:
        data = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ValidationFailed("bad_request", "Send a JSON object.", detail="Send a JSON object.")
    return data


def request_lang(request: Request) -> Lang:
    """Chinese when the caller asks for it first, English otherwise."""
    accept = request.headers.get("accept-language", "").strip().lower()
    return "zh" if accept.startswith("zh") else "en"


def error_response(exc: BaseException, lang: Lang = "en") -> JSONResponse:
    """The JSON answer for an exception, status from the one error table."""
    public = describe(exc, lang)
    body: dict[str, str] = {"error": public.message, "code": public.code}
    if public.field:
        body["field"] = public.field
    response = JSONResponse(body, status_code=public.status)
    if isinstance(exc, TooManyAttempts):  # e.g. re-authentication after too many failures
        response.headers["Retry-After"] = str(exc.retry_after)
    elif is_database_outage(exc):  # 503: the database is down or restarting
        response.headers["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response
