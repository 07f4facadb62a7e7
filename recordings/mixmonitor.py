"""The recording shell: MixMonitor when caller and agent are bridged, a metadata row when done.

The ``MixMonitor`` action needs the ``system`` write class because its
``Command`` option runs a shell: the file name comes from the policy core
(:mod:`.policy`: a template of known fields, every unsafe character as
``_``), and no option but ``i()`` and the legs' ``r()``/``t()`` is passed.
An absolute ``File`` avoids depending on Asterisk's spool dir (transcript 04
used both forms). The recording ends with the caller's hangup (Asterisk then
emits no ``MixMonitorStop``: transcript 04) or with the ``StopMixMonitor`` the
call-flow core sends when the agent leaves; the row is completed when the
caller's channel is gone: size, SHA-256 and duration read from the WAV itself, in a
worker thread so hashing never blocks the loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from callcenter.ami import ActionError
from callcenter.facts import RecordRecording

from .places import Place, RecordingPlaces
from .policy import Legs, file_name, mixmonitor_options


class Writes(Protocol):
    """Where the recording row goes (the storage ``StoreWriter`` fits)."""

    def submit(self, request: RecordRecording) -> bool: ...


class Counts(Protocol):
    """The recording figures (``callcenter.metrics.Metrics`` fits)."""

    def recording_started(self) -> None: ...


log = logging.getLogger(__name__)
#: MixMonitor tries when refused for a missing channel, ``RETRY_S`` × n apart
START_TRIES = 5
RETRY_S = 0.1


#: raw GSM 06.10 as Asterisk writes it: one 33-byte frame per 20 ms
GSM_BYTES_PER_S = 33 * 50


def file_facts(path: Path) -> tuple[int, str, float | None]:
    """Size, SHA-256 and duration (s) of a WAV or raw GSM file (blocking: run in a
    thread); duration None for a WAV that cannot be read."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    duration: float | None = None
    if path.suffix == ".gsm":  # raw GSM 06.10: 33-byte frames of 20 ms
        return size, digest.hexdigest(), size / GSM_BYTES_PER_S
    try:
        with wave.open(str(path), "rb") as w:
            duration = w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError):
        duration = None
    return size, digest.hexdigest(), duration


