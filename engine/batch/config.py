"""Batch YAML files -> validated `Batch` of `JobSpec`s, or one error naming the file, line and field.

A file holds `defaults` (merged under every job), a list of `jobs` and/or a `matrix` (strategies x symbol
sets). Everything is checked before anything runs: YAML syntax, structure and types (pydantic models in
`engine.batch.models`), then what needs the engine (strategy names, parameter values and rules such as
fast < slow, optimization ranges, symbols the data source has, metric names). Each problem is located by
walking the YAML node tree from `yaml.compose` (its marks hold the lines) along the pydantic error location;
a value inherited from `defaults` or from the matrix is reported where it is written.

Example:
    name: crossovers
    defaults: {start: 2015-01-01, config: {costs: {commission_bps: 5}}}
    jobs:
      - {strategy: sma_cross, symbols: [SPY], params: {fast: 10, slow: 50}}
    matrix:
      strategies: [sma_cross, {strategy: ema_cross, params: {fast: 12, slow: 26}}]
      symbols: [[SPY], [QQQ, IWM]]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.batch.models import BatchJobConfig, JobModel
from engine.batch.spec import DEFAULT_OBJECTIVE, Batch, JobSpec
from engine.config import BacktestConfig
from engine.data import available_symbols
from engine.errors import ConfigError, EngineError
from engine.metrics import METRIC_NAMES
from engine.request import BacktestRequest
from engine.sim.grid import expand_grid
from engine.strategies.base import _coerce, make_params, param_specs
from engine.strategies.registry import get_strategy
from engine.validation import is_branch_tag

Loc = tuple[Any, ...]
_MERGED = ("params", "config", "optimize", "walkforward", "montecarlo")
_MAX_CHECKED_SETS = 200_000  # parameter sets validated against the strategy's rules before a run


@dataclass(frozen=True)
class BatchIssue:
    """One problem in a batch file: 1-based line, the field's path in the file, and what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}, field {self.field}: {self.message}"


