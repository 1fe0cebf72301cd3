"""The chaos suite's bookkeeping, without servers: the ids its clients choose, the seq gaps
and duplicates it counts, and the verdicts of its targets."""

from __future__ import annotations

import itertools
import json

from chaos.ledger import missing_seqs
from chaos.load import BATCH, items
from chaos.report import ZERO, Bound, Figure


def test_every_request_names_its_events_and_no_id_repeats() -> None:
    requests = list(itertools.islice(items("t", client=2, sessions=4), 9))
    ids = [i for item in requests for i in item.ids]
    assert len(ids) == len(set(ids)) == 3 * (1 + 2 * BATCH)
    single, in_body, keyed = requests[:3]
    assert (json.loads(single.body)["event_id"],) == single.ids == ("t-2-0",)
    assert [e["event_id"] for e in json.loads(in_body.body)["events"]] == list(in_body.ids)
    assert keyed.headers == {"Idempotency-Key": "t-2-2"}
    assert keyed.ids == tuple(f"t-2-2.{n}" for n in range(BATCH))  # what the server derives
    sessions = {e["session_id"] for e in json.loads(in_body.body)["events"]}
    assert sessions == {f"t-{s}" for s in range(4)}  # a batch spreads over the sessions


def test_missing_seqs_are_the_holes_below_the_highest() -> None:
    assert missing_seqs([]) == 0
    assert missing_seqs([1, 2, 3]) == 0
    assert missing_seqs([3, 1]) == 1
    assert missing_seqs([2, 5]) == 3


def test_a_figure_misses_its_target_or_its_scenario_failed() -> None:
    assert not Figure("s", "sqlite", "lost", 0, target=ZERO).missed
    assert Figure("s", "sqlite", "lost", 1, target=ZERO).missed
    assert not Figure("s", "sqlite", "back", 4.9, " s", Bound("<=", 5)).missed
    assert Figure("s", "sqlite", "back", float("inf"), " s", Bound("<=", 5)).missed
    assert not Figure("s", "sqlite", "503 answers", 12).missed  # information only
    assert not Figure("s", "pg", "scenario", None, note="skipped").missed
    assert Figure("s", "pg", "scenario", None, note="broke", failed=True).missed
