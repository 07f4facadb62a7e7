"""Recording: the pure policy (:mod:`.policy`: when, file names, MixMonitor options;
:mod:`.retention`: what is due, what is wrong) and the shell that carries it out
(:mod:`.mixmonitor`: MixMonitor over AMI, the metadata row).

The config reads the policy, so the shell imports the write requests from
``callcenter.facts``, never the storage (which reads the config).
"""

from __future__ import annotations

from .mixmonitor import Recorder, file_facts
from .policy import (
    DEFAULT_POLICY,
    OPTIONS,
    Legs,
    Mode,
    PolicyError,
    RecordingPolicy,
    file_name,
    mixmonitor_options,
    sampled,
)

__all__ = [
    "DEFAULT_POLICY",
    "OPTIONS",
    "Legs",
    "Mode",
    "PolicyError",
    "Recorder",
    "RecordingPolicy",
    "file_facts",
    "file_name",
    "mixmonitor_options",
    "sampled",
]

