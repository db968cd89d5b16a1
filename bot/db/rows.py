"""Row to dataclass, written once: each field takes the column of its name, through a converter where the
stored form differs (Unix seconds for times, integers for flags)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
Converter = Callable[[Any], Any]


def from_unix(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def field_names(cls: type[DataclassInstance]) -> list[str]:
    return [item.name for item in fields(cls)]


def times(*names: str) -> dict[str, Converter]:
    """Converters for columns that store a time as Unix seconds."""
    return dict.fromkeys(names, from_unix)


def row_mapper(cls: type[T], convert: Mapping[str, Converter] | None = None) -> Callable[[sqlite3.Row], T]:
    """A function building ``cls`` from a row that has a column for each of its fields."""
    names = field_names(cls)
    converters = dict(convert or {})
    unknown = set(converters) - set(names)
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")

    def build(row: sqlite3.Row) -> T:
        values = {name: converters[name](row[name]) if name in converters else row[name] for name in names}
        return cls(**values)

    return build
