# lib.sh: TAP helpers for the end-to-end tests, which drive the real insitu binary.
# Each test script sources this file, calls `check`/`expect` and ends with `done_testing`.
set -u
: "${INSITU:=$(pwd)/insitu}"
: "${INSITU_TEST_DATA:=$(pwd)/tests/data}"
DATA=$INSITU_TEST_DATA
T=$(mktemp -d "${TMPDIR:-/tmp}/insitu-e2e-XXXXXX")
cd "$T" || exit 1
n=0
# The backend under test: sqlite (a file), or postgresql (a throw-away cluster on 127.0.0.1,
# started here and stopped at exit; the .pgsh twin of each script sets it).
BACKEND=${INSITU_TEST_BACKEND:-sqlite}
# Cleanup at exit: a script adds its own steps with `at_exit 'COMMAND'` (run first, newest
# first) instead of replacing this trap, so that its cluster is always stopped.
EXIT_STEPS=""
at_exit() { EXIT_STEPS="$1; $EXIT_STEPS"; }
trap 'eval "$EXIT_STEPS"; [ "$BACKEND" = postgresql ] && "$INSITU_TEST_PG_CLUSTER" stop "$T/pg"; rm -rf "$T"' EXIT
if [ "$BACKEND" = postgresql ]; then
  STORE=$("$INSITU_TEST_PG_CLUSTER" start "$T/pg") || { echo "1..0 # SKIP no PostgreSQL"; exit 1; }
else
  STORE="$T/store.db"
fi

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); echo "not ok $n - $1"
  shift
  for line in "$@"; do printf '# %s\n' "$line" | head -c 2000; done
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# run CMD...: runs a command, keeping its status in RC, stdout in OUT, stderr in ERR
run() {
  "$@" >"$T/.out" 2>"$T/.err"
  RC=$?
  OUT=$(cat "$T/.out")
  ERR=$(cat "$T/.err")
}

# After `PID=$!` of an `insitu serve --listen 127.0.0.1:0 ... 2>"$T/serve.err" &`: waits for
# the URL the server prints (in URL); ends the script when it does not start.
serve_wait() {
  URL=""
  i=0
  while [ $i -lt 1200 ] && [ -z "$URL" ]; do
    URL=$(sed -n 's/^insitu: serving .* at \(http:[^ ]*\) .*/\1/p' "$T/serve.err" 2>/dev/null)
    kill -0 "$PID" 2>/dev/null || break
    [ -z "$URL" ] && sleep 0.05
    i=$((i + 1))
  done
  [ -n "$URL" ] || { not_ok "server started" "$(cat "$T/serve.err")"; done_testing; exit 1; }
}

