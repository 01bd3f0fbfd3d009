"""Reproducibility keys: the same key means the same request on the same data with the same engine version.

key = sha256 of `request_hash | data_hash | version`, where
- request_hash = sha256 of the request's canonical JSON: keys sorted, no whitespace, params completed with the
  strategy's defaults (so `{fast: 10}` and `{fast: 10, slow: 50}` hash alike), every number written as a
  float (so `100000` and `100000.0` hash alike), and without `data_source` (a folder path differs between
  machines; what matters is the data, which `data_hash` covers);
- data_hash = `engine.data.data_fingerprint` of the bars the request loads (the aligned arrays and index);
- version = `engine.__version__`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from engine import __version__
from engine.data import data_fingerprint
from engine.errors import EngineError
from engine.request import BacktestRequest, request_data
from engine.strategies.base import make_params
from engine.strategies.registry import get_strategy


@dataclass(frozen=True)
class ReproKey:
    """The reproducibility key of one run and the three hashes it is made of (hex sha256, version string)."""

    key: str
    request_hash: str
    data_hash: str
    version: str


def canonical_request(request: BacktestRequest) -> dict[str, Any]:
    """The request as a plain mapping normalized for hashing (see the module docstring)."""
    d = request.to_dict()
    d.pop("data_source", None)
    d["params"] = _full_params(request.strategy, d.get("params") or {})
    return _normalize(d)


def request_hash(request: BacktestRequest) -> str:
    """sha256 (hex) of the canonical JSON of `request`."""
    text = json.dumps(canonical_request(request), sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_key(request: BacktestRequest, data_hash: str, version: str | None = None) -> ReproKey:
    """Combine the request hash, a data fingerprint and the package version into a `ReproKey`."""
    if version is None:
        version = __version__
    rh = request_hash(request)
    key = hashlib.sha256(f"{rh}|{data_hash}|{version}".encode()).hexdigest()
    return ReproKey(key=key, request_hash=rh, data_hash=data_hash, version=str(version))


def reproducibility_key(request: BacktestRequest) -> ReproKey:
    """Load the request's bars (as `run_request` does: `request_data`, at its timeframe), fingerprint them and build
    the key."""
    return make_key(request, data_fingerprint(request_data(request)))


def _full_params(strategy: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Params completed with defaults and typed by the strategy's Params (as given if it cannot be resolved)."""
    try:
        return asdict(make_params(get_strategy(strategy).Params, params))
    except EngineError:
        return dict(params)


def _normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        v = float(value)
        return v if math.isfinite(v) else repr(v)
    if isinstance(value, Mapping):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _normalize(value.item())
    return str(value)
