/*
 * test_store.c: the store API through the vtable (src/store.c, src/store_sqlite.c): schema
 * creation and migration, upserts by natural key, locations and their history, bulk
 * observations, transactions, lookups, spatial filters, read-only opening.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static insitu_store *store;
static const char *store_path;

static int suite_init(void)
{
    store = tu_store(&store_path);
    return store ? 0 : -1;
}

static int suite_clean(void)
{
    insitu_store_close(store);
    return 0;
}

static struct store *S(void) { return &store->base; }

/* The newest schema version, which init brings every older store to. */
#define NEWEST_VERSION 7

static void test_init_idempotent(void)
{
    insitu_error err;
    /* PostgreSQL's version 2 adds the SQL functions of the SensorThings filter; SQLite's
     * replaces SpatiaLite's R*Tree triggers; 3 keeps the observations' texts once; 4 the
     * runs' source names */
    int newest = NEWEST_VERSION;
    CU_ASSERT_EQUAL(insitu_store_schema_version(store), newest);
    CU_ASSERT_STRING_EQUAL(insitu_store_backend(store), tu_backend());
    CU_ASSERT_EQUAL(insitu_store_init(store, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(store), newest);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM insitu_meta"), 1);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM spatial_ref_sys WHERE srid = 4326"), 1);
    /* the suite's open created the store; opening it again creates nothing */
    CU_ASSERT_EQUAL(insitu_store_created(store), 1);
    insitu_store *again;
    CU_ASSERT_EQUAL_FATAL(insitu_store_open(store_path, INSITU_OPEN_CREATE, &again, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_created(again), 0);
    insitu_store_close(again);
}

static void test_open_errors(void)
{
    insitu_store *st = NULL;
    insitu_error err;
    CU_ASSERT_EQUAL(insitu_store_open("/nonexistent/dir/x.db", 0, &st, &err), INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/nonexistent/dir/x.db"));
    /* to be created in a folder that does not exist: the folder is named */
    CU_ASSERT_EQUAL(insitu_store_open("/nonexistent/dir/x.db", INSITU_OPEN_CREATE, &st, &err),
                    INSITU_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(err.message, "/nonexistent/dir/x.db: cannot create the store: the "
                                        "folder /nonexistent/dir does not exist");
    CU_ASSERT_EQUAL(insitu_store_open("", 0, &st, &err), INSITU_EUSAGE);
    /* a file that is not a store */
    const char *dir = tu_tmpdir();
    char *path = tu_write(dir, "notes.txt", "not a database at all, just text\n");
    int rc = insitu_store_open(path, 0, &st, &err);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(st);
    free(path);
    /* an empty SQLite file opened without create: not an insitu store */
    char *empty = tu_write(dir, "empty.db", "");
    CU_ASSERT_EQUAL(insitu_store_open(empty, 0, &st, &err), INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not an insitu store"));
    free(empty);
}

static void test_upsert_thing(void)
{
    insitu_error err;
    int64_t a = 0, b = 0, c = 0;
    struct thing_in t = {.ns = "test", .code = "S1", .name = "Station 1",
                         .properties = "{\"k\":1}"};
    CU_ASSERT_EQUAL(store_upsert_thing(S(), &t, &a, &err), 0);
    CU_ASSERT_TRUE(a > 0);
    t.name = "Station one";
    CU_ASSERT_EQUAL(store_upsert_thing(S(), &t, &b, &err), 0);
    CU_ASSERT_EQUAL(a, b);
    char *name = tu_text(store, "SELECT name FROM things WHERE code = 'S1'");
    CU_ASSERT_STRING_EQUAL(name, "Station one");
    free(name);
    t.ns = "other";
    CU_ASSERT_EQUAL(store_upsert_thing(S(), &t, &c, &err), 0);
    CU_ASSERT_NOT_EQUAL(a, c);
}

static void test_upsert_entities(void)
{
    insitu_error err;
    int64_t thing, sensor, prop, prop2, ds, ds2, ds3;
    struct thing_in t = {.ns = "test", .code = "E1"};
    CU_ASSERT_EQUAL_FATAL(store_upsert_thing(S(), &t, &thing, &err), 0);
    struct sensor_in s = {.ns = "test", .code = "gauge"};
    CU_ASSERT_EQUAL_FATAL(store_upsert_sensor(S(), &s, &sensor, &err), 0);
    struct property_in p = {.name = "FC", .definition = "https://w3id.org/ozcar-theia/x"};
    CU_ASSERT_EQUAL_FATAL(store_upsert_property(S(), &p, &prop, &err), 0);
    /* same definition, another name: another property (thesaurus categories are shared) */
    p.name = "LE";
    CU_ASSERT_EQUAL_FATAL(store_upsert_property(S(), &p, &prop2, &err), 0);
    CU_ASSERT_NOT_EQUAL(prop, prop2);
    struct datastream_in d = {.thing_id = thing, .sensor_id = sensor, .property_id = prop,
                              .name = "FC at E1", .unit_symbol = "umol/m2/s"};
    CU_ASSERT_EQUAL(store_upsert_datastream(S(), &d, &ds, &err), 0);
    CU_ASSERT_EQUAL(store_upsert_datastream(S(), &d, &ds2, &err), 0);
    CU_ASSERT_EQUAL(ds, ds2);
    d.qualifier = "depth=10cm";
    CU_ASSERT_EQUAL(store_upsert_datastream(S(), &d, &ds3, &err), 0);
    CU_ASSERT_NOT_EQUAL(ds, ds3);
    /* a datastream must name an existing thing (foreign keys are on) */
    d.thing_id = 999999;
    CU_ASSERT_NOT_EQUAL(store_upsert_datastream(S(), &d, &ds3, &err), 0);
}

static void test_locations(void)
{
    insitu_error err;
    int64_t thing;
    struct thing_in t = {.ns = "test", .code = "MOVER"};
    CU_ASSERT_EQUAL_FATAL(store_upsert_thing(S(), &t, &thing, &err), 0);
    const char *p1 = "{\"type\":\"Point\",\"coordinates\":[1.5,45.25]}";
    const char *p2 = "{\"type\":\"Point\",\"coordinates\":[1.75,45.5,120]}";
    CU_ASSERT_EQUAL(store_thing_location(S(), thing, "MOVER", p1, 1000, &err), 0);
    CU_ASSERT_EQUAL(store_thing_location(S(), thing, "MOVER", p1, 2000, &err), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM historical_locations WHERE thing_id = %lld",
             (long long)thing);
    CU_ASSERT_EQUAL(tu_int(store, sql), 1);
    CU_ASSERT_EQUAL(store_thing_location(S(), thing, "MOVER", p2, 3000, &err), 0);
    CU_ASSERT_EQUAL(tu_int(store, sql), 2);
    snprintf(sql, sizeof sql,
             "SELECT l.location FROM thing_locations tl JOIN locations l ON l.id = "
             "tl.location_id WHERE tl.thing_id = %lld",
             (long long)thing);
    char *current = tu_text(store, sql);
    CU_ASSERT_STRING_EQUAL(current, p2); /* the 3-D GeoJSON is kept as given */
    free(current);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM thing_locations WHERE thing_id = %lld", (long long)thing);
    CU_ASSERT_EQUAL(tu_int(store, sql), 1);
    /* the 2-D geometry is indexed */
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM locations WHERE ST_X(geom) = 1.75 AND "
                                  "ST_Y(geom) = 45.5"),
                    1);
    CU_ASSERT_NOT_EQUAL(store_thing_location(S(), thing, "MOVER", "{\"type\":\"Nope\"}", 4000,
                                             &err),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "GeoJSON"));
}

