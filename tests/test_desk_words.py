"""The desk's word catalogues (issue 15): English and Vietnamese have the same keys, every
key the desk's template and scripts use exists, and a broken catalogue is refused by
name before the app starts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from callcenter.web.words import LANGUAGES, WORDS_DIR, WordsError, load_catalogues, zone_of

DASHBOARDS = WORDS_DIR.parent
DESK_FILES = [DASHBOARDS / "templates" / "agent.html", DASHBOARDS / "templates" / "base.html",
              *sorted((DASHBOARDS / "static").glob("desk_*.js")),
              DASHBOARDS / "static" / "agent.js", DASHBOARDS / "static" / "live.js"]  # fmt: skip
#: keys the scripts build from data: each of these values must have its word
BUILT = {"state.": ["ready", "ringing", "talking", "wrapup", "paused", "offline"],
         "ivr.what.": ["enter", "digits", "invalid", "timeout", "back", "agent", "entry",
                       "prompt_failed", "branch", "lookup", "customer", "voicemail", "callback",
                       "loop"],
         "language.": list(LANGUAGES)}  # fmt: skip


def test_every_language_has_the_same_words_and_each_is_translated() -> None:
    found = load_catalogues()
    assert set(found) == {"en", "vi"}
    assert set(found["en"]) == set(found["vi"])
    same = {k for k in found["en"] if found["en"][k] == found["vi"][k]}
    # only what has no words of its own: a placeholder alone, the ids
    assert same == {"ivr.choice.language", "ivr.what.other"}, same


def test_every_key_the_desk_uses_is_in_the_catalogue() -> None:
    words = load_catalogues()["en"]
    used: set[str] = set()
    for path in DESK_FILES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", text))
        used |= set(re.findall(r"""\btOr\(\s*["']([a-z_.]+)["']""", text))
    used = {k for k in used if not k.endswith(".")}  # a prefix a script completes
    used |= {prefix + name for prefix, names in BUILT.items() for name in names}
    assert len(used) > 60
    assert sorted(used - set(words)) == []


def write(folder: Path, lang: str, data: object) -> None:
    (folder / f"{lang}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_a_missing_or_extra_word_is_refused_by_name(tmp_path: Path) -> None:
    write(tmp_path, "en", {"a": "A", "b": "B"})
    write(tmp_path, "vi", {"a": "Á", "c": "C"})
    with pytest.raises(WordsError, match=r"vi\.json: missing \['b'\], not in English \['c'\]"):
        load_catalogues(tmp_path)


@pytest.mark.parametrize("data", [["a"], {"a": 1}, {"a": ""}])
def test_a_catalogue_not_of_texts_is_refused(tmp_path: Path, data: object) -> None:
    write(tmp_path, "en", data)
    write(tmp_path, "vi", {"a": "Á"})
    with pytest.raises(WordsError, match=r"en\.json: expected one object of non-empty texts"):
        load_catalogues(tmp_path)


def test_unreadable_json_is_refused_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(WordsError, match=r"en\.json: "):
        load_catalogues(tmp_path)


@pytest.mark.parametrize(("cookie", "zone"), [
    ("America/New_York", "America/New_York"),
    ("America%2FNew_York", "America/New_York"),  # quoted by a script
    ("Mars/Olympus_Mons", "Asia/Ho_Chi_Minh"),  # unknown: the config's
    ("../../etc/passwd", "Asia/Ho_Chi_Minh"),
    ("/etc/localtime", "Asia/Ho_Chi_Minh"),
    ("", "Asia/Ho_Chi_Minh"),
])  # fmt: skip
def test_the_browsers_time_zone_is_an_iana_name_or_the_configs(cookie: str, zone: str) -> None:
    assert zone_of({"hotline_tz": cookie}, "Asia/Ho_Chi_Minh") == zone