# wait_file FILE [PID]: waits for an event, not for a time: until FILE exists and is not
# empty (or, with PID, until that process ends first); gives up after 60 s so that a broken
# helper cannot hang the suite. 0 when FILE is there.
wait_file() {
  i=0
  while [ ! -s "$1" ] && [ $i -lt 1200 ]; do
    [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && break
    sleep 0.05
    i=$((i + 1))
  done
  [ -s "$1" ]
}

# wait_until [-p PID] DESCRIPTION CMD...: waits for an event, not for a time: runs CMD (a
# command or a shell function) until it succeeds, or (with -p) until process PID has ended;
# gives up after $INSITU_TEST_WAIT seconds (60 by default: only something really broken
# takes that long, even on a loaded machine), saying what it waited for. 0 when CMD succeeded.
wait_until() {
  wu_pid=""
  [ "$1" = -p ] && { wu_pid=$2; shift 2; }
  wu_desc=$1
  shift
  wu_end=$(($(date +%s) + ${INSITU_TEST_WAIT:-60}))
  until "$@"; do
    if [ -n "$wu_pid" ] && ! kill -0 "$wu_pid" 2>/dev/null; then
      echo "# stopped waiting for $wu_desc: process $wu_pid ended"
      return 1
    fi
    if [ "$(date +%s)" -ge "$wu_end" ]; then
      echo "# gave up waiting for $wu_desc after ${INSITU_TEST_WAIT:-60} s"
      return 1
    fi
    sleep 0.05
  done
}

# hold_port: a process listening on a free loopback port, until killed: its port in
# HELD_PORT, its pid in HELD_PID (the caller kills it).
hold_port() {
  python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(600)' >"$T/held_port" &
  HELD_PID=$!
  wait_file "$T/held_port" "$HELD_PID"
  HELD_PORT=$(cat "$T/held_port")
}

# Stops the server with SIGTERM; its exit status in STOP_RC.
stop_server() {
  kill -TERM "$PID"
  wait "$PID"
  STOP_RC=$?
  PID=""
}

# fetch METHOD URL [curl options]: status in CODE, body in BODY, headers in $T/headers
fetch() {
  m=$1 u=$2
  shift 2
  CODE=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$m" "$@" "$u")
  BODY=$(cat "$T/body" 2>/dev/null)
  # no answer at all: show what the server said
  [ "$CODE" = 000 ] && CODE="000 (server: $(tr '\n' ' ' <"$T/serve.err" 2>/dev/null))"
}

# py EXPR: evaluates EXPR with d = the JSON body of the last fetch
py() { printf '%s' "$BODY" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# header NAME: the value of a header of the last fetch
header() { tr -d '\r' <"$T/headers" | sed -n "s/^$1: //Ip" | head -n 1; }

# insitu ARGS...: the binary on the test store
insitu() { "$INSITU" --store "$STORE" "$@"; }

# expect CODE DESCRIPTION [TEXT...] -- CMD...: CMD exits with CODE and its output (stdout
# then stderr) contains every TEXT
expect() {
  code=$1 desc=$2
  shift 2
  texts=""
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do texts="$texts$1
"; shift; done
  shift
  run "$@"
  all="$OUT
$ERR"
  if [ "$RC" != "$code" ]; then
    not_ok "$desc" "exit $RC, expected $code" "stdout: $OUT" "stderr: $ERR"
    return
  fi
  missing=""
  old_ifs=$IFS
  IFS='
'
  for t in $texts; do
    case $all in *"$t"*) ;; *) missing="$t";; esac
    [ -n "$missing" ] && break
  done
  IFS=$old_ifs
  if [ -n "$missing" ]; then
    not_ok "$desc" "output lacks: $missing" "stdout: $OUT" "stderr: $ERR"
  else
    ok "$desc"
  fi
}

# equal DESCRIPTION ACTUAL EXPECTED
equal() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got: $2" "expected: $3"; fi
}

# sql QUERY: the result of QUERY on the test store (sqlite3 or psql)
sql() {
  if [ "$BACKEND" = postgresql ]; then psql -X -A -t -q "$STORE" -c "$1"; else sqlite3 "$STORE" "$1"; fi
}

done_testing() { echo "1..$n"; }

# sta_script NAME WHAT: runs tests/NAME.py (python3, TAP lines of its own) against the real
# `insitu serve` on a free loopback port over the (empty) test store with a write token,
# renumbering its lines into this script's; WHAT names it in the last check.
sta_script() {
  rm -f "$T/serve.err"
  INSITU_SERVE_TOKEN=s3cret "$INSITU" --store "$STORE" serve --listen 127.0.0.1:0 --threads 2 \
    2>"$T/serve.err" &
  PID=$!
  at_exit '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'
  serve_wait
  python3 "$(dirname "$INSITU_TEST_LIB")/../$1.py" "$URL" s3cret >"$T/$1.out" 2>&1
  script_rc=$?
  while IFS= read -r line; do
    case "$line" in
      "ok "*) ok "${line#ok [0-9]* - }" ;;
      "not ok "*) not_ok "${line#not ok [0-9]* - }" ;;
      "1.."*) ;;
      *) echo "$line" ;;
    esac
  done <"$T/$1.out"
  equal "$2 ran to its end" "$script_rc $(tail -n 1 "$T/$1.out" | cut -c1-3)" "0 1.."
}
