#!/usr/bin/env bash
# Static checks run by CI before the tests: ruff (style and bugs), lint-imports (imports run
# one way: .importlinter) and mypy (types; strict for the contract and the operator core:
# pyproject.toml). Runs every check, then fails if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
run() {
  echo "== $*"
  "$@" || failed+=("$1")
}
run ruff check sdk operator tests bench examples
run lint-imports --no-cache
run mypy
if [ ${#failed[@]} -gt 0 ]; then
  echo "lint failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint clean"
