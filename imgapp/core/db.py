"""Database engine and transactions; every SQLite/PostgreSQL difference lives here.

`transaction()` is the one unit of work: services `flush()`, the caller's
transaction commits once or rolls back. On SQLite a write transaction starts
with `BEGIN IMMEDIATE` (writers queue on the busy timeout instead of failing on
a lock upgrade); `read()` opens a deferred one that never blocks writers (WAL).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    BigInteger,
    Dialect,
    Engine,
    Row,
    Table,
    TextClause,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from imgapp.core.settings import get_settings

P = ParamSpec("P")
T = TypeVar("T")

_log = logging.getLogger(__name__)
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
    settings = get_settings()
    # Pre-ping costs a round trip and ~0.2 ms of CPU per transaction; without it
    # a connection broken by a database restart fails one request, then the
    # pool is discarded and rebuilt. Recycling retires connections regardless.
    kwargs.setdefault("pool_pre_ping", settings.database_pool_pre_ping)
    kwargs.setdefault("pool_size", settings.database_pool_size)
    kwargs.setdefault("max_overflow", settings.database_max_overflow)
    kwargs.setdefault("pool_recycle", settings.database_pool_recycle_seconds)
    return create_engine(url, **kwargs)


class InsertUnlessExists:
    """INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING ..., built once per dialect.

    Execute with a dict of column values; answers the RETURNING row, or None
    when a row with that unique value exists. On PostgreSQL a concurrent,
    uncommitted insert of the same value makes it wait for that transaction.
    Building a statement costs far more than running it, hence once, up front.
    """

    def __init__(self, table: Table, *, unique: str, returning: Sequence[str]) -> None:
        """Prepare the statement for both dialects."""
        columns = [table.c[name] for name in returning]
        self._statements = {
            "postgresql": pg_insert(table)
            .on_conflict_do_nothing(index_elements=[unique])
            .returning(*columns),
            "sqlite": sqlite_insert(table)
            .on_conflict_do_nothing(index_elements=[unique])
            .returning(*columns),
        }

    def __call__(self, session: Session, values: dict[str, Any]) -> Row[Any] | None:
        """Insert `values`; None when the unique value was already there."""
        statement = self._statements[session.get_bind().dialect.name]
        return session.execute(statement, values).first()


class DriverStatement:
    """A statement run straight on the session's DB-API connection, in its transaction.

    Skips SQLAlchemy's execution layer (about 0.2 ms of CPU per call), for the
    few statements on a hot path. Compiled once per dialect; rows come back as
    plain tuples, parameters go to the driver as given.
    """

    def __init__(self, statement: TextClause) -> None:
        """Keep the statement; it is compiled on first use for each dialect."""
        self._statement = statement
        self._compiled: dict[str, str] = {}

    def sql(self, dialect: Dialect) -> str:
        """The statement as the driver takes it for `dialect`."""
        sql = self._compiled.get(dialect.name)
        if sql is None:
            sql = self._compiled[dialect.name] = str(self._statement.compile(dialect=dialect))
        return sql

    def first(self, session: Session, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Execute with `params` in the session's transaction and return the first row."""
        connection = session.connection()  # joins (or begins) the session's transaction
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql(connection.dialect), params)
            return cursor.fetchone()
        finally:
            cursor.close()


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """Whole seconds since 1970-01-01 UTC of a UTC timestamp column, on either database."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_pg(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text (models.base.UTCDateTime); strftime reads it as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


class StatementRefused(Exception):
    """The database refused a statement run by `run_alone` (an integrity error): it did nothing."""


_autocommit_engines: dict[int, tuple[Engine, Engine]] = {}


def _autocommit_twin(engine: Engine) -> Engine:
    """A second pool on the same database whose connections autocommit, made once per engine.

    No transaction is ever open on them, so the pool skips the reset (a
    ROLLBACK) when a connection comes back; disposed with its engine.
    """
    known = _autocommit_engines.get(id(engine))
    if known is None or known[0] is not engine:  # ids are reused after an engine is gone
        with _lock:
            twin = create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,
                pool_size=engine.pool.size(),  # type: ignore[attr-defined]
                max_overflow=engine.pool._max_overflow,  # type: ignore[attr-defined]  # noqa: SLF001
                pool_recycle=engine.pool._recycle,  # noqa: SLF001
                pool_pre_ping=engine.pool._pre_ping,  # noqa: SLF001
            )
            event.listen(engine, "engine_disposed", lambda _engine: twin.dispose())
            known = _autocommit_engines[id(engine)] = (engine, twin)
    return known[1]


def run_alone(statement: DriverStatement, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run one statement as a transaction of its own and return its first row.

    The statement goes to a pooled DB-API connection in autocommit mode: one
    round trip, no Session or Connection around it (a third of the client CPU
    of `call`). A single statement is atomic, so it commits whole or not at
    all; an integrity error (say, a UNIQUE key taken) raises `StatementRefused`.
    PostgreSQL only: SQLite's writers take `BEGIN IMMEDIATE` through `call`.
    """
    engine = _autocommit_twin(get_engine())
    pooled = engine.raw_connection()
    try:
        cursor = pooled.cursor()
        try:
            cursor.execute(statement.sql(engine.dialect), params)
            return cursor.fetchone()
        except engine.dialect.loaded_dbapi.IntegrityError as exc:
            raise StatementRefused(str(exc)) from exc
        finally:
            cursor.close()
    finally:
        pooled.close()


