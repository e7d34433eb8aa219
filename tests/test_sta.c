/*
 * test_sta.c: src/sta.c and src/sta_write.c through sta_handle(), without HTTP, on a store
 * built from tests/data: the JSON shape of every entity type, navigation, properties,
 * $value and $ref, $expand with its own options, $select, $orderby, paging to the end,
 * $count from the summaries, deep insert, PATCH/PUT, DELETE cascades, CreateObservations,
 * dataArray, the aggregation extension, errors, and the provenance of writes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sta.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"

#define BASE "http://test.example"

static insitu_store *store;
static struct sta_service *svc;
static struct sta_conn *conn;

/* the last response */
static int status;
static char location[512];
static char *body_text;
static const char *ctype;
static char link_hdr[1024]; /* the Link header of the last response, or "" */
/* the Content-Type of the next requests' bodies (NULL: none) */
static const char *req_ctype;

static int suite_init(void)
{
    tu_init();
    store = tu_store(NULL);
    insitu_error err;
    if (!store || tu_ingest(store, tu_data("csv/hydroweb_wse_long.csv"), NULL, NULL, &err) ||
        tu_ingest(store, tu_data("theia/CATC_package.zip"), NULL, NULL, &err)) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    struct sta_config cfg = {0};
    cfg.max_top = 10; /* small, so that server-driven paging shows on 16 observations */
    cfg.source = BASE "/v1.1";
    cfg.query_seconds = 10;
    if (sta_service_new(&cfg, &svc, &err) || sta_conn_new(svc, store, &conn, &err))
        return -1;
    return 0;
}

static int suite_clean(void)
{
    sta_conn_free(conn);
    sta_service_free(svc, store);
    /* the run of the API's writes is complete once the service is gone */
    char *st = tu_text(store, "SELECT status FROM ingest_runs WHERE ingester = 'sta'");
    int ok = st && strcmp(st, "complete") == 0;
    free(st);
    insitu_store_close(store);
    free(body_text);
    body_text = NULL; /* the suite runs again on the next backend */
    return ok ? 0 : -1;
}

/* Runs one request; url holds the path and the query. Returns the parsed JSON body (caller
 * decrefs) or NULL when it is not JSON. */
static json_t *call(const char *method, const char *url, const char *body)
{
    char *copy = strdup(url);
    char *q = strchr(copy, '?');
    if (q)
        *q++ = '\0';
    struct sta_param *params;
    size_t n;
    char *storage;
    sta_parse_query(q, &params, &n, &storage);
    struct sta_request req = {.method = method, .path = copy, .params = params, .nparams = n,
                              .body = body, .body_len = body ? strlen(body) : 0, .base = BASE,
                              .user = "tester", .content_type = req_ctype};
    struct sta_response resp = {0};
    sta_handle(conn, &req, &resp);
    status = resp.status;
    snprintf(location, sizeof location, "%s", resp.location);
    ctype = resp.content_type;
    snprintf(link_hdr, sizeof link_hdr, "%s", sb_str(&resp.link));
    free(body_text);
    body_text = strdup(sb_str(&resp.body));
    sta_response_free(&resp);
    free(params);
    free(storage);
    free(copy);
    json_t *j = json_loads(body_text, JSON_DECODE_ANY, NULL);
    if (status >= 400 && !j)
        printf("# %s %s: %d %s\n", method, url, status, body_text);
    return j;
}

static json_t *get(const char *url) { return call("GET", url, NULL); }

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* 1 when o has exactly these keys (NULL-terminated). */
static int keys_are(json_t *o, ...)
{
    va_list ap;
    va_start(ap, o);
    size_t n = 0;
    int ok = json_is_object(o);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        n++;
        if (ok && !json_object_get(o, k)) {
            printf("# missing key %s\n", k);
            ok = 0;
        }
    }
    va_end(ap);
    if (ok && json_object_size(o) != n) {
        char *t = json_dumps(o, JSON_COMPACT);
        printf("# %zu keys, expected %zu: %.600s\n", json_object_size(o), n, t);
        free(t);
        ok = 0;
    }
    return ok;
}

static int message_has(json_t *j, const char *needle)
{
    const char *m = str(j, "message");
    if (m && strstr(m, needle) && num(j, "code") == status && strcmp(str(j, "type"), "error") == 0)
        return 1;
    printf("# error body: %s\n# expected: %s\n", body_text, needle);
    return 0;
}

/* The id of the k-th Observation (from 0) of Datastream ds in time order. Ids are the
 * store's: SQLite numbers a batch in its order, PostgreSQL takes them from a sequence as the
 * rows reach each yearly partition, so tests name observations by series and time. */
static int64_t obs_id(int64_t ds, int k)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT id FROM observations WHERE datastream_id = %lld ORDER BY "
                              "phenomenon_start LIMIT 1 OFFSET %d",
             (long long)ds, k);
    return tu_int(store, sql);
}

/* The URL of that Observation, with an optional tail ("/Datastream"). */
static const char *obs_url(int64_t ds, int k, const char *tail)
{
    static char url[160];
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)%s", (long long)obs_id(ds, k),
             tail ? tail : "");
    return url;
}

/* ---- reading ---- */

static void test_root(void)
{
    json_t *j = get("/v1.1");
    CU_ASSERT_EQUAL(status, 200);
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(json_array_size(v), 9);
    int things = 0, mds = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        CU_ASSERT_TRUE(keys_are(e, "name", "url", NULL));
        if (strcmp(str(e, "name"), "Things") == 0)
            things = strcmp(str(e, "url"), BASE "/v1.1/Things") == 0;
        if (strcmp(str(e, "name"), "MultiDatastreams") == 0)
            mds = strcmp(str(e, "url"), BASE "/v1.1/MultiDatastreams") == 0;
    }
    CU_ASSERT_TRUE(things);
    CU_ASSERT_TRUE(mds);
    json_t *conf = json_object_get(json_object_get(j, "serverSettings"), "conformance");
    CU_ASSERT_EQUAL(json_array_size(conf), 8);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(conf, 6)),
                           "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(conf, 5)),
                           "http://www.opengis.net/spec/iot_sensing/1.1/req/batch-request/"
                           "batch-request");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(conf, 3)),
                           "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete");
    json_decref(j);
    j = get("/v1.1/");
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
}

static void test_entity_shapes(void)
{
    json_t *j = get("/v1.1/Things(1)");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "name", "description",
                            "Locations@iot.navigationLink",
                            "HistoricalLocations@iot.navigationLink",
                            "Datastreams@iot.navigationLink",
                            "MultiDatastreams@iot.navigationLink", NULL));
    CU_ASSERT_EQUAL(num(j, "@iot.id"), 1);
    CU_ASSERT_STRING_EQUAL(str(j, "@iot.selfLink"), BASE "/v1.1/Things(1)");
    CU_ASSERT_STRING_EQUAL(str(j, "name"), "R_APPROUAGUE_APPROUAGUE_KM0041");
    CU_ASSERT_STRING_EQUAL(str(j, "Datastreams@iot.navigationLink"),
                           BASE "/v1.1/Things(1)/Datastreams");
    json_decref(j);
    j = get("/v1.1/Things(6)");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(json_object_get(j, "properties"), "producer"),
                               "id"),
                           "CATC");
    json_decref(j);
    j = get("/v1.1/Locations(3)");
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "name", "description",
                            "encodingType", "location", "Things@iot.navigationLink",
                            "HistoricalLocations@iot.navigationLink", NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "encodingType"), "application/geo+json");
    json_t *loc = json_object_get(j, "location");
    CU_ASSERT_STRING_EQUAL(str(loc, "type"), "Point");
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_array_get(json_object_get(loc, "coordinates"), 0)),
                           -54.2864, 1e-9);
    json_decref(j);
    j = get("/v1.1/HistoricalLocations(1)");
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "time", "Thing@iot.navigationLink",
                            "Locations@iot.navigationLink", NULL));
    json_decref(j);
    j = get("/v1.1/Datastreams(4)");
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "name", "description",
                            "observationType", "unitOfMeasurement", "phenomenonTime",
                            "observedArea", "Thing@iot.navigationLink", "Sensor@iot.navigationLink",
                            "ObservedProperty@iot.navigationLink",
                            "Observations@iot.navigationLink", NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2023-11-04T01:35:00Z/2024-01-24T01:35:00Z");
    CU_ASSERT_STRING_EQUAL(str(j, "observationType"),
                           "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement");
    json_t *uom = json_object_get(j, "unitOfMeasurement");
    CU_ASSERT_TRUE(keys_are(uom, "name", "symbol", "definition", NULL));
    CU_ASSERT_STRING_EQUAL(str(uom, "symbol"), "m");
    CU_ASSERT_TRUE(json_is_null(json_object_get(uom, "definition")));
    json_decref(j);
    j = get("/v1.1/Sensors(1)");
    CU_ASSERT_TRUE(json_is_string(json_object_get(j, "metadata")) ||
                   json_is_object(json_object_get(j, "metadata")));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "encodingType"));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "Datastreams@iot.navigationLink"));
    json_decref(j);
    j = get("/v1.1/ObservedProperties(1)");
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "name", "definition", "description",
                            "Datastreams@iot.navigationLink",
                            "MultiDatastreams@iot.navigationLink", NULL));
    json_decref(j);
    j = get("/v1.1/Observations(1)");
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "phenomenonTime", "resultTime",
                            "result", "Datastream@iot.navigationLink",
                            "FeatureOfInterest@iot.navigationLink",
                            "MultiDatastream@iot.navigationLink", NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2024-01-24T13:31:00Z");
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(j, "result")), 0.72, 1e-12);
    CU_ASSERT_TRUE(json_is_null(json_object_get(j, "resultTime")));
    json_decref(j);
    j = get(obs_url(6, 0, NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "resultQuality"), "13"); /* the CATC quality flag */
    json_decref(j);
    j = get("/v1.1/FeaturesOfInterest(1)");
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "name", "description",
                            "encodingType", "feature", "Observations@iot.navigationLink", NULL));
    json_decref(j);
    j = get("/v1.1/Things");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_TRUE(keys_are(j, "value", NULL));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 7);
    json_decref(j);
}

static void test_navigation(void)
{
    json_t *j = get(obs_url(3, 2, "/Datastream/Thing"));
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "@iot.id"), 3);
    json_decref(j);
    j = get("/v1.1/Things(3)/Datastreams(3)/Observations");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 3);
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations");
    json_t *v = json_object_get(j, "value"); /* a series comes in time order */
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 0), "phenomenonTime"), "2023-11-04T01:35:00Z");
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 3), "phenomenonTime"), "2024-01-24T01:35:00Z");
    json_decref(j);
    j = get("/v1.1/Observations(1)/FeatureOfInterest");
    CU_ASSERT_EQUAL(num(j, "@iot.id"), 1);
    json_decref(j);
    j = get("/v1.1/Locations(1)/Things(1)/Datastreams(1)/ObservedProperty");
    CU_ASSERT_STRING_EQUAL(str(j, "name"), "water_surface_height");
    json_decref(j);
    j = get("/v1.1/Things(3)/Datastreams(1)");
    CU_ASSERT_EQUAL(status, 404);
    CU_ASSERT_TRUE(message_has(j, "Things(3) has no Datastreams(1)"));
    json_decref(j);
    j = get("/v1.1/Things(999)/Datastreams");
    CU_ASSERT_EQUAL(status, 404);
    CU_ASSERT_TRUE(message_has(j, "Things(999): no such entity"));
    json_decref(j);
    j = get("/v1.1/Things(1)/Datastreams/Observations");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "name one entity (Datastreams(id)) before 'Observations'"));
    json_decref(j);
    j = get("/v1.1/Datastreams(1)/Thing(1)");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    j = get("/v1.1/Things(abc)");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "Things(abc): bad entity id"));
    json_decref(j);
    j = get("/v1.1/Things('2')");
    CU_ASSERT_EQUAL(num(j, "@iot.id"), 2);
    json_decref(j);
}

static void test_properties(void)
{
    json_t *j = get("/v1.1/Things(1)/name");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_TRUE(keys_are(j, "name", NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "name"), "R_APPROUAGUE_APPROUAGUE_KM0041");
    json_decref(j);
    json_decref(get("/v1.1/Things(1)/name/$value"));
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(body_text, "R_APPROUAGUE_APPROUAGUE_KM0041");
    CU_ASSERT_STRING_EQUAL(ctype, "text/plain; charset=utf-8");
    json_decref(get("/v1.1/Observations(1)/result/$value"));
    CU_ASSERT_STRING_EQUAL(body_text, "0.72");
    json_decref(get("/v1.1/Observations(1)/phenomenonTime/$value"));
    CU_ASSERT_STRING_EQUAL(body_text, "2024-01-24T13:31:00Z");
    j = get("/v1.1/Datastreams(1)/unitOfMeasurement/symbol");
    CU_ASSERT_STRING_EQUAL(str(j, "symbol"), "m");
    json_decref(j);
    j = get("/v1.1/Locations(1)/location");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(j, "location"), "type"), "Point");
    json_decref(j);
    json_decref(get("/v1.1/Things(1)/properties"));
    CU_ASSERT_EQUAL(status, 204); /* a null property */
    CU_ASSERT_STRING_EQUAL(body_text, "");
    j = get("/v1.1/Things(6)/properties/producer");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(j, "producer"), "name"), "AMMA-CATCH");
    json_decref(j);
    j = get("/v1.1/Things(1)/nosuch");
    CU_ASSERT_EQUAL(status, 404);
    json_decref(j);
    j = get("/v1.1/Things(99)/name");
    CU_ASSERT_EQUAL(status, 404);
    json_decref(j);
}

static void test_refs(void)
{
    json_t *j = get("/v1.1/Things(3)/Datastreams/$ref");
    CU_ASSERT_EQUAL(status, 200);
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(json_array_size(v), 1);
    CU_ASSERT_TRUE(keys_are(json_array_get(v, 0), "@iot.selfLink", NULL));
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 0), "@iot.selfLink"),
                           BASE "/v1.1/Datastreams(3)");
    json_decref(j);
    j = get("/v1.1/Observations(1)/Datastream/$ref");
    CU_ASSERT_TRUE(keys_are(j, "@iot.selfLink", NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "@iot.selfLink"), BASE "/v1.1/Datastreams(1)");
    json_decref(j);
    j = get("/v1.1/Things/$ref?$top=2&$count=true");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 7);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 2);
    CU_ASSERT_STRING_EQUAL(str(j, "@iot.nextLink"),
                           BASE "/v1.1/Things/$ref?$count=true&$top=2&$skip=2");
    json_decref(j);
}

static void test_expand(void)
{
    json_t *j = get("/v1.1/Things(4)?$expand=Datastreams($select=name;$expand=Observations("
                    "$top=2;$orderby=phenomenonTime%20desc;$count=true))");
    CU_ASSERT_EQUAL(status, 200);
    json_t *ds = json_object_get(j, "Datastreams");
    CU_ASSERT_EQUAL_FATAL(json_array_size(ds), 1);
    CU_ASSERT_PTR_NULL(json_object_get(j, "Datastreams@iot.navigationLink"));
    json_t *d = json_array_get(ds, 0);
    CU_ASSERT_TRUE(keys_are(d, "name", "Observations@iot.count", "Observations",
                            "Observations@iot.nextLink", NULL));
    CU_ASSERT_EQUAL(num(d, "Observations@iot.count"), 4);
    json_t *obs = json_object_get(d, "Observations");
    CU_ASSERT_EQUAL(json_array_size(obs), 2);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(obs, 0), "phenomenonTime"), "2024-01-24T01:35:00Z");
    CU_ASSERT_STRING_EQUAL(str(d, "Observations@iot.nextLink"),
                           BASE "/v1.1/Datastreams(4)/Observations?$orderby=phenomenonTime%20desc"
                                "&$count=true&$top=2&$skip=2");
    json_decref(j);
    /* to-one expansions, and the path form */
    j = get("/v1.1/Datastreams(1)?$expand=Thing,Sensor,ObservedProperty($select=name)");
    CU_ASSERT_EQUAL(num(json_object_get(j, "Thing"), "@iot.id"), 1);
    CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(j, "Sensor"), "@iot.selfLink"));
    CU_ASSERT_TRUE(keys_are(json_object_get(j, "ObservedProperty"), "name", NULL));
    CU_ASSERT_PTR_NULL(json_object_get(j, "Thing@iot.navigationLink"));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "Observations@iot.navigationLink"));
    json_decref(j);
    j = get("/v1.1/Things?$filter=id%20eq%203&$expand=Datastreams/Observations($select=result)");
    json_t *t = json_array_get(json_object_get(j, "value"), 0);
    json_t *o = json_object_get(json_array_get(json_object_get(t, "Datastreams"), 0),
                                "Observations");
    CU_ASSERT_EQUAL(json_array_size(o), 3);
    CU_ASSERT_TRUE(keys_are(json_array_get(o, 0), "result", NULL));
    json_decref(j);
    /* an expansion's $filter, and deep nesting back to the start */
    j = get("/v1.1/Datastreams(4)?$expand=Observations($filter=result%20gt%2049;$select=result),"
            "Thing($expand=Datastreams($expand=Thing($select=id)))");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "Observations")), 1);
    json_t *back = json_object_get(json_array_get(json_object_get(json_object_get(j, "Thing"),
                                                                  "Datastreams"),
                                                  0),
                                   "Thing");
    CU_ASSERT_EQUAL(num(back, "@iot.id"), 4);
    json_decref(j);
    j = get("/v1.1/Things(1)?$expand=Nope");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "$expand: at character 1: Thing has no navigation property "
                                  "'Nope'"));
    json_decref(j);
}

