"""IvyBT engine: data, strategies, simulation, metrics and everything else that is not UI or broker code.

The engine never imports streamlit or a broker SDK (tests check it).
"""

from __future__ import annotations

__version__ = "0.1.0"
