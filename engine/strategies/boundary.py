"""The boundary to a strategy's own code: `call_strategy` runs one of its methods and turns an exception
raised inside a user strategy file into a StrategyError naming the strategy, its file and line.

Used by everything that runs a strategy (the simulator, the grid, the signals, the look-ahead audit). A user
strategy seen from the engine's process is a stand-in (`engine.strategies.user_code`) whose methods run in a
sandbox child; in that child, `observe` lets the sandbox hear each call start (its time limit is per call).
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.data.market import MarketData
from engine.errors import EngineError, StrategyError
from engine.strategies.base import Strategy

ENGINE_DIR = Path(__file__).resolve().parents[1]
"""Strategies defined under this folder are built-ins: an exception from them is an engine bug, not wrapped."""

_observer: list[Callable[[str], None]] = []


def observe(callback: Callable[[str], None]) -> None:
    """Call `callback(method)` as each `call_strategy` starts, in this process (a sandbox child) from now on."""
    _observer[:] = [callback]


def user_file(strategy: Strategy | type[Strategy]) -> Path | None:
    """The file that defines `strategy`'s class (or `strategy`, a class), or None for a built-in (or a class
    without a file). A stand-in for a user strategy names its file as `source_path`."""
    cls = strategy if isinstance(strategy, type) else type(strategy)
    stand_in = getattr(cls, "source_path", None)
    if stand_in:
        return Path(stand_in)
    try:
        name = inspect.getsourcefile(cls) or inspect.getfile(cls)
    except (TypeError, OSError):  # defined in C or interactively
        return None
    path = Path(name).resolve()
    return None if path.is_relative_to(ENGINE_DIR) else path


def _last_line_in(path: Path, error: BaseException) -> int | None:
    """The line of the innermost traceback frame of `error` that runs in `path`."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == path]
    return lines[-1] if lines else None


def call_strategy(strategy: Strategy | type[Strategy], method: str, data: MarketData, *args: Any) -> Any:
    """`strategy.<method>(data, *args)` (e.g. "target_weights", "stop_fractions", or "grid_weights" of a class
    with its parameter sets) at the boundary to user code.

    An exception raised by a user strategy's own code is re-raised as StrategyError naming the strategy, its
    file and line and the original error (chained with `from`). EngineError (StrategyError, ConfigError, ...)
    passes through unchanged, and so does anything a built-in strategy raises (an engine bug).
    """
    for callback in _observer:
        callback(method)
    try:
        return getattr(strategy, method)(data, *args)
    except (EngineError, MemoryError):  # out of memory is the sandbox's to report (its limit), not the strategy's bug
        raise
    except Exception as e:
        path = user_file(strategy)
        if path is None:
            raise
        line = _last_line_in(path, e)
        where = f"{path}, line {line}" if line is not None else str(path)
        name = getattr(strategy, "name", type(strategy).__name__)
        raise StrategyError(f"strategy {name!r} ({where}) failed in {method}: {type(e).__name__}: {e}") from e
