"""The strategy registry: built-in strategies plus user files from the workspace's strategies folder.

A user strategy is a `*.py` file in `engine.store.workspace.strategies_dir()` that defines one or more `Strategy`
subclasses with a `name` and a `Params` dataclass. Listing never runs a user file: files are read with `ast`
(`engine.strategies.source_scan`) lazily and again whenever a file in the folder is added, removed or changed
(or on `reload()`), and each class becomes a stand-in (`engine.strategies.user_code`) whose methods run the
user's code in a sandbox child with a time and a memory limit (`engine.strategies.sandbox`). A file that
cannot be read — syntax error, a class without `name`/`Params`, a value only running the file would give, a
name clashing with a built-in or another file — is reported in `load_errors()` by file name and reason, and
everything else still loads; an error raised when the file runs (at import, or a failing default) is a
StrategyError of the run that needs it. Files load in name order (names starting with "_" are skipped);
when two files define the same name, the first one keeps it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import StrategyError
from engine.store.workspace import strategies_dir
from engine.strategies.base import Strategy

if TYPE_CHECKING:
    from engine.strategies.events import EventStrategy


class LazyClasses(Mapping[str, Any]):
    """Registry name -> class, importing a class's module the first time that class is asked for.

    Names, order, `in` and `len` need no import: a first sma_cross backtest imports crossover alone instead of
    every built-in's module (portfolio optimizers, the user-code sandbox with multiprocessing, the event
    strategies: ~50 ms of a fresh process, issue 19 item 4). Reading the values (`.items()`, `{**m}`) imports
    them all, as the eager dict did at import.
    """

    def __init__(self, paths: Mapping[str, str]) -> None:
        self._paths = dict(paths)
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        cls = self._loaded.get(name)
        if cls is None:
            module, _, attr = self._paths[name].partition(":")
            cls = self._loaded[name] = getattr(importlib.import_module(module), attr)
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def path(self, name: str) -> str:
        """Where `name`'s class lives, "module:attribute" (without importing it)."""
        return self._paths[name]

    def __repr__(self) -> str:
        return f"LazyClasses({list(self._paths)})"


_S = "engine.strategies."
BUILTINS: Mapping[str, type[Strategy]] = LazyClasses(
    {
        "buy_and_hold": _S + "allocation:BuyAndHold",
        "sma_cross": _S + "crossover:SmaCross",
        "ema_cross": _S + "crossover:EmaCross",
        "ema_trend": _S + "trend:EmaTrend",
        "rsi_reversion": _S + "mean_reversion:RsiReversion",
        "bollinger_rsi": _S + "mean_reversion:BollingerRsi",
        "macd": _S + "trend:Macd",
        "donchian_breakout": _S + "breakout:DonchianBreakout",
        "momentum_rotation": _S + "rotation:MomentumRotation",
        "inverse_vol": _S + "allocation:InverseVol",
        "momentum_voltarget": _S + "momentum_voltarget:MomentumVolTarget",
        "pairs": _S + "pairs:Pairs",
        "dca": _S + "dca:Dca",
        "regime_router": _S + "router:RegimeRouter",
        "portfolio_opt": _S + "portfolio_opt:PortfolioOpt",
    }
)
"""Built-in strategies by registry name, in the order the UI lists them (each class imported when first used)."""

EVENT_BUILTINS: Mapping[str, type[EventStrategy]] = LazyClasses(
    {
        "sma_cross_event": _S + "event_systems:SmaCrossEvent",
        "ema_trend_event": _S + "event_systems:EmaTrendEvent",
        "donchian_event": _S + "event_systems:DonchianEvent",
        "gap_and_go": _S + "gap_and_go:GapAndGo",
        "grid_bot": _S + "grid_bot:GridBot",
    }
)
"""Built-in event strategies (engine.strategies.event_systems.EVENT_SYSTEMS) by registry name, imported when first
used; they run in event mode only."""


def is_event_strategy(name: str) -> bool:
    """Whether `name` is an event strategy (then a backtest of it runs in event mode)."""
    return name in EVENT_BUILTINS


def strategy_class(name: str) -> type[Any]:
    """The class of strategy `name`: an event strategy's or a weights strategy's (StrategyError for an unknown name)."""
    return EVENT_BUILTINS[name] if name in EVENT_BUILTINS else get_strategy(name)


def params_class(name: str) -> type:
    """The `Params` dataclass of strategy `name`, weights or event (StrategyError for an unknown name)."""
    return EVENT_BUILTINS[name].Params if name in EVENT_BUILTINS else get_strategy(name).Params


def create_event_strategy(name: str, params: Mapping[str, Any] | None = None) -> EventStrategy:
    """An instance of event strategy `name`; StrategyError naming the known ones otherwise (ConfigError for bad
    parameters, naming the field)."""
    if name not in EVENT_BUILTINS:
        raise StrategyError(f"unknown event strategy {name!r}; known: {', '.join(EVENT_BUILTINS)}")
    return EVENT_BUILTINS[name](dict(params or {}))


