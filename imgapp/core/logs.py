"""Log output: text or one JSON object per line (`LOG_FORMAT`), and the request id.

`REQUEST_ID` holds the id of the request being served (`api/telemetry.py`
sets it); every line logged while serving it carries it, threads the request
hands work to included (asyncio and anyio copy the context). JSON lines are
`{"time", "level", "logger", "message", "request_id"?, "exception"?, ...}`;
a record's `extra` fields join them.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from imgapp.core.settings import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("imgapp_request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it is a plain token (a proxy's or a client's); else a new one.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Servers that log through handlers of their own: in JSON mode they go through ours.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "granian", "_granian")


def accept_request_id(presented: str | None) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a new random id."""
    if presented and _SANE_REQUEST_ID.fullmatch(presented):
        return presented
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record (`record.request_id`) when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Never drops a record; only adds the id."""
        request_id = REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time (ISO, UTC), level, logger, message, extras, exception."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        timestamp="time",
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        json_ensure_ascii=False,
    )


def handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler in the configured format that knows the request id."""
    made = logging.StreamHandler(stream or sys.stderr)
    made.setFormatter(json_formatter() if settings.log_format == "json" else _text())
    made.addFilter(RequestIdFilter())
    return made


def _text() -> logging.Formatter:
    return logging.Formatter(TEXT_FORMAT)


def configure(settings: Settings, *, standalone: bool = False) -> None:
    """Set up logging for this process.

    imgapp's loggers log at `IMGAPP_LOG_LEVEL`. With `LOG_FORMAT=json` the root
    logger (and the web servers' own loggers) write JSON lines to stderr. With
    text, a standalone process (`python -m imgapp.worker`) gets a text handler;
    the app leaves the root logger to the server that runs it.
    """
    logging.getLogger("imgapp").setLevel(settings.imgapp_log_level)
    if settings.log_format != "json" and not standalone:
        return
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_imgapp", False) or settings.log_format == "json":
            root.removeHandler(old)
    ours = handler(settings)
    ours._imgapp = True  # type: ignore[attr-defined]  # noqa: SLF001 - ours, replaced on reconfigure
    root.addHandler(ours)
    if standalone:  # as `logging.basicConfig(level=...)` did: other libraries' lines too
        root.setLevel(settings.imgapp_log_level)
    if settings.log_format == "json":
        for name in _SERVER_LOGGERS:
            server_log = logging.getLogger(name)
            server_log.handlers.clear()
            server_log.propagate = True