static void test_select(void)
{
    json_t *j = get("/v1.1/Things?$select=id,name&$top=1");
    json_t *t = json_array_get(json_object_get(j, "value"), 0);
    CU_ASSERT_TRUE(keys_are(t, "@iot.id", "@iot.selfLink", "name", NULL));
    json_decref(j);
    j = get("/v1.1/Things(1)?$select=Datastreams,description");
    CU_ASSERT_TRUE(keys_are(j, "description", "Datastreams@iot.navigationLink", NULL));
    json_decref(j);
    j = get("/v1.1/Things(1)?$select=properties");
    CU_ASSERT_TRUE(keys_are(j, "properties", NULL)); /* asked for: shown even when null */
    CU_ASSERT_TRUE(json_is_null(json_object_get(j, "properties")));
    json_decref(j);
    j = get("/v1.1/Things?$select=foo");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "$select: Thing has no property 'foo'"));
    json_decref(j);
}

static void test_orderby(void)
{
    json_t *j = get("/v1.1/Observations?$orderby=Datastream/id%20desc,phenomenonTime%20asc&"
                    "$select=id&$top=10");
    /* (datastream, k-th observation): 7's, 6's, 5's, then 4's first three */
    static const int expect[][2] = {{7, 0}, {6, 0}, {6, 1}, {5, 0}, {5, 1},
                                    {5, 2}, {5, 3}, {4, 0}, {4, 1}, {4, 2}};
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL_FATAL(json_array_size(v), 10);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(num(json_array_get(v, (size_t)i), "@iot.id"),
                        obs_id(expect[i][0], expect[i][1]));
    json_decref(j);
    j = get("/v1.1/Things?$orderby=name%20desc&$select=name&$top=2");
    v = json_object_get(j, "value");
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 0), "name"), "TCHAKPAISSA (PUITS)");
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 1), "name"), "SANKORO (PUITS)");
    json_decref(j);
    j = get("/v1.1/Observations?$orderby=result&$select=result&$top=1");
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(json_array_get(json_object_get(j, "value"),
                                                                          0),
                                                           "result")),
                           0.72, 1e-12);
    json_decref(j);
}

/* Follows @iot.nextLink to the end; every observation comes once, in order: by Datastream,
 * then time (the observations' key). */
static void test_paging(void)
{
    char url[1024] = "/v1.1/Observations?$top=5&$count=true&$select=id";
    int pages = 0, seen = 0, in_order = 1;
    static const int per_datastream[] = {0, 1, 1, 3, 4, 4, 2, 1};
    int64_t expect[16];
    for (int ds = 1, n = 0; ds <= 7; ds++)
        for (int k = 0; k < per_datastream[ds]; k++)
            expect[n++] = obs_id(ds, k);
    for (;;) {
        json_t *j = get(url);
        CU_ASSERT_EQUAL_FATAL(status, 200);
        CU_ASSERT_EQUAL(num(j, "@iot.count"), 16);
        pages++;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(j, "value"), i, e) {
            in_order &= seen < 16 && num(e, "@iot.id") == expect[seen];
            seen++;
        }
        const char *next = str(j, "@iot.nextLink");
        if (!next) {
            json_decref(j);
            break;
        }
        CU_ASSERT_EQUAL_FATAL(strncmp(next, BASE, strlen(BASE)), 0);
        snprintf(url, sizeof url, "%s", next + strlen(BASE));
        json_decref(j);
        if (pages > 10)
            break;
    }
    CU_ASSERT_EQUAL(pages, 4);
    CU_ASSERT_EQUAL(seen, 16);
    CU_ASSERT_TRUE(in_order);
    /* the server's page (max 10 here) limits a larger $top and the default */
    json_t *j = get("/v1.1/Observations?$top=50&$select=id");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 10);
    CU_ASSERT_STRING_EQUAL(str(j, "@iot.nextLink"),
                           BASE "/v1.1/Observations?$select=id&$top=10&$skip=10");
    json_decref(j);
    j = get("/v1.1/Observations?$skip=20");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 0);
    CU_ASSERT_PTR_NULL(json_object_get(j, "@iot.nextLink"));
    json_decref(j);
    j = get("/v1.1/Observations?$top=0&$count=true");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 0);
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 16);
    json_decref(j);
    j = get("/v1.1/Observations?$top=16");
    CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "@iot.nextLink")); /* 10 of 16 */
    json_decref(j);
    j = get("/v1.1/Datastreams(5)/Observations?$top=4");
    CU_ASSERT_PTR_NULL(json_object_get(j, "@iot.nextLink")); /* exactly 4: no next page */
    json_decref(j);
    j = get("/v1.1/Observations?$filter=result%20gt%2049&$top=3&$skip=3&$select=id");
    CU_ASSERT_STRING_EQUAL(str(j, "@iot.nextLink"),
                           BASE "/v1.1/Observations?$filter=result%20gt%2049&$select=id&$top=3"
                                "&$skip=6");
    json_decref(j);
}

/* $count of a series comes from the datastream summary, not a count of rows. */
static void test_count_from_summary(void)
{
    json_t *j = get("/v1.1/Datastreams(4)/Observations?$count=true&$top=1");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 4);
    json_decref(j);
    insitu_error err;
    st_exec(&store->base, "UPDATE datastreams SET n_obs = 99 WHERE id = 4", &err);
    j = get("/v1.1/Datastreams(4)/Observations?$count=true&$top=1");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 99);
    json_decref(j);
    j = get("/v1.1/Observations?$count=true&$top=1");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 16 - 4 + 99);
    json_decref(j);
    /* with a filter the rows are counted */
    j = get("/v1.1/Datastreams(4)/Observations?$count=true&$filter=result%20gt%200");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 4);
    json_decref(j);
    st_exec(&store->base, "UPDATE datastreams SET n_obs = 4 WHERE id = 4", &err);
}

static void test_data_array(void)
{
    json_t *j = get("/v1.1/Datastreams(4)/Observations?$resultFormat=dataArray&"
                    "$select=id,phenomenonTime,result");
    CU_ASSERT_EQUAL(status, 200);
    json_t *g = json_array_get(json_object_get(j, "value"), 0);
    CU_ASSERT_TRUE(keys_are(g, "Datastream@iot.navigationLink", "components",
                            "dataArray@iot.count", "dataArray", NULL));
    CU_ASSERT_STRING_EQUAL(str(g, "Datastream@iot.navigationLink"), BASE "/v1.1/Datastreams(4)");
    CU_ASSERT_EQUAL(num(g, "dataArray@iot.count"), 4);
    json_t *row = json_array_get(json_object_get(g, "dataArray"), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(row, 0)), obs_id(4, 1));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(row, 1)), "2023-12-01T01:35:00Z");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_array_get(row, 2)), 49, 1e-12);
    json_decref(j);
    j = get("/v1.1/Observations?$resultFormat=dataArray&$top=3&$count=true");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 16);
    CU_ASSERT_PTR_NOT_NULL(strstr(str(j, "@iot.nextLink"), "$resultFormat=dataArray"));
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(json_array_size(v), 3); /* observations 1, 2, 3: three datastreams */
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(v, 0), "components")), 7);
    CU_ASSERT_EQUAL(json_array_size(json_array_get(json_object_get(json_array_get(v, 0),
                                                                   "dataArray"),
                                                   0)),
                    7);
    json_decref(j);
    j = get("/v1.1/Things?$resultFormat=dataArray");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
}

/* The lines of the last body (CRLF-ended), at most max. */
static int body_lines(char **lines, int max)
{
    int n = 0;
    for (char *p = body_text; *p && n < max;) {
        char *e = strstr(p, "\r\n");
        if (!e)
            return -1;
        *e = '\0';
        lines[n++] = p;
        p = e + 2;
    }
    return n;
}

static void test_result_csv(void)
{
    /* the same rows as the JSON answer */
    json_t *j = get("/v1.1/Datastreams(4)/Observations?$select=id,phenomenonTime,result&$top=3");
    json_t *o = json_array_get(json_object_get(j, "value"), 1);
    char row[120];
    snprintf(row, sizeof row, "%lld,%s,%g", (long long)num(o, "@iot.id"),
             str(o, "phenomenonTime"), json_number_value(json_object_get(o, "result")));
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations?$resultFormat=CSV&"
                    "$select=id,phenomenonTime,result&$top=3&$count=true");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NULL(j); /* not JSON */
    CU_ASSERT_STRING_EQUAL(ctype, "text/csv; charset=utf-8");
    char *lines[8];
    CU_ASSERT_EQUAL(body_lines(lines, 8), 4);
    CU_ASSERT_STRING_EQUAL(lines[0], "id,phenomenonTime,result");
    CU_ASSERT_STRING_EQUAL(lines[2], row);
    /* the next page: a Link header, the options kept */
    CU_ASSERT_PTR_NOT_NULL(strstr(link_hdr, "<" BASE "/v1.1/Datastreams(4)/Observations?"));
    CU_ASSERT_PTR_NOT_NULL(strstr(link_hdr, "$skip=3&$resultFormat=CSV>; rel=\"next\""));
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations?$resultFormat=csv&$select=id&$skip=3");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(link_hdr, "");
    json_decref(j);
    /* every property, unitOfMeasurement in three columns, an expanded entity flattened */
    j = get("/v1.1/Datastreams?$resultFormat=CSV&$top=1&$expand=Thing($select=name)");
    CU_ASSERT_EQUAL(body_lines(lines, 8), 2);
    CU_ASSERT_STRING_EQUAL(lines[0], "id,name,description,observationType,"
                                     "unitOfMeasurement/name,unitOfMeasurement/symbol,"
                                     "unitOfMeasurement/definition,properties,phenomenonTime,"
                                     "resultTime,observedArea,Thing/name");
    json_decref(j);
    /* quoting (RFC 4180): a comma, a quote, a line break; JSON values as JSON text */
    j = call("POST", "/v1.1/Things", "{\"name\": \"a \\\"quoted\\\", name\", "
                                      "\"description\": \"two\\nlines\", \"properties\": "
                                      "{\"k\": [1, \"x\"]}}");
    CU_ASSERT_EQUAL(status, 201);
    json_decref(j);
    j = get("/v1.1/Things?$resultFormat=CSV&$filter=startswith(name,'a \"')");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, ",\"a \"\"quoted\"\", name\",\"two\nlines\","
                                             "\"{\"\"k\"\":[1,\"\"x\"\"]}\"\r\n"));
    json_decref(j);
    char url[80];
    snprintf(url, sizeof url, "/v1.1/Things(%lld)",
             (long long)tu_int(store, "SELECT max(id) FROM things"));
    json_decref(call("DELETE", url, NULL));
    CU_ASSERT_EQUAL(status, 200);
    /* a to-many expansion gives one row per entity with $top=1 only (as FROST) */
    j = get("/v1.1/Things?$resultFormat=CSV&$expand=Datastreams");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "$expand=Datastreams"));
    json_decref(j);
    j = get("/v1.1/Things?$resultFormat=CSV&$top=2&$select=id&"
            "$expand=Datastreams($top=1;$select=name)");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(body_lines(lines, 8), 3);
    CU_ASSERT_STRING_EQUAL(lines[0], "id,Datastreams/name");
    json_decref(j);
    j = get("/v1.1/Things(1)?$resultFormat=CSV");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    j = get("/v1.1/Things?$resultFormat=xml");
    CU_ASSERT_EQUAL(status, 501);
    CU_ASSERT_TRUE(message_has(j, "CSV and GeoJSON"));
    json_decref(j);
}

static void test_result_geojson(void)
{
    json_t *j = get("/v1.1/Locations?$resultFormat=GeoJSON&$top=2&$count=true");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(ctype, "application/geo+json");
    CU_ASSERT_STRING_EQUAL(str(j, "type"), "FeatureCollection");
    CU_ASSERT_TRUE(num(j, "@iot.count") > 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(str(j, "@iot.nextLink"), "$resultFormat=GeoJSON"));
    json_t *f = json_array_get(json_object_get(j, "features"), 0);
    CU_ASSERT_STRING_EQUAL(str(f, "type"), "Feature");
    json_t *p = json_object_get(f, "properties");
    CU_ASSERT_EQUAL(num(f, "id"), num(p, "id"));
    CU_ASSERT_PTR_NOT_NULL(str(json_object_get(f, "geometry"), "type"));
    CU_ASSERT_PTR_NULL(json_object_get(p, "location"));
    CU_ASSERT_PTR_NOT_NULL(str(p, "name"));
    CU_ASSERT_PTR_NULL(json_object_get(p, "Things@iot.navigationLink"));
    json_decref(j);
    /* Observations take the geometry of their expanded FeatureOfInterest; unitOfMeasurement
     * and other objects are flattened into <key>/<member> */
    j = get("/v1.1/Datastreams(4)/Observations?$resultFormat=GeoJSON&$top=1&"
            "$expand=FeatureOfInterest($select=name,feature),Datastream($select=unitOfMeasurement)");
    CU_ASSERT_EQUAL(status, 200);
    f = json_array_get(json_object_get(j, "features"), 0);
    p = json_object_get(f, "properties");
    CU_ASSERT_PTR_NOT_NULL(str(json_object_get(f, "geometry"), "type"));
    CU_ASSERT_PTR_NOT_NULL(str(p, "FeatureOfInterest/name"));
    CU_ASSERT_PTR_NULL(json_object_get(p, "FeatureOfInterest/feature"));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(p, "Datastream/unitOfMeasurement/name"));
    CU_ASSERT_TRUE(json_is_number(json_object_get(p, "result")));
    json_decref(j);
    /* Things through their expanded Locations (a collection: <Nav>/<index>/...) */
    j = get("/v1.1/Things?$resultFormat=GeoJSON&$top=1&$expand=Locations&"
            "$filter=Locations/id gt 0");
    f = json_array_get(json_object_get(j, "features"), 0);
    CU_ASSERT_PTR_NOT_NULL(str(json_object_get(f, "geometry"), "type"));
    CU_ASSERT_PTR_NOT_NULL(str(json_object_get(f, "properties"), "Locations/0/name"));
    json_decref(j);
    /* no geometry: null */
    j = get("/v1.1/Sensors?$resultFormat=GeoJSON&$top=1");
    f = json_array_get(json_object_get(j, "features"), 0);
    CU_ASSERT_TRUE(json_is_null(json_object_get(f, "geometry")));
    json_decref(j);
}

/* The observedArea of Datastream ds (caller decrefs), and its bounds in box[4]. */
static json_t *observed_area(int64_t ds, double box[4])
{
    char url[80];
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)", (long long)ds);
    json_t *j = get(url), *a = json_incref(json_object_get(j, "observedArea"));
    json_decref(j);
    box[0] = box[1] = 1e9;
    box[2] = box[3] = -1e9;
    json_t *c = json_object_get(a, "coordinates");
    json_t *ring = str(a, "type") && strcmp(str(a, "type"), "Polygon") == 0 ? json_array_get(c, 0)
                   : str(a, "type") && strcmp(str(a, "type"), "LineString") == 0 ? c
                                                                                 : NULL;
    size_t n = ring ? json_array_size(ring) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *pt = ring ? json_array_get(ring, i) : c;
        for (int k = 0; k < 2; k++) {
            double v = json_number_value(json_array_get(pt, (size_t)k));
            if (v < box[k])
                box[k] = v;
            if (v > box[k + 2])
                box[k + 2] = v;
        }
    }
    return a;
}

