#!/usr/bin/env bash
# Installs everything the test suite needs into the active Python environment:
#   - TrainLab itself, editable, with its test extras (pytest, hypothesis, dask, ...)
#   - PyTorch 2.13.0 CPU, used only as a test oracle for the parity tests
#   - Debian's Chromium, for the test that opens report.html in a real browser
# Run it inside a virtual environment: python3 -m venv .venv && . .venv/bin/activate
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --upgrade pip >/dev/null
python -m pip install -e ".[test]"
# torch==2.13.0 (CPU) lies on this project's machines' disk; another version would download gigabytes.
python -m pip install "torch==2.13.0"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=""; fi
  if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "note: cannot install chromium (not root, no sudo): the browser test will be skipped" >&2
  fi
fi
echo "test set-up complete"
