"""The `ivybt` command line: everything the pages do, headless (DESIGN §1).

Each subcommand lives in a small module with `register(subparsers)`; later commands (optimize, batch,
signals, ...) add a module and a line to `COMMANDS`. Bad input exits 2 with ONE line on stderr
(`ivybt: error: ...`), never a traceback: EngineError (and the error types in `USER_ERRORS`) and OSError
are caught here; anything else is a bug and propagates. Output piped into a reader that stops early
(`ivybt runs list | head`) ends quietly with 141 (128 + SIGPIPE), as `git` does.
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from types import ModuleType

from engine import __version__
from engine.cli import (
    alerts,
    backtest,
    batch,
    catalog,
    data,
    greeks,
    journal,
    optimize,
    option_pricing,
    regimes,
    robustness,
    runs,
    schedule,
    screen,
    tools,
    whatif,
    workspace,
)
from engine.cli.output import safe
from engine.cli.parsing import Parser, UsageError
from engine.errors import EngineError

COMMANDS: list[ModuleType] = [
    backtest,
    catalog,
    data,
    runs,
    tools,
    batch,
    optimize,
    robustness,
    alerts,
    workspace,
    schedule,
    journal,
    option_pricing,
    whatif,
    greeks,
    regimes,
    screen,
]
USER_ERRORS: list[type[BaseException]] = [EngineError, UsageError, OSError]
"""Exception types reported as one line with exit code 2 (front ends may append their own, e.g. BrokerError)."""


EXIT_BROKEN_PIPE = 141
"""Exit code when the reader of our output went away (128 + SIGPIPE, what a shell reports for `git log | head`)."""


PLUGIN_GROUP = "ivybt.commands"
"""Entry-point group of extra command modules (e.g. brokers.cli): each has register(subparsers) and may
expose USER_ERRORS. The engine never imports them by name (it must not depend on brokers)."""


def plugin_commands() -> list[ModuleType]:
    """Load every module of the PLUGIN_GROUP entry points; their USER_ERRORS join ours."""
    modules = []
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        module = ep.load()
        modules.append(module)
        for err in getattr(module, "USER_ERRORS", ()):
            if err not in USER_ERRORS:
                USER_ERRORS.append(err)
    return modules


def build_parser() -> Parser:
    parser = Parser(prog="ivybt", description="IvyBT: backtests, data, runs and the app from the command line.")
    parser.add_argument("--version", action="version", version=f"ivybt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in [*COMMANDS, *plugin_commands()]:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ivybt` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError as e:
        if not stdout_closed():
            print(f"ivybt: error: {one_line(e)}", file=sys.stderr)  # another pipe (a socket), not our output
            return 2
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return EXIT_BROKEN_PIPE
    except tuple(USER_ERRORS) as e:
        print(f"ivybt: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ivybt: interrupted", file=sys.stderr)
        return 130


def stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it); True where poll is missing."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no select.poll (Windows) or no real stdout
        return True


def one_line(error: BaseException) -> str:
    """The error's message on one line (a multi-line message is joined with ' | '; control characters escaped)."""
    text = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.filename and str(error.filename) not in text:
        text = f"{error.filename}: {text}"
    return safe(" | ".join(line.strip() for line in text.splitlines() if line.strip()))


if __name__ == "__main__":
    sys.exit(main())
