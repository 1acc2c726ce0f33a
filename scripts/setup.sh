#!/usr/bin/env bash
# Set up papersift in ./.venv. Safe to re-run (pip skips what is installed).
#   scripts/setup.sh        the tool itself: CLI, offline enrichment, minilm embeddings, server
#   scripts/setup.sh --dev  plus test tools and Debian's Chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# The CPU build of torch first: without the pin, sentence-transformers pulls a multi-GB CUDA build.
"${PIP[@]}" "torch==2.13.0"
if [ "${1:-}" = "--dev" ]; then
  "${PIP[@]}" -e ".[dev]"
  # Chromium for the browser tests; emoji and CJK fonts so screenshots show cards as readers see them.
  if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -i "noto.*cjk" >/dev/null; then
    if [ "$(id -u)" = "0" ]; then
      echo "setup: installing Debian chromium, chromium-driver and Noto emoji/CJK fonts" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        chromium chromium-driver fonts-noto-color-emoji fonts-noto-cjk) >/dev/null
    else
      echo "setup: chromium not found; browser tests will be skipped (sudo apt-get install chromium)" >&2
    fi
  fi
else
  "${PIP[@]}" -e ".[all]"
fi
echo "setup: ready (.venv)" >&2
