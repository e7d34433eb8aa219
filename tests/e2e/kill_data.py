#!/usr/bin/env python3
"""kill_data.py: the large sources of tests/e2e/kill_ingest.sh, made from the real samples.
  kill_data.py csv DIR FILES ROWS      FILES CSV files (wide layout), each its own 4 stations
                                       with ROWS times of 2 properties
  kill_data.py theia DIR CATC_en.json CATC_DAT.zip PACKAGES SERIES ROWS
                                       PACKAGES producer packages (zips) cloned from the real
                                       CATC package: each its own producer id, SERIES
                                       observations of ROWS lines each
Every source holds its own series (no row of one source is a row of another), so each can be
counted on its own in the store."""
import datetime
import json
import os
import sys
import zipfile

BASE = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def iso(hours):
    return (BASE + datetime.timedelta(hours=hours)).strftime('%Y-%m-%dT%H:%M:%SZ')


def make_csv(out, files, rows):
    os.makedirs(out, exist_ok=True)
    for f in range(files):
        with open(os.path.join(out, 'series_%02d.csv' % f), 'w') as w:
            w.write('station,lat,lon,time,level (m),temperature [degC]\n')
            for s in range(4):
                for t in range(rows):
                    w.write('S%02d_%d,%.3f,%.3f,%s,%g,%g\n' % (f, s, 44 + f * 0.1, 5 + s * 0.1, iso(t),
                                                         ((f * 7 + s * 3 + t) % 997) / 10, (t % 41) / 2))


def producer_id(p):
    return 'K' + chr(ord('A') + p // 26 % 26) + chr(ord('A') + p % 26) + 'Z'


def make_theia(out, meta, datazip, packages, series, rows):
    os.makedirs(out, exist_ok=True)
    doc = json.load(open(meta))
    with zipfile.ZipFile(datazip) as z:
        first = z.namelist()[0]
        header = [line for line in z.read(first).decode('utf-8').splitlines() if line.startswith('#')]
    obs0 = doc['datasets'][0]['observations'][0]
    for p in range(packages):
        pid = producer_id(p)
        doc['producer']['producerId'] = pid
        ds = doc['datasets'][0]
        ds_id = pid + '_DAT_CE.WChem_Od'
        ds['datasetId'] = ds_id
        observations = []
        files = {}
        for s in range(series):
            o = json.loads(json.dumps(obs0))
            oid = '%s_OBS_CE.WChem_Od_%d' % (pid, s + 1)
            lon, lat = 1.5 + s * 0.01, 9.5 + p * 0.01
            o['observationId'] = oid
            o['result']['dataFile']['name'] = oid + '.txt'
            o['featureOfInterest']['samplingFeature']['name'] = 'WELL %s %d' % (pid, s + 1)
            o['featureOfInterest']['samplingFeature']['geometry']['coordinates'] = [lon, lat]
            o['temporalExtent'] = {'dateBeg': iso(0), 'dateEnd': iso(rows - 1)}
            observations.append(o)
            lines = [h.replace('CATC_OBS_CE.WChem_Od_1', oid) for h in header]
            lines.append('date_begin;date_end;latitude;longitude;altitude;value;qualityFlags;delta;')
            for t in range(rows):
                lines.append(';%s;%.4f;%.4f;;%g;13;%g;' % (iso(t), lat, lon, ((p + s + t) % 577) / 10,
                                                          (t % 13) / 4))
            files[oid + '.txt'] = '\n'.join(lines) + '\n'
        ds['observations'] = observations
        with zipfile.ZipFile(os.path.join(out, pid + '_package.zip'), 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr(pid + '_en.json', json.dumps(doc))
            inner = os.path.join(out, ds_id + '.zip')
            with zipfile.ZipFile(inner, 'w', zipfile.ZIP_DEFLATED) as d:
                for name, text in files.items():
                    d.writestr(name, text)
            z.write(inner, ds_id + '.zip')
            os.remove(inner)


if __name__ == '__main__':
    if sys.argv[1] == 'csv':
        make_csv(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        make_theia(sys.argv[2], sys.argv[3], sys.argv[4], *map(int, sys.argv[5:8]))
