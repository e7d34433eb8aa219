/*
 * write.c: the SensorThings API write side: POST with deep insert and links, PATCH and
 * PUT, DELETE with the cascades of OGC 18-088, and the dataArray CreateObservations action.
 * Every request is one transaction; observations go through the ingest batch writer, so the
 * datastream summaries and provenance (one ingest run per service) stay right. It never
 * pastes request text into SQL.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cpl_error.h>
#include <jansson.h>
#include <ogr_api.h>
#include <openssl/rand.h>

#include "ingest.h"
#include "jsonutil.h"
#include "patch.h"
#include "timeutil.h"

/* What one write request carries along. */
struct wx {
    struct sta_conn *c;
    struct store *st;
    insitu_error *err;
    const char *user;
    int64_t run_id;
    struct batch_writer *bw;
    struct strbuf where; /* JSON path of the value being read: "Datastreams[0].Sensor" */
    uint64_t n_things, n_deleted, n_obs;
    struct {
        int64_t ds, feature;
    } auto_foi[16];      /* FeatureOfInterest made from a Thing's Location, per datastream */
    int n_auto;
    /* The validTime of each observation queued (INSITU_TIME_NONE: none), written once the
     * batch is (write_valid_times): the batch writer keeps no validTime. */
    struct pending_valid {
        size_t k; /* the observation's position in the writer (bw_created_id) */
        int64_t ds, start, v0, v1;
    } *valid;
    size_t n_valid, cap_valid;
    /* The entities other than Observations this request created (told after the commit:
     * sta_config.on_change); the Observations are those of valid[]. */
    struct made {
        enum sta_type type;
        int64_t id;
    } *made;
    size_t n_made, cap_made;
    int64_t md_ds, md_n; /* the last MultiDatastream asked of md_members, its member count */
};

/* A parent that a new entity is created under (deep insert, or a navigation URL). */
struct parent {
    enum sta_type type;
    int64_t id;
};

static int fail(struct wx *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct wx *w, int code, const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->where.len)
        return insitu_error_set(w->err, code, "%s: %s", sb_str(&w->where), msg);
    return insitu_error_set(w->err, code, "%s", msg);
}

static size_t where_push(struct wx *w, const char *key, int index)
{
    size_t mark = w->where.len;
    if (index >= 0)
        sb_printf(&w->where, "%s%s[%d]", mark ? "." : "", key, index);
    else
        sb_printf(&w->where, "%s%s", mark ? "." : "", key);
    return mark;
}

static void where_pop(struct wx *w, size_t mark)
{
    w->where.len = mark;
    if (w->where.data)
        w->where.data[mark] = '\0';
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

/* A new unique key for entities created through the API: "sta:" + 128 random bits. */
static void new_key(char out[40])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        /* no entropy source: the time and a counter are unique within this process */
        static int64_t counter;
        int64_t t = wall_us();
        memcpy(b, &t, 8);
        int64_t k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) ^ (int64_t)getpid();
        memcpy(b + 8, &k, 8);
    }
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sta:", 4);
    for (int i = 0; i < 16; i++) {
        out[4 + 2 * i] = hex[b[i] >> 4];
        out[5 + 2 * i] = hex[b[i] & 15];
    }
    out[36] = '\0';
}

/* ==== statements ==== */

/* The number of its arguments (1 to 24): run() counts the values it is given, so that the
 * SQL's placeholders, the type letters and the values are checked against each other. */
#define N_ARGS(...)                                                                          \
    N_ARGS_(__VA_ARGS__, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, \
            6, 5, 4, 3, 2, 1, 0)
#define N_ARGS_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,  \
                a18, a19, a20, a21, a22, a23, a24, n, ...)                                   \
    n
/* run(w, sql, id, types, values...) */
#define run(w, sql, id, ...) run_values(w, sql, id, N_ARGS(__VA_ARGS__) - 1, __VA_ARGS__)

/* Runs sql with the given parameters (a printf-like list: 'i' int64, 't' text (NULL binds
 * NULL), 'd' double, 'T' time (INSITU_TIME_NONE is NULL)), one letter per placeholder and one value per letter
 * (n_values, counted by the run() macro below): a list of another length is an error,
 * before anything is bound; *id receives the first column of the first row when not NULL
 * (0 when there is no row). */
static int run_values(struct wx *w, const char *sql, int64_t *id, int n_values,
                      const char *types, ...)
{
    struct stmt *s;
    int rc = sta_prepare(w->c, sql, &s, w->err);
    if (rc)
        return rc;
    if ((int)strlen(types) != st_param_count(s) || n_values != st_param_count(s)) {
        rc = insitu_error_set(w->err, INSITU_ESTORE,
                              "sta_write: %d values, types \"%s\", for the %d placeholders "
                              "of: %.300s",
                              n_values, types, st_param_count(s), sql);
        sta_release(w->c, s);
        return rc;
    }
    va_list ap;
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        switch (types[i]) {
        case 'i': st_bind_int64(s, i + 1, va_arg(ap, int64_t)); break;
        case 'T': st_bind_time(s, i + 1, va_arg(ap, int64_t)); break;
        case 't': st_bind_text(s, i + 1, va_arg(ap, const char *)); break;
        case 'd': st_bind_double(s, i + 1, va_arg(ap, double)); break;
        default: /* left unbound: st_step refuses the statement */
            (void)va_arg(ap, void *);
            break;
        }
    }
    va_end(ap);
    rc = st_step(s, w->err);
    if (id)
        *id = rc == 1 && !st_col_is_null(s, 0) ? st_col_int64(s, 0) : 0;
    while (rc == 1)
        rc = st_step(s, w->err);
    sta_release(w->c, s);
    return rc < 0 ? rc : 0;
}

static int exists(struct wx *w, enum sta_type t, int64_t id, int *yes)
{
    char sql[128];
    struct strbuf where = {0};
    sta_where_sql(&where, t, "e");
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s e WHERE e.id = ?%s", sta_type_def(t)->table,
             sb_str(&where));
    sb_free(&where);
    int64_t one;
    int rc = run(w, sql, &one, "i", id);
    *yes = one == 1;
    return rc;
}

/* The entity the request targets, which must exist: 0, or INSITU_ENOTFOUND saying so. */
static int target_exists(struct wx *w, const struct sta_target *t)
{
    int yes = 0;
    int rc = exists(w, t->type, t->id, &yes);
    if (!rc && !yes)
        rc = insitu_error_set(w->err, INSITU_ENOTFOUND, "%s(%lld): no such entity",
                              sta_type_def(t->type)->set, (long long)t->id);
    return rc;
}

/* ==== provenance ==== */

/* Finds the run of this service (by its source and version), or makes it. */
static int find_or_make_run(struct wx *w)
{
    struct sta_service *svc = w->c->svc;
    struct strbuf key = {0}, version = {0};
    sb_printf(&key, "sta:%s", svc->source);
    int64_t started = svc->started;
    char iso[48];
    sb_printf(&version, "%s#%ld", time_format_iso(started, iso, sizeof iso), (long)getpid());
    int rc = run(w,
                 "SELECT id FROM ingest_runs WHERE source_key = ? AND source_version = ? AND "
                 "ingester = 'sta' ORDER BY id LIMIT 1",
                 &w->run_id, "tt", sb_str(&key), sb_str(&version));
    if (!rc && !w->run_id) {
        struct strbuf settings = {0};
        if (w->user)
            sb_printf(&settings, "user=%s", w->user);
        rc = run(w,
                 "INSERT INTO ingest_runs (source, source_key, source_version, ingester, "
                 "status, started, message, settings) VALUES (?, ?, ?, 'sta', 'running', ?, "
                 "'writes through the SensorThings API', ?) RETURNING id",
                 &w->run_id, "tttit", svc->source, sb_str(&key), sb_str(&version), started,
                 sb_str(&settings));
        sb_free(&settings);
    }
    sb_free(&key);
    sb_free(&version);
    return rc;
}

/* The ingest run of this service's writes. The first write makes it in a transaction of its
 * own, under the service's lock: concurrent first writes on several connections then share
 * one run (each would make its own where transactions see only what was committed before
 * they read, as on PostgreSQL). Called outside the request's transaction. */
static int api_run(struct wx *w)
{
    struct sta_service *svc = w->c->svc;
    pthread_mutex_lock(&svc->lock);
    int rc = 0;
    if (!svc->run_id) {
        rc = st_begin(w->st, w->err);
        if (!rc)
            rc = find_or_make_run(w);
        if (!rc)
            rc = st_commit(w->st, w->err);
        if (rc)
            st_rollback(w->st);
        else
            svc->run_id = w->run_id;
    }
    w->run_id = svc->run_id;
    pthread_mutex_unlock(&svc->lock);
    return rc;
}

void sta_service_free(struct sta_service *svc, insitu_store *st)
{
    if (!svc)
        return;
    if (svc->run_id && st) {
        insitu_error err;
        struct store *s = &st->base;
        if (st_begin(s, &err) == 0) {
            struct stmt *u;
            int rc = st_prepare(s,
                                "UPDATE ingest_runs SET status = 'complete', finished = ? "
                                "WHERE id = ?",
                                &u, &err);
            if (!rc) {
                st_bind_int64(u, 1, wall_us());
                st_bind_int64(u, 2, svc->run_id);
                rc = st_step(u, &err) < 0;
                st_finalize(u);
            }
            if (rc)
                st_rollback(s);
            else
                st_commit(s, &err);
        }
    }
    pthread_mutex_destroy(&svc->lock);
    free(svc->source);
    free(svc);
}

/* ==== reading JSON bodies ==== */

/* The value of key in o as text: NULL when absent or null; an error when not a string. */
static int get_str(struct wx *w, json_t *o, const char *key, int required, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(w, INSITU_EINVAL, "'%s' is required", key);
        return 0;
    }
    if (!json_is_string(v))
        return fail(w, INSITU_EINVAL, "'%s' must be a string", key);
    *out = json_string_value(v);
    return 0;
}

/* A JSON object member as compact text (caller frees); NULL when absent or null. */
static int get_object_text(struct wx *w, json_t *o, const char *key, int required, char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(w, INSITU_EINVAL, "'%s' is required", key);
        return 0;
    }
    if (!json_is_object(v))
        return fail(w, INSITU_EINVAL, "'%s' must be a JSON object", key);
    *out = json_text(v);
    return *out ? 0 : fail(w, INSITU_ENOMEM, "out of memory");
}

/* Any JSON value kept as text: a string bare, anything else as JSON. */
static char *any_text(json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

static int get_time(struct wx *w, json_t *o, const char *key, int64_t *start, int64_t *end,
                    int interval_ok)
{
    json_t *v = json_object_get(o, key);
    *start = *end = INSITU_TIME_NONE;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(w, INSITU_EINVAL, "'%s' must be an ISO 8601 time string", key);
    const char *s = json_string_value(v);
    insitu_error terr = {0};
    if (interval_parse(s, strlen(s), start, end, &terr))
        return fail(w, INSITU_EINVAL, "'%s': %s", key, terr.message);
    if (*end != INSITU_TIME_NONE && !interval_ok)
        return fail(w, INSITU_EINVAL, "'%s' must be an instant, not an interval", key);
    if (*end != INSITU_TIME_NONE && *end < *start)
        return fail(w, INSITU_EINVAL, "'%s': the interval ends before it starts", key);
    return 0;
}

/* The GeoJSON geometry of a location or feature value (a Feature's geometry), as text. */
static int geometry_text(struct wx *w, json_t *loc, const char *key, char **out)
{
    *out = NULL;
    json_t *g = loc;
    if (json_is_object(g) && json_is_string(json_object_get(g, "type")) &&
        strcmp(json_string_value(json_object_get(g, "type")), "Feature") == 0)
        g = json_object_get(g, "geometry");
    if (!json_is_object(g) || !json_is_string(json_object_get(g, "type")))
        return fail(w, INSITU_EINVAL, "'%s' must be a GeoJSON geometry or Feature", key);
    *out = json_dumps(g, JSON_COMPACT);
    if (!*out)
        return fail(w, INSITU_ENOMEM, "out of memory");
    /* checked here, not by the database: SpatiaLite answers NULL where PostGIS raises an
     * error, and the message should be the same on both (the handler is per thread) */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    OGRGeometryH geom = OGR_G_CreateGeometryFromJson(*out);
    CPLPopErrorHandler();
    if (!geom) {
        free(*out);
        *out = NULL;
        return fail(w, INSITU_EINVAL, "'%s' is not a valid GeoJSON geometry", key);
    }
    OGR_G_DestroyGeometry(geom);
    return 0;
}

static int check_encoding(struct wx *w, const char *enc)
{
    if (enc && (strcmp(enc, "application/geo+json") == 0 ||
                strcmp(enc, "application/vnd.geo+json") == 0 ||
                strcmp(enc, "application/geojson") == 0))
        return 0;
    return fail(w, INSITU_EINVAL, "encodingType '%.60s': only GeoJSON (application/geo+json) "
                                  "is supported",
                enc ? enc : "");
}

/* Rejects members that are neither properties nor navigation properties of t. */
static int check_members(struct wx *w, json_t *o, enum sta_type t)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        (void)v;
        size_t n = strlen(key);
        if (sta_prop_find(t, key, n) || sta_nav_find(t, key, n) || strcmp(key, "@iot.selfLink") == 0 ||
            (n > 20 && strcmp(key + n - 20, "@iot.navigationLink") == 0))
            continue;
        return fail(w, INSITU_EINVAL, "%s has no property '%.60s'", sta_type_def(t)->name, key);
    }
    return 0;
}

