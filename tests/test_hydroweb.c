/*
 * test_hydroweb.c: the Hydroweb ingesters (ingest/hydroweb.c) through insitu_ingest: the real
 * legacy JSON series and the real Hydroweb.next WFS CSV give the same Things and Datastreams
 * (the CSV's lat/lon axis order checked against the JSON's GeoJSON positions), exact values,
 * missing values as NULL, the datum on the Datastream, probing, errors and re-ingest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "testutil.h"
#include "util.h"

#define JSON_41 "hydroweb/hydroprd_R_APPROUAGUE_APPROUAGUE_KM0041_from_20240101_to_20240131.json"
#define JSON_47 "hydroweb/hydroprd_R_APPROUAGUE_APPROUAGUE_KM0047_from_20240101_to_20240131.json"
#define JSON_387 "hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_20231101_to_20240131.json"
#define JSON_198 "hydroweb/hydroprd_R_MARONI_TAPANAHONY_KM0198_from_20231101_to_20240131.json"
#define JSON_177 "hydroweb/hydroprd_R_OYAPOCK_CAMOPI_KM0177_from_20231101_to_20240131.json"
#define WFS_CSV "hydroweb/hydroweb_rivers_wse_2024-01-01-to-2024-01-31.csv"

static int64_t count(insitu_store *st, const char *table)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return tu_int(st, sql);
}

/* The result of a station's property at an ISO time, as text ("null" for NULL, "" when no
 * such row). */
static char *value_at(insitu_store *st, const char *station, const char *property,
                      const char *iso)
{
    int64_t t;
    insitu_time_parse(iso, 0, &t, NULL);
    char sql[700];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(CAST(o.result AS TEXT), 'null') FROM observations o JOIN "
             "datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id JOIN "
             "observed_properties p ON p.id = d.observed_property_id WHERE t.code = '%s' AND "
             "p.name = '%s' AND o.phenomenon_start = %lld",
             station, property, (long long)t);
    char *v = tu_text(st, sql);
    return v ? v : xstrdup("");
}

static double result_at(insitu_store *st, const char *station, const char *property,
                        const char *iso)
{
    char *v = value_at(st, station, property, iso);
    double d = *v && strcmp(v, "null") ? strtod(v, NULL) : -1e300;
    free(v);
    return d;
}

