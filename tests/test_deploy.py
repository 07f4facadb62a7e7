"""The deployment samples agree with the code: the Asterisk files (``deploy/asterisk/``)
with the sample controller config, and the systemd unit (``deploy/systemd/``) with
systemd and with how ``callcenter run`` stops.

The Asterisk files are read with a small reader of Asterisk's config syntax
(``[name](templates)``, ``key = value``, ``exten =>`` / ``same =>``): no library
reads it, and only the cross-references are checked here, not Asterisk's own
validation of each option.
"""

from __future__ import annotations

import asyncio
import configparser
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.config import load_config
from callcenter.storage import make_engine, make_session_factory
from callcenter.storage.models import Call

from .e2e_support import scenario, seeded, wait_until
from .test_e2e_restart import parked, sim_and_config, start_controller, stop_all

ROOT = Path(__file__).resolve().parent.parent
ASTERISK = ROOT / "deploy" / "asterisk"
UNIT = ROOT / "deploy" / "systemd" / "hotline.service"


@dataclass
class Section:
    name: str
    template: bool = False
    bases: list[str] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str) -> list[str]:
        return [v for k, v in self.lines if k == key]


def read_conf(path: Path) -> list[Section]:
    """Sections in file order (templates left out); a section's lines start with its
    templates' lines."""
    sections: list[Section] = []
    templates: dict[str, Section] = {}
    current: Section | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        head = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if head:
            opts = [o.strip() for o in (head[2] or "").split(",") if o.strip()]
            current = Section(head[1], template="!" in opts, bases=[o for o in opts if o != "!"])
            for base in current.bases:
                assert base in templates, f"{path.name}:{number}: no template [{base}]"
                current.lines.extend(templates[base].lines)
            if current.template:
                templates[current.name] = current
            else:
                sections.append(current)
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}:{number}: not key = value: {raw!r}"
        current.lines.append((key.strip(), value.lstrip(">").strip()))
    return sections


def pattern_matches(pattern: str, number: str) -> bool:
    """Asterisk's extension matching: a literal, or ``_`` then X Z N . ! and [..] classes."""
    if not pattern.startswith("_"):
        return pattern == number
    rx = ""
    i, p = 0, pattern[1:]
    while i < len(p):
        c = p[i]
        if c == "X":
            rx += "[0-9]"
        elif c == "Z":
            rx += "[1-9]"
        elif c == "N":
            rx += "[2-9]"
        elif c == ".":
            rx += ".+"
        elif c == "!":
            rx += ".*"
        elif c == "[":
            end = p.index("]", i)
            rx += f"[{p[i + 1 : end]}]"
            i = end
        else:
            rx += re.escape(c)
        i += 1
    return re.fullmatch(rx, number) is not None


def first_step(context: Section, number: str) -> str | None:
    """What ``number`` runs first in ``context`` (priority 1), or None (404 on a real node)."""
    for key, value in context.lines:
        if key == "exten":
            exten, prio, app = (part.strip() for part in value.split(",", 2))
            if prio == "1" and pattern_matches(exten, number):
                return app
    return None


def by_name(sections: list[Section]) -> dict[str, list[Section]]:
    out: dict[str, list[Section]] = {}
    for s in sections:
        out.setdefault(s.name, []).append(s)
    return out


# -- the Asterisk side ---------------------------------------------------------------


def test_the_dialplan_has_every_context_the_sample_config_names() -> None:
    config = load_config(ROOT / "config" / "hotline.yaml")
    contexts = by_name(read_conf(ASTERISK / "extensions.conf"))
    for name in [*config.hotline.entry_contexts, config.hotline.after_call_context]:
        assert name in contexts, f"[{name}] missing from extensions.conf"
        steps = [v for k, v in contexts[name][0].lines if k in ("exten", "same")]
        assert any("AGI(agi:async)" in s for s in steps), f"[{name}] never enters AsyncAGI"


