"""RunControl: a press on Cancel or a rerun stops a real parameter grid between batches, not at its end."""

from __future__ import annotations

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from engine.data import load_market_data
    from engine.errors import EngineError
    from engine.sim.grid import run_grid
    from engine.strategies.registry import get_strategy
    from ui.run_control import RunControl, pop_cancelled

    if pop_cancelled("job"):
        st.warning("cancelled flag seen")
    data = load_market_data(["SPY"], "2015-01-01", "2016-12-31")
    sets = [{"fast": f, "slow": 60} for f in range(5, 45)]  # 40 sets, 4 batches of 10 with one worker
    seen = []

    def work(progress, should_stop):
        def report(done, total):
            seen.append(done)
            progress(done, total)
            if done == 10:  # what the Cancel button's on_click does in the concurrent rerun
                st.session_state["job_cancelled"] = True

        return run_grid(data, get_strategy("sma_cross"), sets, workers=1, progress=report, should_stop=should_stop)

    try:
        RunControl("Grid", "job").run(work)
        st.success("finished")
    except EngineError as e:
        st.error(f"{e} / progress calls {seen}")


def test_cancel_flag_stops_the_grid_after_the_current_batch(home) -> None:
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["cancelled after 10 of 40 / progress calls [10]"]
    assert not at.success
    assert not at.get("button") and not at.get("progress")  # the Cancel button and the bar are cleared


class _Interrupted:
    """Stands in for the st.progress element when Streamlit interrupts the run (a rerun was requested)."""

    def progress(self, *args, **kwargs):
        raise StopException()

    def empty(self):  # pragma: no cover - not reached: the interrupted run never clears its bar
        return None


def test_rerun_during_progress_cancels_queued_batches_and_reraises(home) -> None:
    from engine.data import load_market_data
    from engine.sim.grid import run_grid
    from engine.strategies.registry import get_strategy
    from ui.run_control import RunControl

    data = load_market_data(["SPY"], "2015-01-01", "2016-12-31")
    sets = [{"fast": f, "slow": 60} for f in range(5, 45)]
    ctl = RunControl("Grid", "job2")  # bare mode (no script): widgets are inert
    ctl.bar = _Interrupted()
    calls = []

    def work(progress, should_stop):
        def report(done, total):
            calls.append(done)
            progress(done, total)

        return run_grid(data, get_strategy("sma_cross"), sets, workers=1, progress=report, should_stop=should_stop)

    with pytest.raises(StopException):
        ctl.run(work)
    assert calls == [10]  # the first batch's progress was interrupted; the other 3 batches never ran
    assert ctl.should_stop()


def _controlled_script() -> None:
    import streamlit as st

    from engine.errors import DataError
    from engine.request import BacktestRequest
    from engine.research.universe import select_universe
    from ui.run_control import controlled

    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 5, "slow": 20},
        symbols=("SPY", "QQQ", "TLT"),
        start="2015-01-01",
        end="2016-12-31",
    )

    def rank(progress, should_stop):
        def report(done, total):
            progress(done, total)
            st.session_state["uni_cancelled"] = True  # the Cancel button's on_click, after the first symbol

        return select_universe(request, progress=report, should_stop=should_stop)

    def broken(progress, should_stop):
        progress(1, 4)
        raise DataError("no bars for XYZ")

    st.session_state["results"] = [controlled("Universe", "uni", rank), controlled("Load", "load", broken)]


def test_controlled_warns_on_cancel_and_errors_on_bad_input(home) -> None:
    at = AppTest.from_function(_controlled_script, default_timeout=120)
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Universe cancelled after 1 of 3; the previous result (if any) is kept."]
    assert [e.value for e in at.error] == ["Load stopped: no bars for XYZ. Fix the input above and run again."]
    assert at.session_state["results"] == [None, None]
    assert not at.get("button") and not at.get("progress")  # both bars and Cancel buttons are cleared
