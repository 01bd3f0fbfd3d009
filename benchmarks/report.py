"""Turn a harness `Run` into the console summary and benchmarks/RESULTS.md: the time table, IvyBT / peer
ratios, the issue-7 targets with PASS/FAIL, W5 floor, W6 throughput and memory, W7 scaling, first-call
latency, every engine's answers, versions and the machine."""

from __future__ import annotations

import datetime as dt
from typing import Any

from benchmarks.workloads import W5_BARS

IVY, VBT, BTPY = "IvyBT", "vectorbt", "backtesting.py"

# (row label, {engine: workload cell to read}); backtesting.py's W4 is the sum of its 36 per-symbol runs.
ROWS: list[tuple[str, dict[str, str]]] = [
    ("W1 single backtest", {IVY: "W1", VBT: "W1", BTPY: "W1"}),
    ("W2 W1 + 0.1% fee", {IVY: "W2", VBT: "W2", BTPY: "W2"}),
    ("W1 cold (gc.collect before each call)", {IVY: "W1 cold", VBT: "W1 cold", BTPY: "W1 cold"}),
    ("W2 cold (gc.collect before each call)", {IVY: "W2 cold", VBT: "W2 cold", BTPY: "W2 cold"}),
    ("W3 grid, 90 backtests (IvyBT every core)", {IVY: "W3", VBT: "W3", BTPY: "W3"}),
    ("W3 grid, 90 backtests (IvyBT 1 thread)", {IVY: "W3 1 thread", VBT: "W3", BTPY: "W3"}),
    ("W4 portfolio, 36 symbols", {IVY: "W4", VBT: "W4", BTPY: "W4 sleeves"}),
    ("W4 sim only", {IVY: "W4 sim", VBT: "W4 sim"}),
    ("W4 sleeves (36 x W1)", {IVY: "W4 sleeves", VBT: "W4 sleeves", BTPY: "W4 sleeves"}),
    ("W5 W1 on 1,000,000 bars", {IVY: "W5", VBT: "W5", BTPY: "W5"}),
    ("W6 grid, 50 x 50 SMA (IvyBT every core)", {IVY: "W6", VBT: "W6"}),
    ("W6 grid, 50 x 50 SMA (IvyBT 1 thread)", {IVY: "W6 1 thread", VBT: "W6"}),
]
GRIDS = {"W3", "W6", "W3 1 thread", "W6 1 thread"}
FUSED_LIMIT = 3.0
"""Issue 19 item 1: IvyBT's W5 / W7 time per bar at most this many times the fused floor's."""
FIRST_CALL_S = 0.5
"""Issue 19 item 4: a fresh process with a warm numba cache answers the first backtest (import + W1) within this."""


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def _cell_text(cell: Any) -> str:
    if cell is None:
        return "-"
    if cell.skipped:
        return f"skipped ({cell.skipped})"
    t = cell.timing
    text = f"{_fmt(t.median)} ({_fmt(t.best)})"
    if cell.workload in GRIDS and cell.outcome is not None:
        text += f" = {cell.outcome.count / t.median:,.0f}/s"
    return text


def _median(run: Any, workload: str, engine: str) -> float | None:
    cell = run.get(workload, engine)
    return cell.timing.median if cell is not None and cell.timing is not None else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def table(run: Any) -> tuple[list[str], list[list[str]]]:
    """Header and rows: median (best) per engine, then IvyBT / peer ratios of the medians."""
    peers = [e for e in run.engines if e != IVY]
    header = ["workload"] + [f"{e} median (best)" for e in run.engines] + [f"IvyBT / {e}" for e in peers]
    rows = []
    for label, cells in ROWS:
        row = [label] + [_cell_text(run.get(cells[e], e)) if e in cells else "n/a" for e in run.engines]
        ivy = _median(run, cells[IVY], IVY)
        for e in peers:
            r = _ratio(ivy, _median(run, cells[e], e)) if e in cells else None
            row.append(f"{r:.3f}" if r is not None else "-")
        rows.append(row)
    return header, rows


