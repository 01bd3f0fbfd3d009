"""The strategy registry: built-in strategies plus user files from the workspace's strategies folder.

A user strategy is a `*.py` file in `engine.store.workspace.strategies_dir()` that defines one or more `Strategy`
subclasses with a `name` and a `Params` dataclass. Files are scanned lazily and again whenever a file in the
folder is added, removed or changed (or on `reload()`). A broken file — syntax error, import error, an
exception at import, a class without `name`/`Params`, a name clashing with a built-in or another file — is
reported in `load_errors()` by file name and reason, and everything else still loads. Files load in name
order (names starting with "_" are skipped); when two files define the same name, the first one keeps it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import StrategyError
from engine.store.workspace import strategies_dir
from engine.strategies.allocation import BuyAndHold, InverseVol
from engine.strategies.base import Strategy
from engine.strategies.breakout import DonchianBreakout
from engine.strategies.crossover import EmaCross, SmaCross
from engine.strategies.mean_reversion import BollingerRsi, RsiReversion
from engine.strategies.rotation import MomentumRotation
from engine.strategies.trend import EmaTrend, Macd

BUILTINS: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        BuyAndHold,
        SmaCross,
        EmaCross,
        EmaTrend,
        RsiReversion,
        BollingerRsi,
        Macd,
        DonchianBreakout,
        MomentumRotation,
        InverseVol,
    )
}
"""Built-in strategies by registry name, in the order the UI lists them."""

USER_MODULE_PREFIX = "ivybt_user_strategies"


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


def _import_file(path: Path) -> ModuleType:
    module_name = f"{USER_MODULE_PREFIX}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _problem(cls: type) -> str | None:
    """Why a Strategy subclass cannot be registered (None if it can)."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.strip():
        return f"class {cls.__name__} has no `name` (a non-empty string)"
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and dataclasses.is_dataclass(params)):
        return f"class {cls.__name__} ({name!r}) has no `Params` dataclass"
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        return f"class {cls.__name__} ({name!r}) does not implement {missing}"
    try:
        params()
    except Exception as e:  # user code: any failure of the defaults is a load error, reported below
        return f"class {cls.__name__} ({name!r}): default Params() fails: {e}"
    return None


def _load_user(folder: Path) -> tuple[dict[str, type[Strategy]], dict[str, str]]:
    user: dict[str, type[Strategy]] = {}
    errors: dict[str, str] = {}
    origin: dict[str, str] = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            module = _import_file(path)
        except SyntaxError as e:
            errors[path.name] = f"syntax error at line {e.lineno}: {e.msg}"
            continue
        except (Exception, SystemExit) as e:  # user code may raise anything at import; report it, keep the others
            last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
            where = f" (line {last.lineno})" if last is not None and last.filename == str(path) else ""
            errors[path.name] = f"{type(e).__name__}{where}: {e}"
            continue
        problems: list[str] = []
        found = 0
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, Strategy) or cls is Strategy or cls.__module__ != module.__name__:
                continue
            if cls.__name__.startswith("_"):
                continue
            found += 1
            problem = _problem(cls)
            name = getattr(cls, "name", "")
            if problem is None and name in BUILTINS:
                problem = f"class {cls.__name__}: name {name!r} clashes with a built-in strategy"
            elif problem is None and name in user:
                problem = f"class {cls.__name__}: name {name!r} is already defined in {origin[name]}"
            if problem:
                problems.append(problem)
            else:
                user[name] = cls
                origin[name] = path.name
        if found == 0:
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