static void test_observed_area(void)
{
    /* after the ingest: the one point of the series' feature */
    json_t *j = get("/v1.1/Datastreams(4)/Observations?$top=1&$expand=FeatureOfInterest");
    json_t *foi = json_object_get(json_array_get(json_object_get(j, "value"), 0),
                                  "FeatureOfInterest");
    int64_t fid = num(foi, "@iot.id");
    json_t *pt = json_object_get(json_object_get(foi, "feature"), "coordinates");
    double x = json_number_value(json_array_get(pt, 0)), y = json_number_value(json_array_get(pt, 1));
    json_decref(j);
    double b[4];
    json_t *a = observed_area(4, b);
    CU_ASSERT_STRING_EQUAL(str(a, "type"), "Point");
    CU_ASSERT_DOUBLE_EQUAL(b[0], x, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(b[1], y, 1e-9);
    json_decref(a);
    /* a POSTed Observation with a new feature far away: the envelope of both */
    j = call("POST", "/v1.1/Datastreams(4)/Observations",
             "{\"phenomenonTime\": \"2030-01-01T00:00:00Z\", \"result\": 1, "
             "\"FeatureOfInterest\": {\"name\": \"far\", \"description\": \"far away\", "
             "\"encodingType\": \"application/geo+json\", \"feature\": {\"type\": \"Point\", "
             "\"coordinates\": [100, 10]}}}");
    CU_ASSERT_EQUAL_FATAL(status, 201);
    int64_t obs = num(j, "@iot.id");
    json_decref(j);
    char url[120], body[120];
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)", (long long)obs);
    int64_t far = tu_int(store, "SELECT max(id) FROM features");
    a = observed_area(4, b);
    CU_ASSERT_STRING_EQUAL(str(a, "type"), "Polygon");
    CU_ASSERT_DOUBLE_EQUAL(b[0], x < 100 ? x : 100, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(b[1], y < 10 ? y : 10, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(b[2], x > 100 ? x : 100, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(b[3], y > 10 ? y : 10, 1e-9);
    json_decref(a);
    /* filtered and selected */
    j = get("/v1.1/Datastreams?$filter=st_intersects(observedArea, geography'POINT(100 10)')"
            "&$select=id");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 1);
    CU_ASSERT_EQUAL(num(json_array_get(json_object_get(j, "value"), 0), "@iot.id"), 4);
    json_decref(j);
    j = get("/v1.1/Datastreams?$filter=geo.intersects(observedArea, geography'POINT(-170 -80)')");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 0);
    json_decref(j);
    j = get("/v1.1/Datastreams(4)?$select=observedArea");
    CU_ASSERT_TRUE(keys_are(j, "observedArea", NULL));
    json_decref(j);
    /* a PATCH that moves the Observation to the first feature, and back */
    snprintf(body, sizeof body, "{\"FeatureOfInterest\": {\"@iot.id\": %lld}}", (long long)fid);
    json_decref(call("PATCH", url, body));
    CU_ASSERT_EQUAL(status, 200);
    a = observed_area(4, b);
    CU_ASSERT_STRING_EQUAL(str(a, "type"), "Point");
    json_decref(a);
    snprintf(body, sizeof body, "{\"FeatureOfInterest\": {\"@iot.id\": %lld}}", (long long)far);
    json_decref(call("PATCH", url, body));
    a = observed_area(4, b);
    CU_ASSERT_STRING_EQUAL(str(a, "type"), "Polygon");
    json_decref(a);
    /* the far feature moved: the area follows */
    char furl[80];
    snprintf(furl, sizeof furl, "/v1.1/FeaturesOfInterest(%lld)", (long long)far);
    json_decref(call("PATCH", furl, "{\"feature\": {\"type\": \"Point\", \"coordinates\": "
                                    "[-120, -20]}}"));
    CU_ASSERT_EQUAL(status, 200);
    a = observed_area(4, b);
    CU_ASSERT_DOUBLE_EQUAL(b[0], -120, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(b[1], -20, 1e-9);
    json_decref(a);
    /* rows of several features in one write (CreateObservations): the features of the
     * rows added are looked up in the range of the series they fill */
    char create[400];
    snprintf(create, sizeof create,
             "[{\"Datastream\":{\"@iot.id\":4},\"components\":[\"phenomenonTime\",\"result\","
             "\"FeatureOfInterest/id\"],\"dataArray\":[[\"2032-01-01T00:00:00Z\",1,%lld],"
             "[\"2032-01-02T00:00:00Z\",2,%lld]]}]",
             (long long)fid, (long long)far);
    json_decref(call("DELETE", url, NULL)); /* the far feature has no Observation now */
    a = observed_area(4, b);
    CU_ASSERT_STRING_EQUAL(str(a, "type"), "Point");
    json_decref(a);
    j = call("POST", "/v1.1/CreateObservations", create);
    CU_ASSERT_EQUAL(status, 201);
    a = observed_area(4, b);
    CU_ASSERT_STRING_EQUAL(str(a, "type"), "Polygon");
    CU_ASSERT_DOUBLE_EQUAL(b[0], -120, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(b[3], y, 1e-9);
    json_decref(a);
    for (size_t i = 0; i < json_array_size(j); i++) {
        const char *link = json_string_value(json_array_get(j, i));
        json_decref(call("DELETE", link ? strstr(link, "/v1.1/") : "", NULL));
        CU_ASSERT_EQUAL(status, 200);
    }
    json_decref(j);
    /* the Observations deleted: the one point again */
    CU_ASSERT_EQUAL(status, 200);
    a = observed_area(4, b);
    CU_ASSERT_STRING_EQUAL(str(a, "type"), "Point");
    CU_ASSERT_DOUBLE_EQUAL(b[0], x, 1e-9);
    json_decref(a);
    /* a Datastream without Observations has none */
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM datastreams WHERE n_obs = 0 AND "
                                  "area_xmin IS NOT NULL"),
                    0);
    json_decref(call("DELETE", furl, NULL));
}

static void test_aggregate(void)
{
    json_t *j = get("/v1.1/Datastreams(4)/Observations?aggregate=month&stat=mean");
    CU_ASSERT_EQUAL(status, 200);
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL_FATAL(json_array_size(v), 3);
    json_t *dec = json_array_get(v, 1);
    CU_ASSERT_TRUE(keys_are(dec, "phenomenonTime", "result", "parameters", NULL));
    CU_ASSERT_STRING_EQUAL(str(dec, "phenomenonTime"), "2023-12-01T00:00:00Z/2024-01-01T00:00:00Z");
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(dec, "result")), 49.075, 1e-9);
    json_t *p = json_object_get(dec, "parameters");
    CU_ASSERT_STRING_EQUAL(str(p, "aggregate"), "month");
    CU_ASSERT_STRING_EQUAL(str(p, "stat"), "mean");
    CU_ASSERT_EQUAL(num(p, "count"), 2);
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations?aggregate=P1D&stat=max&$count=true&$top=1&"
            "$filter=phenomenonTime%20ge%202023-12-01T00:00:00Z%20and%20phenomenonTime%20lt%20"
            "2024-01-01T00:00:00Z");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 2);
    v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(json_array_size(v), 1);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 0), "phenomenonTime"),
                           "2023-12-01T00:00:00Z/2023-12-02T00:00:00Z");
    CU_ASSERT_PTR_NOT_NULL(strstr(str(j, "@iot.nextLink"), "&aggregate=P1D&stat=max"));
    json_decref(j);
    j = get("/v1.1/Observations?aggregate=day");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "aggregates are read from the Observations of one Datastream"));
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations?aggregate=week");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "expected hour, day, month or year"));
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations?aggregate=day&$filter=result%20gt%201");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "$filter may only bound phenomenonTime"));
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations?aggregate=day&stat=median");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
}

static void test_read_errors(void)
{
    json_t *j = get("/v1.1/Nothing");
    CU_ASSERT_EQUAL(status, 404);
    CU_ASSERT_TRUE(message_has(j, "no entity set named 'Nothing'"));
    json_decref(j);
    j = get("/v1.0/Things");
    CU_ASSERT_EQUAL(status, 404);
    json_decref(j);
    j = get("/v1.1/Things?$apply=groupby");
    CU_ASSERT_EQUAL(status, 501);
    CU_ASSERT_TRUE(message_has(j, "$apply: not a supported query option"));
    json_decref(j);
    j = get("/v1.1/Things?$top=many");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "$top: expected a non-negative integer, not 'many'"));
    json_decref(j);
    j = get("/v1.1/Things?$filter=name%20eq%20'a");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "$filter: at character 9: string not closed"));
    json_decref(j);
    j = get("/v1.1/Observations?$filter=Datastream/Thing/nope%20eq%201");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "Thing has no property 'nope'"));
    json_decref(j);
    j = get("/v1.1/Things?$count=maybe");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    j = call("TRACE", "/v1.1/Things", NULL);
    CU_ASSERT_EQUAL(status, 405);
    json_decref(j);
    j = get("/v1.1/CreateObservations");
    CU_ASSERT_EQUAL(status, 405);
    json_decref(j);
}

/* An answer larger than the configured size is refused, with what to do instead. */
static void test_answer_limit(void)
{
    struct sta_config cfg = {0};
    cfg.max_answer = 4096;
    cfg.source = BASE "/v1.1";
    struct sta_service *small;
    struct sta_conn *c;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(sta_service_new(&cfg, &small, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sta_conn_new(small, store, &c, &err), 0);
    struct sta_param p = {"$expand", "Datastreams($expand=Observations)"};
    struct sta_request req = {.method = "GET", .path = "/v1.1/Things", .params = &p,
                              .nparams = 1, .base = BASE};
    struct sta_response resp = {0};
    sta_handle(c, &req, &resp);
    CU_ASSERT_EQUAL(resp.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_str(&resp.body), "the answer would be larger than 4 KiB: "
                                                      "ask for fewer entities"));
    sta_response_free(&resp);
    struct sta_request one = {.method = "GET", .path = "/v1.1/Things(1)", .base = BASE};
    struct sta_response r2 = {0};
    sta_handle(c, &one, &r2);
    CU_ASSERT_EQUAL(r2.status, 200);
    sta_response_free(&r2);
    sta_conn_free(c);
    sta_service_free(small, NULL);
}

/* ---- writing ---- */

static const char *const deep_thing =
    "{\"name\":\"oven\",\"description\":\"a thermostat\",\"properties\":{\"room\":\"kitchen\"},"
    "\"Locations\":[{\"name\":\"CCIT\",\"description\":\"Calgary\",\"encodingType\":"
    "\"application/vnd.geo+json\",\"location\":{\"type\":\"Feature\",\"geometry\":{\"type\":"
    "\"Point\",\"coordinates\":[-114.06,51.05]}}}],"
    "\"Datastreams\":[{\"name\":\"oven temperature\",\"description\":\"inside\","
    "\"unitOfMeasurement\":{\"name\":\"degree Celsius\",\"symbol\":\"degC\",\"definition\":"
    "\"http://unitsofmeasure.org/ucum.html#para-30\"},\"observationType\":"
    "\"http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement\","
    "\"ObservedProperty\":{\"name\":\"temperature\",\"definition\":\"http://example.org/t\","
    "\"description\":\"air temperature\"},\"Sensor\":{\"name\":\"DS18B20\",\"description\":"
    "\"a sensor\",\"encodingType\":\"application/pdf\",\"metadata\":\"http://example.org/ds.pdf\"},"
    "\"Observations\":[{\"phenomenonTime\":\"2012-06-26T03:42:02-06:00\",\"result\":70.4},"
    "{\"phenomenonTime\":\"2012-06-26T04:42:02-06:00\",\"result\":\"hot\",\"resultQuality\":"
    "{\"flag\":1}}]}]}";

static int64_t things_count(void) { return tu_int(store, "SELECT count(*) FROM things"); }

static void test_deep_insert(void)
{
    json_t *j = call("POST", "/v1.1/Things", deep_thing);
    if (status != 201)
        printf("# %s\n", body_text);
    CU_ASSERT_EQUAL_FATAL(status, 201);
    int64_t id = num(j, "@iot.id");
    CU_ASSERT_EQUAL(id, 8);
    CU_ASSERT_STRING_EQUAL(location, BASE "/v1.1/Things(8)");
    CU_ASSERT_STRING_EQUAL(str(j, "name"), "oven");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(j, "properties"), "room"), "kitchen");
    json_decref(j);
    j = get("/v1.1/Things(8)?$expand=Locations,HistoricalLocations($expand=Locations),"
            "Datastreams($expand=Sensor,ObservedProperty,Observations($expand="
            "FeatureOfInterest;$orderby=phenomenonTime))");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "Locations")), 1);
    json_t *hl = json_array_get(json_object_get(j, "HistoricalLocations"), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(hl, "Locations")), 1);
    json_t *ds = json_array_get(json_object_get(j, "Datastreams"), 0);
    CU_ASSERT_STRING_EQUAL(str(ds, "phenomenonTime"), "2012-06-26T09:42:02Z/2012-06-26T10:42:02Z");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(ds, "unitOfMeasurement"), "symbol"), "degC");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(ds, "Sensor"), "metadata"),
                           "http://example.org/ds.pdf");
    json_t *obs = json_object_get(ds, "Observations");
    CU_ASSERT_EQUAL_FATAL(json_array_size(obs), 2);
    json_t *o2 = json_array_get(obs, 1);
    CU_ASSERT_STRING_EQUAL(str(o2, "result"), "hot");
    CU_ASSERT_EQUAL(num(json_object_get(o2, "resultQuality"), "flag"), 1);
    /* no FeatureOfInterest given: one made from the Thing's Location */
    json_t *foi = json_object_get(json_array_get(obs, 0), "FeatureOfInterest");
    CU_ASSERT_STRING_EQUAL(str(foi, "name"), "CCIT");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(json_object_get(foi, "feature"), "geometry"),
                               "type"),
                           "Point");
    CU_ASSERT_EQUAL(num(foi, "@iot.id"), num(json_object_get(o2, "FeatureOfInterest"), "@iot.id"));
    json_decref(j);
    /* POST under a navigation property links to the parent; the phenomenonTime defaults to
     * now */
    j = call("POST", "/v1.1/Datastreams(8)/Observations", "{\"result\": 21.5}");
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_PTR_NOT_NULL(strstr(location, "/v1.1/Observations("));
    CU_ASSERT_PTR_NOT_NULL(str(j, "phenomenonTime"));
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 8"), 3);
    /* a POST creates: the same time again is another Observation, the first one stays */
    j = call("POST", "/v1.1/Datastreams(8)/Observations",
             "{\"result\": 1, \"phenomenonTime\": \"2012-06-26T11:00:00Z\"}");
    int64_t first = num(j, "@iot.id");
    json_decref(j);
    j = call("POST", "/v1.1/Datastreams(8)/Observations",
             "{\"result\": 2, \"phenomenonTime\": \"2012-06-26T11:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_TRUE(num(j, "@iot.id") > first);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result")), 2);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 8"), 5);
    char url1[64];
    snprintf(url1, sizeof url1, "/v1.1/Observations(%lld)", (long long)first);
    j = get(url1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result")), 1);
    json_decref(j);
    j = call("DELETE", "/v1.1/Observations(0)", NULL);
    CU_ASSERT_EQUAL(status, 404);
    json_decref(j);
    char del[64];
    snprintf(del, sizeof del, "/v1.1/Observations(%lld)", (long long)first);
    json_decref(call("DELETE", del, NULL));
    CU_ASSERT_EQUAL(status, 200);
    /* linking to existing entities */
    j = call("POST", "/v1.1/Observations",
             "{\"Datastream\":{\"@iot.id\":8},\"FeatureOfInterest\":{\"@iot.id\":1},"
             "\"phenomenonTime\":\"2012-06-26T12:00:00Z\",\"result\":[1,2],"
             "\"parameters\":{\"depth\":2}}");
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "result")), 2);
    CU_ASSERT_EQUAL(num(json_object_get(j, "parameters"), "depth"), 2);
    json_decref(j);
    j = get("/v1.1/Observations?$filter=Datastream/id%20eq%208%20and%20FeatureOfInterest/id%20eq"
            "%201&$count=true");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 1);
    json_decref(j);
    /* an ObservedProperty of the same name and definition is a new entity, with its own
     * description */
    j = call("POST", "/v1.1/ObservedProperties",
             "{\"name\":\"temperature\",\"definition\":\"http://example.org/t\","
             "\"description\":\"again\"}");
    CU_ASSERT_EQUAL(status, 201);
    int64_t deep_property = tu_int(store, "SELECT observed_property_id FROM datastreams WHERE "
                                          "id = 8");
    CU_ASSERT_TRUE(num(j, "@iot.id") > deep_property);
    CU_ASSERT_STRING_EQUAL(str(j, "description"), "again");
    json_decref(j);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observed_properties WHERE id = %lld AND "
                              "description <> 'again'",
             (long long)deep_property);
    CU_ASSERT_EQUAL(tu_int(store, sql), 1);
    /* a new Location linked to a Thing becomes its location, with a HistoricalLocation */
    j = call("POST", "/v1.1/Things(8)/Locations",
             "{\"name\":\"moved\",\"description\":\"x\",\"encodingType\":\"application/geo+json\","
             "\"location\":{\"type\":\"Point\",\"coordinates\":[1,2]}}");
    CU_ASSERT_EQUAL(status, 201);
    json_decref(j);
    j = get("/v1.1/Things(8)/Locations");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 1);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(json_object_get(j, "value"), 0), "name"), "moved");
    json_decref(j);
    j = get("/v1.1/Things(8)/HistoricalLocations?$count=true");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 2);
    json_decref(j);
    j = call("POST", "/v1.1/HistoricalLocations",
             "{\"time\":\"2020-01-01T00:00:00Z\",\"Thing\":{\"@iot.id\":8},"
             "\"Locations\":[{\"@iot.id\":1}]}");
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_STRING_EQUAL(str(j, "time"), "2020-01-01T00:00:00Z");
    json_decref(j);
}

