"""Small building blocks shared by the Client's views: lazy caching, times, metadata, pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from kubeline.constants import PAGE_SIZE_MAXIMUM
from kubeline.enums import ExecutionStatus
from kubeline.errors import PaginationError
from kubeline.resources.phases import TERMINAL_RUN_PHASES

if TYPE_CHECKING:
    from kubeline.client.client import Client

T = TypeVar("T")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TERMINAL_PHASES = TERMINAL_RUN_PHASES  # the Client's name for them


def is_uuid(text: str) -> bool:
    """True when ``text`` looks like a Kubernetes uid (a UUID)."""
    return bool(_UUID.match(text))


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp from the API server as an aware datetime (None stays None)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def created(obj: Mapping[str, Any]) -> str:
    """The object's creationTimestamp (RFC 3339 strings sort chronologically)."""
    return str(obj.get("metadata", {}).get("creationTimestamp") or "")


def creation_order(obj: Mapping[str, Any]) -> tuple[str, float, str]:
    """Sort key, oldest first: creationTimestamp (whole seconds), then within one second a
    run's index on its pipeline (a run the operator has not counted yet is the newest),
    then the name. Without the index, runs made in one second would follow their names'
    random suffixes."""
    index = (obj.get("status") or {}).get("index")
    return created(obj), float(index) if isinstance(index, int) else float("inf"), str(
        obj.get("metadata", {}).get("name") or "")


@dataclass(frozen=True, eq=False)
class MetadataValue:
    """One metadata entry, read as ``run_metadata["storage_size"].value`` (ZenML's shape)."""

    key: str
    value: Any

    def __eq__(self, other: object) -> bool:
        """Equal to another entry of the same value, and to the plain value itself (ZenML's
        ``run_metadata["key"]`` is the value)."""
        if isinstance(other, MetadataValue):
            return self.value == other.value
        return bool(self.value == other)

    def __hash__(self) -> int:
        try:
            return hash(self.value)
        except TypeError:
            return hash(self.key)

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        return getattr(self.value, item)

    def __getitem__(self, item: Any) -> Any:
        return self.value[item]

    def __str__(self) -> str:
        return str(self.value)

    def _plain(self, other: Any) -> Any:
        return other.value if isinstance(other, MetadataValue) else other

    def __lt__(self, other: Any) -> bool:
        return bool(self.value < self._plain(other))

    def __le__(self, other: Any) -> bool:
        return bool(self.value <= self._plain(other))

    def __gt__(self, other: Any) -> bool:
        return bool(self.value > self._plain(other))

    def __ge__(self, other: Any) -> bool:
        return bool(self.value >= self._plain(other))

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.value)

    def __contains__(self, item: Any) -> bool:
        return item in self.value

    def __repr__(self) -> str:
        return f"MetadataValue({self.key}={self.value!r})"


def annotation_tags(annotations: Mapping[str, str]) -> list[str]:
    """Tags added after creation: the ``kubeline.dev/tags`` annotation (a JSON list)."""
    import json

    from kubeline.resources.names import ANNOTATION_TAGS

    raw = annotations.get(ANNOTATION_TAGS)
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(t) for t in value] if isinstance(value, list) else []


def metadata_dict(values: Mapping[str, Any]) -> dict[str, MetadataValue]:
    """Wrap plain metadata values so each answers ``.value``."""
    return {k: MetadataValue(k, v) for k, v in values.items()}


class View:
    """A read-only view of one Kubernetes object, with lazily computed, cached attributes.

    ``refresh()`` re-reads the object (one GET) and drops everything cached.
    """

    plural: ClassVar[str] = ""

    def __init__(self, client: Client, obj: dict[str, Any]) -> None:
        self._client = client
        self._obj = obj
        self._cache: dict[str, Any] = {}

    # -- raw access
    @property
    def object(self) -> dict[str, Any]:
        """The Kubernetes object as returned by the API server."""
        return self._obj

    @property
    def metadata(self) -> dict[str, Any]:
        return self._obj.get("metadata", {})

    @property
    def spec(self) -> dict[str, Any]:
        return self._obj.get("spec") or {}

    @property
    def k8s_status(self) -> dict[str, Any]:
        """The object's ``status`` block (empty until the operator wrote it)."""
        return self._obj.get("status") or {}

    @property
    def object_name(self) -> str:
        """The Kubernetes object name."""
        return str(self.metadata.get("name", ""))

    @property
    def id(self) -> str:
        """The object's uid, stable for its lifetime (ZenML's ``id``)."""
        return str(self.metadata.get("uid", ""))

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata.get("annotations") or {}

    @property
    def created(self) -> datetime | None:
        return parse_time(self.metadata.get("creationTimestamp"))

    def _cached(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def refresh(self) -> View:
        """Re-read the object from the API server; returns ``self``."""
        self._obj = self._client.kube.get(self.plural, self.object_name)
        self._cache.clear()
        return self

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and bool(other.id == self.id)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.object_name!r})"


