# The two set-up commands of the README. Both are idempotent: they create .venv (Python >= 3.12),
# install what is missing, then do their job.
.PHONY: app test
app:
	@bash scripts/bootstrap.sh app

test:
	@bash scripts/bootstrap.sh test $(ARGS)