static void test_create_errors(void)
{
    int64_t before = things_count();
    int64_t obs_before = tu_int(store, "SELECT count(*) FROM observations");
    json_t *j = call("POST", "/v1.1/Things", "{\"name\":\"x\"}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "'description' is required"));
    json_decref(j);
    /* a failure deep inside undoes the whole request */
    char *bad = strdup(deep_thing);
    char *r = strstr(bad, "\"result\":70.4");
    memcpy(r, "\"resulx\"", 8);
    j = call("POST", "/v1.1/Things", bad);
    free(bad);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "Datastreams[0].Observations[0]: Observation has no property "
                                  "'resulx'"));
    json_decref(j);
    CU_ASSERT_EQUAL(things_count(), before);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations"), obs_before);
    j = call("POST", "/v1.1/Datastreams",
             "{\"name\":\"d\",\"description\":\"d\",\"observationType\":\"x\","
             "\"unitOfMeasurement\":{\"name\":null,\"symbol\":null,\"definition\":null},"
             "\"Thing\":{\"@iot.id\":1},\"ObservedProperty\":{\"@iot.id\":1}}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "'Sensor' is required"));
    json_decref(j);
    j = call("POST", "/v1.1/Datastreams",
             "{\"name\":\"d\",\"description\":\"d\",\"observationType\":\"x\","
             "\"unitOfMeasurement\":{},\"Thing\":{\"@iot.id\":1},\"ObservedProperty\":"
             "{\"@iot.id\":1},\"Sensor\":{\"@iot.id\":999}}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "Sensor: links to Sensors(999), which does not exist"));
    json_decref(j);
    j = call("POST", "/v1.1/Things", "{\"name\": \"x\", ");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "the body is not JSON: line 1, column"));
    json_decref(j);
    j = call("POST", "/v1.1/Things", NULL);
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    j = call("POST", "/v1.1/Locations",
             "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":\"text/plain\","
             "\"location\":\"somewhere\"}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "only GeoJSON"));
    json_decref(j);
    j = call("POST", "/v1.1/Locations",
             "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":\"application/geo+json\","
             "\"location\":{\"type\":\"Point\",\"coordinates\":\"nope\"}}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "not a valid GeoJSON geometry"));
    json_decref(j);
    j = call("POST", "/v1.1/Observations",
             "{\"Datastream\":{\"@iot.id\":1},\"result\":1,\"phenomenonTime\":\"yesterday\"}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "'phenomenonTime'"));
    json_decref(j);
    j = call("POST", "/v1.1/Things(1)", "{\"name\":\"x\",\"description\":\"y\"}");
    CU_ASSERT_EQUAL(status, 405);
    json_decref(j);
    CU_ASSERT_EQUAL(things_count(), before);
}

/* A Datastream's properties are stored, however it is created (issue 15: the INSERT bound
 * one value fewer than its placeholders, and properties came back null). */
static void test_datastream_properties(void)
{
    const char *ds = "\"name\":\"with properties\",\"description\":\"d\","
                     "\"observationType\":\"x\",\"unitOfMeasurement\":{\"name\":\"u\","
                     "\"symbol\":\"u\",\"definition\":\"u\"},\"properties\":{\"k\":\"v\","
                     "\"n\":2},\"Sensor\":{\"@iot.id\":1},\"ObservedProperty\":"
                     "{\"@iot.id\":1}";
    char body[1024];
    const char *how[3] = {"/v1.1/Datastreams", "/v1.1/Things(1)/Datastreams", "/v1.1/Things"};
    for (int k = 0; k < 3; k++) {
        if (k == 0)
            snprintf(body, sizeof body, "{%s,\"Thing\":{\"@iot.id\":1}}", ds);
        else if (k == 1)
            snprintf(body, sizeof body, "{%s}", ds);
        else
            snprintf(body, sizeof body, "{\"name\":\"t\",\"description\":\"d\","
                                        "\"Datastreams\":[{%s}]}", ds);
        json_t *j = call("POST", how[k], body);
        CU_ASSERT_EQUAL_FATAL(status, 201);
        int64_t id = num(j, "@iot.id");
        json_decref(j);
        char url[96], sql[128];
        if (k == 2) {
            snprintf(url, sizeof url, "/v1.1/Things(%lld)/Datastreams", (long long)id);
            j = get(url);
            id = num(json_array_get(json_object_get(j, "value"), 0), "@iot.id");
            json_decref(j);
        }
        snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)", (long long)id);
        j = get(url);
        json_t *props = json_object_get(j, "properties");
        CU_ASSERT_STRING_EQUAL(str(props, "k"), "v");
        CU_ASSERT_EQUAL(num(props, "n"), 2);
        json_decref(j);
        snprintf(sql, sizeof sql, "SELECT properties FROM datastreams WHERE id = %lld",
                 (long long)id);
        char *stored = tu_text(store, sql);
        CU_ASSERT_STRING_EQUAL(stored, "{\"k\":\"v\",\"n\":2}");
        free(stored);
        json_decref(call("DELETE", url, NULL));
        CU_ASSERT_EQUAL(status, 200);
    }
}

static void test_update(void)
{
    json_t *j = call("PATCH", "/v1.1/Things(8)", "{\"name\":\"oven 2\"}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(str(j, "name"), "oven 2");
    CU_ASSERT_STRING_EQUAL(str(j, "description"), "a thermostat"); /* untouched */
    json_decref(j);
    /* a complex property is merged member by member */
    j = call("PATCH", "/v1.1/Datastreams(8)", "{\"unitOfMeasurement\":{\"symbol\":\"K\"}}");
    CU_ASSERT_EQUAL(status, 200);
    json_t *u = json_object_get(j, "unitOfMeasurement");
    CU_ASSERT_STRING_EQUAL(str(u, "symbol"), "K");
    CU_ASSERT_STRING_EQUAL(str(u, "name"), "degree Celsius");
    json_decref(j);
    /* moving an observation in time updates the series summary */
    int64_t oid = tu_int(store, "SELECT min(id) FROM observations WHERE datastream_id = 8");
    char url[128];
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)", (long long)oid);
    j = call("PATCH", url, "{\"phenomenonTime\":\"2000-01-01T00:00:00Z\",\"result\":-1}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result")), -1);
    json_decref(j);
    j = get("/v1.1/Datastreams(8)");
    CU_ASSERT_PTR_NOT_NULL(strstr(str(j, "phenomenonTime"), "2000-01-01T00:00:00Z/"));
    json_decref(j);
    /* ... and a move to another datastream, both summaries */
    int64_t n8 = tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 8");
    j = call("PATCH", url, "{\"Datastream\":{\"@iot.id\":1}}");
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 1"), 2);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 8"), n8 - 1);
    /* onto a time datastream 1 has already: both are kept, the moved one after the other */
    j = call("PATCH", url, "{\"phenomenonTime\":\"2024-01-24T13:31:00Z\"}");
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations WHERE datastream_id = 1 AND "
                                  "phenomenon_start = (SELECT phenomenon_start FROM observations "
                                  "WHERE datastream_id = 1 AND seq = 1)"),
                    2);
    char moved[160];
    snprintf(moved, sizeof moved, "SELECT seq FROM observations WHERE id = %lld", (long long)oid);
    CU_ASSERT_EQUAL(tu_int(store, moved), 1);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 1"), 2);
    /* a PATCH that keeps the start keeps the place */
    j = call("PATCH", url, "{\"phenomenonTime\":\"2024-01-24T13:31:00Z/2024-01-24T14:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, moved), 1);
    j = call("PATCH", "/v1.1/Things(8)", "{\"Datastreams\":[{\"name\":\"new\"}]}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "it cannot create them"));
    json_decref(j);
    j = call("PATCH", "/v1.1/Things(8)", "{\"colour\":\"red\"}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "Thing has no property 'colour'"));
    json_decref(j);
    j = call("PATCH", "/v1.1/Things(999)", "{\"name\":\"x\"}");
    CU_ASSERT_EQUAL(status, 404);
    json_decref(j);
    j = call("PATCH", "/v1.1/Things(8)", "{\"name\":null}");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    /* PUT replaces: mandatory properties must be there, the others become null */
    j = call("PUT", "/v1.1/Things(8)", "{\"name\":\"oven 3\"}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "PUT replaces the entity: 'description' is required"));
    json_decref(j);
    j = call("PUT", "/v1.1/Things(8)", "{\"name\":\"oven 3\",\"description\":\"d\"}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NULL(json_object_get(j, "properties"));
    json_decref(j);
    /* a link in a to-many member moves the Thing: a new HistoricalLocation */
    j = call("PATCH", "/v1.1/Things(8)", "{\"Locations\":[{\"@iot.id\":1}]}");
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    j = get("/v1.1/Things(8)/Locations");
    CU_ASSERT_EQUAL(num(json_array_get(json_object_get(j, "value"), 0), "@iot.id"), 1);
    json_decref(j);
}

static void test_delete(void)
{
    /* an Observation: the series summary follows */
    int64_t n4 = tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 4");
    char last4[160];
    snprintf(last4, sizeof last4, "%s", obs_url(4, 3, NULL)); /* 2024-01-24T01:35:00Z */
    json_t *j = call("DELETE", last4, NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(body_text, "");
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 4"), n4 - 1);
    j = get("/v1.1/Datastreams(4)");
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2023-11-04T01:35:00Z/2023-12-28T01:35:00Z");
    json_decref(j);
    j = call("DELETE", last4, NULL);
    CU_ASSERT_EQUAL(status, 404);
    json_decref(j);
    /* a Thing: its Datastreams with their Observations, its HistoricalLocations; not its
     * Locations */
    int64_t locs = tu_int(store, "SELECT count(*) FROM locations");
    j = call("DELETE", "/v1.1/Things(8)", NULL);
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM datastreams WHERE thing_id = 8"), 0);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations WHERE datastream_id = 8"), 0);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM historical_locations WHERE thing_id = 8"),
                    0);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM locations"), locs);
    json_decref(get("/v1.1/Things(8)"));
    CU_ASSERT_EQUAL(status, 404);
    /* a Location: the HistoricalLocations that name it */
    int64_t hl = tu_int(store, "SELECT count(*) FROM historical_locations");
    j = call("DELETE", "/v1.1/Locations(1)", NULL);
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    CU_ASSERT_TRUE(tu_int(store, "SELECT count(*) FROM historical_locations") < hl);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM thing_locations WHERE location_id = 1"),
                    0);
    /* a Sensor, an ObservedProperty, a FeatureOfInterest: made here, then deleted with
     * what hangs on them */
    j = call("POST", "/v1.1/Datastreams",
             "{\"name\":\"d\",\"description\":\"d\",\"observationType\":\"x\","
             "\"unitOfMeasurement\":{\"name\":\"u\",\"symbol\":\"u\",\"definition\":\"u\"},"
             "\"Thing\":{\"@iot.id\":2},\"ObservedProperty\":{\"name\":\"p\",\"definition\":"
             "\"http://p\",\"description\":\"p\"},\"Sensor\":{\"name\":\"s\",\"description\":"
             "\"s\",\"encodingType\":\"text/plain\",\"metadata\":\"m\"},"
             "\"Observations\":[{\"phenomenonTime\":\"2001-01-01T00:00:00Z\",\"result\":1,"
             "\"FeatureOfInterest\":{\"name\":\"f\",\"description\":\"f\",\"encodingType\":"
             "\"application/geo+json\",\"feature\":{\"type\":\"Point\",\"coordinates\":[0,0]}}},"
             "{\"phenomenonTime\":\"2001-01-02T00:00:00Z\",\"result\":2}]}");
    CU_ASSERT_EQUAL_FATAL(status, 201);
    int64_t ds = num(j, "@iot.id");
    json_decref(j);
    char url[96], sql[160];
    snprintf(sql, sizeof sql, "SELECT feature_id FROM observations WHERE datastream_id = %lld "
                              "AND result = 1", (long long)ds);
    int64_t foi = tu_int(store, sql);
    snprintf(url, sizeof url, "/v1.1/FeaturesOfInterest(%lld)", (long long)foi);
    j = call("DELETE", url, NULL);
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    snprintf(sql, sizeof sql, "SELECT n_obs FROM datastreams WHERE id = %lld", (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 1); /* the other observation is left */
    snprintf(sql, sizeof sql, "SELECT sensor_id FROM datastreams WHERE id = %lld", (long long)ds);
    snprintf(url, sizeof url, "/v1.1/Sensors(%lld)", (long long)tu_int(store, sql));
    j = call("DELETE", url, NULL);
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM datastreams WHERE id = %lld", (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE datastream_id = %lld",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    int64_t props = tu_int(store, "SELECT count(*) FROM observed_properties");
    j = call("DELETE", "/v1.1/ObservedProperties(2)", NULL);
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observed_properties"), props - 1);
    /* Silicon's datastreams went with it */
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM datastreams WHERE id IN (6, 7)"), 0);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations WHERE datastream_id IN "
                                  "(6, 7)"),
                    0);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM run_datastreams WHERE datastream_id = 7"),
                    0);
    /* a Datastream */
    j = call("DELETE", "/v1.1/Datastreams(3)", NULL);
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations WHERE datastream_id = 3"), 0);
    /* a collection without $filter: refused (issue 15: with one, what it selects) */
    j = call("DELETE", "/v1.1/Things", NULL);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "needs a $filter"));
    json_decref(j);
}

static void test_create_observations(void)
{
    json_t *j = call("POST", "/v1.1/CreateObservations",
                     "[{\"Datastream\":{\"@iot.id\":4},\"components\":[\"phenomenonTime\","
                     "\"result\",\"FeatureOfInterest/id\"],\"dataArray@iot.count\":3,"
                     "\"dataArray\":[[\"2010-12-23T10:20:00-0700\",20,4],"
                     "[\"2010-12-23T10:21:00-0700\",30,\"probablyNotAValidId\"],"
                     "[\"2010-12-23T10:22:00-0700\",40,4]]},"
                     "{\"Datastream\":{\"@iot.id\":2},\"components\":[\"phenomenonTime\","
                     "\"result\"],\"dataArray\":[[\"2010-12-23T10:20:00-0700\",65]]}]");
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_EQUAL_FATAL(json_array_size(j), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_array_get(j, 0)),
                                  BASE "/v1.1/Observations("));
    CU_ASSERT_EQUAL(strncmp(json_string_value(json_array_get(j, 1)), "error", 5), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_array_get(j, 1)), "no such "
                                                                          "FeatureOfInterest"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_array_get(j, 3)), "/Observations("));
    json_decref(j);
    j = get("/v1.1/Datastreams(4)/Observations?$filter=year(phenomenonTime)%20eq%202010&"
            "$count=true");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 2);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(json_object_get(j, "value"), 0), "phenomenonTime"),
                           "2010-12-23T17:20:00Z");
    json_decref(j);
    /* the datastream of the second group has no Location left (deleted above): its
     * FeatureOfInterest came from Location 2 of Thing 2 */
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = 2"), 2);
    j = call("POST", "/v1.1/CreateObservations", "{\"not\":\"an array\"}");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    j = call("POST", "/v1.1/CreateObservations",
             "[{\"Datastream\":{\"@iot.id\":4},\"components\":[\"colour\"],\"dataArray\":[]}]");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "components[0]: not an Observation component"));
    json_decref(j);
}

/* Writes are recorded as one ingest run of the service; rows carry its id. */
static void test_provenance(void)
{
    int64_t run = tu_int(store, "SELECT id FROM ingest_runs WHERE ingester = 'sta'");
    CU_ASSERT_TRUE(run > 0);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM ingest_runs WHERE ingester = 'sta'"), 1);
    char *s = tu_text(store, "SELECT source || '|' || status || '|' || settings FROM ingest_runs "
                             "WHERE ingester = 'sta'");
    CU_ASSERT_STRING_EQUAL(s, BASE "/v1.1|running|user=tester");
    free(s);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE run_id = %lld",
             (long long)run);
    /* CreateObservations' three rows, and the one PATCH moved to datastream 1 */
    CU_ASSERT_EQUAL(tu_int(store, sql), 4);
    s = tu_text(store, "SELECT n_observations || ' ' || n_inserted || ' ' || n_updated || ' ' "
                       "|| n_things FROM ingest_runs WHERE ingester = 'sta'");
    /* written: 2 deep, 4 single POSTs, 2 in the cascade test, 3 by CreateObservations, each
     * a new one; the Things: oven (deleted since), and the one of a Datastream's
     * properties */
    CU_ASSERT_STRING_EQUAL(s, "11 11 0 2");
    free(s);
    CU_ASSERT_TRUE(tu_int(store, "SELECT n_deleted FROM ingest_runs WHERE ingester = 'sta'") >=
                   10);
}

/* A body is JSON: other media types get 415 naming the one taken, and write nothing. */
static void test_body_type(void)
{
    int64_t before = things_count();
    static const char *const refused[] = {"text/plain", "application/xml; charset=utf-8",
                                          "multipart/form-data; boundary=x", "application/jsonx"};
    for (size_t k = 0; k < ARRAY_LEN(refused); k++) {
        req_ctype = refused[k];
        json_t *j = call("POST", "/v1.1/Things", "{\"name\":\"typed\",\"description\":\"d\"}");
        CU_ASSERT_EQUAL(status, 415);
        CU_ASSERT_TRUE(message_has(j, "is not accepted: send the body as application/json"));
        json_decref(j);
    }
    req_ctype = "text/plain";
    json_t *j = call("PATCH", "/v1.1/Things(1)", "{\"description\":\"typed\"}");
    CU_ASSERT_EQUAL(status, 415);
    json_decref(j);
    CU_ASSERT_EQUAL(things_count(), before);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM things WHERE description = 'typed'"), 0);
    /* what is taken: JSON in any case and with parameters, none, and curl -d's default */
    static const char *const taken[] = {"application/json", "Application/JSON; charset=utf-8",
                                        "application/x-www-form-urlencoded", "", NULL};
    for (size_t k = 0; k < ARRAY_LEN(taken); k++) {
        req_ctype = taken[k];
        j = call("POST", "/v1.1/Things", "{\"name\":\"typed\",\"description\":\"d\"}");
        CU_ASSERT_EQUAL(status, 201);
        json_decref(j);
    }
    CU_ASSERT_EQUAL(things_count(), before + (int64_t)ARRAY_LEN(taken));
    /* JSON that is not JSON is still a 400 */
    req_ctype = "application/json";
    j = call("POST", "/v1.1/Things", "{name: x}");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    req_ctype = NULL;
}

/* validTime: written by POST, CreateObservations, PATCH and PUT, read back, filtered with the
 * time semantics of phenomenonTime, and ordered by. */
