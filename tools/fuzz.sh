#!/bin/bash
# fuzz.sh: builds the libFuzzer build (clang, -Dfuzzing=true) and runs every
# fuzz target of tests/fuzz for a while, starting from its committed corpus.
#
#   tools/fuzz.sh [--seconds N] [--builddir DIR] [TARGET...]
#
# N seconds per target (FUZZ_SECONDS, default 10); DIR defaults to _fuzz.
# New inputs go to DIR/fuzz-corpus/TARGET (never into the committed corpus);
# a crash is saved as DIR/fuzz-artifacts/TARGET/crash-* and fails the run:
# commit it to tests/fuzz/corpus/TARGET/ with the fix, as a regression test.
# Writes DIR/fuzz-results.xml (JUnit, one case per target) for
# tools/test-summary.py.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
seconds=${FUZZ_SECONDS:-10}
builddir=_fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --builddir) builddir=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for c in "$top"/tests/fuzz/fuzz-*.c; do
    t=$(basename "$c" .c); targets+=("${t#fuzz-}")
  done
fi

if [ ! -f "$builddir/build.ninja" ]; then
  # No integration suites here (no introspection), so not under CI=true,
  # which would require them
  rm -rf "$builddir"
  env -u CI CC=clang meson setup "$builddir" -Dfuzzing=true -Dintrospection=false -Dtests=true \
    -Db_sanitize=address,undefined -Db_lundef=false >"${TMPDIR:-/tmp}/bgt-fuzz-setup.log" 2>&1 || {
    cat "${TMPDIR:-/tmp}/bgt-fuzz-setup.log"; exit 1; }
fi
ninja -C "$builddir" $(for t in "${targets[@]}"; do echo "tests/fuzz/fuzz-$t"; done) >/dev/null || {
  ninja -C "$builddir" | tail -20; exit 1; }

results="$builddir/fuzz-results.xml"
cases=""
failures=0
for t in "${targets[@]}"; do
  corpus="$builddir/fuzz-corpus/$t"
  artifacts="$builddir/fuzz-artifacts/$t"
  log="$builddir/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  start=$(date +%s%N)
  # Leaks count too; one process, the corpus merged from the committed one
  G_DEBUG=gc-friendly,fatal-criticals LC_ALL=C.UTF-8 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$builddir/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$corpus" "$top/tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  end=$(date +%s%N)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  time=$(awk "BEGIN { printf \"%.3f\", ($end - $start) / 1e9 }")
  if [ $rc -eq 0 ]; then
    echo "fuzz-$t: ok, ${runs:-?} runs in ${seconds} s"
    cases+="<testcase classname=\"fuzz\" name=\"fuzz-$t\" time=\"$time\"/>"
  else
    failures=$((failures + 1))
    crash=$(ls "$artifacts" 2>/dev/null | head -1)
    echo "fuzz-$t: FAILED (status $rc) ${crash:+artifact $artifacts/$crash}; log $log"
    grep -m3 -E 'ERROR|runtime error|ERROR:|\*\*' "$log" | sed 's/^/  /'
    msg=$(grep -m1 -E 'ERROR|runtime error|\*\*' "$log" | sed 's/[<>&"]/_/g')
    cases+="<testcase classname=\"fuzz\" name=\"fuzz-$t\" time=\"$time\"><failure message=\"${msg:-status $rc} ${crash:+($artifacts/$crash)}\"/></testcase>"
  fi
done
printf '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="fuzz" tests="%d" failures="%d">%s</testsuite></testsuites>\n' \
  "${#targets[@]}" "$failures" "$cases" >"$results"
[ $failures -eq 0 ]
