"""The domain's exceptions. Each class's docstring is its default message.

ImgappError
 ├── ValidationFailed        bad input; `code` names the rule, `field` the input
 ├── NotFound                no such thing, or not yours
 ├── Conflict
 │    ├── EmailTaken
 │    ├── IdempotencyConflict   a key reused for a different movement
 │    ├── TaskFinished          cancel after the end
 │    ├── TaskStillActive       delete before the end (cancel first)
 │    ├── RefundExceedsCharge
 │    ├── TwoFactorAlreadyOn    setting up two-factor sign-in twice
 │    └── TwoFactorOff          turning off (or regenerating codes of) what is not on
 ├── InsufficientCredits       carries `balance` and `needed`
 ├── QueueFull                 a submit over the per-user cap of waiting tasks (`limit`)
 ├── AuthError
 │    ├── InvalidCredentials
 │    ├── WrongPassword      the current password, asked again before a sensitive change
 │    ├── NotSignedIn
 │    ├── BadInternalKey     an internal API call without the shared secret
 │    ├── TooManyAttempts    carries `retry_after` seconds
 │    ├── OtpRequired        the password was right; two-factor sign-in needs a code too
 │    ├── InvalidOtp         a wrong, reused or stale 2FA or recovery code (400)
 │    │    └── SignInOtpInvalid   the same at sign-in (401)
 │    ├── ApiKeyInvalid      an unknown `Authorization: Bearer` key
 │    │    ├── ApiKeyRevoked
 │    │    └── ApiKeyExpired
 │    └── ApiKeyNotAccepted  a key where only a signed-in session will do
 ├── PermissionDenied
 │    ├── CrossSiteRequest  a browser form or script on another site
 │    ├── ReauthRequired    a sensitive action without a recent re-authentication
 │    └── ScopeMissing      an API key without the scope the route needs
 ├── BodyTooLarge           a request body over MAX_BODY_BYTES
 ├── ServiceUnavailable     the database cannot be reached (503; `describe` maps
 │                          SQLAlchemy's connection errors to it)
 └── PaymentGatewayFailed    the payment provider refused the order or did not answer
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.exc import DBAPIError, OperationalError

from imgapp.core import i18n


class ImgappError(Exception):
    """Something went wrong."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str | None = None, **params: Any) -> None:
        """Keep `params` for the message catalogue; default message is the docstring."""
        self.params = params
        super().__init__(message or (type(self).__doc__ or "").strip())

    @property
    def message_key(self) -> str:
        """The catalogue key the UI translates this error with."""
        return f"error.{self.code}"


class ValidationFailed(ImgappError):
    """The input is not valid."""

    code = "validation"

    def __init__(self, rule: str, message: str, *, field: str | None = None, **params: Any) -> None:
        """`rule` is a catalogue key suffix, such as `email_invalid`."""
        super().__init__(message, **params)
        self.rule = rule
        self.field = field

    @property
    def message_key(self) -> str:
        """Validation messages are keyed by the rule that failed."""
        return f"error.{self.rule}"


class NotFound(ImgappError):
    """Not found."""

    code = "not_found"


class Conflict(ImgappError):
    """That conflicts with what is already there."""

    code = "conflict"


class EmailTaken(Conflict):
    """An account with this email already exists. Sign in instead."""

    code = "email_taken"


class AuthError(ImgappError):
    """Authentication failed."""

    code = "auth"


class InvalidCredentials(AuthError):
    """Wrong email or password."""

    code = "invalid_credentials"


class WrongPassword(AuthError):
    """The current password is not right."""

    code = "wrong_password"


class NotSignedIn(AuthError):
    """Please sign in."""

    code = "not_signed_in"


class BadInternalKey(AuthError):
    """Missing or wrong internal API key."""

    code = "internal_key"


