"""Monte Carlo of a finished backtest: how much of its result was the luck of one ordering of events.

Three methods, each varying something different (and leaving the rest alone, said plainly):

- ``"reshuffle"``: permute the ORDER of the trades' account returns. The product of the same numbers does not
  depend on their order, so the final equity is UNCHANGED in every simulation (set exactly to the backtest's
  trade-compounded value), and so is the trade-level Sharpe; only the path, hence the drawdown distribution,
  varies.
- ``"bootstrap_trades"``: draw as many trades as the backtest made, WITH replacement. Final equity, drawdown
  and Sharpe all vary.
- ``"block_bootstrap"``: resample the backtest's per-bar (daily) returns in blocks (stationary bootstrap of
  Politis & Romano: geometric block lengths of mean ``block_length``, or fixed blocks of ``block_length``
  bars; circular), keeping short-range dependence such as volatility clusters. Everything varies; the mean
  per-bar return is preserved in expectation (every bar is equally likely at every position).

A trade's account return is its P&L (net of commissions) divided by the equity at the close before its entry
bar, i.e. the effect of the trade on the whole account, sizing included. Trade paths compound those returns
trade after trade (one step per trade); this equals the backtest's equity when trades do not overlap and
cash earns nothing, and is an approximation otherwise.

Stress assumptions: ``extra_slippage_bps`` is an extra cost per fill, like ``Costs.slippage_bps`` (a round
trip pays it twice, on the notional traded; for the return bootstrap it is charged on each bar's turnover);
``win_rate_haircut`` turns each winning trade, independently with that probability, into the average losing
trade of the backtest (0 if it had none), so about that fraction of winners is lost; for the return
bootstrap it acts on bars (a winning bar becomes the average losing bar), which is far harsher than the same
fraction of trades: use small values there. Both are drawn per simulation, so they also move the reshuffled
final equity.

All draws come from one ``numpy.random.Generator(PCG64(seed))``: the same seed gives the same paths, bit for
bit. Work is vectorized over simulations (1000 block-bootstrap paths over 8,000 bars take well under a
second).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal, get_args

import numpy as np
import pandas as pd
from numba import njit
from pydantic import Field, StrictBool, StrictFloat, StrictInt
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.config import Bps
from engine.errors import ConfigError
from engine.metrics import curve
from engine.metrics.registry import MONTE_CARLO
from engine.sim.result import BacktestResult
from engine.store.runs import RunStore
from engine.validation import FORBID, parse, validated

Method = Literal["reshuffle", "bootstrap_trades", "block_bootstrap"]
METHODS: tuple[str, ...] = get_args(Method)
PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
STAT_COLUMNS: tuple[str, ...] = MONTE_CARLO
CHUNK = 100
"""Paths compounded between two progress calls / cancel checks."""


@validated("montecarlo")
@pydantic_dataclass(frozen=True, config=FORBID)
class MonteCarloSpec:
    """How to resample a backtest.

    method: "reshuffle" | "bootstrap_trades" | "block_bootstrap" (see the module docstring: what each varies).
    n_sims: number of simulated paths. block_length: mean (stationary) or fixed block length, in bars.
    stationary: True = stationary bootstrap (geometric block lengths), False = fixed-length blocks.
    extra_slippage_bps: extra cost per fill, basis points of traded notional.
    win_rate_haircut: probability (0..1) that a winning trade (or bar) is turned into the average loss.
    loss_threshold: a "loss beyond threshold" is final equity < (1 - loss_threshold) x initial cash.
    seed: seed of the numpy Generator; same seed -> identical output.
    """

    method: Method = "block_bootstrap"
    n_sims: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 1000
    block_length: Annotated[StrictInt, Field(ge=1)] = 20
    extra_slippage_bps: Bps = 0.0
    win_rate_haircut: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.0
    loss_threshold: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.2
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    stationary: StrictBool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MonteCarloSpec:
        """Build from a plain mapping (JSON, YAML); errors name the field and the value."""
        return parse(cls, values)


@dataclass
class MonteCarloResult:
    """Simulated equity paths and their statistics.

    paths: (n_sims, steps + 1) equity, column 0 = initial cash; a step is a trade (trade methods) or a bar.
    percentiles: rows "p5", "p25", "p50", "p75", "p95"; columns final_equity (currency), max_drawdown
        (fraction <= 0, the running peak excludes initial cash as in engine.metrics; p5 is the worst 5%) and
        sharpe (annualized; per trade x sqrt(trades per year) for the trade methods).
    prob_loss_beyond: share of paths with final equity < (1 - loss_threshold) x initial cash.
    summary: the original backtest's values beside the simulated medians, plus counts.
    final_equity / max_drawdown / sharpe: the (n_sims,) values behind the percentiles (for histograms).
    """

    spec: MonteCarloSpec
    paths: np.ndarray
    percentiles: pd.DataFrame
    prob_loss_beyond: float
    summary: dict[str, Any]
    final_equity: np.ndarray | None = None
    max_drawdown: np.ndarray | None = None
    sharpe: np.ndarray | None = None


def run_montecarlo(
    result: BacktestResult,
    spec: MonteCarloSpec | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> MonteCarloResult:
    """Resample `result` by `spec.method` and summarize the distribution of outcomes.

    progress(paths done, n_sims) is called as the paths are compounded, CHUNK paths at a time; should_stop()
    -> True between chunks cancels with ConfigError("cancelled"). Neither changes the numbers (every draw
    is made before the chunks).

    Raises ConfigError when there is nothing to resample (no trades for the trade methods, fewer than 2 bars
    for the return bootstrap).
    """
    spec = MonteCarloSpec() if spec is None else spec
    if not isinstance(spec, MonteCarloSpec):
        raise ConfigError(f"spec must be MonteCarloSpec, got {type(spec).__name__}")
    _stop_if(should_stop)
    rng = np.random.Generator(np.random.PCG64(spec.seed))
    cash = float(result.config.initial_cash)
    ppy = float(result.config.periods_per_year)
    if spec.method == "block_bootstrap":
        steps = _bar_returns(result, spec.extra_slippage_bps)
        samples = _haircut(_block_samples(rng, steps, spec), spec.win_rate_haircut, rng)
        annual = ppy
    else:
        steps = _trade_account_returns(result, spec.extra_slippage_bps)
        n = len(steps)
        if spec.method == "reshuffle":
            samples = rng.permuted(np.broadcast_to(steps, (spec.n_sims, n)), axis=1)
        else:
            samples = steps[rng.integers(0, n, size=(spec.n_sims, n))]
        samples = _haircut(samples, spec.win_rate_haircut, rng)
        annual = n / _years(result.equity.index, len(result.equity), ppy)
    paths, mdd, mean, std = _compound_in_chunks(samples, cash, progress, should_stop)
    if spec.method == "reshuffle" and spec.win_rate_haircut == 0:
        # The product does not depend on the order; set it exactly (reordering moves the last float bit).
        paths[:, -1] = _compound(steps[np.newaxis, :], cash)[0][0, -1]
    final = paths[:, -1].copy()
    sharpe = _sharpe(mean, std, np.abs(samples).max(axis=1) if samples.size else mean, annual)
    stats = dict(zip(STAT_COLUMNS, (final, mdd, sharpe)))
    table = pd.DataFrame(
        {k: [_pct(v, q) for q in PERCENTILES] for k, v in stats.items()},
        index=[f"p{q}" for q in PERCENTILES],
        columns=list(STAT_COLUMNS),
    )
    prob = float(np.mean(final < (1.0 - spec.loss_threshold) * cash))
    summary = {
        "method": spec.method,
        "n_sims": spec.n_sims,
        "steps": int(samples.shape[1]),
        "step_unit": "bar" if spec.method == "block_bootstrap" else "trade",
        "initial_cash": cash,
        "original_final_equity": float(result.equity.iloc[-1]),
        "original_max_drawdown": float(result.metrics.get("max_drawdown", np.nan)),
        "original_sharpe": float(result.metrics.get("sharpe", np.nan)),
        "median_final_equity": float(table.loc["p50", "final_equity"]),
        "mean_final_equity": float(final.mean()),
        "loss_threshold": spec.loss_threshold,
        "prob_loss_beyond": prob,
    }
    if spec.method != "block_bootstrap":
        summary["trade_compounded_final_equity"] = float(_compound(steps[np.newaxis, :], cash)[0][0, -1])
    return MonteCarloResult(
        spec=spec,
        paths=paths,
        percentiles=table,
        prob_loss_beyond=prob,
        summary=summary,
        final_equity=final,
        max_drawdown=mdd,
        sharpe=sharpe,
    )


def _stop_if(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise ConfigError("cancelled")


def _compound_in_chunks(
    samples: np.ndarray,
    cash: float,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
    chunk: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_compound` CHUNK rows at a time (each row is independent, so the result is the same as one call)."""
    chunk = chunk or CHUNK
    sims, n = samples.shape
    paths, mdd, mean, std = np.empty((sims, n + 1)), np.empty(sims), np.empty(sims), np.empty(sims)
    for lo in range(0, sims, chunk):
        _stop_if(should_stop)
        hi = min(sims, lo + chunk)
        paths[lo:hi], mdd[lo:hi], mean[lo:hi], std[lo:hi] = _compound(samples[lo:hi], cash)
        if progress is not None:
            progress(hi, sims)
    return paths, mdd, mean, std