static int64_t make_datastream(const char *code)
{
    insitu_error err;
    int64_t thing, sensor, prop, ds;
    struct thing_in t = {.ns = "obs", .code = code};
    struct sensor_in s = {.ns = "obs", .code = "s"};
    struct property_in p = {.name = "h", .definition = "urn:x:h"};
    store_upsert_thing(S(), &t, &thing, &err);
    store_upsert_sensor(S(), &s, &sensor, &err);
    store_upsert_property(S(), &p, &prop, &err);
    struct datastream_in d = {.thing_id = thing, .sensor_id = sensor, .property_id = prop};
    store_upsert_datastream(S(), &d, &ds, &err);
    return ds;
}

static void test_put_observations(void)
{
    insitu_error err;
    int64_t ds = make_datastream("OBS1");
    struct obs_row rows[3] = {
        {ds, 1000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 1.5, NULL, "good", NULL, 0},
        {ds, 2000, 3000, INSITU_TIME_NONE, 0, 0, NULL, "missing", "{\"a\":1}", 0},
        {ds, 4000, INSITU_TIME_NONE, 4500, 0, 0, "\"text\"", NULL, NULL, 0}};
    unsigned char outcome[3];
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), rows, 3, 7, outcome, &err), 0);
    CU_ASSERT_EQUAL(outcome[0], OBS_INSERTED);
    CU_ASSERT_EQUAL(outcome[2], OBS_INSERTED);
    rows[0].result = 2.5;
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), rows, 1, 8, outcome, &err), 0);
    CU_ASSERT_EQUAL(outcome[0], OBS_UPDATED);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE datastream_id = %lld",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 3);
    snprintf(sql, sizeof sql,
             "SELECT result * 10 FROM observations WHERE datastream_id = %lld AND "
             "phenomenon_start = 1000",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 25);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM observations_text WHERE datastream_id = %lld AND result IS "
             "NULL AND result_quality = 'missing' AND phenomenon_end = 3000",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 1);
    /* ids are unique and stable across the update */
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(DISTINCT id) - count(*) FROM observations"), 0);
}

/* Observations created as new entities (the SensorThings API) beside ingested ones: a
 * create at a start that is taken takes the next seq; an ingest rewrites its own row (seq 0)
 * and leaves the others; ids are never given twice, a deleted one included. */
static void test_create_observations(void)
{
    insitu_error err;
    int64_t ds = make_datastream("CREATE");
    struct obs_row ingested = {ds, 5000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 1.0, NULL,
                               NULL, NULL, 0};
    unsigned char outcome;
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), &ingested, 1, 11, &outcome, &err), 0);
    CU_ASSERT_EQUAL(outcome, OBS_INSERTED);
    /* two replicates at the ingested start (one an interval), one at a free start */
    struct obs_row created[3] = {
        {ds, 5000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 2.0, NULL, "q", NULL, 0},
        {ds, 5000, 5999, INSITU_TIME_NONE, 1, 3.0, NULL, "q", "{\"n\":1}", 0},
        {ds, 7000, INSITU_TIME_NONE, 7100, 0, 0, "\"text\"", NULL, NULL, 0}};
    int64_t ids[3] = {0, 0, 0};
    CU_ASSERT_EQUAL(store_create_observations(S(), created, 3, 12, ids, &err), 0);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    CU_ASSERT_TRUE(ids[0] > 0 && ids[1] > 0 && ids[2] > 0);
    CU_ASSERT_TRUE(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM observations_text WHERE datastream_id = %lld AND ((seq = 0 AND "
             "phenomenon_start = 5000 AND result = 1 AND run_id = 11) OR (seq = 1 AND id = %lld "
             "AND result = 2 AND result_quality = 'q') OR (seq = 2 AND id = %lld AND "
             "phenomenon_end = 5999 AND parameters = '{\"n\":1}') OR (seq = 0 AND id = %lld AND "
             "phenomenon_start = 7000 AND result_json = '\"text\"' AND result_time = 7100 AND "
             "run_id = 12))",
             (long long)ds, (long long)ids[0], (long long)ids[1], (long long)ids[2]);
    CU_ASSERT_EQUAL(tu_int(store, sql), 4);
    /* a re-ingest rewrites its own row only */
    ingested.result = 9;
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), &ingested, 1, 13, &outcome, &err), 0);
    CU_ASSERT_EQUAL(outcome, OBS_UPDATED);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    snprintf(sql, sizeof sql,
             "SELECT sum(result) FROM observations WHERE datastream_id = %lld AND "
             "phenomenon_start = 5000",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 9 + 2 + 3);
    /* the newest observation deleted: the next one gets a new id */
    int64_t newest = tu_int(store, "SELECT max(id) FROM observations");
    snprintf(sql, sizeof sql, "DELETE FROM observations WHERE id = %lld", (long long)newest);
    CU_ASSERT_EQUAL(st_exec(S(), sql, &err), 0);
    int64_t again = 0;
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL(store_create_observations(S(), created, 1, 14, &again, &err), 0);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    CU_ASSERT_TRUE(again > newest);
    /* ... and by the ingest path */
    snprintf(sql, sizeof sql, "DELETE FROM observations WHERE id = %lld", (long long)again);
    CU_ASSERT_EQUAL(st_exec(S(), sql, &err), 0);
    struct obs_row later = ingested;
    later.phenomenon_start = 8000;
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), &later, 1, 15, &outcome, &err), 0);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    snprintf(sql, sizeof sql,
             "SELECT id FROM observations WHERE datastream_id = %lld AND phenomenon_start = 8000",
             (long long)ds);
    CU_ASSERT_TRUE(tu_int(store, sql) > again);
}

struct racer {
    const char *uri;
    struct obs_row row;
    int64_t id;
    int rc;
};

/* A second writer creating an observation on its own connection. */
static void *race_create(void *arg)
{
    struct racer *r = arg;
    insitu_store *st;
    insitu_error err;
    r->rc = insitu_store_open(r->uri, 0, &st, &err);
    if (r->rc)
        return NULL;
    r->rc = st_begin(&st->base, &err);
    if (!r->rc)
        r->rc = store_create_observations(&st->base, &r->row, 1, 21, &r->id, &err);
    if (!r->rc)
        r->rc = st_commit(&st->base, &err);
    if (r->rc) {
        printf("# the second writer: %s\n", err.message);
        st_rollback(&st->base);
    }
    insitu_store_close(st);
    return NULL;
}

/* Two writers create an observation at one (datastream, start) at the same time: the one
 * that waited for the other's commit takes the next seq (PostgreSQL: its INSERT found the
 * other's row and is tried again; SQLite: it waited for the write lock), and both are
 * kept. */
