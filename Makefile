# The two set-up commands of the README. Both are idempotent: they create .venv (Python >= 3.12),
# install what is missing, then do their job.
.PHONY: app test
app:
	@bash scripts/bootstrap.sh app

test:
	@bash scripts/bootstrap.sh test $(ARGS)

# Speed against vectorbt and backtesting.py (benchmarks/README.md); ARGS="--quick" skips the slowest peer cells.
.PHONY: bench
bench:
	@bash scripts/bootstrap.sh bench $(ARGS)