/* 1 and *id when v is a link to an existing entity ({"@iot.id": 5}); 0 when v describes a
 * new entity; an error when it links to nothing. */
static int link_of(struct wx *w, json_t *v, enum sta_type t, int64_t *id)
{
    json_t *idv = json_object_get(v, "@iot.id");
    if (!idv)
        idv = json_object_get(v, "id");
    if (!idv)
        return 0;
    int64_t x = 0;
    if (json_is_integer(idv))
        x = json_integer_value(idv);
    else if (!json_is_string(idv) ||
             parse_int64(json_string_value(idv), strlen(json_string_value(idv)), &x))
        return fail(w, INSITU_EINVAL, "@iot.id must be an integer");
    int yes;
    int rc = exists(w, t, x, &yes);
    if (rc)
        return rc;
    if (!yes)
        return fail(w, INSITU_EINVAL, "links to %s(%lld), which does not exist",
                    sta_type_def(t)->set, (long long)x);
    *id = x;
    return 1;
}

/* ==== creating entities ==== */

static int create(struct wx *w, enum sta_type t, json_t *o, const struct parent *p, int64_t *id);

/* Links or creates the to-one entity under member key; *id 0 when absent. */
static int one(struct wx *w, json_t *o, const char *key, enum sta_type t, int required,
               int64_t *id)
{
    json_t *v = json_object_get(o, key);
    *id = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(w, INSITU_EINVAL, "'%s' is required (a link {\"@iot.id\": id} or a "
                                          "new %s)",
                        key, sta_type_def(t)->name);
        return 0;
    }
    size_t mark = where_push(w, key, -1);
    int rc;
    if (!json_is_object(v))
        rc = fail(w, INSITU_EINVAL, "must be an object");
    else if ((rc = link_of(w, v, t, id)) == 0)
        rc = create(w, t, v, NULL, id);
    else if (rc == 1)
        rc = 0;
    where_pop(w, mark);
    return rc;
}

/* For each element of array member key: link (an existing id) or create under parent p;
 * calls back with each id. */
typedef int (*each_fn)(struct wx *w, int64_t id, int created, void *ctx);

static int many(struct wx *w, json_t *o, const char *key, enum sta_type t,
                const struct parent *p, each_fn cb, void *ctx)
{
    json_t *arr = json_object_get(o, key);
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return fail(w, INSITU_EINVAL, "'%s' must be an array", key);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        size_t mark = where_push(w, key, (int)i);
        int64_t id = 0;
        int rc, created = 0;
        if (!json_is_object(v)) {
            rc = fail(w, INSITU_EINVAL, "must be an object");
        } else if ((rc = link_of(w, v, t, &id)) == 0) {
            created = 1;
            rc = create(w, t, v, p, &id);
        } else if (rc == 1) {
            rc = 0;
        }
        if (!rc && cb)
            rc = cb(w, id, created, ctx);
        where_pop(w, mark);
        if (rc)
            return rc;
    }
    return 0;
}