def copy_csv(
    statement: Executable, *, time_zone: str, chunk_bytes: int = 1 << 16
) -> Iterator[bytes]:
    """PostgreSQL writes `statement`'s rows as CSV itself (`COPY (...) TO STDOUT`), streamed.

    Runs in a read-only transaction of its own whose TimeZone is `time_zone`,
    so `to_char` writes local times. Chunks of about `chunk_bytes` come out as
    the server sends them: memory stays flat whatever the size. PostgreSQL only.
    """
    engine = get_engine()
    compiled = statement.compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    pooled = engine.raw_connection()
    try:
        cursor = pooled.cursor()
        cursor.execute("SET TRANSACTION READ ONLY")
        cursor.execute("SELECT set_config('TimeZone', %s, true)", (time_zone,))
        buffer = bytearray()
        with cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)", compiled.params) as copy:
            for data in copy:
                buffer += data
                if len(buffer) >= chunk_bytes:
                    yield bytes(buffer)
                    buffer.clear()
        if buffer:
            yield bytes(buffer)
    finally:
        pooled.rollback()
        pooled.close()


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


_AFTER_COMMIT = "imgapp.after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once `session`'s transaction has committed (never if it rolls back).

    For what must only count when it happened (metrics); `callback` must be
    quick and must not touch the database.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:  # noqa: BLE001 - committed already: a callback must not undo that
            _log.exception("after-commit callback failed")


@contextmanager
def transaction() -> Iterator[Session]:
    """One write unit of work: commit on success, roll back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        with session.begin():
            yield session
        _run_after_commit(session)


@contextmanager
def read() -> Iterator[Session]:
    """A read-only unit of work that never takes the SQLite write lock."""
    engine = get_engine()
    if is_sqlite(engine):
        engine = _deferred(engine)
    # Closing the session rolls back the transaction it began on first use.
    with Session(engine, expire_on_commit=False) as session:
        yield session


_deferred_engines: dict[int, tuple[Engine, Engine]] = {}


def _deferred(engine: Engine) -> Engine:
    """The engine's read-only twin on SQLite (BEGIN DEFERRED), made once per engine."""
    known = _deferred_engines.get(id(engine))
    if known is None or known[0] is not engine:  # ids are reused after an engine is gone
        known = _deferred_engines[id(engine)] = (
            engine,
            engine.execution_options(sqlite_begin="DEFERRED"),
        )
    return known[1]


def call(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn(session, ...)` inside one write transaction and return its result."""
    with transaction() as session:
        return fn(session, *args, **kwargs)


def call_read(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn(session, ...)` inside one read-only transaction."""
    with read() as session:
        return fn(session, *args, **kwargs)
