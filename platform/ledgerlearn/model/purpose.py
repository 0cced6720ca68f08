"""What a task is for: a spec's optional ``purpose`` section, which the committee vets.

A publisher declares the kind of data the model is trained on (``data_kind``: a short tag such
as ``handwritten-digits`` or ``tabular-sensor``, which a validator's vetting policy allows or
not) and, in words, what the model is for (``description``, which a policy may send to a person
when it names a word the consortium wants a human to read: "face", "health", ...)::

    "purpose": {"data_kind": "handwritten-digits",
                "description": "recognise the digits 0-9 in 8x8 scans of forms"}

Like ``input``, the section is optional and absent from the canonical JSON when absent, so a
spec written before it existed keeps its bytes and its hash.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["PurposeSpec"]

DataKind = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
"""A data kind tag: lower-case letters, digits and dashes, at most 64 characters."""


class PurposeSpec(BaseModel):
    """The declared data kind and purpose of a model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_kind: DataKind = Field(
        description="The kind of data the model learns from: a short tag (lower-case letters, "
        "digits, dashes), e.g. handwritten-digits."
    )
    description: Annotated[
        str, StringConstraints(min_length=1, max_length=1000, pattern=r"^[^\x00-\x1f\x7f]*$")
    ] = Field(description="What the model is for, in words (one line, at most 1000 characters).")
