"""Settings: one validated object read from the environment and `.env`.

Field names are the public variable names (matched case-insensitively, no
prefix). Nothing else in imgapp reads `os.environ`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values shipped for development only; production refuses to start with them.
DEV_INTERNAL_API_KEY = "dev-internal-api-key"
DEV_TASK_PROCESS_SECRET_KEY = "dev-task-process-secret-key"  # noqa: S105
DEV_SESSION_SECRET = "dev-session-secret-change-me"  # noqa: S105
DEV_CREDENTIALS_SECRET = "dev-credentials-secret-change-me"  # noqa: S105
MIN_SECRET_LENGTH = 16


class Env(StrEnum):
    """Where the app runs."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every setting imgapp reads; see `.env.example` for what each one does."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    imgapp_env: Env = Env.DEVELOPMENT
    imgapp_data_dir: Path = Path("./data")
    imgapp_port: int = Field(default=3000, ge=1, le=65535)
    imgapp_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line
    database_url: str = ""
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_max_overflow: int = Field(default=20, ge=0, le=500)
    database_pool_pre_ping: bool = False
    database_pool_recycle_seconds: int = Field(default=1800, ge=30)
    site_url: str = ""  # default: http://localhost:{IMGAPP_PORT}

    internal_api_key: SecretStr = SecretStr(DEV_INTERNAL_API_KEY)
    task_process_secret_key: SecretStr = SecretStr(DEV_TASK_PROCESS_SECRET_KEY)
    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    # Keys the hashes of personal API keys and 2FA recovery codes at rest.
    credentials_secret: SecretStr = SecretStr(DEV_CREDENTIALS_SECRET)

    credit_price_fen: int = Field(default=10, ge=1, le=100_000)
    imgapp_timezone: str = "Asia/Shanghai"

    session_max_age_days: int = Field(default=30, ge=1, le=365)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    trust_proxy_headers: bool = False
    # Largest request body accepted (413 above it); the payment webhook takes at most 64 KiB.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)

    image_provider: Literal["local", "openai"] = "local"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    image_model: str = "gpt-image-1"
    image_models: str = ""  # more models to offer, comma-separated
    prompt_max_length: int = Field(default=4000, ge=1, le=32000)
    local_render_seconds: float = Field(default=3.0, ge=0, le=120)
    # The offline renderer draws in this many child processes (0: in the task's thread).
    local_render_processes: int = Field(default=2, ge=0, le=64)
    openai_timeout_seconds: float = Field(default=120.0, gt=0)
    openai_max_retries: int = Field(default=3, ge=0, le=10)
    # Images uploaded for editing (services/uploads): bytes per file, pixels per picture,
    # and how long an upload no task used is kept before the reconciler removes it.
    upload_max_bytes: int = Field(default=10_485_760, ge=1024, le=104_857_600)
    upload_max_pixels: int = Field(default=16_777_216, ge=4096, le=80_000_000)
    upload_keep_hours: int = Field(default=24, ge=1, le=24 * 365)

    task_processor_in_app: bool = True
    task_concurrency: int = Field(default=2, ge=1, le=64)
    task_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    task_lease_seconds: int = Field(default=30, ge=3, le=3600)
    task_max_attempts: int = Field(default=3, ge=1, le=20)
    # Fair share (services/fair_share): waiting and running tasks per person (0: no cap).
    task_max_queued_per_user: int = Field(default=20, ge=0, le=10_000)
    task_max_running_per_user: int = Field(default=0, ge=0, le=1_000)
    # Task webhooks (services/webhooks, worker/webhooks): private and loopback targets
    # are refused unless allowed (development and tests); each POST's timeout; how
    # long failed deliveries are retried (exponential backoff).
    webhook_allow_private_urls: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_hours: int = Field(default=24, ge=1, le=72)
    live_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    task_progress_interval_seconds: float = Field(default=0.5, ge=0, le=10)

    xorpay_aid: str | None = None
    xorpay_app_secret: SecretStr | None = None
    xorpay_notify_url: str | None = None
    xorpay_api_base: str = "https://xorpay.com/api"
    payment_expire_seconds: int = Field(default=900, ge=60, le=7200)
    payment_reconcile_seconds: float = Field(default=60.0, ge=1, le=3600)
    payment_reconcile_after_seconds: int = Field(default=180, ge=0, le=86400)

    # Invitations (services/invites): the inviter's reward on the invitee's first recharge,
    # an optional welcome bonus at binding, caps, and the abuse guards.
    invite_reward_credits: int = Field(default=100, ge=0, le=1_000_000)
    invite_reward_percent: int = Field(default=0, ge=0, le=100)  # of the first recharge's credits
    invite_welcome_credits: int = Field(default=0, ge=0, le=1_000_000)
    invite_cap_per_day: int = Field(default=20, ge=0)  # rewards per inviter per day; 0 = no cap
    invite_cap_total: int = Field(default=500, ge=0)  # rewards per inviter ever; 0 = no cap
    invite_hold_same_ip: bool = True
    signup_limit_per_ip_per_hour: int = Field(default=10, ge=0)  # 0 = no limit

    redis_url: str | None = None
    # The cross-process event bus (core.events): auto = redis with REDIS_URL, else postgres
    # on a PostgreSQL database, else memory (this process only).
    event_bus: Literal["auto", "memory", "postgres", "redis"] = "auto"

    # Readiness (`/api/health/ready`) and metrics (`/api/metrics`).
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=30)  # per dependency check
    ready_max_heartbeat_age_seconds: int = Field(default=30, ge=5, le=3600)
    ready_max_queue_age_seconds: int = Field(default=300, ge=1)  # oldest pending task
    ready_max_queue_depth: int = Field(default=0, ge=0)  # pending tasks; 0 = no limit
    ready_min_workers: int = Field(default=0, ge=0, le=1000)  # standalone processors expected
    worker_heartbeat_seconds: float = Field(default=5.0, ge=0.5, le=300)
    # Read by prometheus-client itself from the environment (not from .env).
    prometheus_multiproc_dir: str = ""

    @field_validator("imgapp_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = "must be an IANA time zone such as Asia/Shanghai or UTC"
            raise ValueError(msg) from exc
        return value

    @property
    def timezone(self) -> ZoneInfo:
        """The zone times are shown in and dates are read in."""
        return ZoneInfo(self.imgapp_timezone)

    @model_validator(mode="after")
    def _default_site_url(self) -> Settings:
        if not self.site_url:
            self.site_url = f"http://localhost:{self.imgapp_port}"
        return self

    @field_validator("site_url", "xorpay_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            msg = "must be an http(s) URL such as http://localhost:3000"
            raise ValueError(msg)
        return value.rstrip("/")

    @property
    def is_production(self) -> bool:
        """Whether production rules (real secrets, no sandbox) apply."""
        return self.imgapp_env is Env.PRODUCTION

    @property
    def data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.imgapp_data_dir.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        """`DATABASE_URL`, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'imgapp.db'}"

    @property
    def is_postgres(self) -> bool:
        """Whether the database is PostgreSQL."""
        return self.effective_database_url.startswith(("postgresql", "postgres:"))

    @property
    def event_transport(self) -> Literal["memory", "postgres", "redis"]:
        """The event bus `EVENT_BUS` resolves to (`auto`: Redis, else PostgreSQL, else memory)."""
        if self.event_bus != "auto":
            return self.event_bus
        if self.redis_url:
            return "redis"
        return "postgres" if self.is_postgres else "memory"

    @model_validator(mode="after")
    def _event_bus_has_its_server(self) -> Settings:
        if self.event_bus == "redis" and not self.redis_url:
            msg = "EVENT_BUS=redis needs REDIS_URL"
            raise ValueError(msg)
        if self.event_bus == "postgres" and not self.is_postgres:
            msg = "EVENT_BUS=postgres needs a PostgreSQL DATABASE_URL"
            raise ValueError(msg)
        return self

    @property
    def site_origin(self) -> str:
        """Scheme and host of `SITE_URL`, as browsers send it in `Origin`."""
        parts = urlsplit(self.site_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure_cookies(self) -> bool:
        """Cookies get the Secure flag when the site is served over https."""
        return self.site_url.startswith("https://")


@dataclass(frozen=True)
class Check:
    """The verdict on one variable for `check-env`."""

    name: str
    status: Literal["ok", "missing", "insecure default", "invalid"]
    detail: str
    blocks_production: bool


_SECRETS = {
    "internal_api_key": DEV_INTERNAL_API_KEY,
    "task_process_secret_key": DEV_TASK_PROCESS_SECRET_KEY,
    "session_secret": DEV_SESSION_SECRET,
    "credentials_secret": DEV_CREDENTIALS_SECRET,
}


def _secret_check(settings: Settings, field: str, placeholder: str) -> Check:
    value = getattr(settings, field).get_secret_value()
    name = field.upper()
    if not value:
        return Check(name, "missing", "set a long random value", blocks_production=True)
    if value == placeholder:
        return Check(
            name,
            "insecure default",
            "the built-in development value; set a long random value",
            blocks_production=True,
        )
    if len(value) < MIN_SECRET_LENGTH:
        return Check(
            name,
            "insecure default",
            f"shorter than {MIN_SECRET_LENGTH} characters",
            blocks_production=True,
        )
    return Check(name, "ok", "set", blocks_production=False)


def _optional(name: str, value: object, when_missing: str) -> Check:
    if value:
        return Check(name, "ok", "set", blocks_production=False)
    return Check(name, "missing", when_missing, blocks_production=False)


def check_settings(settings: Settings) -> list[Check]:
    """Judge every variable: ok, missing, insecure default or invalid."""
    checks = [
        Check("IMGAPP_ENV", "ok", settings.imgapp_env.value, blocks_production=False),
        Check("IMGAPP_DATA_DIR", "ok", str(settings.data_dir), blocks_production=False),
        Check("IMGAPP_PORT", "ok", str(settings.imgapp_port), blocks_production=False),
    ]
    if settings.database_url:
        checks.append(Check("DATABASE_URL", "ok", "set", blocks_production=False))
    else:
        checks.append(
            Check(
                "DATABASE_URL",
                "missing",
                f"using the embedded SQLite file {settings.effective_database_url}",
                blocks_production=False,
            )
        )
    site_local = urlsplit(settings.site_url).hostname in {"localhost", "127.0.0.1"}
    checks.append(
        Check(
            "SITE_URL",
            "insecure default" if site_local else "ok",
            settings.site_url,
            blocks_production=site_local,
        )
    )
    checks.extend(_secret_check(settings, f, p) for f, p in _SECRETS.items())
    checks.append(Check("IMAGE_PROVIDER", "ok", settings.image_provider, blocks_production=False))
    if settings.image_provider == "openai":
        has_key = settings.openai_api_key and settings.openai_api_key.get_secret_value()
        checks.append(
            Check("OPENAI_API_KEY", "ok", "set", blocks_production=False)
            if has_key
            else Check(
                "OPENAI_API_KEY",
                "missing",
                "IMAGE_PROVIDER=openai needs a key",
                blocks_production=True,
            )
        )
    else:
        checks.append(
            _optional(
                "OPENAI_API_KEY",
                settings.openai_api_key,
                "not needed by the local renderer",
            )
        )
    checks.append(
        _optional("OPENAI_BASE_URL", settings.openai_base_url, "the official OpenAI endpoint")
    )
    checks.append(Check("IMAGE_MODEL", "ok", settings.image_model, blocks_production=False))
    xorpay_set = bool(settings.xorpay_aid and settings.xorpay_app_secret)
    for name, value in (
        ("XORPAY_AID", settings.xorpay_aid),
        ("XORPAY_APP_SECRET", settings.xorpay_app_secret),
        ("XORPAY_NOTIFY_URL", settings.xorpay_notify_url),
    ):
        checks.append(
            Check(name, "ok", "set", blocks_production=False)
            if value
            else Check(
                name,
                "missing",
                "payments use the offline sandbox gateway",
                blocks_production=True,
            )
        )
    checks.append(
        Check(
            "XORPAY_API_BASE",
            "ok",
            settings.xorpay_api_base,
            blocks_production=False,
        )
    )
    if (
        xorpay_set
        and settings.xorpay_notify_url
        and not settings.xorpay_notify_url.startswith("https://")
    ):
        checks.append(
            Check(
                "XORPAY_NOTIFY_URL",
                "invalid",
                "must be a public https URL ending in /api/payments/webhook",
                blocks_production=True,
            )
        )
    checks.append(
        _optional(
            "REDIS_URL",
            settings.redis_url,
            "single process: in-memory events and state",
        )
    )
    checks.append(Check("LOG_FORMAT", "ok", settings.log_format, blocks_production=False))
    checks.append(
        _optional(
            "PROMETHEUS_MULTIPROC_DIR",
            settings.prometheus_multiproc_dir,
            "metrics are per process (each process answers its own /api/metrics)",
        )
    )
    checks.append(
        Check(
            "EVENT_BUS",
            "ok",
            _EVENT_BUS_DETAIL[settings.event_transport],
            blocks_production=False,
        )
    )
    return checks


_EVENT_BUS_DETAIL = {
    "memory": "memory: events reach this process's pages only",
    "postgres": "postgres: LISTEN/NOTIFY on DATABASE_URL, across processes",
    "redis": "redis: pub/sub on REDIS_URL, across processes",
}


def production_problems(settings: Settings) -> list[Check]:
    """The checks that make a production start unsafe (empty outside production)."""
    if not settings.is_production:
        return []
    return [c for c in check_settings(settings) if c.blocks_production and c.status != "ok"]


class UnsafeProductionSettingsError(SystemExit):
    """Production refuses to start with missing or default secrets."""


def assert_startable(settings: Settings) -> None:
    """Refuse to start in production with a default or missing secret, naming it."""
    problems = production_problems(settings)
    if problems:
        lines = "\n".join(f"  {c.name}: {c.status} ({c.detail})" for c in problems)
        msg = (
            "imgapp refuses to start in production with these settings:\n"
            f"{lines}\nRun `python -m imgapp check-env` for the full report."
        )
        raise UnsafeProductionSettingsError(msg)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call `get_settings.cache_clear()`)."""
    return Settings()
