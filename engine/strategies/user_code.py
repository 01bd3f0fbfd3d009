"""A user strategy as the engine's process sees it: a stand-in class built from the file's source.

The stand-in has the user class's name, `name`, `description` and `Params` (the fields, defaults and bounds
the source declares; `engine.strategies.source_scan`), so listing, forms, optimizers and presets read it
without running the file. Its methods run the user's code in a sandbox child (`engine.strategies.sandbox`):

- `weight_values(data)` computes, in one round trip, `weight_values`, `target_weights` when that gives
  None, and `stop_fractions` when the class has them; the simulator's next calls on the same data read the
  answers kept on the instance (each method's own value or error).
- `grid_weights(data, params_list)` computes every parameter set of a grid in one round trip (the class's
  `grid_weights`, or `target_weights` per set as `engine.sim.grid` would).
- A `Params` whose source has a `__post_init__` checks each new set of values in the child (its rules are
  the user's code), remembering the verdicts, so bad parameters fail where they always did.
The numbers are the user's code's own, pickled back: bit-identical to running it in process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import EngineError, StrategyError, UserCodeError
from engine.strategies import sandbox
from engine.strategies.base import Strategy, make_params
from engine.strategies.boundary import call_strategy
from engine.strategies.sandbox_child import UserCode, portable
from engine.strategies.source_scan import ScannedClass

STAND_IN_MODULE = "engine.strategies.registry"
"""Stand-ins are found by pickle as `engine.strategies.registry._user_<name>` (its module __getattr__)."""
MAX_VERDICTS = 4096


class UserStrategy(Strategy):
    """Base of the stand-ins; `code` names the user class, `source_path` its file (boundary.user_file)."""

    code: ClassVar[UserCode]
    source_path: ClassVar[str]
    verdicts: ClassVar[dict[str, BaseException | None]]

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self._answers: tuple[MarketData, dict[str, tuple[str, Any]]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"params": self.params, "_answers": None}

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return self._answer(data, "target_weights")

    def weight_values(self, data: MarketData) -> np.ndarray | None:
        return self._answer(data, "weight_values")

    @classmethod
    def grid_weights(cls, data: MarketData, params_list: Sequence[Any]) -> list[np.ndarray] | None:
        values = [dataclasses.asdict(p) for p in params_list]
        return sandbox.call(cls.code, grid_in_child, data, values)

    def _answer(self, data: MarketData, method: str) -> Any:
        if self._answers is None or self._answers[0] is not data or method not in self._answers[1]:
            stops = ("stop_fractions",) if has_stops(type(self)) else ()
            methods = {
                "weight_values": ("weight_values", "target_weights", *stops),
                "target_weights": ("target_weights", *stops),
            }.get(method, (method,))
            answers = sandbox.call(self.code, outputs_in_child, self.params_dict(), data, methods)
            self._answers = (data, answers)
        kind, value = self._answers[1][method]
        if kind == "error":
            raise value
        return value


class UserStrategyWithStops(UserStrategy):
    """A stand-in whose class defines `stop_fractions`."""

    def stop_fractions(self, data: MarketData) -> dict[str, pd.DataFrame] | None:
        return self._answer(data, "stop_fractions")


def has_stops(cls: type[Strategy]) -> bool:
    return cls.stop_fractions is not Strategy.stop_fractions


def stand_in(scanned: ScannedClass, path: Path, version: tuple[int, int]) -> type[UserStrategy]:
    """The stand-in class of a scanned user class (whose `problem` is None); ValueError if its Params cannot
    be built (e.g. a mutable default)."""
    fields = tuple(f.name for f in scanned.fields) if scanned.fields is not None else None
    code = UserCode(str(path.resolve()), scanned.class_name, scanned.name, version, fields)
    base = UserStrategyWithStops if scanned.stops else UserStrategy
    namespace = {
        "name": scanned.name,
        "description": scanned.description,
        "code": code,
        "source_path": code.path,
        "verdicts": {},
        "__module__": STAND_IN_MODULE,
        "__qualname__": f"_user_{scanned.name}",
    }
    cls: type[UserStrategy] = type(scanned.class_name, (base,), namespace)
    cls.Params = scanned.engine_params or _params_class(scanned, cls)
    return cls


def _params_class(scanned: ScannedClass, owner: type[UserStrategy]) -> type:
    specs = [(f.name, f.type, dataclasses.field(default=f.default, metadata=f.metadata)) for f in scanned.fields or ()]
    namespace: dict[str, Any] = {"__module__": STAND_IN_MODULE}
    if scanned.checks:

        def __post_init__(self: Any) -> None:
            check_params(owner, dataclasses.asdict(self))

        namespace["__post_init__"] = __post_init__
    params = dataclasses.make_dataclass("Params", specs, frozen=scanned.frozen, namespace=namespace)
    params.__qualname__ = f"_user_{scanned.name}.Params"
    return params


def check_params(owner: type[UserStrategy], values: dict[str, Any]) -> None:
    """Run the user Params' own rules (`__post_init__`) on `values` in the sandbox; raise what they raise."""
    key = repr(sorted(values.items()))
    if key not in owner.verdicts:
        try:
            sandbox.call(owner.code, params_in_child, values)
            verdict: BaseException | None = None
        except UserCodeError:
            raise
        except (EngineError, TypeError, ValueError) as e:
            verdict = e
        if len(owner.verdicts) >= MAX_VERDICTS:
            owner.verdicts.clear()
        owner.verdicts[key] = verdict
    error = owner.verdicts[key]
    if error is not None:
        raise error


# ---- run in the sandbox child, where `cls` is the user's own class -------------------------------------


def params_in_child(cls: type[Strategy], values: dict[str, Any]) -> None:
    cls.Params(**values)


def outputs_in_child(
    cls: type[Strategy], values: dict[str, Any], data: MarketData, methods: Sequence[str]
) -> dict[str, tuple[str, Any]]:
    """Each of `methods` of `cls(values)` on `data`: ("ok", value) or ("error", exception). `target_weights`
    after a `weight_values` that gave an array is skipped (the simulator does not read it)."""
    strategy = cls(values)
    out: dict[str, tuple[str, Any]] = {}
    for method in methods:
        first = out.get("weight_values")
        if method == "target_weights" and first is not None and (first[0] == "error" or first[1] is not None):
            continue
        try:
            out[method] = ("ok", call_strategy(strategy, method, data))
        except MemoryError:
            raise
        except Exception as e:  # the error of this method, raised when the engine asks for it
            out[method] = ("error", portable(e, cls.name))
    return out


def grid_in_child(cls: type[Strategy], data: MarketData, values_list: list[dict[str, Any]]) -> list[np.ndarray]:
    """The weight arrays of every parameter set, as `engine.sim.grid` computes them in process."""
    params = [make_params(cls.Params, v) for v in values_list]
    many = call_strategy(cls, "grid_weights", data, params)
    if many is not None:
        return list(many)
    out = []
    for p in params:
        w = call_strategy(cls(p), "target_weights", data)
        if not isinstance(w, pd.DataFrame):
            raise StrategyError(f"{cls.name} weights must be a DataFrame, got {type(w).__name__}")
        out.append(np.ascontiguousarray(w.reindex(index=data.index, columns=data.close.columns).to_numpy("float64")))
    return out
