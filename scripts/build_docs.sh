#!/usr/bin/env bash
# Build minigrad's documentation site (Sphinx; needs `pip install -e ".[docs]"`):
#
#     scripts/build_docs.sh [OUTDIR]        (default: a new temporary folder; it prints where)
#
# Warnings are errors (-W; --keep-going reports all of them first). The build runs on a copy
# of docs/, examples/ and README.md in a temporary folder: the pages Sphinx generates there
# (the API pages from the packages' __all__, the gallery, which runs every example and
# tutorial and keeps the PNG files they write) never land in the repository.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/minigrad-docs.XXXXXX")}"
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/minigrad-docs-src.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

if git -C "$ROOT" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  # the files git has or would add (not ignored ones: no stray pictures or earlier output)
  git -C "$ROOT" ls-files -z --cached --others --exclude-standard -- docs examples README.md \
    | (cd "$ROOT" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _) \
    | tar -C "$ROOT" --null -T - -cf - | tar -C "$STAGE" -xf -
else  # an unpacked sdist
  cp -r "$ROOT/docs" "$ROOT/examples" "$ROOT/README.md" "$STAGE/"
  find "$STAGE/examples" "$STAGE/docs/tutorials" -name "*.png" -delete
fi

START=$SECONDS
sphinx-build -W --keep-going -b html -d "$STAGE/doctrees" "$STAGE/docs" "$OUT"
echo "documentation built in $((SECONDS - START)) s: $OUT/index.html"
