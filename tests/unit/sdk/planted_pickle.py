"""A pickle that records when it is unpickled: the load-verification and trust tests plant
it and check that a refused load ran none of it."""

from __future__ import annotations


def record_unpickled(tag: str) -> None:
    Planted.ran.append(tag)


class Planted:
    """Unpickling this records that code from the file ran (a function pickled by reference:
    a bound ``list.append`` would pickle a copy of the list)."""

    ran: list[str] = []

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (record_unpickled, ("unpickled",))
