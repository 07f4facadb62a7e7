"""What a recording is, decided without I/O: whether a call is recorded, its file name
and its MixMonitor options.

Rules:

1. A queue's :class:`RecordingPolicy` says when its calls are recorded
   (:class:`Mode`): always, never, a percentage sample or on demand (the agent
   or the API starts it). A sample is decided by the call id alone
   (:func:`sampled`: SHA-256 of the id), so the same call is always decided
   the same way: a replay, a restart or a second controller agree.
2. The file name comes from a template of known fields only (:data:`FIELDS`:
   call id, date, queue, agent, node, Linkedid). ``MixMonitor`` needs the
   ``system`` write class because its ``Command`` option runs a shell, so every
   character outside ``[A-Za-z0-9._-]`` of the filled template becomes ``_``
   and nothing a caller typed reaches the name. A template must hold
   ``{linkedid}`` or ``{call}``: two calls never share a file.
3. Options: ``i(MIXMON_ID)`` (the response names the MixMonitorID: transcript
   18) and, for separate legs, ``r(<in>)t(<out>)``. No ``b`` (only while
   bridged: 21, 22): the recording starts at the caller's BridgeEnter anyway,
   and it must go on while the agent sends the caller to an IVR node mid-call
   (that is what a sensitive node mutes); it is stopped when the agent leaves
   (``StopMixMonitor``), so the post-call survey is not in it. Separate legs:
   the caller's audio and the audio sent to the caller in two more files
   beside the mixed one (Asterisk's MixMonitor documentation; no transcript
   records them).
4. Consent: a policy with a ``consent_prompt`` has it played to every caller
   it may record (:meth:`RecordingPolicy.announces`) between the IVR and the
   queue, so always before the recording starts; a call whose announcement
   did not play is not recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import string
from dataclasses import dataclass
from enum import Enum

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: a sound file name AGI ``STREAM FILE`` takes as one word (no extension)
_SOUND = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}")
#: ``i(MIXMON_ID)``: the response names the MixMonitorID (18); no ``b``: rule 3
OPTIONS = "i(MIXMON_ID)"
#: the fields a file-name template may use
FIELDS = ("call", "date", "queue", "agent", "node", "linkedid")
DEFAULT_TEMPLATE = "hotline-{node}-{linkedid}"
#: file formats MixMonitor writes by the File= extension (wav: 8 kHz 16-bit PCM, 04)
FORMATS = ("wav", "gsm")
#: the suffixes of the separate legs' files (``r()``: what the caller says, ``t()``: hears)
LEG_SUFFIXES = ("-in", "-out")


class Mode(Enum):
    """When a queue's calls are recorded."""

    #: every call, from the caller's BridgeEnter
    ALWAYS = "always"
    #: no call
    NEVER = "never"
    #: ``sample_percent`` of the calls, chosen by call id (:func:`sampled`)
    SAMPLE = "sample"
    #: only when the agent or the API asks, during the call
    ON_DEMAND = "on-demand"


class Legs(Enum):
    """One mixed file, or the mixed file and each direction apart."""

    #: caller and agent summed in one file
    MIXED = "mixed"
    #: the mixed file plus ``-in`` (``r()``) and ``-out`` (``t()``) files
    SEPARATE = "separate"


class PolicyError(ValueError):
    """A recording policy that cannot be built (the config names the file and line)."""


