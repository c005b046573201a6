"""Pictures people uploaded to edit: the source of an edit task, or its mask.

The file lives under the data directory (`uploads/<user>/...`), re-encoded
without its metadata (services/uploads); the row says whose it is and what it
is. An upload no task uses is removed after `UPLOAD_KEEP_HOURS`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow


class UploadPurpose(StrEnum):
    """What an uploaded picture is for."""

    IMAGE = "image"  # the picture to edit
    MASK = "mask"  # transparent where the edit may paint


class Upload(SQLModel, table=True):
    """One uploaded picture, served only to its owner by id."""

    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint("purpose IN ('image', 'mask')", name="purpose_known"),
        Index("ix_uploads_user_created", "user_id", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    )
    purpose: str = Field(max_length=8, nullable=False)
    path: str = Field(max_length=255, nullable=False)  # relative to the data directory
    mime_type: str = Field(max_length=32, nullable=False)
    width: int = Field(nullable=False)
    height: int = Field(nullable=False)
    size_bytes: int = Field(nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
