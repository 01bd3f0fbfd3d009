"""The estimates an optimizer reads from a window of returns (a numpy array: rows = bars, columns = symbols, no
NaN), each the library's own computation on the array instead of a pandas frame per window.

- covariance: scikit-learn's Ledoit-Wolf (`sklearn.covariance.ledoit_wolf`, the function PyPortfolioOpt's
  CovarianceShrinkage.ledoit_wolf calls) or the sample covariance, annualized, then PyPortfolioOpt's
  `fix_nonpositive_semidefinite` (spectral) as its risk models do. scikit-learn's parameter checks run with
  `skip_parameter_validation` / `assume_finite` (a window holds only complete columns): they cost more than
  the estimate itself on a 252 x 36 window;
- mean returns: PyPortfolioOpt's mean_historical_return (compounded, annualized): prod(1 + r) ** (252 / T) - 1.
"""

from __future__ import annotations

import numpy as np

PERIODS_PER_YEAR = 252


def covariance_array(values: np.ndarray, shrinkage: bool, frequency: int = PERIODS_PER_YEAR) -> np.ndarray:
    """The annualized covariance of the window `values`: Ledoit-Wolf shrunk (`shrinkage`) or the sample one."""
    import sklearn
    from pypfopt.risk_models import fix_nonpositive_semidefinite
    from sklearn.covariance import ledoit_wolf

    if shrinkage:
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            raw = ledoit_wolf(values)[0]
    else:
        raw = np.cov(values, rowvar=False)
    return np.asarray(fix_nonpositive_semidefinite(raw * frequency, fix_method="spectral"), dtype="float64")


def mean_returns(values: np.ndarray, frequency: int = PERIODS_PER_YEAR) -> np.ndarray:
    """Annualized compounded mean return of each column (PyPortfolioOpt's mean_historical_return)."""
    return np.prod(1.0 + values, axis=0) ** (frequency / len(values)) - 1.0