static void test_concurrent_creates(void)
{
    insitu_error err;
    int64_t ds = make_datastream("RACE");
    struct racer r = {store_path, {ds, 9000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 2.0, NULL,
                                   NULL, NULL, 0},
                      0, -1};
    struct obs_row mine = r.row;
    mine.result = 1.0;
    int64_t id = 0;
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL_FATAL(store_create_observations(S(), &mine, 1, 20, &id, &err), 0);
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, race_create, &r), 0);
    usleep(300 * 1000); /* the other writer is now waiting for this one */
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_TRUE(r.id > 0 && r.id != id);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT sum(seq * 10 + result) FROM observations WHERE datastream_id = %lld AND "
             "phenomenon_start = 9000",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), (0 + 1) + (10 + 2));
}

/* A count of the rows of ds that the condition selects. */
static int64_t count_of(int64_t ds, const char *table, const char *cond)
{
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE datastream_id = %lld AND %s", table,
             (long long)ds, cond);
    return tu_int(store, sql);
}

/* An observation's quality and parameters texts are kept once in obs_texts when they
 * repeat, and in the row when they do not; a text first kept in a transaction (or a source
 * of a group) that rolls back is forgotten with it, and kept again by the next one. */
static void test_observation_texts(void)
{
    insitu_error err;
    int64_t ds = make_datastream("TEXTS");
    /* two rows with one quality text: kept once, both rows refer to it; no parameters */
    struct obs_row two[2] = {{.quality = "kept once"}, {.quality = "kept once"}};
    const int64_t *ids = NULL;
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL_FATAL(store_text_ids(S(), two, 2, &ids, &err), 0);
    CU_ASSERT_TRUE(ids[0] > 0 && ids[0] == ids[2]);
    CU_ASSERT_TRUE(ids[1] == 0 && ids[3] == 0);
    st_rollback(S());
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM obs_texts WHERE text = 'kept once'"), 0);
    /* in a batch: "repeated" twice, {"n":1} twice but not in a row; "once" and {"n":2} */
    struct obs_row r[3] = {
        {ds, 1000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 1.5, NULL, "repeated", "{\"n\":1}", 0},
        {ds, 2000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 2.5, NULL, "repeated", "{\"n\":2}", 0},
        {ds, 3000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 3.5, NULL, "once", "{\"n\":1}", 0}};
    unsigned char outcome[3];
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), r, 3, 1, outcome, &err), 0);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    CU_ASSERT_EQUAL(count_of(ds, "observations", "quality_id IS NOT NULL AND result_quality IS "
                                                 "NULL AND phenomenon_start < 3000"),
                    2);
    CU_ASSERT_EQUAL(count_of(ds, "observations", "phenomenon_start = 3000 AND quality_id IS "
                                                 "NULL AND result_quality = 'once'"),
                    1);
    CU_ASSERT_EQUAL(count_of(ds, "observations", "parameters_id IS NOT NULL"), 1);
    CU_ASSERT_EQUAL(count_of(ds, "observations_text",
                             "(phenomenon_start = 1000 AND result_quality = 'repeated' AND "
                             "parameters = '{\"n\":1}') OR (phenomenon_start = 2000 AND "
                             "result_quality = 'repeated' AND parameters = '{\"n\":2}') OR "
                             "(phenomenon_start = 3000 AND result_quality = 'once' AND "
                             "parameters = '{\"n\":1}')"),
                    3);
    /* in a group: the second source's new text goes with it, the first's stays */
    int group = st_group_begin(S(), &err);
    CU_ASSERT_TRUE(group >= 0);
    const char *quality[3] = {"first source", "rolled back", "rolled back"};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 2; i++) {
            r[i].phenomenon_start = 10000 * (k + 1) + i;
            r[i].quality = quality[k];
            r[i].parameters = NULL;
        }
        CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
        CU_ASSERT_EQUAL(S()->ops->put_observations(S(), r, 2, 2 + k, outcome, &err), 0);
        if (k == 1)
            st_rollback(S());
        else
            CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    }
    if (group)
        CU_ASSERT_EQUAL(st_group_commit(S(), &err), 0);
    CU_ASSERT_EQUAL(count_of(ds, "observations", "phenomenon_start >= 10000 AND quality_id IS "
                                                 "NOT NULL"),
                    4);
    CU_ASSERT_EQUAL(count_of(ds, "observations_text",
                             "(phenomenon_start IN (10000, 10001) AND result_quality = "
                             "'first source') OR (phenomenon_start IN (30000, 30001) AND "
                             "result_quality = 'rolled back')"),
                    4);
    CU_ASSERT_EQUAL(count_of(ds, "observations", "phenomenon_start IN (20000, 20001)"), 0);
    /* texts read by id: a rolled-back text's id, given again to another text (SQLite reuses
     * it), reads as the new text */
    const char *text;
    two[0].quality = two[1].quality = "gone";
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL_FATAL(store_text_ids(S(), two, 2, &ids, &err), 0);
    CU_ASSERT_EQUAL(store_text_of(S(), ids[0], &text, &err), 0);
    CU_ASSERT_STRING_EQUAL(text, "gone");
    st_rollback(S());
    two[0].quality = two[1].quality = "here";
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    CU_ASSERT_EQUAL_FATAL(store_text_ids(S(), two, 2, &ids, &err), 0);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    CU_ASSERT_EQUAL(store_text_of(S(), ids[0], &text, &err), 0);
    CU_ASSERT_STRING_EQUAL(text, "here");
    CU_ASSERT_EQUAL(store_text_of(S(), 0, &text, &err), 0);
    CU_ASSERT_PTR_NULL(text);
}

/* The backend's append path (PostgreSQL: COPY straight into a partition a bulk transaction
 * made and attaches at the end): rows are visible to reads inside the transaction, mix
 * with the merge path, and vanish with a rollback. */
static void test_append_observations(void)
{
    if (!S()->ops->append_observations) {
        CU_PASS("the backend has no append path");
        return;
    }
    insitu_error err;
    int64_t ds = make_datastream("APPEND");
    /* 1901 and 1902: years no other test writes, so their partitions are new here */
    int64_t y1901 = -2177452800000000LL, y1902 = -2145916800000000LL;
    struct obs_row rows[3] = {
        {ds, y1901, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 1.5, NULL, "good", NULL, 0},
        {ds, y1901 + 1000000, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 2.5, NULL, NULL, NULL, 0},
        {ds, y1902, INSITU_TIME_NONE, 77, 1, 3.5, NULL, NULL, "{\"p\":1}", 0}};
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE datastream_id = %lld",
             (long long)ds);
    /* rolled back: nothing stays, and the year can be filled again */
    CU_ASSERT_EQUAL_FATAL(st_begin_bulk(S(), &err), 0);
    CU_ASSERT_EQUAL(S()->ops->append_observations(S(), rows, 3, 5, &err), 0);
    st_rollback(S());
    CU_ASSERT_EQUAL(tu_int(store, sql), 0);
    CU_ASSERT_EQUAL_FATAL(st_begin_bulk(S(), &err), 0);
    CU_ASSERT_EQUAL(S()->ops->append_observations(S(), rows, 2, 5, &err), 0);
    /* a read inside the transaction sees them */
    CU_ASSERT_EQUAL(tu_int(store, sql), 2);
    CU_ASSERT_EQUAL(S()->ops->append_observations(S(), rows + 2, 1, 5, &err), 0);
    /* the merge path after the append path, on the same keys */
    unsigned char outcome[1];
    struct obs_row again = rows[0];
    again.result = 9.5;
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), &again, 1, 6, outcome, &err), 0);
    CU_ASSERT_EQUAL(outcome[0], OBS_UPDATED);
    CU_ASSERT_EQUAL(st_commit(S(), &err), 0);
    CU_ASSERT_EQUAL(tu_int(store, sql), 3);
    snprintf(sql, sizeof sql,
             "SELECT sum(result * 10) FROM observations WHERE datastream_id = %lld",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 95 + 25 + 35);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM observations_text WHERE datastream_id = %lld AND result_time = "
             "77 "
             "AND parameters = '{\"p\":1}' AND run_id = 5 AND result_quality IS NULL",
             (long long)ds);
    CU_ASSERT_EQUAL(tu_int(store, sql), 1);
    /* a key appended twice is an error, and the transaction changes nothing */
    CU_ASSERT_EQUAL_FATAL(st_begin_bulk(S(), &err), 0);
    int rc = S()->ops->append_observations(S(), rows, 1, 7, &err);
    if (!rc)
        rc = st_commit(S(), &err);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    if (rc)
        st_rollback(S());
    CU_ASSERT_EQUAL(tu_int(store, sql), 1);
}

