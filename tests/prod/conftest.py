"""The production shape for this folder's tests: one `make run-prod` for the whole run.

These tests run in their own pass (`scripts/test.sh`, after the SQLite and
PostgreSQL passes; `IMGAPP_TEST_SHAPE=production`), as the shape is
PostgreSQL-only and builds the frontend itself. Knobs that make faults quick
to see: leases of 6 s (a killed worker's task is reclaimed soon), images drawn
in 1 s each.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.prod_shape import ProdShape
from tests.support.shape_client import ShapeUser

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def shape(request: pytest.FixtureRequest) -> Iterator[ProdShape]:
    """PostgreSQL + Redis + nginx + 2 app processes + 2 workers, as `make run-prod` runs them."""
    data_dir = Path(tempfile.mkdtemp(prefix="imgapp-shape-"))
    running = ProdShape(
        data_dir=data_dir,
        extra_env={
            "TASK_LEASE_SECONDS": "6",
            "LOCAL_RENDER_SECONDS": "1",
            "SIGNUP_LIMIT_PER_IP_PER_HOUR": "0",
        },
    ).start()
    yield running
    running.stop()
    if request.session.testsfailed:  # the logs say what happened: keep them
        print(f"\nproduction shape's logs kept in {data_dir}/prod/log")  # noqa: T201
    else:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def shape_user(shape: ProdShape) -> Iterator[ShapeUser]:
    """A signed-in person with 1000 credits, speaking HTTP through nginx."""
    user = ShapeUser.sign_up(shape)
    user.recharge("100.00", via=shape.app_urls()[0])
    yield user
    user.close()
