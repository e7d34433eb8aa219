#!/bin/sh
# End-to-end: zonal statistics. SWOT LakeSP prior lakes (polygons, EPSG:4326) sampled over
# their area from rasters written by tests/zonal_check.py (a Float32 NDVI in UTM 51N, an OSO
# 2018-coded land cover with its category names, a Let-It-Snow mask with cloud and no-data
# codes), and stations on the real OSO-chain classification with its nomenclature; every
# value recomputed by tests/zonal_check.py with GDAL, numpy and shapely, to 1e-9.
. "$INSITU_TEST_LIB"
PY=python3
$PY -c 'import osgeo, numpy, shapely' 2>/dev/null || PY=/usr/bin/python3
CHECK="$(dirname "$INSITU_TEST_LIB")/../zonal_check.py"
LAKES=$(ls "$DATA"/swot/SWOT_L2_HR_LakeSP_Prior_*.zip)
OSO="$DATA/raster/theia/classif_regul_20m.tif"
SNOW=SENTINEL2B_20250610-022013-461_L2B-SNOW_T51PTS_C_V2-0_SNW_R2.tif

insitu init >/dev/null
insitu ingest "$LAKES" >/dev/null
$PY "$CHECK" write "$T"
cd "$T" || exit 1

# check PROPERTY RASTER OPTIONS...: the samples of PROPERTY from RASTER recomputed
check() {
  prop=$1 raster=$2
  shift 2
  insitu query --format geojson -o "$T/q.json" 2>/dev/null
  run $PY "$CHECK" check "$raster" "$T/q.json" --property "$prop" "$@"
  case $OUT in ok:*) ok "$prop: $OUT";; *) not_ok "$prop recomputed" "$OUT" "$ERR";; esac
}

# usage errors, named by their option, before any raster is read
run insitu sample --product X --stat mode NDVI_2025-06-10.tif
equal "an unknown statistic" "$RC: $ERR" \
"2: insitu sample: --stat mode: expected mean, median, count, min, max, std, majority, fractions or valid_share
(see 'insitu sample --help')"
run insitu sample --product X --coverage all NDVI_2025-06-10.tif
equal "an unknown coverage" "$RC: $ERR" \
"2: insitu sample: --coverage all: expected weighted or centre
(see 'insitu sample --help')"
run insitu sample --product X --not-class 205,cloud NDVI_2025-06-10.tif
equal "a code that is not a number" "$RC: $ERR" \
"2: insitu sample: --not-class 205,cloud: expected integer codes separated by commas (205,254)
(see 'insitu sample --help')"
expect 2 "a class file that does not exist" "--classes nowhere.txt: classes nowhere.txt:" -- \
  insitu sample --product X --stat majority --classes nowhere.txt NDVI_2025-06-10.tif
expect 2 "a statistic and bilinear go separately" "--stat count: a statistic and bilinear" -- \
  insitu sample --product X --stat count --bilinear NDVI_2025-06-10.tif

# continuous: every statistic over the lakes (weighted), lakes in lon/lat over a UTM raster,
# the largest (Laguna de Bay, 900 km2, nodata in it) and lakes smaller than a pixel
expect 0 "mean over the lake polygons and at the lake points" "sampled NDVI_2025-06-10.tif: 51 stations" -- \
  insitu sample --product S2 --property NDVI NDVI_2025-06-10.tif
check NDVI NDVI_2025-06-10.tif --stat mean
equal "every lake whose polygon reaches the raster has its sample" \
  "$(sql "SELECT t.code FROM things t JOIN datastreams d ON d.thing_id = t.id WHERE d.qualifier = 'zonal-weighted-mean' ORDER BY t.code" | tr '\n' ' ')" \
  "$($PY "$CHECK" covering NDVI_2025-06-10.tif "$LAKES") "
equal "the sample's FeatureOfInterest is the lake polygon" \
  "$(sql "SELECT f.name FROM observations o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id JOIN features f ON f.id = o.feature_id WHERE t.code = '5240012992' AND d.qualifier = 'zonal-weighted-mean'")" \
  "5240012992 (polygon)"
for stat in median count min max std valid_share; do
  insitu sample --product S2 --property "NDVI $stat" --stat $stat NDVI_2025-06-10.tif >/dev/null
  check "NDVI $stat" NDVI_2025-06-10.tif --stat $stat
done
insitu sample --product S2 --property "NDVI centre" --coverage centre NDVI_2025-06-10.tif >/dev/null
check "NDVI centre" NDVI_2025-06-10.tif --stat mean --coverage centre
equal "a lake with no pixel centre inside is a NULL sample" \
  "$(insitu query --property "NDVI centre" --format csv | grep -c ',no_pixel,')" 8
insitu sample --product S2 --property "NDVI window" --window 3 --stat std NDVI_2025-06-10.tif >/dev/null
check "NDVI window" NDVI_2025-06-10.tif --stat std --window 3
# with --not-class, a station's window mean and median go through the zonal engine too
insitu sample --product S2 --property "NDVI window median" --window 5 --stat median --not-class 0 \
  NDVI_2025-06-10.tif >/dev/null
