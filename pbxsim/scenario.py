"""A scenario: who calls, when, what they press, how long they wait; how agents answer.

Read from TOML (``Scenario.load``) or a dict (``Scenario.from_dict``). A bad
value raises :class:`ScenarioError` naming the file and the key. Durations are
seconds of simulated time; a duration is a number (fixed), ``[min, max]``
(uniform) or a table ``{kind = "fixed"|"uniform"|"exponential", ...}``::

    context = "hotline-safe"          # where inbound calls enter
    bridge_swap_s = 0.001             # MixMonitor on a caller being bridged fails (default 0: off)
    [arrivals]
    kind = "poisson"                  # or "trace" with calls = [{at = 1.5, number = "0901234567"}]
    calls_per_minute = 6
    max_calls = 20
    [callers]
    number_format = "mixed"           # generated +8490xxxxxxx / 090xxxxxxx; or numbers = [...]
    patience = {kind = "exponential", mean = 90}
    press_delay = [0.5, 2.0]
    [[callers.menus]]
    choices = [{digits = "1", weight = 3}, {digits = "2", weight = 1}]
    [agents.default]
    answer_delay = [1, 3]
    no_answer_probability = 0.1
    busy_probability = 0.05
    talk_time = [20, 60]
    unreachable = false               # a PJSIP endpoint with no contact (Reason 0 at once)
    agent_hangs_up_probability = 0.5
    [agents.phones.1001]              # per extension / PJSIP endpoint
    answer_delay = 5
    plan = ["noanswer", "answer"]     # how its next calls go, in order (then as above)
    sip_uri = "sip:1001@127.0.0.1:5070"  # with --sip: a real SIP phone (pbxsim.sip)
    [prompts]
    "hotline/welcome" = 4.2           # extra prompt names and their lengths
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the words of an agent phone's ``plan``
PLAN_STEPS = ("answer", "noanswer", "busy")


class ScenarioError(ValueError):
    """A scenario value is wrong; the message names the source and the key."""


@dataclass(frozen=True)
class Dist:
    """A duration distribution in simulated seconds."""

    kind: str = "fixed"
    a: float = 0.0
    b: float = 0.0
    cap: float | None = None

    def sample(self, rng: random.Random) -> float:
        if self.kind == "uniform":
            value = rng.uniform(self.a, self.b)
        elif self.kind == "exponential":
            value = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        else:
            value = self.a
        return min(value, self.cap) if self.cap is not None else value


@dataclass(frozen=True)
class MenuChoice:
    digits: str
    weight: float = 1.0


@dataclass(frozen=True)
class Menu:
    name: str
    choices: tuple[MenuChoice, ...]

    def pick(self, rng: random.Random) -> str:
        return rng.choices([c.digits for c in self.choices], [c.weight for c in self.choices])[0]


@dataclass(frozen=True)
class TraceCall:
    at: float
    number: str = ""
    digits: tuple[str, ...] | None = None
    patience: float | None = None


@dataclass(frozen=True)
class Arrivals:
    kind: str = "poisson"
    calls_per_minute: float = 0.0
    calls: tuple[TraceCall, ...] = ()
    max_calls: int | None = None
    start_after: float = 0.0


@dataclass(frozen=True)
class Callers:
    numbers: tuple[str, ...] = ()
    number_format: str = "mixed"
    menus: tuple[Menu, ...] = ()
    press_delay: Dist = Dist("uniform", 0.5, 2.0)
    patience: Dist = Dist("exponential", 120.0)


@dataclass(frozen=True)
class Agent:
    answer_delay: Dist = Dist("uniform", 1.0, 3.0)
    no_answer_probability: float = 0.0
    busy_probability: float = 0.0
    talk_time: Dist = Dist("uniform", 20.0, 60.0)
    agent_hangs_up_probability: float = 0.5
    sip_uri: str = ""  #: with ``--sip``, ``PJSIP/<key>`` dials this real phone (pbxsim.sip)
    #: a PJSIP endpoint with no contact (16's 2003): the Originate fails at once, Reason 0
    unreachable: bool = False
    #: how its next calls go, one word each in order ("answer", "noanswer", "busy"),
    #: before the probabilities decide (a customer a queued callback reaches the 2nd time)
    plan: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    arrivals: Arrivals = Arrivals()
    callers: Callers = Callers()
    agents: dict[str, Agent] = field(default_factory=dict)
    default_agent: Agent = Agent()
    context: str = "hotline-safe"
    dnid: str = "1900"
    trunk: str = "trunk"
    prompts: dict[str, float] = field(default_factory=dict)
    name: str = ""
    #: seconds the agent leg's Bridge() swaps the caller's channel (MixMonitor: No such channel)
    bridge_swap_s: float = 0.0

    def agent(self, key: str) -> Agent:
        return self.agents.get(key, self.default_agent)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ScenarioError(f"{path}: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<scenario>") -> Scenario:
        p = _Parser(source)
        p.only(
            d,
            "",
            {"arrivals", "callers", "agents", "context", "dnid", "trunk", "prompts", "name",
             "bridge_swap_s"},
        )  # fmt: skip
        agents_d = p.table(d, "agents")
        p.only(agents_d, "agents", {"default", "phones"})
        default = p.agent(p.table(agents_d, "default", "agents."), "agents.default")
        phones = p.table(agents_d, "phones", "agents.")
        prompts = p.table(d, "prompts")
        return cls(
            arrivals=p.arrivals(p.table(d, "arrivals")),
            callers=p.callers(p.table(d, "callers")),
            agents={
                str(k): p.agent(
                    p.table(phones, str(k), "agents.phones."), f"agents.phones.{k}", default
                )
                for k in phones
            },
            default_agent=default,
            context=p.text(d, "context", "hotline-safe"),
            dnid=p.text(d, "dnid", "1900"),
            trunk=p.text(d, "trunk", "trunk"),
            prompts={
                str(k): p.number(prompts, str(k), None, "prompts.", minimum=0.0) for k in prompts
            },
            name=p.text(d, "name", ""),
            bridge_swap_s=p.number(d, "bridge_swap_s", 0.0, minimum=0.0),
        )


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, msg: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {key or '<top>'}: {msg}")

    def only(self, d: dict[str, Any], where: str, allowed: set[str]) -> None:
        for key in d:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if where else key,
                    f"unknown key (expected one of {sorted(allowed)})",
                )

    def table(self, d: dict[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
        value = d.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(prefix + key, "must be a table")
        return value

    def text(self, d: dict[str, Any], key: str, default: str, prefix: str = "") -> str:
        value = d.get(key, default)
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self.fail(prefix + key, f"must be a string, not {value!r}")
        return str(value)

    def number(
        self,
        d: dict[str, Any],
        key: str,
        default: float | None,
        prefix: str = "",
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        value = d.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(prefix + key, f"must be a number, not {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(prefix + key, f"must be >= {minimum}, not {value!r}")
        if maximum is not None and value > maximum:
            raise self.fail(prefix + key, f"must be <= {maximum}, not {value!r}")
        return float(value)

    def dist(self, d: dict[str, Any], key: str, default: Dist, prefix: str) -> Dist:
        if key not in d:
            return default
        value, where = d[key], prefix + key
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < 0:
                raise self.fail(where, "must be >= 0")
            return Dist("fixed", float(value))
        if isinstance(value, list):
            if (
                len(value) != 2
                or not all(isinstance(v, int | float) for v in value)
                or not 0 <= value[0] <= value[1]
            ):
                raise self.fail(
                    where, f"a range must be [min, max] with 0 <= min <= max, not {value!r}"
                )
            return Dist("uniform", float(value[0]), float(value[1]))
        if isinstance(value, dict):
            kind = value.get("kind", "fixed")
            cap = (
                self.number(value, "max", None, where + ".")
                if kind == "exponential" and "max" in value
                else None
            )
            if kind == "fixed":
                return Dist("fixed", self.number(value, "value", None, where + ".", minimum=0))
            if kind == "uniform":
                lo = self.number(value, "min", None, where + ".", minimum=0)
                hi = self.number(value, "max", None, where + ".", minimum=lo)
                return Dist("uniform", lo, hi)
            if kind == "exponential":
                return Dist(
                    "exponential", self.number(value, "mean", None, where + ".", minimum=0), cap=cap
                )
            raise self.fail(where + ".kind", f"must be fixed, uniform or exponential, not {kind!r}")
        raise self.fail(where, f"must be a number, [min, max] or a table, not {value!r}")

    def probability(self, d: dict[str, Any], key: str, default: float, prefix: str) -> float:
        return self.number(d, key, default, prefix, minimum=0.0, maximum=1.0)

    def arrivals(self, d: dict[str, Any]) -> Arrivals:
        self.only(d, "arrivals", {"kind", "calls_per_minute", "calls", "max_calls", "start_after"})
        kind = d.get("kind", "poisson")
        max_calls = d.get("max_calls")
        if max_calls is not None and (
            not isinstance(max_calls, int) or isinstance(max_calls, bool) or max_calls < 0
        ):
            raise self.fail("arrivals.max_calls", f"must be a whole number >= 0, not {max_calls!r}")
        start = self.number(d, "start_after", 0.0, "arrivals.", minimum=0)
        if kind == "poisson":
            cpm = self.number(d, "calls_per_minute", 0.0, "arrivals.", minimum=0)
            return Arrivals("poisson", cpm, (), max_calls, start)
        if kind == "trace":
            calls = d.get("calls", [])
            if not isinstance(calls, list):
                raise self.fail("arrivals.calls", "must be a list of {at=, number=}")
            out = []
            for i, c in enumerate(calls):
                where = f"arrivals.calls[{i}]."
                if not isinstance(c, dict):
                    raise self.fail(where[:-1], "must be a table {at=, number=}")
                self.only(c, where[:-1], {"at", "number", "digits", "patience"})
                digits = c.get("digits")
                if digits is not None and (
                    not isinstance(digits, list) or not all(isinstance(x, str) for x in digits)
                ):
                    raise self.fail(where + "digits", "must be a list of digit strings")
                patience = (
                    self.number(c, "patience", None, where, minimum=0) if "patience" in c else None
                )
                out.append(
                    TraceCall(
                        self.number(c, "at", None, where, minimum=0),
                        self.text(c, "number", "", where),
                        tuple(digits) if digits is not None else None,
                        patience,
                    )
                )
            return Arrivals("trace", 0.0, tuple(sorted(out, key=lambda t: t.at)), max_calls, start)
        raise self.fail("arrivals.kind", f"must be 'poisson' or 'trace', not {kind!r}")

    def callers(self, d: dict[str, Any]) -> Callers:
        self.only(d, "callers", {"numbers", "number_format", "menus", "press_delay", "patience"})
        numbers = d.get("numbers", [])
        if numbers == "generated":
            numbers = []
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            raise self.fail("callers.numbers", 'must be a list of strings or "generated"')
        fmt = d.get("number_format", "mixed")
        if fmt not in ("mixed", "national", "e164"):
            raise self.fail(
                "callers.number_format", f"must be mixed, national or e164, not {fmt!r}"
            )
        menus = []
        raw_menus = d.get("menus", [])
        if not isinstance(raw_menus, list):
            raise self.fail("callers.menus", "must be a list of tables")
        for i, m in enumerate(raw_menus):
            where = f"callers.menus[{i}]"
            if (
                not isinstance(m, dict)
                or not isinstance(m.get("choices"), list)
                or not m["choices"]
            ):
                raise self.fail(
                    where + ".choices", "must be a non-empty list of {digits=, weight=}"
                )
            choices = []
            for j, c in enumerate(m["choices"]):
                cw = f"{where}.choices[{j}]."
                if not isinstance(c, dict) or not isinstance(c.get("digits"), str):
                    raise self.fail(cw + "digits", "must be a string of digits")
                if any(ch not in "0123456789*#" for ch in c["digits"]):
                    raise self.fail(cw + "digits", f"must hold only 0-9 * #, not {c['digits']!r}")
                choices.append(
                    MenuChoice(c["digits"], self.number(c, "weight", 1.0, cw, minimum=0))
                )
            menus.append(Menu(str(m.get("name", f"menu{i}")), tuple(choices)))
        return Callers(
            tuple(numbers),
            fmt,
            tuple(menus),
            self.dist(d, "press_delay", Callers.press_delay, "callers."),
            self.dist(d, "patience", Callers.patience, "callers."),
        )

    def agent(self, d: dict[str, Any], where: str, base: Agent | None = None) -> Agent:
        base = base or Agent()
        self.only(
            d,
            where,
            {
                "answer_delay",
                "no_answer_probability",
                "busy_probability",
                "talk_time",
                "agent_hangs_up_probability",
                "sip_uri",
                "unreachable",
                "plan",
            },
        )
        w = where + "."
        return Agent(
            self.dist(d, "answer_delay", base.answer_delay, w),
            self.probability(d, "no_answer_probability", base.no_answer_probability, w),
            self.probability(d, "busy_probability", base.busy_probability, w),
            self.dist(d, "talk_time", base.talk_time, w),
            self.probability(d, "agent_hangs_up_probability", base.agent_hangs_up_probability, w),
            self.text(d, "sip_uri", "", w),
            self.flag(d, "unreachable", base.unreachable, w),
            self.plan(d, w),
        )

    def plan(self, d: dict[str, Any], prefix: str) -> tuple[str, ...]:
        value = d.get("plan", [])
        if not isinstance(value, list) or any(v not in PLAN_STEPS for v in value):
            raise self.fail(prefix + "plan", f"must be a list of {', '.join(PLAN_STEPS)}, "
                                             f"not {value!r}")  # fmt: skip
        return tuple(value)

    def flag(self, d: dict[str, Any], key: str, default: bool, prefix: str) -> bool:
        value = d.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(prefix + key, f"must be true or false, not {value!r}")
        return value