static void test_rollback(void)
{
    insitu_error err;
    int64_t before = tu_int(store, "SELECT count(*) FROM observations");
    int64_t things = tu_int(store, "SELECT count(*) FROM things");
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    int64_t ds = make_datastream("ROLLBACK");
    struct obs_row r = {ds, 1, INSITU_TIME_NONE, INSITU_TIME_NONE, 1, 1, NULL, NULL, NULL, 0};
    unsigned char outcome;
    CU_ASSERT_EQUAL(S()->ops->put_observations(S(), &r, 1, 9, &outcome, &err), 0);
    st_rollback(S());
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations"), before);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM things"), things);
}

static void test_find_thing(void)
{
    insitu_error err;
    int64_t id, a, b;
    struct thing_in t1 = {.ns = "n1", .code = "SAME"}, t2 = {.ns = "n2", .code = "SAME"};
    struct thing_in t3 = {.ns = "n1", .code = "12345678"};
    store_upsert_thing(S(), &t1, &a, &err);
    store_upsert_thing(S(), &t2, &b, &err);
    store_upsert_thing(S(), &t3, &id, &err);
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", (long long)a);
    int64_t found = 0;
    CU_ASSERT_EQUAL(store_find_thing(S(), idtext, &found, &err), 0);
    CU_ASSERT_EQUAL(found, a);
    /* a numeric code that is not an id (a SWOT reach id) is found by code */
    CU_ASSERT_EQUAL(store_find_thing(S(), "12345678", &found, &err), 0);
    CU_ASSERT_EQUAL(found, id);
    CU_ASSERT_EQUAL(store_find_thing(S(), "SAME", &found, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "several"));
    CU_ASSERT_EQUAL(store_find_thing(S(), "NOPE", &found, &err), INSITU_ENOTFOUND);
}

static void test_bbox_dialect(void)
{
    insitu_error err;
    int64_t thing;
    struct thing_in t = {.ns = "geo", .code = "IN_BOX"};
    store_upsert_thing(S(), &t, &thing, &err);
    store_thing_location(S(), thing, "IN_BOX", "{\"type\":\"Point\",\"coordinates\":[10,20]}", 0,
                         &err);
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT count(*) FROM locations l WHERE ");
    dialect_bbox_sql(S()->dialect, &sql, "l", "locations");
    /* the last box is the point itself: a flat box still finds it (PostGIS's flat
     * ST_MakeEnvelope polygon intersects nothing) */
    double boxes[5][4] = {{9, 19, 11, 21}, {11, 19, 12, 21}, {-180, -90, 180, 90},
                          {10, 19, 10, 21}, {10, 20, 10, 20}};
    int64_t expected[5] = {1, 0, -1, 1, 1};
    for (int b = 0; b < 5; b++) {
        struct stmt *s;
        CU_ASSERT_EQUAL_FATAL(st_prepare(S(), sql.data, &s, &err), 0);
        int idx = 1;
        dialect_bbox_bind(S()->dialect, s, &idx, boxes[b]);
        CU_ASSERT_EQUAL(st_step(s, &err), 1);
        int64_t want =
            expected[b] >= 0 ? expected[b] : tu_int(store, "SELECT count(*) FROM locations");
        CU_ASSERT_EQUAL(st_col_int64(s, 0), want);
        st_finalize(s);
    }
    sb_free(&sql);
}

static void test_readonly(void)
{
    insitu_store *ro;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(insitu_store_open(store_path, INSITU_OPEN_READONLY, &ro, &err), 0);
    int64_t id;
    struct thing_in t = {.ns = "ro", .code = "X"};
    CU_ASSERT_NOT_EQUAL(store_upsert_thing(&ro->base, &t, &id, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_init(ro, &err), INSITU_EUSAGE);
    insitu_store_close(ro);
}

/* A writer behind another that keeps the write lock past INSITU_BUSY_TIMEOUT fails with
 * INSITU_EBUSY and a message naming the store and the setting; a timeout that is not a count
 * of milliseconds is refused when the store is opened. */
static void test_busy_named(void)
{
    insitu_error err = {0};
    insitu_store *other;
    setenv("INSITU_BUSY_TIMEOUT", "soon", 1);
    CU_ASSERT_EQUAL(insitu_store_open(S()->uri, 0, &other, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "INSITU_BUSY_TIMEOUT=soon: expected milliseconds"));
    setenv("INSITU_BUSY_TIMEOUT", "50", 1);
    int rc = insitu_store_open(S()->uri, 0, &other, &err);
    unsetenv("INSITU_BUSY_TIMEOUT");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(st_begin(S(), &err), 0);
    double t0 = now_seconds();
    CU_ASSERT_EQUAL(st_begin(&other->base, &err), INSITU_EBUSY);
    CU_ASSERT_TRUE(now_seconds() - t0 < 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, S()->uri));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "store busy"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "INSITU_BUSY_TIMEOUT"));
    st_rollback(S());
    CU_ASSERT_EQUAL(st_begin(&other->base, &err), 0); /* free again */
    st_rollback(&other->base);
    insitu_store_close(other);
}

/* A store that cannot grow (SQLite's max_page_count stands for a full disk): the ingest
 * fails with INSITU_EIO saying "disk full" and naming the store, and leaves the store's
 * observations as they were. */
