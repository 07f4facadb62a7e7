"""Scenario files: TOML in, a Scenario out; a bad value names its file and key."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pbxsim.scenario import Dist, Scenario, ScenarioError

EXAMPLE = """
name = "morning"
context = "hotline-safe"
dnid = "19001234"

[arrivals]
kind = "trace"
calls = [{at = 2.5, number = "0901234567", digits = ["1", "42#"]}, {at = 1.0, number = "+84912345678"}]
max_calls = 10

[callers]
number_format = "e164"
patience = {kind = "exponential", mean = 90, max = 300}
press_delay = [0.5, 2.0]

[[callers.menus]]
name = "language"
choices = [{digits = "1", weight = 3}, {digits = "2", weight = 1}]

[agents.default]
answer_delay = [1, 3]
no_answer_probability = 0.1
talk_time = {kind = "uniform", min = 20, max = 60}

[agents.phones.1001]
busy_probability = 1.0

[prompts]
"hotline/welcome" = 4.2
"""


def test_load_toml(tmp_path: Path) -> None:
    path = tmp_path / "morning.toml"
    path.write_text(EXAMPLE)
    s = Scenario.load(path)
    assert (s.name, s.context, s.dnid) == ("morning", "hotline-safe", "19001234")
    assert [c.at for c in s.arrivals.calls] == [1.0, 2.5]  # sorted by time
    assert s.arrivals.calls[1].digits == ("1", "42#")
    assert s.callers.patience == Dist("exponential", 90.0, cap=300.0)
    assert s.callers.menus[0].choices[0].weight == 3
    assert s.agent("1001").busy_probability == 1.0
    assert s.agent("1001").no_answer_probability == 0.1  # inherits the default
    assert s.agent("9999") == s.default_agent
    assert s.prompts == {"hotline/welcome": 4.2}


def test_distributions_sample_in_range() -> None:
    rng = random.Random(1)
    assert Dist("fixed", 3).sample(rng) == 3
    assert all(1 <= Dist("uniform", 1, 2).sample(rng) <= 2 for _ in range(100))
    assert all(Dist("exponential", 10, cap=15).sample(rng) <= 15 for _ in range(100))


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"arrivals": {"kind": "burst"}}, "arrivals.kind"),
        ({"arrivals": {"calls_per_minute": "six"}}, "arrivals.calls_per_minute"),
        ({"arrivals": {"kind": "trace", "calls": [{"at": -1}]}}, "arrivals.calls[0].at"),
        ({"callers": {"patience": [5, 1]}}, "callers.patience"),
        (
            {"callers": {"menus": [{"choices": [{"digits": "1a"}]}]}},
            "callers.menus[0].choices[0].digits",
        ),
        ({"agents": {"default": {"busy_probability": 2}}}, "agents.default.busy_probability"),
        (
            {"agents": {"phones": {"1001": {"talk_time": {"kind": "normal"}}}}},
            "agents.phones.1001.talk_time.kind",
        ),
        ({"surprise": 1}, "surprise"),
        (
            {"agents": {"phones": {"2003": {"unreachable": "yes"}}}},
            "agents.phones.2003.unreachable",
        ),
        ({"bridge_swap_s": -1}, "bridge_swap_s"),
    ],
)
def test_bad_values_name_source_and_key(data: dict, key: str) -> None:
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, source="demo.toml")
    assert str(err.value).startswith(f"demo.toml: {key}: ")


def test_pjsip_bench_phones_and_the_swap_knob() -> None:
    """16's bench as a scenario: busy, never answers, no contact (unreachable), answers."""
    s = Scenario.from_dict({"bridge_swap_s": 0.002, "agents": {"phones": {
        "2001": {"busy_probability": 1.0}, "2002": {"no_answer_probability": 1.0},
        "2003": {"unreachable": True}, "2004": {"answer_delay": 1}}}})  # fmt: skip
    assert s.bridge_swap_s == 0.002
    assert [s.agent(k).unreachable for k in ("2001", "2002", "2003", "2004")] == [
        False, False, True, False,
    ]  # fmt: skip
    assert Scenario.from_dict({}).bridge_swap_s == 0.0


def test_unreadable_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[arrivals\n")
    with pytest.raises(ScenarioError, match="broken.toml"):
        Scenario.load(path)


def test_shipped_demo_scenario_loads() -> None:
    demo = Path(__file__).resolve().parents[1] / "pbxsim" / "scenarios" / "demo.toml"
    s = Scenario.load(demo)
    assert s.arrivals.kind == "poisson" and len(s.callers.menus) == 2


def test_a_phone_plan_is_a_list_of_answer_noanswer_busy() -> None:
    sc = Scenario.from_dict({"agents": {"phones": {"0912000101": {"plan": ["noanswer", "answer"]}}}})
    assert sc.agent("0912000101").plan == ("noanswer", "answer")
    with pytest.raises(ScenarioError, match=r"agents.phones.1001.plan: must be a list of answer"):
        Scenario.from_dict({"agents": {"phones": {"1001": {"plan": ["maybe"]}}}})