@dataclass
class _Scan:
    folder: Path | None = None
    signature: tuple[tuple[str, int, int], ...] | None = None
    user: dict[str, type[Strategy]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


_scan = _Scan()


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(folder.glob("*.py"))
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def _load_user(folder: Path) -> tuple[dict[str, type[Strategy]], dict[str, str]]:
    user: dict[str, type[Strategy]] = {}
    errors: dict[str, str] = {}
    origin: dict[str, str] = {}
    from engine.strategies import source_scan, user_code  # only with user files: the sandbox imports multiprocessing

    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            stat = path.stat()
            found = source_scan.scan_file(path)
        except SyntaxError as e:
            errors[path.name] = f"syntax error at line {e.lineno}: {e.msg}"
            continue
        except (OSError, UnicodeDecodeError, ValueError) as e:
            errors[path.name] = f"cannot read the file: {e}"
            continue
        problems: list[str] = []
        for scanned in found:
            problem = scanned.problem
            name = scanned.name
            if problem is None and name in BUILTINS:
                problem = f"class {scanned.class_name}: name {name!r} clashes with a built-in strategy"
            elif problem is None and name in user:
                problem = f"class {scanned.class_name}: name {name!r} is already defined in {origin[name]}"
            if problem is None:
                try:
                    user[name] = user_code.stand_in(scanned, path, (stat.st_mtime_ns, stat.st_size))
                    origin[name] = path.name
                except (TypeError, ValueError) as e:  # e.g. a mutable default, as the dataclass would say
                    problem = f"class {scanned.class_name} ({name!r}): Params: {e}"
            if problem:
                problems.append(problem)
        if not found:
            problems.append("defines no Strategy subclass")
        if problems:
            errors[path.name] = "; ".join(problems)
    return user, errors


def _state(force: bool = False) -> _Scan:
    global _scan
    folder = strategies_dir()
    signature = _signature(folder)
    if force or _scan.folder != folder or _scan.signature != signature:
        user, errors = _load_user(folder)
        _scan = _Scan(folder, signature, user, errors)
    return _scan


def reload() -> None:
    """Re-scan the user strategies folder now (new, changed or deleted files)."""
    _state(force=True)


def list_strategies() -> dict[str, type[Strategy]]:
    """Every loadable strategy by name: built-ins first, then user files (sorted by name)."""
    scan = _state()
    return {**BUILTINS, **dict(sorted(scan.user.items()))}


def load_errors() -> dict[str, str]:
    """User strategy files that failed to load: file name -> reason."""
    return dict(_state().errors)


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered under `name`; StrategyError listing the known names otherwise."""
    if name in BUILTINS:  # a user file can never take a built-in's name, so no folder scan is needed
        return BUILTINS[name]
    known = list_strategies()
    if name not in known:
        hint = ""
        errors = load_errors()
        if errors:
            hint = (
                f" (user files that failed to load: {', '.join(sorted(errors))}; `ivybt strategies` or "
                f"load_errors() says why)"
            )
        raise StrategyError(f"unknown strategy {name!r}; known: {', '.join(known)}{hint}")
    return known[name]


def __getattr__(attr: str) -> type[Strategy]:
    """`_user_<name>`: the stand-in of user strategy <name> (how pickle finds a stand-in class)."""
    if attr.startswith("_user_"):
        from engine.strategies.user_code import UserStrategy

        cls = list_strategies().get(attr.removeprefix("_user_"))
        if cls is not None and issubclass(cls, UserStrategy):
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def create_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """An instance of strategy `name` with `params` (a mapping, validated by `make_params`; None = defaults).

    Raises StrategyError for an unknown name and ConfigError for bad parameters (naming the field).
    """
    return get_strategy(name)(dict(params or {}))


def validate_weights(strategy: Strategy, data: MarketData, weights: Any) -> pd.DataFrame:
    """Check a strategy's `target_weights` output; return it as float64 or raise StrategyError.

    Required: a DataFrame with exactly `data.close`'s index and columns, numeric, and no +-inf (NaN is
    allowed: "no opinion", read as 0 by the simulator).
    """
    who = f"strategy {getattr(strategy, 'name', type(strategy).__name__)!r}"
    if not isinstance(weights, pd.DataFrame):
        raise StrategyError(f"{who} returned {type(weights).__name__}, expected a pandas DataFrame of weights")
    if weights.shape != data.close.shape:
        raise StrategyError(
            f"{who} returned weights of shape {weights.shape}, expected {data.close.shape} (bars x symbols)"
        )
    if list(weights.columns) != list(data.close.columns):
        raise StrategyError(f"{who} returned columns {list(weights.columns)}, expected {list(data.close.columns)}")
    if not weights.index.equals(data.index):
        diff = np.flatnonzero(np.asarray(weights.index != data.index))
        at = diff[0] if len(diff) else 0
        raise StrategyError(
            f"{who} returned weights on a different index: row {at} is {weights.index[at]!r}, "
            f"expected {data.index[at]!r}"
        )
    try:
        values = weights.to_numpy(dtype="float64")
    except (TypeError, ValueError) as e:
        raise StrategyError(f"{who} returned non-numeric weights: {e}") from None
    bad = np.isinf(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise StrategyError(
            f"{who} returned a non-finite weight {values[r, c]} at {data.index[r]} for {data.close.columns[c]!r}"
        )
    return pd.DataFrame(values, index=data.index, columns=data.close.columns)
