"""What an operator should hear at start: settings that work but will surprise them.

Pure: the shell logs each line as a WARNING once (``callcenter.app``). Each warning
names the setting and what to do.
"""

from __future__ import annotations

import ipaddress

from callcenter.config import HotlineConfig

__all__ = ["login_warnings", "settings_warnings"]


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
        out.append(f"web: the session key is random for this run: every login ends when the "
                   f"controller restarts; {where}")  # fmt: skip
    if not _loopback(web.host):
        out.append(f"web.host {web.host}: /metrics and /healthz answer anyone who reaches "
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