/* A Thing's current Locations become locs, and a HistoricalLocation records it. */
static int thing_set_locations(struct wx *w, int64_t thing, const int64_t *locs, size_t n)
{
    int rc = run(w, "DELETE FROM thing_locations WHERE thing_id = ?", NULL, "i", thing);
    for (size_t i = 0; !rc && i < n; i++)
        rc = run(w, "INSERT INTO thing_locations (thing_id, location_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                 NULL, "ii", thing, locs[i]);
    int64_t hl = 0;
    if (!rc && n)
        rc = run(w, "INSERT INTO historical_locations (thing_id, time) VALUES (?, ?) "
                    "RETURNING id",
                 &hl, "ii", thing, w->c->now_us);
    for (size_t i = 0; !rc && hl && i < n; i++)
        rc = run(w, "INSERT INTO historical_location_locations (historical_location_id, "
                    "location_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                 NULL, "ii", hl, locs[i]);
    return rc;
}

struct idlist {
    int64_t *ids;
    size_t n, cap;
};

static int collect_id(struct wx *w, int64_t id, int created, void *ctx)
{
    (void)created;
    struct idlist *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        int64_t *p = realloc(l->ids, cap * sizeof *p);
        if (!p)
            return fail(w, INSITU_ENOMEM, "out of memory");
        l->ids = p;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return 0;
}

/* Moves an existing child to the new parent (a link in a to-many member). */
static int relink(struct wx *w, const char *table, const char *fk, int64_t child, int64_t parent)
{
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = ? WHERE id = ?", table, fk);
    return run(w, sql, NULL, "ii", parent, child);
}

static int relink_datastream_thing(struct wx *w, int64_t id, int created, void *ctx)
{
    return created ? 0 : relink(w, "datastreams", "thing_id", id, *(int64_t *)ctx);
}
static int relink_datastream_sensor(struct wx *w, int64_t id, int created, void *ctx)
{
    return created ? 0 : relink(w, "datastreams", "sensor_id", id, *(int64_t *)ctx);
}
static int relink_datastream_property(struct wx *w, int64_t id, int created, void *ctx)
{
    return created ? 0 : relink(w, "datastreams", "observed_property_id", id, *(int64_t *)ctx);
}
static int relink_hloc_thing(struct wx *w, int64_t id, int created, void *ctx)
{
    return created ? 0 : relink(w, "historical_locations", "thing_id", id, *(int64_t *)ctx);
}

static int link_hloc_location(struct wx *w, int64_t hl, int64_t loc)
{
    return run(w, "INSERT INTO historical_location_locations (historical_location_id, "
                  "location_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
               NULL, "ii", hl, loc);
}

static int hloc_location_cb(struct wx *w, int64_t loc, int created, void *ctx)
{
    (void)created;
    return link_hloc_location(w, *(int64_t *)ctx, loc);
}

static int location_hloc_cb(struct wx *w, int64_t hl, int created, void *ctx)
{
    (void)created;
    return link_hloc_location(w, hl, *(int64_t *)ctx);
}

static int location_thing_cb(struct wx *w, int64_t thing, int created, void *ctx)
{
    /* a Thing made here took this Location, with its HistoricalLocation, as it was made */
    return created ? 0 : thing_set_locations(w, thing, (int64_t *)ctx, 1);
}

static int create_thing(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    const char *name, *desc;
    char *props = NULL, key[40];
    int rc = get_str(w, o, "name", 1, &name);
    if (!rc)
        rc = get_str(w, o, "description", 1, &desc);
    if (!rc)
        rc = get_object_text(w, o, "properties", 0, &props);
    if (rc)
        return rc;
    new_key(key);
    rc = run(w,
             "INSERT INTO things (namespace, code, name, description, properties) VALUES "
             "('sta', ?, ?, ?, ?) RETURNING id",
             id, "tttt", key + 4, name, desc, props);
    free(props);
    if (rc)
        return rc;
    w->n_things++;
    struct parent me = {STA_THING, *id};
    struct idlist locs = {0};
    rc = many(w, o, "Locations", STA_LOCATION, NULL, collect_id, &locs);
    if (!rc && p && p->type == STA_LOCATION)
        rc = collect_id(w, p->id, 0, &locs);
    if (!rc && locs.n)
        rc = thing_set_locations(w, *id, locs.ids, locs.n);
    free(locs.ids);
    if (!rc)
        rc = many(w, o, "Datastreams", STA_DATASTREAM, &me, relink_datastream_thing, id);
    if (!rc)
        rc = many(w, o, "MultiDatastreams", STA_MDS, &me, relink_datastream_thing, id);
    if (!rc)
        rc = many(w, o, "HistoricalLocations", STA_HLOC, &me, relink_hloc_thing, id);
    return rc;
}

/* Inserts a row of locations or features with its geometry. */
static int insert_geo(struct wx *w, const char *table, const char *geocol, const char *key,
                      const char *name, const char *desc, const char *enc, const char *text,
                      const char *geometry, const char *props, int64_t *id)
{
    struct strbuf sql = {0};
    sb_printf(&sql,
              "INSERT INTO %s (key, name, description, encoding_type, %s, properties, geom) "
              "SELECT ?, ?, ?, ?, ?, ?, g FROM (SELECT %s AS g) AS parsed WHERE g IS NOT NULL "
              "RETURNING id",
              table, geocol, w->st->dialect->geom_from_geojson);
    int rc = run(w, sb_str(&sql), id, "ttttttt", key, name, desc, enc, text, props, geometry);
    sb_free(&sql);
    if (!rc && !*id)
        rc = fail(w, INSITU_EINVAL, "'%s' is not a valid GeoJSON geometry", geocol);
    return rc;
}

/* name, description, encodingType, <geo member>, properties of a Location or Feature. */
static int create_geo(struct wx *w, json_t *o, const char *table, const char *member,
                      const char *key, int64_t *id)
{
    const char *name, *desc, *enc;
    char *props = NULL, *text = NULL, *geometry = NULL;
    int rc = get_str(w, o, "name", 1, &name);
    if (!rc)
        rc = get_str(w, o, "description", 1, &desc);
    if (!rc)
        rc = get_str(w, o, "encodingType", 1, &enc);
    if (!rc)
        rc = check_encoding(w, enc);
    if (!rc)
        rc = get_object_text(w, o, "properties", 0, &props);
    json_t *g = json_object_get(o, member);
    if (!rc && (!g || json_is_null(g)))
        rc = fail(w, INSITU_EINVAL, "'%s' is required", member);
    if (!rc)
        rc = geometry_text(w, g, member, &geometry);
    if (!rc && !(text = json_dumps(g, JSON_COMPACT)))
        rc = fail(w, INSITU_ENOMEM, "out of memory");
    if (!rc)
        rc = insert_geo(w, table, member, key, name, desc, enc, text, geometry, props, id);
    free(props);
    free(text);
    free(geometry);
    return rc;
}

static int create_location(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    char key[40];
    new_key(key);
    int rc = create_geo(w, o, "locations", "location", key, id);
    if (rc)
        return rc;
    if (p && p->type == STA_THING)
        rc = thing_set_locations(w, p->id, id, 1);
    else if (p && p->type == STA_HLOC)
        rc = link_hloc_location(w, p->id, *id);
    struct parent me = {STA_LOCATION, *id};
    if (!rc)
        rc = many(w, o, "Things", STA_THING, &me, location_thing_cb, id);
    if (!rc)
        rc = many(w, o, "HistoricalLocations", STA_HLOC, &me, location_hloc_cb, id);
    return rc;
}

/* The current location is the last known one: when HistoricalLocation hl (of Thing thing,
 * at time t) has Locations and is later than every other HistoricalLocation of the Thing,
 * its Locations become the Thing's Locations. An earlier one only adds to the history. */
static int hloc_make_current(struct wx *w, int64_t thing, int64_t hl, int64_t t)
{
    int64_t n_locations = 0, n_later = 0;
    int rc = run(w, "SELECT count(*) FROM historical_location_locations WHERE "
                    "historical_location_id = ?",
                 &n_locations, "i", hl);
    if (!rc && n_locations)
        rc = run(w, "SELECT count(*) FROM historical_locations WHERE thing_id = ? AND id <> ? "
                    "AND time >= ?",
                 &n_later, "iii", thing, hl, t);
    if (rc || !n_locations || n_later)
        return rc;
    rc = run(w, "DELETE FROM thing_locations WHERE thing_id = ?", NULL, "i", thing);
    if (!rc)
        rc = run(w, "INSERT INTO thing_locations (thing_id, location_id) SELECT ?, location_id "
                    "FROM historical_location_locations WHERE historical_location_id = ?",
                 NULL, "ii", thing, hl);
    return rc;
}

static int create_hloc(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    int64_t t0, t1, thing = p && p->type == STA_THING ? p->id : 0;
    int rc = get_time(w, o, "time", &t0, &t1, 0);
    if (!rc && t0 == INSITU_TIME_NONE)
        rc = fail(w, INSITU_EINVAL, "'time' is required");
    if (!rc && !thing)
        rc = one(w, o, "Thing", STA_THING, 1, &thing);
    if (!rc)
        rc = run(w, "INSERT INTO historical_locations (thing_id, time) VALUES (?, ?) "
                    "RETURNING id",
                 id, "ii", thing, t0);
    if (!rc && p && p->type == STA_LOCATION)
        rc = link_hloc_location(w, *id, p->id);
    struct parent me = {STA_HLOC, *id};
    if (!rc)
        rc = many(w, o, "Locations", STA_LOCATION, &me, hloc_location_cb, id);
    if (!rc)
        rc = hloc_make_current(w, thing, *id, t0);
    return rc;
}

static int create_sensor(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    (void)p;
    const char *name, *desc, *enc;
    char *props = NULL, *meta = NULL, key[40];
    int rc = get_str(w, o, "name", 1, &name);
    if (!rc)
        rc = get_str(w, o, "description", 1, &desc);
    if (!rc)
        rc = get_str(w, o, "encodingType", 1, &enc);
    json_t *m = json_object_get(o, "metadata");
    if (!rc && (!m || json_is_null(m)))
        rc = fail(w, INSITU_EINVAL, "'metadata' is required");
    if (!rc && !(meta = any_text(m)))
        rc = fail(w, INSITU_ENOMEM, "out of memory");
    if (!rc)
        rc = get_object_text(w, o, "properties", 0, &props);
    new_key(key);
    if (!rc)
        rc = run(w,
                 "INSERT INTO sensors (namespace, code, name, description, encoding_type, "
                 "metadata, properties) VALUES ('sta', ?, ?, ?, ?, ?, ?) RETURNING id",
                 id, "tttttt", key + 4, name, desc, enc, meta, props);
    free(props);
    free(meta);
    struct parent me = {STA_SENSOR, *id};
    if (!rc)
        rc = many(w, o, "Datastreams", STA_DATASTREAM, &me, relink_datastream_sensor, id);
    if (!rc)
        rc = many(w, o, "MultiDatastreams", STA_MDS, &me, relink_datastream_sensor, id);
    return rc;
}

static int property_md_cb(struct wx *w, int64_t id, int created, void *ctx);

/* A new ObservedProperty, even beside one of the same definition and name: its key is its
 * own (ingesters' properties have key '' and merge by definition and name). */
static int create_property(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    (void)p;
    const char *name, *def, *desc;
    char *props = NULL, key[40];
    int rc = get_str(w, o, "name", 1, &name);
    if (!rc)
        rc = get_str(w, o, "definition", 1, &def);
    if (!rc)
        rc = get_str(w, o, "description", 1, &desc);
    if (!rc)
        rc = get_object_text(w, o, "properties", 0, &props);
    new_key(key);
    if (!rc)
        rc = run(w,
                 "INSERT INTO observed_properties (name, definition, description, properties, "
                 "key) VALUES (?, ?, ?, ?, ?) RETURNING id",
                 id, "ttttt", name, def, desc, props, key);
    free(props);
    struct parent me = {STA_PROPERTY, *id};
    if (!rc)
        rc = many(w, o, "Datastreams", STA_DATASTREAM, &me, relink_datastream_property, id);
    if (!rc)
        rc = many(w, o, "MultiDatastreams", STA_MDS, &me, property_md_cb, NULL);
    return rc;
}

/* unitOfMeasurement: {name, symbol, definition}, each a string or null. */
static int get_uom(struct wx *w, json_t *o, int required, const char *out[3], int *given)
{
    static const char *const keys[] = {"name", "symbol", "definition"};
    json_t *u = json_object_get(o, "unitOfMeasurement");
    *given = 0;
    if (!u || json_is_null(u)) {
        if (required)
            return fail(w, INSITU_EINVAL, "'unitOfMeasurement' is required");
        return 0;
    }
    if (!json_is_object(u))
        return fail(w, INSITU_EINVAL, "'unitOfMeasurement' must be an object with name, "
                                      "symbol and definition");
    for (int k = 0; k < 3; k++) {
        json_t *v = json_object_get(u, keys[k]);
        out[k] = NULL;
        if (v && !json_is_null(v) && !json_is_string(v))
            return fail(w, INSITU_EINVAL, "'unitOfMeasurement.%s' must be a string", keys[k]);
        if (v) {
            out[k] = json_is_string(v) ? json_string_value(v) : "";
            *given |= 1 << k;
        }
    }
    return 0;
}

static int create_observation(struct wx *w, json_t *o, const struct parent *p, size_t *k);

static int create_datastream(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    const char *name, *desc, *type, *uom[3] = {NULL, NULL, NULL};
    char *props = NULL, key[40];
    int given;
    int64_t thing = p && p->type == STA_THING ? p->id : 0;
    int64_t sensor = p && p->type == STA_SENSOR ? p->id : 0;
    int64_t prop = p && p->type == STA_PROPERTY ? p->id : 0;
    int rc = get_str(w, o, "name", 1, &name);
    if (!rc)
        rc = get_str(w, o, "description", 1, &desc);
    if (!rc)
        rc = get_str(w, o, "observationType", 1, &type);
    if (!rc)
        rc = get_uom(w, o, 1, uom, &given);
    if (!rc)
        rc = get_object_text(w, o, "properties", 0, &props);
    if (!rc && !thing)
        rc = one(w, o, "Thing", STA_THING, 1, &thing);
    if (!rc && !sensor)
        rc = one(w, o, "Sensor", STA_SENSOR, 1, &sensor);
    if (!rc && !prop)
        rc = one(w, o, "ObservedProperty", STA_PROPERTY, 1, &prop);
    new_key(key);
    if (!rc)
        rc = run(w,
                 "INSERT INTO datastreams (thing_id, observed_property_id, sensor_id, qualifier, "
                 "name, description, observation_type, unit_name, unit_symbol, unit_definition, "
                 "properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                 id, "iiitttttttt", thing, prop, sensor, key, name, desc, type,
                 uom[0] ? uom[0] : "", uom[1] ? uom[1] : "", uom[2] ? uom[2] : "", props);
    free(props);
    struct parent me = {STA_DATASTREAM, *id};
    if (!rc)
        rc = many(w, o, "Observations", STA_OBSERVATION, &me, NULL, NULL);
    return rc;
}

/* ==== MultiDatastreams (OGC 18-088 14.3) ==== */

#define OM_COMPLEX "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"

static int md_check_type(struct wx *w, const char *type)
{
    if (type && strcmp(type, OM_COMPLEX) == 0)
        return 0;
    return fail(w, INSITU_EINVAL, "'observationType' of a MultiDatastream must be " OM_COMPLEX
                                  ", not '%.80s'",
                type ? type : "");
}

/* multiObservationDataTypes (an array of type URIs) or unitOfMeasurements (an array of
 * {name, symbol, definition}) of body o, checked, as JSON text (caller frees; NULL when
 * absent or null); *n its length. */
static int md_array_text(struct wx *w, json_t *o, const char *key, char **out, size_t *n)
{
    json_t *arr = json_object_get(o, key);
    int units = strcmp(key, "unitOfMeasurements") == 0;
    *out = NULL;
    *n = 0;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(w, INSITU_EINVAL, "'%s' must be a non-empty array of %s", key,
                    units ? "units of measurement {name, symbol, definition}"
                          : "observation type URIs");
    json_t *copy = json_array();
    size_t i;
    json_t *v;
    int rc = copy ? 0 : fail(w, INSITU_ENOMEM, "out of memory");
    json_array_foreach(arr, i, v)
    {
        if (rc)
            break;
        if (!units) {
            rc = json_is_string(v) ? json_array_append(copy, v)
                                   : fail(w, INSITU_EINVAL, "'%s[%zu]' must be a string", key, i);
            continue;
        }
        const char *u[3];
        int given;
        json_t *holder = json_pack("{sO}", "unitOfMeasurement", v);
        size_t mark = where_push(w, key, (int)i);
        rc = !holder ? fail(w, INSITU_ENOMEM, "out of memory") : get_uom(w, holder, 1, u, &given);
        where_pop(w, mark);
        if (!rc)
            rc = json_array_append_new(copy, json_pack("{s:s?,s:s?,s:s?}", "name", u[0],
                                                       "symbol", u[1], "definition", u[2]));
        json_decref(holder);
    }
    if (!rc && !(*out = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        rc = fail(w, INSITU_ENOMEM, "out of memory");
    *n = json_array_size(copy);
    json_decref(copy);
    return rc;
}

/* The number of ObservedProperties of MultiDatastream md (remembered for the request). */
static int md_members(struct wx *w, int64_t md, int64_t *n)
{
    if (w->md_ds == md) {
        *n = w->md_n;
        return 0;
    }
    int rc = run(w, "SELECT count(*) FROM multi_datastream_properties WHERE datastream_id = ?",
                 n, "i", md);
    if (!rc) {
        w->md_ds = md;
        w->md_n = *n;
    }
    return rc;
}

/* An Observation of MultiDatastream md has as its result an array of one value per
 * ObservedProperty. */
static int md_check_result(struct wx *w, int64_t md, json_t *result)
{
    int64_t n = 0;
    int rc = md_members(w, md, &n);
    if (rc)
        return rc;
    if (!json_is_array(result) || (int64_t)json_array_size(result) != n)
        return fail(w, INSITU_EINVAL,
                    "'result' of an Observation of MultiDatastream %lld must be an array of %lld "
                    "values (one per ObservedProperty, in order)%s",
                    (long long)md, (long long)n,
                    json_is_array(result) ? ", not of a different length" : "");
    return 0;
}

/* Makes the ObservedProperties ids[0..n) those of MultiDatastream md, in that order (one
 * may be two members: a minimum and a maximum); its row's observed_property_id is the
 * first. */
static int md_set_members(struct wx *w, int64_t md, const int64_t *ids, size_t n)
{
    if (!n)
        return fail(w, INSITU_EINVAL, "'ObservedProperties' is required: a MultiDatastream "
                                      "has at least one ObservedProperty");
    int rc = run(w, "DELETE FROM multi_datastream_properties WHERE datastream_id = ?", NULL,
                 "i", md);
    for (size_t i = 0; !rc && i < n; i++)
        rc = run(w, "INSERT INTO multi_datastream_properties (datastream_id, position, "
                    "observed_property_id) VALUES (?, ?, ?)",
                 NULL, "iii", md, (int64_t)i, ids[i]);
    if (!rc)
        rc = run(w, "UPDATE datastreams SET observed_property_id = ? WHERE id = ?", NULL, "ii",
                 ids[0], md);
    w->md_ds = 0;
    return rc;
}

/* The units' symbols (or names) joined by '|': the unit the CLI shows for the series
 * (insitu query, insitu datastreams); caller frees. */
static char *md_unit_label(json_t *units)
{
    struct strbuf label = {0};
    size_t i;
    json_t *u;
    json_array_foreach(units, i, u)
    {
        const char *sym = json_string_value(json_object_get(u, "symbol"));
        if (!sym || !*sym)
            sym = json_string_value(json_object_get(u, "name"));
        sb_printf(&label, "%s%s", i ? "|" : "", sym ? sym : "");
    }
    return label.data ? label.data : xstrdup("");
}

/* The lengths of a MultiDatastream's arrays and ObservedProperties agree (OGC 18-088 14.3);
 * members_before is its member count before the request (-1: new): the count of one with
 * Observations cannot change, their results would no longer fit. Its row's unit_symbol
 * becomes md_unit_label's. */
static int md_check_lengths(struct wx *w, int64_t md, int64_t members_before)
{
    struct stmt *s;
    int rc = sta_prepare(w->c, "SELECT multi_types, unit_json, n_obs, (SELECT count(*) FROM "
                               "multi_datastream_properties WHERE datastream_id = d.id) FROM "
                               "datastreams d WHERE d.id = ?",
                         &s, w->err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, md);
    rc = st_step(s, w->err);
    if (rc != 1) {
        sta_release(w->c, s);
        return rc < 0 ? rc : fail(w, INSITU_ENOTFOUND, "MultiDatastream %lld: gone", (long long)md);
    }
    json_t *types = json_loads(st_col_text(s, 0) ? st_col_text(s, 0) : "null", 0, NULL);
    json_t *units = json_loads(st_col_text(s, 1) ? st_col_text(s, 1) : "null", 0, NULL);
    int64_t n_obs = st_col_int64(s, 2), members = st_col_int64(s, 3);
    sta_release(w->c, s);
    size_t nt = json_array_size(types), nu = json_array_size(units);
    char *label = md_unit_label(units);
    json_decref(types);
    json_decref(units);
    if ((int64_t)nt != members || (int64_t)nu != members)
        rc = fail(w, INSITU_EINVAL,
                  "a MultiDatastream has as many multiObservationDataTypes and "
                  "unitOfMeasurements as ObservedProperties: %zu, %zu and %lld given",
                  nt, nu, (long long)members);
    else if (members_before >= 0 && members != members_before && n_obs > 0)
        rc = fail(w, INSITU_EINVAL,
                  "MultiDatastream %lld has Observations with %lld values each: its number "
                  "of ObservedProperties cannot change",
                  (long long)md, (long long)members_before);
    else
        rc = run(w, "UPDATE datastreams SET unit_symbol = ? WHERE id = ?", NULL, "ti", label,
                 md);
    free(label);
    return rc;
}

static int property_md_cb(struct wx *w, int64_t id, int created, void *ctx)
{
    (void)id;
    (void)ctx;
    return created ? 0 : fail(w, INSITU_EINVAL,
                              "an ObservedProperty joins an existing MultiDatastream by a "
                              "PATCH of the MultiDatastream's ObservedProperties");
}

static int create_mds(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    const char *name, *desc, *type;
    char *props = NULL, *types = NULL, *units = NULL, key[40];
    size_t ntypes = 0, nunits = 0;
    struct idlist members = {0};
    int64_t thing = p && p->type == STA_THING ? p->id : 0;
    int64_t sensor = p && p->type == STA_SENSOR ? p->id : 0;
    int rc = get_str(w, o, "name", 1, &name);
    if (!rc)
        rc = get_str(w, o, "description", 1, &desc);
    if (!rc)
        rc = get_str(w, o, "observationType", 1, &type);
    if (!rc)
        rc = md_check_type(w, type);
    if (!rc)
        rc = md_array_text(w, o, "multiObservationDataTypes", &types, &ntypes);
    if (!rc && !types)
        rc = fail(w, INSITU_EINVAL, "'multiObservationDataTypes' is required");
    if (!rc)
        rc = md_array_text(w, o, "unitOfMeasurements", &units, &nunits);
    if (!rc && !units)
        rc = fail(w, INSITU_EINVAL, "'unitOfMeasurements' is required");
    if (!rc)
        rc = get_object_text(w, o, "properties", 0, &props);
    if (!rc && !thing)
        rc = one(w, o, "Thing", STA_THING, 1, &thing);
    if (!rc && !sensor)
        rc = one(w, o, "Sensor", STA_SENSOR, 1, &sensor);
    /* created under an ObservedProperty: it is the first member, unless the body names it */
    if (!rc)
        rc = many(w, o, "ObservedProperties", STA_PROPERTY, NULL, collect_id, &members);
    if (!rc && p && p->type == STA_PROPERTY) {
        size_t k = 0;
        while (k < members.n && members.ids[k] != p->id)
            k++;
        if (k == members.n && !(rc = collect_id(w, p->id, 0, &members))) {
            memmove(members.ids + 1, members.ids, (members.n - 1) * sizeof *members.ids);
            members.ids[0] = p->id;
        }
    }
    if (!rc && (ntypes != members.n || nunits != members.n))
        rc = fail(w, INSITU_EINVAL,
                  "a MultiDatastream has as many multiObservationDataTypes and "
                  "unitOfMeasurements as ObservedProperties: %zu, %zu and %zu given",
                  ntypes, nunits, members.n);
    new_key(key);
    if (!rc && !members.n)
        rc = fail(w, INSITU_EINVAL, "'ObservedProperties' is required: a MultiDatastream has "
                                    "at least one ObservedProperty");
    if (!rc) {
        char qualifier[48]; /* 'sta-md:...': never a Datastream's ('sta:...', or a source's) */
        snprintf(qualifier, sizeof qualifier, "sta-md:%s", key + 4);
        rc = run(w,
                 "INSERT INTO datastreams (thing_id, observed_property_id, sensor_id, qualifier, "
                 "name, description, observation_type, properties, multi, multi_types, "
                 "unit_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id",
                 id, "iiittttttt", thing, members.ids[0], sensor, qualifier, name, desc, type,
                 props, types, units);
    }
    if (!rc)
        rc = md_set_members(w, *id, members.ids, members.n);
    if (!rc)
        rc = md_check_lengths(w, *id, -1);
    free(members.ids);
    free(props);
    free(types);
    free(units);
    struct parent me = {STA_MDS, *id};
    if (!rc)
        rc = many(w, o, "Observations", STA_OBSERVATION, &me, NULL, NULL);
    return rc;
}

static int create_feature(struct wx *w, json_t *o, const struct parent *p, int64_t *id);

/* The FeatureOfInterest made from the Location of a Datastream's Thing (OGC 18-088: an
 * Observation without one gets it); made once per Location and reused. */
static int auto_feature(struct wx *w, int64_t ds, int64_t *fid)
{
    for (int i = 0; i < w->n_auto; i++)
        if (w->auto_foi[i].ds == ds) {
            *fid = w->auto_foi[i].feature;
            return 0;
        }
    struct stmt *s;
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT l.id, l.name, l.description, l.encoding_type, ");
    dialect_geojson_sql(w->c->st->dialect, &sql, "l", "location");
    sb_puts(&sql, " FROM datastreams d JOIN thing_locations tl ON tl.thing_id = d.thing_id JOIN "
                  "locations l ON l.id = tl.location_id WHERE d.id = ? ORDER BY l.id LIMIT 1");
    int rc = sql.data ? sta_prepare(w->c, sql.data, &s, w->err)
                      : insitu_error_set(w->err, INSITU_ENOMEM, "out of memory");
    sb_free(&sql);
    if (rc)
        return rc;
    st_bind_int64(s, 1, ds);
    rc = st_step(s, w->err);
    if (rc == 0) {
        sta_release(w->c, s);
        int64_t multi = 0;
        rc = run(w, "SELECT multi FROM datastreams WHERE id = ?", &multi, "i", ds);
        return rc ? rc
                  : fail(w, INSITU_EINVAL,
                         "no FeatureOfInterest given, and the Thing of %s %lld has no "
                         "Location to make one from",
                         multi ? "MultiDatastream" : "Datastream", (long long)ds);
    }
    if (rc < 0) {
        sta_release(w->c, s);
        return rc;
    }
    int64_t loc = st_col_int64(s, 0);
    char key[64];
    snprintf(key, sizeof key, "sta:location:%lld", (long long)loc);
    char *name = xstrdup(st_col_text(s, 1)), *desc = xstrdup(st_col_text(s, 2)),
         *enc = xstrdup(st_col_text(s, 3)), *text = xstrdup(st_col_text(s, 4));
    sta_release(w->c, s);
    rc = run(w, "SELECT id FROM features WHERE key = ?", fid, "t", key);
    if (!rc && !*fid) {
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        char *geometry = NULL;
        rc = j ? geometry_text(w, j, "location", &geometry)
               : fail(w, INSITU_EINVAL, "Location %lld: unreadable GeoJSON", (long long)loc);
        if (!rc)
            rc = insert_geo(w, "features", "feature", key, name ? name : "", desc ? desc : "",
                            enc ? enc : "application/geo+json", text, geometry, NULL, fid);
        free(geometry);
        json_decref(j);
    }
    free(name);
    free(desc);
    free(enc);
    free(text);
    if (!rc && w->n_auto < (int)ARRAY_LEN(w->auto_foi)) {
        w->auto_foi[w->n_auto].ds = ds;
        w->auto_foi[w->n_auto++].feature = *fid;
    }
    return rc;
}

/* The batch writer of the request's observations: each one a new entity (a POST creates;
 * an ingest replaces), its id known once written (bw_created_id). */
static int writer(struct wx *w)
{
    if (w->bw)
        return 0;
    int rc = bw_new(w->st, w->run_id, 1024, &w->bw, w->err);
    if (!rc)
        bw_create(w->bw);
    return rc;
}

/* The row of one observation (its strings in *strings, freed by the caller). */
struct obs_input {
    struct obs_row r;
    int64_t valid_start, valid_end; /* validTime, or INSITU_TIME_NONE */
    char *json, *quality, *params;
};

static void obs_input_free(struct obs_input *in)
{
    free(in->json);
    free(in->quality);
    free(in->params);
}

static int set_result(struct wx *w, json_t *v, struct obs_input *in)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        in->r.has_result = 1;
        in->r.result = json_number_value(v);
        return 0;
    }
    in->json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    in->r.result_json = in->json;
    return in->json ? 0 : fail(w, INSITU_ENOMEM, "out of memory");
}

/* Queues one new observation; *k receives its position in the writer (bw_created_id). */
static int queue_observation(struct wx *w, struct obs_input *in, size_t *k)
{
    if (w->n_valid == w->cap_valid) {
        size_t cap = w->cap_valid ? w->cap_valid * 2 : 16;
        struct pending_valid *p = realloc(w->valid, cap * sizeof *p);
        if (!p)
            return fail(w, INSITU_ENOMEM, "out of memory");
        w->valid = p;
        w->cap_valid = cap;
    }
    int rc = writer(w);
    *k = (size_t)w->n_obs;
    if (!rc)
        rc = bw_observation(w->bw, &in->r, w->err);
    if (rc)
        return rc;
    w->n_obs++;
    w->valid[w->n_valid++] = (struct pending_valid){*k, in->r.datastream_id,
                                                    in->r.phenomenon_start, in->valid_start,
                                                    in->valid_end};
    return 0;
}

/* validTime: an interval (OGC 18-088: a TM_Period), or null. */
static int get_valid_time(struct wx *w, json_t *o, int64_t *start, int64_t *end)
{
    int rc = get_time(w, o, "validTime", start, end, 1);
    if (!rc && *start != INSITU_TIME_NONE && *end == INSITU_TIME_NONE)
        rc = fail(w, INSITU_EINVAL, "'validTime' must be an interval (start/end), not an "
                                    "instant");
    return rc;
}

/* The series of a new Observation: its Datastream or its MultiDatastream, exactly one
 * (OGC 18-088 14.3); *ds (and *multi) already set when it is created under one. */
static int observation_series(struct wx *w, json_t *o, int64_t *ds, int *multi)
{
    json_t *d = json_object_get(o, "Datastream"), *m = json_object_get(o, "MultiDatastream");
    int has_d = d && !json_is_null(d), has_m = m && !json_is_null(m);
    if ((has_d && has_m) || (*ds && (has_d || has_m) && has_m != *multi))
        return fail(w, INSITU_EINVAL, "an Observation belongs to a Datastream or to a "
                                      "MultiDatastream, not to both");
    if (*ds)
        return 0;
    if (!has_d && !has_m)
        return fail(w, INSITU_EINVAL, "'Datastream' or 'MultiDatastream' is required (a link "
                                      "{\"@iot.id\": id} or a new one)");
    *multi = has_m;
    return has_m ? one(w, o, "MultiDatastream", STA_MDS, 1, ds)
                 : one(w, o, "Datastream", STA_DATASTREAM, 1, ds);
}

/* Queues a new Observation; *k receives its position in the writer: its id is
 * bw_created_id(w->bw, *k) once the request's observations are written (commit). */
static int create_observation(struct wx *w, json_t *o, const struct parent *p, size_t *k)
{
    struct obs_input in;
    memset(&in, 0, sizeof in);
    in.r.result_time = INSITU_TIME_NONE;
    int64_t ds = p && (p->type == STA_DATASTREAM || p->type == STA_MDS) ? p->id : 0;
    int multi = p && p->type == STA_MDS;
    int64_t foi = p && p->type == STA_FEATURE ? p->id : 0, end;
    int rc = get_time(w, o, "phenomenonTime", &in.r.phenomenon_start, &in.r.phenomenon_end, 1);
    if (!rc && in.r.phenomenon_start == INSITU_TIME_NONE)
        in.r.phenomenon_start = w->c->now_us; /* OGC 18-088: the server's time */
    if (!rc)
        rc = get_time(w, o, "resultTime", &in.r.result_time, &end, 0);
    if (!rc)
        rc = get_valid_time(w, o, &in.valid_start, &in.valid_end);
    if (!rc && !json_object_get(o, "result"))
        rc = fail(w, INSITU_EINVAL, "'result' is required");
    if (!rc)
        rc = set_result(w, json_object_get(o, "result"), &in);
    json_t *q = json_object_get(o, "resultQuality");
    if (!rc && q && !json_is_null(q) && !(in.quality = any_text(q)))
        rc = fail(w, INSITU_ENOMEM, "out of memory");
    in.r.quality = in.quality;
    if (!rc)
        rc = get_object_text(w, o, "parameters", 0, &in.params);
    in.r.parameters = in.params;
    if (!rc)
        rc = observation_series(w, o, &ds, &multi);
    if (!rc && multi)
        rc = md_check_result(w, ds, json_object_get(o, "result"));
    if (!rc && !foi)
        rc = one(w, o, "FeatureOfInterest", STA_FEATURE, 0, &foi);
    if (!rc && !foi)
        rc = auto_feature(w, ds, &foi);
    in.r.datastream_id = ds;
    in.r.feature_id = foi;
    if (!rc)
        rc = queue_observation(w, &in, k);
    obs_input_free(&in);
    return rc;
}

static int feature_obs_cb(struct wx *w, int64_t obs, int created, void *ctx)
{
    if (created)
        return 0;
    int rc = run(w, "UPDATE observations SET feature_id = ? WHERE id = ?", NULL, "ii",
                 *(int64_t *)ctx, obs);
    return rc ? rc : store_recompute_area_of_observation(w->st, obs, w->err);
}

static int create_feature(struct wx *w, json_t *o, const struct parent *p, int64_t *id)
{
    (void)p;
    char key[40];
    new_key(key);
    int rc = create_geo(w, o, "features", "feature", key, id);
    struct parent me = {STA_FEATURE, *id};
    if (!rc)
        rc = many(w, o, "Observations", STA_OBSERVATION, &me, feature_obs_cb, id);
    return rc;
}

/* Creates an entity of type t; *id receives its id (0 for an Observation, whose id is
 * known once the request's observations are written). */
static int create_entity(struct wx *w, enum sta_type t, json_t *o, const struct parent *p,
                         int64_t *id)
{
    size_t k;
    int rc = check_members(w, o, t);
    if (rc)
        return rc;
    switch (t) {
    case STA_THING: return create_thing(w, o, p, id);
    case STA_LOCATION: return create_location(w, o, p, id);
    case STA_HLOC: return create_hloc(w, o, p, id);
    case STA_DATASTREAM: return create_datastream(w, o, p, id);
    case STA_MDS: return create_mds(w, o, p, id);
    case STA_SENSOR: return create_sensor(w, o, p, id);
    case STA_PROPERTY: return create_property(w, o, p, id);
    case STA_FEATURE: return create_feature(w, o, p, id);
    case STA_OBSERVATION:
        rc = create_observation(w, o, p, &k);
        *id = 0;
        return rc;
    default: return fail(w, INSITU_EINVAL, "cannot create this entity");
    }
}

/* create_entity, noting what it made for sta_config.on_change. */
static int create(struct wx *w, enum sta_type t, json_t *o, const struct parent *p, int64_t *id)
{
    int rc = create_entity(w, t, o, p, id);
    if (rc || t == STA_OBSERVATION || !w->c->svc->cfg.on_change)
        return rc;
    if (w->n_made == w->cap_made) {
        size_t cap = w->cap_made ? w->cap_made * 2 : 8;
        struct made *m = realloc(w->made, cap * sizeof *m);
        if (!m)
            return fail(w, INSITU_ENOMEM, "out of memory");
        w->made = m;
        w->cap_made = cap;
    }
    w->made[w->n_made++] = (struct made){t, *id};
    return 0;
}

/* Tells sta_config.on_change of one change, or holds it until the changeset commits. */
static int tell(struct wx *w, const struct sta_change *ch)
{
    struct sta_conn *c = w->c;
    if (!c->changeset) {
        c->svc->cfg.on_change(c->svc->cfg.on_change_ctx, ch);
        return 0;
    }
    if (c->n_held == c->cap_held) {
        size_t cap = c->cap_held ? c->cap_held * 2 : 8;
        struct sta_held_change *h = realloc(c->held, cap * sizeof *h);
        if (!h)
            return fail(w, INSITU_ENOMEM, "out of memory");
        c->held = h;
        c->cap_held = cap;
    }
    char *changed = NULL;
    if (ch->changed && !(changed = strdup(ch->changed)))
        return fail(w, INSITU_ENOMEM, "out of memory");
    c->held[c->n_held++] = (struct sta_held_change){ch->set, ch->id, ch->created, changed};
    return 0;
}

/* Tells sta_config.on_change what the committed request created (NULL body), or updated:
 * the properties body names (all of them for a PUT). */
static void tell_changes(struct wx *w, enum sta_type t, int64_t id, json_t *body, int put)
{
    const struct sta_config *cfg = &w->c->svc->cfg;
    if (!cfg->on_change)
        return;
    struct sta_change ch = {0};
    if (body) {
        struct strbuf names = {0};
        const char *key;
        json_t *v;
        json_object_foreach(body, key, v)
        {
            if (sta_prop_find(t, key, strlen(key)))
                sb_printf(&names, "%s%s", names.len ? "," : "", key);
        }
        ch = (struct sta_change){sta_type_def(t)->set, id, 0, put ? NULL : sb_str(&names)};
        tell(w, &ch);
        sb_free(&names);
        return;
    }
    for (size_t i = 0; i < w->n_made; i++) {
        ch = (struct sta_change){sta_type_def(w->made[i].type)->set, w->made[i].id, 1, NULL};
        tell(w, &ch);
    }
    for (size_t i = 0; w->bw && i < w->n_valid; i++) {
        ch = (struct sta_change){"Observations", bw_created_id(w->bw, w->valid[i].k), 1, NULL};
        tell(w, &ch);
    }
}

/* ==== transactions ==== */

/* Inside a $batch changeset the transaction is the changeset's (sta_changeset_begin), and
 * its run was made before it. */
static int begin(struct wx *w)
{
    if (w->c->changeset) {
        w->run_id = w->c->svc->run_id;
        return 0;
    }
    int rc = api_run(w);
    if (!rc)
        rc = st_begin(w->st, w->err);
    return rc;
}

/* The validTime of the observations the batch wrote, each found by the id the writer gave it
 * (bw_created_id); the key leads to the row (PostgreSQL has no b-tree on id alone). */
static int write_valid_times(struct wx *w)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < w->n_valid; i++) {
        const struct pending_valid *p = &w->valid[i];
        if (p->v0 == INSITU_TIME_NONE)
            continue;
        rc = run(w,
                 "UPDATE observations SET valid_start = ?, valid_end = ? WHERE "
                 "datastream_id = ? AND phenomenon_start = ? AND id = ?",
                 NULL, "TTiTi", p->v0, p->v1, p->ds, p->start, bw_created_id(w->bw, p->k));
    }
    return rc;
}

