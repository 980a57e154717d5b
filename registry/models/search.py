"""How far each catalog's full-text search index has come (the index itself lives in `entry_search`).

The index holds one row per entry row, and entry rows never change their content, so a publish only
adds the rows it inserted: the indexer picks up entry rows above `indexed_entry_id` up to the catalog's
head, in batches, and a version is searchable through the index once its sequence is at most `indexed_seq`.
The lease lets one server worker build while the others answer from the fallback instead of building too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from registry.models.catalog import UtcDateTime


class SearchIndexState(SQLModel, table=True):
    __tablename__ = "search_index_state"
    catalog_id: int = Field(foreign_key="catalog.id", primary_key=True)
    indexed_seq: int = Field(default=0, description="Every entry row of versions up to this sequence is indexed")
    indexed_entry_id: int = Field(default=0, description="Entry rows of this catalog up to this id are indexed")
    lease_owner: Optional[str] = Field(default=None, max_length=300, description="host:pid of the builder")
    lease_until: Optional[datetime] = Field(default=None, sa_type=UtcDateTime(),
                                            description="The builder's lease; another may take over after it")
