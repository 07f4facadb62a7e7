"""What pbxsim reads from SIP messages and what Asterisk prints about SIP calls.

Pure functions (no pjsua2), so they are tested without a network:

- :func:`parse_invite`: the request-URI user (the DNID, ``agi_dnid``) and host
  (``SIPDOMAIN``), and the caller id from the From header: user part ->
  CallerIDNum, display name -> CallerIDName (``<unknown>`` when absent, as for
  ``loopcaller`` in transcript 11).
- :func:`dial_target`: the SIP URI of a PJSIP dial string
  ``<endpoint>/sip:user@host:port`` (chan_pjsip's "endpoint/URI" form).
- :func:`rtp_qos_vars`: the five ``RTPAUDIOQOS*`` variables Asterisk sets on a
  PJSIP channel as it hangs up (11: just before ``Hangup``, or before
  ``HangupRequest`` when the far end sent BYE).
- :func:`pjsip_show_channels`: the CLI ``pjsip show channels`` (11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

UNKNOWN = "<unknown>"

_URI = re.compile(r"sips?:(?:(?P<user>[^@;>\s]*)@)?(?P<host>[^;>?\s]+)", re.I)
_NAME_ADDR = re.compile(r'^\s*(?:"(?P<q>(?:[^"\\]|\\.)*)"|(?P<t>[^<"]*?))\s*<(?P<uri>[^>]*)>')


@dataclass(frozen=True, slots=True)
class Invite:
    """The parts of an INVITE pbxsim turns into a channel."""

    user: str  #: request-URI user part: the DNID / Exten (11: ``5551100``)
    domain: str  #: request-URI host without port: ``SIPDOMAIN`` (11: ``127.0.0.1``)
    cid_num: str  #: From user part, or ``<unknown>``
    cid_name: str  #: From display name, or ``<unknown>``


def _header(msg: str, names: tuple[str, ...]) -> str:
    for line in msg.replace("\r\n", "\n").split("\n")[1:]:
        if not line.strip():
            break
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in names:
            return value.strip()
    return ""


def split_uri(uri: str) -> tuple[str, str]:
    """``sip:alice@host:5060;transport=udp`` -> (``alice``, ``host:5060``)."""
    m = _URI.search(uri)
    if m is None:
        return "", ""
    return unquote(m.group("user") or ""), m.group("host")


def name_addr(value: str) -> tuple[str, str]:
    """A From/To value -> (display name, URI); the name is ``""`` when absent."""
    m = _NAME_ADDR.match(value)
    if m is None:
        return "", value.split(";")[0].strip()
    name = m.group("q") if m.group("q") is not None else (m.group("t") or "")
    return name.replace('\\"', '"').strip(), m.group("uri")


def parse_invite(msg: str) -> Invite:
    """The request line and From header of an INVITE as received (``SipRxData.wholeMsg``)."""
    first = msg.lstrip().split("\n", 1)[0].split()
    user, hostport = split_uri(first[1] if len(first) > 1 else "")
    name, uri = name_addr(_header(msg, ("from", "f")))
    num, _ = split_uri(uri)
    domain = hostport[1:].split("]")[0] if hostport.startswith("[") else hostport.split(":")[0]
    return Invite(user, domain, num or UNKNOWN, name or UNKNOWN)


def dial_target(resource: str) -> str | None:
    """The URI in a ``PJSIP/<endpoint>/<URI>`` dial string's resource, else ``None``."""
    _, slash, rest = resource.partition("/")
    if slash and rest.lower().startswith(("sip:", "sips:")):
        return rest
    return None


def from_uri(num: str, name: str, host: str) -> str:
    """The From of a call pbxsim places, from the Originate ``CallerID``."""
    if not num or num == UNKNOWN:
        num = "asterisk"  # res_pjsip's default outbound From user
    shown = "" if not name or name == UNKNOWN else '"' + name.replace('"', "") + '" '
    return f"{shown}<sip:{num}@{host}>"


@dataclass(frozen=True, slots=True)
class RtpStats:
    """Counters of one RTP stream, read in the pjsua2 thread."""

    rx_count: int = 0
    tx_count: int = 0
    rx_lost: int = 0
    rx_jitter: float = 0.0  #: seconds
    rtt: float = 0.0  #: seconds


def rtp_qos_vars(ssrc: int, them: int, s: RtpStats) -> list[tuple[str, str]]:
    """``RTPAUDIOQOS`` and friends, formatted as ``ast_rtp_instance_get_quality`` prints them (11)."""

    def row(pad: int, names: tuple[str, ...]) -> str:
        return "".join(f"{' ' * pad}{n}=000.000000;" for n in names)

    def four(prefix: str, what: str) -> tuple[str, ...]:
        return tuple(f"{k}{prefix}{what}" for k in ("min", "max", "avg", "stdev"))

    return [
        ("RTPAUDIOQOS", f"ssrc={ssrc};themssrc={them};lp={s.rx_lost};rxjitter={s.rx_jitter:.6f};"
                        f"rxcount={s.rx_count};txjitter=0.000000;txcount={s.tx_count};rlp=0;"
                        f"rtt={s.rtt:.6f};rxmes=0.000000;txmes=0.000000"),
        ("RTPAUDIOQOSJITTER", row(0, four("rx", "jitter") + four("tx", "jitter"))),
        ("RTPAUDIOQOSLOSS", row(2, four("rx", "lost") + four("tx", "lost"))),
        ("RTPAUDIOQOSRTT", row(5, four("", "rtt"))),
        ("RTPAUDIOQOSMES", row(3, four("rx", "mes") + four("tx", "mes"))),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """One channel of ``pjsip show channels``."""

    name: str
    app: str
    state: str
    seconds: float
    exten: str
    conn_name: str
    conn_num: str


def pjsip_show_channels(rows: list[ChannelRow]) -> list[str]:
    """The CLI output lines, column for column as transcript 11 shows them."""
    out = [
        "",
        "  Channel:  <ChannelId........................................>  <State.....>  <Time.....>",
        "      Exten: <DialedExten.............>  CLCID: <ConnectedLineCID.......>",
        "=" * 90,
        "",
    ]
    if not rows:
        return out + ["No objects found.", ""]
    for r in rows:
        t = int(r.seconds)
        clock = f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"
        name = "" if r.conn_name == UNKNOWN else r.conn_name
        num = "" if r.conn_num == UNKNOWN else r.conn_num
        out.append(f"  Channel: {r.name + '/' + r.app:<53} {r.state:<13} {clock:<11}")
        out.append(f'      Exten: {r.exten:<27} CLCID: "{name}" <{num}>')
        out.append("")
    return out + ["", f"Objects found: {len(rows)}", ""]
