/*
 * store.c: everything about the store that does not depend on the backend: choosing the
 * backend from the URI, statement helpers, entity upserts by natural key. It never names a
 * backend: SQL here is the common dialect, and what differs comes from st->dialect.
 */
#include "store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct store_ops *const backends[] = {
    &store_sqlite_ops,
#ifdef HAVE_STORE_PG
    &store_pg_ops,
#endif
};

int insitu_store_open(const char *uri, unsigned flags, insitu_store **out, insitu_error *err)
{
    *out = NULL;
    if (!uri || !*uri)
        return insitu_error_set(err, INSITU_EUSAGE, "no store given");
    for (size_t i = 0; i < ARRAY_LEN(backends); i++) {
        if (!backends[i]->accepts(uri))
            continue;
        struct store *st = NULL;
        int rc = backends[i]->open(uri, flags, &st, err);
        if (rc)
            return rc;
        if (flags & INSITU_OPEN_CREATE) {
            rc = st->ops->init(st, err);
            if (rc) {
                st->ops->close(st);
                return rc;
            }
        } else if (st->ops->schema_version(st) == 0) {
            st->ops->close(st);
            return insitu_error_set(err, INSITU_ENOTFOUND,
                                    "%s: not an insitu store (run 'insitu --store %s init')", uri,
                                    uri);
        }
        *out = (insitu_store *)st;
        return 0;
    }
    return insitu_error_set(err, INSITU_EUSAGE, "%s: no backend takes this store URI", uri);
}

void insitu_store_close(insitu_store *store)
{
    if (store)
        store->base.ops->close(&store->base);
}

int insitu_store_init(insitu_store *store, insitu_error *err)
{
    return store->base.ops->init(&store->base, err);
}

int insitu_store_schema_version(insitu_store *store)
{
    return store->base.ops->schema_version(&store->base);
}

const char *insitu_store_backend(const insitu_store *store) { return store->base.ops->name; }

void dialect_bbox_sql(const struct sql_dialect *d, struct strbuf *sql, const char *alias,
                      const char *table)
{
    sb_printf(sql, d->bbox_filter, alias, table);
}

void dialect_bbox_bind(const struct sql_dialect *d, struct stmt *s, int *idx, const double bbox[4])
{
    for (int r = 0; r < d->bbox_repeat; r++)
        for (int k = 0; k < 4; k++)
            st_bind_double(s, (*idx)++, bbox[k]);
}

/* ---- statement helpers ---- */

int st_prepare(struct store *st, const char *sql, struct stmt **out, insitu_error *err)
{
    return st->ops->prepare(st, sql, out, err);
}
int st_prepare_cached(struct store *st, enum stmt_slot slot, const char *sql, struct stmt **out,
                      insitu_error *err)
{
    if (!st->slots[slot]) {
        int rc = st_prepare(st, sql, &st->slots[slot], err);
        if (rc)
            return rc;
        st->slots[slot]->cached = 1;
    }
    *out = st->slots[slot];
    return 0;
}

void store_release_cache(struct store *st)
{
    for (int i = 0; i < SLOT_MAX; i++) {
        if (st->slots[i]) {
            st->slots[i]->cached = 0;
            st_finalize(st->slots[i]);
            st->slots[i] = NULL;
        }
    }
}