static void test_disk_full(void)
{
    insitu_error err = {0};
    const char *dir = tu_tmpdir();
    struct strbuf csv = {0};
    sb_puts(&csv, "time,value\n");
    for (int i = 0; i < 20000; i++)
        sb_printf(&csv, "2001-01-01T00:00:00Z,%d\n", i); /* one time: replaced, not grown */
    for (int i = 0; i < 20000; i++)
        sb_printf(&csv, "%04d-02-03T04:05:06Z,%d\n", 2002 + i % 7000, i);
    char *path = tu_write(dir, "growing.csv", sb_str(&csv));
    sb_free(&csv);
    int64_t before = tu_int(store, "SELECT count(*) FROM observations");
    int64_t pages = tu_int(store, "PRAGMA page_count");
    CU_ASSERT_EQUAL(tu_int(store, "PRAGMA max_page_count = 0") > 0, 1);
    char sql[80];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages + 8);
    CU_ASSERT_EQUAL(tu_int(store, sql), pages + 8);
    insitu_ingest_report rep;
    CU_ASSERT_EQUAL(tu_ingest(store, path, NULL, &rep, &err), INSITU_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "disk full"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, S()->uri));
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM observations"), before);
    CU_ASSERT_EQUAL(tu_int(store, "PRAGMA max_page_count = 1073741823") > pages, 1);
    CU_ASSERT_EQUAL(tu_ingest(store, path, NULL, &rep, &err), 0);
    CU_ASSERT_TRUE(tu_int(store, "SELECT count(*) FROM observations") > before);
    free(path);
}

/* SQLite: the backup is a store of its own holding what the store holds, and never goes
 * over an existing file; PostgreSQL: refused, pointing to pg_dump and pg_basebackup. */
static void test_backup(void)
{
    insitu_error err = {0};
    char dest[4096];
    snprintf(dest, sizeof dest, "%s/copy.db", tu_tmpdir());
    int rc = insitu_store_backup(store, dest, &err);
    if (strcmp(tu_backend(), "postgresql") == 0) {
        CU_ASSERT_EQUAL(rc, INSITU_EUNSUPPORTED);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "pg_dump"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "pg_basebackup"));
        CU_ASSERT_EQUAL(access(dest, F_OK), -1);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    insitu_store *copy;
    CU_ASSERT_EQUAL_FATAL(insitu_store_open(dest, INSITU_OPEN_READONLY, &copy, &err), 0);
    const char *counts = "SELECT (SELECT count(*) FROM things) * 1000000 + (SELECT count(*) "
                         "FROM observations)";
    CU_ASSERT_EQUAL(tu_int(copy, counts), tu_int(store, counts));
    CU_ASSERT_EQUAL(tu_int(copy, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                 "integrity_check = 'ok'"),
                    1);
    insitu_store_close(copy);
    CU_ASSERT_EQUAL(insitu_store_backup(store, dest, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "exists"));
}

/* A deadline stops a long statement with INSITU_ELIMIT; without one, statements run to
 * their end again. */
static void test_deadline(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(S()->ops->set_deadline);
    insitu_error err = {0};
    int64_t n = 0;
    const char *slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
                       "1000000000) SELECT count(*) FROM c";
    double t0 = now_seconds();
    S()->ops->set_deadline(S(), (int64_t)((t0 + 0.05) * 1e6));
    CU_ASSERT_EQUAL(st_query_int64(S(), slow, &n, &err, NULL), INSITU_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "the request took longer than its time limit"));
    CU_ASSERT_TRUE(now_seconds() - t0 < 10);
    /* past the deadline, a statement does not start */
    S()->ops->set_deadline(S(), (int64_t)((now_seconds() - 1) * 1e6));
    CU_ASSERT_EQUAL(st_query_int64(S(), "SELECT 1", &n, &err, NULL), INSITU_ELIMIT);
    /* the limit removed: a statement longer than it was runs to its end */
    S()->ops->set_deadline(S(), 0);
    n = 0;
    t0 = now_seconds();
    CU_ASSERT_EQUAL(st_query_int64(S(), "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                        "FROM c WHERE x < 400000) SELECT count(*) FROM c",
                                   &n, &err, NULL),
                    0);
    CU_ASSERT_EQUAL(n, 400000);
    if (now_seconds() - t0 < 0.05)
        printf("# the unlimited statement took less than the old limit: not conclusive\n");
}

static void test_migration_from_older(void)
{
    /* a store whose recorded version is older than the code's gets the newer sections */
    insitu_error err;
    const char *path;
    insitu_store *st = tu_store(&path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(st_exec(&st->base, "UPDATE insitu_meta SET value = '0'", &err), 0);
    CU_ASSERT_EQUAL(st_exec(&st->base, "DROP TABLE run_datastreams", &err), 0);
    insitu_store_close(st);
    /* version 0 means 'not an insitu store' unless created: open with CREATE migrates; the
     * re-run of section 1 fails on existing tables and is rolled back whole */
    int rc = insitu_store_open(path, INSITU_OPEN_CREATE, &st, &err);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "migration"));
}

/* A new store as insitu made it at schema version `version` (the schema's sections up to
 * it); its URI in *path (borrowed) when path is not NULL. */
static insitu_store *older_store(int version, const char **path)
{
    store_schema_upto = version;
    insitu_store *st = tu_store(path);
    store_schema_upto = 0;
    return st;
}

/* A store of version 2 gets version 3 from init: its rows keep their texts (nothing is
 * rewritten), read back the same through observations_text and SensorThings; new rows
 * may refer to obs_texts. */
static void test_migration_to_3(void)
{
    insitu_error err;
    insitu_store *st = older_store(2, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM insitu_meta WHERE value = '2'"), 1);
    CU_ASSERT_EQUAL_FATAL(st_begin(&st->base, &err), 0);
    int64_t times[] = {10, 20};
    if (st->base.ops->reserve_times) /* PostgreSQL's partition of 1970 */
        CU_ASSERT_EQUAL_FATAL(st->base.ops->reserve_times(&st->base, times, 2, &err), 0);
    CU_ASSERT_EQUAL_FATAL(
        st_exec(&st->base,
                "INSERT INTO observations (datastream_id, phenomenon_start, id, result, "
                "result_quality, parameters, run_id) VALUES "
                "(1, 10, 1, 1.5, 'good', '{\"cycle\":7}', 3), "
                "(1, 20, 2, NULL, 'missing', '{\"cycle\":7}', 3), "
                "(2, 10, 3, 2.5, 'good', NULL, 4), (2, 20, 4, 3.5, NULL, NULL, 4)",
                &err),
        0);
    CU_ASSERT_EQUAL_FATAL(st_commit(&st->base, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_init(st, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), NEWEST_VERSION);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM obs_texts"), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE quality_id IS NOT NULL "
                               "OR parameters_id IS NOT NULL"),
                    0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text WHERE (datastream_id = 1 "
                               "AND phenomenon_start = 10 AND id = 1 AND result = 1.5 AND "
                               "result_quality = 'good' AND parameters = '{\"cycle\":7}' AND "
                               "run_id = 3) OR (datastream_id = 1 "
                               "AND phenomenon_start = 20 AND result IS NULL AND result_quality = "
                               "'missing' AND parameters = '{\"cycle\":7}') OR (datastream_id = 2 "
                               "AND phenomenon_start = 20 AND result = 3.5 AND result_quality IS "
                               "NULL AND parameters IS NULL) OR (datastream_id = 2 AND "
                               "phenomenon_start = 10 AND result_quality = 'good' AND parameters "
                               "IS NULL)"),
                    4);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE id = 4 AND quality_id IS "
                               "NULL AND parameters_id IS NULL"),
                    1);
    insitu_store_close(st);
}

/* A store of version 3 gets version 4 from init: its runs keep their rows, and do not say
 * whether their source's name mattered (NULL). */
