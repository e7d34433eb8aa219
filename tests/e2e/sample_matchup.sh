#!/bin/sh
# End-to-end: stations from a CSV, `insitu sample` on real rasters (MODIS sinusoidal JPEG2000,
# ESA CCI NetCDF without CRS, UTM GeoTIFF), values checked against gdallocationinfo,
# re-sampling skipped, then `insitu matchup` against a (synthetic) in-situ NDVI series with
# statistics recomputed here from the printed pairs.
. "$INSITU_TEST_LIB"
R="$DATA/raster"
CCI="$R/esa_cci_sm/ESACCI-SOILMOISTURE-L3S-SSMV-PASSIVE-20161227000000-fv04.2.nc"

insitu init >/dev/null
expect 1 "sampling an empty store says there are no stations" "no station to sample" -- \
  insitu sample --product MOD13Q1 "$R/mod13q1"
insitu ingest "$R/stations.csv" "$R/ndvi_insitu.csv" >/dev/null
expect 2 "--product is required" "--product NAME is required" -- insitu sample "$R/mod13q1"
expect 2 "an even window is bad usage" "expected an odd size" -- \
  insitu sample --product X --window 4 "$R/mod13q1/TERRA_MODIS_012010_NDVI_2013-09-14.jp2"

expect 0 "sample a folder of 12 MODIS rasters" "sampled" "3 stations, 0 missing" -- \
  insitu sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 "$R/mod13q1"
equal "one line per raster" "$(printf '%s\n' "$OUT" | grep -c '^sampled')" 12
equal "36 NDVI observations" \
  "$(sql "SELECT count(*) FROM observations o JOIN datastreams d ON d.id = o.datastream_id JOIN observed_properties p ON p.id = d.observed_property_id WHERE p.name = 'NDVI'")" 36

