"""Recording: the pure policy (:mod:`.policy`: file names, MixMonitor options) and the
shell that carries it out (:mod:`.mixmonitor`: MixMonitor over AMI, the metadata row)."""

from .mixmonitor import Recorder, file_facts
from .policy import OPTIONS, file_name

__all__ = ["OPTIONS", "Recorder", "file_facts", "file_name"]
