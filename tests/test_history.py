"""history_request: tail for a console's up-arrow, range and search as IPython answers them."""

from __future__ import annotations

import pytest

from codemode_kernel.kernel.history import SESSION, History

pytestmark = pytest.mark.unit


@pytest.fixture
def history() -> History:
    h = History()
    for line, source in enumerate(["let a = 1", "text(a)", "%wait", "text(a)", "Math.max(1)"], 1):
        h.append(line, source)
    return h


def inputs(reply: dict[str, object]) -> list[object]:
    return [entry[2] for entry in reply["history"]]  # type: ignore[attr-defined, index]


def test_tail(history: History) -> None:
    reply = history.reply("tail", n=2)
    assert reply == {
        "status": "ok",
        "history": [(SESSION, 4, "text(a)"), (SESSION, 5, "Math.max(1)")],
    }
    assert len(history.reply("tail", n=0)["history"]) == 5
    assert history.reply("tail", output=True, n=1)["history"] == [
        (SESSION, 5, ("Math.max(1)", None))
    ]


def test_range_is_start_inclusive_stop_exclusive(history: History) -> None:
    assert inputs(history.reply("range", start=2, stop=4, session=SESSION)) == ["text(a)", "%wait"]
    assert inputs(history.reply("range", start=4)) == ["text(a)", "Math.max(1)"]
    assert history.reply("range", session=7)["history"] == []


def test_search_is_a_glob_with_n_and_unique(history: History) -> None:
    assert inputs(history.reply("search", pattern="text*")) == ["text(a)", "text(a)"]
    assert [e[1] for e in history.reply("search", pattern="text*", unique=True)["history"]] == [4]
    assert inputs(history.reply("search", pattern="*a*", n=1)) == ["Math.max(1)"]


def test_unknown_access_type_answers_nothing(history: History) -> None:
    assert history.reply("sideways") == {"status": "ok", "history": []}


def test_it_keeps_the_most_recent_entries_up_to_its_limit() -> None:
    h = History(limit=3)
    for i in range(1, 6):
        h.append(i, f"cell {i}")
    assert [e[1] for e in h.reply("tail")["history"]] == [3, 4, 5]
