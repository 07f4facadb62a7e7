"""pbxsim's SIP side: real SIP calls (RTP audio, RFC 4733 digits) as PJSIP channels.

``PBXSim(sip="127.0.0.1:5060")`` / ``python -m pbxsim --sip 127.0.0.1:5060``.
Built on pjsua2 (``pip install pjsua2-python``), which this package imports
only when the SIP side starts: without it everything else in pbxsim works and
``--sip`` exits with :class:`SipUnavailable`'s message.

| module | job | thread |
|---|---|---|
| ``engine.py`` | the one ``pj.Endpoint``: created, polled, destroyed in its thread; job queue | pjsua2 |
| ``stack.py`` | transport, account, calls, players, recorders, bridge links | pjsua2 |
| ``side.py`` | SIP calls <-> world channels: inbound INVITEs, dialing agent phones, events | asyncio |
| ``leg.py`` | the channel driver (``Channel.tech_pvt``): answer, BYE, prompts, MixMonitor | asyncio |
| ``prompts.py`` | the WAV a prompt plays (Asterisk's, or a generated speech-like one) | either |
| ``texts.py`` | INVITE parsing, dial strings, RTPAUDIOQOS, ``pjsip show channels`` | either |
"""

from __future__ import annotations

from .engine import SipUnavailable, import_pjsua2
from .side import SipSide

__all__ = ["SipSide", "SipUnavailable", "parse_address", "sip_available"]


def parse_address(text: str) -> tuple[str, int]:
    """``127.0.0.1:5060`` -> (``127.0.0.1``, 5060); port 0 lets the system choose."""
    host, colon, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def sip_available() -> str | None:
    """``None`` when pjsua2 imports, else why not (for a clear message or a test skip)."""
    try:
        import_pjsua2()
    except SipUnavailable as exc:
        return str(exc)
    return None
