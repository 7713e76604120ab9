#!/usr/bin/env bash
# The check behind the Python versions pyproject.toml claims (requires-python, classifiers):
# for each interpreter given, scripts/build_linux_wheel.sh builds the sdist, a wheel from it,
# repairs it with auditwheel, installs it in a fresh venv and runs the whole test suite.
# CI runs Python 3.11 on every run; this covers the others, by hand, before a release.
#
# Usage: scripts/check_pythons.sh [PYTHON ...]
#   default: Python 3.9, 3.10, 3.12 and 3.13, those found (on PATH or in pyenv)
# Environment: MINIGRAD_TEST_PINS is passed on (e.g. "numpy==1.23.5" with python3.9, to test
# the oldest numpy the package claims).
# The test oracle torch==2.13.0 is on this machine's disk for Python 3.11 only, so the other
# Pythons run without it: the comparisons with PyTorch skip, everything else runs.
set -uo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/minigrad-pythons.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
# An interpreter for version X.Y: pythonX.Y on PATH if it runs (a pyenv shim may exist for a
# version pyenv does not select), else pyenv's own copy.
find_python() {
  if "python$1" -V > /dev/null 2>&1; then echo "python$1"; return; fi
  local root
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  ls "$root"/versions/"$1".*/bin/python"$1" 2>/dev/null | sort -V | tail -1
}
if [ $# -eq 0 ]; then
  for version in 3.9 3.10 3.12 3.13; do
    found="$(find_python "$version")"
    if [ -n "$found" ]; then set -- "$@" "$found"; else echo "=== Python $version: not found"; fi
  done
fi
failed=()
for python in "$@"; do
  echo "=== $python ($("$python" -V 2>&1))"
  log="$OUT/$(basename "$python").log"
  if PYTHON="$python" MINIGRAD_ORACLE="${MINIGRAD_ORACLE:-0}" \
       "$SRC/scripts/build_linux_wheel.sh" "$OUT/wheels" > "$log" 2>&1; then
    grep -E "^(numpy |[0-9]+ passed)" "$log"
  else
    failed+=("$python")
    tail -40 "$log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all passed"
