"""The boundary to a strategy's own code: `call_strategy` runs one of its methods and turns an exception
raised inside a user strategy file into a StrategyError naming the strategy, its file and line.

Used by everything that runs a strategy (the simulator, the grid, the signals, the look-ahead audit).
"""

from __future__ import annotations

import inspect
import traceback
from pathlib import Path
from typing import Any

from engine.data.market import MarketData
from engine.errors import EngineError, StrategyError
from engine.strategies.base import Strategy

ENGINE_DIR = Path(__file__).resolve().parents[1]
"""Strategies defined under this folder are built-ins: an exception from them is an engine bug, not wrapped."""


def user_file(strategy: Strategy) -> Path | None:
    """The file that defines `strategy`'s class, or None for a built-in (or a class without a file)."""
    try:
        name = inspect.getsourcefile(type(strategy)) or inspect.getfile(type(strategy))
    except (TypeError, OSError):  # defined in C or interactively
        return None
    path = Path(name).resolve()
    return None if path.is_relative_to(ENGINE_DIR) else path


def _last_line_in(path: Path, error: BaseException) -> int | None:
    """The line of the innermost traceback frame of `error` that runs in `path`."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == path]
    return lines[-1] if lines else None


def call_strategy(strategy: Strategy, method: str, data: MarketData) -> Any:
    """`strategy.<method>(data)` (e.g. "target_weights", "stop_fractions") at the boundary to user code.

    An exception raised by a user strategy's own code is re-raised as StrategyError naming the strategy, its
    file and line and the original error (chained with `from`). EngineError (StrategyError, ConfigError, ...)
    passes through unchanged, and so does anything a built-in strategy raises (an engine bug).
    """
    try:
        return getattr(strategy, method)(data)
    except EngineError:
        raise
    except Exception as e:
        path = user_file(strategy)
        if path is None:
            raise
        line = _last_line_in(path, e)
        where = f"{path}, line {line}" if line is not None else str(path)
        name = getattr(strategy, "name", type(strategy).__name__)
        raise StrategyError(f"strategy {name!r} ({where}) failed in {method}: {type(e).__name__}: {e}") from e
