"""Fixtures the e2e tests share (helpers to import live in named modules: ``ui_helpers``,
``cluster_ops``, ``step_rbac``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ui_helpers import chromium


@pytest.fixture
def ns(step_namespace: str, operator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh step namespace served by the in-cluster operator, and the Client's default
    namespace (``KUBELINE_NAMESPACE``) for the test."""
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    return step_namespace


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per test module."""
    with chromium() as b:
        yield b