check "NDVI window median" NDVI_2025-06-10.tif --stat median --window 5 --not-class 0

# categorical: OSO 2018 codes named by the raster itself
insitu sample --product OSO --property "land cover" --stat majority --date 2018-01-01 \
  OCS_2018_CESBIO.tif >/dev/null
check "land cover" OCS_2018_CESBIO.tif --stat majority
insitu sample --product OSO --property "cover" --stat fractions --date 2018-01-01 \
  OCS_2018_CESBIO.tif >/dev/null
check "cover" OCS_2018_CESBIO.tif --stat fractions
equal "a fraction is an ObservedProperty of its own, unit 1" \
  "$(sql "SELECT p.name || '|' || d.unit_symbol FROM datastreams d JOIN observed_properties p ON p.id = d.observed_property_id JOIN things t ON t.id = d.thing_id WHERE t.code = '5240012992' AND p.name LIKE 'cover fraction: water%'")" \
  "cover fraction: water|1"

# snow: 205 (cloud) and 254 (no data) are no class; names from a "code name" file
printf '0 no snow\n100 snow\n205 cloud\n254 no data\n' >"$T/lis.txt"
insitu sample --product LIS --property snow --stat fractions --classes "$T/lis.txt" \
  --not-class 205,254 "$SNOW" >/dev/null
check snow "$SNOW" --stat fractions --not-class 205,254 --classes "$T/lis.txt"
equal "only snow and no snow are classes" \
  "$(sql "SELECT DISTINCT p.name FROM observed_properties p WHERE p.name LIKE 'snow fraction:%' ORDER BY 1" | tr '\n' '|')" \
  "snow fraction: no snow|snow fraction: snow|"
insitu sample --product LIS --property "snow cover" --stat majority --window 5 --classes "$T/lis.txt" \
  --not-class 205,254 "$SNOW" >/dev/null
check "snow cover" "$SNOW" --stat majority --window 5 --not-class 205,254 --classes "$T/lis.txt"
insitu sample --product LIS --property "snow valid" --stat valid_share --not-class 205,254 "$SNOW" >/dev/null
check "snow valid" "$SNOW" --stat valid_share --not-class 205,254

# the real OSO-chain classification (2016-2017 codes) at stations, with its nomenclature
cat >"$T/oso_stations.csv" <<'CSV'
thing,latitude,longitude,observed_property,unit,phenomenon_time,result
OSO1,43.4600,1.4050,station_check,1,2017-01-01T00:00:00Z,1
OSO2,43.4620,1.4100,station_check,1,2017-01-01T00:00:00Z,1
OSO3,43.4580,1.4150,station_check,1,2017-01-01T00:00:00Z,1
CSV
insitu ingest "$T/oso_stations.csv" >/dev/null
expect 0 "majority of 5x5 pixels of the real classification" "3 stations" -- \
  insitu sample --product OSO-iota2 --property "land use" --stat majority --window 5 \
  --classes "$DATA/raster/theia/nomenclature.txt" --date 2017-01-01 "$OSO"
check "land use" "$OSO" --stat majority --window 5 --classes "$DATA/raster/theia/nomenclature.txt"
insitu sample --product OSO-iota2 --property "use" --stat fractions --window 5 \
  --classes "$DATA/raster/theia/nomenclature.txt" --date 2017-01-01 "$OSO" >/dev/null
check "use" "$OSO" --stat fractions --window 5 --classes "$DATA/raster/theia/nomenclature.txt"
insitu query --thing OSO2 --property "land use" --format geojson -o "$T/oso2.json" 2>/dev/null
equal "the majority's name and share are in the parameters" \
  "$($PY -c 'import json,sys; p=json.load(open(sys.argv[1]))["features"][0]["properties"]; print(p["result"], p["parameters"]["class"], "class_share" in p["parameters"])' "$T/oso2.json")" \
  "$($PY -c 'from osgeo import gdal, osr
import sys, collections
ds = gdal.Open(sys.argv[1]); gt = ds.GetGeoTransform(); a = ds.ReadAsArray()
s = osr.SpatialReference(); s.ImportFromEPSG(4326); s.SetAxisMappingStrategy(0)
t = osr.SpatialReference(); t.ImportFromWkt(ds.GetProjection()); t.SetAxisMappingStrategy(0)
x, y, _ = osr.CoordinateTransformation(s, t).TransformPoint(1.41, 43.462)
c, r = int((x - gt[0]) / gt[1]), int((y - gt[3]) / gt[5])
n = collections.Counter(a[r-2:r+3, c-2:c+3].ravel().tolist())
best = min(n, key=lambda k: (-n[k], k))
names = {int(l.rsplit(":", 1)[1]): l.rsplit(":", 1)[0].strip() for l in open(sys.argv[2]) if ":" in l}
print(best, names[best], True)' "$OSO" "$DATA/raster/theia/nomenclature.txt")"
done_testing