static void test_legacy_json(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    const char *files[] = {JSON_41, JSON_47, JSON_387, JSON_198, JSON_177};
    uint64_t rows = 0;
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data(files[i]), NULL, &rep, &err), 0);
        CU_ASSERT_STRING_EQUAL(rep.ingester, "hydroweb");
        CU_ASSERT_EQUAL(rep.things, 1);
        CU_ASSERT_EQUAL(rep.datastreams, 2);
        rows += rep.observations;
    }
    /* 1 + 1 + 3 + 4 + 4 dates, each a wse and a wse_u */
    CU_ASSERT_EQUAL(rows, 26);
    CU_ASSERT_EQUAL(count(st, "observations"), 26);
    CU_ASSERT_EQUAL(count(st, "things WHERE namespace = 'hydroweb'"), 5);
    CU_ASSERT_EQUAL(count(st, "datastreams"), 10);
    /* values exactly as in the files (the orthometric height and its uncertainty) */
    CU_ASSERT_EQUAL(result_at(st, "R_APPROUAGUE_APPROUAGUE_KM0041", "wse", "2024-01-24T13:31Z"),
                    0.72);
    CU_ASSERT_EQUAL(result_at(st, "R_APPROUAGUE_APPROUAGUE_KM0041", "wse_u",
                              "2024-01-24T13:31Z"),
                    0.01);
    CU_ASSERT_EQUAL(result_at(st, "R_MARONI_TAPANAHONY_KM0198", "wse", "2023-12-01T01:35Z"), 49);
    CU_ASSERT_EQUAL(result_at(st, "R_MARONI_TAPANAHONY_KM0198", "wse", "2024-01-24T01:35Z"),
                    48.59);
    CU_ASSERT_EQUAL(result_at(st, "R_MARONI_OELEMARI_KM0387", "wse_u", "2024-01-16T13:39Z"),
                    0.04);
    CU_ASSERT_EQUAL(result_at(st, "R_OYAPOCK_CAMOPI_KM0177", "wse", "2024-01-24T13:32Z"), 56.16);
    /* the station at its GeoJSON position (lon, lat), also as FeatureOfInterest */
    CU_ASSERT_EQUAL(count(st, "things t JOIN thing_locations tl ON tl.thing_id = t.id JOIN "
                              "locations l ON l.id = tl.location_id WHERE t.code = "
                              "'R_OYAPOCK_CAMOPI_KM0177' AND ST_X(l.geom) = -52.4118 AND "
                              "ST_Y(l.geom) = 3.2081"),
                    1);
    CU_ASSERT_EQUAL(count(st, "observations WHERE feature_id IS NULL"), 0);
    /* the vertical datum on every Datastream; units and properties */
    CU_ASSERT_EQUAL(count(st, "datastreams WHERE properties = '{\"vertical_datum\":\"EGM2008\"}' "
                              "AND unit_symbol = 'm'"),
                    10);
    CU_ASSERT_EQUAL(count(st, "observed_properties WHERE name IN ('wse', 'wse_u') AND definition "
                              "LIKE 'urn:x-insitu:hydroweb:%'"),
                    2);
    char *props = tu_text(st, "SELECT properties FROM things WHERE code = "
                              "'R_MARONI_OELEMARI_KM0387'");
    CU_ASSERT_STRING_EQUAL(props, "{\"basin\":\"Maroni\",\"river\":\"Oelemari\",\"status\":"
                                  "\"operational\",\"validation\":\"Automatic\"}");
    free(props);
    /* re-ingest: a no-op */
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data(JSON_198), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    CU_ASSERT_EQUAL(count(st, "observations"), 26);
    insitu_store_close(st);
}

static void test_wfs_csv_merges_with_json(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data(JSON_47), NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data(JSON_41), NULL, &rep, &err), 0);
    char *things = tu_text(st, "SELECT group_concat(id || ':' || code || ':' || properties, '|') "
                               "FROM things");
    char *ds = tu_text(st, "SELECT group_concat(id || ':' || thing_id || ':' || "
                           "observed_property_id || ':' || sensor_id || ':' || unit_symbol || "
                           "':' || properties, '|') FROM datastreams");
    char *locs = tu_text(st, "SELECT group_concat(location, '|') FROM locations");
    /* the WFS CSV of the same stations: probed as such, not as a generic CSV */
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data(WFS_CSV), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "hydroweb-next");
    CU_ASSERT_EQUAL(rep.things, 2);
    CU_ASSERT_EQUAL(rep.observations, 4);
    /* the same observations: rewritten, not added */
    CU_ASSERT_EQUAL(rep.inserted, 0);
    CU_ASSERT_EQUAL(rep.updated, 4);
    CU_ASSERT_EQUAL(count(st, "observations"), 4);
    /* the same Things (at the same place: POINT (4.2544 -52.2139) is lat, lon) and the same
     * Datastreams, with the same metadata */
    char *things2 = tu_text(st, "SELECT group_concat(id || ':' || code || ':' || properties, "
                                "'|') FROM things");
    char *ds2 = tu_text(st, "SELECT group_concat(id || ':' || thing_id || ':' || "
                            "observed_property_id || ':' || sensor_id || ':' || unit_symbol || "
                            "':' || properties, '|') FROM datastreams");
    char *locs2 = tu_text(st, "SELECT group_concat(location, '|') FROM locations");
    CU_ASSERT_STRING_EQUAL(things2, things);
    CU_ASSERT_STRING_EQUAL(ds2, ds);
    CU_ASSERT_STRING_EQUAL(locs2, locs);
    CU_ASSERT_EQUAL(count(st, "historical_locations"), 2); /* no move */
    CU_ASSERT_EQUAL(count(st, "things t JOIN thing_locations tl ON tl.thing_id = t.id JOIN "
                              "locations l ON l.id = tl.location_id WHERE t.code = "
                              "'R_APPROUAGUE_APPROUAGUE_KM0047' AND ST_X(l.geom) = -52.2139 AND "
                              "ST_Y(l.geom) = 4.2544"),
                    1);
    CU_ASSERT_EQUAL(result_at(st, "R_APPROUAGUE_APPROUAGUE_KM0047", "wse", "2024-01-19T01:26Z"),
                    0.84);
    CU_ASSERT_EQUAL(result_at(st, "R_APPROUAGUE_APPROUAGUE_KM0047", "wse_u",
                              "2024-01-19T01:26Z"),
                    0.03);
    /* start_time = end_time: an instant, as in the JSON */
    CU_ASSERT_EQUAL(count(st, "observations WHERE phenomenon_end IS NOT NULL"), 0);
    free(things);
    free(ds);
    free(locs);
    free(things2);
    free(ds2);
    free(locs2);
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data(WFS_CSV), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    insitu_store_close(st);
}

