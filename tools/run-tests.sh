#!/bin/bash
# Installs what is missing, builds, runs every test suite, prints a summary
# of test cases (tools/test-summary.py): its last line is
#   N passed, M failed, K skipped
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
if [ -d _build ]; then meson setup --reconfigure _build >/dev/null; else meson setup _build >/dev/null; fi
ninja -C _build
# Results of an earlier run must not count for this one
rm -rf _build/test-results
status=0
meson test -C _build --print-errorlogs "$@" || status=$?
/usr/bin/python3 tools/test-summary.py _build || status=1
exit $status
