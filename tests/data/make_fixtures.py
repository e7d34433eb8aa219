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