static void test_wfs_axis_order(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    /* told the file is lon/lat, the same file puts the stations elsewhere */
    const char *lonlat[] = {"axis_order=lonlat", NULL};
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data(WFS_CSV), lonlat, &rep, &err), 0);
    CU_ASSERT_EQUAL(count(st, "locations WHERE ST_X(geom) = 4.2544 AND ST_Y(geom) = -52.2139"),
                    1);
    const char *bad[] = {"axis_order=yx", NULL};
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data(WFS_CSV), bad, &rep, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "axis_order=yx"));
    const char *unknown[] = {"sep=;", NULL};
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data(WFS_CSV), unknown, &rep, &err), INSITU_EUSAGE);
    /* a latitude out of range with the order given: the error suggests the other order */
    const char *dir = tu_tmpdir();
    char *path = tu_write(dir, "lonlat_wfs.csv",
                          "FID,fid,start_time,end_time,geom,name,river,basin,status,validation,"
                          "wse,wse_u\n"
                          "x.R_A,R_A,2024-01-19T01:26:00,2024-01-19T01:26:00,POINT (-152.2 4.25),"
                          "R_A,A,A,operational,Automatic,0.84,0.03\n");
    CU_ASSERT_EQUAL(tu_ingest(st, path, NULL, &rep, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "lonlat_wfs.csv:2: column 'geom': latitude -152.2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "axis_order=lonlat"));
    free(path);
    insitu_store_close(st);
}

static void test_missing_values(void)
{
    const char *dir = tu_tmpdir();
    /* the real KM0387 document with its values replaced by the declared missing value
     * (9999.999) and by null */
    FILE *f = fopen(tu_data(JSON_387), "rb");
    char text[8192];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    char *v = strstr(text, "122.36");
    CU_ASSERT_FATAL(v != NULL);
    memmove(v + 8, v + 6, strlen(v + 6) + 1);
    memcpy(v, "9999.999", 8);
    v = strstr(text, "\"associated_uncertainty\": 0.04");
    CU_ASSERT_FATAL(v != NULL);
    memcpy(v + 26, "null", 4);
    char *path = tu_write(dir, "KM0387_missing.json", text);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, path, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 6);
    CU_ASSERT_EQUAL(rep.nulls, 2);
    char *s = value_at(st, "R_MARONI_OELEMARI_KM0387", "wse", "2023-11-23T13:39Z");
    CU_ASSERT_STRING_EQUAL(s, "null");
    free(s);
    s = value_at(st, "R_MARONI_OELEMARI_KM0387", "wse_u", "2023-11-23T13:39Z");
    CU_ASSERT_STRING_EQUAL(s, "0.22");
    free(s);
    s = value_at(st, "R_MARONI_OELEMARI_KM0387", "wse_u", "2024-01-16T13:39Z");
    CU_ASSERT_STRING_EQUAL(s, "null");
    free(s);
    free(path);
    /* the WFS CSV: an empty field and 9999.999 are missing too */
    path = tu_write(dir, "missing_wfs.csv",
                    "FID,fid,start_time,end_time,geom,name,river,basin,status,validation,wse,"
                    "wse_u\n"
                    "x.R_A,R_A,2024-01-19T01:26:00,2024-01-19T01:26:00,POINT (4.25 -52.2),R_A,A,"
                    "A,operational,Automatic,,0.03\n"
                    "x.R_A,R_A,2024-01-20T01:26:00,2024-01-20T03:26:00,POINT (4.25 -52.2),R_A,A,"
                    "A,operational,Automatic,1.5,9999.999\n");
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, path, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 4);
    CU_ASSERT_EQUAL(rep.nulls, 2);
    CU_ASSERT_EQUAL(count(st, "observations o JOIN datastreams d ON d.id = o.datastream_id JOIN "
                              "things t ON t.id = d.thing_id WHERE t.code = 'R_A' AND o.result "
                              "IS NULL"),
                    2);
    /* start and end times that differ make an interval */
    CU_ASSERT_EQUAL(count(st, "observations WHERE phenomenon_end - phenomenon_start = "
                              "7200000000"),
                    2);
    free(path);
    insitu_store_close(st);
}

