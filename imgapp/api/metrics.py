"""`GET /api/metrics`: Prometheus text (internal: the `INTERNAL_API_KEY` secret).

The counters and histograms are `core.metrics`'; the queue and processor
gauges are read from the database at each scrape.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client.metrics_core import Metric
from sqlalchemy.exc import SQLAlchemyError

from imgapp.api.internal import InternalKey
from imgapp.core import db, metrics
from imgapp.core.settings import get_settings
from imgapp.models.base import utcnow
from imgapp.services import heartbeats, task_views

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["internal"])


def _database_gauges() -> list[Metric]:
    max_age = get_settings().ready_max_heartbeat_age_seconds
    with db.read() as session:
        now = utcnow()
        summary = task_views.pending_summary(session)
        alive = heartbeats.alive(session, since=now - timedelta(seconds=max_age))
    return [
        metrics.gauge("imgapp_queue_depth", "Tasks waiting for a processor.", summary.depth),
        metrics.gauge(
            "imgapp_queue_oldest_pending_seconds",
            "How long the longest-waiting pending task has waited.",
            summary.oldest_age_seconds(now),
        ),
        metrics.gauge(
            "imgapp_processors_alive",
            "Task processors that polled within READY_MAX_HEARTBEAT_AGE_SECONDS.",
            len(alive),
        ),
    ]


@router.get("/metrics", dependencies=[InternalKey], response_class=Response)
async def scrape() -> Response:
    """Every counter and histogram, and the queue gauges (left out while the database is down)."""
    try:
        gauges = await asyncio.wait_for(
            asyncio.to_thread(_database_gauges), get_settings().ready_timeout_seconds
        )
    except (SQLAlchemyError, TimeoutError) as exc:
        log.warning(
            "metrics: queue gauges left out, the database did not answer (%s)", type(exc).__name__
        )
        gauges = []
    return Response(metrics.exposition(gauges), media_type=metrics.CONTENT_TYPE)
