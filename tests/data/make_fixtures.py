#!/usr/bin/env python3
"""Rebuilds the SYNTHETIC and DERIVED fixtures of tests/data (see PROVENANCE.md).

Real files are never edited. Derived files are mechanical transformations of real ones;
synthetic files exist only for cases no public file shows (interval rows, several flags,
CRLF, missing values, local time zones, decimal commas...). Run from tests/data/.
"""
import json, os, zipfile

def write(path, text, newline="\n", encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write(text.replace("\n", newline))

def pivot_file(obs_id, title, variable, rows, extra=()):
    head = [
        "#Date_of_extraction;2024-03-01T00:00:00Z;",
        f"#Observation_ID;{obs_id};",
        f"#Dataset_title;{title};",
        f"#Variable_name;{variable};",
        "date_begin;date_end;latitude;longitude;altitude;value;qualityFlags;" + "".join(c + ";" for c in extra),
    ]
    return "\n".join(head + [";".join(r) + ";" for r in rows]) + "\n"

def zip_members(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)

# --- TEST package: the real TEST_en.json + synthetic data files -----------------------------
S4 = ("19.8525", "102.169139")
spm = [["", f"2001-05-{d:02d}T00:00:00Z", *S4, "", v, ""] for d, v in
       [(11, "0.52"), (12, "0.61"), (13, "1.2"), (14, "-99999.99"), (15, ""), (16, "0.47")]]
r2 = ("19.854011", "102.169421")
rain = [[f"2001-03-{d:02d}T00:00:00Z", f"2001-03-{d+1:02d}T00:00:00Z", *r2, "", v, q] for d, v, q in
        [(18, "0", "1"), (19, "12.4", "1|2"), (20, "-99999.99", "3"), (21, "3.1", "")]]
r3 = ("19.857695", "102.167753")
rain3 = [[f"2001-03-{d:02d}T00:00:00Z", f"2001-03-{d+1:02d}T00:00:00Z", *r3, "", v, ""] for d, v in
         [(18, "0.2"), (19, "10.9"), (20, "5")]]
os.makedirs("theia/TEST", exist_ok=True)
with open("theia/TEST_en.json", encoding="utf-8") as f:
    test_json = f.read()
write("theia/TEST/TEST_en.json", test_json)
zip_members("theia/TEST/TEST_DAT_1.zip", [
    ("TEST_OBS_DAT_1_1.txt", pivot_file("TEST_OBS_DAT_1_1", "TestTitle 1", "Suspended particulate matter", spm))])
zip_members("theia/TEST/TEST_DAT_2.zip", [
    ("TEST_OBS_DAT_2_1.txt", pivot_file("TEST_OBS_DAT_2_1", "Test title 2", "Rainfall (24h from today to day after)", rain)),
    ("TEST_OBS_DAT_2_2.txt", pivot_file("TEST_OBS_DAT_2_2", "Test title 2", "Rainfall (24h from today to day after)", rain3).replace("\n", "\r\n"))])

# --- CSV: derived from the real Hydroweb JSON series (long layout) -----------------------------
rows = ["thing,latitude,longitude,observed_property,unit,phenomenon_time,result,result_quality"]
for name in sorted(os.listdir("hydroweb")):
    if not name.endswith(".json"):
        continue
    with open(os.path.join("hydroweb", name), encoding="utf-8") as f:
        doc = json.load(f)
    lon, lat = doc["geometry"]["coordinates"]
    missing = doc["properties"]["missing_value"]
    for d in doc["data"]:
        h = d["orthometric_height_of_water_surface_at_reference_position"]
        value = "" if h == missing else repr(float(h)).rstrip("0").rstrip(".") if isinstance(h, float) else str(h)
        rows.append(f'{d["identifier"]},{lat},{lon},water_surface_height,m,{d["date"]}T{d["time"]}:00Z,{value},')
write("csv/hydroweb_wse_long.csv", "\n".join(rows) + "\n")

# --- CSV: synthetic layouts --------------------------------------------------------------------
write("csv/gauge_local_time.csv",
      "# synthetic gauge series: French layout, local time (Europe/Paris), decimal comma\n"
      "Date;Hauteur (m);Débit (m3/s);Débit_qc\n"
      "30/03/2024 23:00;1,52;12,4;good\n"
      "31/03/2024 01:00;1,55;12,9;good\n"
      "31/03/2024 03:00;1,61;-9999;missing\n"
      "31/03/2024 04:00;1,66;14,0;doubtful\n")
write("csv/time_value.csv",
      "time,value\n2020-01-01T00:00:00Z,1.5\n2020-01-01T12:00:00Z,2.5\n2020-01-02T00:00:00Z,NaN\n"
      "2020-01-02T06:00:00Z,4\n2020-02-01T00:00:00Z,10\n")
write("csv/wide_interval.csv",
      "station,lat,lon,time,time_end,precipitation (mm),temperature [degC]\n"
      "P1,45.2,5.7,2021-06-01T00:00:00Z,2021-06-02T00:00:00Z,3.2,14.1\n"
      "P1,45.2,5.7,2021-06-02T00:00:00Z,2021-06-03T00:00:00Z,,15.0\n"
      "P2,45.3,5.9,2021-06-01T00:00:00Z,2021-06-02T00:00:00Z,0,\"13.5\"\n", newline="\r\n")

# --- raster sampling and matchup (issue 5) -------------------------------------------------
# Stations placed inside the footprints of the real rasters of raster/ (their values come
# from the rasters); one in-situ value each so that the CSV ingester creates the Things.
STATIONS = [  # code, lat, lon, raster it is meant for
    ("BAH1", "24.5", "-77.8"), ("BAH2", "25.2", "-78.5"), ("BAH3", "25.5", "-76.6"),  # RGB.byte
    ("SOCAL1", "33.8965", "-117.635"), ("SOCAL2", "33.9", "-117.64"),                # byte.tif
    ("UKR1", "49.4416", "38.1248"),                                                 # float+nodata
    ("MT1", "-11.6", "-55.5"), ("MT2", "-11.7", "-55.3"), ("MT3", "-11.55", "-55.7"),  # MODIS, CCI
    ("AUS1", "-33.1", "147.3"),                                                     # CCI valid
]
write("raster/stations.csv",
      "thing,latitude,longitude,observed_property,unit,phenomenon_time,result\n" +
      "".join(f"{c},{la},{lo},station_check,1,2013-01-01T00:00:00Z,1\n" for c, la, lo in STATIONS))
# Synthetic in-situ NDVI at MT1 and MT2: 0.9 * the MOD13Q1 value (x 1e-4) + 0.05 + a fixed
# perturbation, one day and 10 hours after each acquisition date (matchup tests).
MODIS = {"MT1": [5144, 6992, 7838, 7961, 8871, 1429, 4304, 5919, 6401, 3383, 2727, 3956],
         "MT2": [4999, 6243, 5927, 8039, 8491, 635, 4670, 7583, 6788, 4784, 3483, 3765]}
DATES = ["2013-09-14", "2013-10-16", "2013-11-17", "2013-12-19", "2014-01-17", "2014-02-18",
         "2014-03-22", "2014-04-23", "2014-05-25", "2014-06-26", "2014-07-28", "2014-08-29"]
PERTURB = [0.02, -0.01, 0.0, 0.03, -0.02, 0.01, -0.03, 0.0, 0.02, -0.01, 0.01, -0.02]
rows = []
for code, lat, lon in [("MT1", "-11.6", "-55.5"), ("MT2", "-11.7", "-55.3")]:
    for d, raw, e in zip(DATES, MODIS[code], PERTURB):
        y, m, dd = (int(x) for x in d.split("-"))
        import datetime
        t = datetime.datetime(y, m, dd, 10) + datetime.timedelta(days=1)
        rows.append(f"{code},{lat},{lon},ndvi_insitu,1,{t.strftime('%Y-%m-%dT%H:%M:%SZ')},"
                    f"{round(0.9 * raw * 1e-4 + 0.05 + e, 6)}\n")
write("raster/ndvi_insitu.csv",
      "thing,latitude,longitude,observed_property,unit,phenomenon_time,result\n" + "".join(rows))
