"""Channel variables and the few dialplan functions a controller reads.

``Getvar``, ``Status Variables:`` and AGI ``GET [FULL] VARIABLE`` read through
:func:`getvar`; ``GET FULL VARIABLE`` substitutes ``${...}`` with
:func:`substitute` (02: ``"${CALLERID(num)}-${IVR_CHOICE}"`` -> ``5550102-1``).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from .channels import UNKNOWN, Channel

if TYPE_CHECKING:
    from .world import World

_FUNC = re.compile(r"^\s*([A-Za-z_]+)\((.*)\)\s*$")


def getvar(world: World, ch: Channel | None, name: str) -> str | None:
    """The value of variable or function ``name`` on ``ch`` (``None`` if unset)."""
    m = _FUNC.match(name)
    if m:
        func, arg = m.group(1).upper(), m.group(2).strip().lower()
        if ch is None:
            return None
        if func == "CALLERID":
            num = "" if ch.cid_num == UNKNOWN else ch.cid_num
            name_ = "" if ch.cid_name == UNKNOWN else ch.cid_name
            return {"num": num, "number": num, "name": name_, "all": ch.callerid_all()}.get(arg, "")
        if func == "CONNECTEDLINE":
            return {"num": ch.conn_num, "name": ch.conn_name}.get(arg, "").replace(UNKNOWN, "")
        if func == "CHANNEL":
            if ch.tech_pvt is not None and (value := ch.tech_pvt.function(arg)) is not None:
                return str(value)  # 11: CHANNEL(rtp,src), CHANNEL(pjsip,remote_addr)
            return {
                "language": ch.language,
                "name": ch.name,
                "uniqueid": ch.uniqueid,
                "linkedid": ch.linkedid,
                "state": ch.state_desc,
                "channeltype": ch.tech,
                "accountcode": ch.accountcode,
                "context": ch.context,
                "exten": ch.exten,
            }.get(arg, "")
        return ""
    if ch is not None:
        builtin = {
            "CHANNEL": ch.name,
            "UNIQUEID": ch.uniqueid,
            "CONTEXT": ch.context,
            "EXTEN": ch.exten,
            "PRIORITY": str(ch.priority),
            "LANGUAGE": ch.language,
            "HANGUPCAUSE": str(ch.hangupcause),
        }
        if name in ch.variables:
            return ch.variables[name]
        if name in builtin:
            return builtin[name]
    if name == "EPOCH":
        return str(int(time.time()))
    return None


def substitute(world: World, ch: Channel | None, text: str) -> str:
    """Replace each ``${NAME}`` / ``${FUNC(arg)}`` (no nesting) with its value."""

    def one(m: re.Match[str]) -> str:
        return getvar(world, ch, m.group(1)) or ""

    return re.sub(r"\$\{([^{}]+)\}", one, text)