int st_step(struct stmt *s, insitu_error *err) { return s->st->ops->step(s, err); }
void st_finalize(struct stmt *s)
{
    if (!s)
        return;
    if (s->cached)
        s->st->ops->reset(s);
    else
        s->st->ops->finalize(s);
}
void st_reset(struct stmt *s) { s->st->ops->reset(s); }
int st_bind_text(struct stmt *s, int idx, const char *v)
{
    return s->st->ops->bind_text(s, idx, v);
}
int st_bind_int64(struct stmt *s, int idx, int64_t v)
{
    return s->st->ops->bind_int64(s, idx, v);
}
int st_bind_double(struct stmt *s, int idx, double v)
{
    return s->st->ops->bind_double(s, idx, v);
}
int st_bind_null(struct stmt *s, int idx) { return s->st->ops->bind_null(s, idx); }
int st_bind_time(struct stmt *s, int idx, int64_t us)
{
    return us == INSITU_TIME_NONE ? st_bind_null(s, idx) : st_bind_int64(s, idx, us);
}
int st_col_is_null(struct stmt *s, int col) { return s->st->ops->column_is_null(s, col); }
int64_t st_col_int64(struct stmt *s, int col) { return s->st->ops->column_int64(s, col); }
double st_col_double(struct stmt *s, int col) { return s->st->ops->column_double(s, col); }
const char *st_col_text(struct stmt *s, int col) { return s->st->ops->column_text(s, col); }
int64_t st_col_time(struct stmt *s, int col)
{
    return st_col_is_null(s, col) ? INSITU_TIME_NONE : st_col_int64(s, col);
}

int st_exec(struct store *st, const char *sql, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    while ((rc = st_step(s, err)) == 1)
        ;
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

int st_query_int64(struct store *st, const char *sql, int64_t *out, insitu_error *err, ...)
{
    struct stmt *s;
    int rc = st_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, err);
    const char *param;
    for (int i = 1; (param = va_arg(ap, const char *)) != NULL; i++)
        st_bind_text(s, i, param);
    va_end(ap);
    rc = st_step(s, err);
    if (rc == 1) {
        *out = st_col_is_null(s, 0) ? 0 : st_col_int64(s, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = insitu_error_set(err, INSITU_ENOTFOUND, "no row");
    }
    st_finalize(s);
    return rc;
}

int st_begin(struct store *st, insitu_error *err)
{
    int rc = st->ops->begin(st, 0, err);
    if (!rc)
        st->in_tx = 1;
    return rc;
}

int st_begin_bulk(struct store *st, insitu_error *err)
{
    int rc = st->ops->begin(st, 1, err);
    if (!rc)
        st->in_tx = 1;
    return rc;
}

int st_commit(struct store *st, insitu_error *err)
{
    int rc = st->ops->commit(st, err);
    if (!rc)
        st->in_tx = 0;
    return rc;
}

void st_rollback(struct store *st)
{
    if (st->in_tx)
        st->ops->rollback(st);
    st->in_tx = 0;
}

/* ---- upserts ---- */

/* Runs a prepared upsert whose last clause is RETURNING id. */
static int run_returning_id(struct stmt *s, int64_t *id, const char *what, insitu_error *err)
{
    int rc = st_step(s, err);
    if (rc == 1) {
        *id = st_col_int64(s, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = insitu_error_set(err, INSITU_ESTORE, "%s: upsert returned no id", what);
    }
    st_finalize(s);
    return rc;
}

static const char *nz(const char *s) { return s ? s : ""; }

int store_upsert_thing(struct store *st, const struct thing_in *t, int64_t *id, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_THING,
                        "INSERT INTO things (namespace, code, name, description, properties) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, code) DO UPDATE SET "
                        "name = excluded.name, description = excluded.description, "
                        "properties = excluded.properties RETURNING id",
                        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, t->ns);
    st_bind_text(s, 2, t->code);
    st_bind_text(s, 3, t->name ? t->name : t->code);
    st_bind_text(s, 4, nz(t->description));
    st_bind_text(s, 5, t->properties);
    return run_returning_id(s, id, "thing", err);
}

int store_upsert_sensor(struct store *st, const struct sensor_in *v, int64_t *id,
                        insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_SENSOR,
                        "INSERT INTO sensors (namespace, code, name, description, encoding_type, "
                        "metadata, properties) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (namespace, code) DO UPDATE SET name = excluded.name, "
                        "description = excluded.description, encoding_type = "
                        "excluded.encoding_type, metadata = excluded.metadata, properties = "
                        "excluded.properties RETURNING id",
                        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, v->ns);
    st_bind_text(s, 2, v->code);
    st_bind_text(s, 3, v->name ? v->name : v->code);
    st_bind_text(s, 4, nz(v->description));
    st_bind_text(s, 5, v->encoding_type ? v->encoding_type : "text/plain");
    st_bind_text(s, 6, nz(v->metadata));
    st_bind_text(s, 7, v->properties);
    return run_returning_id(s, id, "sensor", err);
}