static void test_migration_to_4(void)
{
    insitu_error err;
    insitu_store *st = older_store(3, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), 3);
    CU_ASSERT_EQUAL_FATAL(st_exec(&st->base,
                                  "INSERT INTO ingest_runs (source, source_key, ingester, "
                                  "checksum, status, started) VALUES ('a.csv', '/d/a.csv', "
                                  "'csv', 'abc', 'complete', 1)",
                                  &err),
                          0);
    CU_ASSERT_EQUAL(insitu_store_init(st, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), NEWEST_VERSION);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM ingest_runs WHERE source = 'a.csv' AND "
                               "status = 'complete' AND source_name IS NULL"),
                    1);
    insitu_store_close(st);
}

/* Rows of every entity of a version 4 store, written by SQL as that version's insitu wrote
 * them (its upserts would not run on it), their ids from 1 in a new store. Locations and
 * features go through the store: the geometry functions are the backend's. */
static int fill_v4(insitu_store *st, insitu_error *err)
{
    struct store *b = &st->base;
    static const char *const rows[] = {
        "INSERT INTO things (namespace, code, name) VALUES ('v4', 'A', 'a'), ('v4', 'B', 'b')",
        "INSERT INTO sensors (namespace, code, name) VALUES ('v4', 's', 's')",
        "INSERT INTO observed_properties (name, definition, description) VALUES "
        "('h', 'urn:h', 'stage')",
        "INSERT INTO datastreams (thing_id, sensor_id, observed_property_id, name, n_obs, "
        "phenomenon_start, phenomenon_end) VALUES (1, 1, 1, 'd', 2, 10, 20), "
        "(2, 1, 1, 'e', 0, NULL, NULL)",
        "INSERT INTO observations (datastream_id, phenomenon_start, id, result, run_id) VALUES "
        "(1, 10, 1, 1.5, 1), (1, 20, 2, 2.5, 1)",
        NULL};
    int rc = st_begin(b, err);
    int64_t times[] = {10, 20};
    if (!rc && b->ops->reserve_times)
        rc = b->ops->reserve_times(b, times, 2, err);
    for (int i = 0; !rc && rows[i]; i++)
        rc = st_exec(b, rows[i], err);
    if (!rc)
        rc = store_thing_location(b, 1, "here",
                                  "{\"type\":\"Point\",\"coordinates\":[10.5,20.5]}", 5, err);
    int64_t fid;
    struct feature_in f = {.key = "f1", .name = "there",
                           .geojson = "{\"type\":\"Point\",\"coordinates\":[-3.5,40.5]}"};
    if (!rc)
        rc = store_upsert_feature(b, &f, &fid, err);
    if (!rc)
        rc = st_commit(b, err);
    else
        st_rollback(b);
    return rc;
}

/* 1 when the table has the column (a query of it runs), 0 when not. */
static int has_column(insitu_store *st, const char *table, const char *column)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE 1 = 0", column, table);
    struct stmt *s;
    insitu_error err;
    int yes = st_prepare(&st->base, sql, &s, &err) == 0;
    if (yes) {
        yes = st_step(s, &err) == 0;
        st_finalize(s);
    }
    return yes;
}

/* The count of the rows of table (locations, features) that the bbox finds through the
 * dialect's filter (the spatial index), -1 on error. */
static int64_t in_box(insitu_store *st, const char *table, const double bbox[4])
{
    struct strbuf sql = {0};
    sb_printf(&sql, "SELECT count(*) FROM %s e WHERE ", table);
    dialect_bbox_sql(st->base.dialect, &sql, "e", table);
    struct stmt *s;
    insitu_error err;
    int64_t n = -1;
    if (st_prepare(&st->base, sql.data, &s, &err) == 0) {
        int idx = 1;
        dialect_bbox_bind(st->base.dialect, s, &idx, bbox);
        if (st_step(s, &err) == 1)
            n = st_col_int64(s, 0);
        st_finalize(s);
    }
    sb_free(&sql);
    return n;
}

/* A store of version 4 gets version 5 from init (issue 15): its rows keep their ids,
 * ingested observations get seq 0 and properties key '', the spatial indexes find the
 * geometries, foreign keys hold, and an id deleted from then on is not given again. A store
 * older than the code is refused until it is migrated. */
static void test_migration_to_5(void)
{
    insitu_error err;
    const char *path;
    insitu_store *st = older_store(4, &path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL_FATAL(fill_v4(st, &err), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), 2);
    /* version 4 had no seq (and, on SQLite, things reused ids) */
    CU_ASSERT_FALSE(has_column(st, "observations", "seq"));
    CU_ASSERT_FALSE(has_column(st, "observed_properties", "key"));
    char uri[600];
    snprintf(uri, sizeof uri, "%s", path);
    insitu_store_close(st);
    CU_ASSERT_EQUAL(insitu_store_open(uri, 0, &st, &err), INSITU_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "the store has schema version 4, this insitu "
                                               "needs 7: migrate it with 'insitu --store "));
    CU_ASSERT_EQUAL_FATAL(insitu_store_open(uri, INSITU_OPEN_CREATE, &st, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), NEWEST_VERSION);
    CU_ASSERT_TRUE(has_column(st, "observations", "seq"));
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things WHERE (id = 1 AND code = 'A') OR "
                               "(id = 2 AND code = 'B')"),
                    2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observed_properties WHERE id = 1 AND key = "
                               "'' AND description = 'stage'"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE id = 1 AND n_obs = 2"), 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text WHERE datastream_id = 1 "
                               "AND seq = 0 AND ((id = 1 AND phenomenon_start = 10 AND result = "
                               "1.5) OR (id = 2 AND phenomenon_start = 20 AND result = 2.5))"),
                    2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM thing_locations WHERE thing_id = 1"), 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM historical_locations WHERE thing_id = 1"), 1);
    double here[4] = {10, 20, 11, 21}, there[4] = {-4, 40, -3, 41}, none[4] = {0, 0, 1, 1};
    CU_ASSERT_EQUAL(in_box(st, "locations", here), 1);
    CU_ASSERT_EQUAL(in_box(st, "features", there), 1);
    CU_ASSERT_EQUAL(in_box(st, "locations", none), 0);
    /* new geometries are indexed too */
    CU_ASSERT_EQUAL(store_thing_location(&st->base, 2, "new",
                                         "{\"type\":\"Point\",\"coordinates\":[0.5,0.5]}", 6,
                                         &err),
                    0);
    CU_ASSERT_EQUAL(in_box(st, "locations", none), 1);
    /* foreign keys are enforced again */
    CU_ASSERT_EQUAL(st_exec(&st->base,
                            "INSERT INTO datastreams (thing_id, sensor_id, observed_property_id, "
                            "name) VALUES (999, 1, 1, 'orphan')",
                            &err),
                    INSITU_ECONFLICT);
    /* the newest Thing deleted: the next one gets a new id */
    CU_ASSERT_EQUAL(st_exec(&st->base, "DELETE FROM datastreams WHERE thing_id = 2", &err), 0);
    CU_ASSERT_EQUAL(st_exec(&st->base, "DELETE FROM things WHERE id = 2", &err), 0);
    struct thing_in t = {.ns = "v5", .code = "C", .name = "c"};
    int64_t id = 0;
    CU_ASSERT_EQUAL(store_upsert_thing(&st->base, &t, &id, &err), 0);
    CU_ASSERT_EQUAL(id, 3);
    insitu_store_close(st);
}

