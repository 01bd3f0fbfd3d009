"""The sandbox child's side: import one user strategy file and answer calls into it (`engine.strategies.sandbox`
starts this process and owns the limits; this module is what runs inside it).

`serve` limits its own memory (RLIMIT_AS), kills itself when the engine's process ends, tells the engine when
each call into the strategy starts (the time limit is per call) and sends back each answer or error. With
`watched`, the audit hook of `engine.strategies.watch` records what the user's code reads from outside the
engine, from the import of its file on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.errors import EngineError, StrategyError
from engine.strategies import boundary, watch
from engine.strategies.base import Strategy

USER_MODULE_PREFIX = "ivybt_user_strategies"


@dataclass(frozen=True)
class UserCode:
    """A user strategy class by file and version: what a child imports and checks.

    fields: the Params field names the file declares (the child checks its class has the same), or None
    when Params is an engine class."""

    path: str
    class_name: str
    name: str
    version: tuple[int, int]
    fields: tuple[str, ...] | None


def serve(conn: Connection, code: UserCode, memory_mb: int, watched: bool) -> None:
    """The child: limit itself, then answer (fn, args) requests until the engine closes the pipe."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle: it kills us
    reads = watch.start() if watched else []
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    boundary.observe(lambda method: conn.send(("tick", method)))
    cls: type[Strategy] | None = None
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        except MemoryError:
            conn.send(("memory",))
            return
        except Exception as e:  # a call that cannot be unpickled here (e.g. a function of a main script)
            conn.send(("error", StrategyError(f"user strategy {code.name!r}: cannot receive the call: {e}"), []))
            continue
        try:
            fn, args = request
            if cls is None:
                conn.send(("tick", "import"))
                cls = load_class(code)
            answer: tuple[Any, ...] = ("ok", fn(cls, *args), list(reads))
        except MemoryError:
            conn.send(("memory",))
            return
        except BaseException as e:  # user code may raise anything; it travels back as one error
            answer = ("error", portable(e, code.name), list(reads))
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("memory",))
            return
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            conn.send(
                ("error", StrategyError(f"user strategy {code.name!r} returned a value that cannot be sent: {e}"), [])
            )


def portable(error: BaseException, name: str) -> BaseException:
    """`error` if the engine's process can unpickle it (an engine or built-in exception), else a StrategyError
    with its type and message. An error of the user's code (not an EngineError raised on purpose) keeps the
    child's traceback as a note: a batch job records it, a one-line message leaves it out."""
    on_purpose = isinstance(error, EngineError) and error.__cause__ is None
    where = "" if on_purpose or error.__traceback__ is None else "".join(traceback.format_exception(error))
    out: BaseException = StrategyError(f"user strategy {name!r}: {type(error).__name__}: {error}")
    if isinstance(error, EngineError) or type(error).__module__ == "builtins":
        try:
            pickle.loads(pickle.dumps(error))
            out = error
        except Exception:
            pass
    if where:
        out.add_note(f"in the sandbox child of user strategy {name!r}:\n{where.rstrip()}")
    return out


def _die_with_parent() -> None:
    """Kill this child as soon as the engine's process ends (even by SIGKILL): a thread waits on the sentinel
    multiprocessing gives every child of its parent. (The forkserver itself lives on while a child does.)"""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait() -> None:
        parent.join()
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=wait, name="ivybt-parent-watch", daemon=True).start()


def import_user_file(path: Path) -> ModuleType:
    """Import a user strategy file (in a sandbox child) as module `ivybt_user_strategies_<stem>`."""
    module_name = f"{USER_MODULE_PREFIX}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_class(code: UserCode) -> type[Strategy]:
    """The user class `code` names, imported from its file; StrategyError saying why it cannot be used."""
    path = Path(code.path)
    try:
        module = import_user_file(path)
    except SyntaxError as e:
        raise StrategyError(f"user strategy file {path.name}: syntax error at line {e.lineno}: {e.msg}") from None
    except BaseException as e:  # user code may raise anything at import
        last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
        where = f" (line {last.lineno})" if last is not None and last.filename == str(path) else ""
        raise StrategyError(f"user strategy file {path.name} failed to load: {type(e).__name__}{where}: {e}") from None
    cls = getattr(module, code.class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)) or getattr(cls, "name", None) != code.name:
        raise StrategyError(
            f"user strategy file {path.name}: class {code.class_name} with name {code.name!r} is not defined when "
            "the file runs (defined conditionally or renamed?)"
        )
    real = tuple(f.name for f in fields(cls.Params)) if code.fields is not None else None
    if real != code.fields:
        raise StrategyError(
            f"user strategy {code.name!r} ({path.name}): its Params fields when run {list(real or ())} differ from "
            f"those its source declares {list(code.fields or ())}"
        )
    return cls
