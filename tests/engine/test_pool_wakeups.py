"""The process pool's manager never loses a wake-up: thousands of calls submitted to an idle pool one pair at a
time all finish (a lost wake-up left every later call waiting forever). Runs in a child process with a deadline,
so a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = textwrap.dedent(
    """
    import operator

    from engine.research.pool import ProcessPool

    if __name__ == "__main__":
        with ProcessPool(2) as pool:
            for i in range(2000):
                futures = [pool.submit_call(operator.add, i, 1), pool.submit_call(operator.mul, i, 2)]
                assert [f.result(timeout=20) for f in futures] == [i + 1, i * 2]
        print("all 4000 calls answered")
    """
)


@pytest.mark.slow
def test_pool_answers_thousands_of_calls_submitted_to_an_idle_pool(tmp_path):
    script = tmp_path / "calls.py"
    script.write_text(SCRIPT)
    try:
        done = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=90, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the pool stopped answering (a lost wake-up): the child did not finish within 90 s")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "all 4000 calls answered"
