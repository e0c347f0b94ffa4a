"""Records as plain JSON data and back, read off their dataclass fields.

An incident's shape is spelt once, in its dataclasses (``detectors.types``): what the
store writes is their fields in order, and what it reads back is rebuilt by their type
hints, so that a field added to a record needs no second spelling in a serialiser.
A record that says more than its fields (``Support``'s shares, ``Pattern``'s sorted
lists, ``Signal``'s copied details) writes itself with its own ``to_dict``.
"""

from __future__ import annotations

import types
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

R = TypeVar("R")


def to_json(record: Any) -> dict[str, Any]:
    """The record's fields, in order, as JSON-ready data."""
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        own = getattr(value, "to_dict", None)
        return own() if own is not None else to_json(value)
    if isinstance(value, list | tuple):
        return [_plain(x) for x in value]
    if isinstance(value, dict):
        return {k: _plain(x) for k, x in value.items()}
    return value


def from_json(cls: type[R], data: dict[str, Any]) -> R:
    """The record ``to_json`` wrote: keys that are not its fields are left (a stored
    incident carries its headline; the API's read model, the people's side); a field
    that is missing takes its default, and a required one missing raises TypeError."""
    hints = _hints(cls)
    return cls(**{f.name: _read(hints[f.name], data[f.name])  # type: ignore[call-arg]
                  for f in fields(cls) if f.name in data})  # type: ignore[arg-type]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _read(tp: Any, value: Any) -> Any:
    if value is None or tp is Any:
        return value
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return _read(kinds[0], value) if len(kinds) == 1 else value
    if origin is Literal:
        return value
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_read(args[0], x) for x in value)
        return tuple(_read(a, x) for a, x in zip(args, value, strict=True))
    if origin is list:
        return [_read(args[0], x) for x in value]
    if origin is frozenset:
        return frozenset(value)
    if origin is dict:
        return {k: _read(args[1], x) for k, x in value.items()}
    if is_dataclass(tp):
        return from_json(tp, value)
    return value
