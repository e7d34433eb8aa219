#!/usr/bin/env python3
"""vector_bands.py: the fixtures and the independent numbers of tests/e2e/vector_bands.sh,
computed with GDAL's Python bindings and numpy (never with insitu).

  vector_bands.py make DIR      writes the vector files, the stations, the rasters (THEIA
                                names and conventions: Int16 reflectance x 10000, nodata
                                -10000; OSO codes) and DIR/expected_*.txt
  vector_bands.py locations FILE  reads `insitu things --format csv` on stdin and compares each
                                Thing's location with the geometries of FILE (JSON: "ns|code"
                                -> GeoJSON geometry); prints the largest difference in degrees
  vector_bands.py cog DIR SEED   writes DIR/scratch's COG again with other values
  vector_bands.py window FILE B  the mean of the valid pixels of each station's 3x3 window
  vector_bands.py rows           reads `insitu query --format csv` on stdin and prints
                                thing,property,start,end,result,quality sorted
"""
import csv
import json
import math
import os
import sys

from osgeo import gdal, ogr, osr

import numpy as np

UTM = 32631
X0, Y0, PIX = 360000.0, 4840000.0, 20.0  # the stack's upper-left corner and pixel size
STATIONS = [("ST1", 12, 7), ("ST2", 40, 33), ("ST3", 101, 64)]  # (code, col, row)


