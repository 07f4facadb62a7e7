"""The callcenter command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _cmd_ami_replay(args: argparse.Namespace) -> int:
    from .ami.replay import replay

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"callcenter ami-replay: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    report = replay(data)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(f"{path}: banner {report.banner!r}")
        print(f"{report.messages} messages: {report.responses} responses, {report.events} events")
        for name, n in sorted(report.response_types.items()):
            print(f"  Response: {name:<28} {n:>7}")
        for name, n in sorted(report.event_types.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  Event: {name:<31} {n:>7}")
        if report.error is not None:
            print(f"protocol error at byte {report.error.offset}: {report.error.reason}")
    return 1 if report.error is not None else 0


def _cmd_check_config(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    ivr = config.ivr

    def count(n: int, what: str) -> str:
        return f"{n} {what}{'' if n == 1 else 's'}"

    print(
        f"{args.file}: ok ({count(len(config.nodes), 'node')},"
        f" {count(len(config.queues), 'queue')}, IVR {config.ivr_path}:"
        f" {count(len(ivr.nodes), 'node')} in {', '.join(ivr.languages)})"
    )
    return 0


def _cmd_prompts_install(args: argparse.Namespace) -> int:
    from ivr import IvrConfigError, load_ivr

    from .prompts import DEFAULT_IVR, DEFAULT_TEXTS, PromptError, install, prompts_of, read_texts

    try:
        ivr = load_ivr(args.ivr or DEFAULT_IVR)
        prompts = prompts_of(ivr, read_texts(Path(args.texts) if args.texts else DEFAULT_TEXTS))
        written = install(Path(args.dir), prompts)
    except IvrConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (PromptError, OSError) as exc:
        print(f"callcenter prompts install: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import DemoOptions, main

    _logging(args)
    return main(
        DemoOptions(
            duration=args.duration,
            seed=args.seed,
            agents=args.agents,
            seats=args.seats,
            load=args.load,
            calls_per_minute=args.calls_per_minute,
            json=args.json,
            web_port=args.port,
            time_scale=args.time_scale,
            workdir=args.workdir,
            database_url=args.database_url,
            sip_agents=args.sip_agents,
        )
    )


def _cmd_probe(args: argparse.Namespace) -> int:
    from .probe.runner import ProbeOptions, main
    from .probe.script import DEFAULT_SCRIPT, ScriptError, load_script

    try:
        script = DEFAULT_SCRIPT if args.script is None else load_script(args.script)
    except ScriptError as exc:
        print(f"callcenter probe: bad script {exc}", file=sys.stderr)
        return 2
    return main(
        ProbeOptions(
            uri=args.uri,
            script=script,
            calls=args.calls,
            rate=args.rate,
            json=args.json,
            serve_metrics=args.serve_metrics,
            interval=args.interval,
            bind=args.bind,
            timeout=args.timeout,
            log_level=args.log_level,
        )
    )


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import logging
    import signal

    from .app import Hotline
    from .config import ConfigError, load_config

    _logging(args)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.web_only and config.web.fanout_url is None:
        print(f"{args.config}: --web-only needs web.fanout_url (its live pages come from the "
              "node that drives the PBXs)", file=sys.stderr)  # fmt: skip
        return 1

    async def go() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task[Any]] = set()
        async with Hotline(config, web_only=args.web_only) as hotline:

            def reload() -> None:  # SIGHUP: the config file again (callcenter.reload)
                task = loop.create_task(hotline.reload(), name="config reload")
                reloads.add(task)
                task.add_done_callback(reloaded)

            def reloaded(task: asyncio.Task[Any]) -> None:
                reloads.discard(task)
                if not task.cancelled() and task.exception() is not None:
                    logging.getLogger("callcenter.reload").error(
                        "config reload failed, the running config kept", exc_info=task.exception()
                    )

            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGHUP, reload)
            assert hotline.urls is not None
            print(
                f"hotline running: wallboard {hotline.urls.supervisor}, "
                f"agent desk {hotline.urls.agent}, metrics {hotline.urls.metrics}",
                flush=True,
            )
            if hotline.parts.election is not None and not hotline.parts.election.leading:
                print("standby: another controller leads; this one takes over when its "
                      "lock is free", flush=True)  # fmt: skip
            lost = asyncio.ensure_future(hotline.parts.lost.wait())
            await asyncio.wait([asyncio.ensure_future(stop.wait()), lost],
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            return 3 if lost.done() else 0

    # 3: the lead was lost (callcenter.leader): the supervisor starts it again, a standby
    return asyncio.run(go())


def _logging(args: argparse.Namespace) -> None:
    from .logs import setup_logging

    try:
        setup_logging(args.verbose, args.log_format)
    except ValueError as exc:  # a bad HOTLINE_LOG_FORMAT (argparse checks the flag)
        raise SystemExit(f"callcenter: {exc} (HOTLINE_LOG_FORMAT)") from None


def _log_options(p: argparse.ArgumentParser, *, quiet: bool = False) -> None:
    """``-v``/``-vv``/``-q`` and ``--log-format`` (callcenter.logs); ``quiet``: warnings
    only unless ``-v`` (the demo, whose screen is its summary)."""
    more = (
        "-v: info lines; -vv: debug"
        if quiet
        else "-v: debug lines of Hotline; -vv: of every library too"
    )
    p.add_argument("-v", "--verbose", action="count", default=-1 if quiet else 0,
                   help=more)  # fmt: skip
    p.add_argument("-q", "--quiet", dest="verbose", action="store_const", const=-1,
                   help="warnings and errors only")  # fmt: skip
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("HOTLINE_LOG_FORMAT", "text"),
        help="one line per event on stderr: text (default), or json lines with call_id, "
        "node and agent_id fields (also HOTLINE_LOG_FORMAT)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "ami-replay", help="parse a recorded AMI byte stream and count what it holds"
    )
    p.add_argument("file", help="a raw AMI recording (bytes received from Asterisk)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_ami_replay)

    p = sub.add_parser(
        "check-config",
        help="validate a controller config file and the IVR file it names",
    )
    p.add_argument("file", help="the controller config (e.g. config/hotline.yaml)")
    p.set_defaults(func=_cmd_check_config)

    p = sub.add_parser("prompts", help="the IVR's sound files")
    prompts = p.add_subparsers(dest="prompts_command", required=True)
    p = prompts.add_parser(
        "install",
        help="speak every prompt of an IVR file (espeak-ng, sox) into DIR as 8 kHz WAV files",
    )
    p.add_argument("dir", help="where Asterisk reads sounds, e.g. /usr/share/asterisk/sounds")
    p.add_argument("--ivr", default=None, help="the IVR file (default: config/ivr.yaml)")
    p.add_argument(
        "--texts", default=None, help="sound file name -> words (default: config/prompts.yaml)"
    )
    p.set_defaults(func=_cmd_prompts_install)

    p = sub.add_parser("demo", help="pbxsim, the controller and the web app on this machine")
    p.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--agents", type=int, default=5, help="simulated agents: the demo plays their desks"
    )
    p.add_argument(
        "--seats", type=int, default=1, help="agents for people at the browser (agent1 ...)"
    )
    p.add_argument(
        "--load", choices=["normal", "high"], default="normal",
        help="normal: service level near target; high: more calls than the agents can take",
    )  # fmt: skip
    p.add_argument("--calls-per-minute", type=float, default=None, help="overrides --load")
    p.add_argument("--port", type=int, default=8080, help="web port (0: any free port)")
    p.add_argument("--time-scale", type=float, default=1.0, help="pbxsim speed-up (tests)")
    p.add_argument(
        "--workdir", type=Path, default=Path("var/demo"),
        help="emptied at start if the demo made it; any other non-empty directory is refused"
        " (default var/demo)",
    )  # fmt: skip
    p.add_argument("--database-url", default=None, help="default: SQLite in the workdir")
    p.add_argument(
        "--sip-agents", type=int, default=0,
        help="simulated agents on real SIP phones (pjsua2: pip install -e '.[sip]'; at most 2)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="last line: one JSON object")
    _log_options(p, quiet=True)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("probe", help="place real SIP test calls into a hotline and report")
    p.add_argument("uri", metavar="SIP-URI", help="e.g. sip:5551100@pbx.example:5060")
    p.add_argument(
        "--script",
        default=None,
        help="a YAML call script (default: wait for an agent, tone, hang up)",
    )
    p.add_argument("--calls", type=_positive_int, default=1, help="calls per round (default 1)")
    p.add_argument("--rate", type=_positive_float, default=1.0, help="calls started per second")
    p.add_argument("--json", action="store_true", help="one JSON object per call, then a summary")
    p.add_argument(
        "--serve-metrics",
        type=_host_port,
        default=None,
        metavar="HOST:PORT",
        help="serve Prometheus /metrics and probe every --interval until stopped",
    )
    p.add_argument("--interval", type=_positive_float, default=60.0, metavar="S")
    p.add_argument(
        "--bind",
        type=_host_port,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="local SIP address (RTP binds the same host); default 127.0.0.1:0",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=30.0,
        metavar="S",
        help="seconds to wait for the answer (default 30)",
    )
    p.add_argument("--log-level", type=int, default=0, help="pjsua2 log level on stderr")
    p.set_defaults(func=_cmd_probe)

    from .admin import add_parsers
    from .crm_cli import add_parsers as add_crm
    from .recordings_cli import add_parsers as add_recordings
    from .reports.cli import add_parsers as add_report

    add_parsers(sub)  # db, users, agents
    add_recordings(sub)  # recordings verify, sweep, hold, release
    add_crm(sub)  # crm import
    add_report(sub)  # report

    p = sub.add_parser("run", help="the controller against the Asterisk nodes of a config")
    p.add_argument("--config", required=True, help="a config file (see config/hotline.yaml)")
    p.add_argument("--web-only", action="store_true",
                   help="serve the pages and the live feed of web.fanout_url; drive no PBX")  # fmt: skip
    _log_options(p)
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