static void expect_error(const char *name, const char *content, int code, const char *fragment)
{
    const char *dir = tu_tmpdir();
    char *path = tu_write(dir, name, content);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err = {0};
    const char *settings[] = {NULL};
    int rc = tu_ingest(st, path, settings, &rep, &err);
    CU_ASSERT_EQUAL(rc, code);
    if (!strstr(err.message, fragment))
        fprintf(stderr, "# expected '%s' in: %s\n", fragment, err.message);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, fragment));
    CU_ASSERT_EQUAL(count(st, "observations"), 0);
    CU_ASSERT_EQUAL(count(st, "things"), 0);
    insitu_store_close(st);
    free(path);
}

static void test_errors(void)
{
    static const char head[] =
        "{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": "
        "[-52.1, 4.2]}, \"properties\": {\"resource\": \"R_X\", "
        "\"water_surface_reference_name\": \"EGM2008\", \"missing_value\": 9999.999}, "
        "\"data\": [";
    char doc[1024];
    expect_error("no_datum.json",
                 "{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": "
                 "[1, 2]}, \"properties\": {\"resource\": \"R_X\", "
                 "\"orthometric_height_of_water_surface_at_reference_position\": 1}, \"data\": []}",
                 INSITU_EINVAL, "no_datum.json: properties.water_surface_reference_name: missing");
    snprintf(doc, sizeof doc, "%s{\"date\": \"2024-02-30\", \"time\": \"13:31\", "
                              "\"orthometric_height_of_water_surface_at_reference_position\": 1, "
                              "\"associated_uncertainty\": 0.1}]}",
             head);
    expect_error("bad_date.json", doc, INSITU_EINVAL, "bad_date.json: data[0].date/time");
    snprintf(doc, sizeof doc, "%s{\"date\": \"2024-02-01\", \"time\": \"13:31\", "
                              "\"orthometric_height_of_water_surface_at_reference_position\": "
                              "\"high\"}]}",
             head);
    expect_error("bad_value.json", doc, INSITU_EINVAL,
                 "bad_value.json: data[0].orthometric_height_of_water_surface_at_reference_"
                 "position: not a number");
    snprintf(doc, sizeof doc, "%s{\"identifier\": \"R_Y\", \"date\": \"2024-02-01\", "
                              "\"orthometric_height_of_water_surface_at_reference_position\": 1}]}",
             head);
    expect_error("other_station.json", doc, INSITU_EINVAL,
                 "data[0].identifier: R_Y is not the station R_X");
    /* truncated: the parser's line and column */
    expect_error("truncated.json", "{\"type\": \"Feature\", \"water_surface_reference_name\": ",
                 INSITU_EINVAL, "truncated.json: line 1 column");
    expect_error("bad_number.csv",
                 "FID,fid,start_time,end_time,geom,name,river,basin,status,validation,wse,wse_u\n"
                 "x.R_A,R_A,2024-01-19T01:26:00,,POINT (4.25 -52.2),R_A,A,A,operational,"
                 "Automatic,0.84,0.03\n"
                 "x.R_A,R_A,2024-01-20T01:26:00,,POINT (4.25 -52.2),R_A,A,A,operational,"
                 "Automatic,0,84,0.03\n",
                 INSITU_EINVAL, "bad_number.csv:3: expected 12 fields as in the header, found 13");
    expect_error("bad_point.csv",
                 "FID,fid,start_time,end_time,geom,name,river,basin,status,validation,wse,wse_u\n"
                 "x.R_A,R_A,2024-01-19T01:26:00,,\"LINESTRING (4 5, 6 7)\",R_A,A,A,operational,"
                 "Automatic,0.84,0.03\n",
                 INSITU_EINVAL, "bad_point.csv:2: column 'geom': not a WKT POINT");
    expect_error("bad_time.csv",
                 "FID,fid,start_time,end_time,geom,name,river,basin,status,validation,wse,wse_u\n"
                 "x.R_A,R_A,19/01/2024,,POINT (4.25 -52.2),R_A,A,A,operational,Automatic,0.84,"
                 "0.03\n",
                 INSITU_EINVAL, "bad_time.csv:2: column 'start_time'");
    expect_error("not_a_number.csv",
                 "FID,fid,start_time,end_time,geom,name,river,basin,status,validation,wse,wse_u\n"
                 "x.R_A,R_A,2024-01-19T01:26:00,,POINT (4.25 -52.2),R_A,A,A,operational,"
                 "Automatic,0.84,low\n",
                 INSITU_EINVAL, "not_a_number.csv:2: column 'wse_u': not a number: 'low'");
}