def targets(run: Any) -> list[tuple[str, str, str, bool | None]]:
    """(line, target, measured, ok) for each line of issue 7's table; ok None = not measured this run."""
    out: list[tuple[str, str, str, bool | None]] = []

    def ratio_line(name: str, w_ivy: str, w_peer: str, peer: str, limit: float, throughput: bool = False) -> None:
        r = _ratio(_median(run, w_ivy, IVY), _median(run, w_peer, peer))
        if throughput:
            value = 1 / r if r else None
            out.append(
                (
                    name,
                    f">= {limit:g} x {peer}'s backtests/s",
                    f"{value:.2f} x" if value else "not measured",
                    value >= limit if value else None,
                )
            )
        else:
            out.append(
                (
                    name,
                    f"<= {limit:g} x {peer}'s time",
                    f"{r:.3f} x" if r else "not measured",
                    r <= limit if r else None,
                )
            )

    ratio_line("W1", "W1", "W1", VBT, 0.5)
    ratio_line("W2", "W2", "W2", VBT, 0.5)
    ratio_line("W3", "W3", "W3", VBT, 3, throughput=True)
    ratio_line("W4", "W4", "W4", VBT, 1)
    ratio_line("W5 vs vectorbt", "W5", "W5", VBT, 1)
    floor = run.floor.timing.median if run.floor and run.floor.timing else None
    r = _ratio(_median(run, "W5", IVY), floor)
    out.append(
        ("W5 vs numpy floor", "<= 2 x the numpy floor", f"{r:.2f} x" if r else "not measured", r <= 2 if r else None)
    )
    out += fused_floor_targets(run)
    ratio_line("W6", "W6", "W6", VBT, 3, throughput=True)
    paired = getattr(run, "paired", {})
    for workload in ("W3", "W6"):  # issue 19 item 2, with issue 19 item 5's two rows: every core and one thread
        for ours, who in ((workload, "every core"), (f"{workload} 1 thread", "1 thread")):
            name = f"issue 19: {workload}, IvyBT {who}"
            pair = paired.get(f"{ours} vs vectorbt")
            if pair is None:
                ratio_line(name, ours, workload, VBT, 10, throughput=True)
                continue
            value = 1 / pair.ratio  # vectorbt's time over IvyBT's = IvyBT's backtests/s over vectorbt's
            out.append((name, f">= 10 x {VBT}'s backtests/s", f"{value:.2f} x{_paired_note(pair)}", value >= 10))
    mem = run.memory.get(IVY)
    out.append(
        (
            "W6 peak memory",
            "< 2 GiB",
            f"{mem['peak_mib']:,.0f} MiB peak RSS" if mem else "not measured",
            mem["peak_mib"] < 2048 if mem else None,
        )
    )
    for label, w_ivy, w_peer in (
        ("W1", "W1", "W1"),
        ("W2", "W2", "W2"),
        ("W3", "W3", "W3"),
        ("W4", "W4", "W4 sleeves"),
        ("W5", "W5", "W5"),
    ):
        r = _ratio(_median(run, w_peer, BTPY), _median(run, w_ivy, IVY))
        out.append(
            (
                f"{label} vs backtesting.py",
                ">= 50 x faster",
                f"{r:.1f} x" if r else "not measured",
                r >= 50 if r else None,
            )
        )
    for label, what in (
        ("cold", "empty numba cache (interpreter tier, compiling in the background)"),
        ("warm", "numba cache warm (interpreted until loading the cache pays)"),
        ("cold, compiled", "empty numba cache, IVYBT_JIT=compiled (JIT compiled in the call)"),
    ):
        lat = run.latency.get(label)
        first = lat["import"] + lat["first_call"] if lat else None
        judged = label != "cold, compiled"  # opt-in mode: reported, not the path a first call takes
        out.append(
            (
                f"first call, fresh process, {what}",
                "< 2 s" if judged else "reported (opt-in mode)",
                f"{first:.2f} s (import + first W1)" if lat else "not measured",
                first < 2 if lat and judged else None,
            )
        )
    vbt_w6 = _median(run, "W6", VBT)
    vbt_rate = run.get("W6", VBT).outcome.count / vbt_w6 if vbt_w6 else None
    from benchmarks.grid_memory import GIB, TARGET_MIB

    for row in getattr(run, "grid10k", []):
        who = "1 thread" if row.get("threads") == 1 else "every core"
        ok = "error" not in row
        limit = TARGET_MIB[row["row"]]
        out.append(
            (
                f"issue 19: {row['row']} grid peak memory, IvyBT {who}",
                f"< {limit / GIB:g} GiB peak RSS",
                f"{row['peak_mib']:,.0f} MiB" if ok else f"failed: {row['error']}",
                row["peak_mib"] < limit if ok else False,
            )
        )
        rate = row["sets"] / row["seconds"] if ok else None
        out.append(
            (
                f"issue 19: {row['row']} grid, IvyBT {who}",
                "reported: >= 10 x vectorbt (its grid of this size is not run; ratio to its W6 rate)",
                f"{rate:,.0f}/s = {rate / vbt_rate:.2f} x vectorbt's W6 {vbt_rate:,.0f}/s"
                if rate and vbt_rate
                else (f"{rate:,.0f}/s" if rate else "not measured"),
                None,
            )
        )
    out += batch_targets(getattr(run, "batches", {}))
    warm = run.latency.get("warm")
    first = warm["import"] + warm["first_call"] if warm else None
    out.append(
        (
            "issue 19: first call, fresh process, numba cache warm",
            f"< {FIRST_CALL_S:g} s",
            f"{first:.2f} s (import {warm['import']:.2f} + first W1 {warm['first_call']:.2f})"
            if warm
            else "not measured",
            first < FIRST_CALL_S if warm else None,
        )
    )
    return out


