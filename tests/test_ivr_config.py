"""The IVR file: the sample loads; every bad file gives `file:line: path: reason` lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from callcenter.prompts import read_texts
from ivr import IvrConfigError, IvrDefinition, load_ivr, parse_ivr

SAMPLE = Path(__file__).resolve().parents[1] / "config" / "ivr.yaml"

# a small valid file; the tests below break it one way each (line numbers are its own)
GOOD = textwrap.dedent(
    """\
    languages: [vi, en]
    default_language: vi
    start: language
    fallback_queue: support
    prompts:
      welcome: {vi: hotline/vi/welcome, en: hotline/en/welcome}
      menu: {vi: hotline/vi/menu, en: hotline/en/menu}
    nodes:
      language:
        prompt: welcome
        retries: 0
        options:
          1: {language: vi, goto: main}
          2: {language: en, goto: main}
        otherwise: {goto: main}
      main:
        prompt: menu
        options:
          1: {queue: support}
          0: {queue: support}
    """
)


def problems_of(tmp_path: Path, text: str, **kwargs: object) -> list[str]:
    """Write ``text`` as an IVR file, load it, return the problem lines (with the file as `F`)."""
    path = tmp_path / "ivr.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IvrConfigError) as caught:
        load_ivr(path, **kwargs)  # type: ignore[arg-type]
    lines = [str(p).replace(str(path), "F") for p in caught.value.problems]
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return lines


def broken(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def test_sample_config_loads() -> None:
    ivr = load_ivr(SAMPLE, queues={"support"})
    assert ivr.languages == ["vi", "en"]
    assert ivr.default_language == "vi"
    assert ivr.start == "language"
    assert ivr.nodes["language"].escape_digits == "12"
    assert ivr.nodes["main"].escape_digits == "120"
    assert {a.queue for a in ivr.nodes["main"].options.values()} == {"support"}
    assert ivr.prompt_file("main_menu", "en") == "hotline/en/main-menu"


def test_small_file_loads() -> None:
    assert isinstance(parse_ivr(GOOD, "good.yaml"), IvrDefinition)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = broken("    retries: 0\n", "    retries: 0\n   prompt: x\n")
    assert problems_of(tmp_path, text) == [
        "F:12: YAML syntax error: expected <block end>, but found '<block mapping start>'"
        " (check the indentation)"
    ]


def test_unclosed_flow_sequence(tmp_path: Path) -> None:
    text = broken("languages: [vi, en]", "languages: [vi, en")
    assert problems_of(tmp_path, text) == [
        "F:2: YAML syntax error: expected ',' or ']', but got ':'"
    ]


def test_unknown_goto(tmp_path: Path) -> None:
    text = broken("2: {language: en, goto: main}", "2: {language: en, goto: mian}")
    assert problems_of(tmp_path, text) == [
        "F:14: nodes.language.options.2.goto: unknown node 'mian'"
    ]


def test_prompt_missing_a_language(tmp_path: Path) -> None:
    text = broken("menu: {vi: hotline/vi/menu, en: hotline/en/menu}", "menu: {vi: hotline/vi/menu}")
    assert problems_of(tmp_path, text) == ["F:7: prompts.menu: missing language 'en'"]


def test_prompt_in_an_undeclared_language(tmp_path: Path) -> None:
    text = broken("en: hotline/en/menu}", "en: hotline/en/menu, fr: hotline/fr/menu}")
    assert problems_of(tmp_path, text) == ["F:7: prompts.menu: unknown language 'fr'"]


@pytest.mark.parametrize(
    ("key", "shown"),
    [("7x", "'7x'"), ("10", "'10'"), ("a", "'a'"), ('"12"', "'12'")],
)
def test_bad_digit_key(tmp_path: Path, key: str, shown: str) -> None:
    text = broken("      0: {queue: support}", f"      {key}: {{queue: support}}")
    assert problems_of(tmp_path, text) == [
        f"F:20: nodes.main.options.{shown[1:-1]}: {shown} is not a keypad key:"
        " use one of 0-9, '*' or '#' (quote * and #)"
    ]


def test_star_and_hash_keys_are_allowed() -> None:
    text = broken(
        "      0: {queue: support}", '      "*": {queue: support}\n      "#": {goto: language}'
    )
    assert parse_ivr(text).nodes["main"].escape_digits == "1*#"


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    text = broken("    prompt: menu\n", "    prompt: menu\n    timout_s: 6\n")
    assert problems_of(tmp_path, text) == [
        "F:18: nodes.main.timout_s: unknown key (did you mean 'timeout_s'?)"
    ]


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    text = broken("1: {queue: support}", "1: {queue: support, say: hello}")
    assert problems_of(tmp_path, text) == [
        "F:19: nodes.main.options.1.say: unknown key (expected one of: language, goto, queue, hangup)"
    ]


def test_missing_key_points_at_its_parent(tmp_path: Path) -> None:
    text = broken("    prompt: menu\n", "")
    assert problems_of(tmp_path, text) == ["F:16: nodes.main.prompt: required"]


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("default_language: vi", "default_language: fr")
        .replace("retries: 0", "retries: many")
        .replace("goto: main}\n      2:", "goto: mian}\n      2:")
        .replace("    prompt: menu\n", "    prompt: menu\n    colour: blue\n")
        .replace("0: {queue: support}", "0: {queue: support, goto: main}")
    )
    assert problems_of(tmp_path, text) == [
        "F:2: default_language: 'fr' is not one of the languages (vi, en)",
        "F:11: nodes.language.retries: expected a whole number",
        "F:13: nodes.language.options.1.goto: unknown node 'mian'",
        "F:18: nodes.main.colour: unknown key (expected one of: type, prompt, intro,"
        " invalid_prompt, fallback_prompt, timeout_s, retries, options, otherwise, agent)",
        "F:21: nodes.main.options.0: needs exactly one of goto, queue or hangup (has goto and queue)",
    ]


def test_duplicate_key(tmp_path: Path) -> None:
    text = broken("      0: {queue: support}", "      1: {queue: billing}")
    assert problems_of(tmp_path, text) == [
        "F:20: nodes.main.options.1: duplicate key (first at line 19)"
    ]


def test_timeout_loop_is_refused(tmp_path: Path) -> None:
    text = broken(
        "    options:\n      1: {queue",
        "    otherwise: {goto: language}\n    options:\n      1: {queue",
    )
    assert problems_of(tmp_path, text) == [
        "F:15: nodes.language.otherwise.goto: timeouts loop without reaching a queue"
        " (language -> main -> language)",
        "F:18: nodes.main.otherwise.goto: timeouts loop without reaching a queue"
        " (main -> language -> main)",
    ]


def test_hangup_not_allowed_in_otherwise(tmp_path: Path) -> None:
    text = broken("otherwise: {goto: main}", "otherwise: {hangup: no-input}")
    assert problems_of(tmp_path, text) == [
        "F:15: nodes.language.otherwise: hangup is not allowed here:"
        " a timeout or a failed prompt never drops the caller"
    ]


def test_unknown_queue_when_queues_are_known(tmp_path: Path) -> None:
    text = broken("1: {queue: support}", "1: {queue: billing}")
    assert problems_of(tmp_path, text, queues={"support"}) == [
        "F:19: nodes.main.options.1.queue: unknown queue 'billing'"
    ]
    assert parse_ivr(text).nodes["main"].options["1"].queue == "billing"  # unchecked without a list


def test_sound_file_names_agi_can_carry(tmp_path: Path) -> None:
    text = broken("hotline/en/menu}", 'hotline/en/my menu"}')
    assert problems_of(tmp_path, text) == [
        "F:7: prompts.menu.en: 'hotline/en/my menu\"' is not a valid sound file name"
    ]


def test_shared_prompt_string_spreads_to_every_language() -> None:
    text = broken("menu: {vi: hotline/vi/menu, en: hotline/en/menu}", "menu: hotline/menu")
    ivr = parse_ivr(text)
    assert ivr.prompts["menu"] == {"vi": "hotline/menu", "en": "hotline/menu"}


def test_unreadable_empty_and_non_mapping_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(IvrConfigError) as caught:
        load_ivr(missing)
    assert str(caught.value) == f"{missing}: cannot read: No such file or directory"
    assert problems_of(tmp_path, "") == ["F:1: the file is empty"]
    assert problems_of(tmp_path, "# only a comment\n") == ["F:1: the file is empty"]
    assert problems_of(tmp_path, "- vi\n- en\n") == ["F:1: expected a mapping"]
    (tmp_path / "latin1.yaml").write_bytes(b"languages: [vi]\nx: \xff\n")
    with pytest.raises(IvrConfigError) as caught:
        load_ivr(tmp_path / "latin1.yaml")
    assert str(caught.value).endswith("latin1.yaml: not UTF-8 text (byte 19)")


def test_second_document_and_bad_character(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD + "---\nb: 2\n") == [
        "F:21: YAML syntax error: expected a single document in the stream, but found another document"
    ]
    assert problems_of(tmp_path, "languages: [vi]\nstart: \x07\n") == [
        "F:2: YAML syntax error: special characters are not allowed (#x0007)"
    ]


# -- the node types' classes of error, each at its line -----------------------------------
FLOW = textwrap.dedent(
    """\
    languages: [vi, en]
    default_language: vi
    start: hours
    fallback_queue: support
    calendars:
      office:
        zone: Asia/Ho_Chi_Minh
        hours: {mon: "08:00-17:30", sat: ["08:00-12:00"]}
        holidays: ["2027-02-05..2027-02-09"]
        special: {"2027-02-04": closed}
    prompts:
      menu: {vi: hotline/vi/menu, en: hotline/en/menu}
    nodes:
      hours:
        type: condition
        branches:
          - {when: {open: office}, then: {goto: main}}
        otherwise: {goto: main}
      main:
        prompt: menu
        options:
          1: {goto: account}
      account:
        type: input
        prompt: menu
        variable: account
        max_digits: 8
        next: {queue: support}
    """
)


def flow_broken(old: str, new: str) -> str:
    assert FLOW.count(old) == 1, old
    return FLOW.replace(old, new)


def test_the_flow_sample_loads() -> None:
    ivr = parse_ivr(FLOW)
    assert ivr.calendar("office").zone.key == "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'mon: "08:00-17:30"',
            'mon: "08:00-25:30"',
            "F:8: calendars.office.hours.mon: '08:00-25:30': 25:30 is not a time of day",
        ),
        (
            'mon: "08:00-17:30"',
            'mon: "17:30-08:00"',
            "F:8: calendars.office.hours.mon: '17:30-08:00': ends before it starts",
        ),
        (
            'mon: "08:00-17:30"',
            'mon: "8h-17h"',
            "F:8: calendars.office.hours.mon: '8h-17h' is not a time range like 08:00-17:30",
        ),
        (
            'sat: ["08:00-12:00"]',
            'sat: ["08:00-12:00", "11:00-13:00"]',
            "F:8: calendars.office.hours.sat: time ranges overlap",
        ),
        (
            'mon: "08:00-17:30"',
            'monday: "08:00-17:30"',
            "F:8: calendars.office.hours.monday:"
            " expected 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
        ),
        (
            '"2027-02-05..2027-02-09"',
            '"2027-02-30"',
            "F:9: calendars.office.holidays.0: '2027-02-30' is not a date of the calendar",
        ),
        (
            '"2027-02-05..2027-02-09"',
            '"2027-02-09..2027-02-05"',
            "F:9: calendars.office.holidays.0: '2027-02-09..2027-02-05': ends before it starts",
        ),
        (
            '"2027-02-04": closed',
            '"4/2/2027": closed',
            "F:10: calendars.office.special.4/2/2027: '4/2/2027' is not a date like 2027-02-05",
        ),
        (
            "zone: Asia/Ho_Chi_Minh",
            "zone: Asia/Saigon_City",
            "F:7: calendars.office.zone:"
            " 'Asia/Saigon_City' is not an IANA time zone (e.g. Asia/Ho_Chi_Minh)",
        ),
        (
            "{open: office}",
            "{open: shop}",
            "F:17: nodes.hours.branches.0.when.open: unknown calendar 'shop'",
        ),
        (
            "{open: office}",
            "{open: office, language: vi}",
            "F:17: nodes.hours.branches.0.when:"
            " needs exactly one of open, holiday, tier, vip, language, variable or queue"
            " (has open and language)",
        ),
        (
            "{open: office}",
            "{variable: account}",
            "F:17: nodes.hours.branches.0.when.variable:"
            " variable needs exactly one of equals or matches",
        ),
        (
            "type: input",
            "type: entry",
            "F:24: nodes.account.type: unknown node type"
            " (expected one of: menu, input, play, condition, lookup, set, goto, hangup,"
            " transfer, split, voicemail, callback)",
        ),
        (
            "max_digits: 8",
            "max_digits: 8\n    min_digits: 9",
            "F:28: nodes.account.min_digits: min_digits 9 is more than max_digits 8",
        ),
        (
            "max_digits: 8",
            "max_digits: 8\n    pattern: '[0-9'",
            "F:28: nodes.account.pattern:"
            " not a regular expression: unterminated character set at position 0",
        ),
        (
            "max_digits: 8",
            "max_digits: 8\n    timout_s: 5",
            "F:28: nodes.account.timout_s: unknown key (did you mean 'timeout_s'?)",
        ),
        (
            "next: {queue: support}",
            "next: {queue: support}\n    otherwise: {hangup: x}",
            "F:29: nodes.account.otherwise: hangup is not allowed here: a timeout or a failed"
            " prompt never drops the caller",
        ),
    ],
)
def test_each_class_of_error_is_refused_at_its_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert problems_of(tmp_path, flow_broken(old, new)) == [expected]


# a flow with a voicemail and a callback; the test below breaks it one way each
MESSAGES = textwrap.dedent(
    """\
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: hotline/vi/menu
      leave: hotline/vi/leave-message
    nodes:
      main:
        prompt: menu
        options:
          1: {goto: message}
          2: {goto: number}
      message:
        type: voicemail
        prompt: leave
        max_s: 60
        silence_s: 5
        next: {hangup: done}
      number:
        type: input
        prompt: menu
        variable: callback_number
        max_digits: 11
        next: {goto: call_me}
      call_me:
        type: callback
        queue: support
        number: callback_number
        next: {hangup: done}
    """
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "silence_s: 5",
            "silence_s: 60",
            "F:18: nodes.message.silence_s: silence_s 60 is not less than max_s 60",
        ),
        (
            "max_s: 60",
            "max_s: 0",
            "F:17: nodes.message.max_s: must be at least 1",
        ),
        (
            "max_s: 60",
            "max_s: 3600",
            "F:17: nodes.message.max_s: must be at most 600",
        ),
        (
            "prompt: leave",
            "prompt: goodbye",
            "F:16: nodes.message.prompt: unknown prompt 'goodbye'",
        ),
        (
            "silence_s: 5",
            "silence_s: 5\n    queue: billing",
            "F:19: nodes.message.queue: unknown queue 'billing'",
        ),
        (
            "next: {hangup: done}\n  number:",
            "next: {hangup: done}\n    mailbox: 3\n  number:",
            "F:20: nodes.message.mailbox: unknown key (expected one of: type, prompt, max_s, silence_s,"
            " beep, queue, next)",
        ),
        (
            "number: callback_number",
            "number: phone",
            "F:29: nodes.call_me.number: unknown variable 'phone': no input or set node keeps it",
        ),
        (
            "    queue: support\n    number",
            "    number",
            "F:26: nodes.call_me.queue: required",
        ),
        (
            "    queue: support\n    number",
            "    queue: billing\n    number",
            "F:28: nodes.call_me.queue: unknown queue 'billing'",
        ),
        (
            "number: callback_number\n    next: {hangup: done}",
            "number: callback_number\n    next: {hangup: done}\n    otherwise: {hangup: x}",
            "F:31: nodes.call_me.otherwise: hangup is not allowed here: a timeout or a failed"
            " prompt never drops the caller",
        ),
    ],
)
def test_each_voicemail_and_callback_error_is_refused_at_its_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert MESSAGES.count(old) == 1, old
    assert parse_ivr(MESSAGES, queues={"support"})
    assert problems_of(tmp_path, MESSAGES.replace(old, new), queues={"support"}) == [expected]


def test_an_unreachable_node(tmp_path: Path) -> None:
    text = FLOW + "  lost:\n    type: play\n    prompt: menu\n    next: {queue: support}\n"
    assert problems_of(tmp_path, text) == [
        "F:29: nodes.lost: unreachable: no path from start 'hours' (or a visit) leads here"
    ]


def test_a_loop_with_no_caller_input(tmp_path: Path) -> None:
    text = flow_broken("otherwise: {goto: main}", "otherwise: {goto: again}") + (
        "  again:\n    type: goto\n    goto: hours\n"
    )
    assert problems_of(tmp_path, text) == [
        "F:18: nodes.hours.otherwise.goto: loops with no caller input (hours -> again -> hours)",
        "F:31: nodes.again.goto: loops with no caller input (again -> hours -> again)",
    ]


def test_a_split_must_add_up_to_a_hundred(tmp_path: Path) -> None:
    text = flow_broken(
        "  hours:\n    type: condition\n    branches:\n      - {when: {open: office}, then: {goto: main}}\n    otherwise: {goto: main}\n",
        "  hours:\n    type: split\n    branches:\n      - {percent: 60, then: {goto: main}}\n      - {percent: 30, then: {queue: support}}\n",
    )
    assert problems_of(tmp_path, text) == [
        "F:16: nodes.hours.branches: the percentages add up to 90, not 100"
    ]


def test_prompt_files_missing_from_the_sounds_dir(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    for name in ("hotline/vi/welcome.wav", "hotline/en/welcome.gsm", "hotline/vi/menu.wav",
                 "silence/1.ulaw"):  # fmt: skip
        (sounds / name).parent.mkdir(parents=True, exist_ok=True)
        (sounds / name).write_bytes(b"RIFF")
    text = "sounds_dir: sounds\n" + GOOD
    assert problems_of(tmp_path, text) == [
        "F:8: prompts.menu.en: no sound file " + str(sounds / "hotline/en/menu") + ".* (wav,"
        " gsm, ulaw ...)"
    ]
    (sounds / "hotline/en/menu.sln16").write_bytes(b"")
    (tmp_path / "ivr.yaml").write_text(text)
    assert load_ivr(tmp_path / "ivr.yaml").sounds_dir == "sounds"
    assert problems_of(tmp_path, "sounds_dir: nowhere\n" + GOOD) == [
        f"F:1: sounds_dir: {tmp_path / 'nowhere'} is not a directory"
    ]


CARD = """\
  card:
    type: input
    prompt: menu
    variable: card
    max_digits: 16
    sensitive: true
    next: {queue: support}
