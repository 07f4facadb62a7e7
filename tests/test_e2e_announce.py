"""Position and wait announcements over the whole hotline: pbxsim over real AMI, real SQL.
One agent and callers arriving faster than it answers, each choosing Vietnamese or English
in the IVR: every announcement a caller hears is in its language (the prompts' and the
channel's, which pbxsim reports on each AGIExecStart), the first comes no sooner than
``first_after_s`` after the hold began and the next no sooner than ``every_s`` later."""

from __future__ import annotations

import re
from typing import Any

from .e2e_support import hotline_rig, scenario, wait_until

FIRST_AFTER_S, EVERY_S = 3.0, 4.0
#: the core says an announcement this much early rather than cut a slice to nothing
EARLY_S = 0.5
SCALE = 4.0  # hotline_rig's pbxsim: four simulated seconds per second
PARTS = ("youarenext", "thereare", "callswaiting", "holdtime", "minutes", "seconds")
START = re.compile(r'STREAM FILE hotline/(vi|en)/queue-(thereare|youarenext) ""')


def _world(numbers: list[str]) -> dict[str, Any]:
    world = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 30},
                     callers={"patience": [200, 300]},
                     agents={"default": {"answer_delay": [0.5, 1], "talk_time": [10, 14],
                                         "agent_hangs_up_probability": 0.5}})  # fmt: skip
    world["prompts"].update({f"hotline/{lang}/queue-{part}": 1.0
                             for lang in ("vi", "en") for part in PARTS})  # fmt: skip
    return world


def _config(text: str) -> str:
    return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n    announce:\n"
                        f"      first_after_s: {FIRST_AFTER_S}\n      every_s: {EVERY_S}\n"
                        "      round_s: 15\n      say: number\n")  # fmt: skip


def _headers(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in data.decode().split("\r\n"):
        key, _, value = line.partition(": ")
        out.setdefault(key, value)
    return out


async def test_a_waiting_caller_hears_its_place_and_wait_at_the_set_times_in_its_language(
    tmp_path, db_url
):
    #: channel -> [(simulated time, command, the channel's language)]
    heard: dict[str, list[tuple[float, str, str]]] = {}
    async with hotline_rig(tmp_path, db_url, _world, agents=1, edit_config=_config) as rig:
        world = rig.sim.world

        def on_event(name: str, data: bytes) -> None:
            if name == "AGIExecStart":
                h = _headers(data)
                heard.setdefault(h["Channel"], []).append((world.now(), h["Command"],
                                                           h["Language"]))  # fmt: skip

        world.listeners.append(on_event)

        def told() -> dict[str, list[tuple[float, str, str]]]:
            return {ch: [c for c in cmds if START.fullmatch(c[1])] for ch, cmds in heard.items()
                    if any(START.fullmatch(c[1]) for c in cmds)}  # fmt: skip

        def enough() -> bool:
            starts = told()
            langs = {START.fullmatch(c[0][1]).group(1) for c in starts.values()}  # type: ignore[union-attr]
            numbers = any(cmd.startswith("SAY NUMBER") for cmds in heard.values()
                          for _t, cmd, _l in cmds)  # fmt: skip
            return langs == {"vi", "en"} and numbers and any(len(s) >= 2 for s in starts.values())

        await wait_until(enough, 150, "a vi and an en caller told twice, a number said")
        heard = {ch: list(cmds) for ch, cmds in heard.items()}

    starts = told()
    for channel, cmds in heard.items():
        hold_began = next((t for t, cmd, _l in cmds if cmd.startswith("SET MUSIC ON")), None)
        said = starts.get(channel, [])
        prompts = set()
        for _t, cmd, language in cmds:
            m = re.fullmatch(r'STREAM FILE hotline/(vi|en)/queue-\w+ ""', cmd)
            if m is not None:  # in the caller's language: the prompt's and the channel's
                assert m.group(1) == language, (channel, cmd, language)
                prompts.add(language)
        assert len(prompts) <= 1, (channel, cmds)
        numbers = {language for _t, cmd, language in cmds if cmd.startswith("SAY NUMBER")}
        assert numbers <= prompts, (channel, cmds)  # SAY NUMBER speaks the channel's language
        if not said:
            continue
        assert hold_began is not None
        # the ACD's entry is a few ms before the music's AGIExecStart: 0.5 s of slack
        assert said[0][0] - hold_began >= (FIRST_AFTER_S - EARLY_S - 0.5) * SCALE, (channel, cmds)
        for (t0, _c0, _l0), (t1, _c1, _l1) in zip(said, said[1:], strict=False):
            assert t1 - t0 >= (EVERY_S - EARLY_S) * SCALE, (channel, said)
