"""`ivybt backtest`: flags, a preset or a YAML config -> one BacktestRequest -> run_request -> print."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.cli.options import CONFIG_FLAGS, EXECUTION_FLAGS, add_event_options, add_output_options, add_request_options
from engine.cli.output import metrics_json, metrics_text, print_json, print_warnings
from engine.cli.parsing import parse_params, read_yaml_mapping, split_symbols, typed_params
from engine.config import BacktestConfig
from engine.errors import ConfigError
from engine.request import BacktestRequest, constraint_cuts, run_request
from engine.sim.benchmark import benchmark_label
from engine.store.presets import Preset, load_preset, save_preset
from engine.store.reproduce import reproducibility_key
from engine.store.runs import RunStore

SAME_CLOSE_NOTE = "optimistic: same-close fill, for comparison only (the upper end of a fill-sensitivity check)"
"""Label of every same_close result (DESIGN §3): in the JSON as `fill_note`, in the text output as a note."""
LIFTED_SECTIONS = ("costs", "risk")
"""Config sections a --config YAML may also give at the top level, as presets do."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backtest",
        help="run one backtest (flags, --preset or --config YAML)",
        description="Run one backtest. Flags given explicitly override a preset's or config's values.",
    )
    add_request_options(p, timeframe=True)
    add_event_options(p)
    out = p.add_argument_group("output")
    add_output_options(out, "save the run in the run store")
    out.add_argument("--save-preset", metavar="NAME", help="also save this setup as a preset")
    p.set_defaults(func=run)


def build_request(args: argparse.Namespace) -> BacktestRequest:
    """The request the flags describe: the preset's or config's values, overridden by explicit flags."""
    if args.preset and args.config:
        raise ConfigError("backtest: give --preset or --config, not both")
    base: dict[str, Any] = {}
    if args.preset:
        base = load_preset(args.preset).to_request().to_dict()
    elif args.config:
        base = lift_sections(read_yaml_mapping(args.config, "config"), f"config file {args.config}")
    d = dict(base)
    if args.strategy:
        if d.get("strategy") and d["strategy"] != args.strategy:
            d["params"] = {}  # another strategy's params do not apply
        d["strategy"] = args.strategy
    if not d.get("strategy"):
        raise ConfigError("backtest: give --strategy NAME (see `ivybt strategies`), --preset NAME or --config FILE")
    if not isinstance(d.get("params") or {}, dict):
        raise ConfigError(f"params: expected a mapping of NAME: VALUE, got {d.get('params')!r}")
    params = {**(d.get("params") or {}), **parse_params(args.param)}
    d["params"] = typed_params(str(d["strategy"]), params)
    if args.symbols:
        d["symbols"] = split_symbols(args.symbols)
    elif isinstance(d.get("symbols"), str):
        d["symbols"] = split_symbols([d["symbols"]])
    for key in ("start", "end", "timeframe"):
        if getattr(args, key, None):
            d[key] = getattr(args, key)
    if args.data_dir:
        folder = Path(args.data_dir).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"--data-dir {args.data_dir!r}: no such folder")
        d["data_source"] = str(folder.resolve())
    cfg = d.get("config") or {}
    if not isinstance(cfg, (dict, BacktestConfig)):
        raise ConfigError(f"config: expected a mapping, got {cfg!r}")
    cfg = (cfg if isinstance(cfg, BacktestConfig) else BacktestConfig.from_dict(cfg)).to_dict()
    for dest, (section, name) in CONFIG_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            (cfg[section] if section else cfg)[name] = value.upper() if dest == "benchmark" else value
    d["config"] = cfg
    if getattr(args, "mode", None):
        d["mode"] = args.mode
    execution = {
        field: getattr(args, dest) for dest, field in EXECUTION_FLAGS.items() if getattr(args, dest, None) is not None
    }
    if execution:
        d["execution"] = {**(d.get("execution") or {}), **execution}
    return BacktestRequest.from_dict(d)


