/*
 * test_query.c: src/query.c, src/export.c and src/listing.c: series selection and ordering,
 * time bounds, aggregates, spatial and property filters, and the CSV/JSON/GeoJSON/WaterML
 * outputs checked by parsing them back.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "tap.h"
#include "testutil.h"

static insitu_store *store;

static int suite_init(void)
{
    store = tu_store(NULL);
    const char *dir = tu_tmpdir();
    /* a known hourly series: 2020-01-01T00 .. 2020-03-01T23, value = hour index */
    FILE *f;
    char path[600];
    snprintf(path, sizeof path, "%s/hourly.csv", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "time,value,quality\n");
    for (int h = 0; h < 61 * 24; h++) {
        int64_t t = INT64_C(1577836800) + (int64_t)h * 3600;
        long long s = t;
        char iso[40];
        insitu_time_format(s * 1000000, iso, sizeof iso);
        if (h % 100 == 7)
            fprintf(f, "%s,,gap\n", iso);
        else
            fprintf(f, "%s,%d,ok\n", iso, h);
    }
    fclose(f);
    const char *settings[] = {"thing=HOURLY", "lat=45", "lon=5", "property=stage", "unit=m",
                              NULL};
    insitu_error err;
    if (tu_ingest(store, path, settings, NULL, &err) ||
        tu_ingest(store, tu_data("csv/hydroweb_wse_long.csv"), NULL, NULL, &err) ||
        tu_ingest(store, tu_data("theia/CATC_package.zip"), NULL, NULL, &err)) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    insitu_store_close(store);
    return 0;
}

static int collect(const insitu_query *q, insitu_obs *rows, int max, int64_t *ids)
{
    insitu_cursor *cur;
    insitu_error err;
    if (insitu_query_open(store, q, &cur, &err)) {
        printf("# %s\n", err.message);
        return -1;
    }
    int n = 0;
    insitu_obs o;
    while (insitu_cursor_next(cur, &o, &err) == 1) {
        if (n < max) {
            rows[n] = o;
            rows[n].thing = rows[n].observed_property = rows[n].unit = NULL;
            rows[n].result_json = rows[n].result_quality = rows[n].parameters = NULL;
            if (ids)
                ids[n] = o.datastream_id;
        }
        n++;
    }
    insitu_cursor_close(cur);
    return n;
}

static insitu_query base_query(void)
{
    insitu_query q = {0};
    q.from_us = q.to_us = INSITU_TIME_NONE;
    return q;
}

static void test_raw_series(void)
{
    static insitu_obs rows[2000];
    insitu_query q = base_query();
    q.thing = "HOURLY";
    int n = collect(&q, rows, 2000, NULL);
    CU_ASSERT_EQUAL(n, 61 * 24);
    int ordered = 1, nulls = 0;
    for (int i = 1; i < n && i < 2000; i++)
        ordered &= rows[i].phenomenon_start_us > rows[i - 1].phenomenon_start_us;
    for (int i = 0; i < n && i < 2000; i++)
        nulls += !rows[i].has_result;
    CU_ASSERT_TRUE(ordered);
    CU_ASSERT_EQUAL(nulls, 15);
    CU_ASSERT_EQUAL(rows[5].result, 5);
    /* [from, to) */
    insitu_time_parse("2020-01-02", 0, &q.from_us, NULL);
    insitu_time_parse("2020-01-03", 0, &q.to_us, NULL);
    n = collect(&q, rows, 2000, NULL);
    CU_ASSERT_EQUAL(n, 24);
    CU_ASSERT_EQUAL(rows[0].result, 24);
    q.limit = 5;
    CU_ASSERT_EQUAL(collect(&q, rows, 2000, NULL), 5);
}