static void test_valid_time(void)
{
    /* a series whose Thing has a Location (its Observations' FeatureOfInterest) */
    int64_t ds = tu_int(store, "SELECT min(d.id) FROM datastreams d JOIN thing_locations tl ON "
                               "tl.thing_id = d.thing_id");
    CU_ASSERT_TRUE_FATAL(ds > 0);
    char url[160], body[400];
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)/Observations", (long long)ds);
    json_t *j = call("POST", url, "{\"phenomenonTime\":\"2031-01-01T00:00:00Z\",\"result\":1,"
                                  "\"validTime\":\"2031-01-01T00:00:00Z/2031-02-01T00:00:00Z\"}");
    if (status != 201)
        printf("# %s\n", body_text);
    CU_ASSERT_EQUAL_FATAL(status, 201);
    CU_ASSERT_STRING_EQUAL(str(j, "validTime"), "2031-01-01T00:00:00Z/2031-02-01T00:00:00Z");
    int64_t a = num(j, "@iot.id");
    json_decref(j);
    j = call("POST", url, "{\"phenomenonTime\":\"2031-01-02T00:00:00Z\",\"result\":2,"
                          "\"validTime\":\"2031-01-10T00:00:00+01:00/2031-03-01T00:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 201);
    int64_t b = num(j, "@iot.id");
    json_decref(j);
    j = call("POST", url, "{\"phenomenonTime\":\"2031-01-03T00:00:00Z\",\"result\":3,"
                          "\"validTime\":\"2031-01-10T00:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "'validTime' must be an interval (start/end), not an instant"));
    json_decref(j);
    /* read back, filtered and ordered (intervals half-open, as phenomenonTime) */
    char get_url[400];
    snprintf(get_url, sizeof get_url, "/v1.1/Observations(%lld)", (long long)b);
    j = get(get_url);
    CU_ASSERT_STRING_EQUAL(str(j, "validTime"), "2031-01-09T23:00:00Z/2031-03-01T00:00:00Z");
    json_decref(j);
    static const struct {
        const char *filter;
        int n;
    } cases[] = {
        {"validTime%20eq%202031-01-01T00:00:00Z/2031-02-01T00:00:00Z", 1},
        {"validTime%20ne%20null", 2},
        {"overlaps(validTime,2031-01-20T00:00:00Z)", 2},
        {"overlaps(validTime,2031-02-01T00:00:00Z/2031-02-02T00:00:00Z)", 1},
        {"validTime%20lt%202031-02-01T00:00:00Z", 1}, /* ends at or before */
        {"validTime%20gt%202031-01-05T00:00:00Z", 1}, /* starts after */
        {"validTime%20ge%202031-01-01T00:00:00Z", 2},
        {"during(2031-01-15T00:00:00Z,validTime)", 2},
        {"meets(validTime,2031-02-01T00:00:00Z/2031-02-05T00:00:00Z)", 1},
        {"year(validTime)%20eq%202031", 2},
    };
    for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
        snprintf(get_url, sizeof get_url, "%s?$filter=%s%%20and%%20result%%20ge%%201&$count=true",
                 url, cases[k].filter);
        j = get(get_url);
        if (num(j, "@iot.count") != cases[k].n)
            printf("# %s: %lld, expected %d\n", cases[k].filter, (long long)num(j, "@iot.count"),
                   cases[k].n);
        CU_ASSERT_EQUAL(num(j, "@iot.count"), cases[k].n);
        json_decref(j);
    }
    snprintf(get_url, sizeof get_url, "%s?$filter=validTime%%20ne%%20null&$orderby=validTime%%20desc"
                                      "&$select=id",
             url);
    j = get(get_url);
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(json_array_size(v), 2);
    CU_ASSERT_EQUAL(num(json_array_get(v, 0), "@iot.id"), b);
    CU_ASSERT_EQUAL(num(json_array_get(v, 1), "@iot.id"), a);
    json_decref(j);
    /* PATCH changes it, null clears it; PUT without it clears it */
    snprintf(get_url, sizeof get_url, "/v1.1/Observations(%lld)", (long long)a);
    j = call("PATCH", get_url, "{\"validTime\":\"2030-01-01T00:00:00Z/2030-01-02T00:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(str(j, "validTime"), "2030-01-01T00:00:00Z/2030-01-02T00:00:00Z");
    json_decref(j);
    j = call("PATCH", get_url, "{\"validTime\":\"2030-01-01T00:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 400);
    json_decref(j);
    j = call("PATCH", get_url, "{\"validTime\":null}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NULL(json_object_get(j, "validTime"));
    json_decref(j);
    snprintf(get_url, sizeof get_url, "/v1.1/Observations(%lld)", (long long)b);
    j = call("PUT", get_url, "{\"result\":2,\"phenomenonTime\":\"2031-01-02T00:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NULL(json_object_get(j, "validTime"));
    json_decref(j);
    /* CreateObservations takes it as a component */
    snprintf(body, sizeof body,
             "[{\"Datastream\":{\"@iot.id\":%lld},\"components\":[\"phenomenonTime\",\"result\","
             "\"validTime\"],\"dataArray\":[[\"2031-01-04T00:00:00Z\",4,\"2031-01-04T00:00:00Z/"
             "2031-01-05T00:00:00Z\"],[\"2031-01-05T00:00:00Z\",5,null],[\"2031-01-06T00:00:00Z\","
             "6,\"2031-01-06T00:00:00Z\"]]}]",
             (long long)ds);
    j = call("POST", "/v1.1/CreateObservations", body);
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_EQUAL(json_array_size(j), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(j, 2)),
                           "error: [0].dataArray[2]: 'validTime' must be an interval "
                           "(start/end), not an instant");
    json_decref(j);
    snprintf(get_url, sizeof get_url, "%s?$filter=result%%20ge%%204%%20and%%20year("
                                      "phenomenonTime)%%20eq%%202031&$orderby=phenomenonTime"
                                      "&$select=validTime,result",
             url);
    j = get(get_url);
    v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(json_array_size(v), 2);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 0), "validTime"),
                           "2031-01-04T00:00:00Z/2031-01-05T00:00:00Z");
    CU_ASSERT_TRUE(json_is_null(json_object_get(json_array_get(v, 1), "validTime")));
    json_decref(j);
    /* an Observation posted again at the same time replaces the one there, validTime too */
    j = call("POST", url, "{\"phenomenonTime\":\"2031-01-04T00:00:00Z\",\"result\":44}");
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_PTR_NULL(json_object_get(j, "validTime"));
    json_decref(j);
}

/* The names of the current Locations of Thing id, sorted, joined by ','. */
static char *current_locations(int64_t id)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT group_concat(name, ',') FROM (SELECT l.name FROM "
             "locations l JOIN thing_locations tl ON tl.location_id = l.id WHERE tl.thing_id = "
             "%lld ORDER BY l.name) AS n), '')",
             (long long)id);
    if (strcmp(tu_backend(), "postgresql") == 0)
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(string_agg(l.name, ',' ORDER BY l.name), '') FROM locations l "
                 "JOIN thing_locations tl ON tl.location_id = l.id WHERE tl.thing_id = %lld",
                 (long long)id);
    return tu_text(store, sql);
}

#define GEO_LOCATION(name)                                                                    \
    "{\"name\":\"" name "\",\"description\":\"d\",\"encodingType\":\"application/geo+json\","   \
    "\"location\":{\"type\":\"Point\",\"coordinates\":[1,2]}}"

/* A HistoricalLocation later than the Thing's others makes its Locations the Thing's; an
 * earlier one (or one as late, or one without Locations) only adds to the history. */
static void test_historical_location_current(void)
{
    json_t *j = call("POST", "/v1.1/Things", "{\"name\":\"rover\",\"description\":\"moves\","
                                             "\"Locations\":[" GEO_LOCATION("here") "]}");
    CU_ASSERT_EQUAL_FATAL(status, 201);
    int64_t thing = num(j, "@iot.id");
    json_decref(j);
    j = call("POST", "/v1.1/Locations", GEO_LOCATION("there"));
    CU_ASSERT_EQUAL_FATAL(status, 201);
    int64_t there = num(j, "@iot.id");
    json_decref(j);
    char *cur = current_locations(thing);
    CU_ASSERT_STRING_EQUAL(cur, "here");
    free(cur);
    char url[128], body[400];
    /* later: the Thing is there now */
    snprintf(url, sizeof url, "/v1.1/Things(%lld)/HistoricalLocations", (long long)thing);
    snprintf(body, sizeof body,
             "{\"time\":\"2099-01-01T00:00:00Z\",\"Locations\":[{\"@iot.id\":%lld}]}",
             (long long)there);
    j = call("POST", url, body);
    CU_ASSERT_EQUAL(status, 201);
    json_decref(j);
    cur = current_locations(thing);
    CU_ASSERT_STRING_EQUAL(cur, "there");
    free(cur);
    /* earlier, or as late: history only */
    int64_t here = tu_int(store, "SELECT max(id) FROM locations WHERE name = 'here'");
    static const char *const not_later[] = {"2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z"};
    for (size_t k = 0; k < ARRAY_LEN(not_later); k++) {
        snprintf(body, sizeof body,
                 "{\"time\":\"%s\",\"Thing\":{\"@iot.id\":%lld},\"Locations\":[{\"@iot.id\":"
                 "%lld}]}",
                 not_later[k], (long long)thing, (long long)here);
        j = call("POST", "/v1.1/HistoricalLocations", body);
        CU_ASSERT_EQUAL(status, 201);
        json_decref(j);
        cur = current_locations(thing);
        CU_ASSERT_STRING_EQUAL(cur, "there");
        free(cur);
    }
    /* later, without Locations: nothing to move to */
    j = call("POST", url, "{\"time\":\"2101-01-01T00:00:00Z\"}");
    CU_ASSERT_EQUAL(status, 201);
    json_decref(j);
    cur = current_locations(thing);
    CU_ASSERT_STRING_EQUAL(cur, "there");
    free(cur);
    /* later still, with two new Locations made inline */
    j = call("POST", url, "{\"time\":\"2102-01-01T00:00:00Z\",\"Locations\":["
                          GEO_LOCATION("camp") "," GEO_LOCATION("summit") "]}");
    CU_ASSERT_EQUAL(status, 201);
    json_decref(j);
    cur = current_locations(thing);
    CU_ASSERT_STRING_EQUAL(cur, "camp,summit");
    free(cur);
    snprintf(url, sizeof url, "/v1.1/Things(%lld)/HistoricalLocations?$count=true&$orderby=time",
             (long long)thing);
    j = get(url);
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 6); /* at creation, then 5 posted */
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Things(%lld)/Locations?$orderby=name", (long long)thing);
    j = get(url);
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(json_array_size(v), 2);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 0), "name"), "camp");
    json_decref(j);
}

/* The id of the entity a POST of body to url created (its Location header's), 0 unless
 * 201. */
static int64_t post_id(const char *url, const char *body)
{
    json_decref(call("POST", url, body));
    const char *open = strrchr(location, '(');
    return status == 201 && open ? strtoll(open + 1, NULL, 10) : 0;
}

/* Issue 15: a POST creates a new entity, never finds or replaces a stored one. Two
 * Observations of one Datastream starting at one time (06:00 and 06:00/06:59, two replicate
 * samples) are two entities, in the series in (time, creation) order, paged stably;
 * CreateObservations creates too; two deep inserts of the same ObservedProperty make two,
 * and both can be deleted (as the OGC test suite does). */
static void test_creates_are_new(void)
{
    int64_t a = post_id("/v1.1/Datastreams(5)/Observations",
                        "{\"phenomenonTime\":\"2030-05-01T06:00:00Z\",\"result\":1}");
    int64_t b = post_id("/v1.1/Datastreams(5)/Observations",
                        "{\"phenomenonTime\":\"2030-05-01T06:00:00Z/2030-05-01T06:59:00Z\","
                        "\"result\":2}");
    CU_ASSERT_TRUE(a > 0 && b > a);
    json_t *j = call("POST", "/v1.1/CreateObservations",
                     "[{\"Datastream\":{\"@iot.id\":5},\"components\":[\"phenomenonTime\","
                     "\"result\"],\"dataArray\":[[\"2030-05-01T06:00:00Z\",3],"
                     "[\"2030-05-01T06:00:00Z\",4],[\"2030-05-01T07:00:00Z\",5]]}]");
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_EQUAL(json_array_size(j), 3);
    const char *l0 = json_string_value(json_array_get(j, 0));
    const char *l1 = json_string_value(json_array_get(j, 1));
    CU_ASSERT_TRUE(l0 && l1 && strcmp(l0, l1) != 0);
    json_decref(j);
    const char *series = "/v1.1/Datastreams(5)/Observations?$filter=year(phenomenonTime)%20eq"
                         "%202030&$select=id,result,phenomenonTime&$count=true";
    j = get(series);
    json_t *v = json_object_get(j, "value");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 5);
    CU_ASSERT_EQUAL_FATAL(json_array_size(v), 5);
    for (int i = 0; i < 5; i++) /* 06:00 four times in the order they came, then 07:00 */
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(v, i), "result")),
                        i + 1);
    CU_ASSERT_EQUAL(num(json_array_get(v, 0), "@iot.id"), a);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(v, 1), "phenomenonTime"),
                           "2030-05-01T06:00:00Z/2030-05-01T06:59:00Z");
    json_decref(j);
    /* descending: the reverse; one per page: each once */
    j = get("/v1.1/Datastreams(5)/Observations?$filter=year(phenomenonTime)%20eq%202030&"
            "$orderby=phenomenonTime%20desc&$select=result");
    v = json_object_get(j, "value");
    for (int i = 0; i < 5 && i < (int)json_array_size(v); i++)
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(v, i), "result")),
                        5 - i);
    json_decref(j);
    int seen = 0, order_ok = 1;
    for (int skip = 0; skip < 6; skip++) {
        char url[256];
        snprintf(url, sizeof url, "/v1.1/Observations?$filter=Datastream/id%%20eq%%205%%20and%%20"
                                  "year(phenomenonTime)%%20eq%%202030&$top=1&$skip=%d&"
                                  "$select=result",
                 skip);
        j = get(url);
        v = json_object_get(j, "value");
        if (json_array_size(v) == 1) {
            seen++;
            order_ok &= json_integer_value(json_object_get(json_array_get(v, 0), "result")) ==
                        skip + 1;
        }
        json_decref(j);
    }
    CU_ASSERT_EQUAL(seen, 5);
    CU_ASSERT_TRUE(order_ok);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations WHERE datastream_id = 5 AND "
                                  "phenomenon_start = 1903845600000000"),
                    4);
    /* the same ObservedProperty deep-inserted twice: two entities, both deleted */
    const char *ds = "{\"name\":\"d\",\"description\":\"d\",\"observationType\":\"x\","
                     "\"unitOfMeasurement\":{\"name\":\"u\",\"symbol\":\"u\",\"definition\":"
                     "\"u\"},\"Thing\":{\"@iot.id\":1},\"Sensor\":{\"@iot.id\":1},"
                     "\"ObservedProperty\":{\"name\":\"same\",\"definition\":\"http://same\","
                     "\"description\":\"%s\"}}";
    char body[600], url[96];
    int64_t props[2];
    for (int k = 0; k < 2; k++) {
        snprintf(body, sizeof body, ds, k ? "second" : "first");
        int64_t d = post_id("/v1.1/Datastreams", body);
        CU_ASSERT_TRUE_FATAL(d > 0);
        snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)/ObservedProperty", (long long)d);
        j = get(url);
        props[k] = num(j, "@iot.id");
        CU_ASSERT_STRING_EQUAL(str(j, "description"), k ? "second" : "first");
        json_decref(j);
    }
    CU_ASSERT_NOT_EQUAL(props[0], props[1]);
    for (int k = 0; k < 2; k++) {
        snprintf(url, sizeof url, "/v1.1/ObservedProperties(%lld)", (long long)props[k]);
        json_decref(call("DELETE", url, NULL));
        CU_ASSERT_EQUAL(status, 200);
    }
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observed_properties WHERE definition = "
                                  "'http://same'"),
                    0);
}

/* Issue 15: the id of a deleted entity is never given to another (SQLite would give the
 * largest again): for each entity set, the newest entity deleted, the next POST gets a new
 * id. */
static void test_ids_not_reused(void)
{
    static const char *const sets[][2] = {
        {"/v1.1/Things", "{\"name\":\"t\",\"description\":\"d\"}"},
        {"/v1.1/Locations", "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":"
                            "\"application/geo+json\",\"location\":{\"type\":\"Point\","
                            "\"coordinates\":[5,5]}}"},
        {"/v1.1/HistoricalLocations", "{\"time\":\"2020-01-01T00:00:00Z\",\"Thing\":"
                                      "{\"@iot.id\":1}}"},
        {"/v1.1/Sensors", "{\"name\":\"s\",\"description\":\"d\",\"encodingType\":"
                          "\"text/plain\",\"metadata\":\"m\"}"},
        {"/v1.1/ObservedProperties", "{\"name\":\"p\",\"definition\":\"http://p\","
                                     "\"description\":\"d\"}"},
        {"/v1.1/Datastreams", "{\"name\":\"d\",\"description\":\"d\",\"observationType\":\"x\","
                              "\"unitOfMeasurement\":{\"name\":\"u\",\"symbol\":\"u\","
                              "\"definition\":\"u\"},\"Thing\":{\"@iot.id\":1},\"Sensor\":"
                              "{\"@iot.id\":1},\"ObservedProperty\":{\"@iot.id\":1}}"},
        {"/v1.1/FeaturesOfInterest", "{\"name\":\"f\",\"description\":\"d\",\"encodingType\":"
                                     "\"application/geo+json\",\"feature\":{\"type\":"
                                     "\"Point\",\"coordinates\":[6,6]}}"},
        {"/v1.1/Observations", "{\"Datastream\":{\"@iot.id\":1},\"FeatureOfInterest\":"
                               "{\"@iot.id\":1},\"phenomenonTime\":\"2031-01-01T00:00:00Z\","
                               "\"result\":1}"}};
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) {
        int64_t first = post_id(sets[k][0], sets[k][1]);
        CU_ASSERT_TRUE_FATAL(first > 0);
        char url[96];
        snprintf(url, sizeof url, "%s(%lld)", sets[k][0], (long long)first);
        json_decref(call("DELETE", url, NULL));
        CU_ASSERT_EQUAL(status, 200);
        int64_t next = post_id(sets[k][0], sets[k][1]);
        if (next <= first)
            printf("# %s: %lld deleted, then %lld given\n", sets[k][0], (long long)first,
                   (long long)next);
        CU_ASSERT_TRUE(next > first);
    }
}

/* ---- JSON Patch and DELETE by $filter ---- */

/* A Thing named name at a point, with one Datastream whose Observations start at the days
 * of January 2020 given (day 0 is 2019-12-31), results 1, 2, ...; the Datastream's id (and
 * the Thing's in *thing). */