/* Writes the queued observations, the run's counts, and commits. The writer stays (with
 * the new observations' ids) until the request is answered. */
static int commit(struct wx *w)
{
    uint64_t ins = 0, upd = 0;
    int rc = 0;
    if (w->bw)
        rc = bw_end(w->bw, &ins, &upd, w->err);
    if (!rc)
        rc = write_valid_times(w);
    if (!rc)
        rc = run(w,
                 "UPDATE ingest_runs SET n_observations = n_observations + ?, n_inserted = "
                 "n_inserted + ?, n_updated = n_updated + ?, n_deleted = n_deleted + ?, "
                 "n_things = n_things + ?, n_datastreams = (SELECT count(*) FROM "
                 "run_datastreams WHERE run_id = ?) WHERE id = ?",
                 NULL, "iiiiiii", (int64_t)w->n_obs, (int64_t)ins, (int64_t)upd,
                 (int64_t)w->n_deleted, (int64_t)w->n_things, w->run_id, w->run_id);
    if (!rc && !w->c->changeset)
        rc = st_commit(w->st, w->err);
    if (rc) {
        if (!w->c->changeset)
            st_rollback(w->st);
        bw_delete(w->bw);
        w->bw = NULL;
    }
    return rc;
}

static void abandon(struct wx *w)
{
    bw_delete(w->bw);
    w->bw = NULL;
    w->n_valid = 0;
    w->n_made = 0;
    if (!w->c->changeset)
        st_rollback(w->st);
}