def montecarlo_payload(mc: MonteCarloResult) -> dict[str, Any]:
    """JSON-ready summary of a Monte Carlo: spec, percentiles, probability of loss, summary."""
    percentiles = {row: dict(mc.percentiles.loc[row]) for row in mc.percentiles.index}
    return {
        "spec": mc.spec.to_dict(),
        "percentiles": percentiles,
        "prob_loss_beyond": mc.prob_loss_beyond,
        "summary": dict(mc.summary),
    }


def save_montecarlo(
    mc: MonteCarloResult, backtest: BacktestResult, request: Any, store: Any = None, name: str | None = None
) -> str:
    """Save a Monte Carlo as a run of kind "montecarlo": the resampled backtest with the percentiles (frame
    "montecarlo_percentiles"), every path's final equity, max drawdown and Sharpe (frame
    "montecarlo_samples") and `montecarlo_payload`; returns the run id."""
    store = store if store is not None else RunStore()
    samples = pd.DataFrame(dict(zip(STAT_COLUMNS, (mc.final_equity, mc.max_drawdown, mc.sharpe))))
    name = name or f"Monte Carlo {mc.spec.method}: {mc.spec.n_sims} paths, seed {mc.spec.seed}"
    return store.save_analysis(
        backtest,
        request,
        kind="montecarlo",
        name=name,
        payload=montecarlo_payload(mc),
        frames={"montecarlo_percentiles": mc.percentiles, "montecarlo_samples": samples},
    )