class LazyMapping(Mapping[str, T], Generic[T]):
    """A read-only mapping whose values are built on first access and then kept."""

    def __init__(self, keys: Sequence[str], build: Callable[[str], T], what: str) -> None:
        self._keys = list(keys)
        self._build = build
        self._what = what
        self._values: dict[str, T] = {}

    def __getitem__(self, key: str) -> T:
        if key not in self._keys:
            from kubeline.errors import NotFoundError

            known = ", ".join(self._keys) or "none"
            raise NotFoundError(f"no {self._what} {key!r} (known: {known})")
        if key not in self._values:
            self._values[key] = self._build(key)
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __repr__(self) -> str:
        return f"<{self._what}s: {', '.join(self._keys)}>"


class LazySequence(MutableSequence[T], Generic[T]):
    """A list filled from a source iterator only as far as it is read (``runs[1]`` reads 2).

    It behaves as the list ZenML returns: index, slice, iterate, ``len``, ``==`` a list,
    ``+``, and the list methods, mutating ones included (they read the rest first and change
    only this sequence). Not an instance of ``list``: ``list(seq)`` makes one."""

    def __init__(self, source: Iterator[T]) -> None:
        self._source = source
        self._items: list[T] = []
        self._done = False

    def _fill(self, upto: int | None) -> None:
        while not self._done and (upto is None or len(self._items) <= upto):
            try:
                self._items.append(next(self._source))
            except StopIteration:
                self._done = True

    def _all(self) -> list[T]:
        self._fill(None)
        return self._items

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            stop = index.stop
            # ``[:n]`` needs items 0..n-1 (a negative bound needs all of them).
            self._fill(None if stop is None or stop < 0 or (index.start or 0) < 0 else stop - 1)
            return self._items[index]
        self._fill(None if index < 0 else index)
        return self._items[index]

    @overload
    def __setitem__(self, index: int, value: T) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[T]) -> None: ...
    def __setitem__(self, index: int | slice, value: Any) -> None:
        self._all()[index] = value

    def __delitem__(self, index: int | slice) -> None:
        del self._all()[index]

    def insert(self, index: int, value: T) -> None:
        self._all().insert(index, value)

    def sort(self, *, key: Callable[[T], Any] | None = None, reverse: bool = False) -> None:
        self._all().sort(key=key, reverse=reverse)

    def copy(self) -> list[T]:
        return list(self._all())

    def __iter__(self) -> Iterator[T]:
        i = 0
        while True:
            self._fill(i)
            if i >= len(self._items):
                return
            yield self._items[i]
            i += 1

    def __len__(self) -> int:
        return len(self._all())

    def __bool__(self) -> bool:
        self._fill(0)
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazySequence):
            other = other._all()
        return isinstance(other, list) and self._all() == other

    __hash__ = None  # type: ignore[assignment]  # unhashable, as a list

    def __add__(self, other: object) -> list[T]:
        if isinstance(other, LazySequence | list):
            return self._all() + list(other)
        return NotImplemented

    def __radd__(self, other: object) -> list[T]:
        if isinstance(other, list):
            return other + self._all()
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._all())


def check_page_size(page: int, size: int) -> None:
    """Refuse a page below 1 or a size outside 1..``PAGE_SIZE_MAXIMUM`` (ZenML's limits)."""
    if not isinstance(page, int) or page < 1:
        raise PaginationError(f"page must be 1 or more, got {page!r}")
    if not isinstance(size, int) or not 1 <= size <= PAGE_SIZE_MAXIMUM:
        raise PaginationError(
            f"size must be between 1 and {PAGE_SIZE_MAXIMUM} (PAGE_SIZE_MAXIMUM), got {size!r}")


def page_of(items: list[T], page: int, size: int) -> Page[T]:
    """Page ``page`` of ``items`` at ``size`` per page. A page past the last one raises
    ``PaginationError`` (a ``ValueError``), as ZenML's store does; an empty listing has one
    (empty) page."""
    check_page_size(page, size)
    total_pages = max(1, -(-len(items) // size))
    if page > total_pages:
        raise PaginationError(
            f"Invalid page {page}: at page size {size} the {len(items)} item(s) of this "
            f"listing make {total_pages} page(s), so the last page is {total_pages}")
    return Page(items[(page - 1) * size: page * size], index=page, size=size, total=len(items))


class Page(Sequence[T], Generic[T]):
    """One page of a listing, as ZenML's: ``items``, ``index`` (1-based), ``max_size`` (the
    page size asked for), ``total`` (items in all pages), ``total_pages``; ``size`` is the
    number of items on this page."""

    def __init__(self, items: list[T], index: int, size: int, total: int) -> None:
        self.items = items
        self.index = index  # type: ignore[assignment]  # ZenML's Page.index: the page number
        self.max_size = size
        self.total = total

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def total_pages(self) -> int:
        return max(1, -(-self.total // self.max_size)) if self.max_size else 1

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Page(index={self.index}, total={self.total}, items={self.items!r})"


def as_status(phase: str) -> str:
    """A phase as ``kubeline.enums.ExecutionStatus`` (unknown phases stay plain strings)."""
    try:
        return ExecutionStatus(phase)
    except ValueError:
        return str(phase)
