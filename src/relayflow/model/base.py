"""The base of every part of a workflow definition: unknown fields are errors, not ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