static void test_probe_and_formats(void)
{
    /* formats lists both ingesters */
    int found = 0;
    for (size_t i = 0; insitu_ingester_name(i); i++)
        found += strcmp(insitu_ingester_name(i), "hydroweb") == 0 ||
                 strcmp(insitu_ingester_name(i), "hydroweb-next") == 0;
    CU_ASSERT_EQUAL(found, 2);
    /* the generic CSV is not chosen for the WFS file, and can still be asked for */
    insitu_store *st = tu_store(NULL);
    insitu_ingest_options o = {0};
    insitu_ingest_report rep;
    insitu_error err;
    o.format = "hydroweb";
    CU_ASSERT_EQUAL(insitu_ingest(st, tu_data(WFS_CSV), &o, &rep, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "hydroweb: hydroweb_rivers_wse"));
    /* a CSV that merely has a wse column is not a WFS CSV */
    const char *dir = tu_tmpdir();
    char *path = tu_write(dir, "plain.csv", "time,wse\n2024-01-01T00:00:00Z,1.5\n");
    CU_ASSERT_EQUAL(tu_ingest(st, path, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "csv");
    free(path);
    insitu_store_close(st);
}

int main(void)
{
    tu_init();
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("hydroweb", NULL, NULL);
    CU_add_test(s, "legacy JSON: stations, exact values, datum, re-ingest", test_legacy_json);
    CU_add_test(s, "WFS CSV: lat/lon order, same Things and Datastreams as the JSON",
                test_wfs_csv_merges_with_json);
    CU_add_test(s, "WFS CSV: axis_order setting", test_wfs_axis_order);
    CU_add_test(s, "missing values are NULL, intervals", test_missing_values);
    CU_add_test(s, "errors name the file, the row and the field", test_errors);
    CU_add_test(s, "probing and formats", test_probe_and_formats);
    return tap_run();
}
