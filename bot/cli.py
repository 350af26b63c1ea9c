"""``python -m bot``: the command line. Each sub-command is a thin shell over the composition root."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import NoReturn

from bot.book import add_book_arguments
from bot.redis_conn import RedisUnavailable
from services.config import ConfigError

DESCRIPTION = """\
Adherence and offline-activity chat-ops bot for contact centers.

Commands:
  demo    run the real monitor loop against the simulated contact center, print every escalation
          as it happens, and end with a summary per team (no credentials needed)
  run     the service: Genesys Cloud when GENESYS_* are set (else the simulator), Slack when
          SLACK_BOT_TOKEN is set (else the console); state in the Redis at REDIS_URL (it stops if
          none answers; --ephemeral-state keeps state in-process, lost on exit)
  book    book a meeting, coaching or training from the terminal (--demo books a few examples)
  digest  print the weekly digest of every unit (adherence %, incidents, time to acknowledge, tiers,
          exceptions approved, agents who explained) from the Redis at REDIS_URL
  check   validate BOT_CONFIG and the environment, connect to every configured system (Redis, Slack,
          Genesys, SMTP, Graph) and report each on one line; exit 1 if any fails
"""


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line and exit 2 (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _positive(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and value > 0):  # nan and inf are floats too
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _log_level(text: str) -> str:
    from bot.settings import check_log_level

    try:
        return check_log_level(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _period(text: str) -> timedelta:
    from services.domain.durations import parse_duration

    try:
        period = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not timedelta(0) < period <= timedelta(days=14):
        raise argparse.ArgumentTypeError(f"must be longer than 0s and at most 14d (what the audit trail keeps), "
                                         f"got {text}")
    return period


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", default=None, type=_log_level,
                        help="DEBUG, INFO (default), WARNING, ERROR (overrides LOG_LEVEL)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="simulated contact center, accelerated clock, console output",
                          description="Run the monitor loop on the simulator and print each tier action.")
    demo.add_argument("--speed", type=_positive(float), default=300.0,
                      help="simulated seconds per real second (default 300: 5 simulated hours in 60 s)")
    demo.add_argument("--hours", type=_positive(float), default=5.0, help="simulated hours to run (default 5)")
    demo.add_argument("--units", type=_positive(int), help="management units (default from BOT_CONFIG or 2)")
    demo.add_argument("--teams", type=_positive(int), help="teams per unit (default from BOT_CONFIG or 2)")
    demo.add_argument("--agents", type=_positive(int), help="agents per team (default from BOT_CONFIG or 6)")
    demo.add_argument("--seed", type=int, default=None, help="simulator seed (default from BOT_CONFIG or 7)")
    demo.add_argument("--quiet", action="store_true", help="only the summary, not every event")
    demo.add_argument("--stepped", action="store_true",
                      help="simulated time advances tick by tick as fast as the machine allows, no wall clock "
                           "(--speed is ignored): the same output on any machine, for tests and CI")
    demo.add_argument("--no-bookings", dest="bookings", action="store_false",
                      help="skip the example bookings (meetings, 1:1, training) made before the day starts")

    run = sub.add_parser("run", help="run the bot service",
                         description="Run the monitor, the outbox and the Slack app until interrupted.")
    run.add_argument("--http", action="store_true",
                     help="Slack HTTP mode (/slack/events, needs SLACK_SIGNING_SECRET) instead of Socket Mode")
    run.add_argument("--port", type=_port, default=3000, help="HTTP port for --http and /health (default 3000)")
    run.add_argument("--ephemeral-state", action="store_true",
                     help="keep state in an in-process fakeredis instead of REDIS_URL (for trying the bot out: "
                          "incidents, outbox and bookings are lost on exit)")

    book = sub.add_parser("book", help="book offline activities from the terminal",
                          description="Queue a booking, run the slot search and write it back; prints progress.")
    add_book_arguments(book)

    check = sub.add_parser("check", help="validate the configuration, connect to each configured system, report",
                           description="Validate BOT_CONFIG and the environment, then connect to Redis, Slack, "
                                       "Genesys, SMTP and Graph as configured; one line per system, exit 1 if any "
                                       "fails.")
    check.add_argument("--http", action="store_true",
                       help="check what `run --http` needs (SLACK_SIGNING_SECRET) instead of Socket Mode")
    digest = sub.add_parser("digest", help="print the weekly digest in the terminal",
                            description="Per unit and team: adherence %, incidents, median time to acknowledge, "
                                        "tiers reached, exceptions approved, agents who explained before the card.")
    digest.add_argument("--since", type=_period, default=timedelta(days=7),
                        help="the period, ending now (default 7d; at most 14d)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    from bot.logs import config_secret_values, configure_logging, secret_values
    from bot.settings import load_settings

    try:
        settings = load_settings()
        configure_logging(args.log_level or settings.log_level, settings.log_format,
                          secret_values(settings) + config_secret_values(settings))
        # APScheduler logs every run at INFO; at the demo's speed that drowns everything else.
        logging.getLogger("apscheduler").setLevel(logging.ERROR if args.command == "demo" else logging.WARNING)
        if args.command == "demo":
            from bot.demo import DemoOptions, run_demo

            options = DemoOptions(speed=args.speed, hours=args.hours, units=args.units, teams=args.teams,
                                  agents=args.agents, seed=args.seed, quiet=args.quiet,
                                  bookings=args.bookings, stepped=args.stepped)
            return asyncio.run(run_demo(settings, options))
        if args.command == "run":
            from bot.service import run_service

            return asyncio.run(run_service(settings, http=args.http, port=args.port,
                                           ephemeral_state=args.ephemeral_state))
        if args.command == "book":
            from bot.book import run_book_command

            return asyncio.run(run_book_command(settings, args))
        if args.command == "check":
            from bot.check import run_check

            return asyncio.run(run_check(settings, http=args.http))
        if args.command == "digest":
            from bot.digest_cli import run_digest

            return asyncio.run(run_digest(settings, args.since))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RedisUnavailable as error:
        hint = {"run": " (or run --ephemeral-state to try the bot on a throwaway in-process store)",
                "book": " (or book --demo, which runs without one)"}.get(args.command, "")
        print(f"error: {error}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2
