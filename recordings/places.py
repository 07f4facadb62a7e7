"""Where recordings live: the directory each node's Asterisk writes into (MixMonitor
``File=``) and where this controller reads those files.

A node may have a directory of its own (config ``nodes[].recordings_dir``, and
``recordings_local_dir`` where the controller sees it: another disk, another NFS
share); every other node uses the hotline's (``hotline.recordings_dir``). A row keeps
the path Asterisk wrote, so the directory that path lies in says where to read it.
Paths only: nothing here touches the disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True, slots=True)
class Place:
    """One recordings directory: as Asterisk sees it, and as this controller does."""

    #: absolute, as the node's Asterisk sees it (MixMonitor ``File=`` goes there)
    asterisk_dir: str
    #: where this controller reads those files
    local_dir: Path


@dataclass(frozen=True, slots=True)
class RecordingPlaces:
    """The hotline's recordings directory and the nodes' own ones."""

    default: Place
    #: node name -> its own place (nodes not listed use ``default``)
    nodes: Mapping[str, Place] = field(default_factory=dict)

    def of(self, node: str) -> Place:
        """Where node ``node``'s recordings go."""
        return self.nodes.get(node, self.default)

    def local(self, path: str) -> Path:
        """Where this controller reads the file Asterisk wrote at ``path``: in the place
        whose Asterisk directory holds it, else (a path from elsewhere) by its name in the
        hotline's directory."""
        p = PurePosixPath(path)
        for place in (*self.nodes.values(), self.default):
            if PurePosixPath(place.asterisk_dir) == p.parent:
                return place.local_dir / p.name
        return self.default.local_dir / p.name

    def local_dirs(self) -> list[Path]:
        """Every directory this controller reads, the hotline's first, each once."""
        dirs = [self.default.local_dir]
        for place in self.nodes.values():
            if place.local_dir not in dirs:
                dirs.append(place.local_dir)
        return dirs


def one_place(local_dir: Path, asterisk_dir: str = "") -> RecordingPlaces:
    """The places of a hotline with one recordings directory."""
    return RecordingPlaces(Place(asterisk_dir or str(local_dir), local_dir))
