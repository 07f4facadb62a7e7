"""The controller config: the sample loads; every bad file gives `file:line: path: reason` lines."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from acd import AgentConfig
from callcenter.config import ConfigError, HotlineConfig, load_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "config" / "hotline.yaml"

# a small valid config and IVR; the tests below break them one way each
# (line numbers are their own)
GOOD = textwrap.dedent(
    """\
    nodes:
      - name: pbx1
        host: 127.0.0.1
        username: hotline
        secret: s3cret
    hotline:
      recordings_dir: /var/spool/asterisk/monitor
    ivr_file: ivr.yaml
    database_url: sqlite+aiosqlite:///var/hotline.db
    queues:
      - name: support
        offer_timeout_s: 15
      - name: billing
    web:
      port: 8080
    """
)
IVR = textwrap.dedent(
    """\
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: hotline/vi/menu
    nodes:
      main:
        prompt: menu
        options:
          1: {queue: support}
          2: {queue: billing}
    """
)


def write(tmp_path: Path, config: str, ivr: str | None = IVR) -> Path:
    if ivr is not None:
        (tmp_path / "ivr.yaml").write_text(ivr, encoding="utf-8")
    path = tmp_path / "hotline.yaml"
    path.write_text(config, encoding="utf-8")
    return path


def problems_of(
    tmp_path: Path, config: str, ivr: str | None = IVR, environ: dict[str, str] | None = None
) -> list[str]:
    """Load ``config`` (beside ``ivr``); the problem lines, file names relative to tmp_path."""
    path = write(tmp_path, config, ivr)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={} if environ is None else environ)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p).replace(f"{tmp_path}{os.sep}", "") for p in caught.value.problems]


def broken(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_sample_config_loads() -> None:
    config = load_config(SAMPLE, environ={})
    assert [n.name for n in config.nodes] == ["pbx1"]
    assert config.nodes[0].resolved_secret == "change-me"
    assert config.hotline.entry_contexts == ["hotline-safe"]
    assert config.hotline.bridge_after_call == "F(after-call^s^1)"
    assert config.ivr_path == SAMPLE.parent / "ivr.yaml"
    assert config.ivr.fallback_queue == "support"
    assert config.recordings_read_dir == Path("/var/spool/asterisk/monitor")
    assert config.web.secret_key is None  # unset: a random key per start
    # the sample lists the default dispositions, as its comment says
    from callcenter.config import DEFAULT_DISPOSITIONS

    assert config.dispositions == DEFAULT_DISPOSITIONS


def test_demo_config_loads() -> None:
    config = load_config(ROOT / "config" / "demo.yaml", environ={})
    assert config.nodes[0].resolved_secret == "hotline-secret"  # pbxsim's default
    assert config.ivr_path == ROOT / "config" / "ivr.yaml"


def test_sample_database_url_is_the_storage_default() -> None:
    from callcenter.storage.engine import DEFAULT_URL

    assert load_config(SAMPLE, environ={}).database_url == DEFAULT_URL
    assert HotlineConfig.model_fields["database_url"].default == DEFAULT_URL


def test_small_config_and_acd_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.path == tmp_path / "hotline.yaml"
    assert config.nodes[0].port == 5038 and config.nodes[0].auth == "md5"
    agent = AgentConfig("a1", "An", "PJSIP/1001", ("support", "billing"))
    acd = config.acd_config([agent])
    assert [q.name for q in acd.queues] == ["support", "billing"]
    assert acd.queues[0].offer_timeout_s == 15 and acd.queues[1].wrap_up_s == 10
    assert acd.agents == (agent,) and acd.rna_pause_after == 2


def test_secret_from_the_environment(tmp_path: Path) -> None:
    text = broken("    secret: s3cret", "    secret_env: HOTLINE_AMI_SECRET")
    config = load_config(write(tmp_path, text), environ={"HOTLINE_AMI_SECRET": "from-env"})
    assert config.nodes[0].resolved_secret == "from-env"
    assert "from-env" not in repr(config) and "s3cret" not in repr(
        load_config(write(tmp_path, GOOD), environ={})
    )


def test_web_secret_key_from_the_environment(tmp_path: Path) -> None:
    key = "k" * 32
    config = load_config(write(tmp_path, GOOD), environ={"HOTLINE_SECRET_KEY": key})
    assert config.web.secret_key == key.encode()
    assert problems_of(tmp_path, GOOD, environ={"HOTLINE_SECRET_KEY": "short"}) == [
        "hotline.yaml:14: web.secret_key_env: HOTLINE_SECRET_KEY holds 5 bytes;"
        " a session key needs at least 32"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = broken("    username: hotline", "   username: hotline")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:4: YAML syntax error: expected <block end>, but found"
        " '<block mapping start>' (check the indentation)"
    ]


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    text = broken("    secret: s3cret", "    secret: s3cret\n    pingi_interval_s: 5")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:6: nodes.0.pingi_interval_s: unknown key (did you mean 'ping_interval_s'?)"
    ]


def test_missing_node_secret(tmp_path: Path) -> None:
    text = broken("    secret: s3cret\n", "")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:2: nodes.0.secret: required (or secret_env)"
    ]


def test_secret_and_secret_env(tmp_path: Path) -> None:
    text = broken("    secret: s3cret", "    secret: s3cret\n    secret_env: HOTLINE_AMI_SECRET")
    assert problems_of(tmp_path, text, environ={"HOTLINE_AMI_SECRET": "x"}) == [
        "hotline.yaml:6: nodes.0.secret_env: give secret or secret_env, not both"
    ]


def test_secret_env_not_set(tmp_path: Path) -> None:
    text = broken("    secret: s3cret", "    secret_env: HOTLINE_AMI_SECRET")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:5: nodes.0.secret_env: environment variable HOTLINE_AMI_SECRET is not set"
    ]


@pytest.mark.parametrize(
    ("port", "reason"),
    [
        ("0", "must be at least 1"),
        ("65536", "must be at most 65535"),
        ("http", "expected a whole number"),
    ],
)
def test_bad_port(tmp_path: Path, port: str, reason: str) -> None:
    text = broken("    host: 127.0.0.1", f"    host: 127.0.0.1\n    port: {port}")
    assert problems_of(tmp_path, text) == [f"hotline.yaml:4: nodes.0.port: {reason}"]


def test_yaml_typing_traps(tmp_path: Path) -> None:
    text = broken("secret: s3cret", "secret: 1234").replace("port: 8080", "port: true")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:5: nodes.0.secret: expected a string (quote it: YAML reads this value as a number)",
        "hotline.yaml:15: web.port: expected a whole number",
    ]


def test_empty_section_takes_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, broken("  port: 8080\n", "")), environ={})
    assert config.web.port == 8080 and config.web.secret_key_env == "HOTLINE_SECRET_KEY"


def test_duplicate_queue_name(tmp_path: Path) -> None:
    text = broken("  - name: billing", "  - name: billing\n  - name: support")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:14: queues.2.name: duplicate queue name 'support' (first at queues.0)"
    ]


def test_bad_queue_name_and_timeout(tmp_path: Path) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 0").replace("billing", "Billing")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:12: queues.0.offer_timeout_s: must be greater than 0",
        "hotline.yaml:13: queues.1.name: 'Billing' is not a valid queue name (use a-z 0-9 _ -)",
        "ivr.yaml:12: nodes.main.options.2.queue: unknown queue 'billing'",
    ]


def test_ivr_routes_to_a_queue_not_declared(tmp_path: Path) -> None:
    text = broken("  - name: billing\n", "")
    assert problems_of(tmp_path, text) == [
        "ivr.yaml:12: nodes.main.options.2.queue: unknown queue 'billing'"
    ]


def test_broken_ivr_file(tmp_path: Path) -> None:
    ivr = broken("    prompt: menu", "    prompt: menu\n    timout_s: 4", IVR)
    assert problems_of(tmp_path, GOOD, ivr) == [
        "ivr.yaml:10: nodes.main.timout_s: unknown key (did you mean 'timeout_s'?)"
    ]
    ivr = broken("languages: [vi]", "languages: [vi", IVR)
    assert problems_of(tmp_path, GOOD, ivr) == [
        "ivr.yaml:2: YAML syntax error: expected ',' or ']', but got ':'"
    ]


def test_missing_ivr_file(tmp_path: Path) -> None:
    text = broken("ivr_file: ivr.yaml", "ivr_file: menus.yaml")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:8: ivr_file: menus.yaml: cannot read: No such file or directory"
    ]


def test_relative_recordings_dir(tmp_path: Path) -> None:
    text = broken("recordings_dir: /var/spool", "recordings_dir: var/spool")
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:7: hotline.recordings_dir: 'var/spool/asterisk/monitor' is not an absolute"
        " path (Asterisk would put a relative File= under its own spool directory)"
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "var/spool/voicemail",
            "'var/spool/voicemail' is not an absolute path (Asterisk would put a relative"
            " RECORD FILE name in a directory of its own)",
        ),
        (
            '"/var/spool/my voicemail"',
            "'/var/spool/my voicemail' holds a space or a quote, which RECORD FILE cannot take",
        ),
    ],
)
def test_bad_voicemail_dir(tmp_path: Path, value: str, reason: str) -> None:
    text = broken(
        "recordings_dir: /var/spool/asterisk/monitor\n",
        f"recordings_dir: /var/spool/asterisk/monitor\n  voicemail_dir: {value}\n",
    )
    assert problems_of(tmp_path, text) == [f"hotline.yaml:8: hotline.voicemail_dir: {reason}"]


def test_voicemail_dirs(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD, IVR), environ={})
    assert cfg.hotline.voicemail_dir == "/var/spool/asterisk/voicemail/hotline"
    assert cfg.voicemail_read_dir == Path("/var/spool/asterisk/voicemail/hotline")
    text = broken(
        "recordings_dir: /var/spool/asterisk/monitor\n",
        "recordings_dir: /var/spool/asterisk/monitor\n  voicemail_dir: /srv/vm\n"
        "  voicemail_local_dir: mnt/vm\n",
    )
    local = load_config(write(tmp_path, text, IVR), environ={}).voicemail_read_dir
    assert local == tmp_path / "mnt" / "vm"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql+aiomysql://db/hotline", "unsupported driver 'mysql+aiomysql'"),
        ("sqlite:///var/hotline.db", "unsupported driver 'sqlite'"),
        ("postgresql+asyncpg://db", "no database named"),
        ("hotline.db", "not a database URL"),
    ],
)
def test_bad_database_url(tmp_path: Path, url: str, reason: str) -> None:
    text = broken("sqlite+aiosqlite:///var/hotline.db", url)
    assert problems_of(tmp_path, text) == [
        f"hotline.yaml:9: database_url: {reason};"
        " use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
    ]


def test_every_problem_at_once_sorted_by_file_and_line(tmp_path: Path) -> None:
    text = (
        GOOD.replace("    secret: s3cret\n", "")
        .replace("port: 8080", "port: 80800")
        .replace("queues:", "queue:")
        .replace("username: hotline", "username: hotline\n    username: again")
    )
    ivr = IVR.replace("default_language: vi", "default_language: fr")
    assert problems_of(tmp_path, text, ivr) == [
        "hotline.yaml:1: queues: required",
        "hotline.yaml:2: nodes.0.secret: required (or secret_env)",
        "hotline.yaml:5: nodes.0.username: duplicate key (first at line 4)",
        "hotline.yaml:10: queue: unknown key (did you mean 'queues'?)",
        "hotline.yaml:15: web.port: must be at most 65535",
        "ivr.yaml:2: default_language: 'fr' is not one of the languages (vi)",
    ]


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"
    assert problems_of(tmp_path, "") == ["hotline.yaml:1: the file is empty"]
    assert problems_of(tmp_path, "- a\n") == ["hotline.yaml:1: expected a mapping"]


def _check_config(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HOTLINE_SECRET_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "check-config", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_cli_check_config_ok_on_the_sample() -> None:
    result = _check_config("config/hotline.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "config/hotline.yaml: ok (1 node, 1 queue, IVR config/ivr.yaml: 2 nodes in vi, en)\n"
    )


def test_cli_check_config_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, broken("    secret: s3cret\n", "").replace("  - name: billing\n", ""))
    result = _check_config(str(path))
    assert result.returncode == 1
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"{path}:2: nodes.0.secret: required (or secret_env)",
        f"{tmp_path / 'ivr.yaml'}:12: nodes.main.options.2.queue: unknown queue 'billing'",
    ]


def test_cli_check_config_missing_file(tmp_path: Path) -> None:
    result = _check_config(str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory\n"


def test_dispositions_default_to_the_shipped_set_and_may_be_replaced(tmp_path: Path) -> None:
    from callcenter.config import DEFAULT_DISPOSITIONS

    assert load_config(write(tmp_path, GOOD), environ={}).dispositions == DEFAULT_DISPOSITIONS
    own = GOOD + "dispositions:\n  resolved: Đã giải quyết\n  transferred: Transferred\n"
    cfg = load_config(write(tmp_path, own), environ={})
    assert list(cfg.dispositions.items()) == [("resolved", "Đã giải quyết"),
                                              ("transferred", "Transferred")]  # fmt: skip


def test_bad_disposition_codes_and_labels(tmp_path: Path) -> None:
    text = GOOD + "dispositions:\n  resolved: Solved\n  Bad Code: x\n  empty: ''\n"
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:18: dispositions.Bad Code: 'Bad Code' is not a valid disposition code"
        " (a-z 0-9 _)",
        "hotline.yaml:19: dispositions.empty: String should have at least 1 character",
    ]
    assert problems_of(tmp_path, GOOD + "dispositions: {}\n") == [
        "hotline.yaml:16: dispositions: Dictionary should have at least 1 item after validation,"
        " not 0"
    ]


def test_a_queue_strategy_and_aging_reach_the_acd(tmp_path: Path) -> None:
    from acd import Strategy

    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    strategy: fewest-calls\n"
                  "    aging_per_s: 0\n    retry_same_agent_s: 5")  # fmt: skip
    queues = load_config(write(tmp_path, text), environ={}).acd_config().queues
    assert (queues[0].strategy, queues[0].aging_per_s, queues[0].retry_same_agent_s) == (
        Strategy.FEWEST_CALLS, 0, 5)  # fmt: skip
    assert (queues[1].strategy, queues[1].aging_per_s) == (Strategy.LONGEST_IDLE, 1 / 60)


def test_bad_strategy_and_aging(tmp_path: Path) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    strategy: best-effort\n"
                  "    aging_per_s: -1")  # fmt: skip
    found = problems_of(tmp_path, text)
    assert found[0] == (
        "hotline.yaml:13: queues.0.strategy: expected 'longest-idle', 'round-robin', "
        "'round-robin-ordered', 'fewest-calls', 'least-talk-time', 'linear', 'random', "
        "'weighted-random', 'best-skill-match' or 'ring-all'"
    )
    assert found[1] == "hotline.yaml:14: queues.0.aging_per_s: must be at least 0"


def test_every_strategy_skills_relax_and_tiers_reach_the_acd(tmp_path: Path) -> None:
    from acd import RelaxStep, Strategy

    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    strategy: best-skill-match\n"
                  "    skills: {english: 3, billing: 1}\n    relax:\n"
                  "      - {after_s: 30}\n      - {after_s: 90, lower_by: 5}")  # fmt: skip
    text += "acd:\n  tiers:\n    vip: {priority: 5, skills: {vip-desk: 1}}\n    gold: {}\n"
    config = load_config(write(tmp_path, text), environ={})
    queues = config.acd_config().queues
    assert queues[0].strategy is Strategy.BEST_SKILL_MATCH
    assert dict(queues[0].skills) == {"billing": 1, "english": 3}
    assert queues[0].relax == (RelaxStep(30, 1), RelaxStep(90, 5))
    assert (dict(queues[1].skills), queues[1].relax) == ({}, ())
    assert config.call_tiers() == {"vip": (5, {"vip-desk": 1}), "gold": (0, {})}
    for name in [s.value for s in Strategy]:  # ring-all too: the shell rings every leg
        one = broken("offer_timeout_s: 15", f"offer_timeout_s: 15\n    strategy: {name}")
        assert load_config(write(tmp_path, one), environ={}).acd_config().queues[0].strategy is (
            Strategy(name))  # fmt: skip


def test_the_ring_all_context_defaults_and_refuses_a_bad_name(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD), environ={}).hotline.ring_all_context == (
        "agent-ring-all")  # fmt: skip
    text = GOOD.replace("hotline:\n", "hotline:\n  ring_all_context: 'ring all'\n", 1)
    assert text != GOOD
    [found] = problems_of(tmp_path, text)
    assert found.startswith("hotline.yaml:") and "hotline.ring_all_context:" in found, found


def test_tiers_default_to_vip_first(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD), environ={}).call_tiers() == {"vip": (1, {})}
    assert load_config(SAMPLE, environ={}).call_tiers() == {"vip": (1, {})}


def test_bad_skills_and_relax_steps(tmp_path: Path) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    skills: {English: 2, billing: 6,"
                  " sales: 0, legal: true}\n    relax:\n      - {after_s: 60, lower_by: 2}\n"
                  "      - {after_s: 30, lower_by: 3}\n      - {after_s: -1, lower_by: 9}")  # fmt: skip
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:13: queues.0.skills.English: 'English' is not a valid skill name"
        " (a-z 0-9 _ -)",
        "hotline.yaml:13: queues.0.skills.billing: must be at most 5",
        "hotline.yaml:13: queues.0.skills.legal: expected a whole number",
        "hotline.yaml:13: queues.0.skills.sales: must be at least 1",
        "hotline.yaml:17: queues.0.relax.2.after_s: must be at least 0",
        "hotline.yaml:17: queues.0.relax.2.lower_by: must be at most 5",
    ]
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    relax:\n"
                  "      - {after_s: 60, lower_by: 2}\n      - {after_s: 30, lower_by: 3}")  # fmt: skip
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:15: queues.0.relax.1: each step must come later and lower more than the"
        " one before (after_s 60 -> 30, lower_by 2 -> 3)"
    ]


def test_bad_tiers(tmp_path: Path) -> None:
    text = GOOD + ("acd:\n  tiers:\n    VIP: {priority: 1}\n    gold: {priority: -1}\n"
                   "    silver: {priority: 1, skills: {x: 7}}\n    bronze: {color: red}\n")  # fmt: skip
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:18: acd.tiers.VIP: 'VIP' is not a valid tier name (a-z 0-9 _ -)",
        "hotline.yaml:19: acd.tiers.gold.priority: must be at least 0",
        "hotline.yaml:20: acd.tiers.silver.skills.x: must be at most 5",
        "hotline.yaml:21: acd.tiers.bronze.color: unknown key (expected one of: priority, skills)",
    ]


def test_auto_pause_per_failure_kind_reaches_the_acd(tmp_path: Path) -> None:
    from acd import DEFAULT_PAUSE_REASONS, OfferFailure

    acd = load_config(write(tmp_path, GOOD), environ={}).acd_config()
    assert (acd.offer_grace_s, dict(acd.pause_after), dict(acd.pause_reasons)) == (5.0, {}, {})
    assert acd.pause_limit(OfferFailure.BUSY) == 2 and acd.pause_limit(OfferFailure.UNREACHABLE) == 1
    assert acd.pause_reason(OfferFailure.BUSY) == DEFAULT_PAUSE_REASONS[OfferFailure.BUSY]
    text = GOOD + ("acd:\n  offer_grace_s: 2\n  pause_after: {busy: 0, no-answer: 3}\n"
                   "  pause_reasons: {busy: phone-busy}\n")  # fmt: skip
    acd = load_config(write(tmp_path, text), environ={}).acd_config()
    assert acd.offer_grace_s == 2
    assert (acd.pause_limit(OfferFailure.BUSY), acd.pause_limit(OfferFailure.NO_ANSWER)) == (0, 3)
    assert acd.pause_limit(OfferFailure.FAILED) == 2  # unlisted: rna_pause_after
    assert acd.pause_reason(OfferFailure.BUSY) == "phone-busy"


def test_bad_auto_pause_settings(tmp_path: Path) -> None:
    text = GOOD + ("acd:\n  offer_grace_s: -1\n  pause_after: {busy: -1, ringing: 2}\n"
                   "  pause_reasons: {failed: 'on break'}\n")  # fmt: skip
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:17: acd.offer_grace_s: must be at least 0",
        "hotline.yaml:18: acd.pause_after.busy: must be at least 0",
        "hotline.yaml:18: acd.pause_after.ringing: expected 'no-answer', 'busy',"
        " 'unreachable', 'failed' or 'no-report'",
        "hotline.yaml:19: acd.pause_reasons.failed: 'on break' is not a valid pause reason"
        " (A-Z a-z 0-9 _ . -)",
    ]
    text = GOOD + "acd:\n  pause_after: {no-answer: 2, no-report: 3}\n"
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:17: acd.pause_after.no-report: no-answer and no-report are one count:"
        " give them one limit"
    ]


def test_the_agent_wait_context_defaults_and_a_bad_name_is_refused(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD)).hotline.agent_wait_context == "hotline-agent-wait"
    text = broken("  recordings_dir:", "  agent_wait_context: wait here\n  recordings_dir:")
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith("hotline.yaml:7: hotline.agent_wait_context: "), problem


def test_a_node_may_have_its_own_recordings_directory(tmp_path: Path) -> None:
    text = broken("    secret: s3cret\n", "    secret: s3cret\n    recordings_dir: /mnt/pbx1/rec\n"
                  "    recordings_local_dir: pbx1-rec\n")  # fmt: skip
    places = load_config(write(tmp_path, text)).recording_places()
    assert places.of("pbx1").asterisk_dir == "/mnt/pbx1/rec"
    assert places.of("pbx1").local_dir == tmp_path / "pbx1-rec", "relative to the config file"
    assert places.of("pbx2") == places.default
    assert places.default.asterisk_dir == "/var/spool/asterisk/monitor"
    assert places.local("/mnt/pbx1/rec/a.wav") == tmp_path / "pbx1-rec" / "a.wav"
    assert places.local("/var/spool/asterisk/monitor/b.wav") == Path(
        "/var/spool/asterisk/monitor/b.wav")
    assert places.local_dirs() == [Path("/var/spool/asterisk/monitor"), tmp_path / "pbx1-rec"]
    plain = load_config(write(tmp_path, GOOD)).recording_places()
    assert plain.nodes == {} and plain.local_dirs() == [Path("/var/spool/asterisk/monitor")]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("    recordings_dir: rec\n",
         "hotline.yaml:6: nodes.0.recordings_dir: 'rec' is not an absolute path"),
        ("    recordings_dir: '/rec,1'\n",
         "hotline.yaml:6: nodes.0.recordings_dir: '/rec,1' holds a character MixMonitor"),
        ("    recordings_local_dir: /mnt/rec\n",
         "hotline.yaml:6: nodes.0.recordings_local_dir: recordings_local_dir needs this"
         " node's recordings_dir"),
    ],
)  # fmt: skip
def test_a_bad_node_recordings_directory_is_refused_at_its_line(
    tmp_path: Path, lines: str, expected: str
) -> None:
    text = broken("    secret: s3cret\n", "    secret: s3cret\n" + lines)
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith(expected), problem


def test_wallboard_thresholds_default_and_come_from_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.queues[0].sl_target_pct == 80 and config.queues[0].longest_wait_limit_s == 60
    assert config.wallboard.abandon_red_pct == 10
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    sl_target_pct: 90\n"
                  "    longest_wait_limit_s: 45") + "wallboard:\n  abandon_amber_pct: 3\n"  # fmt: skip
    config = load_config(write(tmp_path, text), environ={})
    assert (config.queues[0].sl_target_pct, config.queues[0].longest_wait_limit_s) == (90, 45)
    assert config.wallboard.abandon_amber_pct == 3


def test_bad_wallboard_thresholds_are_refused_at_their_line(tmp_path: Path) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    sl_target_pct: 120\n"
                  "    longest_wait_limit_s: 0") + (
        "wallboard:\n  abandon_amber_pct: 12\n  abandon_red_pct: 8\n"
        "  longest_wait_amber_pct: 100\n  sl_amber_band_pct: ten\n")  # fmt: skip
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:13: queues.0.sl_target_pct: must be at most 100",
        "hotline.yaml:14: queues.0.longest_wait_limit_s: must be greater than 0",
        "hotline.yaml:21: wallboard.longest_wait_amber_pct: must be less than 100",
        "hotline.yaml:22: wallboard.sl_amber_band_pct: expected a number",
    ]
    text = GOOD + "wallboard:\n  abandon_amber_pct: 12\n  abandon_red_pct: 8\n"
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:18: wallboard.abandon_red_pct: abandon_red_pct (8) must be above "
        "abandon_amber_pct (12)"
    ]


HTTP_CRM = """\
crm:
  backend: http
  link_template: https://crm.example/c/{external_id}
  http:
    by_number_url: https://crm.example/api?phone={number}
    by_account_url: https://crm.example/api?account={account}
    auth_header: Authorization
    auth_env: HOTLINE_CRM_AUTH
    fields:
      external_id: data.id
      full_name: data.name
      numbers: data.phones
  webhook:
    url: https://crm.example/hooks/pop
