"""JSON error bodies for the API: `{"error": message, "code": code}`."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from imgapp.core.i18n import Lang
from imgapp.services.errors import TooManyAttempts, describe


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
    return response
