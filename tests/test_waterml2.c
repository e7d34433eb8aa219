/*
 * test_waterml2.c: the WaterML 2.0 ingester (ingest/waterml2.c) on real documents (a USGS
 * NWIS collection with a MonitoringPoint in NAD83, nil values, per-point qualifiers and
 * comments; a 52North SOS 2.0 GetObservationResponse with a feature by reference): entities,
 * exact values and times, positions, provenance, and clear errors that change nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "testutil.h"
#include "util.h"

#define USGS "waterml2/usgs_435601087432701_precipitation.xml"
#define SOS "waterml2/sos_52n_getobservation_wml2_response.xml"

static int64_t count(insitu_store *st, const char *what)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", what);
    return tu_int(st, sql);
}

static int64_t us(const char *iso)
{
    int64_t t = 0;
    insitu_time_parse(iso, 0, &t, NULL);
    return t;
}

static void text_is(insitu_store *st, const char *sql, const char *want)
{
    char *got = tu_text(st, sql);
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got && strcmp(got, want) != 0)
        fprintf(stderr, "# %s\n#   got  %s\n#   want %s\n", sql, got, want);
    CU_ASSERT_STRING_EQUAL(got ? got : "", want);
    free(got);
}

static void test_usgs_collection(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data(USGS), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "waterml2");
    CU_ASSERT_EQUAL(rep.things, 1);
    CU_ASSERT_EQUAL(rep.datastreams, 1);
    CU_ASSERT_EQUAL(rep.observations, 33);
    CU_ASSERT_EQUAL(rep.nulls, 3);
    /* the station: the MonitoringPoint's gml:id, its description reference's title */
    text_is(st, "SELECT namespace || '|' || code || '|' || name FROM things",
            "waterml2|USGS.MP.435601087432701|HIKA RAIN GAGE NEAR CLEVELAND, WI");
    /* "43.93361110 -87.72416670" in EPSG:4269 (latitude first) is lon -87.7241667 */
    CU_ASSERT_EQUAL(count(st, "locations WHERE location = "
                              "'{\"type\":\"Point\",\"coordinates\":[-87.7241667,43.9336111]}'"),
                    1);
    CU_ASSERT_EQUAL(count(st, "features"), 1);
    text_is(st, "SELECT name || '|' || definition FROM observed_properties",
            "Precipitation|http://nwis.waterdata.usgs.gov/usa/nwis/pmcodes?radio_pm_search="
            "pm_search&format=html_table&show=parameter_nm&show=parameter_units&pm_search=00045");
    text_is(st, "SELECT name FROM sensors", "SUMMATION VALUES");
    text_is(st, "SELECT unit_symbol || '|' || name FROM datastreams",
            "in|Precipitation at HIKA RAIN GAGE NEAR CLEVELAND, WI");
    /* local times at -06:00 are stored in UTC; the result time is the document's */
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT CAST(result * 100 AS INTEGER) FROM observations WHERE phenomenon_start = "
             "%lld",
             (long long)us("2012-09-07T18:00:00Z"));
    CU_ASSERT_EQUAL(tu_int(st, sql), 21);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE result_time = %lld",
             (long long)us("2014-01-27T16:33:58Z"));
    CU_ASSERT_EQUAL(tu_int(st, sql), 33);
    /* nil values: NULL results with the point's qualifier and comment */
    snprintf(sql, sizeof sql,
             "SELECT result_quality || '|' || parameters FROM observations_text WHERE "
             "phenomenon_start = %lld AND result IS NULL",
             (long long)us("2012-01-02T18:00:00Z"));
    text_is(st, sql, "Provisional data subject to revision.|"
                     "{\"comment\":\"Parameter monitored seasonally\"}");
    CU_ASSERT_EQUAL(count(st, "observations_text WHERE result_quality = 'Provisional data subject "
                              "to revision.'"),
                    33);
    /* the default point metadata is kept on the Datastream */
    CU_ASSERT_EQUAL(count(st, "datastreams WHERE properties LIKE '%TotalPrec%' AND properties "
                              "LIKE '%Approved for publication%'"),
                    1);
    CU_ASSERT_EQUAL(count(st, "datastreams WHERE n_obs = 33"), 1);
    /* read once: the checksum computed while parsing is the file's, and a re-read skips */
    char hex[65];
    uint64_t bytes;
    CU_ASSERT_EQUAL(sha256_file(tu_data(USGS), hex, &bytes, NULL), 0);
    CU_ASSERT_STRING_EQUAL(rep.checksum, hex);
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data(USGS), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    CU_ASSERT_EQUAL(count(st, "observations"), 33);
    insitu_store_close(st);
}

