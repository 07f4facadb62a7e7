"""Recording: the pure policy (:mod:`.policy`: when, file names, MixMonitor options) and
the shell that carries it out (:mod:`.mixmonitor`: MixMonitor over AMI, the metadata row).

The shell is imported on first use: the config reads the policy, and the shell
imports the storage, which reads the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .mixmonitor import Recorder, file_facts

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


def __getattr__(name: str) -> Any:
    if name in ("Recorder", "file_facts"):
        from . import mixmonitor

        return getattr(mixmonitor, name)
    raise AttributeError(f"module 'recordings' has no attribute {name!r}")
