"""Batches (DESIGN §7): YAML batch files, a persistent SQLite job queue, workers and runners.

config: YAML -> validated `Batch` of `JobSpec`s (errors name file, line, field). queue: job states in the
workspace database. jobs: run one job and save its result in the run store. runners: the same jobs on a
local process pool or a Dask cluster. worker: the `ivybt worker` loop.
"""

from __future__ import annotations

from engine.batch.config import BatchConfigError, BatchIssue, load_batch, parse_batch, validate_text
from engine.batch.spec import Batch, JobSpec

__all__ = ["Batch", "BatchConfigError", "BatchIssue", "JobSpec", "load_batch", "parse_batch", "validate_text"]
