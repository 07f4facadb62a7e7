"""Actions, lists, AGI, Originate and event dispatch of the AMI client, over real TCP.

Every answer is the recorded bytes of a real Asterisk 22 (transcripts 02, 06,
08, 13) played back by ``FakeAsterisk``, which also checks that the client sent
the fields the recording's client sent.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from callcenter.ami import (
    ActionError,
    ActionResult,
    ActionTimeout,
    AgiHangup,
    AMIConnectionError,
    Event,
    Response,
    parse_agi_env,
)

from .test_ami_client import (
    BANNER,
    LOGIN,
    FakeAsterisk,
    Peer,
    Step,
    Transcript,
    answer_pings,
    bounded,
    make_client,
    replay,
)
from .transcripts import TRANSCRIPTS

T02 = Transcript("02-asyncagi-ivr")
T06 = Transcript("06-channels-listing")
T08 = Transcript("08-errors")
T13 = Transcript("13-agi-missing-prompt")


@pytest.mark.parametrize("filtered", [True, False], ids=["events=Hangup", "events=None"])
@bounded()
async def test_event_lists_are_collected_whatever_the_actionid_position(filtered: bool) -> None:
    # 06: CoreShowChannel puts ActionID second, Status puts it last; the regex
    # Hangup answers as a list too. Filtered, the codec passes only Hangup
    # events, yet the list items (other names) must still reach the collection;
    # unfiltered, the list is found from the response alone (expect_list=False).
    steps = T06.select("s06-62", "s06-69", "s06-70", "s06-76")
    async with FakeAsterisk(replay(steps)) as srv:
        client = make_client(srv.port, events=["Hangup"] if filtered else None)
        dispatched: list[str] = []
        client.on_event("*", lambda ev: dispatched.append(ev.name))
        await client.connect()

        channels = await client.send_action("CoreShowChannels", expect_list=filtered)
        assert isinstance(channels, ActionResult)
        assert channels.response.message == "Channels will follow"
        assert [e.name for e in channels.events] == ["CoreShowChannel"] * 6
        assert [e["Channel"] for e in channels.events] == [
            "Local/s@caller-sim-0000000e;1", "Local/s@caller-sim-0000000e;2",
            "Local/s@caller-sim-00000010;1", "Local/s@caller-sim-00000010;2",
            "Local/s@caller-sim-0000000f;2", "Local/s@caller-sim-0000000f;1",
        ]  # fmt: skip
        assert {e["ApplicationData"] for e in channels.events if e["Channel"].endswith(";1")} == {
            "agi:async"
        }
        assert channels.complete is not None
        assert channels.complete.name == "CoreShowChannelsComplete"
        assert channels.complete["ListItems"] == "6"
        assert {e["ActionID"] for e in channels.events} == {"node1-2"}

        status = await client.send_list_action("Status")
        assert [e.name for e in status.events] == ["Status"] * 6
        assert status.events[0].names()[-1] == "ActionID"  # last, yet matched
        assert status.complete is not None and status.complete["Items"] == "6"

        hung = await client.send_list_action("Hangup", {"Channel": r"/^Local\/s@caller-sim-.*;1$/"})
        assert [e.name for e in hung.events] == ["ChannelHungup"] * 3
        assert hung.complete is not None and hung.complete.name == "ChannelsHungupListComplete"

        # List items are the action's answer, not dispatched; Hangup events are.
        await asyncio.sleep(0.05)
        list_items = {"CoreShowChannel", "Status", "ChannelHungup"}
        assert not list_items & set(dispatched)
        assert dispatched.count("Hangup") == 6
        if filtered:
            assert set(dispatched) == {"Hangup"}
            assert client.skipped_events > 0  # SoftHangupRequest & co never decoded
        else:
            assert "SoftHangupRequest" in dispatched and client.skipped_events == 0
        await client.close()


@bounded()
async def test_originate_and_agi_round_trips_of_transcript_02() -> None:
    steps = T02.select("s02-6", "s02-7", "s02-8", "s02-9", "s02-10")
    async with FakeAsterisk(replay(steps)) as srv:
        client = make_client(srv.port, events=["AsyncAGIStart"])
        started: list[Event] = []
        client.on_event("AsyncAGIStart", started.append)
        await client.connect()
        resp = await client.originate(
            "Local/s@caller-sim",
            context="hotline",
            exten="s",
            priority=1,
            caller_id='"Alice 5550102" <5550102>',
            dial_timeout=15,
            variables={"DIGITS": "2", "DELAY": "4", "DIGITS2": "1", "DELAY2": "2", "HOLD": "60"},
        )
        assert resp.name == "OriginateResponse"
        assert (resp["Response"], resp["Reason"]) == ("Success", "4")
        assert resp["Channel"] == "Local/s@caller-sim-00000000;1"
        assert resp.names()[2] == "ActionID"  # third, after Privilege (README)

        [start] = started
        channel = parse_agi_env(start["Env"]).channel
        assert channel == "Local/s@caller-sim-00000000;1"

        answer = await client.agi(channel, "ANSWER", command_id="ivr-1")
        assert (answer.code, answer.result, answer.ok) == (200, 0, True)
        played = await client.agi(channel, 'STREAM FILE demo-congrats "12#"')
        assert (played.result, played.digit) == (50, "2")
        assert played.endpos is not None and played.endpos > 0
        got = await client.agi(channel, "GET DATA vm-enter-num-to-call 6000 1")
        assert got.result == 1
        await client.close()
    agis = [a for a in srv.received if a.name == "AGI"]
    assert [a.get("CommandID") for a in agis] == ["ivr-1", "node1-agi-1", "node1-agi-2"]


@bounded()
async def test_failed_agi_command_returns_its_result_before_asyncagi_ends() -> None:
    # 13: STREAM FILE of a missing prompt gives result=-1 and then AsyncAGIEnd
    # and Hangup; the AsyncAGIExec comes first, so agi() returns, not raises.
    steps = T13.select("s13-1", "s13-o1", "s13-a1", "s13-o2", "s13-a2", "s13-a4", "s13-2")
    async with FakeAsterisk(replay(steps)) as srv:
        client = make_client(srv.port, events=["AsyncAGIStart"])
        queue: asyncio.Queue[str] = asyncio.Queue()
        client.on_event("AsyncAGIStart", lambda ev: queue.put_nowait(ev["Channel"]))
        await client.connect()
        await client.originate(
            "Local/s@caller-sim",
            context="hotline",
            exten="s",
            caller_id='"Khach A" <0912000001>',
            variables={"HOLD": "30"},
        )
        first = await queue.get()
        missing = await client.agi(first, 'STREAM FILE no-such-prompt ""')
        assert (missing.code, missing.result, missing.ok) == (200, -1, False)
        await client.originate(
            "Local/s@caller-sim",
            context="hotline-safe",
            exten="s",
            caller_id='"Khach B" <0912000002>',
            variables={"HOLD": "30"},
        )
        second = await queue.get()
        played = await client.agi(second, "EXEC Playback no-such-prompt")
        assert (played.result, played.ok) == (0, True)
        bye = await client.agi(second, "HANGUP")
        assert bye.code == 200
        await client.close()
    assert srv.actions()[-1] == "Logoff"


@bounded()
async def test_hangup_before_the_agi_result_raises_agi_hangup() -> None:
    channel = "Local/s@caller-sim-00000000;1"
    queued = T02.steps["s02-9"]
    hangup = T02.frame(b"Event: Hangup\r\n", f"Channel: {channel}\r\n".encode())
    # The AGI is acknowledged, then the caller hangs up before it ran.
    cut = Step(queued.action, T02.frame(b"Response: Success\r\nActionID: s02-9") + hangup)
    async with FakeAsterisk(replay([LOGIN, cut])) as srv:
        client = make_client(srv.port, events=[])
        await client.connect()
        with pytest.raises(AgiHangup) as err:
            await client.agi(channel, 'STREAM FILE demo-congrats "12#"')
        assert str(err.value) == (
            "AGI 'STREAM FILE demo-congrats \"12#\"' on Local/s@caller-sim-00000000;1 "
            "(CommandID node1-agi-1): the channel hung up (Cause 0 Unknown) before the "
            "result came back"
        )
        assert err.value.channel == channel
        assert isinstance(err.value.event, Event) and err.value.event.name == "Hangup"
        await client.close()


@bounded()
async def test_agi_soon_reports_on_a_later_turn_and_each_wait_has_its_limit() -> None:
    # agi_soon() is agi() without a task: its end comes to a callback on a later turn
    # of the loop; the response is bounded by action_timeout, the result by the limit.
    channel = "Local/s@caller-sim-00000000;1"
    queued = T02.steps["s02-9"]
    only_queued = Step(queued.action, T02.frame(b"Response: Success\r\nActionID: s02-9"))
    async with FakeAsterisk(replay([LOGIN, queued, only_queued])) as srv:
        client = make_client(srv.port, events=[], action_timeout=0.3)
        await client.connect()
        loop = asyncio.get_running_loop()
        ends: list[tuple[object, object]] = []
        came = asyncio.Event()

        def done(result: object, error: object) -> None:
            ends.append((result, error))
            came.set()

        client.agi_soon(channel, 'STREAM FILE demo-congrats "12#"', done)
        await came.wait()
        [(played, error)] = ends
        assert error is None and played.digit == "2"  # type: ignore[attr-defined]

        # the response came, the AsyncAGIExec never does: the limit, not action_timeout
        came.clear()
        started = loop.time()
        client.agi_soon(channel, 'STREAM FILE demo-congrats "12#"', done, timeout=0.6)
        await came.wait()
        assert loop.time() - started >= 0.6
        assert str(ends[-1][1]) == (
            f"AGI 'STREAM FILE demo-congrats \"12#\"' on {channel} (CommandID node1-agi-2) got "
            f"no AsyncAGIExec from 127.0.0.1:{srv.port} within 0.6 s"
        )

        # no response at all: action_timeout, as for any action
        came.clear()
        client.agi_soon(channel, "ANSWER", done, timeout=5)
        await came.wait()
        error = ends[-1][1]
        assert isinstance(error, ActionTimeout) and error.timeout == 0.3
        assert str(error) == (
            f"AGI (ActionID node1-4) got no answer from AMI at 127.0.0.1:{srv.port} within 0.3 s"
        )
        assert not client._agi and not client._pending  # nothing left waiting

        # a callback is never called in the same turn, even when the link is gone
        await client.close()
        with pytest.raises(AMIConnectionError):
            client.agi_soon(channel, "ANSWER", done)


@bounded()
async def test_agi_refused_after_a_hangup_is_the_refusal() -> None:
    # An error response wins over a Hangup of the channel seen before it, as in agi().
    channel = "Local/s@nosuch-00000000;1"
    [step] = T08.select("s08-104")
    other = "Local/s@caller-sim-00000000;1"
    hangup = T02.frame(b"Event: Hangup\r\n", f"Channel: {other}\r\n".encode())
    hangup = hangup.replace(other.encode(), channel.encode())
    async with FakeAsterisk(replay([LOGIN, Step(step.action, hangup + step.chunk)])) as srv:
        client = make_client(srv.port, events=[])
        await client.connect()
        with pytest.raises(ActionError) as err:
            await client.agi(channel, "ANSWER")
        assert str(err.value) == f"AGI failed: Channel {channel} does not exist."
        await client.close()


@bounded()
async def test_error_responses_of_transcript_08() -> None:
    steps = T08.select("s08-98", "s08-99", "s08-99", "async-nocontext", "async-bad-dest", "s08-104")
    async with FakeAsterisk(replay(steps)) as srv:
        client = make_client(srv.port)
        await client.connect()
        with pytest.raises(ActionError) as err:
            await client.send_action("FooBar")
        assert str(err.value) == (
            "FooBar failed: Invalid/unknown command: FooBar. "
            "Use Action: ListCommands to show available commands."
        )
        assert isinstance(err.value.response, Response) and err.value.action == "FooBar"
        unchecked = await client.send_action("FooBar", check=False)
        assert isinstance(unchecked, Response) and unchecked.name == "Error"

        # Async originate into a missing Local context: accepted, then Failure Reason 0.
        failed = await client.originate(
            "Local/s@no-such-context", context="hotline", exten="s", priority=1, dial_timeout=3
        )
        assert (failed["Response"], failed["Reason"], failed["Uniqueid"]) == (
            "Failure", "0", "<unknown>"
        )  # fmt: skip
        # A missing dialplan context is refused synchronously.
        with pytest.raises(ActionError) as err:
            await client.originate(
                "Local/s@caller-sim",
                context="no-such-context",
                exten="s",
                priority=1,
                dial_timeout=5,
                variables={"HOLD": "3", "DELAY": "0"},
            )
        assert str(err.value) == "Originate failed: Extension does not exist."
        with pytest.raises(ActionError) as err:
            await client.agi("Local/s@nosuch-00000000;1", "ANSWER")
        assert str(err.value) == "AGI failed: Channel Local/s@nosuch-00000000;1 does not exist."
        await client.close()


@bounded()
async def test_callbacks_are_isolated_and_streams_deliver_in_order() -> None:
    async with FakeAsterisk(replay([LOGIN])) as srv:
        client = make_client(srv.port)
        calls: list[str] = []

        def broken(ev: Event) -> None:
            calls.append("broken:" + ev.name)
            raise RuntimeError("listener bug")

        client.on_event("*", broken)
        remove = client.on_event("FullyBooted", lambda ev: calls.append("booted"))
        stream = client.events("FullyBooted", "SuccessfulAuth")
        await client.connect()
        assert calls == ["booted", "broken:FullyBooted", "broken:SuccessfulAuth"]
        assert client.callback_errors == 2
        assert [(await anext(stream)).name for _ in range(2)] == ["FullyBooted", "SuccessfulAuth"]
        remove()
        await client.close()
        with pytest.raises(StopAsyncIteration):  # the stream ends with the client
            await anext(stream)


@bounded()
async def test_action_ids_are_injectable_and_misuse_is_refused() -> None:
    ids = iter(["hl-a", "hl-b", "hl-c"])
    async with FakeAsterisk(replay([LOGIN], then=answer_pings)) as srv:
        client = make_client(srv.port, action_id=lambda name: next(ids))
        with pytest.raises(AMIConnectionError, match="is not connected"):
            await client.send_action("Ping")
        await client.connect()
        pong = await client.send_list_action("Ping")  # a plain response: no list
        assert pong.events == [] and pong.complete is None and pong.response["Ping"] == "Pong"
        with pytest.raises(ValueError, match="either context/exten or application"):
            await client.originate("Local/1001@agent-phones")
        await client.close()
    assert [a.get("ActionID") for a in srv.received] == ["hl-a", "hl-b", "hl-c"]


@pytest.mark.parametrize("events", [None, ["AsyncAGIStart", "Hangup"]])
@bounded(15)
async def test_burst_of_10_000_events_arrives_whole_and_in_order(events: list[str] | None) -> None:
    # 10-burst: 200 calls in 1 s, 10,002 events in 3.9 MB, played back at socket speed.
    data = (TRANSCRIPTS / "10-burst.ami").read_bytes()
    counts = json.loads((TRANSCRIPTS / "summary.json").read_text())["10-burst.ami"]["event_types"]
    expected = sum(counts.values()) if events is None else sum(counts[n] for n in events)
    body = data[data.index(b"\r\n") + 2 :]

    async def burst(peer: Peer) -> None:
        await peer.send(BANNER)
        login = await peer.read_action()
        assert login is not None
        await peer.send(body.replace(b"ActionID: s10-1\r\n", b"ActionID: node1-1\r\n", 1))
        await answer_pings(peer)

    async with FakeAsterisk(burst) as srv:
        client = make_client(srv.port, events=events)
        got: list[Event] = []
        client.on_event("*", got.append)
        started = time.perf_counter()
        await client.connect()
        await client.ping()  # answered after the whole burst: every event is in
        elapsed = time.perf_counter() - started
        assert len(got) == expected
        assert client.protocol_errors == 0 and client.connected
        if events is not None:
            assert {e.name for e in got} == set(events)
            assert client.skipped_events == sum(counts.values()) - expected
        offsets = [e.offset for e in got]
        assert offsets == sorted(offsets)
        print(f"{len(got)} events dispatched in {elapsed:.2f} s")
        await client.close()
