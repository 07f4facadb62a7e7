"""What an operator should hear at start: settings that work but will surprise them.

Pure: the shell logs each line as a WARNING once (``callcenter.app``). Each warning
names the setting and what to do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from callcenter.config import HotlineConfig

__all__ = [
    "CONTROLLER_ACTIONS",
    "CONTROLLER_WRITE",
    "ami_privilege_warnings",
    "login_warnings",
    "settings_warnings",
]

#: every AMI action the controller sends, and what for (checked against the code by
#: tests/test_ami_privileges.py); each is in a class of :data:`CONTROLLER_WRITE`
CONTROLLER_ACTIONS: dict[str, str] = {
    "AGI": "every IVR step",
    "Originate": "ringing an agent",
    "Hangup": "ending a call or an agent leg",
    "Redirect": "the IVR's transfer node and an IVR visit mid-call",
    "Bridge": "a caller back from an IVR visit to its agent",
    "BlindTransfer": "an agent's transfer of its caller to a queue",
    "Atxfer": "an agent's attended transfer (consulting another agent first)",
    "CancelAtxfer": "cancelling that consultation",
    "MixMonitor": "recording",
    "MixMonitorMute": "muting a recording",
    "StopMixMonitor": "ending a recording when the agent leaves",
    "CoreStatus": "the resync after a connect",
    "CoreShowChannels": "the resync after a connect",
    "Status": "the resync after a connect",
}
#: the ``write =`` classes deploy/asterisk/manager.conf grants the controller's user
CONTROLLER_WRITE = frozenset({"call", "originate", "agi", "system"})
_MANAGER_CONF = "keep `write = call,originate,agi,system` (deploy/asterisk/manager.conf)"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def settings_warnings(config: HotlineConfig, *, key_given: bool = False) -> list[str]:
    """Warnings the configuration alone gives (``key_given``: the caller passed a key)."""
    out: list[str] = []
    web = config.web
    if web.secret_key is None and not key_given:
        where = (f"set {web.secret_key_env} (at least 32 bytes)" if web.secret_key_env
                 else "set web.secret_key_env to a variable holding one")  # fmt: skip
        out.append(f"web: the session key is random for this run (sessions live in memory "
                   f"and end at a restart anyway); {where}")  # fmt: skip
    if not _loopback(web.host):
        open_ = ("/healthz answers" if web.metrics_token or web.metrics_port is not None
                 else "/metrics and /healthz answer")  # fmt: skip
        out.append(f"web.host {web.host}: {open_} anyone who reaches "
                   f"port {web.port} (no login); bind 127.0.0.1 behind a TLS proxy, or "
                   "firewall them")  # fmt: skip
    return out


def login_warnings(logins: int, agents: int) -> list[str]:
    """Warnings from the database's logins (all roles) and agents (role agent)."""
    if logins == 0:
        return ["no login exists: nobody can sign in; create one with "
                "`callcenter users add NAME --role admin --config FILE`"]  # fmt: skip
    if agents == 0:
        return ["no agent login exists: no call can be answered; create one with "
                "`callcenter agents add NAME --device PJSIP/1001 --queues QUEUE --config FILE`"]  # fmt: skip
    return []


def _classes(synopsis: str) -> frozenset[str]:
    """The write classes in a ListCommands value's ``(Priv: a,b,all)``."""
    priv = synopsis.rpartition("(Priv: ")[2].rstrip(")")
    return frozenset(c for c in priv.split(",") if c not in ("all", "<none>", ""))


def ami_privilege_warnings(node: str, user: str, listed: Mapping[str, str]) -> list[str]:
    """Warnings from a node's ``ListCommands`` answer (action -> synopsis with its Priv).

    Asterisk lists only the actions the session's write classes allow (manager.c
    ``action_listcommands``), so a missing action of :data:`CONTROLLER_ACTIONS` is a
    class the controller lacks, and an action none of whose classes the controller
    needs shows a class it holds for nothing (``command`` runs any CLI command,
    ``config`` rewrites Asterisk's files). Read classes cannot be seen this way.
    """
    out: list[str] = []
    missing = [f"{a} ({why})" for a, why in CONTROLLER_ACTIONS.items() if a not in listed]
    if missing:
        out.append(f"node {node}: AMI user {user!r} may not send {', '.join(missing)}: "
                   f"those steps fail on this node; {_MANAGER_CONF}")  # fmt: skip
    extra: dict[str, list[str]] = {}
    for action, synopsis in sorted(listed.items()):
        classes = _classes(synopsis)
        if classes and not classes & CONTROLLER_WRITE:
            for c in classes:
                extra.setdefault(c, []).append(action)
    if extra:
        held = ", ".join(f"{c} ({', '.join(extra[c][:2])}...)" for c in sorted(extra))
        out.append(f"node {node}: AMI user {user!r} also holds write classes the controller "
                   f"never uses: {held}; {_MANAGER_CONF}")  # fmt: skip
    return out
