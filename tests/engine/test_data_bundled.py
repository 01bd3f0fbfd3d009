"""The bundled sample: byte-identical to the manifest, and loaded with the manifest's rows and dates."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine.data import SAMPLE_DIR, BundledSource, load_market_data
from engine.data.sources import INTRADAY_DIR
from tests.engine.conftest_data import sample_rows

MANIFEST = json.loads((SAMPLE_DIR / "manifest.json").read_text())


def test_manifest_lists_exactly_the_bundled_files() -> None:
    assert len(MANIFEST) == 36
    assert sorted(e["file"] for e in MANIFEST) == sorted(p.name for p in SAMPLE_DIR.glob("*.csv"))
    intraday = json.loads((INTRADAY_DIR / "manifest.json").read_text())  # checked in test_timeframes_runs.py
    assert sorted(e["symbol"] for e in MANIFEST + intraday) == BundledSource().symbols()


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["symbol"] for e in MANIFEST])
def test_bundled_file_matches_manifest(entry: dict, home: Path) -> None:
    path = SAMPLE_DIR / entry["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    df = BundledSource().load(entry["symbol"])
    assert len(df) == entry["rows"]
    assert df.index[0].strftime("%Y-%m-%d") == entry["first_date"]
    assert df.index[-1].strftime("%Y-%m-%d") == entry["last_date"]


def test_spy_first_bar_is_the_adjusted_price_from_the_readme(home: Path) -> None:
    # README: SPY closes at 24.18 on 1993-01-29 (adjusted), not the quoted 43.94
    data = load_market_data(["SPY"], end="1993-01-29")
    first = sample_rows("SPY")[0]
    assert data.close["SPY"].iloc[0] == float(first["close"]) == pytest.approx(24.18, abs=0.005)


def test_data_readme_carries_the_caveats() -> None:
    text = (SAMPLE_DIR / "README.md").read_text().lower()
    for fact in (
        "guydekowski/market-lab",
        "auto_adjust=True",
        "split- and dividend-adjusted",
        "License",
        "Survivorship",
        "2026-06-09",
        "Volume is split-adjusted only",
    ):
        assert fact.lower() in text, fact


def test_no_test_reads_data_from_outside_the_repository() -> None:
    """Tests use the bundled copy (SAMPLE_DIR), so the suite runs on a clean clone anywhere."""
    outside = "/work/" + "shared"  # split so this file does not match itself
    tests_root = Path(__file__).resolve().parents[1]
    offenders = [str(p.relative_to(tests_root)) for p in sorted(tests_root.rglob("*.py")) if outside in p.read_text()]
    assert offenders == []
