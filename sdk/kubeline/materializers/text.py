"""``HTMLString``, ``MarkdownString``, ``CSVString``, ``JSONString``: text plus a visualization."""

from __future__ import annotations

from typing import Any, ClassVar

from kubeline.materializers.base import BaseMaterializer

_KINDS = {"HTMLString": ("html", "html"), "MarkdownString": ("markdown", "md"),
          "CSVString": ("csv", "csv"), "JSONString": ("json", "json")}


class TextVisualizationMaterializer(BaseMaterializer):
    """Saves the text as ``data.txt`` and as a visualization of its kind."""

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = tuple(
        f"kubeline.types.{name}" for name in _KINDS)

    def save(self, data: str) -> None:
        with self.open("data.txt", "wb") as f:
            f.write(str(data).encode())

    def load(self, data_type: type) -> Any:
        with self.open("data.txt", "rb") as f:
            text = f.read().decode()
        return data_type(text) if isinstance(data_type, type) and issubclass(
            data_type, str) else text

    def save_visualizations(self, data: Any) -> dict[str, str]:
        kind, ext = _KINDS.get(type(data).__name__, ("html", "html"))
        uri = self.save_visualization(f"{kind}.{ext}", str(data).encode(), kind)
        return {uri: kind}
