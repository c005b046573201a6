"""`/api/health`: is the app up and can it reach its database."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from imgapp.core import db

router = APIRouter(prefix="/api", tags=["health"])


def _database_ok() -> bool:
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


@router.get("/health")
async def health() -> JSONResponse:
    """200 with `{"status": "ok"}` when the database answers, 503 otherwise."""
    ok = await run_in_threadpool(_database_ok)
    return JSONResponse(
        {
            "status": "ok" if ok else "degraded",
            "database": "ok" if ok else "unreachable",
        },
        status_code=200 if ok else 503,
    )