static void test_sos_response(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data(SOS), NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 6);
    CU_ASSERT_EQUAL(rep.nulls, 0);
    /* a feature given by reference: its URI is the code, its title the name; no geometry */
    text_is(st, "SELECT code || '|' || name FROM things",
            "http://geoviqua.dev.52north.org/stations/Vaisala-WXT520|Vaisala_WXT520");
    CU_ASSERT_EQUAL(count(st, "thing_locations"), 0);
    CU_ASSERT_EQUAL(count(st, "observations WHERE feature_id IS NOT NULL"), 0);
    /* names from the last segment of the references */
    text_is(st, "SELECT name FROM observed_properties", "AirTemperature");
    text_is(st, "SELECT name || '|' || code FROM sensors",
            "WXT520|http://geoviqua.dev.52north.org/procedures/WXT520");
    text_is(st, "SELECT unit_symbol FROM datastreams", "degC");
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT CAST(result * 10 AS INTEGER) FROM observations WHERE phenomenon_start = "
             "%lld",
             (long long)us("2014-07-01T01:16:41Z"));
    CU_ASSERT_EQUAL(tu_int(st, sql), 125);
    snprintf(sql, sizeof sql, "SELECT min(phenomenon_start) = %lld FROM observations",
             (long long)us("2014-07-01T00:01:42Z"));
    CU_ASSERT_EQUAL(tu_int(st, sql), 1);
    insitu_store_close(st);
}

/* A copy of the USGS document with `from` replaced by `to` (the first occurrence). */
static char *variant(const char *name, const char *from, const char *to)
{
    FILE *f = fopen(tu_data(USGS), "rb");
    if (!f)
        return NULL;
    char *text = calloc(1, 1 << 16);
    size_t n = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[n] = '\0';
    struct strbuf out = {0};
    char *at = from ? strstr(text, from) : NULL;
    if (at) {
        sb_append(&out, text, (size_t)(at - text));
        sb_puts(&out, to);
        sb_puts(&out, at + strlen(from));
    } else {
        sb_puts(&out, text);
    }
    char *path = tu_write(tu_tmpdir(), name, out.data);
    sb_free(&out);
    free(text);
    return path;
}

