#!/bin/sh
# run.sh: runs one libFuzzer harness for a bounded time as a TAP test (make check-fuzz).
# The argument is tests/fuzz/run_NAME.fuzz (its lines not starting with '#' are extra
# libFuzzer options); the harness is $FUZZ_BIN/fuzz_NAME (make fuzz), its seeds
# $FUZZ_HOME/corpus/NAME and regress/NAME, its dictionary $FUZZ_HOME/dict/NAME.dict.
# New inputs go to a temporary folder, never into the source tree. A crash, sanitizer
# report, leak or timeout fails the test; its input is kept in $FUZZ_BIN/artifacts/.
name=$(basename "$1" .fuzz)
name=${name#run_}
bin="$FUZZ_BIN/fuzz_$name"
seconds=${FUZZ_SECONDS:-10}
echo "1..1"
if [ ! -x "$bin" ]; then
  echo "not ok 1 - fuzz_$name: $bin is not built (make fuzz)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
opts=$(grep -v '^#' "$1" 2>/dev/null)
[ -f "$FUZZ_HOME/dict/$name.dict" ] && opts="$opts -dict=$FUZZ_HOME/dict/$name.dict"
dirs="$work/corpus"
for d in "$FUZZ_HOME/corpus/$name" "$FUZZ_HOME/regress/$name"; do
  [ -d "$d" ] && dirs="$dirs $d"
done
# shellcheck disable=SC2086 # opts and dirs are word lists
nice -n 10 "$bin" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
  -artifact_prefix="$work/" $opts $dirs >"$work/log" 2>&1
rc=$?
execs=$(sed -n "s/^stat::number_of_executed_units: *//p" "$work/log")
cov=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
if [ "$rc" = 0 ]; then
  echo "ok 1 - fuzz_$name: ${execs:-?} executions in ${seconds} s, ${cov:-cov ?}"
  exit 0
fi
mkdir -p "$FUZZ_BIN/artifacts"
for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
  [ -f "$a" ] && cp "$a" "$FUZZ_BIN/artifacts/${name}-$(basename "$a")"
done
echo "not ok 1 - fuzz_$name: exit $rc after ${execs:-?} executions (inputs in $FUZZ_BIN/artifacts/)"
grep -E 'ERROR|Error|SUMMARY|runtime error|^ *#[0-9]+ 0x' "$work/log" | head -n 30 | sed 's/^/# /'
exit 0
