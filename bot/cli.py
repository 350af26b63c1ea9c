"""``python -m bot``: the command line. Each sub-command is a thin shell over the composition root."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.book import add_book_arguments
from services.config import ConfigError

DESCRIPTION = """\
Adherence and offline-activity chat-ops bot for contact centers.

Commands:
  demo    run the real monitor loop against the simulated contact center, print every escalation
          as it happens, and end with a summary per team (no credentials needed)
  run     the service: Genesys Cloud when GENESYS_* are set (else the simulator), Slack when
          SLACK_BOT_TOKEN is set (else the console)
  book    book a meeting, coaching or training from the terminal (--demo books a few examples)
  check   validate BOT_CONFIG and the environment, then exit
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="simulated contact center, accelerated clock, console output",
                          description="Run the monitor loop on the simulator and print each tier action.")
    demo.add_argument("--speed", type=float, default=300.0,
                      help="simulated seconds per real second (default 300: 5 simulated hours in 60 s)")
    demo.add_argument("--hours", type=float, default=5.0, help="simulated hours to run (default 5)")
    demo.add_argument("--units", type=int, default=None, help="management units (default from BOT_CONFIG or 2)")
    demo.add_argument("--teams", type=int, default=None, help="teams per unit (default from BOT_CONFIG or 2)")
    demo.add_argument("--agents", type=int, default=None, help="agents per team (default from BOT_CONFIG or 6)")
    demo.add_argument("--seed", type=int, default=None, help="simulator seed (default from BOT_CONFIG or 7)")
    demo.add_argument("--quiet", action="store_true", help="only the summary, not every event")
    demo.add_argument("--no-bookings", dest="bookings", action="store_false",
                      help="skip the example bookings (meetings, 1:1, training) made before the day starts")

    run = sub.add_parser("run", help="run the bot service",
                         description="Run the monitor, the outbox and the Slack app until interrupted.")
    run.add_argument("--http", action="store_true",
                     help="Slack HTTP mode (/slack/events, needs SLACK_SIGNING_SECRET) instead of Socket Mode")
    run.add_argument("--port", type=int, default=3000, help="HTTP port for --http and /health (default 3000)")

    book = sub.add_parser("book", help="book offline activities from the terminal",
                          description="Queue a booking, run the slot search and write it back; prints progress.")
    add_book_arguments(book)

    sub.add_parser("check", help="validate configuration and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    from bot.settings import load_settings

    try:
        settings = load_settings()
        logging.basicConfig(level=(args.log_level or settings.log_level).upper(),
                            format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        # APScheduler logs every run at INFO; at the demo's speed that drowns everything else.
        logging.getLogger("apscheduler").setLevel(logging.ERROR if args.command == "demo" else logging.WARNING)
        if args.command == "demo":
            from bot.demo import DemoOptions, run_demo

            options = DemoOptions(speed=args.speed, hours=args.hours, units=args.units, teams=args.teams,
                                  agents=args.agents, seed=args.seed, quiet=args.quiet,
                                  bookings=args.bookings)
            return asyncio.run(run_demo(settings, options))
        if args.command == "run":
            from bot.service import run_service

            return asyncio.run(run_service(settings, http=args.http, port=args.port))
        if args.command == "book":
            from bot.book import run_book_command

            return asyncio.run(run_book_command(settings, args))
        if args.command == "check":
            from bot.container import load_config

            config = load_config(settings)
            print(f"configuration OK: {len(config.management_units)} unit override(s), "
                  f"{len(config.tiers)} tier(s); Genesys: {'yes' if settings.has_genesys else 'no (simulator)'}; "
                  f"Slack: {'yes' if settings.has_slack else 'no (console)'}")
            return 0
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2
