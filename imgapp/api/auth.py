"""`/api/auth/*`: sign-up, sign-in, sign-out and who-am-i.

Each route answers two kinds of caller. A browser form (urlencoded) gets a
303 redirect (to `next` on success, back to the form with an error code on
failure) so the next page load carries the new cookie. A script sending JSON
gets JSON: 201/200 on success, `{"error", "code"}` with 400/401/409/429.

With two-factor sign-in on, `login` also needs `otp` (a current code from the
app or a recovery code). Without it the answer is 401 `otp_required` (a form:
303 to `/login?error=otp_required&email=...&next=...`, so the page shows a
code field and posts email, password and `otp` again) and no session opens.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from imgapp.api.deps import ClientDep, CurrentUser, SameOrigin, session_token
from imgapp.api.responses import error_response, request_lang
from imgapp.core import db, routes
from imgapp.core.settings import get_settings
from imgapp.flows import accounts as account_flow
from imgapp.flows import sessions as session_flow
from imgapp.models import User
from imgapp.services import accounts, sessions
from imgapp.services.errors import ImgappError, TooManyAttempts, ValidationFailed, describe

router = APIRouter(prefix="/api/auth", tags=["auth"])


class RegisterIn(BaseModel):
    """Sign-up form. The password needs at least 8 characters."""

    email: str = Field(examples=["ada@example.com"])
    password: str = Field(min_length=8, examples=["correct horse battery"])
    display_name: str = ""
    invite_code: str = Field(default="", description="an inviter's code: /register?invite=CODE")
    next: str = "/"


class LoginIn(BaseModel):
    """Sign-in form."""

    email: str = Field(examples=["ada@example.com"])
    password: str
    otp: str = Field(
        default="",
        description="with two-factor sign-in on: the app's 6-digit code or a recovery code",
    )
    next: str = "/"


class UserOut(BaseModel):
    """The signed-in user as the API shows it."""

    id: int
    email: str
    display_name: str


class AuthOut(BaseModel):
    """Answer to a successful sign-up or sign-in (the cookie carries the session)."""

    user: UserOut


class ErrorOut(BaseModel):
    """Every API error has this shape."""

    error: str
    code: str


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }


_ERRORS = {
    400: {"model": ErrorOut, "description": "Invalid input"},
    429: {"model": ErrorOut, "description": "Too many failed attempts"},
}


def _bad_request(detail: str, field: str | None = None) -> ValidationFailed:
    return ValidationFailed("bad_request", detail, field=field, detail=detail)


async def _read_body(request: Request) -> tuple[bool, dict[str, Any]]:
    """(is_browser_form, fields). A body that is neither a form nor a JSON object is refused."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return True, {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        data = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_request("Send a JSON object or a form.") from exc
    if not isinstance(data, dict):
        raise _bad_request("Send a JSON object or a form.")
    return False, data


def _text_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad_request(f"`{name}` must be a string.", field=name)
    return value


def _user_out(user: User) -> dict[str, Any]:
    return AuthOut(
        user=UserOut(id=user.id or 0, email=user.email, display_name=user.display_name)
    ).model_dump()


def _signed_in(
    form: bool, data: dict[str, Any], user: User, token: str, *, status: int
) -> Response:
    """Success: a form goes on to `next`, a script gets the user; both get the cookie."""
    if form:
        response: Response = RedirectResponse(
            routes.safe_next(_safe_str(data.get("next"))), status_code=303
        )
    else:
        response = JSONResponse(_user_out(user), status_code=status)
    _set_session_cookie(response, token)
    return response


def _set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        sessions.COOKIE_NAME,
        token,
        max_age=settings.session_max_age_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _form_failure(page: str, exc: ImgappError, data: dict[str, Any]) -> RedirectResponse:
    public = describe(exc)
    params = {"error": public.code, "email": _safe_str(data.get("email"))[:254]}
    if isinstance(exc, TooManyAttempts):
        params["minutes"] = str(exc.params.get("minutes", ""))
    target = routes.safe_next(_safe_str(data.get("next")))
    if target != routes.DASHBOARD:
        params["next"] = target
    invite = _safe_str(data.get("invite_code")).strip()[:16]
    if invite:
        params["invite"] = invite  # the sign-up page shows the code again, to fix or keep
    return RedirectResponse(routes.with_query(page, **params), status_code=303)


def _safe_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _failure(
    request: Request, form: bool, page: str, exc: ImgappError, data: dict[str, Any]
) -> Response:
    if form:
        return _form_failure(page, exc, data)
    response = error_response(exc, request_lang(request))
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.post(
    "/register",
    status_code=201,
    response_model=AuthOut,
    responses={
        **_ERRORS,
        409: {"model": ErrorOut, "description": "Email already registered"},
    },
    openapi_extra=_body_doc(RegisterIn),
    dependencies=[SameOrigin],
)
async def register(request: Request, client: ClientDep) -> Response:
    """Create an account and sign in (sets the HttpOnly session cookie)."""
    form, data = await _read_body(request)
    try:
        account = await run_in_threadpool(
            accounts.prepare_registration,
            email=_text_field(data, "email"),
            password=_text_field(data, "password"),
            display_name=_text_field(data, "display_name"),
        )
        user, token = await run_in_threadpool(
            account_flow.sign_up,
            account=account,
            ip=client.ip,
            user_agent=client.user_agent,
            invite_code=_text_field(data, "invite_code") or None,
        )
    except ImgappError as exc:
        return _failure(request, form, routes.REGISTER, exc, data)
    return _signed_in(form, data, user, token, status=201)


@router.post(
    "/login",
    response_model=AuthOut,
    responses={
        **_ERRORS,
        401: {
            "model": ErrorOut,
            "description": "Wrong email or password (`invalid_credentials`), a code is needed"
            " (`otp_required`) or wrong (`otp_invalid`)",
        },
    },
    openapi_extra=_body_doc(LoginIn),
    dependencies=[SameOrigin],
)
async def login(request: Request, client: ClientDep) -> Response:
    """Sign in with email, password and, with 2FA on, `otp` (sets the HttpOnly session cookie)."""
    form, data = await _read_body(request)
    try:
        email, password = _text_field(data, "email"), _text_field(data, "password")
        otp = _text_field(data, "otp")
    except ImgappError as exc:
        return _failure(request, form, routes.LOGIN, exc, data)
    check = await run_in_threadpool(
        db.call_read,
        accounts.check_sign_in,
        email=email,
        password=password,
        ip=client.ip,
        otp=otp,
    )
    result = await run_in_threadpool(
        db.call,
        accounts.finish_sign_in,
        check=check,
        ip=client.ip,
        user_agent=client.user_agent,
    )
    if result.error is not None or result.user is None or result.token is None:
        return _failure(request, form, routes.LOGIN, result.error or ImgappError(), data)
    await run_in_threadpool(session_flow.after_sign_in, token=result.token)  # new device? tell
    return _signed_in(form, data, result.user, result.token, status=200)


@router.post("/logout", dependencies=[SameOrigin])
async def logout(request: Request, client: ClientDep) -> Response:
    """Sign out this browser: the session is revoked and the cookie cleared."""
    content_type = request.headers.get("content-type", "")
    form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    await run_in_threadpool(
        db.call, sessions.revoke_token, token=session_token(request), ip=client.ip
    )
    if form:
        response: Response = RedirectResponse(
            routes.with_query(routes.LOGIN, signed_out="1"), status_code=303
        )
    else:
        response = JSONResponse({"ok": True})
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


@router.get("/me", response_model=UserOut, responses={401: {"model": ErrorOut}})
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut(id=user.user_id, email=user.email, display_name=user.display_name)