def batch_targets(batches: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """Issue 19 item 3 from benchmarks.batch_speedup's probe: speed-up of 2 workers over 1 (and 4 where the machine
    has them, reported), Dask / local at each worker count."""
    if not batches:
        return []
    if "error" in batches:
        return [("issue 19: batches", "measured", f"failed: {batches['error']}", False)]
    from benchmarks.batch_speedup import ratio_lines

    out: list[tuple[str, str, str, bool | None]] = []
    for what, ratio, target, ok in ratio_lines(batches):
        speedup = "speed-up" in what
        goal = "reported" if target is None else f"{'>=' if speedup else '<='} {target:g}{' x' if speedup else ''}"
        out.append((f"issue 19: batch, {what}", goal, f"{ratio:.2f}{' x' if speedup else ''}", ok if target else None))
    return out


def fused_floor_targets(run: Any) -> list[tuple[str, str, str, bool | None]]:
    """Issue 19 item 1: W5 and W7 (1M, 10M bars) per-bar cost within FUSED_LIMIT x the fused floor of the same
    bars (benchmarks.fused_floor: signals, next-open fills with costs and equity in one compiled pass)."""
    out: list[tuple[str, str, str, bool | None]] = []
    fused = run.fused.timing.median if getattr(run, "fused", None) and run.fused.timing else None
    ivy = _median(run, "W5", IVY)
    target = f"<= {FUSED_LIMIT:g} x the fused floor"
    paired = getattr(run, "paired", {})
    pair = paired.get("W5 fused")
    r = pair.ratio if pair else _ratio(ivy, fused)
    if pair:
        a, b = pair.a.median * 1e3, pair.b.median * 1e3
        measured = f"{r:.2f} x ({a:.1f} vs {b:.1f} ms{_paired_note(pair, ';')})"
    else:
        measured = f"{r:.2f} x ({ivy * 1e3:.1f} vs {fused * 1e3:.1f} ms)" if r else "not measured"
    out.append(("issue 19: W5 within 3 x the fused floor", target, measured, r <= FUSED_LIMIT if r else None))
    rows = {w["bars"]: w for w in run.w7 if "floor_ns" in w}
    for bars, label in ((1_000_000, "1M"), (10_000_000, "10M")):
        w = rows.get(bars)
        pair = paired.get(f"W7 {bars}")
        r = (pair.ratio if pair else w["per_bar_ns"] / w["floor_ns"]) if w else None
        note = _paired_note(pair, ";") if pair else ""
        measured = f"{r:.2f} x ({w['per_bar_ns']:.1f} vs {w['floor_ns']:.1f} ns/bar{note})" if w else "not measured"
        out.append(
            (f"issue 19: W7 {label} bars within 3 x the fused floor", target, measured, r <= FUSED_LIMIT if r else None)
        )
    return out


def _paired_note(pair: Any, sep: str = "") -> str:
    """How a paired ratio was measured (benchmarks.timing.measure_pair)."""
    return f"{sep} median of {pair.rounds} alternate rounds" if sep else f" (median of {pair.rounds} alternate rounds)"


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def _answers(run: Any) -> list[str]:
    lines = []
    for (workload, engine), cell in run.cells.items():
        if cell.outcome is not None:
            lines.append(f"{workload:<16} {engine:<15} {cell.outcome.short()}")
    if run.floor and run.floor.outcome:
        lines.append(f"{'W5':<16} {'numpy floor':<15} {run.floor.outcome.short()}")
    if getattr(run, "fused", None) and run.fused.outcome:
        lines.append(f"{'W5':<16} {'fused floor':<15} {run.fused.outcome.short()}")
    return lines


def _extras(run: Any) -> list[str]:
    lines = []
    if run.floor and run.floor.timing:
        lines.append(
            f"W5 numpy floor (numpy-only W1, cumulative-sum SMAs): median {_fmt(run.floor.timing.median)}"
            f" (best {_fmt(run.floor.timing.best)})"
        )
    fused = getattr(run, "fused", None)
    if fused and fused.timing:
        lines.append(
            "W5 fused floor (benchmarks.fused_floor: SMAs, crossover, next-open fills with costs, equity and rule-7 "
            f"metrics in one compiled pass): median {_fmt(fused.timing.median)} (best {_fmt(fused.timing.best)}) "
            f"= {fused.timing.median / W5_BARS * 1e9:.1f} ns/bar"
        )
    for engine, mem in run.memory.items():
        lines.append(
            f"W6 {engine}: {mem['count']} backtests in {mem['seconds']:.2f} s (fresh process), peak RSS "
            f"{mem['peak_mib']:,.0f} MiB, baseline {mem['baseline_mib']:,.0f} MiB, "
            f"delta {mem['delta_mib']:,.0f} MiB"
        )
    cell = run.get("W6", IVY)
    if cell and cell.outcome:
        lines.append(
            f"W6 grid: {cell.outcome.count} backtests ({cell.outcome.skipped} of 2,500 cells skipped with fast >= slow)"
        )
    if run.settings.get("grid_threads"):
        lines.append(
            f"Grid threads: IvyBT 'every core' = {run.settings['grid_threads']}; '1 thread' = run_grid(workers=1) "
            "with numba.set_num_threads(1) for the call; vectorbt's and backtesting.py's grids run on one thread. "
            "Both IvyBT rows start from the pandas frame (MarketData conversion timed); a difference in their "
            "numbers is a wrong number."
        )
    if getattr(run, "grid10k", None):
        from benchmarks.grid_memory import line

        lines += [f"10k grid (benchmarks.grid_memory, fresh process): {line(r)}" for r in run.grid10k]
    batches = getattr(run, "batches", {})
    if batches.get("rows"):
        times = ", ".join(f"{r['runner']} x{r['workers']} {r['seconds']:.2f} s" for r in batches["rows"])
        lines.append(
            f"batches (benchmarks.batch_speedup, fresh process): {batches['batch']}, best of {batches['repeat']} on "
            f"a warmed runner ({batches['cores']} cores; load {batches['load_before']} before, "
            f"{batches['load_after']} after): {times}"
        )
    if run.w7:
        parts = [
            f"{w['bars']:,} bars {w['median']:.3f} s = {w['per_bar_ns']:.1f} ns/bar (n={w['n']})"
            + (f", fused floor {w['floor_ns']:.1f} ns/bar" if "floor_ns" in w else "")
            for w in run.w7
        ]
        lines.append("W7 IvyBT W1 scaling: " + "; ".join(parts))
        if len(run.w7) == 2:
            lines.append(
                f"W7 time ratio 10M / 1M = {run.w7[1]['median'] / run.w7[0]['median']:.2f} "
                f"(linear = {run.w7[1]['bars'] / run.w7[0]['bars']:.0f})"
            )
    for label, lat in run.latency.items():
        tier = f"; {lat['interpreted_s']:.2f} s of both calls interpreted" if lat.get("interpreted_s") else ""
        lines.append(
            f"first call, fresh process, {label} numba cache: import {lat['import']:.2f} s"
            + (f" (pandas alone {lat['import_pandas']:.2f} s)" if "import_pandas" in lat else "")
            + " + "
            f"first W1 {lat['first_call']:.2f} s{tier} (second call {lat['second_call'] * 1e3:.1f} ms; "
            f"data {lat['load'] * 1e3:.0f} ms; whole process {lat['process_wall']:.2f} s)"
            + (
                f"; background warm-up done {lat['background_warmup_s']:.1f} s later"
                if "background_warmup_s" in lat
                else ""
            )
            + (
                f"; median of {len(lat['runs'])} processes, import + first W1 of each: "
                + ", ".join(f"{r:.2f}" for r in lat["runs"])
                + " s"
                if lat.get("runs")
                else ""
            )
        )
    return lines


def console(run: Any) -> str:
    """Plain-text summary for the terminal."""
    header, rows = table(run)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    out = ["", fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    out += ["", "Targets (issues 7 and 19; medians of this run):"]
    for name, target, measured, ok in targets(run):
        out.append(f"  {_verdict(ok):<4}  {name:<40} {target:<32} {measured}")
    out += [""] + _extras(run) + run.notes
    out += ["", "Answers:"] + [f"  {a}" for a in _answers(run)]
    out.append("")
    out.append(
        "correctness: "
        + (
            "all engines reproduce the reference / agree"
            if not run.problems
            else f"{len(run.problems)} WRONG NUMBER(S)"
        )
    )
    return "\n".join(out)


def markdown(run: Any) -> str:
    """benchmarks/RESULTS.md (generated; do not edit by hand)."""
    header, rows = table(run)
    md = [
        "# Benchmark results (generated by `make bench`)",
        "",
        f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; "
        f"timed calls per cell: {run.settings.get('repeats')} after one warm-up"
        f"{' (--quick: slowest backtesting.py cells skipped)' if run.settings.get('quick') else ''}; "
        f"peer calls over {run.settings.get('timeout'):.0f} s skipped. Times are medians (best in brackets); "
        "ratios are IvyBT median / peer median (< 1 = IvyBT faster). Workloads: ../shared/bench/WORKLOADS.md.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    md += ["", "## Targets (issues 7 and 19)", "", "| line | target | measured | verdict |", "|---|---|---|---|"]
    md += [f"| {n} | {t} | {m} | {_verdict(ok)} |" for n, t, m, ok in targets(run)]
    md += ["", "## W5 floor, W6, W7, first-call latency", ""] + [f"- {line}" for line in _extras(run)]
    md += [
        "",
        "Peak memory is the peak resident set size (`VmHWM` in /proc/self/status) of a fresh process that "
        "imported the engine and ran a 4-cell grid (baseline), then the W6 grid once; delta = peak - baseline.",
        "",
    ]
    md += [
        "## Correctness",
        "",
        "W1-W4 against the WORKLOADS reference numbers (one unit of the last printed digit); W4 sleeves, W5 "
        "and W6 engines against IvyBT (relative 1e-9; backtesting.py trades whole 1e-6-share units: "
        "1e-6 on W5, 1e-4 on W4's 2,778-dollar sleeves); W5 also against the numpy and the fused floor, W7 against "
        "the fused floor.",
        "",
        "**All engines reproduce the reference results.**" if not run.problems else "**WRONG NUMBERS:**",
        "",
    ]
    md += [f"- {p}" for p in run.problems]
    md += ["```"] + _answers(run) + ["```", ""]
    md += ["## Versions and machine", ""]
    md += ["- " + ", ".join(f"{k} {v}" for k, v in run.versions.items())]
    m = run.machine
    md += [f"- {m['cpu']}, {m['cores']} logical cores, {m['memory']} memory, {m['os']}, Python {m['python']}"]
    md += [f"- {n}" for n in run.notes]
    return "\n".join(md) + "\n"
