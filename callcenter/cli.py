"""The ``callcenter`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


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
        f" {count(len(ivr.nodes), 'menu')} in {', '.join(ivr.languages)})"
    )
    return 0


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
