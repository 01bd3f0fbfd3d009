"""The progress bar of a long run shows the time left at the rate measured so far (items left x elapsed / done)."""

from __future__ import annotations

from ui.run_control import progress_text


def test_progress_text_shows_the_time_left() -> None:
    # 250 of 1,000 in 10 s: 750 left at 25 per second = 30 s
    assert progress_text("Optimizing", 250, 1000, 10.0) == "Optimizing: 250 of 1,000 (10.0 s, about 30 s left)"
    # 3 of 12 windows in 90 s: 9 left at 30 s each = 270 s
    assert progress_text("Walk-forward", 3, 12, 90.0) == "Walk-forward: 3 of 12 (90.0 s, about 4 min 30 s left)"
    assert progress_text("Monte Carlo", 0, 500, 0.2) == "Monte Carlo: 0 of 500 (0.2 s)"  # nothing measured yet
    assert progress_text("Monte Carlo", 500, 500, 4.0) == "Monte Carlo: 500 of 500 (4.0 s)"
