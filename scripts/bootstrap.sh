#!/usr/bin/env bash
# Set-up for IvyBT on a fresh machine: a virtual environment with Python >= 3.12, the package and its
# extras, and (for the tests) Debian's chromium for the real-browser tests. Then run the app or the tests.
# Usage: bash scripts/bootstrap.sh app|test|install [args...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${IVYBT_VENV:-.venv}"

find_python() {
    local candidates=()
    command -v pyenv >/dev/null 2>&1 && candidates+=("$(pyenv which python3.12 2>/dev/null || true)")
    candidates+=(python3.12 python3.13 python3 "$HOME/.pyenv/versions/3.12.1/bin/python")
    for c in "${candidates[@]}"; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    echo "IvyBT needs Python >= 3.12 (pandas-ta requires it); none found. Install one (e.g. 'pyenv install 3.12')." >&2
    return 1
}

installed() {  # $1 = stamp file, $2 = pyproject hash, $3 = extras needed ("dev", "" or "dev,bench")
    # true when a line "<hash>-<extras>" of the stamp has this pyproject.toml's hash and every needed extra, so a
    # dev install (make test) also satisfies the plain one (make app); a changed pyproject.toml matches no line
    local line have extra ok
    [ -f "$1" ] || return 1
    while IFS= read -r line; do
        [ "${line%%-*}" = "$2" ] || continue
        have=",${line#*-},"; ok=1
        for extra in ${3//,/ }; do [[ "$have" == *",$extra,"* ]] || ok=0; done
        [ "$ok" -eq 1 ] && return 0
    done <"$1"
    return 1
}

ensure_venv() {  # $1 = extras, e.g. "dev" or ""
    local extras="$1" spec="." stamp hash
    [ -n "$extras" ] && spec=".[$extras]"
    hash="$(sha256sum pyproject.toml | cut -c1-16)"
    stamp="$VENV/.ivybt-installed"
    if [ ! -x "$VENV/bin/python" ]; then
        "$(find_python)" -m venv "$VENV"
    fi
    if ! installed "$stamp" "$hash" "$extras"; then
        echo "Installing IvyBT ($spec) into $VENV ..."
        "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
        if ! "$VENV/bin/python" -m pip install -e "$spec" >"$VENV/install.log" 2>&1; then
            tail -n 40 "$VENV/install.log" >&2
            echo "Installing $spec failed; the full log is $VENV/install.log" >&2
            exit 1
        fi
        "$VENV/bin/python" -m engine.sim.warmup || true  # compile numba kernels into the cache once
        echo "$hash-$extras" >>"$stamp"
    fi
}

static_checks() {  # lint, format, import contracts and types; all run, then any failure fails the test command
    local failed=0
    echo "== ruff check"; "$VENV/bin/ruff" check --quiet . || failed=1
    echo "== ruff format --check"; "$VENV/bin/ruff" format --check --quiet . || failed=1
    echo "== lint-imports"; "$VENV/bin/lint-imports" --no-cache >/dev/null || { "$VENV/bin/lint-imports" --no-cache; failed=1; }
    echo "== mypy"; "$VENV/bin/mypy" --no-error-summary || failed=1
    [ "$failed" -eq 0 ] && echo "static checks passed" || echo "static checks FAILED (see above)" >&2
    return "$failed"
}

ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then return 0; fi
    echo "Installing Debian's chromium for the real-browser tests ..."
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

cmd="${1:-}"; shift || true
case "$cmd" in
    app)
        ensure_venv ""
        exec "$VENV/bin/ivybt" app "$@"
        ;;
    test)
        ensure_venv "dev"
        ensure_chromium
        static_checks || status=1
        "$VENV/bin/python" -m pytest "$@" || status=$?
        exit "${status:-0}"
        ;;
    install)  # only set up the environment (extras as argument, e.g. "dev,bench")
        ensure_venv "${1:-dev}"
        ;;
    bench)  # benchmarks against vectorbt and backtesting.py (benchmarks/README.md). A separate venv: vectorbt
            # 1.2.0 needs numba >= 0.66 and numpy >= 2.4.6 while pandas-ta pins numba==0.61.2, so IvyBT is
            # installed first and the `bench` extra's pins from pyproject.toml go on top (pip reports the
            # pandas-ta pin as a conflict; IvyBT and pandas-ta run fine on the newer numba).
        VENV="${IVYBT_BENCH_VENV:-.venv-bench}"
        ensure_venv ""
        [ -f "$VENV/.gitignore" ] || echo '*' >"$VENV/.gitignore"
        bench_want="$(sha256sum pyproject.toml | cut -c1-16)-bench"
        if ! grep -qx -- "$bench_want" "$VENV/.ivybt-installed" 2>/dev/null; then
            mapfile -t bench_pins < <("$VENV/bin/python" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bench"]))')
            echo "Installing the bench extra (${bench_pins[*]}) into $VENV ..."
            if ! "$VENV/bin/python" -m pip install "${bench_pins[@]}" >"$VENV/install-bench.log" 2>&1; then
                tail -n 40 "$VENV/install-bench.log" >&2
                echo "Installing the bench extra failed; the full log is $VENV/install-bench.log" >&2
                exit 1
            fi
            echo "$bench_want" >>"$VENV/.ivybt-installed"
        fi
        exec "$VENV/bin/python" -m benchmarks.run "$@"
        ;;
    *)
        echo "usage: bash scripts/bootstrap.sh app|test|install|bench [args]" >&2; exit 2;;
esac
