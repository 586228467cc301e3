"""What every config model shares: strictness, and cross-field problems reported at their keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ByteSize, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

Size = Annotated[ByteSize, Field(ge=1)]
"""A size in bytes: a plain byte count, or with a unit, 512KB (powers of 1000) or 32MiB (1024)."""


class StrictModel(BaseModel):
    """Frozen, and unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=False)


Conflict = tuple[tuple[str | int, ...], object, str]
"""A cross-field problem: where (relative to the model being validated), the value, and why."""


def raise_conflicts(model: str, conflicts: list[Conflict]) -> None:
    """Report every conflict at once, each at the key it is about rather than at the model.

    A plain ValueError from a model validator would name only the model, and only the first
    problem; pydantic-core accepts a ValidationError raised here and prefixes each `loc`.
    """
    if conflicts:
        raise ValidationError.from_exception_data(
            model,
            [
                InitErrorDetails(
                    type=PydanticCustomError("conflict", "{reason}", {"reason": reason}),
                    loc=loc,
                    input=value,
                )
                for loc, value, reason in conflicts
            ],
        )