static int64_t make_series(const char *name, const int *days, int n, int64_t *thing)
{
    struct strbuf b = {0};
    sb_printf(&b,
              "{\"name\":\"%s\",\"description\":\"d\",\"properties\":{\"owner\":\"a\","
              "\"n\":1},\"Locations\":[{\"name\":\"l\",\"description\":\"d\",\"encodingType\":"
              "\"application/geo+json\",\"location\":{\"type\":\"Point\",\"coordinates\":[1,2]}}],"
              "\"Datastreams\":[{\"name\":\"%s-stage\",\"description\":\"d\",\"observationType\":"
              "\"x\",\"unitOfMeasurement\":{\"name\":\"metre\",\"symbol\":\"m\",\"definition\":"
              "\"http://m\"},\"ObservedProperty\":{\"name\":\"p\",\"definition\":\"http://p\","
              "\"description\":\"d\"},\"Sensor\":{\"name\":\"s\",\"description\":\"d\","
              "\"encodingType\":\"text/plain\",\"metadata\":\"m\"},\"Observations\":[",
              name, name);
    for (int k = 0; k < n; k++) {
        char when[32];
        if (days[k] == 0)
            snprintf(when, sizeof when, "2019-12-31T00:00:00Z");
        else
            snprintf(when, sizeof when, "2020-01-%02dT00:00:00Z", days[k]);
        sb_printf(&b, "%s{\"phenomenonTime\":\"%s\",\"result\":%d}", k ? "," : "", when, k + 1);
    }
    sb_puts(&b, "]}]}");
    int64_t t = post_id("/v1.1/Things", sb_str(&b));
    sb_free(&b);
    if (thing)
        *thing = t;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT id FROM datastreams WHERE thing_id = %lld", (long long)t);
    return t ? tu_int(store, sql) : 0;
}

/* PATCH with Content-Type application/json-patch+json. */
static json_t *json_patch(const char *url, const char *ops)
{
    req_ctype = "application/json-patch+json";
    json_t *j = call("PATCH", url, ops);
    req_ctype = NULL;
    return j;
}

/* The JSON of a GET of url as compact text with sorted keys (caller frees). */
static char *get_text(const char *url)
{
    json_t *j = get(url);
    char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return t;
}

/* Runs one SQL statement on the test store (set-up the API cannot do); 0 on success. */
static int exec_sql(const char *sql)
{
    struct stmt *s;
    insitu_error err;
    int rc = st_prepare(&store->base, sql, &s, &err);
    if (!rc) {
        while ((rc = st_step(s, &err)) == 1)
            ;
        st_finalize(s);
    }
    if (rc < 0)
        printf("# %s: %s\n", sql, err.message);
    return rc < 0 ? rc : 0;
}

/* Issue 15: JSON Patch (RFC 6902) on PATCH: every operation, on Things, Datastreams
 * (unitOfMeasurement members), Observations (result, validTime, parameters, times), Locations;
 * a failing test leaves the entity as it was (409); read-only members are refused (400
 * naming the path); other types are still 415. */
static void test_json_patch(void)
{
    static const int days[] = {1, 2};
    int64_t thing;
    int64_t ds = make_series("jp", days, 2, &thing);
    CU_ASSERT_TRUE_FATAL(ds > 0);
    char turl[64], durl[64], ourl[200];
    snprintf(turl, sizeof turl, "/v1.1/Things(%lld)", (long long)thing);
    snprintf(durl, sizeof durl, "/v1.1/Datastreams(%lld)", (long long)ds);
    snprintf(ourl, sizeof ourl, "%s", obs_url(ds, 1, NULL));
    /* add, remove, replace, copy, test, in order */
    json_t *j = json_patch(turl, "[{\"op\":\"replace\",\"path\":\"/properties/owner\","
                                 "\"value\":\"x\"},{\"op\":\"add\",\"path\":\"/properties/k\","
                                 "\"value\":1},{\"op\":\"remove\",\"path\":\"/properties/n\"},"
                                 "{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"jp2\"},"
                                 "{\"op\":\"copy\",\"from\":\"/name\",\"path\":\"/description\"},"
                                 "{\"op\":\"test\",\"path\":\"/description\",\"value\":\"jp2\"}]");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(str(j, "name"), "jp2"); /* the answer is the patched entity */
    json_decref(j);
    char *t = get_text(turl);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"description\":\"jp2\",\"name\":\"jp2\",\"properties\":"
                                     "{\"k\":1,\"owner\":\"x\"}"));
    free(t);
    /* move; a Content-Type with parameters */
    req_ctype = "Application/JSON-Patch+JSON; charset=utf-8";
    json_decref(call("PATCH", turl, "[{\"op\":\"move\",\"from\":\"/properties/k\",\"path\":"
                                    "\"/properties/k2\"}]"));
    req_ctype = NULL;
    CU_ASSERT_EQUAL(status, 200);
    j = get(turl);
    t = json_dumps(json_object_get(j, "properties"), JSON_COMPACT | JSON_SORT_KEYS);
    CU_ASSERT_STRING_EQUAL(t, "{\"k2\":1,\"owner\":\"x\"}");
    free(t);
    json_decref(j);
    /* a failed test: 409, and the operations before it are not kept */
    char *before = get_text(turl);
    j = json_patch(turl, "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"zzz\"},"
                         "{\"op\":\"test\",\"path\":\"/name\",\"value\":\"other\"}]");
    CU_ASSERT_EQUAL(status, 409);
    CU_ASSERT_TRUE(message_has(j, "JSON Patch: [1] test /name: the value differs"));
    json_decref(j);
    j = json_patch(turl, "[{\"op\":\"test\",\"path\":\"/nothing\",\"value\":1}]");
    CU_ASSERT_EQUAL(status, 409);
    json_decref(j);
    t = get_text(turl);
    CU_ASSERT_STRING_EQUAL(t, before);
    free(t);
    /* read-only members, and what cannot apply: 400 naming the path; nothing changes */
    static const struct {
        const char *ops, *message;
    } refused[] = {
        {"[{\"op\":\"replace\",\"path\":\"/@iot.id\",\"value\":99}]",
         "JSON Patch: [0] replace /@iot.id: @iot.id is read-only"},
        {"[{\"op\":\"remove\",\"path\":\"/@iot.selfLink\"}]", "[0] remove /@iot.selfLink"},
        {"[{\"op\":\"test\",\"path\":\"/name\",\"value\":\"jp2\"},{\"op\":\"replace\",\"path\":"
         "\"/Datastreams@iot.navigationLink\",\"value\":\"x\"}]",
         "[1] replace /Datastreams@iot.navigationLink: a navigationLink is read-only"},
        {"[{\"op\":\"move\",\"from\":\"/@iot.id\",\"path\":\"/properties/id\"}]",
         "[0] move from /@iot.id"},
        {"[{\"op\":\"replace\",\"path\":\"\",\"value\":{}}]", "the whole entity"},
        {"[{\"op\":\"remove\",\"path\":\"/properties/nothing\"}]",
         "[0] remove /properties/nothing: "},
        {"[{\"op\":\"remove\",\"path\":\"/description\"}]",
         "JSON Patch: 'description' cannot be null"},
        {"[{\"op\":\"add\",\"path\":\"/colour\",\"value\":\"red\"}]", "no property 'colour'"},
        {"[{\"op\":\"jump\",\"path\":\"/name\"}]", "unknown \"op\""},
        {"{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"x\"}", "an array of operations"},
        {"[{\"op\":\"replace\",\"path\":\"/name\"}]", "needs a \"value\""},
    };
    for (size_t k = 0; k < ARRAY_LEN(refused); k++) {
        j = json_patch(turl, refused[k].ops);
        CU_ASSERT_EQUAL(status, 400);
        CU_ASSERT_TRUE(message_has(j, refused[k].message));
        json_decref(j);
    }
    t = get_text(turl);
    CU_ASSERT_STRING_EQUAL(t, before);
    free(t);
    free(before);
    /* a Datastream: unitOfMeasurement members (one removed is cleared), properties; its
     * phenomenonTime is the server's */
    j = json_patch(durl, "[{\"op\":\"replace\",\"path\":\"/unitOfMeasurement/symbol\","
                         "\"value\":\"cm\"},{\"op\":\"remove\",\"path\":"
                         "\"/unitOfMeasurement/definition\"},{\"op\":\"add\",\"path\":"
                         "\"/properties\",\"value\":{\"missingValue\":-9999}}]");
    CU_ASSERT_EQUAL(status, 200);
    t = json_dumps(json_object_get(j, "unitOfMeasurement"), JSON_COMPACT | JSON_SORT_KEYS);
    CU_ASSERT_STRING_EQUAL(t, "{\"definition\":null,\"name\":\"metre\",\"symbol\":\"cm\"}");
    free(t);
    CU_ASSERT_EQUAL(num(json_object_get(j, "properties"), "missingValue"), -9999);
    json_decref(j);
    j = json_patch(durl, "[{\"op\":\"replace\",\"path\":\"/phenomenonTime\",\"value\":"
                         "\"2000-01-01T00:00:00Z\"}]");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "[0] replace /phenomenonTime: kept by the server"));
    json_decref(j);
    /* an Observation: result, validTime, parameters, phenomenonTime; the Datastream's
     * summary follows */
    j = json_patch(ourl, "[{\"op\":\"replace\",\"path\":\"/result\",\"value\":2.5},"
                         "{\"op\":\"add\",\"path\":\"/validTime\",\"value\":"
                         "\"2020-01-01T00:00:00Z/2020-02-01T00:00:00Z\"},"
                         "{\"op\":\"add\",\"path\":\"/parameters\",\"value\":{\"a\":1}},"
                         "{\"op\":\"add\",\"path\":\"/parameters/b\",\"value\":\"x\"},"
                         "{\"op\":\"replace\",\"path\":\"/phenomenonTime\",\"value\":"
                         "\"2020-01-05T00:00:00Z\"}]");
    CU_ASSERT_EQUAL(status, 200);
    json_decref(j);
    t = get_text(ourl);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"parameters\":{\"a\":1,\"b\":\"x\"},"
                                     "\"phenomenonTime\":\"2020-01-05T00:00:00Z\","
                                     "\"result\":2.5,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"validTime\":\"2020-01-01T00:00:00Z/"
                                     "2020-02-01T00:00:00Z\""));
    free(t);
    j = get(durl);
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2020-01-01T00:00:00Z/2020-01-05T00:00:00Z");
    json_decref(j);
    json_decref(json_patch(ourl, "[{\"op\":\"remove\",\"path\":\"/validTime\"},{\"op\":"
                                 "\"remove\",\"path\":\"/parameters/a\"}]"));
    CU_ASSERT_EQUAL(status, 200);
    t = get_text(ourl);
    CU_ASSERT_PTR_NULL(strstr(t, "validTime"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"parameters\":{\"b\":\"x\"}"));
    free(t);
    /* a Location: its GeoJSON */
    snprintf(turl, sizeof turl, "/v1.1/Things(%lld)/Locations", (long long)thing);
    j = get(turl);
    int64_t loc = num(json_array_get(json_object_get(j, "value"), 0), "@iot.id");
    json_decref(j);
    char lurl[64];
    snprintf(lurl, sizeof lurl, "/v1.1/Locations(%lld)", (long long)loc);
    json_decref(json_patch(lurl, "[{\"op\":\"replace\",\"path\":\"/location/coordinates/0\","
                                 "\"value\":3}]"));
    CU_ASSERT_EQUAL(status, 200);
    t = get_text(lurl);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"coordinates\":[3,2]"));
    free(t);
    /* JSON Patch is for PATCH only; other types are still refused */
    req_ctype = "application/json-patch+json";
    json_decref(call("POST", "/v1.1/Things", "[{\"op\":\"add\",\"path\":\"/name\",\"value\":1}]"));
    CU_ASSERT_EQUAL(status, 415);
    json_decref(call("PUT", durl, "[]"));
    CU_ASSERT_EQUAL(status, 415);
    req_ctype = "application/merge-patch+json";
    j = call("PATCH", durl, "{\"name\":\"x\"}");
    CU_ASSERT_EQUAL(status, 415);
    CU_ASSERT_TRUE(message_has(j, "send the body as application/json, "
                                  "application/json-patch+json"));
    json_decref(j);
    req_ctype = NULL;
}

/* The sta run's n_deleted. */
static int64_t run_deleted(void)
{
    return tu_int(store, "SELECT n_deleted FROM ingest_runs WHERE ingester = 'sta'");
}

/* Issue 15: DELETE of a collection with $filter (as FROST offers): what the filter selects,
 * in one transaction, the summaries and the provenance counts kept right. */
static void test_delete_filter(void)
{
    static const int days[] = {0, 0, 1, 2, 3, 4};
    int64_t thing;
    int64_t ds = make_series("df", days, 6, &thing);
    CU_ASSERT_TRUE_FATAL(ds > 0);
    char url[200], sql[160];
    int64_t deleted0 = run_deleted();
    /* a bad period of a series */
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)/Observations?$filter=phenomenonTime%%20lt"
                              "%%202020-01-01T00:00:00Z",
             (long long)ds);
    json_t *j = call("DELETE", url, NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 2);
    CU_ASSERT_STRING_EQUAL(str(j, "message"), "2 Observations deleted");
    json_decref(j);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE datastream_id = %lld",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 4);
    snprintf(sql, sizeof sql, "SELECT n_obs FROM datastreams WHERE id = %lld", (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 4);
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)", (long long)ds);
    j = get(url);
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2020-01-01T00:00:00Z/2020-01-04T00:00:00Z");
    json_decref(j);
    CU_ASSERT_EQUAL(run_deleted(), deleted0 + 2);
    /* a filter that selects nothing */
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)/Observations?$filter=result%%20gt%%20100",
             (long long)ds);
    j = call("DELETE", url, NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 0);
    json_decref(j);
    snprintf(sql, sizeof sql, "SELECT n_obs FROM datastreams WHERE id = %lld", (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 4);
    /* all Observations, through a path in the filter: the series' end moves back */
    snprintf(url, sizeof url, "/v1.1/Observations?$filter=Datastream/@iot.id%%20eq%%20%lld%%20and"
                              "%%20result%%20ge%%205",
             (long long)ds);
    j = call("DELETE", url, NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 2);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, sql), 2);
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)", (long long)ds);
    j = get(url);
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2020-01-01T00:00:00Z/2020-01-02T00:00:00Z");
    json_decref(j);
    CU_ASSERT_EQUAL(run_deleted(), deleted0 + 4);
    /* refused: a bad filter (named), no filter, other options, $ref */
    int64_t total = tu_int(store, "SELECT count(*) FROM observations");
    static const struct {
        const char *url, *message;
    } refused[] = {
        {"/v1.1/Observations?$filter=colour%20eq%201", "colour"},
        {"/v1.1/Observations?$filter=result%20gt%20'oops", "$filter: at character"},
        {"/v1.1/Observations", "needs a $filter"},
        {"/v1.1/Things?$filter=true&$top=1", "$top: not allowed on a DELETE"},
        {"/v1.1/Things?$filter=true&$orderby=name", "$orderby: not allowed on a DELETE"},
    };
    for (size_t k = 0; k < ARRAY_LEN(refused); k++) {
        j = call("DELETE", refused[k].url, NULL);
        CU_ASSERT_EQUAL(status, 400);
        CU_ASSERT_TRUE(message_has(j, refused[k].message));
        json_decref(j);
    }
    json_decref(call("DELETE", "/v1.1/Things/$ref?$filter=true", NULL));
    CU_ASSERT_EQUAL(status, 405);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations"), total);
    CU_ASSERT_TRUE(things_count() > 0);
    /* other collections, with the cascades of a single DELETE: Datastreams of a Thing, then
     * Things by name */
    int64_t thing2;
    int64_t ds2 = make_series("df-b", days, 3, &thing2);
    snprintf(url, sizeof url, "/v1.1/Things(%lld)/Datastreams?$filter=endswith(name,'-stage')",
             (long long)thing2);
    j = call("DELETE", url, NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 1);
    json_decref(j);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE datastream_id = %lld",
             (long long)ds2);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    CU_ASSERT_EQUAL(run_deleted(), deleted0 + 7);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM things WHERE name = 'df-b'"), 1);
    j = call("DELETE", "/v1.1/Things?$filter=startswith(name,'df')", NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 2);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM things WHERE name LIKE 'df%'"), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM datastreams WHERE id = %lld", (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    CU_ASSERT_EQUAL(run_deleted(), deleted0 + 9);
}

/* A DELETE by $filter that fails half way (a trigger refuses the second Thing's
 * Observations) leaves everything as it was: the first Thing, deleted before, is back. */
static void test_delete_filter_atomic(void)
{
    static const int days[] = {1, 2};
    int64_t a, b;
    int64_t dsa = make_series("atomic-a", days, 2, &a);
    int64_t dsb = make_series("atomic-b", days, 2, &b);
    CU_ASSERT_TRUE_FATAL(dsa > 0 && dsb > 0);
    char sql[300];
    int pg = strcmp(tu_backend(), "postgresql") == 0;
    if (pg) {
        snprintf(sql, sizeof sql,
                 "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                 "IF OLD.datastream_id = %lld THEN RAISE EXCEPTION 'refused here'; END IF; "
                 "RETURN OLD; END $$",
                 (long long)dsb);
        CU_ASSERT_EQUAL_FATAL(exec_sql(sql), 0);
        CU_ASSERT_EQUAL_FATAL(exec_sql("CREATE TRIGGER refuse BEFORE DELETE ON observations FOR "
                                       "EACH ROW EXECUTE FUNCTION refuse_delete()"),
                              0);
    } else {
        snprintf(sql, sizeof sql,
                 "CREATE TRIGGER refuse BEFORE DELETE ON observations WHEN OLD.datastream_id = "
                 "%lld BEGIN SELECT RAISE(ABORT, 'refused here'); END",
                 (long long)dsb);
        CU_ASSERT_EQUAL_FATAL(exec_sql(sql), 0);
    }
    int64_t obs = tu_int(store, "SELECT count(*) FROM observations");
    int64_t deleted0 = run_deleted();
    json_t *j = call("DELETE", "/v1.1/Things?$filter=startswith(name,'atomic-')", NULL);
    /* the store's refusal: 409 on SQLite (a constraint), 500 on PostgreSQL */
    CU_ASSERT_TRUE(status == 409 || status == 500);
    CU_ASSERT_TRUE(message_has(j, "refused here"));
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM things WHERE name LIKE 'atomic-%'"), 2);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations"), obs);
    snprintf(sql, sizeof sql, "SELECT n_obs FROM datastreams WHERE id = %lld", (long long)dsa);
    CU_ASSERT_EQUAL(tu_int(store, sql), 2);
    CU_ASSERT_EQUAL(run_deleted(), deleted0);
    /* SQLite names a trigger alone, PostgreSQL with its table */
    CU_ASSERT_EQUAL(exec_sql(pg ? "DROP TRIGGER refuse ON observations" : "DROP TRIGGER refuse"), 0);
    if (pg)
        CU_ASSERT_EQUAL(exec_sql("DROP FUNCTION refuse_delete()"), 0);
    j = call("DELETE", "/v1.1/Things?$filter=startswith(name,'atomic-')", NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 2);
    json_decref(j);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations"), obs - 4);
}