int sta_changeset_begin(struct sta_conn *c, insitu_error *err)
{
    struct wx w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.st = c->st;
    w.err = err;
    int rc = api_run(&w);
    if (!rc)
        rc = st_begin(c->st, err);
    c->changeset = !rc;
    return rc;
}

int sta_changeset_end(struct sta_conn *c, int commit, insitu_error *err)
{
    c->changeset = 0;
    int rc = commit ? st_commit(c->st, err) : 0;
    if (!commit || rc)
        st_rollback(c->st);
    const struct sta_config *cfg = &c->svc->cfg;
    for (size_t i = 0; i < c->n_held; i++) {
        const struct sta_held_change *h = &c->held[i];
        if (commit && !rc && cfg->on_change)
            cfg->on_change(cfg->on_change_ctx,
                           &(struct sta_change){h->set, h->id, h->created, h->changed});
        free(h->changed);
    }
    c->n_held = 0;
    return rc;
}

/* ==== deleting ==== */

/* Deletes the datastreams (and MultiDatastreams) selected by cond (one placeholder, bound
 * to value), with their observations. */
static int delete_datastreams(struct wx *w, const char *cond, int64_t value)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id FROM datastreams WHERE %s", cond);
    struct stmt *s;
    int rc = sta_prepare(w->c, sql, &s, w->err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, value);
    struct idlist ids = {0};
    while ((rc = st_step(s, w->err)) == 1)
        if ((rc = collect_id(w, st_col_int64(s, 0), 0, &ids)))
            break;
    sta_release(w->c, s);
    for (size_t i = 0; rc >= 0 && i < ids.n; i++) {
        rc = run(w, "DELETE FROM observations WHERE datastream_id = ?", NULL, "i", ids.ids[i]);
        if (!rc)
            w->n_deleted += (uint64_t)w->st->ops->changes(w->st);
        if (!rc)
            rc = run(w, "DELETE FROM run_datastreams WHERE datastream_id = ?", NULL, "i",
                     ids.ids[i]);
        if (!rc)
            rc = run(w, "DELETE FROM multi_datastream_properties WHERE datastream_id = ?", NULL,
                     "i", ids.ids[i]);
        if (!rc)
            rc = run(w, "DELETE FROM datastreams WHERE id = ?", NULL, "i", ids.ids[i]);
    }
    free(ids.ids);
    return rc < 0 ? rc : 0;
}

static int delete_entity(struct wx *w, enum sta_type t, int64_t id)
{
    int rc = 0;
    int64_t ds;
    switch (t) {
    case STA_THING: rc = delete_datastreams(w, "thing_id = ?", id); break;
    case STA_SENSOR: rc = delete_datastreams(w, "sensor_id = ?", id); break;
    case STA_PROPERTY:
        /* the MultiDatastreams it is a member of go as its Datastreams do */
        rc = delete_datastreams(w, "id IN (SELECT datastream_id FROM "
                                   "multi_datastream_properties WHERE observed_property_id = ?)",
                                id);
        if (!rc)
            rc = delete_datastreams(w, "observed_property_id = ?", id);
        break;
    case STA_DATASTREAM:
    case STA_MDS: return delete_datastreams(w, "id = ?", id);
    case STA_LOCATION:
        rc = run(w, "DELETE FROM historical_locations WHERE id IN (SELECT "
                    "historical_location_id FROM historical_location_locations WHERE "
                    "location_id = ?)",
                 NULL, "i", id);
        break;
    case STA_OBSERVATION:
        rc = run(w, "SELECT datastream_id FROM observations WHERE id = ?", &ds, "i", id);
        if (!rc)
            rc = run(w, "DELETE FROM observations WHERE id = ?", NULL, "i", id);
        if (!rc) {
            w->n_deleted++;
            rc = store_recompute_summary(w->st, ds, w->err);
        }
        return rc;
    case STA_FEATURE: {
        /* no index leads from a feature to its observations: one scan finds the series */
        struct stmt *s;
        struct idlist dss = {0};
        rc = sta_prepare(w->c, "SELECT DISTINCT datastream_id FROM observations WHERE "
                               "feature_id = ?",
                         &s, w->err);
        if (rc)
            return rc;
        st_bind_int64(s, 1, id);
        while ((rc = st_step(s, w->err)) == 1)
            if ((rc = collect_id(w, st_col_int64(s, 0), 0, &dss)))
                break;
        sta_release(w->c, s);
        if (rc >= 0)
            rc = run(w, "DELETE FROM observations WHERE feature_id = ?", NULL, "i", id);
        if (!rc)
            w->n_deleted += (uint64_t)w->st->ops->changes(w->st);
        for (size_t i = 0; !rc && i < dss.n; i++)
            rc = store_recompute_summary(w->st, dss.ids[i], w->err);
        free(dss.ids);
        break;
    }
    default: break;
    }
    if (rc)
        return rc;
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", sta_type_def(t)->table);
    /* ids this connection cached for ingest-style upserts may be gone */
    store_cache_clear(w->c->st);
    return run(w, sql, NULL, "i", id);
}

/* ==== updating ==== */

struct setlist {
    struct strbuf sql;
    int n;
    /* values, bound in order */
    struct {
        char type;
        int64_t i;
        double d;
        char *s;
    } v[24];
    int nv;
};

static void set_col(struct setlist *l, const char *col, char type, int64_t i, double d,
                    const char *s)
{
    sb_printf(&l->sql, "%s%s = ?", l->n++ ? ", " : "", col);
    l->v[l->nv].type = type;
    l->v[l->nv].i = i;
    l->v[l->nv].d = d;
    l->v[l->nv].s = s ? xstrdup(s) : NULL;
    l->nv++;
}

/* A text property's column; one kept in the row or in obs_texts (SPF_TEXTREF) is now in
 * the row, its id column cleared. */
static void set_text_col(struct setlist *l, const struct sta_prop *p, const char *text)
{
    set_col(l, p->col, 't', 0, 0, text);
    if (p->flags & SPF_TEXTREF)
        set_col(l, p->col2, 'n', 0, 0, NULL);
}

static void setlist_free(struct setlist *l)
{
    for (int k = 0; k < l->nv; k++)
        free(l->v[k].s);
    sb_free(&l->sql);
}

/* Applies one property of a PATCH/PUT body (v may be NULL for PUT: set to null). An
 * Observation's new phenomenonTime start goes to *new_start too. */