int store_upsert_property(struct store *st, const struct property_in *p, int64_t *id,
                          insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_PROPERTY,
                        "INSERT INTO observed_properties (name, definition, description, "
                        "properties) VALUES (?, ?, ?, ?) ON CONFLICT (definition, name) DO "
                        "UPDATE SET description = excluded.description, properties = "
                        "excluded.properties RETURNING id",
                        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, p->name);
    st_bind_text(s, 2, p->definition);
    st_bind_text(s, 3, nz(p->description));
    st_bind_text(s, 4, p->properties);
    return run_returning_id(s, id, "observed property", err);
}

int store_upsert_datastream(struct store *st, const struct datastream_in *d, int64_t *id,
                            insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(
        st, SLOT_DATASTREAM,
        "INSERT INTO datastreams (thing_id, observed_property_id, sensor_id, qualifier, name, "
        "description, observation_type, unit_name, unit_symbol, unit_definition, properties) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (thing_id, observed_property_id, "
        "sensor_id, qualifier) DO UPDATE SET name = excluded.name, description = "
        "excluded.description, observation_type = excluded.observation_type, unit_name = "
        "excluded.unit_name, unit_symbol = excluded.unit_symbol, unit_definition = "
        "excluded.unit_definition, properties = excluded.properties RETURNING id",
        &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, d->thing_id);
    st_bind_int64(s, 2, d->property_id);
    st_bind_int64(s, 3, d->sensor_id);
    st_bind_text(s, 4, nz(d->qualifier));
    st_bind_text(s, 5, nz(d->name));
    st_bind_text(s, 6, nz(d->description));
    st_bind_text(s, 7, d->observation_type ? d->observation_type : OBSERVATION_TYPE_MEASUREMENT);
    st_bind_text(s, 8, nz(d->unit_name));
    st_bind_text(s, 9, nz(d->unit_symbol));
    st_bind_text(s, 10, nz(d->unit_definition));
    st_bind_text(s, 11, d->properties);
    return run_returning_id(s, id, "datastream", err);
}

