"""Database engine and transactions; every SQLite/PostgreSQL difference lives here.

`transaction()` is the one unit of work: services `flush()`, the caller's
transaction commits once or rolls back. On SQLite a write transaction starts
with `BEGIN IMMEDIATE` (writers queue on the busy timeout instead of failing on
a lock upgrade); `read()` opens a deferred one that never blocks writers (WAL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from imgapp.settings import get_settings

P = ParamSpec("P")
T = TypeVar("T")

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_lock = threading.Lock()
_engine: Engine | None = None


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for any PostgreSQL URL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN, not pysqlite.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with imgapp's per-dialect settings."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000,
            },
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    global _engine  # noqa: PLW0603 - one engine per process, created lazily
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = make_engine(get_settings().effective_database_url)
    return _engine


def use_engine(engine: Engine | None) -> None:
    """Point the process at another engine (tests: a per-test database)."""
    global _engine  # noqa: PLW0603
    with _lock:
        _engine = engine


@contextmanager
def transaction() -> Iterator[Session]:
    """One write unit of work: commit on success, roll back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read() -> Iterator[Session]:
    """A read-only unit of work that never takes the SQLite write lock."""
    engine = get_engine()
    if is_sqlite(engine):
        engine = engine.execution_options(sqlite_begin="DEFERRED")
    # Closing the session rolls back the transaction it began on first use.
    with Session(engine, expire_on_commit=False) as session:
        yield session


def call(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn(session, ...)` inside one write transaction and return its result."""
    with transaction() as session:
        return fn(session, *args, **kwargs)


def call_read(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn(session, ...)` inside one read-only transaction."""
    with read() as session:
        return fn(session, *args, **kwargs)
