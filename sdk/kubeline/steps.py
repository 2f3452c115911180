"""``@step``: turn a function into a pipeline step.

Inside a ``@pipeline`` function being compiled, calling a step records an invocation and
returns references to its outputs. Outside a pipeline, as in ZenML, calling it runs a
one-step pipeline on the cluster and returns its outputs' values; ``my_step.entrypoint(...)``
(or ``KUBELINE_RUN_SINGLE_STEPS_WITHOUT_STACK=true``) calls the plain function instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from kubeline.resources.names import ENV_RUN_SINGLE_STEPS_WITHOUT_STACK
from kubeline.settings import StepOptions, options_from_kwargs
from kubeline.tracing import active_tracer

F = TypeVar("F", bound=Callable[..., Any])


#: ZenML's switch: calling a step outside a pipeline just calls its function.
RUN_WITHOUT_STACK_ENV = ENV_RUN_SINGLE_STEPS_WITHOUT_STACK


def runs_without_cluster() -> bool:
    """True where a step call outside a pipeline runs its function in this process: when
    the env switch is on, inside a running step, or while a step Pod imports its code."""
    import os

    from kubeline.context import _STEP_CONTEXT
    from kubeline.pipelines import IMPORTING_STEP_CODE

    if any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in RUN_WITHOUT_STACK_ENV):
        return True
    return _STEP_CONTEXT.get() is not None or IMPORTING_STEP_CODE.get()


class Step:
    """A step: the user's function plus its options."""

    def __init__(self, func: Callable[..., Any], options: StepOptions) -> None:
        if not callable(func):
            raise TypeError("@step must decorate a function")
        self.entrypoint = func
        self.options = options
        functools.update_wrapper(self, func)

    @property
    def name(self) -> str:
        """The step's name: ``name=`` if given, else the function's name."""
        return self.options.name or self.entrypoint.__name__

    @property
    def enable_cache(self) -> bool | None:
        return self.options.enable_cache

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = active_tracer()
        if tracer is None:
            if runs_without_cluster():
                return self.entrypoint(*args, **kwargs)
            from kubeline.single_step import run_single_step

            return run_single_step(self, args, kwargs)
        invocation_id = kwargs.pop("id", None)
        after = kwargs.pop("after", None)
        return tracer.add_invocation(self, args, kwargs, invocation_id=invocation_id, after=after)

    def with_options(self, **options: Any) -> Step:
        """A copy with options overridden (same keywords as ``@step``)."""
        extra = options_from_kwargs(f"step '{self.name}'", **options)
        return Step(self.entrypoint, self.options.merged(extra))

    def configure(self, **options: Any) -> Step:
        """Change options in place (ZenML-compatible); returns the step."""
        self.options = self.options.merged(options_from_kwargs(f"step '{self.name}'", **options))
        return self

    def __repr__(self) -> str:
        return f"<Step {self.name}>"


@overload
def step(_func: F) -> Step: ...


@overload
def step(
    _func: None = None, *, name: str | None = None, enable_cache: bool | None = None,
    cache_version: str | int | None = None, cache_expires_after: Any = None,
    settings: dict[str, Any] | None = None, resources: Any = None, image: str | None = None,
    env: dict[str, str] | None = None, retry: Any = None, retries: Any = None,
    timeout: Any = None, extra: dict[str, Any] | None = None,
    output_materializers: dict[str, Any] | None = None,
) -> Callable[[F], Step]: ...


def step(_func: Any = None, **options: Any) -> Any:
    """Decorate a function as a step: ``@step`` or ``@step(enable_cache=False, ...)``.

    Options: ``name``, ``enable_cache``, ``cache_version`` (bump to invalidate the
    cache), ``cache_expires_after`` (seconds), ``settings`` (``resources``,
    ``docker``, ``retry``, ``env``, ``timeout``), ``resources`` (cpu_count, memory,
    gpu_count), ``image``, ``env``, ``retry``/``retries`` (count or
    StepRetryConfig), ``timeout`` (seconds per attempt), ``extra`` (free-form),
    ``output_materializers`` ({output name: materializer class}).
    """

    def decorate(func: Callable[..., Any]) -> Step:
        where = f"step '{options.get('name') or getattr(func, '__name__', func)}'"
        return Step(func, options_from_kwargs(where, **dict(options)))

    if _func is not None:
        if options:
            raise TypeError("use @step or @step(...), not both a function and options")
        return decorate(_func)
    return decorate


BaseStep = Step
