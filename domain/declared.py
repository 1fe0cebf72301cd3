"""What an aggregate's event class declares about its event type (read by `domain.catalog`).

An event type is declared once, on the nested event class of the aggregate that records it:

    class Started(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Started"  # the stored topic: never changes
        TYPE: ClassVar[str] = "run_started"  # the taxonomy name
        STATUS: ClassVar[str | None] = "running"  # the listings' status after it
        COMMAND: ClassVar[str | None] = "start"  # the aggregate method that records it
        payload: p.RunStartedPayload  # its payload schema

From these the catalog derives the taxonomy's registry (and so the seed's enums), the state
summaries' status maps and the services' command maps. The aggregate's first event
(an `AggregateCreated`) needs no `COMMAND`: the aggregate's `create` records it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Declared:
    """Mixed into an event class to register its `TYPE` (see the module docstring)."""

    TOPIC: ClassVar[str]  # the stored topic (the event class's, never changed)
    TYPE: ClassVar[str]  # the taxonomy name
    # The taxonomy's domain; None: the prefix of a dotted name (`deal.created` -> deal),
    # else the aggregate's kind (`run_started` -> run).
    DOMAIN: ClassVar[str | None] = None
    STATUS: ClassVar[str | None] = None  # the listings' status after this event, if it sets one
    VERIFICATION: ClassVar[str | None] = None  # a run's verification after it (verify_*)
    COMMAND: ClassVar[str | None] = None  # the aggregate method that records it
    ALIASES: ClassVar[tuple[str, ...]] = ()  # old spellings, accepted and stored as TYPE
    SCHEMA_VERSION: ClassVar[int] = 1  # the version of its payload schema written today
    # Stored payloads of an older version: version -> the function that lifts it to the next.
    UPCASTERS: ClassVar[Mapping[int, Upcaster]] = {}
