"""`worker_heartbeats`: each task processor's last tick, readable by every process."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from imgapp.models.base import UTCDateTime, utcnow

WORKER_ID_MAX_LENGTH = 128


class WorkerHeartbeat(SQLModel, table=True):
    """One running processor (in the app or standalone) and when it last polled the queue."""

    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(primary_key=True, max_length=WORKER_ID_MAX_LENGTH)
    kind: str = Field(max_length=16, nullable=False)  # "in_app" or "standalone"
    host: str = Field(default="", max_length=255, nullable=False)
    pid: int = Field(default=0, nullable=False)
    # How many tasks it runs at once (queue ETAs add up the live ones).
    slots: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
