#!/usr/bin/env bash
# Builds the web UI (ui/) into sdk/kubeline/ui/static, which the wheel ships (users never need
# Node). Cached under ~/.cache/kubeline/ui: node_modules keyed by package-lock.json, the build
# keyed by the sources, so a warm run copies one folder and starts no Node at all.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${KUBELINE_CACHE:-$HOME/.cache/kubeline}/ui"
OUT=sdk/kubeline/ui/static
mkdir -p "$CACHE"
src_key=$( (cd ui && find src index.html vite.config.ts tsconfig.json package.json package-lock.json -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
if [ -f "$CACHE/build-$src_key/index.html" ]; then
  if ! diff -rq "$CACHE/build-$src_key" "$OUT" >/dev/null 2>&1; then
    rm -rf "$OUT" && cp -r "$CACHE/build-$src_key" "$OUT"
  fi
  exit 0
fi
command -v npm >/dev/null || { echo "building the UI needs Node.js >= 18 and npm (apt-get install nodejs npm)" >&2; exit 1; }
lock_key=$(sha256sum ui/package-lock.json | cut -c1-16)
mods="$CACHE/node_modules-$lock_key"
if [ ! -d "$mods/node_modules" ]; then
  echo "==> installing the UI's npm packages (cached in $mods)" >&2
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  rm -rf "$mods.tmp" && mkdir -p "$mods.tmp" && cp -a ui/node_modules "$mods.tmp/" && mv "$mods.tmp" "$mods"
elif [ "$(cat ui/node_modules/.kubeline-lock 2>/dev/null)" != "$lock_key" ]; then
  rm -rf ui/node_modules && cp -a "$mods/node_modules" ui/node_modules
fi
echo "$lock_key" > ui/node_modules/.kubeline-lock
echo "==> building the UI" >&2
(cd ui && npm run --silent build >/dev/null)
rm -rf "$CACHE/build-$src_key.tmp" && cp -r "$OUT" "$CACHE/build-$src_key.tmp" && mv "$CACHE/build-$src_key.tmp" "$CACHE/build-$src_key"