/* Inserts or refreshes a geometry row (locations or features) keyed by `key`. */
static int upsert_geometry_row(struct store *st, enum stmt_slot slot, const char *table,
                               const char *geo_col,
                               const char *key, const char *name, const char *description,
                               const char *geojson, const char *properties, int64_t *id,
                               insitu_error *err)
{
    struct strbuf sql = {0};
    /* an unreadable geometry selects no row, so nothing is written and no id returned */
    sb_printf(&sql,
              "INSERT INTO %s (key, name, description, %s, properties, geom) "
              "SELECT ?, ?, ?, ?, ?, g FROM (SELECT %s AS g) AS parsed WHERE g IS NOT NULL "
              "ON CONFLICT (key) DO UPDATE SET name = excluded.name, "
              "description = excluded.description, properties = excluded.properties "
              "RETURNING id",
              table, geo_col, st->dialect->geom_from_geojson);
    struct stmt *s;
    int rc = st_prepare_cached(st, slot, sb_str(&sql), &s, err);
    sb_free(&sql);
    if (rc)
        return rc;
    st_bind_text(s, 1, key);
    st_bind_text(s, 2, name);
    st_bind_text(s, 3, nz(description));
    st_bind_text(s, 4, geojson);
    st_bind_text(s, 5, properties);
    st_bind_text(s, 6, geojson);
    rc = st_step(s, err);
    if (rc == 1) {
        *id = st_col_int64(s, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = insitu_error_set(err, INSITU_EINVAL, "invalid GeoJSON geometry: %.200s", geojson);
    }
    st_finalize(s);
    return rc;
}

int store_upsert_feature(struct store *st, const struct feature_in *f, int64_t *id,
                         insitu_error *err)
{
    return upsert_geometry_row(st, SLOT_FEATURE, "features", "feature", f->key ? f->key : f->geojson,
                               f->name ? f->name : "", f->description, f->geojson, f->properties,
                               id, err);
}

int store_thing_location(struct store *st, int64_t thing_id, const char *name,
                         const char *geojson, int64_t when, insitu_error *err)
{
    struct strbuf key = {0};
    sb_printf(&key, "%lld|%s", (long long)thing_id, geojson);
    int64_t loc_id = 0;
    int rc = upsert_geometry_row(st, SLOT_LOCATION, "locations", "location", sb_str(&key), name, NULL, geojson,
                                 NULL, &loc_id, err);
    sb_free(&key);
    if (rc)
        return rc;
    struct stmt *s;
    rc = st_prepare_cached(st, SLOT_THING_LOCATION,
                    "INSERT INTO thing_locations (thing_id, location_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, thing_id);
    st_bind_int64(s, 2, loc_id);
    rc = st_step(s, err);
    st_finalize(s);
    if (rc < 0 || st->ops->changes(st) == 0)
        return rc < 0 ? rc : 0;
    /* A new current location: the others become history, and the move is recorded. */
    rc = st_prepare(st, "DELETE FROM thing_locations WHERE thing_id = ? AND location_id <> ?", &s,
                    err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, thing_id);
    st_bind_int64(s, 2, loc_id);
    rc = st_step(s, err);
    st_finalize(s);
    if (rc < 0)
        return rc;
    rc = st_prepare(st, "INSERT INTO historical_locations (thing_id, time) VALUES (?, ?) "
                        "RETURNING id",
                    &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, thing_id);
    st_bind_int64(s, 2, when);
    int64_t hl_id;
    rc = run_returning_id(s, &hl_id, "historical location", err);
    if (rc)
        return rc;
    rc = st_prepare(st, "INSERT INTO historical_location_locations (historical_location_id, "
                        "location_id) VALUES (?, ?)",
                    &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, hl_id);
    st_bind_int64(s, 2, loc_id);
    rc = st_step(s, err);
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

int store_recompute_summary(struct store *st, int64_t ds, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare(st,
                        "UPDATE datastreams SET (n_obs, phenomenon_start, phenomenon_end, "
                        "result_time_start, result_time_end) = (SELECT count(*), "
                        "min(phenomenon_start), max(coalesce(phenomenon_end, phenomenon_start)), "
                        "min(result_time), max(result_time) FROM observations WHERE "
                        "datastream_id = ?) WHERE id = ?",
                        &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, ds);
    st_bind_int64(s, 2, ds);
    rc = st_step(s, err);
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

int store_find_thing(struct store *st, const char *id_or_name, int64_t *id, insitu_error *err)
{
    int64_t numeric;
    struct stmt *s;
    int rc;
    if (parse_int64(id_or_name, strlen(id_or_name), &numeric) == 0) {
        rc = st_prepare_cached(st, SLOT_FIND_THING_ID, "SELECT id FROM things WHERE id = ?", &s,
                               err);
        if (rc)
            return rc;
        st_bind_int64(s, 1, numeric);
        rc = st_step(s, err);
        if (rc == 1)
            *id = st_col_int64(s, 0);
        st_finalize(s);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
        /* a numeric code (a SWOT reach_id) falls through to the name lookup */
    }
    rc = st_prepare_cached(st, SLOT_FIND_THING_NAME,
                           "SELECT id FROM things WHERE code = ? OR name = ? ORDER BY id LIMIT 2",
                           &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, id_or_name);
    st_bind_text(s, 2, id_or_name);
    int n = 0;
    while ((rc = st_step(s, err)) == 1) {
        if (n++ == 0)
            *id = st_col_int64(s, 0);
    }
    st_finalize(s);
    if (rc < 0)
        return rc;
    if (n == 0)
        return insitu_error_set(err, INSITU_ENOTFOUND, "thing '%s': no such thing", id_or_name);
    if (n > 1)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "thing '%s': several things have this name; give its id",
                                id_or_name);
    return 0;
}
