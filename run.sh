#!/usr/bin/env bash
# One entry point for newcomers and CI:
#   ./run.sh app    set up .venv (first time only) and start the web UI on 127.0.0.1:7860
#   ./run.sh qa …   set up .venv, then run the `qa` command (.venv/bin/qa …)
#   ./run.sh test   set up .venv, lint, and run the whole test suite: the fast lane first
#                   (no slow, no browser tests), then the slow and browser tests; with
#                   arguments, pytest runs with them instead (e.g. ./run.sh test tests/index)
#   ./run.sh setup  only set up .venv
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-}
if [[ -z "$PY" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi

setup() {
  if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating .venv with $PY" >&2
    "$PY" -m venv .venv
  fi
  local stamp=.venv/.setup-stamp
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "==> installing dependencies (first run takes a few minutes)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    # torch first and exactly this version: a CPU wheel is on local disk; anything else
    # would pull a multi-GB CUDA build.
    .venv/bin/python -m pip install --quiet "torch==2.13.0"
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    echo "$want" > "$stamp"
  fi
}

# A taken port is one line at once, before minutes of install and index building; the check
# is stdlib-only Python, so it runs before .venv exists.
check_port() {
  "$PY" qa/web/ports.py "$@"
}

cmd=${1:-app}
shift || true
case "$cmd" in
  setup) setup ;;
  app)
    check_port "$@"
    setup
    export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
    exec .venv/bin/python app.py "$@"
    ;;
  qa)
    if [[ "${1:-}" == serve ]]; then check_port "${@:2}"; fi
    setup
    export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
    exec .venv/bin/qa "$@"
    ;;
  test)
    setup
    export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
    echo "==> ruff" >&2
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    echo "==> mypy" >&2
    .venv/bin/mypy
    # property tests: many examples in CI, a few locally (tests/conftest.py)
    if [[ -n "${CI:-}" ]]; then export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-thorough}; fi
    if [[ $# -gt 0 ]]; then
      .venv/bin/python -m pytest -q "$@"
    else
      echo "==> pytest: fast lane" >&2
      .venv/bin/python -m pytest -q -m "not slow and not browser"
      echo "==> pytest: slow and browser tests" >&2
      .venv/bin/python -m pytest -q -m "slow or browser"
    fi
    ;;
  *) echo "usage: ./run.sh [app|qa …|test|setup]" >&2; exit 2 ;;
esac
