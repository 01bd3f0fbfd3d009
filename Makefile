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

# The README's tour: the browser test that opens every page also refreshes the screenshots in docs/img/.
.PHONY: tour
tour:
	@bash scripts/bootstrap.sh install dev
	@IVYBT_TOUR_DIR=docs/img .venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e/test_tour.py