static int update_prop(struct wx *w, enum sta_type t, const struct sta_prop *p, json_t *o,
                       struct setlist *l, int *times_changed, int64_t *new_start)
{
    json_t *v = json_object_get(o, p->name);
    int is_null = !v || json_is_null(v);
    if ((p->flags & SPF_REQUIRED) && is_null && p->kind != SP_RESULT)
        return fail(w, INSITU_EINVAL, "'%s' cannot be null", p->name);
    int rc = 0;
    const char *s = NULL;
    char *text = NULL;
    int64_t a, b;
    switch (p->kind) {
    case SP_TEXT:
        rc = get_str(w, o, p->name, 0, &s);
        if (!rc && p->flags & SPF_REQUIRED && !s)
            rc = fail(w, INSITU_EINVAL, "'%s' must be a string", p->name);
        if (!rc && strcmp(p->name, "encodingType") == 0 && (t == STA_LOCATION || t == STA_FEATURE))
            rc = check_encoding(w, s);
        if (!rc && strcmp(p->name, "observationType") == 0 && t == STA_MDS)
            rc = md_check_type(w, s);
        if (!rc)
            set_col(l, p->col, 't', 0, 0, s);
        break;
    case SP_OBJECT:
        rc = get_object_text(w, o, p->name, 0, &text);
        if (!rc)
            set_text_col(l, p, text);
        break;
    case SP_ANYJSON:
        if (t == STA_MDS) { /* its arrays, checked (their lengths at the end) */
            size_t n;
            rc = md_array_text(w, o, p->name, &text, &n);
        } else {
            text = any_text(v);
        }
        if (!rc)
            set_text_col(l, p, text);
        break;
    case SP_GEO: {
        char *geometry = NULL;
        rc = geometry_text(w, v, p->name, &geometry);
        if (!rc && !(text = json_dumps(v, JSON_COMPACT)))
            rc = fail(w, INSITU_ENOMEM, "out of memory");
        if (!rc) {
            set_col(l, p->col, 't', 0, 0, text);
            /* the geometry column is set from the same text by the dialect's function */
            sb_printf(&l->sql, "%s%s = %s", l->n++ ? ", " : "", p->col2,
                      w->st->dialect->geom_from_geojson);
            l->v[l->nv].type = 't';
            l->v[l->nv].s = geometry;
            l->nv++;
            geometry = NULL;
        }
        free(geometry);
        break;
    }
    case SP_TIME:
        rc = get_time(w, o, p->name, &a, &b, 0);
        if (!rc && p->flags & SPF_REQUIRED && a == INSITU_TIME_NONE)
            rc = fail(w, INSITU_EINVAL, "'%s' is required", p->name);
        if (!rc) {
            set_col(l, p->col, 'T', a, 0, NULL);
            *times_changed = 1;
        }
        break;
    case SP_PERIOD:
        if (t == STA_DATASTREAM || t == STA_MDS)
            return 0; /* kept by the server from the observations */
        if (strcmp(p->name, "validTime") == 0) {
            /* null (or left out of a PUT) clears it */
            rc = get_valid_time(w, o, &a, &b);
            if (!rc) {
                set_col(l, p->col, 'T', a, 0, NULL);
                set_col(l, p->col2, 'T', b, 0, NULL);
            }
            break;
        }
        rc = get_time(w, o, p->name, &a, &b, 1);
        if (!rc && strcmp(p->name, "phenomenonTime") == 0) {
            if (a == INSITU_TIME_NONE)
                rc = fail(w, INSITU_EINVAL, "'phenomenonTime' cannot be null");
            else if (t == STA_OBSERVATION && w->st->ops->reserve_times)
                rc = w->st->ops->reserve_times(w->st, &a, 1, w->err); /* a new partition */
            if (!rc) {
                set_col(l, p->col, 'T', a, 0, NULL);
                set_col(l, p->col2, 'T', b, 0, NULL);
                *times_changed = 1;
                *new_start = a;
            }
        }
        break;
    case SP_RESULT: {
        struct obs_input in;
        memset(&in, 0, sizeof in);
        rc = set_result(w, v, &in);
        if (!rc) {
            set_col(l, p->col, in.r.has_result ? 'd' : 'n', 0, in.r.result, NULL);
            set_col(l, p->col2, 't', 0, 0, in.json);
        }
        obs_input_free(&in);
        break;
    }
    case SP_UOM: {
        const char *u[3];
        int given;
        rc = get_uom(w, o, 0, u, &given);
        const char *cols[] = {p->col, p->col2, p->col3};
        for (int k = 0; !rc && k < 3; k++)
            if (given & (1 << k) || !v)
                set_col(l, cols[k], 't', 0, 0, u[k] && v ? u[k] : "");
        break;
    }
    default: break;
    }
    free(text);
    return rc;
}

/* A to-one navigation of a PATCH body: a link replaces the relation. */
static int update_link(struct wx *w, enum sta_type t, int64_t id, const struct sta_nav *nav,
                       json_t *v, struct setlist *l, int64_t *new_ds)
{
    if (!json_is_object(v))
        return fail(w, INSITU_EINVAL, "'%s' must be a link {\"@iot.id\": id}", nav->name);
    int64_t target;
    size_t mark = where_push(w, nav->name, -1);
    int rc = link_of(w, v, nav->target, &target);
    where_pop(w, mark);
    if (rc == 0)
        return fail(w, INSITU_EINVAL, "'%s': an update links existing entities "
                                      "({\"@iot.id\": id}); it cannot create them",
                    nav->name);
    if (rc < 0)
        return rc;
    if (nav->fk) {
        set_col(l, nav->fk, 'i', target, 0, NULL);
        if (t == STA_OBSERVATION && (nav->target == STA_DATASTREAM || nav->target == STA_MDS))
            *new_ds = target;
        return 0;
    }
    (void)id;
    return 0;
}

/* A to-many navigation of a PATCH body: links are added (a Thing's Locations are replaced:
 * the Thing moved there, which a HistoricalLocation records). */
static int update_links(struct wx *w, enum sta_type t, int64_t id, const struct sta_nav *nav,
                        json_t *arr)
{
    if (!json_is_array(arr))
        return fail(w, INSITU_EINVAL, "'%s' must be an array of links", nav->name);
    struct idlist ids = {0};
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(arr, i, v)
    {
        size_t mark = where_push(w, nav->name, (int)i);
        int64_t target;
        rc = json_is_object(v) ? link_of(w, v, nav->target, &target)
                               : fail(w, INSITU_EINVAL, "must be a link {\"@iot.id\": id}");
        if (rc == 0)
            rc = fail(w, INSITU_EINVAL, "an update links existing entities ({\"@iot.id\": "
                                        "id}); it cannot create them");
        where_pop(w, mark);
        if (rc < 0)
            break;
        rc = collect_id(w, target, 0, &ids);
        if (rc)
            break;
    }
    if (!rc && t == STA_MDS && nav->target == STA_PROPERTY) {
        /* the members, in their new order (the arrays must agree: checked at the end) */
        rc = md_set_members(w, id, ids.ids, ids.n);
        ids.n = 0;
    }
    if (!rc && t == STA_PROPERTY && nav->target == STA_MDS && ids.n)
        rc = property_md_cb(w, ids.ids[0], 0, NULL);
    for (size_t k = 0; !rc && k < ids.n; k++) {
        int64_t x = ids.ids[k];
        if (t == STA_THING && nav->target == STA_LOCATION)
            continue;
        if (t == STA_LOCATION && nav->target == STA_THING)
            rc = thing_set_locations(w, x, &id, 1);
        else if (t == STA_LOCATION && nav->target == STA_HLOC)
            rc = link_hloc_location(w, x, id);
        else if (t == STA_HLOC && nav->target == STA_LOCATION)
            rc = link_hloc_location(w, id, x);
        else if (t == STA_THING && (nav->target == STA_DATASTREAM || nav->target == STA_MDS))
            rc = relink(w, "datastreams", "thing_id", x, id);
        else if (t == STA_THING && nav->target == STA_HLOC)
            rc = relink(w, "historical_locations", "thing_id", x, id);
        else if (t == STA_SENSOR)
            rc = relink(w, "datastreams", "sensor_id", x, id);
        else if (t == STA_PROPERTY)
            rc = relink(w, "datastreams", "observed_property_id", x, id);
        else if (t == STA_FEATURE &&
                 !(rc = run(w, "UPDATE observations SET feature_id = ? WHERE id = ?", NULL,
                            "ii", id, x)))
            rc = store_recompute_area_of_observation(w->st, x, w->err);
        else if (t == STA_DATASTREAM || t == STA_MDS)
            rc = fail(w, INSITU_EINVAL, "Observations move to another %s by a PATCH of the "
                                        "Observation",
                      sta_type_def(t)->name);
    }
    if (!rc && t == STA_THING && nav->target == STA_LOCATION && ids.n)
        rc = thing_set_locations(w, id, ids.ids, ids.n);
    free(ids.ids);
    return rc;
}

/* An Observation that a PATCH moves (to another phenomenonTime start or Datastream) is
 * the same entity at its new place: it takes seq 0 there when no other has it, else the next
 * free seq, as a new one would, and replaces none. *old_ds receives its Datastream. */
