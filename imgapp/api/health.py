"""`/api/health` (liveness: the process answers) and `/api/health/ready` (it can work)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from imgapp.ops import readiness
from imgapp.worker import entry

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health() -> JSONResponse:
    """200 `{"status": "ok"}` while the process serves; touches no database or other service."""
    return JSONResponse({"status": "ok"})


@router.get("/health/ready")
async def ready() -> JSONResponse:
    """200 `{"status": "ready", "checks": {...}}`, or 503 `{"status": "not_ready", "failing"}`.

    Checks the database, Redis (when configured), the event bus, the task
    processors' heartbeats and the queue; see `ops/readiness.py`.
    """
    processor = entry.scheduled_in_app()
    found = await readiness.assess(
        in_app_worker_id=processor.worker_id if processor is not None else None
    )
    checks = {name: check.as_json() for name, check in found.checks.items()}
    if found.ready:
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse(
        {"status": "not_ready", "failing": found.failing, "checks": checks}, status_code=503
    )
