#!/usr/bin/env python3
"""zonal_check.py: the independent side of tests/e2e/zonal.sh.

  zonal_check.py write DIR
      writes the test rasters (THEIA-RASTERS.md conventions) into DIR.
  zonal_check.py check RASTER GEOJSON --stat S [--coverage weighted|centre] [--window N]
                 [--classes FILE] [--not-class CODES] [--property NAME]
      recomputes, with GDAL, numpy and shapely (not insitu's code), the statistic of every
      observation of `insitu query --format geojson` (GEOJSON: the output file) sampled
      from RASTER: polygons over their area (pixel coverage = the area of the pixel square
      inside the polygon, computed by shapely; or 1 when the centre is inside), points over
      their window; and checks that every polygon that covers a pixel of the raster has its
      sample. Prints 'ok: N values' or the differences (exit 1). Tolerance 1e-9.
"""
import json
import math
import sys

import numpy as np
from osgeo import gdal, osr
from shapely.geometry import Point, box, shape
from shapely.ops import transform
from shapely.prepared import prep

TOL = 1e-9

# OSO since 2018 (THEIA-RASTERS.md), code -> name
OSO2018 = ["dense built-up", "diffuse built-up", "industrial and commercial", "roads",
           "rapeseed", "straw cereals", "protein crops", "soy", "sunflower", "maize", "rice",
           "tubers and roots", "meadows", "orchards", "vineyards", "broadleaf forest",
           "conifer forest", "grassland", "woody moorland", "mineral surfaces",
           "beaches and dunes", "glaciers and snow", "water"]


