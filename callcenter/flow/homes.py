"""Which node an agent's phone is registered on, and how a caller's node rings it (pure).

Several PBXs (docs/architecture.md): one ACD for every node; an agent leg is originated
on the caller's node (``Bridge()`` only reaches channels of its own box), and a phone
whose home is another node is rung through this node's trunk to it:
``PJSIP/<ext>@<trunk>`` (``nodes[].phones`` and ``nodes[].trunks`` in the config).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass(frozen=True, slots=True)
class PhoneHomes:
    #: node -> glob patterns of the devices registered there, in the config's node order
    phones: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: (from node, to node) -> the PJSIP endpoint on the first that reaches the second
    trunks: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def home(self, device: str) -> str | None:
        """The node ``device`` is registered on (the first whose pattern matches), or None:
        a device no node names rings from whichever node the caller is on."""
        for node, patterns in self.phones.items():
            if any(fnmatchcase(device, p) for p in patterns):
                return node
        return None

    def trunk(self, node: str, device: str) -> str | None:
        """The trunk of ``node`` that reaches ``device``'s home, or None: it is on ``node``
        (or on no node the config names)."""
        home = self.home(device)
        if home is None or home == node:
            return None
        return self.trunks.get((node, home))  # None: the config refuses it (nodes[].trunks)

    def dial(self, node: str, device: str) -> str:
        """The Originate ``Channel`` that rings ``device`` from ``node``."""
        trunk = self.trunk(node, device)
        if trunk is None:
            return device
        extension = device.split("/", 1)[1]
        return f"PJSIP/{extension}@{trunk}"