def test_the_ring_all_context_waits_unbridged_and_bridges_only_at_exten_bridge() -> None:
    # the controller redirects the leg it picks to `bridge`; the others never bridge
    config = load_config(ROOT / "config" / "hotline.yaml")
    contexts = by_name(read_conf(ASTERISK / "extensions.conf"))
    name = config.hotline.ring_all_context
    assert name in contexts, f"[{name}] missing from extensions.conf"
    steps = [v for k, v in contexts[name][0].lines if k in ("exten", "same")]
    waiting = steps[: next(i for i, v in enumerate(steps) if v.startswith("bridge,"))]
    assert waiting[0].startswith("s,1,") and not any("Bridge(" in v for v in waiting)
    assert any("Wait(" in v for v in waiting) and waiting[-1].endswith("Hangup()")
    step = first_step(contexts[name][0], "bridge")
    assert step == "Bridge(${HOTLINE_CALLER},F(${HOTLINE_AFTER}^s^1))", step


def test_the_agent_wait_context_holds_the_agent_with_music_until_bridged_back() -> None:
    # an IVR visit redirects the agent leg to s 1 of agent_wait_context (ExtraChannel)
    config = load_config(ROOT / "config" / "hotline.yaml")
    contexts = by_name(read_conf(ASTERISK / "extensions.conf"))
    name = config.hotline.agent_wait_context
    assert name in contexts, f"[{name}] missing from extensions.conf"
    steps = [v for k, v in contexts[name][0].lines if k in ("exten", "same")]
    assert steps[0].startswith("s,1,") and any("MusicOnHold(" in s for s in steps), steps


@pytest.mark.parametrize(
    ("number", "dials"), [("1001", "PJSIP/${EXTEN},"), ("+842838123456", "@trunk")]
)
def test_the_ivr_transfer_context_dials_extensions_and_numbers(number: str, dials: str) -> None:
    # an IVR transfer node redirects the caller to its `to` in the IVR's transfer_context
    config = load_config(ROOT / "config" / "hotline.yaml")
    contexts = by_name(read_conf(ASTERISK / "extensions.conf"))
    name = config.ivr.transfer_context
    assert name in contexts, f"[{name}] missing from extensions.conf"
    step = first_step(contexts[name][0], number)
    assert step is not None and step.startswith("Dial(") and dials in step, step


@pytest.mark.parametrize("number", ["hotline", "5551100", "19001234", "+84901234567", "s"])
def test_the_entry_context_takes_every_number_and_the_name_hotline(number: str) -> None:
    """``sip:hotline@node`` (the README's probe URI) answered 404 on a real Asterisk
    before ``exten => hotline`` was added."""
    config = load_config(ROOT / "config" / "hotline.yaml")
    entry = by_name(read_conf(ASTERISK / "extensions.conf"))["hotline"][0]
    step = first_step(entry, number)
    assert step == f"Goto({config.hotline.entry_contexts[0]},s,1)", (number, step)


def test_the_pattern_reader_itself() -> None:
    assert pattern_matches("_X.", "12") and not pattern_matches("_X.", "1")
    assert pattern_matches("_+X.", "+84901") and not pattern_matches("_X.", "hotline")
    assert pattern_matches("_1[0-2]XX", "1099") and not pattern_matches("_1[0-2]XX", "1399")


def test_every_pjsip_reference_names_a_section_of_the_right_type() -> None:
    pjsip = read_conf(ASTERISK / "pjsip.conf")
    contexts = by_name(read_conf(ASTERISK / "extensions.conf"))
    typed: dict[str, set[str]] = {}
    for s in pjsip:
        (kind,) = s.get("type")
        typed.setdefault(kind, set()).add(s.name)
    for s in pjsip:
        for key, kind in (("auth", "auth"), ("aors", "aor"), ("endpoint", "endpoint"),
                          ("transport", "transport")):  # fmt: skip
            for ref in s.get(key):
                for name in ref.split(","):
                    assert name.strip() in typed[kind], f"[{s.name}] {key}={name}: no {kind}"
        if s.get("type") == ["endpoint"]:
            (context,) = s.get("context")
            assert context in contexts, f"[{s.name}] context={context}: not in extensions.conf"
    for s in pjsip:
        if s.get("type") == ["auth"]:
            assert s.get("username") and s.get("password"), f"[{s.name}] auth without a login"