/* A store of version 5 gets version 6 from init (issue 15): each Datastream's observedArea
 * (datastreams.area_*), filled from the features of its observations, NULL without any. */
static void test_migration_to_6(void)
{
    insitu_error err;
    const char *path;
    insitu_store *st = older_store(5, &path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL_FATAL(fill_v4(st, &err), 0);
    CU_ASSERT_EQUAL(st_exec(&st->base, "UPDATE observations SET feature_id = 1", &err), 0);
    CU_ASSERT_FALSE(has_column(st, "datastreams", "area_xmin"));
    char uri[600];
    snprintf(uri, sizeof uri, "%s", path);
    insitu_store_close(st);
    CU_ASSERT_EQUAL_FATAL(insitu_store_open(uri, INSITU_OPEN_CREATE, &st, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), NEWEST_VERSION);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE id = 1 AND area_xmin = "
                               "-3.5 AND area_xmax = -3.5 AND area_ymin = 40.5 AND area_ymax = "
                               "40.5"),
                    1);
    char *geojson = tu_text(st, "SELECT observed_area FROM datastreams WHERE id = 1");
    CU_ASSERT_PTR_NOT_NULL(geojson);
    CU_ASSERT_PTR_NOT_NULL(geojson ? strstr(geojson, "\"Point\"") : NULL);
    free(geojson);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE id = 2 AND area_xmin IS "
                               "NULL AND observed_area IS NULL"),
                    1);
    insitu_store_close(st);
}

/* A store of version 6 gets version 7 from init (issue 15, MultiDatastream): its
 * Datastreams stay Datastreams (multi = 0, no arrays), the table of a MultiDatastream's
 * ObservedProperties is there and empty, and a MultiDatastream row can be added beside them. */
static void test_migration_to_7(void)
{
    insitu_error err;
    const char *path;
    insitu_store *st = older_store(6, &path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL_FATAL(fill_v4(st, &err), 0);
    CU_ASSERT_FALSE(has_column(st, "datastreams", "multi"));
    char uri[600];
    snprintf(uri, sizeof uri, "%s", path);
    insitu_store_close(st);
    CU_ASSERT_EQUAL(insitu_store_open(uri, 0, &st, &err), INSITU_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "the store has schema version 6, this insitu "
                                               "needs 7"));
    CU_ASSERT_EQUAL_FATAL(insitu_store_open(uri, INSITU_OPEN_CREATE, &st, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), NEWEST_VERSION);
    CU_ASSERT_TRUE(has_column(st, "datastreams", "multi_types"));
    CU_ASSERT_TRUE(has_column(st, "datastreams", "unit_json"));
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE multi = 0 AND "
                               "multi_types IS NULL AND unit_json IS NULL AND n_obs = 2 AND "
                               "id = 1"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE multi <> 0"), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM multi_datastream_properties"), 0);
    CU_ASSERT_EQUAL(st_exec(&st->base,
                            "INSERT INTO datastreams (thing_id, sensor_id, observed_property_id, "
                            "qualifier, name, multi, multi_types, unit_json) VALUES (1, 1, 1, "
                            "'sta-md:x', 'm', 1, '[\"t\"]', '[{}]')",
                            &err),
                    0);
    CU_ASSERT_EQUAL(st_exec(&st->base,
                            "INSERT INTO multi_datastream_properties (datastream_id, position, "
                            "observed_property_id) SELECT id, 0, 1 FROM datastreams WHERE "
                            "multi = 1",
                            &err),
                    0);
    /* a MultiDatastream's members go with it */
    CU_ASSERT_EQUAL(st_exec(&st->base, "DELETE FROM datastreams WHERE multi = 1", &err), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM multi_datastream_properties"), 0);
    insitu_store_close(st);
}

/* A PostgreSQL store of version 1 (made before the SensorThings functions) gets version 2
 * from init, and its data stays. */
static void test_migration_to_2(void)
{
    insitu_error err;
    insitu_store *st = older_store(1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'insitu_%'"), 0);
    CU_ASSERT_EQUAL(st_exec(&st->base,
                            "INSERT INTO things (namespace, code, name) VALUES ('v1', 'KEPT', "
                            "'kept')",
                            &err),
                    0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), 1);
    CU_ASSERT_EQUAL(insitu_store_init(st, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), NEWEST_VERSION);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT insitu_time_part(951825600000000, 0) * 10000 + "
                               "insitu_time_part(951825600000000, 1) * 100 + "
                               "insitu_time_part(951825600000000, 2)"),
                    20000229);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things WHERE code = 'KEPT'"), 1);
    insitu_store_close(st);
}

/* A SQLite store of version 1 (SpatiaLite's R*Tree triggers, which compile an INSERT per
 * row) gets version 2 from init: its data kept, and triggers that index new geometries. */
static void test_sqlite_migration_to_2(void)
{
    insitu_error err;
    insitu_store *st = older_store(1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(st_exec(&st->base,
                            "INSERT INTO things (namespace, code, name) VALUES ('v1', 'KEPT', "
                            "'kept')",
                            &err),
                    0);
    int64_t thing = tu_int(st, "SELECT id FROM things WHERE code = 'KEPT'");
    /* version 1's triggers are SpatiaLite's */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                               "name = 'gii_locations_geom' AND sql LIKE '%RTreeAlign%'"),
                    1);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), 1);
    CU_ASSERT_EQUAL(insitu_store_init(st, &err), 0);
    CU_ASSERT_EQUAL(insitu_store_schema_version(st), NEWEST_VERSION);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things WHERE code = 'KEPT'"), 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                               "sql LIKE '%RTreeAlign%'"),
                    0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                               "name IN ('gii_locations_geom', 'giu_locations_geom', "
                               "'gii_features_geom', 'giu_features_geom')"),
                    4);
    /* a new Location and a new Feature are in the spatial indexes, their boxes around them */
    CU_ASSERT_EQUAL(store_thing_location(&st->base, thing, "here",
                                         "{\"type\":\"LineString\",\"coordinates\":"
                                         "[[1.5,43.25],[1.75,43.5]]}",
                                         1000000, &err),
                    0);
    struct feature_in f = {.name = "there",
                           .geojson = "{\"type\":\"Point\",\"coordinates\":[-0.1,51.5]}"};
    int64_t fid;
    CU_ASSERT_EQUAL(store_upsert_feature(&st->base, &f, &fid, &err), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM idx_locations_geom WHERE xmin <= 1.5 AND "
                               "xmax >= 1.75 AND ymin <= 43.25 AND ymax >= 43.5 AND "
                               "xmax - xmin < 0.26"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM idx_features_geom WHERE xmin <= -0.1 AND "
                               "xmax >= -0.1 AND ymin <= 51.5 AND ymax >= 51.5"),
                    1);
    /* a moved geometry moves its box */
    CU_ASSERT_EQUAL(st_exec(&st->base,
                            "UPDATE features SET geom = MakePoint(10.0, 20.0, 4326)", &err),
                    0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM idx_features_geom WHERE xmin <= 10 AND "
                               "xmax >= 10 AND ymin <= 20 AND ymax >= 20"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM idx_features_geom"), 1);
    insitu_store_close(st);
}

