/*
 * test_hydrocron.c: the Hydrocron ingester (ingest/hydrocron.c) on real responses of the
 * service (tests/data/hydrocron): the shared SWOT mapping (namespaces, sensor, properties,
 * units), exact values, fill values as NULL with their flags, CSV and GeoJSON (compact or
 * not) giving the same rows, `time` and the observation parameters, errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "testutil.h"
#include "util.h"

static int64_t count(insitu_store *st, const char *where)
{
    char sql[600];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", where);
    return tu_int(st, sql);
}

static char *text(insitu_store *st, const char *sql)
{
    char *v = tu_text(st, sql);
    return v ? v : xstrdup("(null)");
}

#define OBS_OF(code, prop)                                                                    \
    "observations_text o JOIN datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = "\
    "d.thing_id JOIN observed_properties p ON p.id = d.observed_property_id WHERE t.code = '" \
    code "' AND p.name = '" prop "'"

static void test_reach_csv(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("hydrocron/reach_basic.csv"), NULL, &rep, &err),
                          0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "hydrocron");
    CU_ASSERT_EQUAL(rep.things, 1);
    CU_ASSERT_EQUAL(rep.datastreams, 3); /* wse, slope, width */
    CU_ASSERT_EQUAL(rep.observations, 15);
    /* the shared SWOT mapping */
    CU_ASSERT_EQUAL(count(st, "things WHERE namespace = 'swot:reach' AND code = '18180900091'"),
                    1);
    CU_ASSERT_EQUAL(count(st, "sensors WHERE namespace = 'swot' AND code = 'L2_HR_RiverSP' AND "
                              "name = 'SWOT L2_HR_RiverSP'"),
                    1);
    CU_ASSERT_EQUAL(count(st, "observed_properties WHERE definition = 'urn:x-insitu:swot:' || "
                              "name AND description <> ''"),
                    3);
    CU_ASSERT_EQUAL(count(st, "datastreams d JOIN observed_properties p ON p.id = "
                              "d.observed_property_id WHERE (p.name = 'wse' AND d.unit_symbol = "
                              "'m') OR (p.name = 'slope' AND d.unit_symbol = 'm/m') OR (p.name = "
                              "'width' AND d.unit_symbol = 'm')"),
                    3);
    char *props = text(st, "SELECT properties FROM things");
    CU_ASSERT_STRING_EQUAL(props, "{\"sword_version\":\"16\"}");
    free(props);
    /* values exactly as the service wrote them, at time_str */
    CU_ASSERT_EQUAL(count(st, OBS_OF("18180900091", "wse") " AND o.result = 1065.3532 AND "
                                                           "o.phenomenon_start = "
                                                           "1706863054000000"),
                    1);
    CU_ASSERT_EQUAL(count(st, OBS_OF("18180900091", "slope") " AND o.result = -0.0068922186"), 1);
    CU_ASSERT_EQUAL(count(st, OBS_OF("18180900091", "width") " AND o.result = 21.089067"), 1);
    /* re-ingest: skipped */
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data("hydrocron/reach_basic.csv"), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    insitu_store_close(st);
}

static void test_fill_values(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("hydrocron/reach_d_discharge.csv"), NULL, &rep,
                                    &err),
                          0);
    CU_ASSERT_EQUAL(rep.observations, 9);
    CU_ASSERT_EQUAL(rep.nulls, 6); /* dschg_c and dschg_c_u are -999999999999.0 */
    CU_ASSERT_EQUAL(count(st, OBS_OF("18180900091", "dschg_c") " AND o.result IS NULL AND "
                                                               "o.result_quality = "
                                                               "'{\"dschg_c_q\":-999}'"),
                    3);
    CU_ASSERT_EQUAL(count(st, OBS_OF("18180900091", "dschg_c_u") " AND o.result IS NULL"), 3);
    CU_ASSERT_EQUAL(count(st, OBS_OF("18180900091", "wse") " AND o.result = 1013.8288"), 1);
    /* the flag is not a datastream of its own */
    CU_ASSERT_EQUAL(count(st, "observed_properties WHERE name = 'dschg_c_q'"), 0);
    CU_ASSERT_EQUAL(count(st, "datastreams WHERE unit_symbol = 'm^3/s'"), 2);
    insitu_store_close(st);
}