static void test_aggregates(void)
{
    static insitu_obs rows[100];
    insitu_query q = base_query();
    q.thing = "HOURLY";
    q.aggregate = INSITU_AGG_DAY;
    int n = collect(&q, rows, 100, NULL);
    CU_ASSERT_EQUAL(n, 61);
    /* day 0: hours 0..23, hour 7 missing: mean of the other 23 */
    CU_ASSERT_DOUBLE_EQUAL(rows[0].result, (276.0 - 7) / 23, 1e-12);
    CU_ASSERT_EQUAL(rows[0].count, 23);
    CU_ASSERT_EQUAL(rows[1].count, 24);
    CU_ASSERT_EQUAL(rows[0].phenomenon_end_us - rows[0].phenomenon_start_us,
                    INT64_C(86400000000));
    q.aggregate = INSITU_AGG_MONTH;
    q.stat = INSITU_STAT_MAX;
    n = collect(&q, rows, 100, NULL);
    CU_ASSERT_EQUAL(n, 3); /* January, February, and the 1st of March */
    CU_ASSERT_EQUAL(rows[0].result, 31 * 24 - 1);
    CU_ASSERT_EQUAL(rows[1].result, 60 * 24 - 1); /* February 2020 has 29 days */
    CU_ASSERT_EQUAL(rows[2].result, 61 * 24 - 1);
    q.stat = INSITU_STAT_COUNT;
    collect(&q, rows, 100, NULL);
    CU_ASSERT_EQUAL(rows[0].result, 31 * 24 - 8); /* hours 7, 107, ... 707 are gaps */
    q.aggregate = INSITU_AGG_YEAR;
    q.stat = INSITU_STAT_MIN;
    n = collect(&q, rows, 100, NULL);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(rows[0].result, 0);
    q.stat = INSITU_STAT_SUM;
    q.aggregate = INSITU_AGG_HOUR;
    n = collect(&q, rows, 100, NULL);
    CU_ASSERT_EQUAL(n, 61 * 24);
    CU_ASSERT_FALSE(rows[7].has_result); /* a bucket of missing values only */
}

static void test_filters(void)
{
    static insitu_obs rows[100];
    int64_t ids[100];
    insitu_query q = base_query();
    q.property = "WATER_SURFACE_HEIGHT"; /* names match without case */
    CU_ASSERT_EQUAL(collect(&q, rows, 100, ids), 13);
    /* French Guiana and Suriname only */
    q.has_bbox = 1;
    double box[4] = {-53, 3, -52, 5};
    memcpy(q.bbox, box, sizeof box);
    CU_ASSERT_EQUAL(collect(&q, rows, 100, ids), 2 + 4); /* the two Approuague + Camopi */
    q = base_query();
    int64_t ds[2] = {ids[0], 999};
    q.datastreams = ds;
    q.n_datastreams = 2;
    insitu_cursor *cur;
    insitu_error err;
    CU_ASSERT_EQUAL(insitu_query_open(store, &q, &cur, &err), INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "datastream 999"));
    q.thing = "NO SUCH STATION";
    q.n_datastreams = 0;
    CU_ASSERT_EQUAL(insitu_query_open(store, &q, &cur, &err), INSITU_ENOTFOUND);
}

static char *export_text(const insitu_query *q, const char *format)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    insitu_error err;
    uint64_t rows;
    int rc = insitu_export_query(store, q, f, format, &rows, &err);
    fclose(f);
    if (rc) {
        printf("# %s\n", err.message);
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_csv_contract(void)
{
    insitu_query q = base_query();
    q.thing = "SANKORO (PUITS)";
    char *csv = export_text(&q, "csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    const char *expected =
        "datastream_id,thing,observed_property,unit,phenomenon_time,result,result_quality,"
        "phenomenon_time_end,parameters\n";
    CU_ASSERT_EQUAL(strncmp(csv, expected, strlen(expected)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, ",SANKORO (PUITS),Silicon,g.m-3,2002-07-28T17:52:00Z,31.15,13,,"));
    free(csv);
    q = base_query();
    q.thing = "HOURLY";
    q.aggregate = INSITU_AGG_DAY;
    q.limit = 1;
    csv = export_text(&q, "csv");
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, ",count\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, ",HOURLY,stage,m,2020-01-01T00:00:00Z,11.695652173913043,,"
                                       "2020-01-02T00:00:00Z,23\n"));
    free(csv);
}

