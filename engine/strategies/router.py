"""`regime_router`: trade a different strategy in each market regime.

The regime of every bar comes from the first symbol's close (`engine.strategies.regimes`, decided with bars up
to that close); `routes` maps regimes to strategies, e.g.
"bull_calm=buy_and_hold; bull_volatile=sma_cross:fast=20,slow=100; bear=preset:my_trend; volatile=cash" (a
preset routes its strategy and parameters; its symbols and settings are the router's). A route's key is a full label
("bull_calm") or one part of labels ("bull" = bull_calm and bull_volatile; "calm" = every calm label, Markov's
"calm" included); each label may be matched by one key only. A regime without a route, "cash", or a bar
whose regime is still undefined holds no position. The weights at t are the routed strategy's own weights at
t (each sub-strategy runs on the whole data, causally), so the router switches at regime changes into
whatever position that strategy holds then.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import ConfigError, StrategyError
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.boundary import call_strategy
from engine.strategies.regimes import REGIME_METHODS, RegimeModel, regime_labels

CASH = "cash"
PRESET = "preset"
Route = tuple[str, dict[str, str]] | None
"""(strategy name, params as text) or None for cash; a preset is (PRESET, {"name": its name}) until it is read."""

ROUTE_PRESETS: tuple[str, ...] = (
    "bull_calm=buy_and_hold; bull_volatile=sma_cross:fast=20,slow=100; bear=cash",
    "bull=buy_and_hold; bear=cash",
    "calm=buy_and_hold; volatile=cash",
    "calm=buy_and_hold; volatile=sma_cross:fast=20,slow=100",
    "bull=buy_and_hold; bear_calm=sma_cross:fast=20,slow=100; bear_volatile=cash",
)
"""Route sets offered by the app and searched by the optimizer's default grid (any other text is accepted when
given by hand: CLI, API, a preset file). "calm=...; volatile=..." sets fit both models."""

_resolver: list[Callable[[str, Mapping[str, Any]], Strategy]] = []


def set_resolver(create: Callable[[str, Mapping[str, Any]], Strategy]) -> None:
    """How the router builds a routed strategy by name (default: the registry's `create_strategy` once
    engine.strategies.registry is imported; the registry lists the router, so the router cannot import it)."""
    _resolver[:] = [create]


def parse_routes(text: str, labels: tuple[str, ...]) -> dict[str, Route]:
    """ "key=name:a=1,b=2; key2=cash" -> {label: route} for every label of `labels` (unrouted labels -> None).

    ConfigError for a malformed route, a key that matches no label, or a label matched by two keys.
    """
    by_label: dict[str, Route] = dict.fromkeys(labels)
    matched_by: dict[str, str] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        key, eq, target = (s.strip() for s in part.partition("="))
        if not eq or not key or not target:
            raise ConfigError(f"route {part!r} must read 'regime=strategy[:param=value,...]' or 'regime=cash'")
        hits = [lab for lab in labels if key == lab or key in lab.split("_")]
        if not hits:
            raise ConfigError(f"route key {key!r} matches no regime; regimes: {list(labels)} (or a part of one)")
        route = _parse_target(target, part)
        for lab in hits:
            if lab in matched_by:
                raise ConfigError(f"regime {lab!r} is routed twice: by {matched_by[lab]!r} and by {key!r}")
            matched_by[lab] = key
            by_label[lab] = route
    return by_label


def _parse_target(target: str, part: str) -> Route:
    name, _, args = (s.strip() for s in target.partition(":"))
    if name == CASH:
        return None
    if name == RegimeRouter.name:
        raise ConfigError(f"route {part!r}: a regime_router cannot route to itself")
    if name == PRESET:
        if not args or "=" in args or "," in args:
            raise ConfigError(f"route {part!r}: a preset route reads 'regime=preset:NAME'")
        return PRESET, {"name": args}
    params: dict[str, str] = {}
    for item in (a.strip() for a in args.split(",") if a.strip()):
        k, eq, v = (s.strip() for s in item.partition("="))
        if not eq or not k or not v:
            raise ConfigError(f"route {part!r}: parameter {item!r} must read name=value")
        params[k] = v
    return name, params


class RegimeRouter(Strategy):
    """Each bar: the weights of the strategy routed to that bar's regime (regime of the first symbol)."""

    name = "regime_router"
    description = "Detects the market regime (trend x volatility, or Markov) and trades the strategy routed to it."

    @dataclass(frozen=True)
    class Params:
        method: str = param(
            "voltrend", choices=REGIME_METHODS, doc="regime model: voltrend (SMA trend x volatility quantile) or markov"
        )
        routes: str = param(
            ROUTE_PRESETS[0],
            choices=ROUTE_PRESETS,
            doc="regime=strategy[:param=value,...] or regime=preset:NAME, separated by ';' (cash = no position)",
        )
        sma_length: int = param(200, 50, 250, 50, doc="trend SMA window, bars (voltrend)")
        vol_window: int = param(21, 10, 63, 11, doc="realized-volatility window, bars (voltrend)")
        vol_quantile: float = param(0.8, 0.5, 0.9, 0.1, doc="volatile above this expanding quantile (voltrend)")
        min_history: int = param(252, 126, 504, 126, doc="bars before the first regime (quantile, Markov fit)")
        markov_window: int = param(0, 0, 1008, 252, doc="Markov fit window, bars (0 = expanding)")
        refit_every: int = param(63, 21, 252, 21, doc="refit the Markov model every N bars")

        def __post_init__(self) -> None:
            require(self.method in REGIME_METHODS, f"method must be one of {list(REGIME_METHODS)}, got {self.method!r}")
            parse_routes(self.routes, self.model().labels)  # raises ConfigError naming the bad route

        def model(self) -> RegimeModel:
            return RegimeModel(
                self.method,
                self.vol_window,
                self.vol_quantile,
                self.sma_length,
                self.min_history,
                self.markov_window,
                self.refit_every,
            )

    def regimes(self, data: MarketData) -> pd.Series:
        """The regime label per bar of `data` (first symbol, held over rows where it has no bar), NaN before."""
        close = data.close.iloc[:, 0]
        labels = regime_labels(close, self.params.model())
        return labels.ffill().where(close.notna().cummax())

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        model = self.params.model()
        routes = parse_routes(self.params.routes, model.labels)
        labels = self.regimes(data).to_numpy()
        out = np.zeros(data.close.shape)
        cache: dict[tuple[str, tuple[tuple[str, str], ...]], np.ndarray] = {}
        for label, route in routes.items():
            rows = labels == label
            if route is None or not rows.any():
                continue
            key = (route[0], tuple(sorted(route[1].items())))
            if key not in cache:
                cache[key] = self._sub_weights(route, data)
            out[rows] = cache[key][rows]
        return pd.DataFrame(out, index=data.index, columns=data.close.columns)

    def _sub_weights(self, route: tuple[str, dict[str, str]], data: MarketData) -> np.ndarray:
        registry = sys.modules.get("engine.strategies.registry")  # imports the router lazily, sets nothing
        if not _resolver and registry is not None:
            set_resolver(registry.create_strategy)
        if not _resolver:
            raise StrategyError("regime_router: no strategy resolver set (import engine.strategies.registry)")
        name, params = _preset_route(route[1]["name"]) if route[0] == PRESET else route
        strategy = _resolver[0](name, params)
        weights = call_strategy(strategy, "target_weights", data)
        if not isinstance(weights, pd.DataFrame) or weights.shape != data.close.shape:
            raise StrategyError(f"regime_router: routed strategy {route[0]!r} returned weights of the wrong shape")
        return np.nan_to_num(weights.to_numpy(dtype="float64"), nan=0.0)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The regime as a number in its own panel (index into the model's labels; 0 = first label)."""
        labels = self.regimes(data)
        codes = {lab: float(i) for i, lab in enumerate(self.params.model().labels)}
        values = labels.map(codes).astype("float64")
        frame = pd.DataFrame({s: values for s in data.close.columns}, index=data.index)
        return {"regime (" + ", ".join(f"{i:g}={lab}" for lab, i in codes.items()) + ")": PlotSeries(frame, "regime")}


def _preset_route(name: str) -> tuple[str, dict[str, Any]]:
    """The strategy and parameters of preset `name` (engine.store.presets, which sits above the strategies and is
    imported by every caller that reads presets: the CLI, the app, batches). A preset of an event strategy or of
    another router cannot be routed (ConfigError naming it)."""
    presets = sys.modules.get("engine.store.presets")
    if presets is None:
        raise ConfigError(f"regime_router: route to preset {name!r}: presets are not loaded in this process")
    preset = presets.load_preset(name)
    if preset.strategy == RegimeRouter.name or presets.is_event_strategy(preset.strategy):
        raise ConfigError(
            f"regime_router: preset {name!r} runs {preset.strategy!r}; a route needs a weights strategy other than "
            "regime_router"
        )
    return preset.strategy, dict(preset.params)