def test_the_demo_agents_devices_are_endpoints_of_the_sample() -> None:
    from callcenter.demo.data import demo_agents

    endpoints = {
        s.name for s in read_conf(ASTERISK / "pjsip.conf") if s.get("type") == ["endpoint"]
    }
    devices = [a.device for a in demo_agents(2) if a.device is not None]
    assert len(devices) == 2
    assert all(d.removeprefix("PJSIP/") in endpoints for d in devices), devices


def test_a_supervisors_phone_is_an_endpoint_the_cli_accepts() -> None:
    from callcenter.storage.store import _checked_device

    endpoints = {
        s.name: s for s in read_conf(ASTERISK / "pjsip.conf") if s.get("type") == ["endpoint"]
    }
    assert "9000" in endpoints and _checked_device("sue", "PJSIP/9000") == "PJSIP/9000"


def test_the_trunk_and_the_probe_enter_the_hotline() -> None:
    endpoints = {
        s.name: s for s in read_conf(ASTERISK / "pjsip.conf") if s.get("type") == ["endpoint"]
    }
    assert endpoints["trunk"].get("context") == ["hotline"]
    assert endpoints["probe"].get("context") == ["hotline"]


def test_the_manager_user_matches_the_sample_config() -> None:
    config = load_config(ROOT / "config" / "hotline.yaml")
    manager = by_name(read_conf(ASTERISK / "manager.conf"))
    node = config.nodes[0]
    (general,) = manager["general"]
    assert general.get("port") == [str(node.port)] and general.get("bindaddr") == [node.host]
    (user,) = manager[node.username]
    assert user.get("secret") == [node.secret.get_secret_value()]
    write = {c.strip() for c in user.get("write")[0].split(",")}
    assert {"call", "originate", "agi"} <= write


# -- systemd ---------------------------------------------------------------------------


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    exe = Path(sys.executable).with_name("callcenter")
    assert exe.exists(), f"{exe}: the project's console script (pip install -e .)"
    text = UNIT.read_text().replace("/opt/hotline/.venv/bin/callcenter", str(exe))
    (tmp_path / "hotline.service").write_text(text)
    done = subprocess.run([analyze, "verify", str(tmp_path / "hotline.service")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    # a bad value is only a warning (exit 0): nothing may be said at all
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), (
        done.stdout + done.stderr
    )


def test_the_unit_restarts_on_failure_as_a_confined_user() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root") and service["ProtectSystem"] == "strict"
    assert service["ExecStart"].split()[1:3] == ["run", "--config"]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"


async def test_sigterm_stops_the_controller_within_the_units_bound_and_leaves_callers_parked(
    tmp_path: Path, db_url: str
) -> None:
    """What ``systemctl stop`` does: SIGTERM, then SIGKILL after ``TimeoutStopSec``. The
    controller exits 0 before that bound, its callers stay parked in AsyncAGI (the next
    start adopts them) and every one of them reached SQL."""
    bound = float(unit()["Service"]["TimeoutStopSec"])
    numbers = await seeded(db_url, agents=0)
    world = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 40})
    world["callers"]["patience"] = [900, 1200]  # nobody gives up while the test looks
    sim, cfg = await sim_and_config(tmp_path, db_url, world, seed=11)
    procs: list[asyncio.subprocess.Process] = []
    try:
        proc, _ = await start_controller(cfg)
        procs.append(proc)
        await wait_until(lambda: len(parked(sim)) >= 3, 90, "three callers parked")
        sim.world.population.stop_arrivals()
        waiting = set(parked(sim))
        linkedids = {c.linkedid for c in sim.world.channels.values() if c.name in waiting}
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), bound)
        assert code == 0
        assert waiting <= set(parked(sim)), "SIGTERM must not hang up on anyone"
    finally:
        await stop_all(procs, [])
        await sim.close()
    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            rows = set(await session.scalars(select(Call.linkedid)))
    finally:
        await engine.dispose()
    assert linkedids <= rows