def lift_sections(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Move top-level `costs` / `risk` (the preset layout) into `config`; a field given in both with different
    values is a ConfigError naming it."""
    out = dict(values)
    cfg = out.get("config") or {}
    if not isinstance(cfg, dict) or not any(key in out for key in LIFTED_SECTIONS):
        return out
    cfg = dict(cfg)
    for section in LIFTED_SECTIONS:
        top = out.pop(section, None)
        if top is None:
            continue
        inner = cfg.get(section) or {}
        for label, block in ((section, top), (f"config.{section}", inner)):
            if not isinstance(block, dict):
                raise ConfigError(f"{where}: {label}: expected a mapping of field: value, got {block!r}")
        clash = sorted(k for k in set(top) & set(inner) if top[k] != inner[k])
        if clash:
            k = clash[0]
            raise ConfigError(
                f"{where}: {section}.{k} is given twice, {top[k]!r} at the top level and "
                f"{inner[k]!r} under config; keep one"
            )
        cfg[section] = {**inner, **top}
    out["config"] = cfg
    return out


def run(args: argparse.Namespace) -> int:
    request = build_request(args)
    result = run_request(request)
    out: dict[str, Any] = {"request": request.to_dict(), "metrics": metrics_json(result.metrics)}
    if request.config.fill == "same_close":
        out["fill_note"] = SAME_CLOSE_NOTE
    if result.benchmark_metrics:
        out["benchmark_metrics"] = metrics_json(result.benchmark_metrics)
    stop = result.stopped
    if stop is not None:
        out["stopped"] = {"time": stop.date, "bar": stop.bar, "reason": stop.reason}
    if args.save:
        key = reproducibility_key(request)
        out["run_id"] = RunStore().save(result, request, name=args.name, key=key)
        out["key"] = key.key
    if args.save_preset:
        out["preset"] = str(save_preset(Preset.from_request(args.save_preset, request)))
    cuts = constraint_cuts(request)  # portfolio_opt: every weight a constraint cut, with the constraint
    if cuts is not None:
        out["cuts"] = [
            {"time": _date(r.time), "symbol": r.symbol, "unconstrained": r.unconstrained, "weight": r.weight,
             "constraint": r.constraint}
            for r in cuts.itertuples()
        ]  # fmt: skip
    if result.warnings:  # e.g. a data gap: on stderr, and in the JSON
        out["warnings"] = list(result.warnings)
        print_warnings(result.warnings)
    if args.json:
        print_json(out)
        return 0
    first, last = result.equity.index[0], result.equity.index[-1]
    print(
        f"{request.strategy} {request.params} on {', '.join(request.symbols)}"
        f"{f' ({request.timeframe} bars)' if request.timeframe else ''}"
        f"{' in event mode' if request.is_event else ''}: {len(result.equity)} bars, "
        f"{_date(first)} .. {_date(last)}"
    )
    columns = {"strategy": result.metrics}
    if result.benchmark_metrics:
        columns[f"benchmark ({benchmark_label(result.benchmark)} buy & hold)"] = result.benchmark_metrics
    print(metrics_text(columns))
    if "fill_note" in out:
        print(f"note: fill=same_close is {SAME_CLOSE_NOTE}; not a tradable result")
    if stop is not None:
        print(f"trading stopped on {stop.date}: {stop.reason}; no new orders after it (positions held, stops active)")
    elif request.config.max_consecutive_losses is not None:
        print(f"consecutive-loss stop ({request.config.max_consecutive_losses} losing trades): never engaged")
    if cuts is not None:
        print(cuts_text(cuts))
    if "run_id" in out:
        print(f"saved run {out['run_id']} (key {out['key'][:16]})")
    if "preset" in out:
        print(f"saved preset {args.save_preset} -> {out['preset']}")
    return 0


def _date(ts: Any) -> str:
    """A bar's date, with its time of day when it is not midnight (intraday bars)."""
    if not hasattr(ts, "strftime"):
        return str(ts)
    return ts.strftime("%Y-%m-%d %H:%M" if (ts.hour, ts.minute) != (0, 0) else "%Y-%m-%d")


CUTS_SHOWN = 20


def cuts_text(cuts: Any) -> str:
    """The cut weights for the terminal: their count, then the first CUTS_SHOWN (all of them are in --json)."""
    if cuts.empty:
        return "weights cut by a constraint: none"
    rows = [
        f"  {_date(r.time)}  {r.symbol:<8} {r.unconstrained:8.2%} -> {r.weight:8.2%}  {r.constraint}"
        for r in cuts.head(CUTS_SHOWN).itertuples()
    ]
    more = f"\n  ... {len(cuts) - CUTS_SHOWN} more (--json lists every one)" if len(cuts) > CUTS_SHOWN else ""
    return f"weights cut by a constraint: {len(cuts)} (date, symbol, unconstrained -> final, constraint)\n" + (
        "\n".join(rows) + more
    )