"""


def test_a_visit_node_is_reached_by_the_visit_alone() -> None:
    text = broken("fallback_queue: support\n", "fallback_queue: support\nvisits: [card]\n")
    ivr = parse_ivr(text + CARD)
    assert ivr.visits == ["card"] and ivr.nodes["card"].sensitive  # type: ignore[union-attr]


def test_a_node_only_an_agent_could_send_a_caller_to_must_be_listed(tmp_path: Path) -> None:
    assert problems_of(tmp_path, GOOD + CARD) == [
        "F:21: nodes.card: unreachable: no path from start 'language' (or a visit) leads here"
    ]


def test_an_unknown_visit_is_refused_at_its_line(tmp_path: Path) -> None:
    text = broken("fallback_queue: support\n", "fallback_queue: support\nvisits: [crad]\n")
    assert problems_of(tmp_path, text + CARD)[0] == "F:5: visits.0: unknown node 'crad'"


def test_the_samples_commented_voicemail_and_callback_example_loads() -> None:
    # config/ivr.yaml shows them in comments: uncommented, that block is a valid flow
    # whose prompts have words in config/prompts.yaml
    text = SAMPLE.read_text(encoding="utf-8")
    start = text.index("# Voicemail and callback requests")
    block = text[start : text.index("# and a survey after", start)]
    example = "\n".join(line[4:] for line in block.splitlines() if line.startswith("#   "))
    flow = (
        "languages: [vi, en]\ndefault_language: vi\nstart: after_hours\nfallback_queue: support\n"
        "prompts:\n"
        "  after_hours: {vi: hotline/vi/after-hours, en: hotline/en/after-hours}\n"
        "  leave_message: {vi: hotline/vi/leave-message, en: hotline/en/leave-message}\n"
        + example
        + "\n"
    )
    ivr = parse_ivr(flow, queues={"support"})
    assert {n.type for n in ivr.nodes.values()} == {"menu", "voicemail", "callback"}
    words = read_texts()
    assert all(f in words for files in ivr.prompts.values() for f in files.values())
