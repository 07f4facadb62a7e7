"""The sticky agent index (``callcenter.flow.sticky``): who last answered a number."""

from __future__ import annotations

from callcenter.flow.sticky import LastServed

DAY = 86_400.0


def test_one_caller_whatever_the_spelling_and_the_later_answer_wins() -> None:
    index = LastServed()
    index.served("0901234567", "7", 1_000.0)
    assert index.agent_for("+84901234567", 2_000.0, 30) == "7"
    assert index.agent_for("84901234567", 2_000.0, 30) == "7"
    index.served("+84 90 123 4567", "9", 1_500.0)
    index.served("0901234567", "7", 1_200.0)  # older than what it knows: ignored
    assert index.agent_for("0901234567", 2_000.0, 30) == "9"
    assert len(index) == 1


def test_only_within_the_days_and_never_for_a_number_that_does_not_normalize() -> None:
    index = LastServed()
    index.served("0901234567", "7", 0.0)
    assert index.agent_for("0901234567", 7 * DAY, 7) == "7"
    assert index.agent_for("0901234567", 7 * DAY + 1, 7) is None
    index.served("anonymous", "7", 0.0)
    index.served("1001", "7", 0.0)
    assert len(index) == 1
    assert index.agent_for("anonymous", 1.0, 7) is None
    assert index.agent_for("0907654321", 1.0, 7) is None


def test_seeded_rows_oldest_first_keep_the_last_agent() -> None:
    index = LastServed()
    index.seed([("0901234567", "1", 10.0), ("0901234567", "2", 20.0), ("0911111111", "3", 5.0)])
    assert index.agent_for("0901234567", 30.0, 1) == "2"
    assert index.agent_for("0911111111", 30.0, 1) == "3"