def test_the_callback_contexts_enter_asyncagi_and_dial_the_customer_out() -> None:
    # a queued callback's agent leg is originated into callback_context (AsyncAGI: the
    # whisper), the customer into the default dial string's context
    config = load_config(ROOT / "config" / "hotline.yaml")
    contexts = by_name(read_conf(ASTERISK / "extensions.conf"))
    name = config.hotline.callback_context
    assert name in contexts, f"[{name}] missing from extensions.conf"
    steps = [v for k, v in contexts[name][0].lines if k in ("exten", "same")]
    assert steps[0].startswith("s,1,") and any("AGI(agi:async)" in s for s in steps), steps
    from callcenter.flow.callback import CallbackPolicy

    out = CallbackPolicy().dial.split("@", 1)[1]
    assert first_step(contexts[out][0], "0912000001") == "Dial(PJSIP/${EXTEN}@trunk,60)"


def test_the_consult_context_rings_the_agents_endpoint_and_features_allow_atxfer() -> None:
    """An attended transfer's Atxfer rings exten <endpoint> of consult_context (rule 19 of
    callcenter/flow/core.py: ``consult.phone_of``); Asterisk refuses Atxfer without an
    ``atxfer`` feature code and CancelAtxfer without ``atxferabort`` (main/manager.c)."""
    from callcenter.flow.consult import phone_of

    config = load_config(ROOT / "config" / "hotline.yaml")
    contexts = by_name(read_conf(ASTERISK / "extensions.conf"))
    endpoints = {s.name for s in read_conf(ASTERISK / "pjsip.conf") if "endpoint" in s.get("type")}
    for agent in ("1001", "1002"):
        assert agent in endpoints, f"PJSIP/{agent} is no endpoint of pjsip.conf"
        context, exten = phone_of(f"PJSIP/{agent}", config.hotline.consult_context)
        assert context in contexts, f"[{context}] missing from extensions.conf"
        assert first_step(contexts[context][0], exten) == "Dial(PJSIP/${EXTEN},30)"
    features = by_name(read_conf(ASTERISK / "features.conf"))
    assert features["featuremap"][0].get("atxfer"), "no atxfer feature code: Atxfer refused"
    general = features["general"][0]
    assert general.get("atxferabort"), "no atxferabort: CancelAtxfer refused"
    assert general.get("atxferdropcall") == ["no"], "the agent hanging up must complete it"


def test_a_peer_nodes_trunk_rings_this_nodes_phones() -> None:
    """Several nodes: the other node's endpoint enters the context pbxsim's trunk uses, which
    dials the phone the agent leg asks for (docs/architecture.md, "Several PBXs")."""
    from pbxsim.trunk import PEER_CONTEXT

    endpoints = {
        s.name: s for s in read_conf(ASTERISK / "pjsip.conf") if s.get("type") == ["endpoint"]
    }
    assert endpoints["pbx2"].get("context") == [PEER_CONTEXT]
    peers = by_name(read_conf(ASTERISK / "extensions.conf"))[PEER_CONTEXT][0]
    assert first_step(peers, "1001") == "Dial(PJSIP/${EXTEN})"
    from callcenter.flow.consult import phone_of

    config = load_config(ROOT / "config" / "hotline.yaml")
    context, exten = phone_of("PJSIP/1001", config.hotline.consult_context, "pbx2")
    consult = by_name(read_conf(ASTERISK / "extensions.conf")).get(context)
    assert consult, f"[{context}] missing: a consulted phone on pbx2 never rings"
    assert first_step(consult[0], exten) == "Dial(PJSIP/${EXTEN}@pbx2,30)"
    text = (ROOT / "config" / "hotline.yaml").read_text()
    assert "# trunks: {pbx2: pbx2}" in text, "the sample config names the sample's endpoint"
