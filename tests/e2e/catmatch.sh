#!/bin/sh
# End-to-end: a categorical match-up. An in-situ snow-depth series at two stations (CSV),
# a series of Let-It-Snow L2B snow masks written here with GDAL's Python bindings after
# ../shared/THEIA-RASTERS.md (8-bit, 20 m, UTM; 0 no snow, 100 snow, 205 cloud, 254 no data;
# MUSCATE names with the acquisition time), sampled at the stations (nearest pixel: its code),
# then `insitu matchup --threshold 2 --product-classes 100=1,0=0`: the confusion matrix,
# overall accuracy, kappa, precision, recall and dropped codes equal a computation made here
# from the rasters and the CSV (numpy), independently of insitu.
. "$INSITU_TEST_LIB"
# GDAL's Python bindings and numpy are Debian's (python3-gdal, python3-numpy): a python3
# earlier in PATH (pyenv, a venv) may not have them
PYGDAL=python3
for p in python3 /usr/bin/python3; do
  "$p" -c 'import numpy, osgeo' 2>/dev/null && { PYGDAL=$p; break; }
done

mkdir -p "$T/snow"
"$PYGDAL" - "$T" <<'PY'
import datetime as dt, json, random, sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
out = sys.argv[1]
random.seed(16)
rng = np.random.default_rng(16)
# tile T31TGL (UTM 31N): a 300 x 300 crop at 20 m
x0, y0, px, size = 700000.0, 5100000.0, 20.0, 300
utm = osr.SpatialReference(); utm.ImportFromEPSG(32631)
wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326)
for s in (utm, wgs):
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
to_wgs = osr.CoordinateTransformation(utm, wgs)
# two stations somewhere inside pixels (not at their centres)
stations = {"COL1": (700000 + 20 * 57 + 3.1, 5100000 - 20 * 201 - 14.2),
            "COL2": (700000 + 20 * 240 + 17.9, 5100000 - 20 * 33 - 2.5)}
