"""Smoke test of an installed IvyBT (a wheel in a fresh venv, or the Docker image), run from outside any checkout.

Proves the packages find what they ship in site-packages: a backtest on the bundled sample data, a backtest of a
shipped preset (copied into the workspace's presets/ on first use), and the app's home page (Streamlit's AppTest
of APP_DIR/app.py, as the Docker image serves it). Exit 0 and one `smoke ok` line, or an AssertionError.

Usage: python scripts/smoke_install.py APP_DIR    (APP_DIR holds app.py and pages/; the workspace is a temp dir)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def ivybt(*args: str, cwd: Path) -> dict:
    """`ivybt ARGS --json` of this interpreter's environment; its JSON output."""
    exe = Path(sys.executable).parent / "ivybt"
    proc = subprocess.run([str(exe), *args, "--json"], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert proc.returncode == 0, f"ivybt {' '.join(args)} exited {proc.returncode}: {proc.stderr}"
    return json.loads(proc.stdout)


def main(app_dir: Path) -> int:
    home = Path(tempfile.mkdtemp(prefix="ivybt-smoke-"))
    os.environ["IVYBT_HOME"] = str(home / "workspace")
    os.environ.pop("IVYBT_PRESETS", None)
    os.chdir(home)
    try:
        return smoke(app_dir, home)
    finally:
        os.chdir(app_dir)
        shutil.rmtree(home, ignore_errors=True)


def smoke(app_dir: Path, home: Path) -> int:
    """The three checks, in the throw-away workspace `home`."""

    import engine
    from engine.data import SAMPLE_DIR
    from engine.store.workspace import source_checkout

    assert not source_checkout(), f"engine is imported from a source checkout ({engine.__file__}), not an install"
    assert (SAMPLE_DIR / "SPY.csv").is_file(), f"bundled sample data missing in {SAMPLE_DIR}"

    sample = ivybt("backtest", "--strategy", "sma_cross", "--symbols", "SPY", cwd=home)
    assert sample["metrics"]["n_trades"] > 0, sample["metrics"]
    presets = [p["name"] for p in ivybt("presets", "list", cwd=home)["presets"]]
    assert "spy_trend" in presets, presets
    preset = ivybt("backtest", "--preset", "spy_trend", cwd=home)
    assert preset["request"]["strategy"] and preset["metrics"]["n_trades"] > 0, preset["request"]

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(app_dir / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["IvyBT"], [t.value for t in at.title]
    symbols = {m.label: m.value for m in at.metric}.get("Symbols")
    assert symbols is not None and int(symbols) > 0, [(m.label, m.value) for m in at.metric]

    print(
        f"smoke ok: engine from {Path(engine.__file__).parent}, sample backtest {sample['metrics']['n_trades']:.0f} "
        f"trades, presets {presets}, home page with {symbols} symbols"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]).resolve()))
