"""User strategy files for the user-code fault tests, and the `ivybt` console script run in a real process.

Each strategy that misbehaves first writes its process id to `<workspace>/pids/<name>.pid` (the folder is written
into the file: a sandbox child does not see this test's environment), so a test can check that the child running
it is gone afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

IVYBT = Path(sys.executable).parent / "ivybt"

HEADER = """
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.strategies.base import Strategy, param


def _pid(name):
    (Path(PIDS) / f"{name}.pid").write_text(str(os.getpid()))
"""

CANARY = """
Path(CANARY_FILE).unlink()  # runs only if something imports this file


class Canary(Strategy):
    name = "canary"
    description = "deletes the canary file when imported"

    @dataclass(frozen=True)
    class Params:
        window: int = param(20, 5, 100, 5, doc="bars")
        scale: float = param(0.5, 0.1, 1.0, 0.1, doc="weight")

    def target_weights(self, data):
        return data.close.notna().astype("float64") * self.params.scale
"""

SPIN = """
class Spin(Strategy):
    name = "spin"
    description = "loops forever and ignores SIGTERM and SIGINT"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _pid("spin")
        while True:
            pass
"""

BOMB = """
class Bomb(Strategy):
    name = "bomb"
    description = "allocates memory until it runs out"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        _pid("bomb")
        chunks = []
        while True:
            chunks.append(bytearray(64 * 1024 * 1024))
"""

HOLD = """
class Half(Strategy):
    name = "half_hold"
    description = "half of equity in every symbol that has a price, above its 20-bar mean"

    @dataclass(frozen=True)
    class Params:
        length: int = param(20, 5, 60, 5, doc="mean window")

        def __post_init__(self):
            if self.length < 2:
                raise ValueError(f"length must be >= 2, got {self.length}")

    def target_weights(self, data):
        close = data.close
        return (close > close.rolling(self.params.length).mean()).astype("float64") * 0.5
"""

READS_CSV = """
from engine.data import SAMPLE_DIR


class ReadsCsv(Strategy):
    name = "reads_csv"
    description = "reads SPY's closes from the sample CSV instead of the data it is given"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        prices = pd.read_csv(SAMPLE_DIR / "SPY.csv", index_col=0, parse_dates=True)["close"]
        up = (prices.shift(-1) > prices).reindex(data.index).fillna(False).astype("float64")
        return pd.DataFrame({s: up for s in data.symbols}, index=data.index)
"""

READS_AT_IMPORT = """
from engine.data import SAMPLE_DIR

TOMORROW = pd.read_csv(SAMPLE_DIR / "QQQ.csv", index_col=0, parse_dates=True)["close"].shift(-1)


class ReadsAtImport(Strategy):
    name = "reads_at_import"
    description = "read QQQ's closes when its file was imported"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        up = (TOMORROW.reindex(data.index) > data.close.iloc[:, 0]).astype("float64")
        return pd.DataFrame({s: up for s in data.symbols}, index=data.index)
"""

NETWORK = """
import socket


class AsksServer(Strategy):
    name = "asks_server"
    description = "asks a server on this machine for a number"

    @dataclass(frozen=True)
    class Params:
        port: int = param(1, 1, 65535, 1, doc="server port")

    def target_weights(self, data):
        with socket.create_connection(("127.0.0.1", self.params.port), timeout=5) as s:
            level = float(s.recv(16).decode())
        return data.close.notna().astype("float64") * level
"""


def write_strategies(home: Path, *bodies: str, file: str = "faulty.py") -> Path:
    """`<home>/strategies/<file>` with the header and `bodies`; also creates `<home>/pids`. Returns the file."""
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    (home / "pids").mkdir(exist_ok=True)
    path = folder / file
    pids = f"\nPIDS = {str(home / 'pids')!r}\n"
    path.write_text(textwrap.dedent(HEADER) + pids + "".join(textwrap.dedent(b) for b in bodies))
    return path


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "IVYBT_HOME": str(home), **extra}
    env.pop("IVYBT_PRESETS", None)
    return env


def run_ivybt(*args: str, home: Path, **extra: str) -> subprocess.CompletedProcess:
    """`ivybt ARGS` in a real process with IVYBT_HOME = home (stops by itself: every limit under test is short)."""
    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, env=env_for(home, **extra), timeout=300)


def pid_of(home: Path, name: str) -> int:
    return int((home / "pids" / f"{name}.pid").read_text())


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_for(predicate: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Poll `predicate` until it holds; AssertionError naming `what` after `limit` seconds (a hang guard only)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")