class BatchConfigError(ConfigError):
    """A batch file is invalid; `issues` lists every problem found (file, line, field, message)."""

    def __init__(self, issues: Sequence[BatchIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def load_batch(path: str | PathLike[str]) -> Batch:
    """Read and validate a batch YAML file (errors name the file, line and field)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"batch file {str(path)!r} not found")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"batch file {p}: cannot read it: {e}") from None
    return parse_batch(text, str(path))


def parse_batch(text: str, filename: str = "<batch>", *, check_symbols: bool = True) -> Batch:
    """Validate batch YAML `text` (named `filename` in errors) and expand it into jobs.

    check_symbols: also check that the data source lists every symbol (off for a cluster whose workers see
    data this machine does not).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if context and cmark is not None and mark is not None and cmark.line != mark.line:
            problem += f" ({context} started at line {cmark.line + 1})"
        line = mark.line + 1 if mark is not None else 1
        col = f", column {mark.column + 1}" if mark is not None else ""
        raise BatchConfigError([BatchIssue(filename, line, "(syntax)", f"malformed YAML{col}: {problem}")]) from None
    except ValueError as e:  # a scalar YAML types but cannot build, such as the date 2020-13-45
        raise BatchConfigError(_bad_scalars(filename, root, e)) from None
    if values is None:
        raise BatchConfigError(
            [BatchIssue(filename, 1, "jobs", "the file is empty: add a `jobs:` list or a `matrix:`")]
        )
    if not isinstance(values, dict):
        raise BatchConfigError(
            [
                BatchIssue(
                    filename,
                    1,
                    "(top level)",
                    f"expected a mapping with `jobs:` or `matrix:`, got {type(values).__name__}",
                )
            ]
        )
    where = _Locator(filename, root)
    top_layer = [{k: (k,) for k in values}]
    try:
        top = BatchJobConfig.model_validate(values)
    except ValidationError as e:
        raise BatchConfigError(where.pydantic(e, top_layer, ())) from None
    if not top.jobs and top.matrix is None:
        message = (
            "no jobs: add a `jobs:` list or a `matrix:`"
            if top.jobs is None
            else "the jobs list is empty: add at least one job"
        )
        raise BatchConfigError([where.issue(("jobs",), (), message, top_layer)])
    issues: list[BatchIssue] = []
    jobs: list[JobSpec] = []
    for draft in _drafts(values, top):
        issues += _check(draft, where, jobs, check_symbols)
    if issues:
        raise BatchConfigError(_unique(issues))
    name = top.name or Path(filename).stem
    return Batch(name=name, jobs=tuple(_renamed(jobs)), source=filename, text=text, max_attempts=top.max_attempts)


def _bad_scalars(filename: str, root: yaml.Node, error: ValueError) -> list[BatchIssue]:
    """An issue per scalar that `yaml.safe_load` cannot construct (dates like 2020-02-30), or one for the file."""
    issues = [
        BatchIssue(filename, node.start_mark.line + 1, _path_text(path), message)
        for path, node, message in _walk_dates(root, ())
    ]
    return issues or [BatchIssue(filename, 1, "(syntax)", f"cannot read a value: {error}")]


def _walk_dates(node: yaml.Node, path: Loc) -> Iterable[tuple[Loc, yaml.Node, str]]:
    """(path, node, message) of every date scalar under `node` that is not a real calendar date."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _walk_dates(value, path + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk_dates(item, path + (i,))
    elif node.tag == "tag:yaml.org,2002:timestamp":
        try:
            yaml.SafeLoader("").construct_yaml_timestamp(node)
        except ValueError as e:
            yield path, node, f"{node.value!r} is not a valid date: {e}"


# --- expansion -------------------------------------------------------------------------------------------


@dataclass
class _Draft:
    """One job before validation: merged values and, per top-level field, the YAML paths that may hold it."""

    values: dict[str, Any]
    layers: list[dict[str, Loc]]  # precedence order
    home: Loc  # the job's own node (for fields it lacks)
    label: str


def _drafts(values: Mapping[str, Any], top: BatchJobConfig) -> list[_Draft]:
    defaults = dict(values.get("defaults") or {})
    dlayer = {k: ("defaults", k) for k in defaults}
    out = []
    for i, job in enumerate(values.get("jobs") or []):
        job = dict(job)
        out.append(_Draft(_merge(defaults, job), [{k: ("jobs", i, k) for k in job}, dlayer], ("jobs", i), f"jobs[{i}]"))
    if top.matrix is not None:
        raw = dict(values["matrix"])
        common = {k: v for k, v in raw.items() if k not in ("strategies", "symbols")}
        clayer = {k: ("matrix", k) for k in common}
        for s, entry in enumerate(raw["strategies"]):
            slayer: dict[str, Loc]
            if isinstance(entry, str):
                head, slayer = {"strategy": entry}, {"strategy": ("matrix", "strategies", s)}
            else:
                head = dict(entry)
                slayer = {k: ("matrix", "strategies", s, k) for k in head}
            for y, syms in enumerate(raw["symbols"]):
                merged = _merge(_merge(defaults, common), {**head, "symbols": syms})
                layers: list[dict[str, Loc]] = [slayer, {"symbols": ("matrix", "symbols", y)}, clayer, dlayer]
                out.append(_Draft(merged, layers, ("matrix",), f"matrix[{s}][{y}]"))
    return out


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


# --- checks ----------------------------------------------------------------------------------------------


def _check(draft: _Draft, where: _Locator, jobs: list[JobSpec], check_symbols: bool) -> list[BatchIssue]:
    try:
        job = JobModel.model_validate(draft.values)
    except ValidationError as e:
        return where.pydantic(e, draft.layers, draft.home)
    problems = list(_engine_problems(job, check_symbols))
    if problems:
        return [where.issue(loc, draft.home, msg, draft.layers) for loc, msg in problems]
    try:
        jobs.append(_to_spec(job))
    except EngineError as e:
        field = "start" if "start" in str(e) or "end" in str(e) else "symbols"
        return [where.issue((field,), draft.home, str(e), draft.layers)]
    return []


def _engine_problems(job: JobModel, check_symbols: bool) -> Iterable[tuple[Loc, str]]:
    """What pydantic cannot know: strategy names, parameter values and rules, symbols, metric names."""
    try:
        cls = get_strategy(job.strategy)
    except EngineError as e:
        yield ("strategy",), str(e)
        return
    specs = {s.name: s for s in param_specs(cls.Params)}
    bad = False
    for name, value in job.params.items():
        if name not in specs:
            bad = True
            yield ("params", name), f"unknown parameter {name!r} of {job.strategy}; expected some of {sorted(specs)}"
            continue
        try:
            _coerce(specs[name], value)
        except ConfigError as e:
            bad = True
            yield ("params", name), str(e)
    ranges = (job.optimize.ranges if job.optimize else None) or {}
    for name, values in ranges.items():
        if name not in specs:
            bad = True
            yield (
                ("optimize", "ranges", name),
                (f"unknown parameter {name!r} of {job.strategy}; expected some of {sorted(specs)}"),
            )
            continue
        for i, value in enumerate(values):
            try:
                _coerce(specs[name], value)
            except ConfigError as e:
                bad = True
                yield ("optimize", "ranges", name, i), str(e)
    if not bad and not ranges and job.kind in ("backtest", "montecarlo"):
        try:
            make_params(cls.Params, job.params)
        except ConfigError as e:
            yield ("params",), str(e)
    if (
        job.kind in ("optimize", "walkforward")
        and not ranges
        and not any(s.grid() != [s.default] for n, s in specs.items() if n not in job.params)
    ):
        yield ("optimize", "ranges"), f"{job.strategy} has no parameter to search: give optimize.ranges"
    elif job.kind in ("optimize", "walkforward") and not bad:
        yield from _grid_problems(job, cls, specs)
    if job.kind == "walkforward" and job.walkforward is None:
        yield ("walkforward",), "a walkforward job needs `walkforward: {in_sample: 3Y, out_of_sample: 1Y}`"
    for loc, metric in (
        (("objective",), job.objective),
        (("optimize", "objective"), job.optimize.objective if job.optimize else None),
    ):
        if metric is not None and metric not in METRIC_NAMES:
            yield loc, f"unknown metric {metric!r}; expected one of {sorted(METRIC_NAMES)}"
    for name in (job.optimize.constraints if job.optimize else None) or {}:
        if name not in METRIC_NAMES:
            yield ("optimize", "constraints", name), f"unknown metric {name!r}; expected one of {sorted(METRIC_NAMES)}"
    if check_symbols:
        yield from _symbol_problems(job)


def _grid_problems(job: JobModel, cls: type, specs: Mapping[str, Any]) -> Iterable[tuple[Loc, str]]:
    """An optimization whose every parameter set the strategy rejects (fast: [60], slow: [10])."""
    ranges = (job.optimize.ranges if job.optimize else None) or {}
    fixed = {k: _coerce(specs[k], v) for k, v in job.params.items() if k not in ranges}
    if ranges:
        space = {n: [_coerce(specs[n], v) for v in values] for n, values in ranges.items()}
    else:  # the optimizer searches the default grid of every parameter not fixed by `params`
        space = {n: s.grid() for n, s in specs.items() if n not in fixed}
    if math.prod(len(v) for v in space.values()) > _MAX_CHECKED_SETS:
        return  # too many to check here; the optimizer reports it
    try:
        expand_grid(space, fixed, cls)
    except ConfigError as e:
        yield ("optimize", "ranges") if ranges else ("params",), str(e)


def _symbol_problems(job: JobModel) -> Iterable[tuple[Loc, str]]:
    try:
        known = set(available_symbols(job.data_source))
    except EngineError as e:
        yield ("data_source",), str(e)
        return
    for i, sym in enumerate(job.symbols):
        if sym not in known:
            yield ("symbols", i), f"no data for symbol {sym!r} in {job.data_source or 'the default data source'}"


def _to_spec(job: JobModel) -> JobSpec:
    config = BacktestConfig.from_dict(job.config.model_dump(exclude_none=True)) if job.config else BacktestConfig()
    request = BacktestRequest(
        strategy=job.strategy,
        params=job.params,
        symbols=tuple(job.symbols),
        start=job.start,
        end=job.end,
        config=config,
        data_source=job.data_source,
    )
    optimize = job.optimize.model_dump(exclude_none=True) if job.optimize else {}
    objective = job.objective or optimize.get("objective") or DEFAULT_OBJECTIVE
    name = job.name or f"{job.kind}-{job.strategy}-{'+'.join(request.symbols)}"
    return JobSpec(
        name=name,
        kind=job.kind,
        request=request,
        optimize=optimize,
        walkforward=job.walkforward.model_dump(exclude_unset=True) if job.walkforward else {},
        montecarlo=job.montecarlo.model_dump(exclude_none=True) if job.montecarlo else {},
        objective=objective,
        artifacts=job.artifacts,
        maximize=job.maximize,
    )


def _renamed(jobs: list[JobSpec]) -> list[JobSpec]:
    """Repeated job names get a suffix (#2, #3, ...) so every job is told apart in listings."""
    seen: dict[str, int] = {}
    out = []
    for job in jobs:
        n = seen.get(job.name, 0)
        seen[job.name] = n + 1
        out.append(job if n == 0 else replace(job, name=f"{job.name}#{n + 1}"))
    return out


def _unique(issues: list[BatchIssue]) -> list[BatchIssue]:
    seen, out = set(), []
    for i in issues:
        if (i.line, i.field, i.message) not in seen:
            seen.add((i.line, i.field, i.message))
            out.append(i)
    return out


# --- locations -------------------------------------------------------------------------------------------


class _Locator:
    """Maps a field location (pydantic's `loc`, or ours) to the YAML line that holds it."""

    def __init__(self, filename: str, root: yaml.Node) -> None:
        self.filename, self.root = filename, root

    def pydantic(self, error: ValidationError, layers: list[dict[str, Loc]], home: Loc) -> list[BatchIssue]:
        out = []
        for err in error.errors():
            loc = tuple(p for p in err["loc"] if not is_branch_tag(p))
            msg = err["msg"]
            if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
                msg = f"unknown field {loc[-1]!r}"
            elif err["type"] == "value_error" and "error" in err.get("ctx", {}):
                msg = str(err["ctx"]["error"])  # our validators' messages already carry the wrong value
            elif err["type"] != "missing" and "input" in err and not isinstance(err["input"], (dict, list)):
                msg = f"{msg} (got {err['input']!r})"
            out.append(self.issue(loc, home, msg, layers))
        return out

    def issue(self, loc: Loc, home: Loc, message: str, layers: list[dict[str, Loc]] | None = None) -> BatchIssue:
        """The issue for field `loc` of the job at `home`, found in the first layer that holds it."""
        best: tuple[int, Loc, yaml.Node] | None = None
        for layer in layers or [{}]:
            if loc and loc[0] in layer:
                path = layer[loc[0]] + tuple(loc[1:])
                node, depth = self._node(path)
                matched = depth - len(layer[loc[0]]) + 1
                if best is None or matched > best[0]:
                    best = (matched, path[:depth], node)
        if best is None:  # a field the job does not have (missing): point at the job itself
            node, depth = self._node(home)
            return BatchIssue(self.filename, node.start_mark.line + 1, _path_text(home + tuple(loc)), message)
        matched, found, node = best
        shown = found + tuple(loc[matched:]) if matched < len(loc) else found
        return BatchIssue(self.filename, node.start_mark.line + 1, _path_text(shown), message)

    def _node(self, path: Loc) -> tuple[yaml.Node, int]:
        """The deepest node along `path` (a mapping key's own node for a key) and how many steps matched."""
        node, depth = self.root, 0
        for step in path:
            if isinstance(node, yaml.MappingNode):
                hit = next(((k, v) for k, v in node.value if k.value == str(step)), None)
                if hit is None:
                    break
                key, value = hit
                node = value if depth < len(path) - 1 else _key_or_value(key, value)
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
                node = node.value[step]
            else:
                break
            depth += 1
        return node, depth


def _key_or_value(key: yaml.Node, value: yaml.Node) -> yaml.Node:
    """The last step's node: the key (its line names the field) unless the value starts on the same line."""
    return value if value.start_mark.line == key.start_mark.line else key


def _path_text(path: Loc) -> str:
    text = ""
    for p in path:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text or "(top level)"


def validate_text(text: str, filename: str = "<batch>") -> tuple[Batch | None, list[BatchIssue]]:
    """For editors: the batch and no issues, or None and every issue (never raises BatchConfigError)."""
    try:
        return parse_batch(text, filename), []
    except BatchConfigError as e:
        return None, e.issues


__all__ = ["BatchConfigError", "BatchIssue", "load_batch", "parse_batch", "validate_text"]
