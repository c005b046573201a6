"""Fixtures: a migrated template database cloned per test, on SQLite or PostgreSQL.

`IMGAPP_TEST_DB=sqlite` (default) or `postgresql` picks the database for the
whole run; `make test` runs the suite once with each. PostgreSQL is a real
server started here and stopped at the end, and so is Redis (`redis_server`,
for the event bus tests). Nothing is mocked: API tests
speak HTTP to a server on loopback, browser tests drive Debian Chromium
against the app started the way `make run` starts it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

_TMP = Path(tempfile.mkdtemp(prefix="imgapp-test-"))
# Settings the whole run shares; set before imgapp reads them.
os.environ.pop("DATABASE_URL", None)
os.environ.update(
    {
        "IMGAPP_ENV": "development",
        "IMGAPP_DATA_DIR": str(_TMP / "data"),
        "SESSION_SECRET": "test-session-secret-0123456789",
        "CREDENTIALS_SECRET": "test-credentials-secret-0123456789",
        "INTERNAL_API_KEY": "test-internal-api-key-0123456789",
        "TASK_PROCESS_SECRET_KEY": "test-task-process-key-0123456789",
        # Every test user signs up from 127.0.0.1; the limit has tests of its own.
        "SIGNUP_LIMIT_PER_IP_PER_HOUR": "0",
    }
)

from imgapp.core import db, migrations  # noqa: E402 - after the environment above
from imgapp.core.settings import get_settings  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS  # noqa: E402
from tests.support.pg import PostgresServer  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.servers import ApiServer, AppProcess  # noqa: E402

DB_KIND = os.environ.get("IMGAPP_TEST_DB", "sqlite")
# The production shape's tests start `make run-prod` (PostgreSQL only): a pass of their own.
collect_ignore = [] if os.environ.get("IMGAPP_TEST_SHAPE") == "production" else ["prod"]
if DB_KIND not in {"sqlite", "postgresql"}:
    msg = f"IMGAPP_TEST_DB must be sqlite or postgresql, not {DB_KIND!r}"
    raise RuntimeError(msg)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast tests first, the browser tests (which build and start the app) last."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def pytest_report_header() -> str:
    """Say which database this run uses."""
    return f"imgapp database: {DB_KIND}"


class Databases:
    """Makes databases for tests: blank, or cloned from a migrated template."""

    def __init__(self, pg: PostgresServer | None) -> None:
        """Remember the server (None on SQLite) and migrate the template once."""
        self.pg = pg
        self._names = itertools.count(1)
        self.template_url = self.blank("template")
        migrations.upgrade(self.template_url)

    @property
    def kind(self) -> str:
        """`sqlite` or `postgresql`."""
        return "postgresql" if self.pg else "sqlite"

    def _name(self, prefix: str) -> str:
        return f"{prefix}_{next(self._names)}"

    def blank(self, prefix: str = "blank") -> str:
        """An empty database; returns its URL."""
        name = self._name(prefix)
        if self.pg:
            return self.pg.create_database(name)
        return f"sqlite:///{_TMP / (name + '.db')}"

    def migrated(self, prefix: str = "test") -> str:
        """A database at `head`, cloned from the template."""
        name = self._name(prefix)
        if self.pg:
            template = self.template_url.rsplit("/", 1)[1]
            return self.pg.create_database(name, template=template)
        path = _TMP / (name + ".db")
        shutil.copyfile(self.template_url.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        """Remove a database made here."""
        if self.pg:
            self.pg.drop_database(url.rsplit("/", 1)[1])
            return
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    """The run's database factory (starts PostgreSQL when the run uses it)."""
    pg = PostgresServer().start() if DB_KIND == "postgresql" else None
    try:
        yield Databases(pg)
    finally:
        if pg:
            pg.stop()
        shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis server on a free loopback port, started on first use, for the whole run."""
    server = RedisServer().start()
    yield server
    server.remove()


@pytest.fixture
def database_url(databases: Databases) -> Iterator[str]:
    """A fresh migrated database for one test."""
    url = databases.migrated()
    yield url
    db.use_engine(None)
    databases.drop(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[object]:
    """The test's database as the process-wide engine (the API server uses it too)."""
    engine = db.make_engine(database_url)
    db.use_engine(engine)
    yield engine
    db.use_engine(None)
    engine.dispose()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Change settings for one test: `configure(SESSION_MAX_AGE_DAYS="1")`."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def api_server() -> Iterator[ApiServer]:
    """The API served on a loopback port for the whole run."""
    from imgapp.api.app import create_api  # noqa: PLC0415

    server = ApiServer(create_api()).start()
    yield server
    server.stop()


def _origin(server: ApiServer) -> dict[str, str]:
    return {"origin": server.url}


@pytest.fixture
def client(api_server: ApiServer, engine: object) -> Iterator[httpx.Client]:
    """An HTTP client (with its own cookie jar) for the API, on this test's database."""
    # A browser names its Origin on every POST; cookie requests without one are refused.
    with httpx.Client(base_url=api_server.url, timeout=30, headers=_origin(api_server)) as http:
        yield http


@pytest.fixture
def new_client(api_server: ApiServer, engine: object) -> Iterator[Callable[[], httpx.Client]]:
    """Make more clients (other browsers) on the same database."""
    made: list[httpx.Client] = []

    def make() -> httpx.Client:
        http = httpx.Client(base_url=api_server.url, timeout=30, headers=_origin(api_server))
        made.append(http)
        return http

    yield make
    for http in made:
        http.close()


@pytest.fixture(scope="session")
def app_server(databases: Databases) -> Iterator[AppProcess]:
    """The product served as `make run` serves it, on its own migrated database."""
    url = databases.migrated("e2e")
    # Trusted proxy headers let a browser context stand for another network
    # (X-Forwarded-For), as the invite tests need: every context is on 127.0.0.1.
    app = AppProcess(
        database_url=url, data_dir=_TMP / "e2e-data", extra_env={"TRUST_PROXY_HEADERS": "true"}
    ).start()
    yield app
    app.stop()
    databases.drop(url)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, driven by Playwright."""
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415

    # Assertions wait up to 15 s (Playwright's default is 5): on a busy 2-core CI
    # machine a password change (argon2 twice) has taken longer than 5 s.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def browser_context(browser: object) -> Iterator[object]:
    """A fresh browser profile (cookies, storage) for one test."""
    context = browser.new_context(locale="zh-CN")  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    yield context
    context.close()