/* The values bound to a statement must match its placeholders, or it does not run: a
 * parameter left out (it would silently be NULL), one out of range, one bound twice (the
 * first value would be lost) or one bound while the statement runs is INSITU_ESTORE, with
 * the parameter and the statement named. */
static void test_bind_check(void)
{
    insitu_error err = {0};
    struct stmt *s;
    CU_ASSERT_EQUAL_FATAL(st_prepare(S(), "SELECT CAST(? AS INTEGER) + 1, ?", &s, &err), 0);
    CU_ASSERT_EQUAL(st_param_count(s), 2);
    /* one of two */
    CU_ASSERT_EQUAL(st_bind_int64(s, 1, 41), 0);
    CU_ASSERT_EQUAL(st_step(s, &err), INSITU_ESTORE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "bound values do not match the statement: "
                                               "parameter 2 of 2 not bound (1 bound): SELECT "
                                               "CAST("));
    /* out of range */
    st_reset(s);
    CU_ASSERT_EQUAL(st_bind_int64(s, 1, 41), 0);
    CU_ASSERT_EQUAL(st_bind_text(s, 2, "x"), 0);
    CU_ASSERT_EQUAL(st_bind_text(s, 3, "y"), INSITU_EINVAL);
    CU_ASSERT_EQUAL(st_step(s, &err), INSITU_ESTORE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "parameter 3 of 2 bound out of range"));
    CU_ASSERT_EQUAL(st_bind_null(s, 0), INSITU_EINVAL);
    /* twice */
    st_reset(s);
    CU_ASSERT_EQUAL(st_bind_int64(s, 1, 41), 0);
    CU_ASSERT_EQUAL(st_bind_text(s, 1, "41"), INSITU_EINVAL);
    CU_ASSERT_EQUAL(st_bind_text(s, 2, "x"), 0);
    CU_ASSERT_EQUAL(st_step(s, &err), INSITU_ESTORE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "parameter 1 of 2 bound twice (first as an "
                                               "integer)"));
    /* all bound: it runs; bound again while it runs: it stops */
    st_reset(s);
    CU_ASSERT_EQUAL(st_bind_int64(s, 1, 41), 0);
    CU_ASSERT_EQUAL(st_bind_null(s, 2), 0);
    CU_ASSERT_EQUAL(st_step(s, &err), 1);
    CU_ASSERT_EQUAL(st_col_int64(s, 0), 42);
    CU_ASSERT_TRUE(st_col_is_null(s, 1));
    CU_ASSERT_EQUAL(st_bind_int64(s, 1, 1), INSITU_EINVAL);
    CU_ASSERT_EQUAL(st_step(s, &err), INSITU_ESTORE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "parameter 1 of 2 bound while the statement ran"));
    /* a reset makes it whole again */
    st_reset(s);
    CU_ASSERT_EQUAL(st_bind_int64(s, 1, 1), 0);
    CU_ASSERT_EQUAL(st_bind_text(s, 2, "y"), 0);
    CU_ASSERT_EQUAL(st_step(s, &err), 1);
    CU_ASSERT_EQUAL(st_col_int64(s, 0), 2);
    CU_ASSERT_STRING_EQUAL(st_col_text(s, 1), "y");
    st_finalize(s);
    /* a '?' in a string literal is not a placeholder, on either backend */
    CU_ASSERT_EQUAL_FATAL(st_prepare(S(), "SELECT '?' || ?", &s, &err), 0);
    CU_ASSERT_EQUAL(st_param_count(s), 1);
    st_finalize(s);
    /* the helpers: one value short */
    int64_t n = 0;
    CU_ASSERT_EQUAL(st_query_int64(S(), "SELECT count(*) FROM things WHERE namespace = ? AND "
                                        "code = ?",
                                   &n, &err, "test", NULL),
                    INSITU_ESTORE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "parameter 2 of 2 not bound"));
    /* a statement prepared once per connection is checked again after each reset */
    CU_ASSERT_EQUAL_FATAL(st_prepare_cached(S(), SLOT_FIND_THING_ID,
                                            "SELECT id FROM things WHERE id = ?", &s, &err),
                          0);
    CU_ASSERT_EQUAL(st_step(s, &err), INSITU_ESTORE);
    st_finalize(s);
    CU_ASSERT_EQUAL_FATAL(st_prepare_cached(S(), SLOT_FIND_THING_ID,
                                            "SELECT id FROM things WHERE id = ?", &s, &err),
                          0);
    CU_ASSERT_EQUAL(st_bind_int64(s, 1, -5), 0);
    CU_ASSERT_EQUAL(st_step(s, &err), 0);
    st_finalize(s);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "init is idempotent and versioned", test_init_idempotent);
    if (strcmp(tu_backend(), "sqlite") == 0) /* file paths */
        CU_add_test(s, "open errors name the store", test_open_errors);
    CU_add_test(s, "bound values must match the placeholders", test_bind_check);
    CU_add_test(s, "things upsert by (namespace, code)", test_upsert_thing);
    CU_add_test(s, "sensors, properties, datastreams upsert by natural key", test_upsert_entities);
    CU_add_test(s, "locations, history and spatial index", test_locations);
    CU_add_test(s, "bulk observations insert then update", test_put_observations);
    CU_add_test(s, "observations created beside ingested ones; ids never given twice",
                test_create_observations);
    CU_add_test(s, "two writers create at one time: both kept", test_concurrent_creates);
    CU_add_test(s, "observation texts kept once; a rollback forgets its own",
                test_observation_texts);
    CU_add_test(s, "append path: visible in its transaction, undone by rollback", test_append_observations);
    CU_add_test(s, "rollback leaves no trace", test_rollback);
    CU_add_test(s, "find a thing by id, code or name", test_find_thing);
    CU_add_test(s, "bbox filter of the dialect", test_bbox_dialect);
    CU_add_test(s, "read-only stores refuse writes", test_readonly);
    CU_add_test(s, "a failed migration changes nothing", test_migration_from_older);
    CU_add_test(s, "a deadline stops statements (INSITU_ELIMIT)", test_deadline);
    if (strcmp(tu_backend(), "sqlite") == 0) { /* the lock and the file are SQLite's */
        CU_add_test(s, "a busy store is named, with its setting", test_busy_named);
        CU_add_test(s, "a full disk is named and changes nothing", test_disk_full);
    }
    CU_add_test(s, "backup: a copy, or how to make one", test_backup);
    CU_add_test(s, "version 2 migrates to 3 (texts kept once)", test_migration_to_3);
    CU_add_test(s, "version 3 migrates to 4 (the runs' source names)", test_migration_to_4);
    CU_add_test(s, "version 4 migrates to 5 (keys of API creates, ids never given twice)",
                test_migration_to_5);
    CU_add_test(s, "version 5 migrates to 6 (a Datastream's observedArea)", test_migration_to_6);
    CU_add_test(s, "version 6 migrates to 7 (MultiDatastreams)", test_migration_to_7);
    if (strcmp(tu_backend(), "postgresql") == 0)
        CU_add_test(s, "version 1 migrates (the filter's functions)", test_migration_to_2);
    else
        CU_add_test(s, "version 1 migrates (R*Tree triggers without RTreeAlign)",
                    test_sqlite_migration_to_2);
}

int main(void) { return tu_main("store", add_tests, suite_init, suite_clean); }
