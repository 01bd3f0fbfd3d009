"""Research on top of the simulator: optimize, walk-forward, Monte Carlo, overfitting, scorecard,
sensitivity, universe selection, splits and the look-ahead audit."""
