#!/bin/bash
# Installs what is missing, builds, runs every test suite, prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
if [ -d _build ]; then meson setup --reconfigure _build >/dev/null; else meson setup _build >/dev/null; fi
ninja -C _build
status=0
meson test -C _build --print-errorlogs || status=$?
/usr/bin/python3 - <<'PY'
import json
passed = failed = skipped = 0
for line in open('_build/meson-logs/testlog.json'):
    r = json.loads(line)['result']
    if r in ('OK', 'EXPECTEDFAIL'): passed += 1
    elif r == 'SKIP': skipped += 1
    else: failed += 1
# Figures the suites measure as they go (the kill -9 loop's totals)
for line in open('_build/meson-logs/testlog.txt', errors='replace'):
    if line.startswith('kill -9 loop'):
        print(line.rstrip())
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