def template_fields(template: str) -> list[str]:
    """The ``{field}`` names a template uses; raises :class:`PolicyError` when malformed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PolicyError(f"bad file-name template {template!r}: {exc}") from None
    names = []
    for _text, name, spec, conv in parsed:
        if name is None:
            continue
        if name not in FIELDS:
            raise PolicyError(
                f"unknown field {{{name}}} in file-name template (known: {', '.join(FIELDS)})"
            )
        if spec or conv:
            raise PolicyError(f"field {{{name}}} takes no format spec or conversion")
        names.append(name)
    return names


def check_template(template: str) -> str:
    """``template`` if it is usable: known fields, and ``{linkedid}`` or ``{call}`` in it."""
    names = template_fields(template)
    if "linkedid" not in names and "call" not in names:
        raise PolicyError(
            "a file-name template needs {linkedid} or {call}: two calls would share a file"
        )
    return template


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    """One queue's recording rules; checked when built."""

    mode: Mode = Mode.ALWAYS
    #: for Mode.SAMPLE: the share of calls recorded, 0-100
    sample_percent: float = 100.0
    legs: Legs = Legs.MIXED
    template: str = DEFAULT_TEMPLATE
    format: str = "wav"
    #: the agent of the call may listen to and download its recording
    agent_may_listen: bool = False
    #: days a recording is kept before the sweeper deletes it (None: kept)
    retention_days: int | None = None
    #: a sound file (Asterisk's sounds directory, no extension) played to the caller
    #: before the call may be recorded (None: no announcement)
    consent_prompt: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.sample_percent <= 100:
            raise PolicyError(f"sample_percent {self.sample_percent} is not within 0-100")
        if self.format not in FORMATS:
            raise PolicyError(f"format {self.format!r} is not one of {', '.join(FORMATS)}")
        check_template(self.template)
        if self.retention_days is not None and self.retention_days < 1:
            raise PolicyError(f"retention_days {self.retention_days} is below 1")
        if self.consent_prompt is not None and (
            _SOUND.fullmatch(self.consent_prompt) is None or ".." in self.consent_prompt
        ):
            raise PolicyError(f"consent_prompt {self.consent_prompt!r} is not a sound file name "
                              "(letters, digits, _ . / -)")  # fmt: skip

    def announces(self, call_id: str) -> bool:
        """Whether the caller of ``call_id`` hears the consent prompt before its queue (rule
        4): the policy has one and may record the call (always, on demand, or sampled)."""
        if self.consent_prompt is None or self.mode is Mode.NEVER:
            return False
        return self.mode is not Mode.SAMPLE or sampled(call_id, self.sample_percent)

    def retain_until(self, started_at: dt.datetime) -> dt.datetime | None:
        """When a recording started at ``started_at`` may be deleted (None: never)."""
        if self.retention_days is None:
            return None
        return started_at + dt.timedelta(days=self.retention_days)

    def records_at_bridge(self, call_id: str) -> bool:
        """Whether the call starts recording when caller and agent are bridged."""
        if self.mode is Mode.ALWAYS:
            return True
        if self.mode is Mode.SAMPLE:
            return sampled(call_id, self.sample_percent)
        return False  # never, or on demand: only when asked

    def file_name(
        self,
        *,
        node: str,
        linkedid: str,
        call_id: str = "",
        queue: str = "",
        agent: str = "",
        day: dt.date | None = None,
    ) -> str:
        """The recording's file name (no directory), every unsafe character as ``_``."""
        return file_name(node, linkedid, template=self.template, call_id=call_id,
                         queue=queue, agent=agent, day=day, fmt=self.format)  # fmt: skip


#: what a queue with no recording section gets: every answered call, one mixed WAV
DEFAULT_POLICY = RecordingPolicy()


def sampled(call_id: str, percent: float) -> bool:
    """Whether ``call_id`` falls in a ``percent`` sample: the first 8 bytes of its SHA-256
    as a fraction of 2**64, below ``percent``/100. Reproducible: no random state."""
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    point = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    return point < percent / 100 * (1 << 64)


def file_name(
    node: str,
    linkedid: str,
    *,
    template: str = DEFAULT_TEMPLATE,
    call_id: str = "",
    queue: str = "",
    agent: str = "",
    day: dt.date | None = None,
    fmt: str = "wav",
) -> str:
    """``template`` filled in and ``.fmt`` added, every character outside ``[A-Za-z0-9._-]``
    as ``_``; the default is ``hotline-<node>-<linkedid>.wav``."""
    values = {
        "call": call_id or f"{node}:{linkedid}",
        "date": (day or dt.date(1970, 1, 1)).isoformat(),
        "queue": queue or "none",
        "agent": agent or "none",
        "node": node,
        "linkedid": linkedid,
    }
    return _UNSAFE.sub("_", template.format(**values)) + "." + fmt


def leg_files(path: str) -> tuple[str, str]:
    """The separate legs' files beside ``path``: ``x.wav`` -> ``x-in.wav``, ``x-out.wav``."""
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = path, ""
    tail = f".{ext}" if ext else ""
    return stem + LEG_SUFFIXES[0] + tail, stem + LEG_SUFFIXES[1] + tail


def mixmonitor_options(path: str, legs: Legs = Legs.MIXED) -> str:
    """MixMonitor ``Options`` for the file at ``path``: :data:`OPTIONS`, and for separate
    legs ``r(<in>)t(<out>)``. ``path`` must not hold ``(`` ``)`` ``,`` or ``|``
    (Asterisk's option and argument separators)."""
    if legs is Legs.MIXED:
        return OPTIONS
    if any(c in path for c in "(),|"):
        raise PolicyError(f"{path!r} holds a character MixMonitor options cannot carry")
    inbound, outbound = leg_files(path)
    return f"{OPTIONS}r({inbound})t({outbound})"
