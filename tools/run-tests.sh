#!/bin/bash
# Installs what is missing, builds, runs every test suite and the CI jobs,
# prints a summary of test cases (tools/test-summary.py): its last line is
#   N passed, M failed, K skipped
#
# Jobs (BGT_CI_JOBS, default all of them, in this order; see tests/README.md):
#   tests     meson test in _build (arguments to this script go to meson test)
#   unit      tools/check-unit.sh: systemd-analyze verify and security of the
#             user unit (prints its exposure score)
#   docs      _build is configured with -Ddocs=true, so the build makes the
#             API reference (gi-docgen, any warning fails the build);
#             tools/check-docs.py: nothing newly undocumented, README and
#             docs link nothing outside the repository
#   fuzz      tools/fuzz.sh: the libFuzzer build (_fuzz), each target
#             FUZZ_SECONDS (10) from its committed corpus
#   sanitize  an ASan + UBSan build (_asan) running the unit suite and the
#             integration suites of BGT_SANITIZE_SUITES
#   valgrind  the security suite with the service under valgrind memcheck:
#             no definite leak, no memory error
#   soak      tests/soak.py for SOAK_MINUTES (5) minutes, in the background
#             from the start of the fuzz job (it waits on timers, not CPU)
# A red job makes the exit status non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${BGT_CI_JOBS:-tests unit docs fuzz sanitize valgrind soak}
sanitize_suites=${BGT_SANITIZE_SUITES:-download security cli bindings harness policy}
# Without LeakSanitizer: its tracer crashes now and then at the exit of an
# FTPS transfer's service ("Tracer caught signal 11"), a false alarm
sanitize_noleak_suites=${BGT_SANITIZE_NOLEAK_SUITES:-ftp}
results=_build/test-results
has_job() { [[ " $jobs " == *" $1 "* ]]; }
stamp() { echo "== $(date +%T) $*"; }

tools/install-deps.sh || exit 1
setup_args=()
if has_job docs; then setup_args+=(-Ddocs=true); fi
if [ -d _build ]; then
  meson setup --reconfigure "${setup_args[@]}" _build >/dev/null
else
  meson setup "${setup_args[@]}" _build >/dev/null
fi || exit 1
ninja -C _build || exit 1
# Results of an earlier run must not count for this one
rm -rf "$results" _asan/test-results _fuzz/fuzz-results.xml
mkdir -p "$results"
status=0
summary_args=()

if has_job tests; then
  stamp "tests"
  meson test -C _build --print-errorlogs "$@" || status=1
fi

if has_job unit; then
  stamp "unit"
  tools/check-unit.sh _build || status=1
  summary_args+=(--junit "unit=$results/unit.xml")
fi

if has_job docs; then
  stamp "docs"
  /usr/bin/python3 tools/check-docs.py _build || status=1
  summary_args+=(--junit "docs=$results/docs.xml")
fi

soak_pid=
if has_job soak; then
  stamp "soak: ${SOAK_MINUTES:-5} minutes, in the background (log: $results/soak.log)"
  meson devenv -C _build /usr/bin/python3 "$top/tests/soak.py" --minutes "${SOAK_MINUTES:-5}" \
    --junit "$top/$results/soak.xml" >"$results/soak.log" 2>&1 &
  soak_pid=$!
  summary_args+=(--junit "soak=$results/soak.xml")
fi

if has_job fuzz; then
  stamp "fuzz"
  tools/fuzz.sh --builddir _fuzz || status=1
  summary_args+=(--junit "fuzz=_fuzz/fuzz-results.xml")
fi

if has_job sanitize; then
  stamp "sanitize: unit + integration ($sanitize_suites; $sanitize_noleak_suites without LSan)"
  asan_runtime=$(gcc -print-file-name=libasan.so)
  # The suites need the library instrumented too (GI loads it into Python)
  export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  if [ ! -d _asan ]; then
    meson setup _asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null || status=1
  else
    meson setup --reconfigure _asan >/dev/null || status=1
  fi
  if ninja -C _asan; then
    # Unit tests with LeakSanitizer; the service with it too (BGT_SERVICE_ENV)
    ASAN_OPTIONS=detect_leaks=1 meson test -C _asan --suite unit --print-errorlogs || status=1
    mv _asan/meson-logs/testlog.json _asan/meson-logs/unit.json
    LD_PRELOAD=$asan_runtime BGT_SANITIZED=true \
      BGT_SERVICE_ENV="ASAN_OPTIONS=detect_leaks=1:handle_segv=0 G_SLICE=always-malloc" \
      meson test -C _asan --suite integration $sanitize_suites --print-errorlogs || status=1
    mv _asan/meson-logs/testlog.json _asan/meson-logs/integration.json
    summary_args+=(--testlog "sanitize=_asan/meson-logs/unit.json"
                   --testlog "sanitize=_asan/meson-logs/integration.json")
    if [ -n "$sanitize_noleak_suites" ]; then
      LD_PRELOAD=$asan_runtime BGT_SANITIZED=true \
        BGT_SERVICE_ENV="ASAN_OPTIONS=detect_leaks=0:handle_segv=0 G_SLICE=always-malloc" \
        meson test -C _asan --suite integration $sanitize_noleak_suites --print-errorlogs || status=1
      mv _asan/meson-logs/testlog.json _asan/meson-logs/integration-noleak.json
      summary_args+=(--testlog "sanitize=_asan/meson-logs/integration-noleak.json")
    fi
  else
    status=1
    summary_args+=(--junit "sanitize=_asan/build-failed.xml")
  fi
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if has_job valgrind; then
  stamp "valgrind: the security suite"
  vg=$results/valgrind
  rm -rf "$vg" && mkdir -p "$vg"
  BGT_BUILDDIR=$top/_build BGT_SRCDIR=$top LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 \
  BGT_SERVICE_PREFIX="valgrind --leak-check=full --show-leak-kinds=definite \
--errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=40 \
--suppressions=/usr/share/glib-2.0/valgrind/glib.supp --log-file=$top/$vg/memcheck.%p" \
    meson devenv -C _build /usr/bin/python3 -m pytest -v -p no:cacheprovider -rfEs \
      --junitxml="$top/$vg/pytest-security.xml" -o junit_suite_name=valgrind \
      "$top/tests/integration/test_security.py" || status=1
  /usr/bin/python3 tools/valgrind-report.py "$vg" || status=1
  summary_args+=(--junit "valgrind=$vg/pytest-security.xml" --junit "valgrind=$vg/memcheck.xml")
fi

if [ -n "$soak_pid" ]; then
  stamp "soak: waiting for it"
  wait "$soak_pid" || status=1
  grep -v '^dbus-daemon\[' "$results/soak.log" | grep -E '^(violation|known gap):' || true
  grep '^soak: ' "$results/soak.log" || echo "soak: no summary line (see $results/soak.log)"
fi

stamp "summary"
if has_job tests; then
  /usr/bin/python3 tools/test-summary.py _build "${summary_args[@]}" || status=1
else
  /usr/bin/python3 tools/test-summary.py --no-build "${summary_args[@]}" || status=1
fi
exit $status
