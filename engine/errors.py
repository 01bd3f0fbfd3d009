"""The engine's error hierarchy.

Every error raised on purpose by the engine derives from `EngineError`, so front ends (Streamlit pages and
the CLI) can show one clear message for it and let anything else propagate as a real bug.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class for errors the user can fix (bad data, bad config, a broken strategy)."""


class DataError(EngineError):
    """Market data is missing, malformed or inconsistent (names the file, row and problem)."""


class StrategyError(EngineError):
    """A strategy is unknown, failed to load, or returned unusable weights."""


class ConfigError(EngineError):
    """A configuration, preset or parameter value is invalid (names the field and the value)."""


class WorkspaceError(EngineError):
    """A workspace file cannot be used (the database locked, damaged, full or unreadable); the message names the
    file and what to do."""


class DatabaseBusy(WorkspaceError):
    """Another process held the database's lock for longer than the busy timeout (IVYBT_DB_TIMEOUT)."""


class DatabaseCorrupt(WorkspaceError):
    """The database file is damaged (found by SQLite's quick check at open, or by a read); it is left untouched."""


class DatabaseFull(WorkspaceError):
    """A write failed for want of room (disk full, file size limit, I/O error); the failed transaction was rolled
    back and everything committed before it is intact."""


class UserCodeError(StrategyError):
    """A user strategy's child process was stopped: over its time or memory limit, cancelled, or it died.

    One line naming the strategy and the limit, e.g. "user strategy 'spin' stopped: time limit 2 s exceeded".
    """
