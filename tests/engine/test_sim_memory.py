"""engine.sim.memory: with IVYBT_RETAIN_MB a freed block stays resident for the next run; 0 hands it back; a bad
value is one clear error. Each case in a fresh interpreter (the allocator settings are per process)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from engine.errors import ConfigError
from engine.sim import memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

PROBE = textwrap.dedent(
    """
    import numpy as np
    from engine.sim.memory import retain_freed_memory

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    took = retain_freed_memory()
    before = rss_mb()
    block = np.ones(8 << 20)  # 64 MB, every page touched
    del block
    print(took, rss_mb() - before)
    """
)


def probe(retain: str | None) -> tuple[bool, float]:
    """(whether the settings took, MB still resident after freeing a 64 MB block) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != memory.RETAIN_VAR}
    if retain is not None:
        env[memory.RETAIN_VAR] = retain
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    took, kept = out.stdout.split()
    return took == "True", float(kept)


@pytest.mark.skipif(not GLIBC, reason="the settings are glibc's")
def test_freed_block_stays_resident_by_default_and_goes_back_with_zero():
    took, kept = probe(None)
    assert took and kept > 60  # the 64 MB block is still mapped and resident: the next run reuses its pages
    took, kept = probe("0")
    assert not took and kept < 8  # glibc's default: a block this large is unmapped when freed


@pytest.mark.parametrize("raw", ["abc", "-1", "2.5", "4096"])
def test_bad_value_is_one_error_naming_it(monkeypatch, raw):
    monkeypatch.setenv(memory.RETAIN_VAR, raw)
    with pytest.raises(ConfigError, match=rf"IVYBT_RETAIN_MB={raw!r}: a whole number of MB from 0 to 2047"):
        memory.retain_mb()
