"""``python -m pbxsim``: run the simulated PBX until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from .scenario import Scenario, ScenarioError
from .server import PBXSim
from .sip import SipUnavailable, parse_address, sip_available


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pbxsim", description="An Asterisk 22 AMI stand-in.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038, help="0 picks a free port")
    p.add_argument("--scenario", type=Path, help="TOML scenario (simulated callers and agents)")
    p.add_argument("--user", default="hotline")
    p.add_argument("--secret", default="hotline-secret")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--spool",
        type=Path,
        default=Path("var/spool"),
        help="astspooldir (recordings go to monitor/)",
    )
    p.add_argument("--time-scale", type=float, default=1.0, help="20 = twenty times faster")
    p.add_argument("--eventfilter", default="", help="event names to drop at the source: NAME,NAME")
    p.add_argument(
        "--sip",
        metavar="HOST:PORT",
        help="also take real SIP calls here (pjsua2; port 0 picks one), e.g. 127.0.0.1:5060",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


async def serve(args: argparse.Namespace) -> int:
    scenario = Scenario.load(args.scenario) if args.scenario else None
    sim = PBXSim(
        host=args.host,
        port=args.port,
        users={args.user: args.secret},
        scenario=scenario,
        seed=args.seed,
        spool_dir=args.spool,
        time_scale=args.time_scale,
        event_filter=[n.strip() for n in args.eventfilter.split(",") if n.strip()],
        sip=args.sip,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before the "listening" line: a SIGTERM
        with contextlib.suppress(NotImplementedError):  # sent on reading it must stop us cleanly
            loop.add_signal_handler(sig, stop.set)
    try:
        await sim.start()
        print(f"pbxsim listening on {args.host}:{sim.port}", flush=True)
        if sim.sip is not None:
            print(f"pbxsim sip on {sim.sip.host}:{sim.sip_port}", flush=True)
        population = getattr(sim.world, "population", None)
        if population is not None:
            # SIGUSR1: close the doors (no new callers), let the calls in progress finish.
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGUSR1, population.stop_arrivals)
        await stop.wait()
    finally:
        await sim.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    if args.sip is not None:
        try:
            parse_address(args.sip)
        except ValueError as exc:
            parser.error(f"--sip: {exc}")
        if (why := sip_available()) is not None:
            print(f"pbxsim: --sip needs pjsua2: {why}", file=sys.stderr)
            return 2
    try:
        return asyncio.run(serve(args))
    except ScenarioError as exc:
        print(f"pbxsim: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.sip is not None and isinstance(exc, SipUnavailable):
            print(f"pbxsim: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
