"""The seed's decorators (application/decorators.py): the wrapped function's result becomes
the payload of the event they emit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from application import decorators
from application.decorators import emit_action_event, emit_deal_event, use_emitter
from domain.errors import InvalidInput
from tests.unit.application.conftest import App


@pytest.fixture(autouse=True)
def no_emitter() -> Iterator[None]:
    saved = list(decorators._emitter)
    use_emitter(None)
    yield
    decorators._emitter[:] = saved


def test_without_an_emitter_the_call_fails_after_running(app: App) -> None:
    calls: list[str] = []

    @emit_deal_event("deal.created")
    def create() -> dict[str, Any]:
        calls.append("ran")
        return {"deal_id": "DL-1", "name": "x"}

    with pytest.raises(
        RuntimeError, match=r"^no emitter: import entrypoints\.events \(it wires the decorators\)$"
    ):
        create()
    assert calls == ["ran"]
    use_emitter(app.emitter)
    use_emitter(None)
    with pytest.raises(RuntimeError):
        create()


def test_the_result_is_the_payload_ids_as_text_correlated_with_the_deal(app: App) -> None:
    use_emitter(app.emitter)

    @emit_deal_event("deal.created")
    def create(deal_id: int, name: str) -> dict[str, Any]:
        return {"deal_id": deal_id, "name": name, "owner_id": None, "count": 3}

    assert create(7, name="Acme") == {"deal_id": 7, "name": "Acme", "owner_id": None, "count": 3}
    [event] = app.table.after(0, 10)
    assert event.type == "deal.created"
    assert event.payload["deal_id"] == "7"
    assert event.payload["count"] == 3
    assert event.payload.get("owner_id") is None
    assert (event.source, event.correlation_id) == ("deal_lifecycle", "7")
    assert create.__name__ == "create"


def test_an_action_event_through_a_factory_with_its_source(app: App) -> None:
    made: list[int] = []

    def factory() -> Any:
        made.append(1)
        return app.emitter

    use_emitter(factory)

    @emit_action_event("action.created", source="engine")
    def propose() -> dict[str, Any]:
        return {"action_id": "A-1", "action_type": "mail"}

    propose()
    propose.__wrapped__()  # type: ignore[attr-defined]  # not emitted
    [event] = app.table.after(0, 10)
    assert (event.type, event.source, event.correlation_id) == ("action.created", "engine", "A-1")
    assert made == [1]

    @emit_action_event("action.approved")
    def approve() -> dict[str, Any]:
        return {"action_id": "A-1"}

    approve()
    assert app.table.after(1, 10)[0].source == "action_engine"

    @emit_action_event("action.executing")
    def execute() -> dict[str, Any]:
        return {"action_id": "A-1", "deal_id": "DL-9"}

    execute()  # the action has no deal; the result names one, which correlates the event
    assert app.table.after(2, 10)[0].correlation_id == "DL-9"


def test_an_async_function_emits_too(app: App) -> None:
    use_emitter(app.emitter)

    @emit_deal_event("deal.created")
    async def create() -> dict[str, Any]:
        return {"deal_id": "DL-1", "name": "x"}

    assert asyncio.run(create()) == {"deal_id": "DL-1", "name": "x"}
    assert [e.type for e in app.table.after(0, 10)] == ["deal.created"]
    assert create.__name__ == "create"


def test_a_result_that_is_not_a_mapping_is_refused(app: App) -> None:
    use_emitter(app.emitter)

    @emit_deal_event("deal.updated")
    def update() -> list[str]:
        return ["DL-1"]

    with pytest.raises(InvalidInput, match=r"deal\.updated needs a mapping") as caught:
        update()
    assert caught.value.field == "payload"
    assert app.table.head() == 0


def test_a_type_of_another_domain_is_refused_when_decorating() -> None:
    with pytest.raises(InvalidInput, match=r"'action\.created' is not a deal") as caught:
        emit_deal_event("action.created")
    assert caught.value.field == "type"
    with pytest.raises(InvalidInput, match="not a action"):
        emit_action_event("deal.created")