static int observation_move(struct wx *w, int64_t id, int64_t new_ds, int64_t new_start,
                            int64_t *old_ds, struct setlist *l)
{
    struct stmt *s;
    int rc = sta_prepare(w->c, "SELECT datastream_id, phenomenon_start FROM observations WHERE "
                               "id = ?",
                         &s, w->err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    rc = st_step(s, w->err);
    int64_t old_start = 0;
    if (rc == 1) {
        *old_ds = st_col_int64(s, 0);
        old_start = st_col_int64(s, 1);
    }
    sta_release(w->c, s);
    if (rc <= 0)
        return rc < 0 ? rc : insitu_error_set(w->err, INSITU_ENOTFOUND, "no such Observation");
    int64_t ds = new_ds ? new_ds : *old_ds;
    int64_t start = new_start != INSITU_TIME_NONE ? new_start : old_start;
    if (ds == *old_ds && start == old_start)
        return 0;
    int64_t seq = 0;
    rc = run(w, "SELECT coalesce(max(seq) + 1, 0) FROM observations WHERE datastream_id = ? AND "
                "phenomenon_start = ?",
             &seq, "ii", ds, start);
    if (!rc)
        set_col(l, "seq", 'i', seq, 0, NULL);
    return rc;
}

/* The result an Observation has once a PATCH moves it (from series old_ds, to new_ds when
 * not 0) fits its series: an array of the right length in a MultiDatastream. */
static int observation_result_fits(struct wx *w, int64_t id, json_t *o, int64_t old_ds,
                                   int64_t new_ds)
{
    int64_t ds = new_ds ? new_ds : old_ds, multi = 0;
    json_t *result = json_object_get(o, "result");
    if (!result && ds == old_ds)
        return 0;
    int rc = run(w, "SELECT multi FROM datastreams WHERE id = ?", &multi, "i", ds);
    if (rc || !multi)
        return rc;
    if (result)
        return md_check_result(w, ds, result);
    struct stmt *s;
    rc = sta_prepare(w->c, "SELECT result_json FROM observations WHERE datastream_id = ? AND "
                           "id = ?",
                     &s, w->err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, old_ds);
    st_bind_int64(s, 2, id);
    rc = st_step(s, w->err);
    json_t *stored = rc == 1 && st_col_text(s, 0) ? json_loads(st_col_text(s, 0), 0, NULL) : NULL;
    sta_release(w->c, s);
    if (rc >= 0)
        rc = md_check_result(w, ds, stored ? stored : json_null());
    json_decref(stored);
    return rc < 0 ? rc : 0;
}

static int update_entity(struct wx *w, enum sta_type t, int64_t id, json_t *o, int put)
{
    const struct sta_type_def *def = sta_type_def(t);
    int rc = check_members(w, o, t);
    if (rc)
        return rc;
    json_t *d = json_object_get(o, "Datastream"), *m = json_object_get(o, "MultiDatastream");
    if (t == STA_OBSERVATION && d && !json_is_null(d) && m && !json_is_null(m))
        return fail(w, INSITU_EINVAL, "an Observation belongs to a Datastream or to a "
                                      "MultiDatastream, not to both");
    int64_t members_before = -1;
    if (t == STA_MDS && (rc = md_members(w, id, &members_before)))
        return rc;
    struct setlist l;
    memset(&l, 0, sizeof l);
    int times_changed = 0;
    int64_t old_ds = 0, new_ds = 0, new_start = INSITU_TIME_NONE;
    for (int i = 1; !rc && i < def->nprops; i++) {
        const struct sta_prop *p = &def->props[i];
        if (p->flags & SPF_COMPUTED)
            continue;
        if (!json_object_get(o, p->name)) {
            if (!put)
                continue;
            if (p->flags & SPF_REQUIRED)
                rc = fail(w, INSITU_EINVAL, "PUT replaces the entity: '%s' is required",
                          p->name);
            if (rc || (t == STA_OBSERVATION && strcmp(p->name, "phenomenonTime") == 0))
                continue;
        }
        rc = update_prop(w, t, p, o, &l, &times_changed, &new_start);
    }
    for (int i = 0; !rc && i < def->nnavs; i++) {
        const struct sta_nav *nav = &def->navs[i];
        json_t *v = json_object_get(o, nav->name);
        if (!v || json_is_null(v))
            continue;
        rc = nav->many ? update_links(w, t, id, nav, v) : update_link(w, t, id, nav, v, &l,
                                                                      &new_ds);
    }
    if (!rc && t == STA_OBSERVATION)
        rc = observation_move(w, id, new_ds, new_start, &old_ds, &l);
    if (!rc && t == STA_OBSERVATION)
        rc = observation_result_fits(w, id, o, old_ds, new_ds);
    if (!rc && t == STA_OBSERVATION && (l.n || times_changed)) {
        int64_t run_id = w->run_id;
        set_col(&l, "run_id", 'i', run_id, 0, NULL);
    }
    if (!rc && l.n) {
        struct strbuf sql = {0};
        sb_printf(&sql, "UPDATE %s SET %s WHERE id = ?", def->table, sb_str(&l.sql));
        struct stmt *s;
        rc = sta_prepare(w->c, sb_str(&sql), &s, w->err);
        sb_free(&sql);
        if (!rc) {
            int k = 0;
            for (; k < l.nv; k++) {
                switch (l.v[k].type) {
                case 'i': st_bind_int64(s, k + 1, l.v[k].i); break;
                case 'T': st_bind_time(s, k + 1, l.v[k].i); break;
                case 'd': st_bind_double(s, k + 1, l.v[k].d); break;
                case 'n': st_bind_null(s, k + 1); break;
                default: st_bind_text(s, k + 1, l.v[k].s); break;
                }
            }
            st_bind_int64(s, k + 1, id);
            rc = st_step(s, w->err);
            sta_release(w->c, s);
            if (rc == INSITU_ECONFLICT) /* another request took the place read above */
                rc = fail(w, INSITU_ECONFLICT, "another write took this Observation's place "
                                               "at its phenomenonTime meanwhile: try again");
            else if (rc == INSITU_ESTORE && t == STA_LOCATION)
                rc = fail(w, INSITU_EINVAL, "'location' is not a valid GeoJSON geometry");
            rc = rc < 0 ? rc : 0;
        }
    }
    if (!rc && t == STA_OBSERVATION) {
        if (times_changed || (new_ds && new_ds != old_ds))
            rc = store_recompute_summary(w->st, old_ds, w->err);
        if (!rc && new_ds && new_ds != old_ds)
            rc = store_recompute_summary(w->st, new_ds, w->err);
        else if (!rc && !times_changed && json_object_get(o, "FeatureOfInterest"))
            rc = store_recompute_area(w->st, old_ds, w->err); /* observedArea */
    }
    if (!rc && t == STA_FEATURE && json_object_get(o, "feature"))
        rc = store_recompute_areas_of_feature(w->st, id, w->err);
    if (!rc && t == STA_MDS)
        rc = md_check_lengths(w, id, members_before);
    setlist_free(&l);
    return rc;
}

/* ==== CreateObservations (the dataArray extension) ==== */

enum comp { C_ID, C_PHEN, C_RESULT_TIME, C_RESULT, C_QUALITY, C_VALID, C_PARAMS, C_FOI };

static int component_of(const char *name)
{
    static const char *const names[] = {"id", "phenomenonTime", "resultTime", "result",
                                        "resultQuality", "validTime", "parameters",
                                        "FeatureOfInterest/id"};
    for (int k = 0; k < (int)ARRAY_LEN(names); k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    if (strcmp(name, "@iot.id") == 0)
        return C_ID;
    return -1;
}

struct row_result {
    size_t k;    /* the observation's position in the writer (bw_created_id) */
    char *error; /* or why the row was not written */
};

/* One row of a dataArray into an observation; a bad row gets an error and nothing else. */
static int data_row(struct wx *w, int64_t ds, int multi, const int *comps, size_t ncomp,
                    json_t *row, struct row_result *out)
{
    insitu_error row_err = {0};
    insitu_error *saved = w->err;
    w->err = &row_err;
    struct obs_input in;
    memset(&in, 0, sizeof in);
    in.r.datastream_id = ds;
    in.r.result_time = INSITU_TIME_NONE;
    in.r.phenomenon_start = in.r.phenomenon_end = INSITU_TIME_NONE;
    in.valid_start = in.valid_end = INSITU_TIME_NONE;
    int rc = 0, bad = 0;
    if (!json_is_array(row) || json_array_size(row) != ncomp) {
        bad = fail(w, INSITU_EINVAL, "a row must be an array of %zu values", ncomp);
    }
    json_t *holder = json_object();
    for (size_t k = 0; !bad && k < ncomp; k++) {
        json_t *v = json_array_get(row, k);
        int64_t end;
        switch (comps[k]) {
        case C_PHEN:
            json_object_set(holder, "phenomenonTime", v);
            bad = get_time(w, holder, "phenomenonTime", &in.r.phenomenon_start,
                           &in.r.phenomenon_end, 1);
            break;
        case C_RESULT_TIME:
            json_object_set(holder, "resultTime", v);
            bad = get_time(w, holder, "resultTime", &in.r.result_time, &end, 0);
            break;
        case C_RESULT:
            bad = multi ? md_check_result(w, ds, v) : 0;
            if (!bad)
                bad = set_result(w, v, &in);
            break;
        case C_QUALITY:
            in.quality = any_text(v);
            in.r.quality = in.quality;
            break;
        case C_VALID:
            json_object_set(holder, "validTime", v);
            bad = get_valid_time(w, holder, &in.valid_start, &in.valid_end);
            break;
        case C_PARAMS:
            if (v && !json_is_null(v) && !json_is_object(v))
                bad = fail(w, INSITU_EINVAL, "'parameters' must be an object");
            else if (v && !json_is_null(v))
                in.r.parameters = in.params = json_text(v);
            break;
        case C_FOI: {
            int64_t f = 0;
            int yes = 0;
            if (json_is_integer(v))
                f = json_integer_value(v);
            else if (!json_is_string(v) || parse_int64(json_string_value(v),
                                                        strlen(json_string_value(v)), &f))
                f = -1;
            if (f > 0 && (rc = exists(w, STA_FEATURE, f, &yes)))
                break;
            if (!yes)
                bad = fail(w, INSITU_EINVAL, "FeatureOfInterest/id: no such FeatureOfInterest");
            in.r.feature_id = f;
            break;
        }
        default: break;
        }
    }
    json_decref(holder);
    if (!bad && !rc && in.r.phenomenon_start == INSITU_TIME_NONE)
        in.r.phenomenon_start = w->c->now_us;
    if (!bad && !rc && !in.r.feature_id)
        bad = auto_feature(w, ds, &in.r.feature_id);
    w->err = saved;
    if (!bad && !rc)
        rc = queue_observation(w, &in, &out->k);
    if (rc) {
        obs_input_free(&in);
        return rc;
    }
    if (bad) {
        /* a database failure is the request's; anything else is this row's */
        if (row_err.code == INSITU_ESTORE || row_err.code == INSITU_EBUSY ||
            row_err.code == INSITU_ENOMEM) {
            *w->err = row_err;
            obs_input_free(&in);
            return row_err.code;
        }
        struct strbuf msg = {0};
        sb_printf(&msg, "error: %s", row_err.message);
        out->error = msg.data;
    }
    obs_input_free(&in);
    return 0;
}

static int create_observations(struct wx *w, json_t *body, const char *base,
                               struct sta_response *resp)
{
    if (!json_is_array(body)) {
        abandon(w);
        return fail(w, INSITU_EINVAL, "CreateObservations takes an array of {Datastream (or "
                                      "MultiDatastream), components, dataArray}");
    }
    struct row_result *rows = NULL;
    size_t nrows = 0, cap = 0, gi;
    json_t *g;
    int rc = 0;
    json_array_foreach(body, gi, g)
    {
        size_t mark = where_push(w, "", (int)gi);
        int64_t ds = 0;
        json_t *comps = json_object_get(g, "components"), *data = json_object_get(g, "dataArray");
        int ci[16];
        size_t ncomp = 0;
        if (!json_is_object(g))
            rc = fail(w, INSITU_EINVAL, "must be an object");
        else if (!json_is_array(comps) || json_array_size(comps) == 0 ||
                 json_array_size(comps) > 16)
            rc = fail(w, INSITU_EINVAL, "'components' must be an array of 1 to 16 names");
        else if (!json_is_array(data))
            rc = fail(w, INSITU_EINVAL, "'dataArray' must be an array of rows");
        for (size_t k = 0; !rc && k < json_array_size(comps); k++) {
            json_t *c = json_array_get(comps, k);
            int x = json_is_string(c) ? component_of(json_string_value(c)) : -1;
            if (x < 0)
                rc = fail(w, INSITU_EINVAL, "components[%zu]: not an Observation component "
                                            "(phenomenonTime, result, resultTime, "
                                            "resultQuality, validTime, parameters, "
                                            "FeatureOfInterest/id)",
                          k);
            ci[ncomp++] = x;
        }
        int multi = 0;
        if (!rc)
            rc = observation_series(w, g, &ds, &multi);
        size_t ri;
        json_t *row;
        if (!rc) {
            json_array_foreach(data, ri, row)
            {
                if (nrows == cap) {
                    cap = cap ? cap * 2 : 64;
                    struct row_result *p = realloc(rows, cap * sizeof *p);
                    if (!p) {
                        rc = fail(w, INSITU_ENOMEM, "out of memory");
                        break;
                    }
                    rows = p;
                }
                memset(&rows[nrows], 0, sizeof rows[nrows]);
                size_t m2 = where_push(w, "dataArray", (int)ri);
                rc = data_row(w, ds, multi, ci, ncomp, row, &rows[nrows++]);
                where_pop(w, m2);
                if (rc)
                    break;
            }
        }
        where_pop(w, mark);
        if (rc)
            break;
    }
    if (!rc)
        rc = commit(w);
    else
        abandon(w);
    if (!rc)
        tell_changes(w, STA_OBSERVATION, 0, NULL, 0);
    if (!rc) {
        struct strbuf *sb = &resp->body;
        sb_putc(sb, '[');
        for (size_t i = 0; !rc && i < nrows; i++) {
            if (i)
                sb_putc(sb, ',');
            if (rows[i].error) {
                sb_put_json_string(sb, rows[i].error);
                continue;
            }
            int64_t id = bw_created_id(w->bw, rows[i].k);
            struct strbuf link = {0};
            sb_printf(&link, "%s%s/Observations(%lld)", base, STA_VERSION_PATH, (long long)id);
            sb_put_json_string(sb, sb_str(&link));
            sb_free(&link);
        }
        sb_putc(sb, ']');
        resp->status = 201;
    }
    for (size_t i = 0; i < nrows; i++)
        free(rows[i].error);
    free(rows);
    return rc;
}

static void respond_error(struct sta_response *resp, const insitu_error *err, int rc);

/* ==== JSON Patch ==== */

/* A PATCH sent as JSON Patch (RFC 6902): the operations run on the entity's JSON as a GET
 * shows it (read in the request's transaction), and the members they changed are written as
 * an ordinary PATCH, with its checks, summaries and HistoricalLocations; *changes receives
 * that PATCH body (caller decrefs). */
static int json_patch_entity(struct wx *w, const struct sta_request *req,
                             const struct sta_target *t, json_t *patch, json_t **changes)
{
    struct sta_response now = {0};
    sta_write_entity_response(w->c, t->type, t->id, req->base ? req->base : "", 200, &now);
    json_t *doc = NULL, *merge = NULL;
    int rc = 0;
    if (now.status != 200)
        rc = fail(w, now.status == 404 ? INSITU_ENOTFOUND : INSITU_ESTORE,
                  "%s(%lld): the entity to patch cannot be read: %.300s",
                  sta_type_def(t->type)->set, (long long)t->id, sb_str(&now.body));
    else if (!(doc = json_loadb(now.body.data, now.body.len, 0, NULL)))
        rc = fail(w, INSITU_ESTORE, "%s(%lld): the entity to patch is not JSON",
                  sta_type_def(t->type)->set, (long long)t->id);
    if (!rc)
        rc = sta_patch_to_merge(t->type, doc, patch, &merge, w->err);
    if (!rc) {
        size_t mark = where_push(w, "JSON Patch", -1);
        rc = update_entity(w, t->type, t->id, merge, 0);
        where_pop(w, mark);
    }
    if (!rc)
        *changes = merge;
    else
        json_decref(merge);
    json_decref(doc);
    sta_response_free(&now);
    return rc;
}

/* ==== DELETE of a collection with $filter ==== */

/* Entities (other than Observations) deleted per round: the ids of one round are held, never
 * the whole selection. */
enum { DELETE_CHUNK = 256 };

/* The request's $filter (parsed as a GET parses it) into q; any other query option is
 * refused, and so is a DELETE of a collection without $filter. */
static int delete_options(struct wx *w, const struct sta_request *req, struct sta_query *q)
{
    for (size_t i = 0; i < req->nparams; i++) {
        const char *k = req->params[i].key;
        int rc = 0;
        if (strcmp(k, "$filter") == 0)
            rc = sq_parse_option(q, k, req->params[i].value, 0, w->err);
        else if (k[0] == '$')
            rc = fail(w, INSITU_EINVAL, "%.40s: not allowed on a DELETE (a $filter alone "
                                        "selects what a DELETE of a collection removes)",
                      k);
        if (rc)
            return rc;
    }
    if (!q->filter)
        return fail(w, INSITU_EINVAL,
                    "a DELETE of a collection needs a $filter selecting what to delete "
                    "(/v1.1/Datastreams(1)/Observations?$filter=phenomenonTime lt "
                    "2020-01-01T00:00:00Z); to delete every entity of the collection, say "
                    "so: $filter=true");
    return 0;
}

/* Runs f to its end; *changes receives the rows it changed. */
static int run_frag(struct wx *w, const struct sqlfrag *f, int64_t *changes)
{
    struct stmt *s;
    int rc = sta_prepare(w->c, sb_str(&f->sql), &s, w->err);
    if (rc)
        return rc;
    int idx = 1;
    frag_bind(f, s, &idx);
    while ((rc = st_step(s, w->err)) == 1)
        ;
    sta_release(w->c, s);
    if (rc < 0)
        return rc;
    *changes = w->st->ops->changes(w->st);
    return 0;
}

/* " AND (<filter>)" on alias e. */
static int filter_frag(struct wx *w, enum sta_type t, const struct fexpr *filter,
                       struct sqlfrag *f)
{
    frag_puts(f, " AND (");
    int rc = filter_sql(filter, t, "e", w->st->dialect, w->c->now_us, f, w->err);
    frag_puts(f, ")");
    return rc;
}

/* The Datastreams that hold the Observations selected (by the filter, and of FeatureOfInterest
 * foi when not 0): as many ids as Datastreams, whatever the number of Observations. */
static int selected_datastreams(struct wx *w, const struct fexpr *filter, int64_t foi,
                                struct idlist *dss)
{
    struct sqlfrag f = {0};
    frag_puts(&f, "SELECT DISTINCT e.datastream_id FROM observations e WHERE 1 = 1");
    if (foi) {
        frag_puts(&f, " AND e.feature_id = ");
        frag_int(&f, foi);
    }
    int rc = filter_frag(w, STA_OBSERVATION, filter, &f);
    struct stmt *s = NULL;
    if (!rc)
        rc = sta_prepare(w->c, sb_str(&f.sql), &s, w->err);
    if (!rc) {
        int idx = 1;
        frag_bind(&f, s, &idx);
        while ((rc = st_step(s, w->err)) == 1)
            if ((rc = collect_id(w, st_col_int64(s, 0), 0, dss)))
                break;
        sta_release(w->c, s);
    }
    frag_free(&f);
    return rc < 0 ? rc : 0;
}

/* Observations: deleted in SQL, one statement per Datastream (its index leads to them), each
 * Datastream's summary recomputed after. */
static int delete_observations_where(struct wx *w, const struct sta_target *t,
                                     const struct fexpr *filter, int64_t *n)
{
    struct idlist dss = {0};
    int64_t foi = t->has_parent && t->ptype == STA_FEATURE ? t->pid : 0;
    int rc = t->has_parent && (t->ptype == STA_DATASTREAM || t->ptype == STA_MDS)
                 ? collect_id(w, t->pid, 0, &dss)
                 : selected_datastreams(w, filter, foi, &dss);
    struct sqlfrag del = {0};
    frag_puts(&del, "DELETE FROM observations AS e WHERE e.datastream_id = ");
    frag_int(&del, 0); /* the Datastream: the first value, set per statement */
    if (foi) {
        frag_puts(&del, " AND e.feature_id = ");
        frag_int(&del, foi);
    }
    if (!rc)
        rc = filter_frag(w, STA_OBSERVATION, filter, &del);
    for (size_t i = 0; !rc && i < dss.n; i++) {
        int64_t gone = 0;
        del.vals[0].i = dss.ids[i];
        rc = run_frag(w, &del, &gone);
        if (!rc && gone) {
            *n += gone;
            w->n_deleted += (uint64_t)gone;
            rc = store_recompute_summary(w->st, dss.ids[i], w->err);
        }
    }
    frag_free(&del);
    free(dss.ids);
    return rc;
}

/* Other entities: chosen DELETE_CHUNK at a time in id order, each deleted with the cascades
 * of a single DELETE. */
static int delete_entities_where(struct wx *w, const struct sta_target *t,
                                 const struct fexpr *filter, int64_t *n)
{
    struct sqlfrag sel = {0};
    frag_printf(&sel, "SELECT e.id FROM %s e WHERE e.id > ", sta_type_def(t->type)->table);
    frag_int(&sel, 0); /* the last id of the previous round: the first value */
    if (t->has_parent) {
        frag_printf(&sel, " AND EXISTS (SELECT 1 FROM %s s WHERE s.id = ",
                    sta_type_def(t->ptype)->table);
        frag_int(&sel, t->pid);
        frag_puts(&sel, " AND ");
        frag_printf(&sel, t->pnav->cond, "s", "e");
        frag_puts(&sel, ")");
    }
    sta_where_sql(&sel.sql, t->type, "e");
    int rc = filter_frag(w, t->type, filter, &sel);
    frag_printf(&sel, " ORDER BY e.id LIMIT %d", DELETE_CHUNK);
    int64_t ids[DELETE_CHUNK];
    size_t k = DELETE_CHUNK;
    while (!rc && k == DELETE_CHUNK) {
        struct stmt *s;
        k = 0;
        rc = sta_prepare(w->c, sb_str(&sel.sql), &s, w->err);
        if (rc)
            break;
        int idx = 1;
        frag_bind(&sel, s, &idx);
        while (k < DELETE_CHUNK && (rc = st_step(s, w->err)) == 1)
            ids[k++] = st_col_int64(s, 0);
        sta_release(w->c, s);
        rc = rc < 0 ? rc : 0;
        for (size_t i = 0; !rc && i < k; i++)
            rc = delete_entity(w, t->type, ids[i]);
        *n += (int64_t)k;
        if (k)
            sel.vals[0].i = ids[k - 1];
    }
    frag_free(&sel);
    return rc;
}

/* DELETE /v1.1/<collection>?$filter=...: every entity the filter selects, in one transaction,
 * with the cascades and summaries of single DELETEs. Answers 200 with the count deleted. */
static void delete_filtered(struct wx *w, const struct sta_request *req,
                            const struct sta_target *t, struct sta_response *resp)
{
    struct sta_query q;
    sq_init(&q);
    int64_t n = 0;
    int rc = delete_options(w, req, &q);
    if (!rc)
        rc = begin(w);
    if (!rc && t->type == STA_OBSERVATION)
        rc = delete_observations_where(w, t, q.filter, &n);
    else if (!rc)
        rc = delete_entities_where(w, t, q.filter, &n);
    if (!rc)
        rc = commit(w);
    else
        abandon(w);
    sq_free(&q);
    if (rc) {
        respond_error(resp, w->err, rc);
        return;
    }
    const char *set = sta_type_def(t->type)->set;
    resp->status = 200;
    sb_reset(&resp->body);
    sb_printf(&resp->body,
              "{\"code\":200,\"type\":\"success\",\"message\":\"%lld %s deleted\","
              "\"deleted\":%lld}",
              (long long)n, set, (long long)n);
}

/* ==== dispatch ==== */

static void respond_error(struct sta_response *resp, const insitu_error *err, int rc)
{
    int code = err->code ? err->code : rc;
    sta_error(resp, sta_status_of(code), "%s", err->message[0] ? err->message
                                                               : insitu_strerror(code));
}

static int parse_body(struct wx *w, const struct sta_request *req, json_t **out)
{
    json_error_t jerr;
    *out = NULL;
    if (!req->body || !req->body_len)
        return fail(w, INSITU_EINVAL, "the request has no body (a JSON entity is expected)");
    *out = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out)
        return fail(w, INSITU_EINVAL, "the body is not JSON: line %d, column %d: %s",
                    jerr.line, jerr.column, jerr.text);
    return 0;
}

static void do_delete(struct wx *w, const struct sta_request *req, const struct sta_target *t,
                      struct sta_response *resp)
{
    if (t->kind == TG_COLLECTION && !t->ref) {
        delete_filtered(w, req, t, resp);
        return;
    }
    if (t->kind != TG_ENTITY || t->ref) {
        sta_error(resp, 405, "DELETE removes one entity (/v1.1/Things(1)), or the entities of "
                             "a collection that a $filter selects");
        return;
    }
    int rc = begin(w);
    if (!rc)
        rc = target_exists(w, t);
    if (!rc)
        rc = delete_entity(w, t->type, t->id);
    if (!rc)
        rc = commit(w);
    else
        abandon(w);
    if (rc) {
        respond_error(resp, w->err, rc);
    } else {
        resp->status = 200;
        sb_reset(&resp->body);
    }
}

static void do_update(struct wx *w, const struct sta_request *req, const struct sta_target *t,
                      struct sta_response *resp)
{
    if (t->kind != TG_ENTITY || t->ref) {
        sta_error(resp, 405, "%s updates one entity (/v1.1/Things(1))", req->method);
        return;
    }
    int json_patch = strcmp(req->method, "PATCH") == 0 && sta_is_json_patch(req->content_type);
    json_t *body = NULL;
    int rc = parse_body(w, req, &body);
    if (!rc && !json_patch && !json_is_object(body))
        rc = fail(w, INSITU_EINVAL, "the body must be a JSON object");
    if (!rc)
        rc = begin(w);
    if (!rc)
        rc = target_exists(w, t);
    json_t *changes = NULL; /* a JSON Patch's: the members it changed */
    if (!rc && json_patch)
        rc = json_patch_entity(w, req, t, body, &changes);
    else if (!rc)
        rc = update_entity(w, t->type, t->id, body, strcmp(req->method, "PUT") == 0);
    if (!rc)
        rc = commit(w);
    else
        abandon(w);
    if (!rc)
        tell_changes(w, t->type, t->id, changes ? changes : body,
                     strcmp(req->method, "PUT") == 0);
    json_decref(changes);
    json_decref(body);
    if (rc)
        respond_error(resp, w->err, rc);
    else
        sta_write_entity_response(w->c, t->type, t->id, req->base ? req->base : "", 200, resp);
}

static void do_post(struct wx *w, const struct sta_request *req, const struct sta_target *t,
                    struct sta_response *resp)
{
    const char *base = req->base ? req->base : "";
    json_t *body = NULL;
    int rc = parse_body(w, req, &body);
    if (!rc && t->kind == TG_CREATE_OBS) {
        rc = begin(w);
        if (!rc) {
            sb_reset(&resp->body);
            rc = create_observations(w, body, base, resp);
        } else {
            abandon(w);
        }
    } else if (!rc && (t->kind != TG_COLLECTION || t->ref)) {
        json_decref(body);
        sta_error(resp, 405, "POST creates entities in a collection (/v1.1/Things, "
                             "/v1.1/Datastreams(1)/Observations)");
        return;
    } else if (!rc) {
        /* a new Observation's id is known once the request's observations are written */
        int64_t id = 0;
        size_t k = 0;
        struct parent p = {t->ptype, t->pid};
        if (!json_is_object(body))
            rc = fail(w, INSITU_EINVAL, "the body must be a JSON object (one %s)",
                      sta_type_def(t->type)->name);
        if (!rc)
            rc = begin(w);
        if (!rc)
            rc = check_members(w, body, t->type);
        if (!rc && t->type == STA_OBSERVATION)
            rc = create_observation(w, body, t->has_parent ? &p : NULL, &k);
        else if (!rc)
            rc = create(w, t->type, body, t->has_parent ? &p : NULL, &id);
        if (!rc)
            rc = commit(w);
        else
            abandon(w);
        if (!rc && t->type == STA_OBSERVATION)
            id = bw_created_id(w->bw, k);
        if (!rc)
            tell_changes(w, t->type, id, NULL, 0);
        if (!rc) {
            snprintf(resp->location, sizeof resp->location, "%s%s/%s(%lld)", base,
                     STA_VERSION_PATH, sta_type_def(t->type)->set, (long long)id);
            sta_write_entity_response(w->c, t->type, id, base, 201, resp);
        }
    }
    json_decref(body);
    if (rc)
        respond_error(resp, w->err, rc);
}

void sta_write(struct sta_conn *c, const struct sta_request *req, const struct sta_target *t,
               struct sta_response *resp)
{
    insitu_error err = {0};
    struct wx w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.st = c->st;
    w.err = &err;
    w.user = req->user;
    if (strcmp(req->method, "DELETE") == 0)
        do_delete(&w, req, t, resp);
    else if (strcmp(req->method, "PATCH") == 0 || strcmp(req->method, "PUT") == 0)
        do_update(&w, req, t, resp);
    else
        do_post(&w, req, t, resp);
    bw_delete(w.bw);
    sb_free(&w.where);
    free(w.valid);
    free(w.made);
}
