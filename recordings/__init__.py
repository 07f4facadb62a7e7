"""Recording: the pure policy (:mod:`.policy`: when, file names, MixMonitor options;
:mod:`.retention`: what is due, what is wrong; :mod:`.places`: which directory, per
node) and the shell that carries it out
(:mod:`.mixmonitor`: MixMonitor over AMI, the metadata row).

The config reads the policy, so the shell imports the write requests from
``callcenter.facts``, never the storage (which reads the config).
"""

from __future__ import annotations

from .mixmonitor import Recorder, file_facts
from .places import Place, RecordingPlaces, one_place
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
    "Place",
    "PolicyError",
    "Recorder",
    "RecordingPlaces",
    "RecordingPolicy",
    "file_facts",
    "file_name",
    "mixmonitor_options",
    "one_place",
    "sampled",
]

