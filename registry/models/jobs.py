"""Background import jobs started by API uploads (design §6), persisted so their state survives restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from registry.models.catalog import UtcDateTime, utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_job"
    id: str = Field(primary_key=True, max_length=32, description="Random hex identifier used in URLs")
    catalog: str = Field(max_length=100, index=True)
    version: str = Field(max_length=100)
    format: Optional[str] = Field(default=None, max_length=50)
    profile: Optional[str] = Field(default=None, max_length=200)
    source_name: Optional[str] = Field(default=None, max_length=500, description="File name as uploaded")
    upload_path: Optional[str] = Field(default=None, max_length=1000, description="Where the upload waits")
    status: str = Field(default="queued", max_length=20, index=True)
    rows: int = Field(default=0, description="Rows read so far (progress)")
    report: Optional[dict] = Field(default=None, sa_type=sa.JSON, description="The import report when done")
    error: Optional[dict] = Field(default=None, sa_type=sa.JSON, description="The error body when failed")
    created_by: Optional[str] = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    started_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime())
    finished_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime())
    owner_host: Optional[str] = Field(default=None, max_length=255, description="Host of the process running it")
    owner_pid: Optional[int] = Field(default=None, description="Process id of its worker on owner_host")
    heartbeat_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime(),
                                             description="Last sign of life of its worker (refreshed while it runs)")