static void test_errors(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    /* a value that is not a number: the file, line and element; nothing stored */
    char *bad = variant("bad_value.xml", "<wml2:value>0.21</wml2:value>",
                        "<wml2:value>0,21</wml2:value>");
    CU_ASSERT_NOT_EQUAL(tu_ingest(st, bad, NULL, &rep, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "waterml2: bad_value.xml:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "wml2:value: not a number: '0,21'"));
    CU_ASSERT_EQUAL(count(st, "observations"), 0);
    CU_ASSERT_EQUAL(count(st, "things"), 0);
    /* lenient: a warning, and the value is missing */
    insitu_ingest_options opts = {0};
    opts.lenient = 1;
    CU_ASSERT_EQUAL(insitu_ingest(st, bad, &opts, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.warnings, 1);
    CU_ASSERT_EQUAL(rep.nulls, 4);
    free(bad);
    /* truncated XML: not well-formed, with the line */
    FILE *f = fopen(tu_data(USGS), "rb");
    char buf[9000];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    insitu_store *st2 = tu_store(NULL);
    char *cut = tu_write(tu_tmpdir(), "cut.xml", buf);
    CU_ASSERT_NOT_EQUAL(tu_ingest(st2, cut, NULL, &rep, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "waterml2: cut.xml: not well-formed XML: line"));
    CU_ASSERT_EQUAL(count(st2, "observations"), 0);
    free(cut);
    /* a position that is not one, and an unknown CRS */
    char *pos = variant("bad_pos.xml", "43.93361110 -87.72416670", "43.93361110");
    CU_ASSERT_NOT_EQUAL(tu_ingest(st2, pos, NULL, &rep, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "gml:pos: expected two numbers, found "
                                               "'43.93361110'"));
    free(pos);
    char *crs = variant("bad_crs.xml", "urn:ogc:def:crs:EPSG:4269", "urn:ogc:def:crs:EPSG:999999");
    CU_ASSERT_NOT_EQUAL(tu_ingest(st2, crs, NULL, &rep, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "srsName 'urn:ogc:def:crs:EPSG:999999' is not a "
                                               "CRS GDAL knows"));
    free(crs);
    /* a position out of range */
    char *far = variant("far.xml", "43.93361110 -87.72416670", "143.9 -87.7");
    CU_ASSERT_NOT_EQUAL(tu_ingest(st2, far, NULL, &rep, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "gml:pos: '143.9 -87.7' is not a position on "
                                               "Earth (check axis_order)"));
    free(far);
    const char *wrong[] = {"axis_order=yx", NULL};
    CU_ASSERT_NOT_EQUAL(tu_ingest(st2, tu_data(USGS), wrong, &rep, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "axis_order=yx: expected auto, latlon or lonlat"));
    CU_ASSERT_EQUAL(count(st2, "things"), 0);
    insitu_store_close(st2);
    /* the axis order can be overridden: lonlat reads the first number as the longitude */
    insitu_store *st3 = tu_store(NULL);
    const char *lonlat[] = {"axis_order=lonlat", NULL};
    CU_ASSERT_EQUAL(tu_ingest(st3, tu_data(USGS), lonlat, &rep, &err), 0);
    CU_ASSERT_EQUAL(count(st3, "locations WHERE location = "
                               "'{\"type\":\"Point\",\"coordinates\":[43.9336111,-87.7241667]}'"),
                    1);
    insitu_store_close(st3);
    insitu_store_close(st);
}

/* A categorical series (no public sample shows one: built here from the schema's elements). */
static void test_categorical(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    char *path = tu_write(
        tu_tmpdir(), "categorical.xml",
        "<wml2:Collection xmlns:wml2=\"http://www.opengis.net/waterml/2.0\" "
        "xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:om=\"http://www.opengis.net/om/2.0\" "
        "xmlns:swe=\"http://www.opengis.net/swe/2.0\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
        "gml:id=\"c\"><wml2:observationMember><om:OM_Observation gml:id=\"o\">"
        "<om:procedure xlink:title=\"observer\"/>"
        "<om:observedProperty xlink:href=\"urn:x:ice_cover\" xlink:title=\"ice cover\"/>"
        "<om:featureOfInterest xlink:href=\"urn:x:station:7\" xlink:title=\"Lake 7\"/>"
        "<om:result><wml2:CategoricalTimeseries gml:id=\"t\"><wml2:point><wml2:CategoricalTVP>"
        "<wml2:time>2024-01-05T08:00:00+01:00</wml2:time><wml2:value><swe:Category>"
        "<swe:value>frozen</swe:value></swe:Category></wml2:value></wml2:CategoricalTVP>"
        "</wml2:point></wml2:CategoricalTimeseries></om:result></om:OM_Observation>"
        "</wml2:observationMember></wml2:Collection>");
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, path, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 1);
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT result_json FROM observations WHERE phenomenon_start = %lld",
             (long long)us("2024-01-05T07:00:00Z"));
    text_is(st, sql, "\"frozen\"");
    CU_ASSERT_EQUAL(count(st, "datastreams WHERE observation_type LIKE '%OM_CategoryObservation'"),
                    1);
    free(path);
    insitu_store_close(st);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "a categorical series", test_categorical);
    CU_add_test(s, "a USGS NWIS collection: station, position, values, nils, qualifiers",
                test_usgs_collection);
    CU_add_test(s, "an SOS GetObservationResponse with a feature by reference", test_sos_response);
    CU_add_test(s, "bad values, bad XML, bad positions: clear errors, no change", test_errors);
}

int main(void) { return tu_main("waterml2", add_tests, NULL, NULL); }