def srs(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def to_wgs84(epsg):
    return osr.CoordinateTransformation(srs(epsg), srs(4326))


def write_tif(path, arrays, dtype, descriptions=(), nodata=None, gt=None, epsg=UTM):
    h, w = arrays[0].shape
    ds = gdal.GetDriverByName("GTiff").Create(path, w, h, len(arrays), dtype,
                                              ["INTERLEAVE=PIXEL", "TILED=YES"])
    ds.SetGeoTransform(gt or [X0, PIX, 0, Y0, 0, -PIX])
    ds.SetProjection(srs(epsg).ExportToWkt())
    for i, a in enumerate(arrays):
        b = ds.GetRasterBand(i + 1)
        b.WriteArray(a)
        if nodata is not None:
            b.SetNoDataValue(nodata)
        if i < len(descriptions) and descriptions[i]:
            b.SetDescription(descriptions[i])
    ds = None


def make_vectors(d):
    lakes = {"type": "FeatureCollection", "name": "lakes", "features": [
        {"type": "Feature", "id": "LK1", "properties": {"name": "Lac de Saint-Ferreol",
                                                         "area_km2": 0.67, "dam": True},
         "geometry": {"type": "Polygon", "coordinates": [
             [[2.0001, 43.4001], [2.0151, 43.4003], [2.0148, 43.4152], [2.0001, 43.4001]],
             [[2.005, 43.405], [2.006, 43.405], [2.006, 43.406], [2.005, 43.405]]]}},
        {"type": "Feature", "id": "LK2", "properties": {"name": "Lac de la Ganguise",
                                                         "area_km2": 4.4},
         "geometry": {"type": "MultiPolygon", "coordinates": [
             [[[1.8, 43.3], [1.81, 43.3], [1.81, 43.31], [1.8, 43.3]]],
             [[[1.82, 43.3], [1.83, 43.3], [1.83, 43.31], [1.82, 43.3]]]]}},
    ]}
    with open(os.path.join(d, "lakes.geojson"), "w") as f:
        json.dump(lakes, f)
    expected = {"vector:lakes|" + ft["id"]: ft["geometry"] for ft in lakes["features"]}
    # catchments in Lambert-93, zipped
    ds = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(os.path.join(d, "bv.shp"))
    layer = ds.CreateLayer("bv", srs(2154), ogr.wkbPolygon)
    for name, kind in (("CODE", ogr.OFTString), ("NOM", ogr.OFTString),
                       ("SURF_KM2", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    rings = {"O0130010": [(574000.5, 6279000.25), (580000, 6279000), (580000, 6285000),
                          (574000.5, 6279000.25)],
             "O0200020": [(601234.125, 6262345.5), (605000, 6262345.5), (605000, 6266000),
                          (601234.125, 6262345.5)]}
    ct = to_wgs84(2154)
    for code, ring in rings.items():
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField("CODE", code)
        f.SetField("NOM", "Bassin " + code)
        f.SetField("SURF_KM2", 12.5)
        g = ogr.Geometry(ogr.wkbPolygon)
        r = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in ring:
            r.AddPoint_2D(x, y)
        g.AddGeometry(r)
        f.SetGeometry(g)
        layer.CreateFeature(f)
    ds = None
    # the vertices as the file holds them (the driver writes outer rings clockwise), each
    # transformed on its own
    ds = ogr.Open(os.path.join(d, "bv.shp"))
    for f in ds.GetLayer(0):
        ring = f.GetGeometryRef().GetGeometryRef(0)
        pts = [list(ct.TransformPoint(*ring.GetPoint_2D(i))[:2])
               for i in range(ring.GetPointCount())]
        expected["bv|" + f.GetField("CODE")] = {"type": "Polygon", "coordinates": [pts]}
    ds = None
    with open(os.path.join(d, "expected_locations.json"), "w") as f:
        json.dump(expected, f)


def station_lonlat():
    ct = to_wgs84(UTM)
    out = []
    for code, col, row in STATIONS:
        # a quarter pixel off the centre: inside the pixel, not on an edge
        x, y = X0 + (col + 0.25) * PIX, Y0 - (row + 0.75) * PIX
        lon, lat = ct.TransformPoint(x, y)[:2]
        out.append((code, lon, lat, col, row))
    return out


def make_rasters(d):
    rng = np.random.default_rng(16)
    stations = station_lonlat()
    with open(os.path.join(d, "stations.csv"), "w") as f:
        f.write("thing,latitude,longitude,observed_property,unit,phenomenon_time,result\n")
        for code, lon, lat, _, _ in stations:
            f.write("%s,%.12f,%.12f,check,1,2018-01-01T00:00:00Z,1\n" % (code, lat, lon))
    expected = []

    def expect(product_rows, arrays, names, start, end, nodata=None):
        for b, a in enumerate(arrays):
            for code, _, _, col, row in stations:
                v = int(a[row, col])
                missing = nodata is not None and v == nodata
                expected.append("%s,%s,%s,%s,%s,%s" % (code, names[b], start, end,
                                                       "" if missing else v,
                                                       "nodata" if missing else ""))
    # an N2A FRE stack: B2, B3, B4, B8 and a band without description; a nodata pixel
    stack = [rng.integers(0, 10000, (150, 200)).astype(np.int16) for _ in range(5)]
    stack[2][STATIONS[1][2], STATIONS[1][1]] = -10000
    desc = ["B2", "B3", "B4", "B8", ""]
    write_tif(os.path.join(d, "SENTINEL2A_20180315-103021-456_L2A_T31TCJ_C_V2-2_FRE_STACK.tif"),
              stack, gdal.GDT_Int16, desc, -10000)
    expect("stack", stack, ["B2", "B3", "B4", "B8", "band 5"], "2018-03-15T10:30:21.456Z", "",
           -10000)
    # an L3A monthly synthesis, an OSO map, a snow L3B yearly synthesis
    l3a = [rng.integers(0, 10000, (150, 200)).astype(np.int16)]
    write_tif(os.path.join(d, "SENTINEL2X_20180315-000000-000_L3A_T31TCJ_C_V2-2_FRE_B4.tif"),
              l3a, gdal.GDT_Int16, ["B4"], -10000)
    expect("l3a", l3a, ["B4"], "2018-03-01T00:00:00Z", "2018-04-01T00:00:00Z", -10000)
    oso = [rng.integers(1, 24, (150, 200)).astype(np.uint8)]
    write_tif(os.path.join(d, "OCS_2018_CESBIO.tif"), oso, gdal.GDT_Byte, ["OSO"])
    expect("oso", oso, ["OSO"], "2018-01-01T00:00:00Z", "2019-01-01T00:00:00Z")
    scd = [rng.integers(0, 365, (150, 200)).astype(np.int16)]
    write_tif(os.path.join(d, "SENTINEL2X_20180115-000000-000_L3B-SNOW_T31TCJ_C_V1-0_SCD.tif"),
              scd, gdal.GDT_Int16, ["SCD"])
    expect("scd", scd, ["SCD"], "2017-09-01T00:00:00Z", "2018-09-01T00:00:00Z")
    with open(os.path.join(d, "expected_rasters.txt"), "w") as f:
        f.write("\n".join(sorted(expected)) + "\n")
    write_cog(d, rng)


def write_cog(d, rng):
    """a Cloud-Optimised GeoTIFF of 4 bands, 1024 x 1024 (8 MiB, uncompressed: its size does
    not depend on its values), for the remote test"""
    desc = ["B2", "B3", "B4", "B8"]
    mem = gdal.GetDriverByName("MEM").Create("", 1024, 1024, 4, gdal.GDT_Int16)
    mem.SetGeoTransform([X0, PIX, 0, Y0, 0, -PIX])
    mem.SetProjection(srs(UTM).ExportToWkt())
    for b in range(4):
        mem.GetRasterBand(b + 1).WriteArray(rng.integers(0, 10000, (1024, 1024)).astype(np.int16))
        mem.GetRasterBand(b + 1).SetDescription(desc[b])
        mem.GetRasterBand(b + 1).SetNoDataValue(-10000)
    os.makedirs(os.path.join(d, "scratch"), exist_ok=True)
    gdal.Translate(os.path.join(d, "scratch",
                                "SENTINEL2B_20180320-103021-000_L2A_T31TCJ_C_V2-2_FRE_COG.tif"),
                   mem, format="COG", creationOptions=["BLOCKSIZE=256", "COMPRESS=NONE"])


def locations(path):
    want = json.load(open(path))
    worst = 0.0
    seen = 0
    for r in csv.DictReader(sys.stdin):
        key = r["namespace"] + "|" + r["code"]
        if key not in want:
            continue
        got = json.loads(r["location"])
        if got["type"] != want[key]["type"]:
            print("type of %s: %s, expected %s" % (key, got["type"], want[key]["type"]))
            return

        def diff(a, b):
            if isinstance(a, (int, float)):
                return abs(a - b)
            if len(a) != len(b):
                return math.inf
            return max(diff(x, y) for x, y in zip(a, b))
        worst = max(worst, diff(got["coordinates"], want[key]["coordinates"]))
        seen += 1
    print("%d %s" % (seen, "ok" if seen == len(want) and worst <= 1e-9 else "worst %g" % worst))


def window_means(path, band):
    """thing,mean of the valid pixels of the 3x3 window around each station, band `band`"""
    ds = gdal.Open(path)
    b = ds.GetRasterBand(band)
    a = b.ReadAsArray().astype(np.float64)
    nodata = b.GetNoDataValue()
    for code, col, row in STATIONS:
        w = a[row - 1:row + 2, col - 1:col + 2]
        w = w[w != nodata] if nodata is not None else w.ravel()
        print("%s,%.17g" % (code, w.mean()))


def rows():
    out = []
    for r in csv.DictReader(sys.stdin):
        out.append("%s,%s,%s,%s,%s,%s" % (r["thing"], r["observed_property"],
                                          r["phenomenon_time"], r["phenomenon_time_end"],
                                          r["result"], r["result_quality"]))
    print("\n".join(sorted(out)))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make_vectors(sys.argv[2])
        make_rasters(sys.argv[2])
    elif sys.argv[1] == "locations":
        locations(sys.argv[2])
    elif sys.argv[1] == "cog":  # the COG again, other values, same size
        write_cog(sys.argv[2], np.random.default_rng(int(sys.argv[3])))
    elif sys.argv[1] == "window":
        window_means(sys.argv[2], int(sys.argv[3]))
    else:
        rows()
