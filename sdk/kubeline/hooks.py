"""ZenML's built-in alerter hooks: Kubeline has no alerter stack component, so giving them
to a step is refused at decoration time (``on_failure=alerter_failure_hook``)."""

from __future__ import annotations

from typing import Any

UNSUPPORTED_HOOK = "__kubeline_unsupported_hook__"


def alerter_failure_hook(exception: BaseException) -> None:
    """Refused: Kubeline has no alerter; write your own hook posting where you need it."""


def alerter_success_hook() -> None:
    """Refused: Kubeline has no alerter; write your own hook posting where you need it."""


def _mark(fn: Any) -> Any:
    setattr(fn, UNSUPPORTED_HOOK, "Kubeline has no alerter stack component: write your own "
            "hook (a module-level function) that posts where you need it")
    return fn


_mark(alerter_failure_hook)
_mark(alerter_success_hook)

__all__ = ["alerter_failure_hook", "alerter_success_hook"]