def _trade_account_returns(result: BacktestResult, extra_bps: float) -> np.ndarray:
    """Each trade's P&L / equity at the close before its entry bar, minus the extra round-trip slippage."""
    trades = result.trades
    if trades is None or len(trades) == 0:
        raise ConfigError("montecarlo: the backtest made no trades; use method 'block_bootstrap' (daily returns)")
    equity = result.equity
    pos = equity.index.get_indexer(
        pd.DatetimeIndex(trades["entry_time"]) if isinstance(equity.index, pd.DatetimeIndex) else trades["entry_time"]
    )
    if (pos < 0).any():
        row = int(np.argmax(pos < 0))
        raise ConfigError(
            f"montecarlo: trade {row} entry_time {trades['entry_time'].iloc[row]} is not a bar of the equity curve"
        )
    before = np.where(pos > 0, equity.to_numpy(np.float64)[np.maximum(pos - 1, 0)], float(result.config.initial_cash))
    pnl = trades["pnl"].to_numpy(np.float64)
    out = pnl / before
    if extra_bps:
        notional = trades["quantity"].to_numpy(np.float64) * trades["entry_price"].to_numpy(np.float64)
        out = out - 2.0 * extra_bps / 1e4 * np.abs(notional) / before
    if not np.isfinite(out).all() or (out <= -1).any():
        row = int(np.argmax(~np.isfinite(out) | (out <= -1)))
        raise ConfigError(
            f"montecarlo: trade {row} has account return {out[row]} (equity before entry "
            f"{before[row]}); cannot compound it"
        )
    return out


def _bar_returns(result: BacktestResult, extra_bps: float) -> np.ndarray:
    """Per-bar returns of the backtest, minus extra slippage on each bar's turnover (notional / prior equity)."""
    r = result.returns.to_numpy(np.float64)
    if len(r) < 2:
        raise ConfigError(f"montecarlo: {len(r)} bar(s); the return bootstrap needs at least 2")
    if extra_bps and result.fills is not None and len(result.fills):
        fills = result.fills
        notional = (fills["quantity"].abs() * fills["price"]).groupby(fills["time"]).sum()
        traded = notional.reindex(result.equity.index, fill_value=0.0).to_numpy(np.float64)
        prior = np.concatenate([[float(result.config.initial_cash)], result.equity.to_numpy(np.float64)[:-1]])
        r = r - extra_bps / 1e4 * traded / prior
    return r