static void test_node_csv_and_geojson_merge(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("hydrocron/node_d_basic.csv"), NULL, &rep, &err),
                          0);
    CU_ASSERT_EQUAL(rep.observations, 16);
    char *before = text(st, "SELECT group_concat(datastream_id || '@' || phenomenon_start || '=' "
                            "|| result, ';') FROM observations");
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("hydrocron/node_d_basic.geojson"), NULL, &rep,
                                    &err),
                          0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "hydrocron");
    CU_ASSERT_EQUAL(rep.inserted, 0);
    CU_ASSERT_EQUAL(rep.updated, 16);
    char *after = text(st, "SELECT group_concat(datastream_id || '@' || phenomenon_start || '=' "
                           "|| result, ';') FROM observations");
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    CU_ASSERT_EQUAL(count(st, "things WHERE namespace = 'swot:node'"), 1);
    /* the GeoJSON gives the node's geometry: its location and feature of interest */
    CU_ASSERT_EQUAL(count(st, "locations WHERE ST_X(geom) = 102.543408 AND ST_Y(geom) = 3.40867"),
                    1);
    CU_ASSERT_EQUAL(count(st, "observations o JOIN features f ON f.id = o.feature_id"), 16);
    CU_ASSERT_EQUAL(count(st, OBS_OF("44404000150591", "wse") " AND o.result = 21.68793"), 1);
    CU_ASSERT_EQUAL(count(st, "datastreams WHERE unit_symbol = 'degrees_north'"), 1);
    insitu_store_close(st);
}

/* The real node GeoJSON compacted as the service does with compact=true: one Feature whose
 * properties are arrays, one element per time step. */
static char *compact_node_geojson(void)
{
    json_t *doc = json_load_file(tu_data("hydrocron/node_d_basic.geojson"), 0, NULL);
    json_t *features = json_object_get(doc, "features");
    json_t *props = json_object();
    const char *key;
    json_t *v;
    for (size_t i = 0; i < json_array_size(features); i++) {
        json_t *p = json_object_get(json_array_get(features, i), "properties");
        json_object_foreach(p, key, v)
        {
            json_t *list = json_object_get(props, key);
            if (!list) {
                list = json_array();
                json_object_set_new(props, key, list);
            }
            json_array_append(list, v);
        }
    }
    json_t *f = json_pack("{s:s, s:s, s:o, s:O}", "id", "0", "type", "Feature", "properties",
                          props, "geometry",
                          json_object_get(json_array_get(features, 0), "geometry"));
    json_t *env = json_pack("{s:s, s:f, s:i, s:{s:s, s:{s:s, s:[o]}}}", "status", "200 OK",
                            "time", 1.0, "hits", 4, "results", "csv", "", "geojson", "type",
                            "FeatureCollection", "features", f);
    char *s = json_dumps(env, JSON_INDENT(2));
    json_decref(env);
    json_decref(doc);
    return s;
}

static void test_compact_geojson(void)
{
    char *content = compact_node_geojson();
    const char *dir = tu_tmpdir();
    char *path = tu_write(dir, "compact.json", content);
    free(content);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, path, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "hydrocron");
    CU_ASSERT_EQUAL(rep.observations, 16);
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("hydrocron/node_d_basic.csv"), NULL, &rep, &err),
                          0);
    CU_ASSERT_EQUAL(rep.inserted, 0);
    CU_ASSERT_EQUAL(rep.updated, 16);
    CU_ASSERT_EQUAL(count(st, OBS_OF("44404000150591", "width") " AND o.result = 374.54059"), 1);
    free(path);
    insitu_store_close(st);
}

static void test_lake(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("hydrocron/lake_d_basic.csv"), NULL, &rep, &err),
                          0);
    CU_ASSERT_EQUAL(rep.observations, 8);
    CU_ASSERT_EQUAL(count(st, "things WHERE namespace = 'swot:lake' AND code = '7230381002'"), 1);
    CU_ASSERT_EQUAL(count(st, "sensors WHERE code = 'L2_HR_LakeSP'"), 1);
    CU_ASSERT_EQUAL(count(st, "observations_text WHERE result_quality = '{\"quality_f\":1}'"), 8);
    CU_ASSERT_EQUAL(count(st, OBS_OF("7230381002", "area_total") " AND o.result = 0.042514"), 1);
    CU_ASSERT_EQUAL(count(st, "datastreams WHERE unit_symbol = 'km^2'"), 1);
    insitu_store_close(st);
}

