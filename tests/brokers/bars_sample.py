"""Five daily bars both bar-source tests serve from their fake (Alpaca, TWS) and the engine frame they must give."""

from __future__ import annotations

import pandas as pd

# (session date, open, high, low, close, volume); the July bar is in daylight-saving time
ROWS = [
    ("2024-01-02", 472.16, 473.67, 470.49, 472.65, 123623700.0),
    ("2024-01-03", 470.43, 471.19, 468.17, 468.79, 103585900.0),
    ("2024-01-04", 468.30, 470.96, 467.05, 467.28, 84232200.0),
    ("2024-07-01", 545.63, 545.88, 542.52, 545.34, 40297800.0),
    ("2024-07-02", 543.70, 549.01, 543.65, 549.01, 40434800.0),
]


def expected() -> pd.DataFrame:
    idx = pd.DatetimeIndex([r[0] for r in ROWS], name="date").as_unit("ns")  # the engine frame uses ns
    return pd.DataFrame(
        {k: [r[i + 1] for r in ROWS] for i, k in enumerate(["open", "high", "low", "close", "volume"])},
        index=idx,
        dtype="float64",
    )