# the stored values are gdallocationinfo's, scaled, at the acquisition date of the file name
expected=""
for f in "$R"/mod13q1/*.jp2; do
  d=$(basename "$f" .jp2 | sed 's/.*NDVI_//')
  vals=$(printf -- '-55.5 -11.6\n-55.3 -11.7\n-55.7 -11.55\n' | gdallocationinfo -valonly -wgs84 "$f")
  set -- MT1 MT2 MT3
  for v in $vals; do
    expected="$expected$1,${d}T00:00:00Z,$(awk -v v="$v" 'BEGIN { printf "%.4f", v * 0.0001 }')
"
    shift
  done
done
run insitu query --property NDVI --format csv
actual=$(printf '%s\n' "$OUT" | tail -n +2 | awk -F, '{ printf "%s,%s,%.4f\n", $2, $5, $6 }' | sort)
equal "NDVI values equal gdallocationinfo's for 3 stations x 12 rasters" "$actual" \
  "$(printf '%s' "$expected" | sort)"

before=$(sql "SELECT count(*) FROM observations")
expect 0 "sampling the same rasters again is a no-op" "skipped" "unchanged" -- \
  insitu sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 "$R/mod13q1"
equal "every raster is skipped" "$(printf '%s\n' "$OUT" | grep -c '^skipped')" 12
equal "no observation changed" "$(sql "SELECT count(*) FROM observations")" "$before"
equal "sources shows the skipped runs" \
  "$(insitu sources | grep -c ',skipped,raster-sample,')" 12
expect 0 "a glob works like the folder" "skipped" -- \
  insitu sample --product MOD13Q1 --property NDVI --scale 0.0001 --nodata -3000 "$R/mod13q1/*2014-0[12]*.jp2"
equal "the glob named 2 rasters" "$(printf '%s\n' "$OUT" | grep -c '^skipped')" 2

# NetCDF without CRS: refused, then sampled with --assume-crs, per-pixel t0 times
expect 1 "a NetCDF without CRS needs --assume-crs" "no coordinate reference system" \
  "--assume-crs EPSG:4326" -- insitu sample --product CCI-SM "NETCDF:\"$CCI\":sm"
expect 0 "NETCDF:\"file\":sm with --assume-crs" "sampled" "10 stations" -- \
  insitu sample --product CCI-SM --assume-crs EPSG:4326 "NETCDF:\"$CCI\":sm"
run insitu query --thing AUS1 --property sm --format csv
t0=$(gdallocationinfo -valonly -geoloc "NETCDF:\"$CCI\":t0" 147.3 -33.1)
equal "the observation time is the pixel's t0 (days since 1970)" \
  "$(printf '%s\n' "$OUT" | tail -n 1 | cut -d, -f5)" \
  "$(python3 -c "import datetime as d; print((d.datetime(1970,1,1) + d.timedelta(seconds=round($t0 * 86400))).strftime('%Y-%m-%dT%H:%M:%SZ'))")"
equal "and the value gdallocationinfo's" \
  "$(printf '%s\n' "$OUT" | tail -n 1 | cut -d, -f6 | awk '{ printf "%.9f", $1 }')" \
  "$(gdallocationinfo -valonly -geoloc "NETCDF:\"$CCI\":sm" 147.3 -33.1 | awk '{ printf "%.9f", $1 }')"
equal "a fill value is a NULL result flagged nodata" \
  "$(sql "SELECT count(*) FROM observations_text o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id JOIN observed_properties p ON p.id = d.observed_property_id WHERE p.name = 'sm' AND t.code = 'SOCAL1' AND o.result IS NULL AND o.result_quality = 'nodata'")" 1

# a GeoTIFF without date; a window
expect 1 "a raster without date asks for --date" "give --date or --date-pattern" -- \
  insitu sample --product RGB "$R/rasterio/RGB.byte.tif"
expect 0 "--date and a 3x3 window" "sampled" "3 stations, 1 missing" -- \
  insitu sample --product RGB --band 1 --window 3 --date 2020-01-01 "$R/rasterio/RGB.byte.tif"
equal "the window statistics are parameters" \
  "$(sql "SELECT parameters FROM observations_text o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id WHERE t.code = 'BAH1' AND d.qualifier = 'window3-mean'" |
     python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["n_valid"], p["method"])')" \
  "9 window3-mean"
expect 0 "query sees the product datastream as GeoJSON with the pixel as feature" '"Feature"' \
  -- insitu query --thing BAH1 --property RGB --format geojson

# matchup: in-situ NDVI (synthetic) against the sampled MOD13Q1 NDVI at MT1 and MT2
expect 2 "--tolerance is required" "--tolerance are required" -- \
  insitu matchup --insitu ndvi_insitu --product NDVI
expect 0 "matchup by property: one pair set per station" "(all)" -- \
  insitu matchup --insitu ndvi_insitu --product NDVI --tolerance P2D --plot "$T/plot.svg"
printf '%s\n' "$OUT" >"$T/matchup.csv"
equal "24 pairs" "$(sed -n '2,/^$/p' "$T/matchup.csv" | grep -c ',')" 24
check=$(python3 - "$T/matchup.csv" <<'PY'
import csv, math, sys
text = open(sys.argv[1]).read().split("\n\n")
pairs = list(csv.DictReader(text[0].splitlines()))
stats = {r["thing"]: r for r in csv.DictReader(text[1].splitlines())}
bad = []
for thing in ("MT1", "MT2"):
    p = [(float(r["insitu"]), float(r["product"])) for r in pairs if r["thing"] == thing]
    n = len(p); o = [a for a, b in p]; s = [b for a, b in p]
    mo, ms = sum(o) / n, sum(s) / n
    vo = sum((x - mo) ** 2 for x in o); vs = sum((x - ms) ** 2 for x in s)
    cov = sum((a - mo) * (b - ms) for a, b in p)
    r = cov / math.sqrt(vo * vs)
    want = {"n": n, "bias": ms - mo, "rmse": math.sqrt(sum((b - a) ** 2 for a, b in p) / n),
            "r": r, "nse": 1 - sum((b - a) ** 2 for a, b in p) / vo,
            "kge": 1 - math.sqrt((r - 1) ** 2 + (math.sqrt(vs / vo) - 1) ** 2 + (ms / mo - 1) ** 2)}
    for k, v in want.items():
        if abs(float(stats[thing][k]) - v) > 1e-8 * max(1, abs(v)):
            bad.append(f"{thing} {k} {stats[thing][k]} != {v}")
print("ok" if not bad else "; ".join(bad))
PY
)
equal "statistics equal an independent computation from the pairs" "$check" ok
equal "the SVG plot is well-formed, with the 1:1 line and the pooled n" \
  "$(python3 -c "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); t = open(sys.argv[1]).read(); print(r.tag.split('}')[-1], 'class=\"one\"' in t, 'n = 24' in t)" "$T/plot.svg")" \
  "svg True True"
run insitu matchup --insitu ndvi_insitu --product NDVI --tolerance 12h --format json
equal "a 12 h tolerance finds no pair (in situ is 34 h after) and reports no statistics" \
  "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["all"]["n"], d["all"]["rmse"], len(d["sets"][0]["pairs"]))')" \
  "0 None 0"
expect 0 "--reduce mean over 2 days" "MT1," -- \
  insitu matchup --insitu ndvi_insitu --product NDVI --tolerance 2d --reduce mean --min-n 20
equal "below --min-n the statistics are not reported" \
  "$(printf '%s\n' "$OUT" | grep '^MT1,' | tail -n 1 | cut -d, -f4,5,12)" "12,,n < min-n (20): not reported"
done_testing