class Recorder:
    def __init__(
        self,
        *,
        recordings_dir: str,
        local_dir: str | None,
        writer: Writes,
        metrics: Counts,
        places: RecordingPlaces | None = None,
    ) -> None:
        #: the hotline's directory and the nodes' own ones (``places`` wins when given)
        self.places = places or RecordingPlaces(
            Place(recordings_dir.rstrip("/"), Path(local_dir or recordings_dir))
        )
        self.writer = writer
        self.metrics = metrics
        self.finished = 0
        #: recordings waiting for Asterisk to close their file (see :meth:`_settled`)
        self._settling: list[_Settling] = []
        self._poller: asyncio.Task[None] | None = None

    def local_path(self, path: str) -> Path:
        """Where this controller reads a recording Asterisk wrote at ``path``."""
        return self.places.local(path)

    async def start(
        self,
        client: Any,
        node: str,
        channel: str,
        linkedid: str,
        still_wanted: Any,
        name: str = "",
        legs: Legs = Legs.MIXED,
    ) -> tuple[str, dt.datetime, str | None]:
        """Start the call's MixMonitor; the caller is already in the agent's bridge.

        Called on the caller's ``BridgeEnter``, not on the agent's answer: while
        ``Bridge()`` pulls the caller in, Asterisk swaps its channel structure
        and a ``MixMonitor`` landing in that instant fails with ``No such
        channel`` (seen on a real Asterisk 22, about one call in twenty). Such a
        refusal is retried while ``still_wanted()``. ``i(MIXMON_ID)`` makes the
        response carry the ``MixMonitorID`` (transcript 18). ``name`` is the file's
        name from the policy (empty: the default), ``legs`` whether each direction
        gets a file too. Returns the path, the start time and the id; raises
        :class:`AMIError` when it could not.
        """
        folder = self.places.of(node).asterisk_dir.rstrip("/")
        path = f"{folder}/{name or file_name(node, linkedid)}"
        options = mixmonitor_options(path, legs)
        started = dt.datetime.now(dt.UTC)
        for attempt in range(START_TRIES):
            try:
                resp = await client.send_action(
                    "MixMonitor", {"Channel": channel, "File": path, "Options": options}
                )
            except ActionError as exc:
                if "no such channel" not in str(exc).lower() or attempt + 1 == START_TRIES:
                    raise
                log.info("%s: MixMonitor refused (%s), trying again", channel, exc)
                await asyncio.sleep(RETRY_S * (attempt + 1))
                if not still_wanted():
                    raise
                continue
            self.metrics.recording_started()
            return path, started, resp.get("MixMonitorID")
        raise AssertionError("unreachable")  # pragma: no cover

    async def finish(
        self,
        call_id: str,
        path: str,
        started_at: dt.datetime,
        mixmonitor_id: str | None,
        mutes: Sequence[tuple[float, float | None]] = (),
    ) -> None:
        """Measure the file once Asterisk closed it and complete the row: size, SHA-256,
        duration, and the silent spans (one still open at the hangup ends there)."""
        ended = dt.datetime.now(dt.UTC)
        local = self.local_path(path)
        facts = await self._settled(local)
        if facts is None:
            log.error("call %s: recording %s is missing", call_id, local)
            return
        size, sha, duration = facts
        self.writer.submit(
            RecordRecording(
                call_id,
                path,
                started_at,
                mixmonitor_id=mixmonitor_id,
                ended_at=ended,
                duration_s=duration,
                size_bytes=size,
                sha256=sha,
                mute_intervals=[[s, e if e is not None else (duration or s)] for s, e in mutes]
                or None,
            )
        )
        self.finished += 1

    async def _settled(self, local: Path) -> _Facts | None:
        """The file's facts once it stopped growing (None: it never appeared).

        Asterisk closes the file right after the hangup: its size is read every
        ``SETTLE_POLL_S`` until two readings agree (at most ``SETTLE_POLLS`` of
        them). One poller reads the sizes of every recording finishing at the
        moment in one worker-thread call per poll, and hashes the settled ones in
        the same call, so the loop makes no ``stat`` call itself (at 200 calls/s
        it made ~1,700 a second) and no thread hop per recording.
        """
        settling = _Settling(local, asyncio.get_running_loop().create_future())
        self._settling.append(settling)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="recordings-settle")
        return await settling.facts

    async def _poll(self) -> None:
        while True:
            batch = self._settling = [s for s in self._settling if not s.facts.done()]
            if not batch:
                return
            done = await asyncio.to_thread(_settle_step, list(batch))
            for settling, facts in done:
                if settling.facts.done():
                    continue
                if isinstance(facts, OSError):
                    settling.facts.set_exception(facts)
                else:
                    settling.facts.set_result(facts)
            await asyncio.sleep(SETTLE_POLL_S)


#: a recording's size in bytes, SHA-256 and duration in seconds (:func:`file_facts`)
_Facts = tuple[int, str, float | None]
#: how often a finishing recording's size is read, and at most how many times
SETTLE_POLL_S = 0.1
SETTLE_POLLS = 20


class _Settling:
    """One recording waiting for its file to stop growing."""

    __slots__ = ("local", "facts", "last", "polls")

    def __init__(self, local: Path, facts: asyncio.Future[_Facts | None]) -> None:
        self.local = local
        self.facts = facts
        self.last = -1
        self.polls = 0


def _settle_step(batch: list[_Settling]) -> list[tuple[_Settling, _Facts | None | OSError]]:
    """One poll (blocking: run in a thread): each file's size read; those that stopped
    growing, or polled ``SETTLE_POLLS`` times, measured (None: no such file; the
    error when it could not be read)."""
    done: list[tuple[_Settling, _Facts | None | OSError]] = []
    for settling in batch:
        try:
            size = os.stat(settling.local).st_size
        except FileNotFoundError:
            size = -1
        except OSError as exc:
            done.append((settling, exc))
            continue
        settling.polls += 1
        settled = size == settling.last and size >= 0
        settling.last = size
        if settled or settling.polls >= SETTLE_POLLS:
            try:
                done.append((settling, file_facts(settling.local) if size >= 0 else None))
            except OSError as exc:
                done.append((settling, exc))
    return done