"""


def test_an_http_crm(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD + HTTP_CRM),
                         environ={"HOTLINE_CRM_AUTH": "Bearer x"})  # fmt: skip
    assert config.crm.backend == "http" and config.crm.http is not None
    assert config.crm.http.headers == {"Authorization": "Bearer x"}
    assert config.crm.http.fields["numbers"] == "data.phones"
    assert config.crm.webhook is not None and config.crm.webhook.timeout_s == 2.0


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("phone={number}", "phone={phone}",
         "hotline.yaml:20: crm.http.by_number_url: unknown placeholder {phone};"
         " this URL may use {number}"),
        ("https://crm.example/api?phone", "ftp://crm.example/api?phone",
         "hotline.yaml:20: crm.http.by_number_url: 'ftp://crm.example/api?phone={number}'"
         " is not an http:// or https:// URL"),
        ("c/{external_id}", "c/{id",
         "hotline.yaml:18: crm.link_template: 'https://crm.example/c/{id': expected '}'"
         " before end of string (write a literal brace as {{ or }})"),
        ("      full_name: data.name\n", "",
         "hotline.yaml:24: crm.http.fields: map full_name (a card needs them)"),
        ("      numbers: data.phones", "      numbers: data.phones[x]",
         "hotline.yaml:27: crm.http.fields.numbers: 'data.phones[x]' is not a path like"
         " data.items[0].name"),
        ("      numbers: data.phones", "      phone: data.phones",
         "hotline.yaml:27: crm.http.fields.phone: unknown card field 'phone'; one of"
         " external_id, full_name, tier, account_no, numbers, language, notes"),
        ("    auth_env: HOTLINE_CRM_AUTH\n", "",
         "hotline.yaml:22: crm.http.auth_header: give auth_header and auth_env together"),
        ("  webhook:\n    url: https://crm.example/hooks/pop\n", "  retries: 9\n",
         "hotline.yaml:28: crm.retries: must be at most 5"),
    ],
)  # fmt: skip
def test_a_bad_http_crm_is_named_by_line(tmp_path: Path, old: str, new: str, problem: str) -> None:
    text = broken(old, new, GOOD + HTTP_CRM)
    assert problems_of(tmp_path, text, environ={"HOTLINE_CRM_AUTH": "Bearer x"}) == [problem]


def test_an_http_crm_needs_its_section_and_its_auth_variable(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD + "crm:\n  backend: http\n") == [
        "hotline.yaml:17: crm.backend: backend http needs the http section (URLs, fields)"
    ]
    (tmp_path / "env").mkdir()
    assert problems_of(tmp_path / "env", GOOD + HTTP_CRM) == [
        "hotline.yaml:23: crm.http.auth_env: environment variable HOTLINE_CRM_AUTH is not set"
    ]


def test_announcements_are_off_by_default_and_take_their_defaults(tmp_path: Path) -> None:
    from callcenter.flow.announce import AnnouncePolicy

    assert load_config(write(tmp_path, GOOD), environ={}).announcement_policies() == {}
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    announce: {}")
    config = load_config(write(tmp_path, text), environ={})
    assert config.announcement_policies() == {config.queues[0].name: AnnouncePolicy()}
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    announce:\n"
                  "      first_after_s: 10\n      every_s: 45\n      round_s: 30\n"
                  "      say: prompts\n      there_are: sounds/{language}/there-are")  # fmt: skip
    policy = load_config(write(tmp_path, text), environ={}).announcement_policies()
    assert list(policy.values()) == [AnnouncePolicy(first_after_s=10, every_s=45, round_s=30,
                                                    say="prompts",
                                                    there_are="sounds/{language}/there-are")]  # fmt: skip


def test_bad_announcement_values_are_refused_at_their_line(tmp_path: Path) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    announce:\n"
                  "      first_after_s: -1\n      every_s: 0\n      round_s: 90\n"
                  "      say: words\n      minutes: ../etc/passwd\n      volume: 3")  # fmt: skip
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["hotline.yaml:14", "queues.0.announce.first_after_s"],
        ["hotline.yaml:15", "queues.0.announce.every_s"],
        ["hotline.yaml:16", "queues.0.announce.round_s"],
        ["hotline.yaml:17", "queues.0.announce.say"],
        ["hotline.yaml:18", "queues.0.announce.minutes"],
        ["hotline.yaml:19", "queues.0.announce.volume"],
    ], found
    assert "whole minutes" in found[2] and "sound file name" in found[4]
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    announce:\n"
                  "      position: false\n      wait: false")  # fmt: skip
    [only] = problems_of(tmp_path, text)
    assert only.startswith("hotline.yaml:") and "nothing to announce" in only


OVERFLOW_IVR = IVR + (
    "      3: {goto: message}\n"
    "      4: {goto: call_me}\n"
    "  message: {type: voicemail, queue: support, next: {hangup: message}}\n"
    "  call_me: {type: callback, queue: support, next: {hangup: callback}}\n"
)


def test_overflow_targets_reach_the_call_flow(tmp_path: Path) -> None:
    from callcenter.flow.overflow import OverflowTarget

    assert load_config(write(tmp_path, GOOD), environ={}).overflow_targets() == {}
    for given, expected in [
        ("{queue: billing}", OverflowTarget("queue", "billing")),
        ("{voicemail: message}", OverflowTarget("voicemail", "message")),
        ("{callback: call_me}", OverflowTarget("callback", "call_me")),
        ("{ivr: main}", OverflowTarget("ivr", "main")),
        ("{hangup: hotline/vi/sorry}", OverflowTarget("hangup", "hotline/vi/sorry")),
        ("{}", OverflowTarget("hangup", None)),
    ]:
        text = broken("offer_timeout_s: 15", f"offer_timeout_s: 15\n    max_wait_s: 60\n"
                      f"    overflow: {given}")  # fmt: skip
        config = load_config(write(tmp_path, text, OVERFLOW_IVR), environ={})
        assert config.overflow_targets() == {"support": expected}, given


def test_bad_overflow_targets_are_refused_at_their_line(tmp_path: Path) -> None:
    def refused(given: str, max_wait: str = "\n    max_wait_s: 60") -> list[str]:
        text = broken("offer_timeout_s: 15", f"offer_timeout_s: 15{max_wait}\n"
                      f"    overflow:\n      {given}")  # fmt: skip
        return problems_of(tmp_path, text, OVERFLOW_IVR)

    assert refused("queue: sales") == [
        "hotline.yaml:15: queues.0.overflow.queue: unknown queue 'sales'"]
    assert refused("queue: support") == [
        "hotline.yaml:15: queues.0.overflow.queue: a queue cannot overflow into itself"]
    assert refused("ivr: nowhere") == [
        "hotline.yaml:15: queues.0.overflow.ivr: no IVR node 'nowhere' in ivr.yaml"]
    assert refused("voicemail: call_me") == [
        "hotline.yaml:15: queues.0.overflow.voicemail: IVR node 'call_me' is a callback node, "
        "not a voicemail node"]  # fmt: skip
    [two] = refused("{queue: billing, ivr: main}")
    assert two.startswith("hotline.yaml:15: queues.0.overflow") and "one target only" in two
    [bad] = refused("hangup: ../sorry")
    assert bad.startswith("hotline.yaml:15: queues.0.overflow.hangup:") and "sound file" in bad
    assert refused("queue: billing", max_wait="") == [
        "hotline.yaml:13: queues.0.overflow: nothing overflows: set max_wait_s, max_length, "
        "join_empty: false or leave_when_empty: true"]


def test_overflow_conditions_reach_the_acd_and_bad_ones_are_refused(tmp_path: Path) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    max_length: 5\n"
                  "    join_empty: false\n    leave_when_empty: true")  # fmt: skip
    queue = load_config(write(tmp_path, text), environ={}).queues[0].acd_queue()
    assert (queue.max_length, queue.join_empty, queue.leave_when_empty) == (5, False, True)
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    max_length: 0\n"
                  "    join_empty: nope\n    leave_when_empty: 1")  # fmt: skip
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["hotline.yaml:13", "queues.0.max_length"],
        ["hotline.yaml:14", "queues.0.join_empty"],
        ["hotline.yaml:15", "queues.0.leave_when_empty"],
    ], found


@pytest.mark.parametrize(("given", "expected"), [
    ("max_wait_s: 0", "hotline.yaml:13: queues.0.max_wait_s: must be greater than 0"),
    ("max_wait_s: soon", "hotline.yaml:13: queues.0.max_wait_s: expected a number"),
    ("max_length: 0", "hotline.yaml:13: queues.0.max_length: must be at least 1"),
    ("max_length: 1.5", "hotline.yaml:13: queues.0.max_length: expected a whole number"),
    ("join_empty: nope", "hotline.yaml:13: queues.0.join_empty: expected true or false"),
    ("leave_when_empty: 1", "hotline.yaml:13: queues.0.leave_when_empty: expected true or false"),
    ("max_wait_s: 9\n    overflow: billing", "hotline.yaml:14: queues.0.overflow: expected a mapping"),
    ("max_wait_s: 9\n    overflow: {queeu: billing}",
     "hotline.yaml:14: queues.0.overflow.queeu: unknown key (did you mean 'queue'?)"),
    ("max_wait_s: 9\n    overflow: {voicemail: main}",
     "hotline.yaml:14: queues.0.overflow.voicemail: IVR node 'main' is a menu node, "
     "not a voicemail node"),
])  # fmt: skip
def test_bad_overflow_values_are_refused_with_file_line_and_reason(
    tmp_path: Path, given: str, expected: str
) -> None:
    text = broken("offer_timeout_s: 15", f"offer_timeout_s: 15\n    {given}")
    assert problems_of(tmp_path, text, OVERFLOW_IVR) == [expected]


def test_wrap_up_limit_reaches_the_acd_and_one_below_the_wrap_up_is_refused(
    tmp_path: Path,
) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    wrap_up_max_s: 90")
    queue = load_config(write(tmp_path, text), environ={}).queues[0].acd_queue()
    assert (queue.wrap_up_s, queue.wrap_up_max_s) == (10, 90)
    assert load_config(write(tmp_path, GOOD), environ={}).queues[0].acd_queue().wrap_up_max_s is None
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    wrap_up_max_s: 5")
    [found] = problems_of(tmp_path, text)
    assert found.startswith("hotline.yaml:13: queues.0.wrap_up_max_s:"), found
    assert "below wrap_up_s 10" in found


def test_callbacks_are_off_by_default_and_take_their_defaults(tmp_path: Path) -> None:
    from callcenter.flow.callback import CallbackPolicy

    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.callback_policies() == {}
    assert config.hotline.callback_context == "hotline-callback"
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    callback: {}")
    config = load_config(write(tmp_path, text), environ={})
    assert config.callback_policies() == {"support": CallbackPolicy()}
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    callback:\n"
                  "      offer_after_s: null\n      offer_ewt_s: 120\n      region: US\n"
                  "      record_name: true\n      max_attempts: 5\n      retry_s: 30\n"
                  "      dial: PJSIP/{number}@trunk")  # fmt: skip
    [policy] = load_config(write(tmp_path, text), environ={}).callback_policies().values()
    assert policy == CallbackPolicy(offer_after_s=None, offer_ewt_s=120, region="US",
                                    record_name=True, max_attempts=5, retry_s=30,
                                    dial="PJSIP/{number}@trunk")  # fmt: skip


def test_bad_callback_values_are_refused_at_their_line(tmp_path: Path) -> None:
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    callback:\n"
                  "      offer_after_s: -5\n      region: XX\n      max_attempts: 0\n"
                  "      retry_s: 0\n      dial: Local/1234@out\n      thanks: ../../etc/x\n"
                  "      colour: red")  # fmt: skip
    found = problems_of(tmp_path, text)
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["hotline.yaml:14", "queues.0.callback.offer_after_s"],
        ["hotline.yaml:15", "queues.0.callback.region"],
        ["hotline.yaml:16", "queues.0.callback.max_attempts"],
        ["hotline.yaml:17", "queues.0.callback.retry_s"],
        ["hotline.yaml:18", "queues.0.callback.dial"],
        ["hotline.yaml:19", "queues.0.callback.thanks"],
        ["hotline.yaml:20", "queues.0.callback.colour"],
    ], found
    assert "phonenumbers" in found[1] and "{number}" in found[4] and "sound file" in found[5]
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    callback:\n"
                  "      offer_after_s: null")  # fmt: skip
    [only] = problems_of(tmp_path, text)
    assert only.startswith("hotline.yaml:") and "never offered" in only


def test_sticky_agent_is_off_by_default_and_its_settings_reach_the_acd(tmp_path: Path) -> None:
    plain = load_config(write(tmp_path, GOOD), environ={}).queues[0].acd_queue()
    assert (plain.sticky_wait_s, plain.sticky_days) == (0.0, 30.0)  # off
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    sticky: {wait_s: 25, days: 7}")
    queue = load_config(write(tmp_path, text), environ={}).queues[0].acd_queue()
    assert (queue.sticky_wait_s, queue.sticky_days) == (25, 7)
    text = broken("offer_timeout_s: 15", "offer_timeout_s: 15\n    sticky: {}")
    queue = load_config(write(tmp_path, text), environ={}).queues[0].acd_queue()
    assert (queue.sticky_wait_s, queue.sticky_days) == (20.0, 30.0)  # the documented defaults


@pytest.mark.parametrize(("given", "expected"), [
    ("sticky: {wait_s: 0}", "hotline.yaml:13: queues.0.sticky.wait_s: must be greater than 0"),
    ("sticky: {wait_s: soon}", "hotline.yaml:13: queues.0.sticky.wait_s: expected a number"),
    ("sticky: {days: 0}", "hotline.yaml:13: queues.0.sticky.days: must be greater than 0"),
    ("sticky: {days: 4000}",
     "hotline.yaml:13: queues.0.sticky.days: must be at most 3650"),
    ("sticky: {wait: 5}", "hotline.yaml:13: queues.0.sticky.wait: unknown key (did you mean 'wait_s'?)"),
    ("sticky: yes", "hotline.yaml:13: queues.0.sticky: expected a mapping"),
])  # fmt: skip
def test_bad_sticky_values_are_refused_with_file_line_and_reason(
    tmp_path: Path, given: str, expected: str
) -> None:
    text = broken("offer_timeout_s: 15", f"offer_timeout_s: 15\n    {given}")
    assert problems_of(tmp_path, text) == [expected]


def test_an_unknown_phone_region_is_refused_where_it_is_given(tmp_path: Path) -> None:
    # one rule (config.fields.Region) for the CRM's numbers and a queue's callback numbers
    text = broken("offer_timeout_s: 15",
                  "offer_timeout_s: 15\n    callback: {offer_after_s: 30, region: XX}")  # fmt: skip
    assert problems_of(tmp_path, text + "crm:\n  region: vn\n") == [
        "hotline.yaml:13: queues.0.callback.region: 'XX' is not a region phonenumbers knows "
        "(e.g. VN, US, GB)",
        "hotline.yaml:18: crm.region: 'vn' is not a region phonenumbers knows (e.g. VN, US, GB)",
    ]


def test_web_fanout_url_and_channel(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.web.fanout_url is None and config.web.fanout_channel == "hotline:live"
    text = GOOD.replace("  port: 8080\n", "  port: 8080\n  fanout_url: redis://10.0.0.5:6379/2\n"
                        "  fanout_channel: hotline-b\n")  # fmt: skip
    config = load_config(write(tmp_path, text), environ={})
    assert config.web.fanout_url == "redis://10.0.0.5:6379/2"
    assert config.web.fanout_channel == "hotline-b"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("fanout_url: http://10.0.0.5:6379", "web.fanout_url: 'http://10.0.0.5:6379': expected "
         "redis://host[:port][/db], rediss://... or unix:///path"),
        ("fanout_url: redis://", "web.fanout_url: 'redis://': expected "
         "redis://host[:port][/db], rediss://... or unix:///path"),
        ("fanout_url: redis://host:port", "web.fanout_url: 'redis://host:port' is not a URL: "
         "Port could not be cast to integer value as 'port'"),
        ('fanout_channel: ""', "web.fanout_channel: String should have at least 1 character"),
    ],
)  # fmt: skip
def test_bad_web_fanout(tmp_path: Path, line: str, reason: str) -> None:
    text = GOOD.replace("  port: 8080\n", f"  port: 8080\n  {line}\n")
    assert problems_of(tmp_path, text) == [f"hotline.yaml:16: {reason}"]


TWO_NODES = broken("hotline:\n", "  - name: pbx2\n    host: 10.0.0.2\n    username: hotline\n"
                   "    secret: s3cret\nhotline:\n")  # fmt: skip


def test_phones_homed_on_a_node_are_rung_through_the_callers_nodes_trunk(tmp_path: Path) -> None:
    text = TWO_NODES.replace("    secret: s3cret\n  - name: pbx2",
                             "    secret: s3cret\n    trunks: {pbx2: to-b}\n  - name: pbx2")
    text = text.replace("    secret: s3cret\nhotline:",
                        "    secret: s3cret\n    phones: [PJSIP/2*]\n    trunks: {pbx1: to-a}\n"
                        "hotline:")  # fmt: skip
    homes = load_config(write(tmp_path, text)).phone_homes()
    assert homes.home("PJSIP/2001") == "pbx2" and homes.home("PJSIP/1001") is None
    assert homes.dial("pbx1", "PJSIP/2001") == "PJSIP/2001@to-b"
    assert homes.dial("pbx2", "PJSIP/2001") == "PJSIP/2001", "at home: rung as it is"
    assert homes.dial("pbx1", "PJSIP/1001") == "PJSIP/1001", "homed nowhere: from the caller's"
    plain = load_config(write(tmp_path, GOOD)).phone_homes()
    assert plain.dial("pbx1", "PJSIP/2001") == "PJSIP/2001"


@pytest.mark.parametrize(
    ("pbx1", "pbx2", "expected"),
    [
        ("    trunks: {pbx3: to-c}\n", "",
         "hotline.yaml:6: nodes.0.trunks.pbx3: 'pbx3' is not another node (nodes: pbx1, pbx2)"),
        ("    trunks: {pbx1: loop}\n", "",
         "hotline.yaml:6: nodes.0.trunks.pbx1: 'pbx1' is not another node"),
        ("", "    phones: [PJSIP/2*]\n",
         "hotline.yaml:2: nodes.0.trunks: no trunk to 'pbx2', whose phones (PJSIP/2*)"),
        ("", "    phones: [SIP/2*]\n",
         "hotline.yaml:10: nodes.1.phones.0: 'SIP/2*': a phone pattern is PJSIP/<extension"),
        ("    trunks: {pbx2: 'to b'}\n", "",
         "hotline.yaml:6: nodes.0.trunks.pbx2: "),
    ],
)  # fmt: skip
def test_bad_phones_and_trunks_are_refused_at_their_line(
    tmp_path: Path, pbx1: str, pbx2: str, expected: str
) -> None:
    text = TWO_NODES.replace("    secret: s3cret\n  - name: pbx2",
                             f"    secret: s3cret\n{pbx1}  - name: pbx2", 1)  # fmt: skip
    text = text.replace("    secret: s3cret\nhotline:", f"    secret: s3cret\n{pbx2}hotline:")
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith(expected), problem
def test_leader_settings_default_and_come_from_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    assert (config.leader.heartbeat_s, config.leader.lease_s, config.leader.retry_s) == (1, 5, 0.5)
    assert config.leader == load_config(SAMPLE, environ={}).leader  # the sample says the defaults
    text = GOOD + "leader:\n  lock_key: 7\n  heartbeat_s: 0.5\n  lease_s: 2\n  retry_s: 0.2\n"
    leader = load_config(write(tmp_path, text), environ={}).leader
    assert (leader.lock_key, leader.heartbeat_s, leader.lease_s, leader.retry_s) == (7, 0.5, 2, 0.2)


def test_bad_leader_settings_are_refused_at_their_line(tmp_path: Path) -> None:
    text = GOOD + "leader:\n  lock_key: 1.5\n  heartbeat_s: 0\n  retry_s: soon\n  term: 3\n"
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:17: leader.lock_key: expected a whole number",
        "hotline.yaml:18: leader.heartbeat_s: must be greater than 0",
        "hotline.yaml:19: leader.retry_s: expected a number",
        "hotline.yaml:20: leader.term: unknown key (expected one of: enabled, lock_key, "
        "heartbeat_s, lease_s, retry_s)",
    ]
    text = GOOD + "leader:\n  heartbeat_s: 2\n  lease_s: 5\n"
    assert problems_of(tmp_path, text) == [
        "hotline.yaml:18: leader.lease_s: lease_s (5) must be at least three heartbeats "
        "(3 x heartbeat_s = 6)"
    ]


def test_leader_election_is_off_unless_enabled_and_needs_postgresql(tmp_path: Path) -> None:
    assert not load_config(write(tmp_path, GOOD), environ={}).leader.enabled
    text = GOOD + "leader:\n  enabled: true\n"
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith("hotline.yaml:17: leader.enabled: leader election needs PostgreSQL")
    pg = broken("database_url: ", "database_url: postgresql+asyncpg://h@db/hotline\n#", text)
    assert load_config(write(tmp_path, pg), environ={}).leader.enabled
