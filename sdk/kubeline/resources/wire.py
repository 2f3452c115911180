"""Base of the documents the operator, step Pods and the Client exchange outside the CRDs."""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel


class WireError(ValueError):
    """A document does not match its contract (the message names the field)."""


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys ignored (a newer producer
    may add fields an older consumer does not know)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, Any]:
        """The wire form: camelCase keys, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    def to_json(self) -> str:
        """Compact, key-sorted JSON of the wire form."""
        return json.dumps(self.to_wire(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_wire(cls, data: Any, what: str | None = None) -> Self:
        """Parse a decoded document; raises :class:`WireError` naming what is wrong."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise WireError(f"{what or cls.__name__} is malformed: {_problems(exc)}") from None

    @classmethod
    def from_json(cls, raw: str | bytes, what: str | None = None) -> Self:
        """Parse JSON text; raises :class:`WireError` when it is not JSON or not this document."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise WireError(f"{what or cls.__name__} is not valid JSON: {exc}") from None
        return cls.from_wire(data, what)


def _problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(document)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
