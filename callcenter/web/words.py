"""The agent desk's words in each language it speaks (issue 15): a small catalogue,
one JSON file per language in ``dashboards/words/`` (key -> text, ``{name}`` marks a
value filled in), read once at start.

Why a JSON catalogue and not gettext/Babel: the same words are needed by the server's
template and by the desk's script (states, pushes, refusals); one flat JSON file per
language is read by both as it is, with no compile step (``.mo``) and no extraction
tooling for some hundred strings. Every language must have exactly English's keys,
or the app refuses to start naming the missing and the extra ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
import jinja2.runtime

import dashboards

WORDS_DIR = Path(dashboards.__file__).resolve().parent / "words"
#: the languages the desk speaks; the first is the default
LANGUAGES = ("en", "vi")
#: the cookie that keeps a browser's choice of language (per browser, not per agent)
LANGUAGE_COOKIE = "hotline_lang"
#: the cookie that keeps a browser's choice of time zone (an IANA name)
ZONE_COOKIE = "hotline_tz"

Catalogue = Mapping[str, str]


class WordsError(ValueError):
    """A catalogue that cannot be used: unreadable, not flat, or keys that differ."""


def load_catalogues(folder: Path = WORDS_DIR) -> dict[str, Catalogue]:
    """Every language's catalogue, checked against English's keys."""
    found: dict[str, Catalogue] = {}
    for lang in LANGUAGES:
        path = folder / f"{lang}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WordsError(f"{path}: {exc}") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
        ):
            raise WordsError(f"{path}: expected one object of non-empty texts by key")
        found[lang] = data
    english = set(found[LANGUAGES[0]])
    for lang, words in found.items():
        missing, extra = sorted(english - set(words)), sorted(set(words) - english)
        if missing or extra:
            raise WordsError(f"{folder / (lang + '.json')}: missing {missing}, not in English {extra}")
    return found


def language_of(cookies: Mapping[str, str]) -> str:
    """The browser's chosen language (its cookie), else the default."""
    chosen = cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def template_words(english: Catalogue) -> Callable[..., str]:
    """The templates' ``t(key, default)``: the page's catalogue (its context's
    ``words``), else English's; ``default`` (else the key) when neither has it."""

    @jinja2.pass_context
    def t(context: jinja2.runtime.Context, key: str, default: str | None = None) -> str:
        words = context.get("words") or english
        return str(words.get(key) or english.get(key) or (default if default is not None else key))

    return t


def zone_of(cookies: Mapping[str, str], default: str) -> str:
    """The browser's chosen time zone (its cookie, when an IANA name this machine
    knows), else ``default`` (the config's ``time_zone``)."""
    chosen = unquote(cookies.get(ZONE_COOKIE, ""))
    if not chosen or len(chosen) > 64 or chosen.startswith(("/", ".")) or ".." in chosen:
        return default
    try:
        ZoneInfo(chosen)
    except (ZoneInfoNotFoundError, ValueError):
        return default
    return chosen
