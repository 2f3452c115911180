#!/usr/bin/env bash
# Installs what Kubeline's local cluster, image build and tests need on a fresh
# Debian/Ubuntu machine, then the Python environment. Idempotent and quick when
# everything is present. Caches live under ~/.cache/kubeline (KUBELINE_CACHE).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${KUBELINE_CACHE:-$HOME/.cache/kubeline}"
VENV="${KUBELINE_VENV:-$CACHE/venv}"
PYTHON="${PYTHON:-python3}"
PKGS=(containerd runc containernetworking-plugins debootstrap umoci iptables openssl iproute2 conntrack mount chromium)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} — run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "Go >= 1.24 is required to build Kubernetes from its modules (install Go and put it on PATH)" >&2; exit 1; }
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null || {
  echo "Python >= 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

# The virtualenv is cached outside the repo, keyed by pyproject.toml and the pins in
# constraints.txt (`make lock` renovates them): every install gets the same versions.
key=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
export PIP_CONSTRAINT="$PWD/constraints.txt"  # also the isolated build environments
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtualenv in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$VENV/.kubeline-deps" 2>/dev/null)" != "$key" ]; then
  say "installing Python dependencies (cached in $VENV)"
  "$VENV/bin/pip" install -q -U pip setuptools wheel
  "$VENV/bin/pip" install -q -e ".[dev]" > "$CACHE/pip-install.log" 2>&1 || {
    tail -30 "$CACHE/pip-install.log" >&2; exit 1; }
  echo "$key" > "$VENV/.kubeline-deps"
fi
# Point the editable install at this checkout (cheap; each clone has its own path).
if [ "$("$VENV/bin/python" -c 'import kubeline, pathlib; print(pathlib.Path(kubeline.__file__).resolve().parents[2])' 2>/dev/null)" != "$(pwd -P)" ]; then
  "$VENV/bin/pip" install -q --no-deps -e . > "$CACHE/pip-install.log" 2>&1 || {
    tail -30 "$CACHE/pip-install.log" >&2; exit 1; }
fi
