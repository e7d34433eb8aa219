#!/bin/sh
# long_run.sh: the long fuzzing run of docs/reliability.md: each harness named (default: all
# that make fuzz built) for RUNS executions (default 1000000) or SECONDS at most (default
# 3600), one at a time, under nice -n 10, with ASan, UBSan and leak detection. Prints one
# line per harness: executions, seconds, exec/s, cov, ft, and the outcome. New inputs go to
# a temporary folder; a crash's input is kept in fuzz-build/artifacts/.
# usage: tests/fuzz/long_run.sh [NAME...]   (from the build directory, after make fuzz)
here=$(cd "$(dirname "$0")" && pwd)
bin=${FUZZ_BIN:-fuzz-build}
runs=${RUNS:-1000000}
seconds=${SECONDS_MAX:-3600}
[ $# -gt 0 ] || set -- $(cd "$bin" && ls fuzz_* | sed 's/^fuzz_//')
mkdir -p "$bin/artifacts"
for name in "$@"; do
  work=$(mktemp -d)
  mkdir "$work/corpus"
  dirs="$work/corpus"
  for d in "$here/corpus/$name" "$here/regress/$name"; do [ -d "$d" ] && dirs="$dirs $d"; done
  dict=""
  [ -f "$here/dict/$name.dict" ] && dict="-dict=$here/dict/$name.dict"
  start=$(date +%s)
  # shellcheck disable=SC2086
  nice -n 10 "$bin/fuzz_$name" -runs="$runs" -max_total_time="$seconds" -timeout=60 \
    -print_final_stats=1 -artifact_prefix="$bin/artifacts/$name-" $dict $dirs >"$work/log" 2>&1
  rc=$?
  end=$(date +%s)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
  cov=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
  if [ "$rc" = 0 ]; then outcome="no crash, no sanitizer report, no leak"; else outcome="FAILED (exit $rc)"; fi
  echo "fuzz_$name: ${execs:-?} executions in $((end - start)) s (${rate:-?} exec/s), ${cov:-cov ?}: $outcome"
  [ "$rc" = 0 ] || grep -E 'ERROR|SUMMARY|runtime error' "$work/log" | head -n 10 | sed 's/^/  /'
  cp "$work/log" "$bin/long_run_$name.log"
  rm -rf "$work"
done
