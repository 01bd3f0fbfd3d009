"""Argument helpers shared by the subcommands: one-line errors, symbol lists, `k=v` params, YAML files."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import yaml

from engine.errors import ConfigError
from engine.strategies.base import make_params
from engine.strategies.registry import params_class


class UsageError(Exception):
    """Bad command-line usage; printed as one `ivybt: error: ...` line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are ONE line (`ivybt: error: ...`) instead of usage plus message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def instant(text: str | None) -> datetime:
    """`--now`'s instant: now when not given; an ISO date and time, naive = UTC; UsageError otherwise."""
    if not text:
        return datetime.now(UTC)
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO date and time (e.g. 2024-03-13T10:00-04:00)") from None
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts).to_pydatetime()


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type=` for a whole number in [low, high]: anything else is one line naming the range."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number in [{low}, {high}]")
        return value

    parse.__name__ = f"whole number in [{low}, {high}]"  # argparse names the type in its own messages
    return parse


def split_symbols(values: Iterable[str] | None) -> list[str]:
    """`["SPY", "QQQ,IWM"]` -> `["SPY", "QQQ", "IWM"]` (upper-cased, blanks dropped)."""
    out: list[str] = []
    for v in values or ():
        out += [s.strip().upper() for s in str(v).split(",") if s.strip()]
    return out


def parse_params(items: Iterable[str] | None) -> dict[str, str]:
    """`["fast=10", "slow=50"]` -> `{"fast": "10", "slow": "50"}`; values are typed later by the strategy."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"--param {item!r}: expected NAME=VALUE, e.g. --param fast=10")
        out[name.strip()] = value.strip()
    return out


def typed_params(strategy: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The given params typed by the strategy's Params (`"10"` -> 10); only the given names are kept.

    Raises StrategyError for an unknown strategy and ConfigError for a bad name or value (e.g. fast >= slow).
    """
    built = make_params(params_class(strategy), params)
    return {k: getattr(built, k) for k in params}


def read_yaml_mapping(path: str | Path, what: str = "config") -> dict[str, Any]:
    """Read a YAML file holding one mapping; malformed YAML -> ConfigError with the file, line and column."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{what} file {str(path)!r} not found")
    try:
        values = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{what} file {p}: malformed YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{what} file {p}: cannot read it: {e}") from None
    if not isinstance(values, dict):
        raise ConfigError(
            f"{what} file {p}: expected a mapping of fields (strategy, symbols, params, ...), "
            f"got {type(values).__name__}"
        )
    return values
