"""The code hash of a step: its source plus the user code it depends on.

A step's hash covers the function's own source and, recursively, the source of
every function or class it references from the user's source root, the whole
source of user modules it references, and the values of simple module-level
constants it reads. Library code (outside the source root) is covered by the
image instead. Editing one step therefore changes neither the hashes of its
unrelated neighbours in the same file nor those of untouched steps, while a
change to a helper the step calls does change the step's hash.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from pathlib import Path
from typing import Any

_CONSTANT_TYPES = (int, float, str, bytes, bool, type(None), complex)


def _file_of(obj: Any) -> Path | None:
    try:
        path = inspect.getsourcefile(obj)
    except TypeError:
        return None
    return Path(path).resolve() if path else None


def _is_user_code(obj: Any, root: Path) -> bool:
    path = _file_of(obj)
    if path is None:
        return False
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return "site-packages" not in path.parts and "dist-packages" not in path.parts


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _source(obj: Any) -> bytes:
    try:
        return inspect.getsource(obj).encode()
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        if code is None:
            return repr(obj).encode()
        return code.co_code + repr(code.co_consts).encode()


def _is_constant(value: Any) -> bool:
    if isinstance(value, _CONSTANT_TYPES):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_is_constant(v) for v in value)
    return False


def code_hash(func: Any, source_root: Path) -> str:
    """sha256 over the step function's source and the user code it references."""
    root = source_root.resolve()
    digest = hashlib.sha256()
    seen: set[int] = set()

    def add(tag: str, payload: bytes) -> None:
        digest.update(tag.encode() + b"\0" + len(payload).to_bytes(8, "big") + payload)

    def visit(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        entry = getattr(obj, "entrypoint", None)  # a Step object -> its function
        if entry is not None and callable(entry) and not isinstance(obj, types.FunctionType):
            visit(entry)
            return
        if isinstance(obj, types.ModuleType):
            path = _file_of(obj)
            if path is not None and path.exists():
                add(f"module:{obj.__name__}", path.read_bytes())
            return
        add(f"source:{getattr(obj, '__qualname__', '?')}", _source(obj))
        functions: list[Any] = []
        if isinstance(obj, types.FunctionType):
            functions = [obj]
        elif isinstance(obj, type):
            functions = [v for v in vars(obj).values() if isinstance(v, types.FunctionType)]
        for fn in functions:
            globs = fn.__globals__
            for name in sorted(_code_names(fn.__code__)):
                if name not in globs:
                    continue
                value = globs[name]
                if _is_constant(value):
                    add(f"const:{name}", repr(value).encode())
                elif isinstance(value, types.ModuleType):
                    if _is_user_code(value, root):
                        visit(value)
                elif (isinstance(value, (types.FunctionType, type))
                      or hasattr(value, "entrypoint")) and _is_user_code(
                          getattr(value, "entrypoint", value), root):
                    visit(value)

    visit(func)
    return digest.hexdigest()
