"""IvyBT benchmarks against vectorbt and backtesting.py (issue 7; workloads in ../shared/bench/WORKLOADS.md).

Entry point: ``python -m benchmarks.run`` (or ``make bench``). This package file stays import-light: the
harness sets NUMBA_CACHE_DIR before numba is first imported.
"""