static void test_json_geojson(void)
{
    insitu_query q = base_query();
    q.thing = "R_MARONI_TAPANAHONY_KM0198";
    char *text = export_text(&q, "json");
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_array_size(j), 4);
    CU_ASSERT_EQUAL(json_real_value(json_object_get(json_array_get(j, 0), "result")), 48.96);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(j, 0),
                                                             "phenomenon_time")),
                           "2023-11-04T01:35:00Z");
    json_decref(j);
    free(text);
    text = export_text(&q, "geojson");
    j = json_loads(text, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "type")), "FeatureCollection");
    json_t *feat = json_array_get(json_object_get(j, "features"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(feat, "geometry"),
                                                             "type")),
                           "Point");
    json_decref(j);
    free(text);
    /* things as GeoJSON: one Feature per Thing, with its id */
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    insitu_error err;
    CU_ASSERT_EQUAL(insitu_export_things(store, NULL, f, "geojson", &err), 0);
    fclose(f);
    j = json_loads(buf, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "features")),
                    (size_t)tu_int(store, "SELECT count(*) FROM things"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(json_object_get(j,
                                                                                      "features"),
                                                                      0),
                                                       "id")),
                    1);
    json_decref(j);
    free(buf);
}

static void test_waterml2(void)
{
    insitu_query q = base_query();
    q.thing = "HOURLY";
    q.limit = 10;
    char *text = export_text(&q, "waterml2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    xmlDocPtr doc = xmlReadMemory(text, (int)strlen(text), "wml.xml", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "wml2", BAD_CAST "http://www.opengis.net/waterml/2.0");
    xmlXPathObjectPtr pts = xmlXPathEvalExpression(BAD_CAST "//wml2:MeasurementTVP", ctx);
    CU_ASSERT_EQUAL(pts->nodesetval ? pts->nodesetval->nodeNr : 0, 10);
    xmlXPathFreeObject(pts);
    xmlXPathObjectPtr nil = xmlXPathEvalExpression(
        BAD_CAST "//wml2:MeasurementTVP[wml2:time='2020-01-01T07:00:00Z']/wml2:value/@*", ctx);
    CU_ASSERT_EQUAL(nil->nodesetval ? nil->nodesetval->nodeNr : 0, 1); /* xsi:nil */
    xmlXPathFreeObject(nil);
    xmlXPathObjectPtr uom = xmlXPathEvalExpression(BAD_CAST "string(//wml2:uom/@code)", ctx);
    CU_ASSERT_STRING_EQUAL((const char *)uom->stringval, "m");
    xmlXPathFreeObject(uom);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    free(text);
    insitu_error err;
    CU_ASSERT_EQUAL(insitu_export_query(store, &q, stdout, "xlsx", NULL, &err), INSITU_EUSAGE);
}

static void test_listings(void)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    insitu_error err;
    insitu_filter flt = {0};
    flt.thing = "HOURLY";
    CU_ASSERT_EQUAL(insitu_export_datastreams(store, &flt, f, "csv", &err), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, ",HOURLY,stage,urn:x-insitu:property:stage,m,"
                                       "Unspecified sensor,1464,2020-01-01T00:00:00Z,"
                                       "2020-03-01T23:00:00Z,"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &size);
    CU_ASSERT_EQUAL(insitu_export_sources(store, f, "json", &err), 0);
    fclose(f);
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    CU_ASSERT_EQUAL(json_array_size(j), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(j, 2), "ingester")),
                           "theia-pivot");
    json_decref(j);
    free(buf);
    CU_ASSERT_EQUAL(insitu_export_sources(store, stdout, "geojson", &err), INSITU_EUSAGE);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "raw series: order, bounds, limit", test_raw_series);
    CU_add_test(s, "aggregates per hour/day/month/year", test_aggregates);
    CU_add_test(s, "property, bbox and id filters", test_filters);
    CU_add_test(s, "CSV columns are the contract's", test_csv_contract);
    CU_add_test(s, "JSON and GeoJSON parse back", test_json_geojson);
    CU_add_test(s, "WaterML 2.0 parses back", test_waterml2);
    CU_add_test(s, "datastream and source listings", test_listings);
}

int main(void) { return tu_main("query", add_tests, suite_init, suite_clean); }