/* ---- MultiDatastream (OGC 18-088 14.3) ---- */

#define MD_COMPLEX "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"
#define MD_MEASURE "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
#define MD_TRUTH "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"

/* A new Thing (with a Location: its Observations' FeatureOfInterest), Sensor and two
 * ObservedProperties (*pa < *pb) for the MultiDatastreams of a test. */
static void md_parents(const char *name, int64_t *thing, int64_t *sensor, int64_t *pa,
                       int64_t *pb)
{
    char b[600];
    snprintf(b, sizeof b,
             "{\"name\":\"%s\",\"description\":\"d\",\"Locations\":[{\"name\":\"l\","
             "\"description\":\"d\",\"encodingType\":\"application/geo+json\",\"location\":"
             "{\"type\":\"Point\",\"coordinates\":[3,4]}}]}",
             name);
    *thing = post_id("/v1.1/Things", b);
    *sensor = post_id("/v1.1/Sensors", "{\"name\":\"md-s\",\"description\":\"d\","
                                       "\"encodingType\":\"text/plain\",\"metadata\":\"m\"}");
    *pa = post_id("/v1.1/ObservedProperties", "{\"name\":\"md-a\",\"definition\":\"urn:a\","
                                              "\"description\":\"d\"}");
    *pb = post_id("/v1.1/ObservedProperties", "{\"name\":\"md-b\",\"definition\":\"urn:b\","
                                              "\"description\":\"d\"}");
}

/* The body of a MultiDatastream named name of (thing, sensor) with ObservedProperties
 * first, second (ids; second 0: none) and a tail ("" or ",\"Observations\":[...]"). */
static const char *md_body(const char *name, int64_t thing, int64_t sensor, int64_t first,
                           int64_t second, const char *tail)
{
    static char b[1500];
    char second_link[40] = "";
    if (second)
        snprintf(second_link, sizeof second_link, ",{\"@iot.id\":%lld}", (long long)second);
    snprintf(b, sizeof b,
             "{\"name\":\"%s\",\"description\":\"two at once\",\"observationType\":\"" MD_COMPLEX
             "\",\"multiObservationDataTypes\":[\"" MD_MEASURE "\",\"" MD_TRUTH "\"],"
             "\"unitOfMeasurements\":[{\"name\":\"metre\",\"symbol\":\"m\",\"definition\":"
             "\"http://m\"},{\"name\":null,\"symbol\":null,\"definition\":null}],"
             "\"properties\":{\"k\":1},\"Thing\":{\"@iot.id\":%lld},\"Sensor\":{\"@iot.id\":%lld},"
             "\"ObservedProperties\":[{\"@iot.id\":%lld}%s]%s}",
             name, (long long)thing, (long long)sensor, (long long)first, second_link, tail);
    return b;
}

/* s (of size n) with its first from replaced by to. */
static char *subst(char *s, size_t n, const char *from, const char *to)
{
    char *at = strstr(s, from);
    size_t lf = strlen(from), lt = strlen(to);
    if (at && strlen(s) - lf + lt < n) {
        memmove(at + lt, at + lf, strlen(at + lf) + 1);
        memcpy(at, to, lt);
    }
    return s;
}

static int64_t n_datastream_rows(void)
{
    return tu_int(store, "SELECT count(*) FROM datastreams");
}

/* The ids of the entities of a collection's "value", in order, as "1,2,3". */
static const char *ids_of(json_t *j)
{
    static char out[256];
    size_t i, n = 0;
    json_t *e;
    out[0] = '\0';
    json_array_foreach(json_object_get(j, "value"), i, e)
    n += (size_t)snprintf(out + n, sizeof out - n, "%s%lld", i ? "," : "",
                          (long long)num(e, "@iot.id"));
    return out;
}

/* Create: direct with links, the arrays and ObservedProperties kept in their order (not the
 * ids'), deep from a Thing; refusals: lengths, observationType, members; /Datastreams never
 * shows one. */
static void test_md_create(void)
{
    int64_t thing, sensor, pa, pb;
    md_parents("md-thing-1", &thing, &sensor, &pa, &pb);
    CU_ASSERT_TRUE_FATAL(thing && sensor && pa && pb && pa < pb);
    json_t *j = call("POST", "/v1.1/MultiDatastreams",
                     md_body("md-one", thing, sensor, pb, pa,
                             ",\"Observations\":[{\"phenomenonTime\":\"2021-03-01T00:00:00Z\","
                             "\"result\":[1.5,true]}]"));
    CU_ASSERT_EQUAL_FATAL(status, 201);
    int64_t md = num(j, "@iot.id");
    char url[300];
    snprintf(url, sizeof url, BASE "/v1.1/MultiDatastreams(%lld)", (long long)md);
    CU_ASSERT_STRING_EQUAL(location, url);
    CU_ASSERT_TRUE(keys_are(j, "@iot.id", "@iot.selfLink", "name", "description",
                            "observationType", "multiObservationDataTypes",
                            "unitOfMeasurements", "properties", "phenomenonTime",
                            "observedArea", "Thing@iot.navigationLink",
                            "Sensor@iot.navigationLink", "ObservedProperties@iot.navigationLink",
                            "Observations@iot.navigationLink", NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "observationType"), MD_COMPLEX);
    json_t *types = json_object_get(j, "multiObservationDataTypes");
    CU_ASSERT_EQUAL(json_array_size(types), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(types, 1)), MD_TRUTH);
    json_t *units = json_object_get(j, "unitOfMeasurements");
    CU_ASSERT_EQUAL(json_array_size(units), 2);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(units, 0), "symbol"), "m");
    CU_ASSERT_TRUE(keys_are(json_array_get(units, 1), "name", "symbol", "definition", NULL));
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2021-03-01T00:00:00Z/2021-03-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(j, "observedArea"), "type"), "Point");
    json_decref(j);
    /* the ObservedProperties in the order given, expanded and navigated */
    char expect[64];
    snprintf(expect, sizeof expect, "%lld,%lld", (long long)pb, (long long)pa);
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)/ObservedProperties", (long long)md);
    j = get(url);
    CU_ASSERT_STRING_EQUAL(ids_of(j), expect);
    json_decref(j);
    snprintf(url, sizeof url,
             "/v1.1/MultiDatastreams(%lld)?$expand=ObservedProperties($select=id,name)",
             (long long)md);
    j = get(url);
    json_t *props = json_object_get(j, "ObservedProperties");
    CU_ASSERT_EQUAL(json_array_size(props), 2);
    CU_ASSERT_EQUAL(num(json_array_get(props, 0), "@iot.id"), pb);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(props, 1), "name"), "md-a");
    json_decref(j);
    /* deep: a Thing with a MultiDatastream with new Sensor and ObservedProperties */
    const char *deep =
        "{\"name\":\"md-deep\",\"description\":\"d\",\"MultiDatastreams\":[{\"name\":\"md-d\","
        "\"description\":\"d\",\"observationType\":\"" MD_COMPLEX "\","
        "\"multiObservationDataTypes\":[\"" MD_MEASURE "\",\"" MD_MEASURE "\"],"
        "\"unitOfMeasurements\":[{\"name\":\"a\",\"symbol\":\"a\",\"definition\":\"a\"},"
        "{\"name\":\"b\",\"symbol\":\"b\",\"definition\":\"b\"}],\"Sensor\":{\"name\":\"ds\","
        "\"description\":\"d\",\"encodingType\":\"text/plain\",\"metadata\":\"m\"},"
        "\"ObservedProperties\":[{\"name\":\"z\",\"definition\":\"urn:z\",\"description\":\"d\"},"
        "{\"name\":\"y\",\"definition\":\"urn:y\",\"description\":\"d\"}]}]}";
    int64_t t2 = post_id("/v1.1/Things", deep);
    CU_ASSERT_TRUE_FATAL(t2 > 0);
    snprintf(url, sizeof url,
             "/v1.1/Things(%lld)/MultiDatastreams?$expand=ObservedProperties($select=name),"
             "Sensor($select=name)&$count=true",
             (long long)t2);
    j = get(url);
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 1);
    json_t *d = json_array_get(json_object_get(j, "value"), 0);
    CU_ASSERT_STRING_EQUAL(str(d, "name"), "md-d");
    CU_ASSERT_STRING_EQUAL(str(json_array_get(json_object_get(d, "ObservedProperties"), 0), "name"),
                           "z");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(d, "Sensor"), "name"), "ds");
    json_decref(j);
    /* refusals: nothing is written */
    int64_t rows = n_datastream_rows(), nprops = tu_int(store, "SELECT count(*) FROM "
                                                              "multi_datastream_properties");
    char bad[1600];
    /* one ObservedProperty for two types and units */
    j = call("POST", "/v1.1/MultiDatastreams", md_body("md-bad", thing, sensor, pa, 0, ""));
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "as many multiObservationDataTypes and unitOfMeasurements as "
                                  "ObservedProperties: 2, 2 and 1 given"));
    json_decref(j);
    snprintf(bad, sizeof bad, "%s", md_body("md-bad", thing, sensor, pa, pb, ""));
    subst(bad, sizeof bad, "OM_ComplexObservation", "OM_Measurement");
    j = call("POST", "/v1.1/MultiDatastreams", bad);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "'observationType' of a MultiDatastream must be " MD_COMPLEX));
    json_decref(j);
    /* one ObservedProperty twice (a minimum and a maximum): two members */
    int64_t dup = post_id("/v1.1/MultiDatastreams", md_body("dup", thing, sensor, pa, pa, ""));
    CU_ASSERT_TRUE_FATAL(dup > 0);
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)/ObservedProperties?$count=true",
             (long long)dup);
    j = get(url);
    snprintf(expect, sizeof expect, "%lld,%lld", (long long)pa, (long long)pa);
    CU_ASSERT_STRING_EQUAL(ids_of(j), expect);
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 2);
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/ObservedProperties(%lld)/MultiDatastreams?$select=id",
             (long long)pa);
    j = get(url);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 2);
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)", (long long)dup);
    json_decref(call("DELETE", url, NULL));
    CU_ASSERT_EQUAL(status, 200);
    snprintf(bad, sizeof bad, "%s", md_body("md-bad", thing, sensor, pa, pb, ""));
    subst(bad, sizeof bad, "\"unitOfMeasurements\":[{", "\"unitOfMeasurements\":[7,{");
    j = call("POST", "/v1.1/MultiDatastreams", bad);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "unitOfMeasurements[0]: 'unitOfMeasurement' must be an "
                                  "object"));
    json_decref(j);
    CU_ASSERT_EQUAL(n_datastream_rows(), rows);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM multi_datastream_properties"), nprops);
    /* Datastreams are not MultiDatastreams, nor the other way */
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)", (long long)md);
    json_decref(get(url));
    CU_ASSERT_EQUAL(status, 404);
    snprintf(url, sizeof url, "/v1.1/Datastreams(%lld)/Observations", (long long)md);
    json_decref(get(url));
    CU_ASSERT_EQUAL(status, 404);
    json_decref(get("/v1.1/MultiDatastreams(1)"));
    CU_ASSERT_EQUAL(status, 404);
    j = get("/v1.1/Datastreams?$count=true&$top=0");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), tu_int(store, "SELECT count(*) FROM datastreams WHERE "
                                                        "multi = 0"));
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Things(%lld)/Datastreams", (long long)thing);
    j = get(url);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 0);
    json_decref(j);
    j = get("/v1.1/MultiDatastreams?$filter=startswith(name,'md-')&$orderby=name%20desc&"
            "$select=name");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 2);
    CU_ASSERT_STRING_EQUAL(str(json_array_get(json_object_get(j, "value"), 0), "name"), "md-one");
    json_decref(j);
}

/* The id of the MultiDatastream named name, 0 when there is none. */
static int64_t md_id(const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT coalesce(max(id), 0) FROM datastreams WHERE multi = 1 AND "
                              "name = '%s'",
             name);
    return tu_int(store, sql);
}

/* Observations of a MultiDatastream: array results of its member count, exactly one of
 * Datastream and MultiDatastream, the navigations both ways, $filter through them. */
static void test_md_observations(void)
{
    int64_t md = md_id("md-one");
    CU_ASSERT_TRUE_FATAL(md > 0);
    char url[300], body[300];
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)/Observations", (long long)md);
    int64_t o2 = post_id(url, "{\"phenomenonTime\":\"2021-03-02T00:00:00Z\",\"result\":[2.5,false]}");
    CU_ASSERT_TRUE_FATAL(o2 > 0);
    static const char *const bad_results[] = {"[1]", "[1,2,3]", "3", "null", "\"[1,2]\""};
    for (size_t k = 0; k < ARRAY_LEN(bad_results); k++) {
        snprintf(body, sizeof body, "{\"result\":%s}", bad_results[k]);
        json_t *j = call("POST", url, body);
        CU_ASSERT_EQUAL(status, 400);
        CU_ASSERT_TRUE(message_has(j, "must be an array of 2 values"));
        json_decref(j);
    }
    snprintf(body, sizeof body,
             "{\"result\":[1,2],\"Datastream\":{\"@iot.id\":1},\"MultiDatastream\":{\"@iot.id\":"
             "%lld}}",
             (long long)md);
    json_t *j = call("POST", "/v1.1/Observations", body);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "not to both"));
    json_decref(j);
    j = call("POST", "/v1.1/Datastreams(1)/Observations",
             "{\"result\":[1,2],\"MultiDatastream\":{\"@iot.id\":1}}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "not to both"));
    json_decref(j);
    j = call("POST", "/v1.1/Observations", "{\"result\":[1,2]}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "'Datastream' or 'MultiDatastream' is required"));
    json_decref(j);
    snprintf(body, sizeof body,
             "{\"phenomenonTime\":\"2021-03-03T00:00:00Z\",\"result\":[3.5,true],"
             "\"MultiDatastream\":{\"@iot.id\":%lld}}",
             (long long)md);
    int64_t o3 = post_id("/v1.1/Observations", body);
    CU_ASSERT_TRUE_FATAL(o3 > 0);
    /* a MultiDatastream is no Datastream to link to */
    snprintf(body, sizeof body, "{\"result\":1,\"Datastream\":{\"@iot.id\":%lld}}", (long long)md);
    j = call("POST", "/v1.1/Observations", body);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "which does not exist"));
    json_decref(j);
    /* read: the array, one of its values, the navigations */
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)", (long long)o2);
    j = get(url);
    CU_ASSERT_TRUE(json_is_array(json_object_get(j, "result")));
    CU_ASSERT_EQUAL(json_is_false(json_array_get(json_object_get(j, "result"), 1)), 1);
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)/result[0]", (long long)o2);
    j = get(url);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_TRUE(keys_are(j, "result[0]", NULL));
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(j, "result[0]")), 2.5, 1e-12);
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)/result[1]/$value", (long long)o2);
    json_decref(get(url));
    CU_ASSERT_STRING_EQUAL(body_text, "false");
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)/result[7]", (long long)o2);
    json_decref(get(url));
    CU_ASSERT_EQUAL(status, 204);
    /* an ObservedProperty joins a MultiDatastream only through the MultiDatastream */
    int64_t p1 = tu_int(store, "SELECT id FROM observed_properties WHERE name = 'md-a'");
    snprintf(url, sizeof url, "/v1.1/ObservedProperties(%lld)", (long long)p1);
    snprintf(body, sizeof body, "{\"MultiDatastreams\":[{\"@iot.id\":%lld}]}", (long long)md);
    j = call("PATCH", url, body);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "by a PATCH of the MultiDatastream's ObservedProperties"));
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)/MultiDatastream", (long long)o2);
    j = get(url);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "@iot.id"), md);
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)/Datastream", (long long)o2);
    json_decref(get(url));
    CU_ASSERT_EQUAL(status, 404);
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)?$expand=Datastream,MultiDatastream("
                              "$select=name)",
             (long long)o2);
    j = get(url);
    CU_ASSERT_TRUE(json_is_null(json_object_get(j, "Datastream")));
    CU_ASSERT_STRING_EQUAL(str(json_object_get(j, "MultiDatastream"), "name"), "md-one");
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)/Observations?$count=true&"
                              "$orderby=phenomenonTime%%20desc&$select=result",
             (long long)md);
    j = get(url);
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 3);
    CU_ASSERT_EQUAL(json_real_value(json_array_get(
                        json_object_get(json_array_get(json_object_get(j, "value"), 0), "result"),
                        0)),
                    3.5);
    json_decref(j);
    int64_t thing = tu_int(store, "SELECT thing_id FROM datastreams WHERE name = 'md-one'");
    int64_t sensor = tu_int(store, "SELECT sensor_id FROM datastreams WHERE name = 'md-one'");
    int64_t pa = tu_int(store, "SELECT id FROM observed_properties WHERE name = 'md-a'");
    const struct {
        const char *fmt;
        int64_t id;
    } navs[] = {{"/v1.1/Things(%lld)/MultiDatastreams", thing},
                {"/v1.1/Sensors(%lld)/MultiDatastreams", sensor},
                {"/v1.1/ObservedProperties(%lld)/MultiDatastreams", pa}};
    for (size_t k = 0; k < ARRAY_LEN(navs); k++) {
        snprintf(url, sizeof url, navs[k].fmt, (long long)navs[k].id);
        j = get(url);
        CU_ASSERT_EQUAL(status, 200);
        CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 1);
        CU_ASSERT_EQUAL(num(json_array_get(json_object_get(j, "value"), 0), "@iot.id"), md);
        json_decref(j);
    }
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)/Thing", (long long)md);
    j = get(url);
    CU_ASSERT_EQUAL(num(j, "@iot.id"), thing);
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Things(%lld)?$expand=MultiDatastreams($select=name;"
                              "$expand=Observations($top=1;$select=result))",
             (long long)thing);
    j = get(url);
    json_t *mds = json_object_get(j, "MultiDatastreams");
    CU_ASSERT_EQUAL(json_array_size(mds), 1);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(mds, 0), "Observations")), 1);
    json_decref(j);
    /* $filter through the navigation, and on the entity's own members */
    j = get("/v1.1/Observations?$filter=MultiDatastream/name%20eq%20'md-one'&$count=true");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 3);
    json_decref(j);
    j = get("/v1.1/Observations?$filter=Datastream/name%20eq%20'md-one'&$count=true");
    CU_ASSERT_EQUAL(num(j, "@iot.count"), 0);
    json_decref(j);
    j = get("/v1.1/MultiDatastreams?$filter=Thing/name%20eq%20'md-thing-1'%20and%20"
            "properties/k%20eq%201&$select=id");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 1);
    json_decref(j);
    j = get("/v1.1/ObservedProperties?$filter=MultiDatastreams/name%20eq%20'md-one'&"
            "$select=name&$orderby=name");
    CU_ASSERT_STRING_EQUAL(str(json_array_get(json_object_get(j, "value"), 0), "name"), "md-a");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "value")), 2);
    json_decref(j);
    j = get("/v1.1/MultiDatastreams?$filter=phenomenonTime%20ge%202021-03-01T00:00:00Z%20and%20"
            "name%20eq%20'md-one'&$resultFormat=CSV&$select=name,multiObservationDataTypes");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "md-one,"));
    json_decref(j);
}

