"""Service errors -> HTTP status and user-facing message, in one table.

The only place an exception becomes something a person reads. Unknown
exceptions become a generic 500 message; their details go to the log only.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgapp import i18n
from imgapp.services.errors import (
    AuthError,
    BadInternalKey,
    Conflict,
    CrossSiteRequest,
    EmailTaken,
    IdempotencyConflict,
    ImgappError,
    InsufficientCredits,
    InvalidCredentials,
    NotFound,
    NotSignedIn,
    PaymentGatewayFailed,
    PermissionDenied,
    RefundExceedsCharge,
    TaskFinished,
    TooManyAttempts,
    ValidationFailed,
    WrongPassword,
)

STATUS: dict[type[ImgappError], int] = {
    ImgappError: 400,
    ValidationFailed: 400,
    NotFound: 404,
    Conflict: 409,
    EmailTaken: 409,
    IdempotencyConflict: 409,
    RefundExceedsCharge: 409,
    TaskFinished: 409,
    InsufficientCredits: 402,
    PaymentGatewayFailed: 502,
    AuthError: 401,
    InvalidCredentials: 401,
    WrongPassword: 400,
    NotSignedIn: 401,
    BadInternalKey: 401,
    TooManyAttempts: 429,
    PermissionDenied: 403,
    CrossSiteRequest: 403,
}


@dataclass(frozen=True)
class PublicError:
    """What a person (or an API client) is told."""

    status: int
    code: str
    message: str
    field: str | None = None


def describe(exc: BaseException, lang: str | None = "en") -> PublicError:
    """Map an exception to its status and message; the most specific class wins."""
    if not isinstance(exc, ImgappError):
        return PublicError(500, "error", i18n.text("error.error", lang))
    status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 400)
    code = exc.rule if isinstance(exc, ValidationFailed) else exc.code
    key = exc.message_key
    message = i18n.text(key, lang, **exc.params) if key in i18n.CATALOG else str(exc)
    field = exc.field if isinstance(exc, ValidationFailed) else None
    return PublicError(status, code, message, field)