static void test_time_and_parameters(void)
{
    /* a response with the fields `insitu pull` asks for (values of a real Hydrocron reach
     * item: time 735105930.384 s after 2000, cycle 494, pass 011, reach_q 3) */
    const char *dir = tu_tmpdir();
    char *path = tu_write(
        dir, "with_time.csv",
        "reach_id,time,time_str,wse,wse_u,reach_q,reach_q_b,cycle_id,pass_id,continent_id,crid,"
        "granuleUR,river_name,wse_units,wse_u_units\n"
        "71224300243,735105930.384,2023-04-18T04:05:30Z,320.2114,0.17219,3,4212878,494,011,NA,"
        "PIA1,SWOT_L2_HR_RiverSP_Reach_494_011_NA_20230418T035934_20230418T040547_PIA1_01.zip,"
        "no_data,m,m\n"
        "71224300243,-999999999999.0,no_data,-999999999999.0,-999999999999.0,-999,-99999999,"
        "494,011,NA,PIA1,SWOT_L2_HR_RiverSP_Reach_494_011_NA_20230418T035934_20230418T040547_"
        "PIA1_01.zip,no_data,m,m\n");
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, path, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 2);
    CU_ASSERT_EQUAL(rep.warnings, 1); /* the record without a time */
    int64_t t;
    insitu_time_parse("2023-04-18T04:05:30.384Z", 0, &t, NULL);
    char sql[300];
    snprintf(sql, sizeof sql, "observations WHERE phenomenon_start = %lld", (long long)t);
    CU_ASSERT_EQUAL(count(st, sql), 2);
    char *p = text(st, "SELECT DISTINCT parameters FROM observations_text");
    CU_ASSERT_STRING_EQUAL(p, "{\"continent\":\"NA\",\"counter\":\"01\",\"crid\":\"PIA1\","
                              "\"cycle\":494,\"pass\":11,\"product\":\"Reach\"}");
    free(p);
    p = text(st, "SELECT DISTINCT result_quality FROM observations_text");
    CU_ASSERT_STRING_EQUAL(p, "{\"reach_q\":3,\"reach_q_b\":4212878}");
    free(p);
    CU_ASSERT_EQUAL(count(st, OBS_OF("71224300243", "wse_u") " AND o.result = 0.17219"), 1);
    /* river_name no_data is not a property */
    CU_ASSERT_EQUAL(count(st, "things WHERE properties IS NULL"), 1);
    free(path);
    insitu_store_close(st);
}

static void expect_error(const char *name, const char *content, const char *fragment)
{
    const char *dir = tu_tmpdir();
    char *path = tu_write(dir, name, content);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_options o = {0};
    o.format = "hydrocron";
    insitu_ingest_report rep;
    insitu_error err = {0};
    CU_ASSERT_EQUAL(insitu_ingest(st, path, &o, &rep, &err), INSITU_EINVAL);
    if (!strstr(err.message, fragment))
        fprintf(stderr, "# expected '%s' in: %s\n", fragment, err.message);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, fragment));
    CU_ASSERT_EQUAL(count(st, "observations"), 0);
    insitu_store_close(st);
    free(path);
}

static void test_errors(void)
{
    expect_error("no_id.csv", "time_str,wse,wse_units\n2024-01-01T00:00:00Z,1,m\n",
                 "no_id.csv: record 1: no reach_id, node_id or lake_id field");
    expect_error("bad_value.csv",
                 "reach_id,time_str,wse\n1,2024-01-01T00:00:00Z,1\n1,2024-01-02T00:00:00Z,x\n",
                 "bad_value.csv: record 2: wse: not a number: 'x'");
    expect_error("no_time.csv", "reach_id,wse\n1,1\n",
                 "no_time.csv: record 1: no time or time_str field");
    expect_error("error.json", "{\"status\": \"400 Bad Request\", \"error\": \"400: bad\"}",
                 "error.json: status 400 Bad Request: 400: bad");
    expect_error("other.json", "{\"type\": \"FeatureCollection\"}",
                 "other.json: features: missing");
    expect_error("cut.json", "{\"status\":\"200 OK\",\"results\":{\"csv\":\"reach_id",
                 "cut.json: line 1 column");
}

int main(void)
{
    tu_init();
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("hydrocron", NULL, NULL);
    CU_add_test(s, "reach CSV response: mapping and exact values", test_reach_csv);
    CU_add_test(s, "fill values are NULL with their quality flag", test_fill_values);
    CU_add_test(s, "node CSV and GeoJSON responses give the same rows",
                test_node_csv_and_geojson_merge);
    CU_add_test(s, "compact GeoJSON", test_compact_geojson);
    CU_add_test(s, "prior lake response", test_lake);
    CU_add_test(s, "time, resultQuality and parameters", test_time_and_parameters);
    CU_add_test(s, "errors", test_errors);
    return tap_run();
}
