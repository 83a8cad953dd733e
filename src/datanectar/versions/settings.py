"""What a catalog entry declares about its versions: `versioned: true`, or a mapping."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .labels import template_fields


class Versioning(BaseModel):
    """`versioned: {label: "{date}-{run_id}", keep: 20, verify: size}`"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = Field(
        default=None,
        description="Label template over {date}, {time}, {run_id}, {code_version}, "
        "{content_hash}, {partition}; a UTC timestamp when not given.",
    )
    keep: int | None = Field(
        default=None, ge=1, description="Versions kept; older ones are pruned after a publish."
    )
    verify: Literal["sha256", "size"] = Field(
        default="sha256",
        description="What a load checks against the manifest: every file's sha256, or its size "
        "only (very large artifacts).",
    )

    @field_validator("label")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            template_fields(value)
        return value
