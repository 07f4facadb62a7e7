"""What a recording is, decided without I/O: its file name and its MixMonitor options.

The file name is built from the node name and the Linkedid (Asterisk's own
digits and dots), never from caller or agent text: ``MixMonitor`` needs the
``system`` write class because its ``Command`` option runs a shell, so no
other option is passed and nothing a caller typed reaches the name.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: ``b``: only while bridged; ``i(MIXMON_ID)``: the response names the MixMonitorID (18)
OPTIONS = "bi(MIXMON_ID)"


def file_name(node: str, linkedid: str) -> str:
    """``hotline-<node>-<linkedid>.wav``, every character outside ``[A-Za-z0-9._-]`` as ``_``."""
    return _UNSAFE.sub("_", f"hotline-{node}-{linkedid}") + ".wav"
