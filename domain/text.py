"""Values that no store can hold, refused before anything is written.

PostgreSQL `text` and `jsonb` refuse the NUL character (U+0000), and a lone UTF-16 surrogate
(U+D800..U+DFFF, which `json.loads('"\\ud800"')` happily produces) cannot be encoded as UTF-8
by any store. JSON has no NaN or Infinity (Python's parser accepts them; stored, they would
come back as null), and a document nested deeper than `MAX_DEPTH` levels cannot be serialised
back. All are refused at the edge with `InvalidInput`, naming where they are.

Pure: standard library only, no I/O. `check_storable` runs for every event, so the common case
(ASCII or valid text, flat payloads) costs one `isascii()` and one `in` per string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from math import isfinite
from typing import Any

from domain.errors import InvalidInput

NUL_REASON = "must not contain the NUL character (U+0000)"
SURROGATE_REASON = "must not contain a lone surrogate (U+D800..U+DFFF)"
NOT_FINITE_REASON = "must be a finite number (JSON has no NaN or Infinity)"
MAX_DEPTH = 64  # nesting levels of a payload (objects and arrays)
DEPTH_REASON = f"is nested deeper than {MAX_DEPTH} levels"

_BAD_CHAR = re.compile(r"[\x00\ud800-\udfff]")
_CONTAINERS = (dict, list, tuple)  # a tuple: isinstance() with it is twice as fast as a union

# A node of the walk: (parent node, segment under the parent); the root is (None, None).
# Paths are only assembled from these links when something is refused.
_Node = tuple[Any, Any]


def storable_problem(value: str) -> str | None:
    """Why `value` cannot be stored (NUL or lone surrogate), or None when it can."""
    if value.isascii():
        return NUL_REASON if "\x00" in value else None
    found = _BAD_CHAR.search(value)
    if found is None:
        return None
    return NUL_REASON if found.group() == "\x00" else SURROGATE_REASON


def check_storable(value: object, field: str) -> None:
    """Refuse (`InvalidInput`) the first unstorable string in `value`, keys included, the
    first number that is not finite, and nesting deeper than `MAX_DEPTH`.

    Dicts, lists and tuples are walked in document order, without recursion (so deep
    nesting cannot exhaust the stack). The error's field is the dotted path of the
    offending value, e.g. `payload.arguments.q` or `payload.items.2`; for an offending key,
    the path ends in that key with the bad characters escaped (`payload.a\\u0000b`).
    """
    if isinstance(value, str):
        reason = storable_problem(value)
        if reason is not None:
            raise InvalidInput(field, reason)
        return
    if isinstance(value, float) and not isfinite(value):
        raise InvalidInput(field, NOT_FINITE_REASON)
    if not isinstance(value, _CONTAINERS):
        return
    root: _Node = (None, None)
    stack: list[tuple[Iterator[tuple[Any, Any]], _Node]] = [(_entries(value), root)]
    while stack:
        entries, node = stack[-1]
        for key, item in entries:
            if isinstance(key, str) and (not key.isascii() or "\x00" in key):
                reason = storable_problem(key)
                if reason is not None:
                    raise InvalidInput(_path(field, node, _escape(key)), reason)
            if isinstance(item, str):
                if item.isascii() and "\x00" not in item:
                    continue
                reason = storable_problem(item)
                if reason is not None:
                    raise InvalidInput(_path(field, node, key), reason)
            elif isinstance(item, _CONTAINERS):
                if len(stack) >= MAX_DEPTH:
                    raise InvalidInput(_path(field, node, key), DEPTH_REASON)
                stack.append((_entries(item), (node, key)))
                break
            elif isinstance(item, float) and not isfinite(item):
                raise InvalidInput(_path(field, node, key), NOT_FINITE_REASON)
        else:
            stack.pop()


def _entries(container: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
    if isinstance(container, dict):
        return iter(container.items())
    return enumerate(container)


def _path(field: str, node: _Node, segment: object) -> str:
    segments = [str(segment)]
    while node[0] is not None:
        node, key = node
        segments.append(str(key))
    return ".".join([field, *reversed(segments)])


def _escape(key: str) -> str:
    """The key with NULs and lone surrogates written as `\\uXXXX`, safe to put in a message."""
    return _BAD_CHAR.sub(lambda found: f"\\u{ord(found.group()):04x}", key)
