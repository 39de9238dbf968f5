#!/usr/bin/env bash
# Checks the Prometheus alert rules with promtool (syntax, then the rule unit tests in alerts.test.yml).
# promtool comes from Debian's `prometheus` package, installed here when it is missing (root or sudo).
set -euo pipefail
cd "$(dirname "$0")/prometheus"
if ! command -v promtool >/dev/null 2>&1; then
  as_root=()
  [ "$(id -u)" -ne 0 ] && as_root=(sudo)
  echo "promtool is missing: installing Debian's prometheus package"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool check rules alerts.yml
promtool test rules alerts.test.yml
