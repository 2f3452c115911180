"""JSON values and bytes."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from kubeline.materializers.base import BaseMaterializer


class BuiltInMaterializer(BaseMaterializer):
    """int, float, bool, str, None and JSON-only lists/tuples/dicts, as ``data.json``."""

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = tuple(
        f"builtins.{t}" for t in ("int", "float", "bool", "str", "NoneType", "list", "tuple",
                                  "dict"))

    def save(self, data: Any) -> None:
        with self.open("data.json", "wb") as f:
            f.write(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())

    def load(self, data_type: type) -> Any:
        with self.open("data.json", "rb") as f:
            value = json.loads(f.read())
        if data_type is tuple and isinstance(value, list):
            return tuple(value)
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        if isinstance(data, (bool, int, float)) or (isinstance(data, str) and len(data) <= 256):
            return {"value": data}
        if isinstance(data, (list, tuple, dict, str)):
            return {"length": len(data)}
        return {}


class BytesMaterializer(BaseMaterializer):
    """Raw bytes as ``data.bin``."""

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = ("builtins.bytes",)

    def save(self, data: bytes) -> None:
        with self.open("data.bin", "wb") as f:
            f.write(data)

    def load(self, data_type: type) -> bytes:
        with self.open("data.bin", "rb") as f:
            return f.read()
