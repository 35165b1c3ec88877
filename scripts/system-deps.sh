#!/usr/bin/env bash
# Debian packages the test suite uses as real peers: the xmlsec1 command-line tool (signature
# interoperability), Chromium (portal tests, never a downloaded browser), HAProxy (the load
# balancer of tests/faults/test_haproxy.py). Installed only when
# missing, and only where we may (root); elsewhere the tests that need them say why they skip.
set -euo pipefail
need=()
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v faketime >/dev/null 2>&1 || need+=(faketime)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]} (not root: install them with apt-get)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
