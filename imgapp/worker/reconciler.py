"""The reconciliation job: an APScheduler loop in the app that settles pending recharge orders.

The same scheduler sweeps, once an hour, uploaded pictures no task used
within `UPLOAD_KEEP_HOURS` (flows/uploads.sweep).

Every `PAYMENT_RECONCILE_SECONDS` it asks the gateway (query2) about orders
pending for more than `PAYMENT_RECONCILE_AFTER_SECONDS`: a paid one is
credited exactly once, through the same code as the webhook; one past its
expiry is marked expired. Either way the owner's open pages are told.
`python -m imgapp payments reconcile` runs the same round over every pending
order, whatever its age.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from imgapp.core.settings import get_settings
from imgapp.flows import recharge, uploads

UPLOAD_SWEEP_SECONDS = 3600  # uploads no task used are kept UPLOAD_KEEP_HOURS (>= 1 h)

log = logging.getLogger(__name__)


def run_once(*, older_than: timedelta | None) -> recharge.Reconciliation:
    """One round with the configured gateway (announced to open pages by the flow); logged."""
    report = recharge.reconcile(older_than=older_than)
    if report.credited or report.expired or report.failed:
        log.info(
            "reconciliation: %d checked, credited %s, expired %s, failed %s",
            report.checked,
            report.credited,
            report.expired,
            report.failed,
        )
    return report


async def _sweep_uploads() -> None:
    try:
        if removed := await asyncio.to_thread(uploads.sweep):
            log.info("removed %d uploaded pictures no task used", removed)
    except Exception:
        log.exception("sweeping unused uploads failed; the next round retries")


async def _round() -> None:
    after = timedelta(seconds=get_settings().payment_reconcile_after_seconds)
    try:
        await asyncio.to_thread(run_once, older_than=after)
    except Exception:
        log.exception("reconciliation round failed; the next one retries")


@contextlib.asynccontextmanager
async def in_app(app: object) -> AsyncIterator[None]:  # noqa: ARG001 - Reflex passes its app
    """The Reflex lifespan task: reconcile on a schedule while the app serves."""
    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        _round,
        "interval",
        seconds=get_settings().payment_reconcile_seconds,
        max_instances=1,
        coalesce=True,
        id="reconcile-payments",
    )
    scheduler.add_job(
        _sweep_uploads,
        "interval",
        seconds=UPLOAD_SWEEP_SECONDS,
        max_instances=1,
        coalesce=True,
        id="sweep-uploads",
    )
    scheduler.start()
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
