"""Text no store can hold (NUL, lone surrogates) is refused at the edge, naming where it is."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import taxonomy
from domain.errors import InvalidInput
from domain.text import (
    DEPTH_REASON,
    MAX_DEPTH,
    NOT_FINITE_REASON,
    NUL_REASON,
    SURROGATE_REASON,
    check_storable,
    storable_problem,
)

NUL = "\x00"
SURROGATE = json.loads('"\\ud800"')  # what the json module makes of an escaped lone surrogate
BAD = [pytest.param(NUL, NUL_REASON, id="nul"), pytest.param(SURROGATE, SURROGATE_REASON, id="sur")]


CASES = [
    # (type, payload builder, field of the refusal); `{bad}` is substituted per character
    ("agent.thinking", lambda bad: {"content": f"a{bad}b"}, "payload.content"),
    ("agent.thinking", lambda bad: {"content": "ok", "meta": {"q": bad}}, "payload.meta.q"),
    (
        "agent.thinking",
        lambda bad: {"content": "ok", "steps": ["ok", f"x{bad}"]},
        "payload.steps.1",
    ),
    ("agent.thinking", lambda bad: {bad: "value"}, "payload.\\u{code}"),
    ("custom.note", lambda bad: {"text": bad}, "payload.text"),
    (
        "custom.note",
        lambda bad: {"a": {"b": [{"c": "ok"}, {"d": [1, f"{bad}"]}]}},
        "payload.a.b.1.d.1",
    ),
    ("custom.note", lambda bad: {"tags": ["ok", bad, "ok"]}, "payload.tags.1"),
    ("custom.note", lambda bad: {"outer": {f"in{bad}ner": "v"}}, "payload.outer.in\\u{code}ner"),
    (
        "agent.tool_called",
        lambda bad: {"tool_call_id": "c1", "tool_name": "search", "arguments": {"q": bad}},
        "payload.arguments.q",
    ),
]


@pytest.mark.parametrize(("bad", "reason"), BAD)
@pytest.mark.parametrize(("type_name", "build", "field"), CASES)
def test_unstorable_text_is_refused_naming_the_path(
    type_name: str, build: Any, field: str, bad: str, reason: str
) -> None:
    spec = taxonomy.resolve(type_name)
    with pytest.raises(InvalidInput) as refused:
        spec.parse_payload(build(bad))
    assert refused.value.field == field.format(code=f"{ord(bad):04x}")
    assert refused.value.reason == reason
    # the message itself is storable: a bad key is escaped, never echoed raw
    assert storable_problem(str(refused.value)) is None


def test_the_first_bad_value_in_document_order_is_named() -> None:
    payload = {"a": "ok", "b": {"c": [NUL]}, "d": SURROGATE}
    with pytest.raises(InvalidInput) as refused:
        check_storable(payload, "payload")
    assert (refused.value.field, refused.value.reason) == ("payload.b.c.0", NUL_REASON)


def test_a_bare_string_and_a_tuple_are_checked_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_storable(NUL, "payload.x")
    assert refused.value.field == "payload.x"
    with pytest.raises(InvalidInput) as refused:
        check_storable(("ok", SURROGATE), "payload.t")
    assert (refused.value.field, refused.value.reason) == ("payload.t.1", SURROGATE_REASON)


def test_deep_nesting_is_refused_at_the_bound_without_exhausting_the_stack() -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidInput) as refused:
        check_storable({"x": deep}, "payload")
    assert refused.value.reason == DEPTH_REASON
    assert refused.value.field == "payload.x" + ".0" * (MAX_DEPTH - 1)


def test_nesting_up_to_the_bound_is_accepted() -> None:
    deep: Any = {"leaf": 1.5}
    for _ in range(MAX_DEPTH - 2):
        deep = [deep]
    check_storable({"x": deep}, "payload")  # MAX_DEPTH containers with the outer object
    with pytest.raises(InvalidInput):
        check_storable({"x": [deep]}, "payload")


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_numbers_json_cannot_hold_are_refused(number: float) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_storable({"a": [1, {"b": number}]}, "payload")
    assert (refused.value.field, refused.value.reason) == ("payload.a.1.b", NOT_FINITE_REASON)
    with pytest.raises(InvalidInput):
        check_storable(number, "payload.v")


GOOD_TEXT = [
    "plain ascii",
    "",
    "emoji \U0001f600\U0001f680 and a flag \U0001f1eb\U0001f1f7",
    "CJK 漢字かなカナ한국어",
    "accents: café, naïve, Ωμέγα, עברית",
    "\\u0000",  # the six characters backslash-u-0-0-0-0, not a NUL
    "\\ud800",  # likewise, six characters
    "tabs\tnewlines\nand \x7f DEL are storable",
]


@pytest.mark.parametrize("text", GOOD_TEXT)
@pytest.mark.parametrize("type_name", ["agent.thinking", "custom.note"])
def test_normal_text_is_accepted_unchanged(type_name: str, text: str) -> None:
    payload = {"content": text, "nested": {text or "k": [text, {"deeper": text}]}}
    parsed = taxonomy.resolve(type_name).parse_payload(payload)
    assert parsed.model_dump() == payload
    assert storable_problem(text) is None


def test_escaped_looking_text_keeps_its_six_characters() -> None:
    parsed = taxonomy.resolve("agent.thinking").parse_payload({"content": "\\u0000"})
    assert parsed.model_dump()["content"] == "\\u0000"
    assert len(parsed.model_dump()["content"]) == 6


storable_text = st.text(alphabet=st.characters(exclude_characters=NUL, exclude_categories=["Cs"]))
bad_char = st.sampled_from([NUL, *(chr(code) for code in (0xD800, 0xDBFF, 0xDC00, 0xDFFF))])


@given(text=storable_text)
def test_any_text_without_nul_or_surrogate_is_accepted(text: str) -> None:
    assert storable_problem(text) is None
    check_storable({"v": text, text: [text, {"k": text}]}, "payload")


@given(text=storable_text, bad=bad_char, where=st.integers(min_value=0), as_key=st.booleans())
def test_one_inserted_bad_character_is_refused(
    text: str, bad: str, where: int, as_key: bool
) -> None:
    at = where % (len(text) + 1)
    spoiled = text[:at] + bad + text[at:]
    expected = NUL_REASON if bad == NUL else SURROGATE_REASON
    assert storable_problem(spoiled) == expected
    payload: dict[str, Any] = {"list": ["ok", {spoiled: 1} if as_key else spoiled]}
    with pytest.raises(InvalidInput) as refused:
        check_storable(payload, "payload")
    assert refused.value.reason == expected
    assert refused.value.field.startswith("payload.list.1")
