"""String types whose artifacts are shown as what they are: HTML, Markdown, CSV, JSON.

A step returning one of them saves the text and a visualization of that kind
(``kubeline.materializers.text.TextVisualizationMaterializer``).
"""

from __future__ import annotations


class HTMLString(str):
    """A string of HTML."""


class MarkdownString(str):
    """A string of Markdown."""


class CSVString(str):
    """A string of CSV."""


class JSONString(str):
    """A string of JSON."""


__all__ = ["CSVString", "HTMLString", "JSONString", "MarkdownString"]