class TooManyAttempts(AuthError):
    """Too many failed sign-ins. Wait a few minutes and try again."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        """`retry_after` is how many seconds until a new attempt is allowed."""
        super().__init__(None, minutes=max(1, -(-retry_after // 60)))
        self.retry_after = retry_after


class TooManySignups(TooManyAttempts):
    """Too many accounts were created from this address. Try again later."""

    code = "too_many_signups"


class OtpRequired(AuthError):
    """Enter the 6-digit code from your authenticator app, or one of your recovery codes."""

    code = "otp_required"


class InvalidOtp(AuthError):
    """That code is not right. Use the current code from your app, or an unused recovery code."""

    code = "otp_invalid"


class SignInOtpInvalid(InvalidOtp):
    """That code is not right. Use the current code from your app, or an unused recovery code."""

    code = "otp_invalid"


class ApiKeyInvalid(AuthError):
    """This API key is not valid."""

    code = "api_key_invalid"


class ApiKeyRevoked(ApiKeyInvalid):
    """This API key has been revoked."""

    code = "api_key_revoked"


class ApiKeyExpired(ApiKeyInvalid):
    """This API key has expired."""

    code = "api_key_expired"


class ApiKeyNotAccepted(AuthError):
    """API keys cannot be used here. Sign in with your password instead."""

    code = "api_key_not_accepted"


class PermissionDenied(ImgappError):
    """You are not allowed to do that."""

    code = "permission_denied"


class CrossSiteRequest(PermissionDenied):
    """This request came from another site and was refused."""

    code = "cross_site"


class ReauthRequired(PermissionDenied):
    """Confirm your password (and your 2FA code) again to do this."""

    code = "reauth_required"


class ScopeMissing(PermissionDenied):
    """This API key does not have the scope this needs."""

    code = "scope_missing"

    def __init__(self, scope: str) -> None:
        """`scope` is the one the route needs."""
        super().__init__(f"This API key does not have the `{scope}` scope.", scope=scope)
        self.scope = scope


class TwoFactorAlreadyOn(Conflict):
    """Two-factor sign-in is already on."""

    code = "two_factor_on"


class TwoFactorOff(Conflict):
    """Two-factor sign-in is not on."""

    code = "two_factor_off"


class BodyTooLarge(ImgappError):
    """The request is too large."""

    code = "body_too_large"

    def __init__(self, *, limit_kb: int) -> None:
        """`limit_kb` is the most the request may carry, in KiB."""
        super().__init__(None, limit_kb=limit_kb)


class ServiceUnavailable(ImgappError):
    """The service is briefly unavailable. Try again in a moment."""

    code = "unavailable"
    retry_after = 5


class IdempotencyConflict(Conflict):
    """This idempotency key was already used for a different operation."""

    code = "idempotency_conflict"


class TaskStillActive(Conflict):
    """This task is still waiting or running: cancel it first, then delete it."""

    code = "task_active"


class RefundExceedsCharge(Conflict):
    """The refund is larger than what is left of the charge."""

    code = "refund_exceeds_charge"


class InsufficientCredits(ImgappError):
    """You do not have enough credits for this."""

    code = "insufficient_credits"

    def __init__(self, *, balance: int, needed: int) -> None:
        """`balance` is what the account holds, `needed` what was asked for."""
        super().__init__(None, balance=balance, needed=needed)
        self.balance = balance
        self.needed = needed


class QueueFull(ImgappError):
    """You have too many tasks waiting."""

    code = "queue_full"

    def __init__(self, *, limit: int) -> None:
        """`limit` is how many waiting tasks one person may have."""
        super().__init__(None, limit=limit)
        self.limit = limit


class TaskFinished(Conflict):
    """This task has already finished and can no longer be cancelled."""

    code = "task_finished"

    def __init__(self, status: str) -> None:
        """`status` is how it finished."""
        super().__init__(None, status=status)
        self.status = status


class PaymentGatewayFailed(ImgappError):
    """The payment provider did not take the order."""

    code = "payment_gateway"

    def __init__(self, *, gateway_status: str, key: str, order_id: str, retryable: bool) -> None:
        """`key` is the message for the payer; `retryable` when trying again may help."""
        super().__init__(None, order_id=order_id)
        self.gateway_status = gateway_status
        self.key = key
        self.order_id = order_id
        self.retryable = retryable

    @property
    def message_key(self) -> str:
        """What the gateway's answer means for the payer."""
        return self.key


# How each error is told to a person (or an API client): the one place an
# exception becomes something a person reads. Unknown exceptions become a
# generic 500 message; their details go to the log only.
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
    QueueFull: 429,
    PaymentGatewayFailed: 502,
    AuthError: 401,
    InvalidCredentials: 401,
    WrongPassword: 400,
    NotSignedIn: 401,
    BadInternalKey: 401,
    TooManyAttempts: 429,
    OtpRequired: 401,
    InvalidOtp: 400,
    SignInOtpInvalid: 401,
    ApiKeyInvalid: 401,
    ApiKeyNotAccepted: 401,
    PermissionDenied: 403,
    CrossSiteRequest: 403,
    ReauthRequired: 403,
    ScopeMissing: 403,
    TwoFactorAlreadyOn: 409,
    TwoFactorOff: 409,
    BodyTooLarge: 413,
    ServiceUnavailable: 503,
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
    if is_database_outage(exc):
        exc = ServiceUnavailable()
    if not isinstance(exc, ImgappError):
        return PublicError(500, "error", i18n.text("error.error", lang))
    status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 400)
    code = exc.rule if isinstance(exc, ValidationFailed) else exc.code
    key = exc.message_key
    message = i18n.text(key, lang, **exc.params) if key in i18n.CATALOG else str(exc)
    field = exc.field if isinstance(exc, ValidationFailed) else None
    return PublicError(status, code, message, field)


def is_database_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached (down, restarting, cut off)."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
