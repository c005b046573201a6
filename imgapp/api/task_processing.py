"""`POST /api/tasks/process`: run one processing round now (internal, shared secret).

The seed's external processor called this; here the in-app scheduler already
polls, so this is for operators and other machines that want a round now.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from imgapp.api.internal import require_secret
from imgapp.worker import entry

router = APIRouter(prefix="/api/tasks", tags=["internal"])

TaskKey = require_secret(lambda s: s.task_process_secret_key, lambda s: s.internal_api_key)


class ProcessOut(BaseModel):
    """What the round did."""

    claimed: int
    running: int
    worker_id: str


@router.post("/process", response_model=ProcessOut, dependencies=[TaskKey])
async def process() -> ProcessOut:
    """Claim what this app's processor has room for and start it."""
    processor = entry.in_app_processor()
    claimed = await processor.poll_once()
    return ProcessOut(claimed=claimed, running=processor.busy, worker_id=processor.worker_id)