lonlat = {k: to_wgs.TransformPoint(x, y)[:2] for k, (x, y) in stations.items()}
rows = ["thing,latitude,longitude,observed_property,unit,phenomenon_time,result"]
start = dt.datetime(2018, 1, 1, tzinfo=dt.timezone.utc)
codes = [0, 100, 205, 254]
for day in range(40):
    t = start + dt.timedelta(days=2 * day, hours=10, minutes=30, seconds=13, milliseconds=461)
    name = t.strftime("SENTINEL2B_%Y%m%d-%H%M%S-") + "461_L2B-SNOW_T31TGL_C_V2-0_SNW_R2.tif"
    data = rng.choice(codes, size=(size, size), p=[0.4, 0.4, 0.15, 0.05]).astype(np.uint8)
    ds = gdal.GetDriverByName("GTiff").Create(f"{out}/snow/{name}", size, size, 1, gdal.GDT_Byte)
    ds.SetGeoTransform((x0, px, 0, y0, 0, -px))
    ds.SetProjection(utm.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(data)
    ds = None
# in situ: snow depth (cm) twice a day, 06:00 and 18:00, for 80 days; mostly consistent
# with the product, sometimes not, with values at the threshold (2 cm is not snow)
for thing, (lon, lat) in lonlat.items():
    for day in range(80):
        for hour in (6, 18):
            t = start + dt.timedelta(days=day, hours=hour)
            depth = random.choice([0, 0, 0, 1, 2, 2, 2.5, 3, 10, 25, 40, 80])
            rows.append(f"{thing},{lat:.9f},{lon:.9f},snow_depth,cm,"
                        f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{depth}")
open(f"{out}/snow_depth.csv", "w").write("\n".join(rows) + "\n")
json.dump(lonlat, open(f"{out}/stations.json", "w"))
PY
equal "40 snow masks written" "$(find "$T/snow" -name '*_SNW_R2.tif' | wc -l | tr -d ' ')" 40

insitu init >/dev/null
insitu ingest "$T/snow_depth.csv" >/dev/null
expect 0 "sample the snow masks at the stations" "sampled" "2 stations, 0 missing" -- \
  insitu sample --product LIS-SNOW --property snow --unit 1 "$T/snow"

# usage errors, before the store is read
run insitu matchup --insitu snow_depth --product snow --tolerance 6h --threshold two
equal "--threshold takes a number" "$RC: $ERR" "2: insitu matchup: --threshold two: not a number
(see 'insitu matchup --help')"
run insitu matchup --insitu snow_depth --product snow --tolerance 6h --product-classes 100:1
equal "--product-classes takes CODE=CLASS" "$RC: $ERR" "2: insitu matchup: --product-classes: '100:1': expected PRODUCT_CODE=CLASS_CODE (integers), such as 100=1,0=0
(see 'insitu matchup --help')"
run insitu matchup --insitu snow_depth --product snow --tolerance 6h --threshold 2 --scale 0.01
equal "no --scale in a categorical match-up" "$RC" 2
run insitu matchup --insitu snow_depth --product snow --tolerance 6h --categorical --reduce mean
equal "no mean of class codes" "$RC: $(printf '%s' "$ERR" | head -n 1)" \
  "2: insitu matchup: --reduce mean: the mean of class codes is no class; give --threshold to classify the in-situ mean, or use --reduce nearest"
expect 1 "a numeric in-situ series needs a threshold" "insitu: thing 'COL1', product time 2018-01-" \
  "in-situ value 2.5 is not a class code (an integer): give --threshold to classify a numeric series" -- \
  insitu matchup --insitu snow_depth --product snow --tolerance 6h --categorical

MATCH="insitu matchup --insitu snow_depth --product snow --tolerance 6h --threshold 2 --product-classes 100=1,0=0 --class-names 0=no_snow,1=snow"
# shellcheck disable=SC2086
expect 0 "categorical matchup, JSON and a plot" '"overall_accuracy"' -- \
  $MATCH --format json --plot "$T/matrix.svg"
printf '%s\n' "$OUT" >"$T/matchup.json"
# shellcheck disable=SC2086
expect 0 "categorical matchup, CSV" "(all)," -- $MATCH
printf '%s\n' "$OUT" >"$T/matchup.csv"

check=$("$PYGDAL" - "$T" <<'PY'
import csv, datetime as dt, glob, json, os, sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
out = sys.argv[1]
got = json.load(open(f"{out}/matchup.json"))
lonlat = json.load(open(f"{out}/stations.json"))
wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326)
wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
def parse(t):
    return dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
insitu = {}
for r in csv.DictReader(open(f"{out}/snow_depth.csv")):
    insitu.setdefault(r["thing"], []).append((parse(r["phenomenon_time"]), float(r["result"])))
# the product: each raster's code at each station's pixel, at the time in the file name
product = {k: [] for k in lonlat}
for path in sorted(glob.glob(f"{out}/snow/*.tif")):
    name = os.path.basename(path)
    t = dt.datetime.strptime(name[11:30], "%Y%m%d-%H%M%S-%f").replace(tzinfo=dt.timezone.utc)
    ds = gdal.Open(path)
    srs = osr.SpatialReference(wkt=ds.GetProjection())
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    tr = osr.CoordinateTransformation(wgs, srs)
    gt = ds.GetGeoTransform()
    a = ds.GetRasterBand(1).ReadAsArray()
    for thing, (lon, lat) in lonlat.items():
        x, y = tr.TransformPoint(lon, lat)[:2]
        col, row = int((x - gt[0]) // gt[1]), int((y - gt[3]) // gt[5])
        product[thing].append((t, int(a[row, col])))
tol = dt.timedelta(hours=6)
mapping = {100: 1, 0: 0}
classes = [0, 1]
def stats(pairs):
    m = np.zeros((2, 2), dtype=np.int64)
    dropped = {}
    for depth, code in pairs:
        if code not in mapping:
            dropped[str(code)] = dropped.get(str(code), 0) + 1
            continue
        m[int(depth > 2), mapping[code]] += 1
    n = int(m.sum())
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    po = np.trace(m) / n
    pe = float((rows * cols).sum()) / n / n
    return {"n": n, "matrix": m.tolist(), "overall_accuracy": po, "kappa": (po - pe) / (1 - pe),
            "n_dropped": sum(dropped.values()), "dropped": dropped,
            "classes": [{"code": c, "n_insitu": int(rows[i]), "n_product": int(cols[i]),
                         "n_agree": int(m[i, i]),
                         "precision": m[i, i] / cols[i] if cols[i] else None,
                         "recall": m[i, i] / rows[i] if rows[i] else None}
                        for i, c in enumerate(classes)]}
want = {}
pooled = []
for thing in sorted(lonlat):
    pairs = []
    for t, code in product[thing]:
        near = [(abs(ti - t), ti, v) for ti, v in insitu[thing] if abs(ti - t) <= tol]
        if near:
            pairs.append((min(near)[2], code))
    want[thing] = stats(pairs)
    pooled += pairs
want["(all)"] = stats(pooled)
have = {s["thing"]: s["statistics"] for s in got["sets"]}
have["(all)"] = got["all"]
bad = []
def same(path, a, b):
    if isinstance(a, dict):
        for k in a:
            same(f"{path}.{k}", a[k], b.get(k, "missing"))
    elif isinstance(a, list):
        if len(a) != len(b):
            bad.append(f"{path}: {len(b)} items, not {len(a)}")
        for i, (x, y) in enumerate(zip(a, b)):
            same(f"{path}[{i}]", x, y)
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or abs(a - b) > 1e-12:
            bad.append(f"{path}: {b} != {a}")
    elif a != b:
        bad.append(f"{path}: {b} != {a}")
for thing in want:
    same(thing, want[thing], have.get(thing, {}))
names = [c["name"] for c in got["classes"]]
if names != ["no_snow", "snow"]:
    bad.append(f"class names {names}")
if want["(all)"]["n_dropped"] == 0 or want["(all)"]["n"] < 30:
    bad.append("the test data should drop some codes and keep many pairs")
# the CSV says the same: its summary rows
blocks = open(f"{out}/matchup.csv").read().split("\n\n")
for r in csv.DictReader(blocks[3].splitlines()):
    w = want[r["thing"]]
    if (int(r["n"]) != w["n"] or abs(float(r["overall_accuracy"]) - w["overall_accuracy"]) > 1e-9
            or abs(float(r["kappa"]) - w["kappa"]) > 1e-9 or int(r["n_dropped"]) != w["n_dropped"]):
        bad.append(f"CSV summary {r}")
matrix = list(csv.DictReader(blocks[1].splitlines()))
for r in matrix:
    if r["insitu_class"] in ("no_snow", "snow"):
        i = ["no_snow", "snow"].index(r["insitu_class"])
        if [int(r["no_snow"]), int(r["snow"])] != want[r["thing"]]["matrix"][i]:
            bad.append(f"CSV matrix {r}")
print("ok" if not bad else "; ".join(bad[:10]))
PY
)
equal "matrix, OA, kappa, precision, recall, n and dropped codes equal numpy's (both Things, all)" "$check" ok
equal "the SVG heat map: well-formed, class names on both axes, OA in the legend" \
  "$(python3 -c "
import json, sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
texts = [t.text for t in r.iter('{http://www.w3.org/2000/svg}text')]
j = json.load(open(sys.argv[2]))['all']
cells = [t for t in r.iter('{http://www.w3.org/2000/svg}rect')]
counts = [int(t.text) for t in r.iter('{http://www.w3.org/2000/svg}text') if 'count' in (t.get('class') or '')]
print(r.tag.split('}')[-1], texts.count('snow'), texts.count('no_snow'), len(cells),
      counts == sum(j['matrix'], []), 'overall accuracy = %.4f' % j['overall_accuracy'] in texts)
" "$T/matrix.svg" "$T/matchup.json")" "svg 2 2 4 True True"
done_testing
