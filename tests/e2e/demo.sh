#!/bin/sh
# End-to-end: README's command 1 ends with `make demo` (scripts/demo.sh): the main job on the
# embedded store with the shipped samples. It runs to the end and shows what it promises.
. "$INSITU_TEST_LIB"

SRC=$(cd "$DATA/../.." && pwd)
run env DEMO_STORE="$T/demo.db" sh "$SRC/scripts/demo.sh" "$INSITU" "$SRC"
equal "the demo exits 0" "$RC" 0
equal "it says nothing on stderr but the lenient ingest's warning" \
  "$(printf '%s\n' "$ERR" | grep -c .)" 1
equal "eight sources ingested" "$(printf '%s\n' "$OUT" | grep -c '^ingested ')" 8
equal "the repeated CSV is skipped" \
  "$(printf '%s\n' "$OUT" | grep -c '^skipped .*hydroweb_wse_long.csv (csv): unchanged')" 1
equal "twelve rasters sampled at two stations" \
  "$(printf '%s\n' "$OUT" | grep -c '^sampled .*: 2 stations, 0 missing')" 12
STORE="$T/demo.db"
things=$(sql "SELECT count(*) FROM things")
features=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["features"]))' \
  "$T/demo-stations.geojson")
equal "demo-stations.geojson: one Feature per Thing" "$features" "$things"
case $OUT in
  *"(all),,,24,0.004305,"*) ok "the match-up's statistics over the 24 pairs" ;;
  *) not_ok "the match-up's statistics over the 24 pairs" "$OUT" ;;
esac
case $OUT in
  *"35,57205900041,wse,m,2026-04-19T19:08:39.531Z,118.0225,"*) ok "a SWOT reach's wse" ;;
  *) not_ok "a SWOT reach's wse" "$OUT" ;;
esac
equal "every run complete or skipped" \
  "$(sql "SELECT count(*) FROM ingest_runs WHERE status NOT IN ('complete', 'skipped')")" 0
done_testing