def _block_samples(rng: np.random.Generator, r: np.ndarray, spec: MonteCarloSpec) -> np.ndarray:
    """(n_sims, n) returns drawn in circular blocks of `r`: block lengths geometric with mean L (stationary:
    a new block starts after each bar with probability 1/L) or exactly L (fixed), block starts uniform."""
    n = len(r)
    length = min(spec.block_length, n)
    if spec.stationary:
        # Enough blocks to cover n bars with overwhelming probability; rows still short are redrawn.
        nb = int(n / length + 8.0 * math.sqrt(n / length) + 8)
        lengths = rng.geometric(1.0 / length, size=(spec.n_sims, nb))
        short = lengths.sum(axis=1) < n
        while short.any():
            lengths[short] = rng.geometric(1.0 / length, size=(int(short.sum()), nb))
            short = lengths.sum(axis=1) < n
    else:
        nb = -(-n // length)
        lengths = np.full((spec.n_sims, nb), length, dtype=np.int64)
    starts = rng.integers(0, n, size=(spec.n_sims, nb))
    return _gather_blocks(r, starts, lengths.astype(np.int64))


@njit(cache=True, nogil=True)
def _gather_blocks(r, starts, lengths):  # pragma: no cover - compiled
    sims, nb = starts.shape
    n = r.shape[0]
    out = np.empty((sims, n))
    for s in range(sims):
        t = 0
        for b in range(nb):
            i = starts[s, b]
            for _ in range(lengths[s, b]):
                if t == n:
                    break
                out[s, t] = r[i]
                t += 1
                i += 1
                if i == n:
                    i = 0
            if t == n:
                break
    return out


def _haircut(samples: np.ndarray, haircut: float, rng: np.random.Generator) -> np.ndarray:
    """Each winner (> 0) becomes the average loser of the original list with probability `haircut`."""
    if haircut <= 0:
        return samples
    losers = samples[samples < 0]
    avg_loss = float(losers.mean()) if losers.size else 0.0
    hit = rng.random(samples.shape) < haircut
    hit &= samples > 0
    return np.where(hit, avg_loss, samples)


@njit(cache=True, nogil=True)
def _compound(samples, cash):  # pragma: no cover - compiled
    """Equity paths (column 0 = cash) compounding each row's returns, with each row's max drawdown
    (min of e[t] / max(e[0..t]) - 1 over the steps, initial cash not in the peak, as engine.metrics) and the
    mean and std (ddof=1) of its returns, in one pass per row."""
    sims, n = samples.shape
    paths = np.empty((sims, n + 1))
    mdd = np.zeros(sims)
    mean = np.full(sims, np.nan)
    std = np.full(sims, np.nan)
    for s in range(sims):
        e = cash
        paths[s, 0] = e
        peak = -np.inf
        worst = 0.0
        total = 0.0
        for t in range(n):
            x = samples[s, t]
            total += x
            e = e * (1.0 + x)
            paths[s, t + 1] = e
            if e > peak:
                peak = e
            dd = e / peak - 1.0
            if dd < worst:
                worst = dd
        mdd[s] = worst
        if n >= 2:
            m = total / n
            ss = 0.0
            for t in range(n):
                d = samples[s, t] - m
                ss += d * d
            mean[s] = m
            std[s] = np.sqrt(ss / (n - 1))
    return paths, mdd, mean, std


def _sharpe(mean: np.ndarray, std: np.ndarray, abs_max: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Annualized Sharpe mean / std * sqrt(P), NaN for a flat row (engine.metrics.curve.sharpe's rule)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std * np.sqrt(periods_per_year)
    return np.where(std > 1e-12 * abs_max, out, np.nan)


def _years(index: pd.Index, n_bars: int, ppy: float) -> float:
    years = curve.years_spanned(n_bars, ppy, index)
    return years if years > 0 else max(n_bars, 1) / ppy


def _pct(values: np.ndarray, q: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, q)) if finite.size else math.nan
