#!/bin/bash
# check-unit.sh: the user unit as systemd reads it (systemd does not run as
# init on the CI machines, so nothing starts it): systemd-analyze verify,
# then systemd-analyze security --offline=true --user, whose exposure score
# it prints. Writes BUILDDIR/test-results/unit.xml (JUnit) for the summary.
#   tools/check-unit.sh [BUILDDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
builddir=${1:-_build}
unit=$builddir/data/bgtransferd.service
out=$builddir/test-results
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The installed path of the service does not exist here: the built one does
sed "s|^ExecStart=.*|ExecStart=$(pwd)/$builddir/src/bgtransferd|" "$unit" >"$tmp/bgtransferd.service"
export XDG_RUNTIME_DIR=$tmp
cases=""
failures=0
if (cd "$tmp" && systemd-analyze verify --user --man=no bgtransferd.service) >"$tmp/verify.log" 2>&1; then
  cases+='<testcase classname="unit" name="systemd-analyze verify"/>'
else
  failures=$((failures + 1)); cat "$tmp/verify.log"
  msg=$(head -c 500 "$tmp/verify.log" | tr '\n<>&"' '     ')
  cases+="<testcase classname=\"unit\" name=\"systemd-analyze verify\"><failure message=\"$msg\"/></testcase>"
fi
(cd "$tmp" && systemd-analyze security --offline=true --user --no-pager bgtransferd.service) >"$tmp/security.log" 2>&1
score=$(grep -o 'Overall exposure level for bgtransferd.service: .*' "$tmp/security.log")
echo "unit: ${score:-no score}"
if [ -n "$score" ]; then
  cases+="<testcase classname=\"unit\" name=\"systemd-analyze security\" summary=\"unit: $score\"/>"
else
  failures=$((failures + 1)); cat "$tmp/security.log"
  cases+='<testcase classname="unit" name="systemd-analyze security"><failure message="no exposure score"/></testcase>'
fi
printf '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="unit">%s</testsuite></testsuites>\n' \
  "$cases" >"$out/unit.xml"
[ $failures -eq 0 ]
