"""The call tracker on real Asterisk 22 recordings: calls by Linkedid, AGI re-entry, resync."""

from __future__ import annotations

from callcenter.ami import CLOSED, AMICodec
from callcenter.tracker import (
    AgiEnded,
    AgiStarted,
    Bridged,
    CallTracker,
    ChannelHungUp,
    DigitPressed,
    LinkedidGone,
    Listed,
    ParkedInAgi,
    PhoneTransfer,
)

from .transcripts import TRANSCRIPTS


def run(name: str, tracker: CallTracker | None = None) -> tuple[CallTracker, list]:
    codec = AMICodec()
    codec.receive_data((TRANSCRIPTS / name).read_bytes())
    codec.receive_data(None)
    tracker = tracker or CallTracker()
    out: list = []
    listed: list = []
    while (m := codec.next_message()) is not CLOSED:
        if m.kind != "event":
            continue
        if m.name == "CoreShowChannel":
            listed.append(m)
        elif m.name == "CoreShowChannelsComplete":
            out.extend(tracker.resync(listed))
            listed = []
        else:
            out.extend(tracker.on_event(m))
    return tracker, out


def test_agent_leg_joins_the_callers_call_at_bridge_enter():
    tracker, out = run("03-originate-agent-and-bridge.ami")
    bridged = [e for e in out if isinstance(e, Bridged)]
    agent = [e for e in bridged if "agent-phones" in e.channel]
    assert [(e.call_id, e.previous_call_id) for e in agent] == [
        ("1795369488.2", "1795369488.4"),
        ("1795369493.8", "1795369494.10"),
    ]
    # the caller of part B re-enters AsyncAGI in [after-call] with no AsyncAGIEnd before
    starts = [e for e in out if isinstance(e, AgiStarted) and e.call_id == "1795369493.8"]
    assert [(s.first, s.env.context) for s in starts] == [(True, "hotline"), (False, "after-call")]
    ended = [e.call_id for e in out if isinstance(e, LinkedidGone)]
    assert sorted(ended) == sorted(set(ended))  # each call ends once
    assert "1795369488.2" in ended and "1795369493.8" in ended
    assert tracker.calls == {} and tracker.channels == {}


def test_hangup_causes_and_digits():
    _, out = run("02-asyncagi-ivr.ami")
    assert [e.digit for e in out if isinstance(e, DigitPressed)] == ["2", "1"]
    hung = [e for e in out if isinstance(e, ChannelHungUp)]
    assert {(e.cause, e.cause_txt) for e in hung} == {(0, "Unknown")}
    assert [type(e).__name__ for e in out][-1] == "LinkedidGone"


def test_missing_prompt_in_hotline_safe_restarts_agi():
    _, out = run("13-agi-missing-prompt.ami")
    safe = [e for e in out if getattr(e, "call_id", "") == "1795401131.10"]
    kinds = [(type(e).__name__, getattr(e, "first", None)) for e in safe]
    assert kinds[:4] == [
        ("AgiStarted", True),
        ("AgiEnded", None),
        ("AgiStarted", False),
        ("AgiEnded", None),
    ]


def test_restarted_controller_finds_parked_callers_and_drops_gone_ones():
    # The dead session's tracker knows both callers; a third channel it knew is gone.
    tracker, _ = run("12-reconnect-resync.dead.ami")
    assert len(tracker.calls) == 2
    fresh, out = run("12-reconnect-resync.ami")
    parked = [e for e in out if isinstance(e, ParkedInAgi)]
    assert {p.channel for p in parked} == {
        "Local/s@caller-sim-00000002;1",
        "Local/s@caller-sim-00000003;1",
    }
    assert all(p.context == "hotline" for p in parked)
    assert fresh.calls == {}
    # Redirect back to the hotline context: AsyncAGIEnd then a fresh AsyncAGIStart
    names = [
        type(e).__name__
        for e in out
        if getattr(e, "call_id", "") == "1795401117.4" and not isinstance(e, Listed)
    ]
    assert names[:3] == ["ParkedInAgi", "AgiEnded", "AgiStarted"]


def test_resync_ends_channels_that_vanished():
    tracker, _ = run("12-reconnect-resync.dead.ami")
    out = tracker.resync([])
    assert sorted(e.call_id for e in out if isinstance(e, LinkedidGone)) == [
        "1795401117.4",
        "1795401117.6",
    ]
    assert all(e.cause_txt == "gone at resync" for e in out if isinstance(e, ChannelHungUp))
    assert not any(isinstance(e, AgiEnded) for e in out)


class FakeEvent:
    """An AMI event built by hand (name and headers), as the codec hands them out."""

    def __init__(self, name: str, **headers: str) -> None:
        self.name = name
        self._headers = headers

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name, default)


def test_a_channel_first_seen_while_the_listing_was_read_is_not_found_gone():
    # Broke: a caller arriving while the controller read the listing (and SQL) was taken
    # for gone by the older listing, and closed while it waited in the IVR.
    tracker, _ = run("12-reconnect-resync.dead.ami")
    known = set(tracker.channels)
    newcomer = FakeEvent("Newchannel", Channel="PJSIP/new-1", Uniqueid="9.9", Linkedid="9.9")
    tracker.on_event(newcomer)
    gone = [e for e in tracker.resync([], known) if isinstance(e, ChannelHungUp)]
    assert {e.uniqueid for e in gone} == known
    assert "9.9" in tracker.channels


def test_a_channel_that_hung_up_while_the_listing_was_read_is_not_brought_back():
    # Broke: a caller hanging up while the controller read the listing was brought back
    # by the older listing and stayed "talking" forever, with no outcome.
    tracker = CallTracker()  # a restarted controller: it knows no channel yet
    listed = [FakeEvent("CoreShowChannel", Channel="PJSIP/a-1", Uniqueid="8.1", Linkedid="8.1",
                        Application="", BridgeId="b1", Context="hotline-safe")]  # fmt: skip
    before = set(tracker.ended)
    tracker.on_event(FakeEvent("Hangup", Channel="PJSIP/a-1", Uniqueid="8.1", Linkedid="8.1",
                               Cause="16"))  # fmt: skip
    assert tracker.resync(listed, known=(), hung_up=set(tracker.ended) - before) == []
    assert "8.1" not in tracker.channels


def test_blind_and_attended_transfers_name_the_transferee_call_and_the_transferer():
    # 07 B: BlindTransfer of the agent leg to transfer-target,300; 07 C: Atxfer to 1002,
    # completed when the transferer hung up (AttendedTransfer, DestType Bridge)
    _, out = run("07-redirect-transfer.ami")
    assert [e for e in out if isinstance(e, PhoneTransfer)] == [
        PhoneTransfer("1795369539.40", "1795369539.40", "1795369539.42", "blind",
                      "transfer-target", "300"),
        PhoneTransfer("1795369544.45", "1795369544.45", "1795369544.47", "attended"),
    ]  # fmt: skip
