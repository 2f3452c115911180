"""Special metadata value types: ``Uri``, ``Path``, ``DType``, ``StorageSize``.

They are ``str``/``int`` subclasses, so they compare, hash and serialize as their plain
values; :func:`get_metadata_type` names the type of a value as ZenML does.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Union


class Uri(str):
    """A string that is a URI."""


class Path(str):
    """A string that is a file system path."""


class DType(str):
    """A string naming a data type."""


class StorageSize(int):
    """A storage size in bytes."""


MetadataType = Union[  # noqa: UP007 (a runtime alias users annotate with)
    str, int, float, bool, dict[Any, Any], list[Any], set[Any], tuple[Any, ...],
    Uri, Path, DType, StorageSize,
]
MetadataTypeTuple = (str, int, float, bool, dict, list, set, tuple, Uri, Path, DType,
                     StorageSize)


class MetadataTypeEnum(StrEnum):
    """The name of each metadata type."""

    STRING = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    LIST = "list"
    DICT = "dict"
    TUPLE = "tuple"
    SET = "set"
    URI = "Uri"
    PATH = "Path"
    DTYPE = "DType"
    STORAGE_SIZE = "StorageSize"


metadata_type_to_enum_mapping: dict[type, MetadataTypeEnum] = {
    str: MetadataTypeEnum.STRING, int: MetadataTypeEnum.INT, float: MetadataTypeEnum.FLOAT,
    bool: MetadataTypeEnum.BOOL, dict: MetadataTypeEnum.DICT, list: MetadataTypeEnum.LIST,
    set: MetadataTypeEnum.SET, tuple: MetadataTypeEnum.TUPLE, Uri: MetadataTypeEnum.URI,
    Path: MetadataTypeEnum.PATH, DType: MetadataTypeEnum.DTYPE,
    StorageSize: MetadataTypeEnum.STORAGE_SIZE,
}
metadata_enum_to_type_mapping = {v: k for k, v in metadata_type_to_enum_mapping.items()}


def get_metadata_type(value: object) -> MetadataTypeEnum:
    """The metadata type of ``value`` (exact type); ValueError for an unsupported one."""
    try:
        return metadata_type_to_enum_mapping[type(value)]
    except KeyError:
        raise ValueError(f"Metadata type {type(value)} is not supported.") from None


def cast_to_metadata_type(value: object, type_: MetadataTypeEnum) -> Any:
    """``value`` as the metadata type named by ``type_``."""
    return metadata_enum_to_type_mapping[MetadataTypeEnum(type_)](value)