def blocky(rng, h, w, size, choices, p=None):
    """A map of blocks of size x size pixels, each one of choices, then per-pixel noise."""
    small = rng.choice(choices, size=((h + size - 1) // size, (w + size - 1) // size), p=p)
    big = np.kron(small, np.ones((size, size), dtype=small.dtype))[:h, :w]
    noise = rng.random((h, w)) < 0.15
    return np.where(noise, rng.choice(choices, size=(h, w), p=p), big)


def create(path, epsg, gt, array, gdal_type, nodata=None, categories=None, description=None):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    h, w = array.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, w, h, 1, gdal_type,
                                              ["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"])
    ds.SetGeoTransform(gt)
    ds.SetProjection(srs.ExportToWkt())
    b = ds.GetRasterBand(1)
    if nodata is not None:
        b.SetNoDataValue(nodata)
    if categories:
        b.SetCategoryNames(categories)
    if description:
        b.SetDescription(description)
    b.WriteArray(array)
    ds = None


def write(folder):
    rng = np.random.default_rng(16)
    # NDVI-like Float32 in UTM 51N over Laguna de Bay and its neighbours, 700 m, nodata
    # -9999 over a block of the lake; values on a grid of 1/97 (repeats for the median)
    h, w = 140, 150
    ndvi = (rng.integers(0, 97, size=(h, w)) / 97.0).astype(np.float32)
    ndvi[60:75, 70:85] = -9999
    create(f"{folder}/NDVI_2025-06-10.tif", 32651, (235000, 700, 0, 1635000, 0, -700), ndvi,
           gdal.GDT_Float32, nodata=-9999, description="NDVI")
    # OSO 2018+ coded land cover, lon/lat 0.005 deg, 0 no data, names in the file
    h, w = 180, 200
    codes = blocky(rng, h, w, 6, np.arange(0, 24)).astype(np.uint8)
    create(f"{folder}/OCS_2018_CESBIO.tif", 4326, (120.5, 0.005, 0, 14.8, 0, -0.005), codes,
           gdal.GDT_Byte, nodata=0, categories=["no data"] + OSO2018)
    # Let-It-Snow L2B snow mask: 0 no snow, 100 snow, 205 cloud, 254 no data; UTM 51N 200 m
    h, w = 300, 320
    snow = blocky(rng, h, w, 8, np.array([0, 100, 205, 254]), p=[0.4, 0.35, 0.15, 0.1])
    create(f"{folder}/SENTINEL2B_20250610-022013-461_L2B-SNOW_T51PTS_C_V2-0_SNW_R2.tif", 32651,
           (270000, 200, 0, 1600000, 0, -200), snow.astype(np.uint8), gdal.GDT_Byte)


class Raster:
    def __init__(self, path):
        self.ds = gdal.Open(path)
        self.band = self.ds.GetRasterBand(1)
        self.values = self.band.ReadAsArray().astype(np.float64)
        self.nodata = self.band.GetNoDataValue()
        self.gt = self.ds.GetGeoTransform()
        self.inv = gdal.InvGeoTransform(self.gt)
        self.h, self.w = self.values.shape
        srs = osr.SpatialReference()
        srs.ImportFromWkt(self.ds.GetProjection())
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        wgs = osr.SpatialReference()
        wgs.ImportFromEPSG(4326)
        wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        self.ct = osr.CoordinateTransformation(wgs, srs)

    def to_pixels(self, lon, lat):
        x, y, _ = self.ct.TransformPoint(lon, lat)
        i = self.inv
        return i[0] + i[1] * x + i[2] * y, i[3] + i[4] * x + i[5] * y


def quantile(values, weights, q):
    """exactextract's weighted quantile over distinct values and their summed weights."""
    n = len(values)
    total = sum(weights)
    target = q * total * (n - 1)
    cum = 0.0
    s_prev = 0.0
    for i in range(n):
        s = i * weights[i] + (n - 1) * cum
        if s > target:
            if i == 0:
                return values[0]
            return values[i - 1] + (target - s_prev) * (values[i] - values[i - 1]) / (s - s_prev)
        s_prev = s
        cum += weights[i]
    return values[-1]


def stats(pixels, excluded, plain_median=False):
    """pixels: list of (value, coverage) of coverage > 0; NaN values are nodata."""
    covered = sum(c for _, c in pixels)
    valid = [(v, c) for v, c in pixels if not math.isnan(v) and v not in excluded]
    out = {"n": len(pixels), "n_valid": len(valid), "covered": covered}
    count = sum(c for _, c in valid)
    out["count"] = count
    out["valid_share"] = count / covered if covered > 0 else None
    if not valid:
        return out
    v = np.array([x for x, _ in valid])
    c = np.array([x for _, x in valid])
    out["mean"] = float(np.sum(v * c) / np.sum(c))
    out["std"] = float(math.sqrt(np.sum(c * (v - out["mean"]) ** 2) / np.sum(c)))
    out["min"] = float(v.min())
    out["max"] = float(v.max())
    distinct = sorted(set(v.tolist()))
    weights = [float(np.sum(c[v == d])) for d in distinct]
    # a window's median is the plain median of its pixels; a polygon's exactextract's
    out["median"] = float(np.median(v)) if plain_median else quantile(distinct, weights, 0.5)
    best = max(weights)
    out["majority"] = distinct[weights.index(best)]  # the first (smallest) of a tie
    out["class_share"] = best / count
    out["fractions"] = {d: w / count for d, w in zip(distinct, weights)}
    return out


def polygon_pixels(r, geometry, centre):
    poly = transform(lambda x, y, z=None: r.to_pixels_many(x, y), shape(geometry))
    minx, miny, maxx, maxy = poly.bounds
    p = prep(poly)
    pixels = []
    for row in range(max(0, math.floor(miny)), min(r.h, math.ceil(maxy))):
        for col in range(max(0, math.floor(minx)), min(r.w, math.ceil(maxx))):
            cell = box(col, row, col + 1, row + 1)
            if centre:
                cov = 1.0 if poly.intersects(Point(col + 0.5, row + 0.5)) else 0.0
            elif p.contains(cell):
                cov = 1.0
            elif not p.intersects(cell):
                cov = 0.0
            else:
                cov = poly.intersection(cell).area
            if cov > 0:
                pixels.append((r.pixel(row, col), cov))
    return pixels


def class_names(path, raster):
    names = {}
    cats = raster.band.GetCategoryNames() or []
    for i, n in enumerate(cats):
        if n:
            names[float(i)] = n
    if path:
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            first, _, rest = line.partition(" ")
            if first.isdigit() and rest:
                names[float(int(first))] = rest.strip()
            elif ":" in line:
                name, code = line.rsplit(":", 1)
                names[float(int(code))] = name.strip()
    return names


def near(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOL * max(1.0, abs(b))


def check(args):
    raster_path, geojson_path = args[0], args[1]
    opts = dict(zip(args[2::2], args[3::2]))
    stat = opts.get("--stat", "mean")
    centre = opts.get("--coverage", "weighted") == "centre"
    window = int(opts.get("--window", "1"))
    prop = opts.get("--property")
    excluded = {float(c) for c in opts["--not-class"].split(",")} if "--not-class" in opts else set()
    r = Raster(raster_path)
    raster_name = raster_path.rsplit("/", 1)[-1]

    def pixel(row, col):
        v = r.values[row, col]
        return math.nan if r.nodata is not None and v == r.nodata else float(v)

    def to_pixels_many(xs, ys):
        out = [r.to_pixels(x, y) for x, y in zip(xs, ys)]
        return [p[0] for p in out], [p[1] for p in out]

    r.pixel = pixel
    r.to_pixels_many = to_pixels_many
    names = class_names(opts.get("--classes"), r)
    features = [f for f in json.load(open(geojson_path))["features"]
                if (f["properties"].get("parameters") or {}).get("raster") == raster_name
                and (prop is None or f["properties"]["observed_property"] == prop
                     or f["properties"]["observed_property"].startswith(prop + " fraction: "))]
    errors = []
    checked = 0
    seen = {}
    for f in features:
        p = f["properties"]
        par = p["parameters"]
        thing = p["thing"]
        key = thing
        if par["method"].startswith("zonal"):
            if key not in seen:
                seen[key] = stats(polygon_pixels(r, f["geometry"], centre), excluded)
        else:
            lon, lat = f["geometry"]["coordinates"][:2]
            px, py = r.to_pixels(lon, lat)
            col, row = math.floor(px), math.floor(py)
            if (row, col) != (par["row"], par["col"]):
                errors.append(f"{thing}: pixel {row},{col}, insitu says {par['row']},{par['col']}")
                continue
            half = window // 2
            pixels = [(pixel(y, x), 1.0)
                      for y in range(max(0, row - half), min(r.h, row + half + 1))
                      for x in range(max(0, col - half), min(r.w, col + half + 1))]
            seen.setdefault(key, stats(pixels, excluded, plain_median=True))
        e = seen[key]
        what = f"{thing} {p['observed_property']}"
        if stat == "fractions":
            name = p["observed_property"].split(" fraction: ", 1)[1]
            code = float(par["code"])
            if names.get(code, "%g" % code) != name:
                errors.append(f"{what}: class {code} is {names.get(code)}")
            if not near(p["result"], e["fractions"].get(code)):
                errors.append(f"{what}: {p['result']} != {e['fractions'].get(code)}")
        else:
            expected = e.get(stat) if e["n_valid"] else None
            if not near(p["result"], expected):
                errors.append(f"{what}: result {p['result']} != {expected}")
            if stat == "majority" and e["n_valid"]:
                if par.get("class") != names.get(e["majority"], "%g" % e["majority"]):
                    errors.append(f"{what}: class {par.get('class')}")
                if not near(par.get("class_share"), e["class_share"]):
                    errors.append(f"{what}: class_share {par.get('class_share')} != {e['class_share']}")
        for k in ("count", "covered", "valid_share", "mean", "median", "std", "min", "max"):
            if k in par:
                if e["n_valid"] == 0 and k in ("mean", "median", "std", "min", "max"):
                    continue
                if not near(par.get(k), e.get(k)):
                    errors.append(f"{what}: {k} {par.get(k)} != {e.get(k)}")
        for k in ("n", "n_valid"):
            if k in par and par.get(k) != e[k]:
                errors.append(f"{what}: {k} {par.get(k)} != {e[k]}")
        checked += 1
    if stat == "fractions":
        for thing, e in seen.items():
            n = sum(1 for f in features if f["properties"]["thing"] == thing)
            if n != len(e.get("fractions", {})):
                errors.append(f"{thing}: {n} fractions, {len(e.get('fractions', {}))} classes seen")
    if errors:
        print("\n".join(errors[:20]))
        return 1
    print(f"ok: {checked} values, {len(seen)} zones or stations")
    return 0


def covering(args):
    """covering RASTER LAKES_ZIP: the prior lakes whose polygon covers a pixel of RASTER."""
    r = Raster(args[0])
    ds = gdal.OpenEx("/vsizip/" + args[1], gdal.OF_VECTOR)
    layer = ds.GetLayer(0)
    out = []
    for f in layer:
        g = f.GetGeometryRef()
        if g is None:
            continue
        geometry = json.loads(g.ExportToJson())
        xs = []
        ys = []
        for ring in (geometry["coordinates"] if geometry["type"] == "Polygon"
                     else [rg for part in geometry["coordinates"] for rg in part]):
            for lon, lat in ring:
                x, y = r.to_pixels(lon, lat)
                xs.append(x)
                ys.append(y)
        if max(xs) > 0 and min(xs) < r.w and max(ys) > 0 and min(ys) < r.h:
            out.append(f.GetField("lake_id"))
    print(" ".join(sorted(out)))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif sys.argv[1] == "covering":
        sys.exit(covering(sys.argv[2:]))
    else:
        sys.exit(check(sys.argv[2:]))
