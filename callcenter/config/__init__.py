"""The controller's config file: YAML in, a validated :class:`HotlineConfig` or a :class:`ConfigError` out.

One file says which Asterisk nodes to connect to (one AMI connection each),
what the dialplan side looks like (``deploy/asterisk/``), where the IVR file,
the database and the recordings are, the queues and the web edge. Unknown
keys are refused. Every problem, in this file and in the IVR file it names,
is reported at once as ``file:line: dotted.path: reason``, sorted, by the
generic machinery of :mod:`yamlconf` (the IVR loader uses it too).

Secrets may come from the environment (``secret_env``); a variable that is
not set is a problem at load time, not at the first login.

The package, by concern: :mod:`.fields` (the field types and the strict base
every section shares), :mod:`.asterisk` (``nodes``, ``hotline``),
:mod:`.queues` (``queues``, ``acd``), :mod:`.edge` (``crm``, ``web``),
:mod:`.hotline` (the whole file's schema, :class:`HotlineConfig`) and
:mod:`.loading` (:func:`load_config`, :class:`ConfigError`, the environment
overrides).
"""

from __future__ import annotations

from ivr import ConfigProblem

from .asterisk import DialplanSettings, NodeConfig
from .edge import MIN_SECRET_KEY_BYTES as MIN_SECRET_KEY_BYTES
from .edge import CrmSettings, LeaderSettings, WallboardSettings, WebSettings
from .hotline import DATABASE_DRIVERS as DATABASE_DRIVERS
from .hotline import (
    DEFAULT_DISPOSITIONS,
    DEFAULT_FCR_DISPOSITIONS,
    DEFAULT_PAUSE_REASONS,
    HotlineConfig,
)
from .loading import ENV_PREFIX as ENV_PREFIX
from .loading import ConfigError, load_config
from .queues import DEFAULT_TIERS as DEFAULT_TIERS
from .queues import AcdSettings, QueueSettings, RecordingSettings, RelaxSettings, TierSettings

__all__ = [
    "AcdSettings",
    "DEFAULT_DISPOSITIONS",
    "DEFAULT_FCR_DISPOSITIONS",
    "DEFAULT_PAUSE_REASONS",
    "ConfigError",
    "ConfigProblem",
    "CrmSettings",
    "DialplanSettings",
    "HotlineConfig",
    "LeaderSettings",
    "NodeConfig",
    "QueueSettings",
    "RecordingSettings",
    "RelaxSettings",
    "TierSettings",
    "WallboardSettings",
    "WebSettings",
    "load_config",
]
