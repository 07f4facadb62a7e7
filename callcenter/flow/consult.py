"""Attended transfer to a named agent (``core`` rule 19): what the core keeps of a
consultation, and the two facts it reads from Asterisk's words.

An agent asks to consult agent X about its talking call; the controller sends AMI
``Atxfer`` on the agent's leg to X's phone (transcript 07 C: the caller hears music on
hold, the agent's leg leaves the caller's bridge for a second one with X's once X
answers). The agent completes it by hanging its leg up (07 C: ``BridgeMerge``, X's leg
joins the caller's bridge, ``AttendedTransfer``) or cancels it (AMI ``CancelAtxfer``:
not in the transcripts). X not answering, busy or hanging up first ends it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import acd

#: the ``Hangup`` causes of the consulted leg that tell a busy phone from one that
#: rang out (transcript 16: 17 ``User busy``, 19 ``User alerting, no answer``)
_BUSY_CAUSES = frozenset({17})


@dataclass(slots=True)
class Consult:
    """One consultation of ``agent_id`` by the call's agent ``by_agent``."""

    agent_id: str
    by_agent: str
    #: the transferring agent's leg (Uniqueid): the ``Atxfer``'s Channel
    transferer: str
    #: the ``by`` of the request (``agent:<id>``)
    by: str
    #: when it started (monotonic): the consulted agent's ring time is told from it
    started: float
    #: the consulted party's leg (Uniqueid), once it entered a bridge (it answered)
    leg: str | None = None
    answered_after: float | None = None
    #: asked to end: ``complete`` (the transferer's leg hung up) or ``cancel``
    ending: str | None = None


def phone_of(device: str, consult_context: str, trunk: str | None = None) -> tuple[str, str]:
    """Where ``Atxfer`` rings an agent's ``device`` (Context, Exten): a Local device
    ``Local/<exten>@<context>`` is that extension itself (07 C: ``Context=agent-phones
    Exten=1002``); any other, ``<tech>/<endpoint>``, is ``<endpoint>`` in
    ``consult_context`` (``deploy/asterisk/extensions.conf [hotline-consult]`` dials
    ``PJSIP/${EXTEN}``), or, for a phone homed on another node (``trunk``: the caller's
    node's trunk to it, ``homes.PhoneHomes.trunk``), in ``<consult_context>-<trunk>``
    (``[hotline-consult-pbx2]`` dials ``PJSIP/${EXTEN}@pbx2``, as an agent leg's
    Originate does)."""
    tech, _, rest = device.partition("/")
    if tech == "Local" and "@" in rest:
        exten, _, context = rest.partition("@")
        return context.split("/")[0], exten
    if trunk is not None:
        return f"{consult_context}-{trunk}", rest or device
    return consult_context, rest or device


def failure_of(cause: int) -> acd.OfferFailure:
    """How a consultation that never answered failed, by its leg's ``Hangup`` cause."""
    return acd.OfferFailure.BUSY if cause in _BUSY_CAUSES else acd.OfferFailure.NO_ANSWER
