"""Progress bar and Cancel button for one long engine call made from a page script.

How cancelling works with Streamlit's reruns: the page calls the engine inside the script run, feeding
`progress(done, total)` to an `st.progress` bar, with a Cancel button drawn just above it. A click on Cancel
(or on any other widget) starts a new script run at once (`runner.fastReruns`, the default); its `on_click`
sets a session flag, and the old run gets a `StopException` at its next Streamlit call, i.e. the next
progress update. `progress` catches that exception instead of letting it escape from inside the engine's
worker pool (which would first wait for every queued batch), `should_stop()` then turns True, the engine
cancels the queued batches and raises ConfigError("cancelled"), and `run` re-raises Streamlit's exception
so the new run proceeds normally. `should_stop()` also reads the session flag, as the engine is told to.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from engine.errors import ConfigError, EngineError
from engine.research.estimate import Estimate, format_duration, remaining_seconds
from engine.strategies.sandbox import stop_when

FLAG_SUFFIX = "_cancelled"


def _flag(key: str) -> str:
    return f"{key}{FLAG_SUFFIX}"


def _set_flag(key: str) -> None:
    st.session_state[_flag(key)] = True


def pop_cancelled(key: str) -> bool:
    """True once after the user pressed Cancel on the run with this key (then the flag is cleared)."""
    return bool(st.session_state.pop(_flag(key), False))


class RunControl:
    """A progress bar with a Cancel button; `run(fn)` calls fn(progress, should_stop).

    Raises Cancelled when stopped through the session flag; re-raises Streamlit's own control exception
    when a rerun interrupted the work.
    """

    def __init__(self, label: str, key: str) -> None:
        st.session_state.pop(_flag(key), None)
        self.key, self.label = key, label
        self.pending: BaseException | None = None
        self.done = 0
        self.total = 0
        self.started = time.perf_counter()
        self.box = st.empty()
        with self.box.container():
            st.button("Cancel", key=f"{key}_cancel", on_click=_set_flag, args=(key,), icon=":material/cancel:")
            self.bar = st.progress(0.0, text=f"{label} ...")

    def progress(self, done: int, total: int) -> None:
        """Engine progress callback: move the bar (never lets Streamlit's rerun escape into the engine)."""
        self.done, self.total = done, total
        if self.pending is not None:
            return
        try:
            self.bar.progress(min(1.0, done / total) if total else 1.0, text=self.text(done, total))
        except ScriptControlException as e:  # the user clicked something: stop at the next batch boundary
            self.pending = e

    def text(self, done: int, total: int) -> str:
        """The bar's text: done of total, elapsed, and the time left at the throughput measured so far."""
        elapsed = time.perf_counter() - self.started
        return progress_text(self.label, done, total, elapsed)

    def should_stop(self) -> bool:
        """Engine cancel callback: True after an interrupted progress update or a press on Cancel."""
        if self.pending is not None:
            return True
        return bool(st.session_state.get(_flag(self.key), False))  # the engine calls this on the script thread

    def run[T](self, fn: Callable[[Callable[[int, int], None], Callable[[], bool]], T]) -> T:
        """fn(progress, should_stop) with cancellation; the bar and the button are removed afterwards."""
        try:
            with stop_when(self.should_stop):  # a user strategy's child process is killed on Cancel too
                result = fn(self.progress, self.should_stop)
        except EngineError as e:  # bad input or a cancel: the bar and the button go either way
            if self.pending is not None:
                raise self.pending from None
            self.box.empty()
            if "cancelled" in str(e):
                raise Cancelled(self.done, self.total) from None
            raise
        if self.pending is not None:
            raise self.pending
        self.box.empty()
        return result


def progress_text(label: str, done: int, total: int, elapsed: float) -> str:
    """ "Optimizing: 120 of 1,000 (3.0 s, about 22 s left)": the ETA is the remaining items at the rate so far."""
    left = remaining_seconds(done, total, elapsed)
    eta = f", about {format_duration(left)} left" if left else ""
    return f"{label}: {done:,} of {total:,} ({elapsed:.1f} s{eta})"


def estimate_gate(estimate: Estimate | None, key: str) -> bool:
    """Show a run's estimate before it starts (sets to run, pruned and why, ETA) and, above the thresholds of
    engine.config (CONFIRM_SETS / CONFIRM_SECONDS), a warning with a confirmation box; True when the run may
    start. The box's key carries the count, so a changed grid asks again."""
    if estimate is None:
        return True
    st.caption(". ".join(estimate.lines()) + ".")
    if not estimate.needs_confirmation:
        return True
    eta = f", about {format_duration(estimate.seconds)}" if estimate.seconds is not None else ""
    st.warning(
        f"This is a big run: {estimate.to_run:,} {estimate.unit}{eta}. Narrow the ranges, or confirm to run it.",
        icon=":material/hourglass_top:",
    )
    return bool(
        st.checkbox(f"Yes, run {estimate.to_run:,} {estimate.unit}{eta}", key=f"{key}_confirm_{estimate.to_run}")
    )


class Cancelled(ConfigError):
    """The user cancelled a run (an EngineError, so pages report it like any other input problem)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"cancelled after {done:,} of {total:,}" if total else "cancelled")
        self.done, self.total = done, total


def controlled[T](label: str, key: str, fn: Callable[[Callable[[int, int], None], Callable[[], bool]], T]) -> T | None:
    """fn(progress, should_stop) under a RunControl; a cancel -> st.warning, another EngineError -> st.error
    (both return None, so the page keeps its previous result)."""
    try:
        return RunControl(label, key).run(fn)
    except Cancelled as e:
        st.warning(f"{label} {e}; the previous result (if any) is kept.")
    except EngineError as e:
        st.error(f"{label} stopped: {e}. Fix the input above and run again.")
    return None
