"""The OpenAPI document (``/api/openapi.json``) covers every API route, and schemathesis,
fuzzing every operation from it against a running controller (pbxsim over real AMI,
real SQL), finds no 5xx and no answer that contradicts the document.

Each operation is fuzzed as an agent and as a supervisor (and once with no session);
the requests are made from a worker thread, so the app keeps serving on the test's
event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import FlakyFailure

from callcenter.config import DEFAULT_PAUSE_REASONS, load_config
from callcenter.web.openapi import PATH, openapi_document

from .e2e_support import hotline_rig, no_caller_world

schemathesis = pytest.importorskip("schemathesis")

#: routes served that are not the JSON API (pages, sockets, static files)
NOT_API = {"/", "/login", "/logout", "/agent", "/supervisor", "/supervisor/recordings",
           "/supervisor/reports", "/admin", "/ws/wallboard", "/ws/agent", PATH}  # fmt: skip
#: refusals of schema-valid requests that no schema can state (two parameters against
#: each other, a calendar range): operation -> the 400 reasons allowed. Only these may
#: answer a schema-valid request with 400.
CROSS_FIELD = {
    "GET /api/reports": re.compile(
        r"from: must be before to|(from|to): '[^']*' is out of range \(years 1900 to 9998\)"
    ),
    # each field may be null, but not all of them
    "POST /api/calls/{call_id}/move": re.compile(r"body: Value error, give a queue, a priority or a position"),
    # an attended transfer names the agent it consults and no queue (mode against fields)
    "POST /api/calls/{call_id}/transfer": re.compile(
        r"(body: Value error, )?queue: an attended transfer consults an agent or a queue's next"
    ),
    # what a pattern cannot say: a real date, ahead but not too far; a number that exists
    "POST /api/calls/{call_id}/callback": re.compile(
        r"at: '[^']*' (is not an ISO-8601 date and time .*|is in the past"
        r"|is more than [0-9]+ days ahead)|number: '[^']*' is not a valid phone number.*"
    ),
}


def test_every_api_route_is_documented_and_every_documented_route_exists() -> None:
    from callcenter.live import LiveHub
    from callcenter.metrics import Metrics
    from callcenter.web.app import create_app

    app = create_app(hub=LiveHub(), metrics=Metrics(), secret_key=b"k" * 32)
    served = {
        (r.resource.canonical, r.method.lower())
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
        and not r.resource.canonical.startswith("/static") and r.resource.canonical not in NOT_API
    }  # fmt: skip
    documented = {(path, m) for path, ops in openapi_document()["paths"].items() for m in ops}
    assert served == documented


def test_the_document_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(openapi_document())
    operations = [op.ok() for op in schema.get_all_operations()]
    assert {f"{o.method.upper()} {o.path}" for o in operations} >= {
        "GET /api/wallboard", "POST /api/calls/{call_id}/disposition"}  # fmt: skip


#: what ``\s`` matches in a JSON Schema (ECMA-262) pattern: not U+0085 nor 0x1c-0x1f,
#: which Python's ``str.strip`` (the API's bodies strip their strings) removes
ECMA_SPACE = "\t\n\v\f\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for v in node.values() for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


def test_no_pattern_lets_through_what_the_api_strips_to_nothing() -> None:
    # schemathesis sent a pause reason "\x85": the schema's pattern took it, the
    # server stripped it to "" and answered 400 (test_openapi failed once).
    stripped = [c for c in map(chr, range(0x3000 + 1)) if c.isspace()]
    patterns = {p for p in _patterns(openapi_document()) if "\\s" in p}
    assert patterns, "no pattern of the document reads \\s any more: this test checks nothing"
    for pattern in patterns:
        ecma = re.compile(pattern.replace("\\s", ECMA_SPACE))
        if ecma.fullmatch("") is None:  # the field must hold something visible
            let_through = [hex(ord(c)) for c in stripped if ecma.fullmatch(c)]
            assert let_through == [], f"{pattern} takes {let_through}, which the API strips"


async def _cookie(http: aiohttp.ClientSession, base: str, user: str) -> str:
    async with http.post(f"{base}/login", data={"username": user, "password": f"{user}-pass"},
                         allow_redirects=False) as r:  # fmt: skip
        assert r.status == 303, await r.text()
        return str(r.cookies["hotline_session"].value)


async def _paused(base: str, cookie: str) -> None:
    """Pause the agent of ``cookie``, trying again while it is on a call (409)."""
    deadline = asyncio.get_running_loop().time() + 60
    async with aiohttp.ClientSession(cookies={"hotline_session": cookie}) as http:
        while True:
            async with http.post(f"{base}/api/agent/pause", json={"reason": "break"}) as r:
                if r.status == 200:
                    return
                assert r.status == 409, await r.text()
            assert asyncio.get_running_loop().time() < deadline, "never out of its calls"
            await asyncio.sleep(0.1)


def _fuzz(
    base: str, cookies: dict[str, str | None], max_examples: int, document: dict[str, Any]
) -> tuple[list[str], dict[str, int]]:
    """Every operation x every login; the failures found, as text, and the calls made
    per operation, login and status code."""
    schema = schemathesis.openapi.from_dict(document)
    problems: list[str] = []
    statuses: dict[str, int] = {}
    http = requests.Session()

    def check(case: Any, who: str, cookie: str | None) -> None:
        jar = {} if cookie is None else {"hotline_session": cookie}
        response = case.call(base_url=base, session=http, cookies=jar)
        key = f"{case.method} {case.path} {who} {response.status_code}"
        statuses[key] = statuses.get(key, 0) + 1
        body = json.dumps(case.body, default=str)[:200]
        what = f"{who}: {case.method} {case.formatted_path} {body}"
        if response.status_code >= 500:
            problems.append(f"{what}: {response.status_code} {response.text[:300]}")
            raise AssertionError(problems[-1])
        allowed = CROSS_FIELD.get(f"{case.method} {case.path}")
        if (
            response.status_code == 400
            and allowed is not None
            and allowed.fullmatch(response.json().get("reason", ""))
        ):
            return
        try:
            case.validate_response(response)
        except BaseExceptionGroup as group:  # schemathesis' FailureGroup
            problems.append(f"{what}: {group}")
            raise AssertionError(problems[-1]) from None

    def fuzzer(operation: Any, who: str, cookie: str | None) -> Any:
        @settings(max_examples=max_examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            check(case, who, cookie)

        return run

    for result in schema.get_all_operations():
        for who, cookie in cookies.items():
            try:
                fuzzer(result.ok(), who, cookie)()
            except AssertionError:  # recorded in problems, reported together
                pass
            except FlakyFailure:
                # A failing example that passed when Hypothesis replayed it: the server is
                # stateful (a second Ready on a ringing agent is refused), so one case can
                # answer differently twice. The failure was recorded in problems all the same.
                pass
    return problems, statuses


async def test_schemathesis_finds_no_5xx_and_no_answer_against_the_document(
    tmp_path: Path, db_url: str
) -> None:
    # No caller comes: agent1 stays idle, so Ready and Pause answer its page (200), which
    # the wrong document below must catch; a talking agent is refused (409, the ACD says no)
    async with hotline_rig(tmp_path, db_url, no_caller_world, agents=2) as rig:
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.supervisor.rsplit("/supervisor", 1)[0]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}{PATH}") as r:
                served = await r.json()
                codes = list(load_config(rig.config_path).dispositions)
                reasons = list(DEFAULT_PAUSE_REASONS)  # a new database starts with these
                assert r.status == 200 and served == openapi_document(codes, reasons)
            cookies: dict[str, str | None] = {
                "agent1": await _cookie(http, base, "agent1"),
                "supervisor": await _cookie(http, base, "supervisor"),
                "nobody": None,
            }
        problems, statuses = await asyncio.to_thread(_fuzz, base, cookies, 40, served)
        # the check can fail: a document that promises a field the answers lack
        wrong = openapi_document(codes, reasons)
        wrong["components"]["schemas"]["AgentPage"]["required"] = ["no_such_field"]
        # agent1 paused first: its Ready answers an AgentPage, which the wrong document
        # must be caught on
        await _paused(base, str(cookies["agent1"]))
        caught, _ = await asyncio.to_thread(_fuzz, base, {"agent1": cookies["agent1"]}, 5, wrong)
    assert problems == [], "\n".join(problems[:20])
    assert any("no_such_field" in p for p in caught), caught[:3]
    # every operation was called with and without each login, and reached its handler
    for op in ("GET /api/wallboard", "GET /api/agents/{agent_id}", "POST /api/agent/ready",
               "POST /api/agent/pause", "POST /api/calls/{call_id}/disposition"):  # fmt: skip
        for who in cookies:
            assert any(k.startswith(f"{op} {who} ") for k in statuses), (op, who, statuses)
    assert any(
        k.endswith(" 200") for k in statuses if k.startswith("GET /api/wallboard supervisor")
    )
    # no caller comes, so agent1 is never talking and a pause is answered with its page
    assert any(k.endswith(" 200") for k in statuses if k.startswith("POST /api/agent/pause agent1"))