/* PATCH and PUT of a MultiDatastream (the arrays checked, their lengths kept equal) and of
 * its Observations (their results too); JSON Patch. */
static void test_md_update(void)
{
    int64_t md = md_id("md-one");
    char url[200];
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)", (long long)md);
    json_t *j = call("PATCH", url, "{\"name\":\"md-one\",\"description\":\"changed\","
                                   "\"unitOfMeasurements\":[{\"name\":\"km\",\"symbol\":\"km\","
                                   "\"definition\":\"k\"},{\"name\":\"x\"}]}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(str(j, "description"), "changed");
    CU_ASSERT_STRING_EQUAL(str(json_array_get(json_object_get(j, "unitOfMeasurements"), 0),
                               "symbol"),
                           "km");
    json_decref(j);
    static const struct {
        const char *body, *message;
    } refused[] = {
        {"{\"multiObservationDataTypes\":[\"" MD_MEASURE "\"]}",
         "as many multiObservationDataTypes and unitOfMeasurements as ObservedProperties: 1, 2 "
         "and 2 given"},
        {"{\"multiObservationDataTypes\":[]}", "must be a non-empty array"},
        {"{\"multiObservationDataTypes\":null}", "cannot be null"},
        {"{\"observationType\":\"" MD_MEASURE "\"}", "must be " MD_COMPLEX},
        {"{\"ObservedProperties\":[{\"@iot.id\":1}]}", "ObservedProperties: 2, 2 and 1 given"},
        {"{\"Observations\":[{\"@iot.id\":1}]}", "by a PATCH of the Observation"},
    };
    for (size_t k = 0; k < ARRAY_LEN(refused); k++) {
        j = call("PATCH", url, refused[k].body);
        CU_ASSERT_EQUAL(status, 400);
        CU_ASSERT_TRUE(message_has(j, refused[k].message));
        json_decref(j);
    }
    /* three members: the arrays agree, but its Observations have two values each */
    int64_t pa = tu_int(store, "SELECT id FROM observed_properties WHERE name = 'md-a'");
    int64_t pb = tu_int(store, "SELECT id FROM observed_properties WHERE name = 'md-b'");
    char body[300];
    snprintf(body, sizeof body,
             "{\"multiObservationDataTypes\":[\"a\",\"b\",\"c\"],\"unitOfMeasurements\":[{},{},{}],"
             "\"ObservedProperties\":[{\"@iot.id\":%lld},{\"@iot.id\":%lld},{\"@iot.id\":1}]}",
             (long long)pa, (long long)pb);
    j = call("PATCH", url, body);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "its number of ObservedProperties cannot change"));
    json_decref(j);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM multi_datastream_properties WHERE "
                              "datastream_id = %lld",
             (long long)md);
    CU_ASSERT_EQUAL(tu_int(store, sql), 2);
    /* the members in another order (same count) */
    snprintf(body, sizeof body, "{\"ObservedProperties\":[{\"@iot.id\":%lld},{\"@iot.id\":%lld}]}",
             (long long)pa, (long long)pb);
    json_decref(call("PATCH", url, body));
    CU_ASSERT_EQUAL(status, 200);
    snprintf(body, sizeof body, "%s/ObservedProperties", url);
    j = get(body);
    char expect[64];
    snprintf(expect, sizeof expect, "%lld,%lld", (long long)pa, (long long)pb);
    CU_ASSERT_STRING_EQUAL(ids_of(j), expect);
    json_decref(j);
    /* PUT replaces: properties dropped */
    int64_t thing = tu_int(store, "SELECT thing_id FROM datastreams WHERE name = 'md-one'");
    int64_t sensor = tu_int(store, "SELECT sensor_id FROM datastreams WHERE name = 'md-one'");
    char put[1600];
    snprintf(put, sizeof put, "%s", md_body("md-one", thing, sensor, pa, pb, ""));
    subst(put, sizeof put, "\"properties\":{\"k\":1},", "");
    j = call("PUT", url, put);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NULL(json_object_get(j, "properties"));
    CU_ASSERT_STRING_EQUAL(str(j, "description"), "two at once");
    json_decref(j);
    /* JSON Patch */
    req_ctype = "application/json-patch+json";
    j = call("PATCH", url, "[{\"op\":\"replace\",\"path\":\"/multiObservationDataTypes/1\","
                           "\"value\":\"" MD_MEASURE "\"}]");
    req_ctype = NULL;
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
                               json_object_get(j, "multiObservationDataTypes"), 1)),
                           MD_MEASURE);
    json_decref(j);
    /* an Observation's result keeps its length; moving one into it checks the stored one */
    snprintf(body, sizeof body, "/v1.1/MultiDatastreams(%lld)/Observations?$top=1&"
                                "$select=id",
             (long long)md);
    j = get(body);
    int64_t o = num(json_array_get(json_object_get(j, "value"), 0), "@iot.id");
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)", (long long)o);
    j = call("PATCH", url, "{\"result\":[1]}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "must be an array of 2 values"));
    json_decref(j);
    j = call("PATCH", url, "{\"result\":[9,true]}");
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(j, "result"), 0)), 9);
    json_decref(j);
    j = call("PATCH", url, "{\"Datastream\":{\"@iot.id\":1},\"MultiDatastream\":{\"@iot.id\":1}}");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "not to both"));
    json_decref(j);
    static const int days[] = {5};
    int64_t ds = make_series("md-single", days, 1, NULL);
    snprintf(url, sizeof url, "/v1.1/Observations(%lld)", (long long)obs_id(ds, 0));
    snprintf(body, sizeof body, "{\"MultiDatastream\":{\"@iot.id\":%lld}}", (long long)md);
    j = call("PATCH", url, body);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "must be an array of 2 values"));
    json_decref(j);
    json_decref(call("DELETE", url, NULL));
    CU_ASSERT_EQUAL(status, 200);
}

/* CreateObservations for a MultiDatastream (a bad row is that row's error) and its
 * Observations as a dataArray, linked to it. */
static void test_md_data_array(void)
{
    int64_t md = md_id("md-one");
    char body[600], url[200];
    snprintf(body, sizeof body,
             "[{\"MultiDatastream\":{\"@iot.id\":%lld},\"components\":[\"phenomenonTime\","
             "\"result\"],\"dataArray\":[[\"2021-04-01T00:00:00Z\",[10,true]],"
             "[\"2021-04-02T00:00:00Z\",[11]]]}]",
             (long long)md);
    json_t *j = call("POST", "/v1.1/CreateObservations", body);
    CU_ASSERT_EQUAL(status, 201);
    CU_ASSERT_EQUAL(json_array_size(j), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_array_get(j, 0)), "/Observations("));
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_array_get(j, 1)),
                                  "error: [0].dataArray[1]: 'result' of an Observation of "
                                  "MultiDatastream"));
    json_decref(j);
    snprintf(body, sizeof body,
             "[{\"MultiDatastream\":{\"@iot.id\":%lld},\"Datastream\":{\"@iot.id\":1},"
             "\"components\":[\"result\"],\"dataArray\":[[[1,2]]]}]",
             (long long)md);
    j = call("POST", "/v1.1/CreateObservations", body);
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_TRUE(message_has(j, "not to both"));
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)/Observations?$resultFormat=dataArray&"
                              "$select=phenomenonTime,result&$filter=phenomenonTime%%20ge%%20"
                              "2021-04-01T00:00:00Z",
             (long long)md);
    j = get(url);
    CU_ASSERT_EQUAL(status, 200);
    json_t *g = json_array_get(json_object_get(j, "value"), 0);
    char link[200];
    snprintf(link, sizeof link, BASE "/v1.1/MultiDatastreams(%lld)", (long long)md);
    CU_ASSERT_STRING_EQUAL(str(g, "MultiDatastream@iot.navigationLink"), link);
    CU_ASSERT_PTR_NULL(json_object_get(g, "Datastream@iot.navigationLink"));
    json_t *rows = json_object_get(g, "dataArray");
    CU_ASSERT_EQUAL(json_array_size(rows), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_array_get(json_array_get(rows, 0), 1), 0)),
                    10);
    json_decref(j);
    /* Datastreams' groups still say Datastream */
    j = get("/v1.1/Datastreams(1)/Observations?$resultFormat=dataArray&$top=1");
    CU_ASSERT_PTR_NOT_NULL(
        json_object_get(json_array_get(json_object_get(j, "value"), 0), "Datastream@iot.navigationLink"));
    json_decref(j);
}

/* DELETE: Observations by $filter (the summary follows), MultiDatastreams by $filter and one
 * by one (their Observations and members go), and with a member ObservedProperty or their
 * Thing. */
static void test_md_delete(void)
{
    int64_t md = md_id("md-one");
    char url[300], sql[200];
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)/Observations?$filter="
                              "phenomenonTime%%20ge%%202021-04-01T00:00:00Z",
             (long long)md);
    json_t *j = call("DELETE", url, NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 1);
    json_decref(j);
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)", (long long)md);
    j = get(url);
    CU_ASSERT_STRING_EQUAL(str(j, "phenomenonTime"), "2021-03-01T00:00:00Z/2021-03-03T00:00:00Z");
    json_decref(j);
    snprintf(sql, sizeof sql, "SELECT n_obs FROM datastreams WHERE id = %lld", (long long)md);
    CU_ASSERT_EQUAL(tu_int(store, sql), 3);
    /* by $filter: the deep one */
    int64_t deep = md_id("md-d");
    int64_t deep_thing = tu_int(store, "SELECT thing_id FROM datastreams WHERE name = 'md-d'");
    j = call("DELETE", "/v1.1/MultiDatastreams?$filter=name%20eq%20'md-d'", NULL);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(num(j, "deleted"), 1);
    json_decref(j);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM multi_datastream_properties WHERE "
                              "datastream_id = %lld",
             (long long)deep);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    snprintf(url, sizeof url, "/v1.1/Things(%lld)", (long long)deep_thing);
    json_decref(get(url));
    CU_ASSERT_EQUAL(status, 200); /* the Thing stays */
    /* a Datastream filter deletes no MultiDatastream */
    j = call("DELETE", "/v1.1/Datastreams?$filter=name%20eq%20'md-one'", NULL);
    CU_ASSERT_EQUAL(num(j, "deleted"), 0);
    json_decref(j);
    /* one: its Observations and members go, its Thing stays */
    int64_t thing = tu_int(store, "SELECT thing_id FROM datastreams WHERE name = 'md-one'");
    int64_t sensor = tu_int(store, "SELECT sensor_id FROM datastreams WHERE name = 'md-one'");
    int64_t pa = tu_int(store, "SELECT id FROM observed_properties WHERE name = 'md-a'");
    int64_t pb = tu_int(store, "SELECT id FROM observed_properties WHERE name = 'md-b'");
    snprintf(url, sizeof url, "/v1.1/MultiDatastreams(%lld)", (long long)md);
    json_decref(call("DELETE", url, NULL));
    CU_ASSERT_EQUAL(status, 200);
    json_decref(get(url));
    CU_ASSERT_EQUAL(status, 404);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE datastream_id = %lld",
             (long long)md);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM multi_datastream_properties WHERE "
                              "datastream_id = %lld",
             (long long)md);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    /* a member ObservedProperty (the second) takes its MultiDatastreams with it */
    int64_t m2 = post_id("/v1.1/MultiDatastreams", md_body("md-two", thing, sensor, pa, pb, ""));
    CU_ASSERT_TRUE_FATAL(m2 > 0);
    snprintf(url, sizeof url, "/v1.1/ObservedProperties(%lld)", (long long)pb);
    json_decref(call("DELETE", url, NULL));
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(md_id("md-two"), 0);
    /* and so does a Thing */
    int64_t pc = post_id("/v1.1/ObservedProperties", "{\"name\":\"md-c\",\"definition\":"
                                                     "\"urn:c\",\"description\":\"d\"}");
    int64_t m3 = post_id("/v1.1/MultiDatastreams",
                         md_body("md-three", thing, sensor, pa, pc,
                                 ",\"Observations\":[{\"result\":[1,true]}]"));
    CU_ASSERT_TRUE_FATAL(m3 > 0);
    snprintf(url, sizeof url, "/v1.1/Things(%lld)", (long long)thing);
    json_decref(call("DELETE", url, NULL));
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(md_id("md-three"), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE datastream_id = %lld",
             (long long)m3);
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "service root and conformance", test_root);
    CU_add_test(s, "the JSON of each entity type", test_entity_shapes);
    CU_add_test(s, "navigation", test_navigation);
    CU_add_test(s, "properties and $value", test_properties);
    CU_add_test(s, "$ref", test_refs);
    CU_add_test(s, "$expand with its own options", test_expand);
    CU_add_test(s, "$select", test_select);
    CU_add_test(s, "$orderby with several keys", test_orderby);
    CU_add_test(s, "$top, $skip, $count, following @iot.nextLink to the end", test_paging);
    CU_add_test(s, "$count of a series from its summary", test_count_from_summary);
    CU_add_test(s, "$resultFormat=dataArray", test_data_array);
    CU_add_test(s, "aggregation extension", test_aggregate);
    CU_add_test(s, "read errors: status and message", test_read_errors);
    CU_add_test(s, "answers larger than the limit are refused", test_answer_limit);
    CU_add_test(s, "POST with deep insert and links", test_deep_insert);
    CU_add_test(s, "POST errors leave the store as it was", test_create_errors);
    CU_add_test(s, "a Datastream's properties are kept", test_datastream_properties);
    CU_add_test(s, "PATCH and PUT", test_update);
    CU_add_test(s, "DELETE and its cascades", test_delete);
    CU_add_test(s, "CreateObservations (dataArray)", test_create_observations);
    CU_add_test(s, "provenance of writes", test_provenance);
    CU_add_test(s, "a body of another type than JSON: 415", test_body_type);
    CU_add_test(s, "validTime: written, read, filtered, ordered, patched", test_valid_time);
    CU_add_test(s, "a later HistoricalLocation moves its Thing, an earlier one is history",
                test_historical_location_current);
    CU_add_test(s, "a POST creates a new entity, beside any of the same time or name",
                test_creates_are_new);
    CU_add_test(s, "the id of a deleted entity is not given again", test_ids_not_reused);
    CU_add_test(s, "JSON Patch on PATCH: every op, several types, test, read-only members",
                test_json_patch);
    CU_add_test(s, "DELETE of a collection with $filter: counts, summaries, refusals",
                test_delete_filter);
    CU_add_test(s, "DELETE by $filter failing half way leaves everything", test_delete_filter_atomic);
    CU_add_test(s, "$resultFormat=CSV", test_result_csv);
    CU_add_test(s, "$resultFormat=GeoJSON", test_result_geojson);
    CU_add_test(s, "a Datastream's observedArea follows every write", test_observed_area);
    CU_add_test(s, "MultiDatastream: create (direct, deep, members in order), refusals, not a "
                   "Datastream",
                test_md_create);
    CU_add_test(s, "MultiDatastream: Observations with array results, navigations, $filter",
                test_md_observations);
    CU_add_test(s, "MultiDatastream: PATCH, PUT, JSON Patch, results kept in length",
                test_md_update);
    CU_add_test(s, "MultiDatastream: CreateObservations and dataArray", test_md_data_array);
    CU_add_test(s, "MultiDatastream: DELETE, by $filter, with a member or its Thing",
                test_md_delete);
}

int main(void) { return tu_main("sta", add_tests, suite_init, suite_clean); }
