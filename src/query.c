/*
 * query.c: observation queries for the CLI and exports. First selects the matching
 * datastreams (a small set), then reads each one's series as one range scan on
 * (datastream_id, phenomenon_start); aggregates (hour/day/month/year) are computed here,
 * streaming, so they work the same on every backend.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "timeutil.h"
#include "util.h"

struct ds_meta {
    int64_t id;
    char *thing, *property, *definition, *unit, *sensor;
};

struct insitu_cursor {
    struct store *st;
    insitu_query q;
    int with_features;
    struct ds_meta *ds;
    size_t n_ds, cur_ds;
    struct stmt *series;
    int series_open;
    int64_t emitted;
    /* aggregation state */
    int have_pending;     /* a row read but not yet consumed */
    int64_t p_start;
    int p_has;
    double p_value;
    int64_t bucket_start, bucket_end, count, n_valid;
    double sum, min, max;
};

static void ds_meta_free(struct ds_meta *m)
{
    free(m->thing);
    free(m->property);
    free(m->definition);
    free(m->unit);
    free(m->sensor);
}

/* Selects the datastreams of the query, ordered by id. */
static int select_datastreams(struct insitu_cursor *c, insitu_error *err)
{
    struct store *st = c->st;
    const insitu_query *q = &c->q;
    int64_t thing_id = 0;
    if (q->thing) {
        int rc = store_find_thing(st, q->thing, &thing_id, err);
        if (rc)
            return rc;
    }
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT d.id, t.name, ");
    ds_property_label_sql(st->dialect, &sql);
    sb_puts(&sql, ", p.definition, CASE WHEN d.unit_symbol <> '' THEN "
                  "d.unit_symbol ELSE d.unit_name END, s.name FROM datastreams d "
                  "JOIN things t ON t.id = d.thing_id "
                  "JOIN observed_properties p ON p.id = d.observed_property_id "
                  "JOIN sensors s ON s.id = d.sensor_id WHERE 1 = 1");
    if (q->n_datastreams) {
        sb_puts(&sql, " AND d.id IN (");
        for (size_t i = 0; i < q->n_datastreams; i++)
            sb_puts(&sql, i ? ", ?" : "?");
        sb_puts(&sql, ")");
    }
    struct ds_select w = {q->thing ? &thing_id : NULL, q->property,
                          q->has_bbox ? q->bbox : NULL};
    int rc = ds_select_check_property(st, &w, q->thing, err);
    if (rc) {
        sb_free(&sql);
        return rc;
    }
    ds_select_sql(st->dialect, &w, &sql);
    sb_puts(&sql, " ORDER BY d.id");
    struct stmt *s;
    rc = st_prepare(st, sql.data, &s, err);
    sb_free(&sql);
    if (rc)
        return rc;
    int idx = 1;
    for (size_t i = 0; i < q->n_datastreams; i++)
        st_bind_int64(s, idx++, q->datastreams[i]);
    ds_select_bind(st->dialect, &w, s, &idx);
    size_t cap = 0;
    while ((rc = st_step(s, err)) == 1) {
        if (c->n_ds == cap) {
            cap = cap ? cap * 2 : 16;
            struct ds_meta *p = realloc(c->ds, cap * sizeof *p);
            if (!p) {
                rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
                break;
            }
            c->ds = p;
        }
        struct ds_meta *m = &c->ds[c->n_ds++];
        m->id = st_col_int64(s, 0);
        m->thing = xstrdup(st_col_text(s, 1));
        m->property = xstrdup(st_col_text(s, 2));
        m->definition = xstrdup(st_col_text(s, 3));
        m->unit = xstrdup(st_col_text(s, 4));
        m->sensor = xstrdup(st_col_text(s, 5));
    }
    st_finalize(s);
    if (rc < 0)
        return rc;
    if (q->n_datastreams && c->n_ds < q->n_datastreams) {
        /* name the first id that matched nothing */
        for (size_t i = 0; i < q->n_datastreams; i++) {
            int found = 0;
            for (size_t k = 0; k < c->n_ds && !found; k++)
                found = c->ds[k].id == q->datastreams[i];
            if (!found)
                return insitu_error_set(err, INSITU_ENOTFOUND,
                                        "datastream %lld: no such datastream%s",
                                        (long long)q->datastreams[i],
                                        q->thing || q->property ? " (with these filters)" : "");
        }
    }
    return 0;
}

int insitu_query_open(insitu_store *store, const insitu_query *q, insitu_cursor **out,
                      insitu_error *err)
{
    int with_features = q->with_features;
    *out = NULL;
    struct insitu_cursor *c = calloc(1, sizeof *c);
    if (!c)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    c->st = &store->base;
    c->q = *q;
    c->with_features = with_features;
    int rc = select_datastreams(c, err);
    if (!rc) {
        struct strbuf sql = {0};
        /* a raw row's texts come from the view (its own, or obs_texts'); an aggregate
         * reads the results alone, where the texts would cost a join per row */
        sb_puts(&sql, "SELECT o.id, o.phenomenon_start, o.phenomenon_end, o.result, "
                      "o.result_json, ");
        sb_puts(&sql, q->aggregate ? "NULL, NULL" : "o.result_quality, o.parameters");
        if (with_features) {
            sb_puts(&sql, ", ");
            dialect_geojson_sql(c->st->dialect, &sql, "f", "feature");
        }
        sb_puts(&sql, q->aggregate ? " FROM observations o" : " FROM observations_text o");
        if (with_features)
            sb_puts(&sql, " LEFT JOIN features f ON f.id = o.feature_id");
        sb_puts(&sql, " WHERE o.datastream_id = ? AND o.phenomenon_start >= ? AND "
                      "o.phenomenon_start < ? ORDER BY o.phenomenon_start, o.seq");
        rc = st_prepare(c->st, sql.data, &c->series, err);
        sb_free(&sql);
    }
    if (rc) {
        insitu_cursor_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Steps the series statement, opening the next datastream's series when one ends.
 * 1: a row is on the statement; 0: no more datastreams. */
static int series_step(struct insitu_cursor *c, insitu_error *err)
{
    for (;;) {
        if (!c->series_open) {
            if (c->cur_ds >= c->n_ds)
                return 0;
            st_reset(c->series);
            st_bind_int64(c->series, 1, c->ds[c->cur_ds].id);
            st_bind_int64(c->series, 2, c->q.from_us == INSITU_TIME_NONE ? INT64_MIN : c->q.from_us);
            st_bind_int64(c->series, 3, c->q.to_us == INSITU_TIME_NONE ? INT64_MAX : c->q.to_us);
            c->series_open = 1;
        }
        int rc = st_step(c->series, err);
        if (rc != 0)
            return rc;
        c->series_open = 0;
        c->cur_ds++;
        return 2; /* a series ended */
    }
}

static void fill_meta(const struct insitu_cursor *c, const struct ds_meta *m, insitu_obs *row)
{
    memset(row, 0, sizeof *row);
    row->datastream_id = m->id;
    row->thing = m->thing;
    row->observed_property = m->property;
    row->observed_property_definition = m->definition;
    row->unit = m->unit;
    row->sensor = m->sensor;
    row->phenomenon_end_us = INSITU_TIME_NONE;
    (void)c;
}

static int next_raw(struct insitu_cursor *c, insitu_obs *row, insitu_error *err)
{
    int rc;
    while ((rc = series_step(c, err)) == 2)
        ;
    if (rc <= 0)
        return rc;
    struct stmt *s = c->series;
    fill_meta(c, &c->ds[c->cur_ds], row);
    row->id = st_col_int64(s, 0);
    row->phenomenon_start_us = st_col_int64(s, 1);
    row->phenomenon_end_us = st_col_time(s, 2);
    row->has_result = !st_col_is_null(s, 3);
    row->result = row->has_result ? st_col_double(s, 3) : 0;
    row->result_json = st_col_text(s, 4);
    row->result_quality = st_col_text(s, 5);
    row->parameters = st_col_text(s, 6);
    row->feature_geojson = c->with_features ? st_col_text(s, 7) : NULL;
    row->count = 1;
    return 1;
}

static void bucket_reset(struct insitu_cursor *c, int64_t t)
{
    c->bucket_start = time_floor(t, c->q.aggregate, &c->bucket_end);
    c->count = c->n_valid = 0;
    c->sum = 0;
    c->min = DBL_MAX;
    c->max = -DBL_MAX;
}

static void bucket_add(struct insitu_cursor *c, int has, double v)
{
    c->count++;
    if (!has)
        return;
    c->n_valid++;
    c->sum += v;
    if (v < c->min)
        c->min = v;
    if (v > c->max)
        c->max = v;
}

static void bucket_emit(struct insitu_cursor *c, const struct ds_meta *m, insitu_obs *row)
{
    fill_meta(c, m, row);
    row->phenomenon_start_us = c->bucket_start;
    row->phenomenon_end_us = c->bucket_end;
    row->count = c->n_valid;
    row->has_result = c->n_valid > 0 || c->q.stat == INSITU_STAT_COUNT;
    switch (c->q.stat) {
    case INSITU_STAT_MEAN: row->result = c->n_valid ? c->sum / (double)c->n_valid : 0; break;
    case INSITU_STAT_MIN: row->result = c->min; break;
    case INSITU_STAT_MAX: row->result = c->max; break;
    case INSITU_STAT_SUM: row->result = c->sum; break;
    case INSITU_STAT_COUNT: row->result = (double)c->n_valid; break;
    }
}

/* Aggregates: consumes raw rows of one datastream into buckets. */
static int next_aggregate(struct insitu_cursor *c, insitu_obs *row, insitu_error *err)
{
    for (;;) {
        if (!c->have_pending) {
            int rc = series_step(c, err);
            if (rc < 0)
                return rc;
            if (rc == 0 || rc == 2) {
                /* end of a series (or of all): flush the open bucket */
                if (c->count) {
                    bucket_emit(c, &c->ds[c->cur_ds - 1], row);
                    c->count = 0;
                    return 1;
                }
                if (rc == 0)
                    return 0;
                continue;
            }
            c->p_start = st_col_int64(c->series, 1);
            c->p_has = !st_col_is_null(c->series, 3);
            c->p_value = c->p_has ? st_col_double(c->series, 3) : 0;
            c->have_pending = 1;
        }
        if (c->count && c->p_start >= c->bucket_end) {
            bucket_emit(c, &c->ds[c->cur_ds], row);
            c->count = 0;
            return 1;
        }
        if (!c->count)
            bucket_reset(c, c->p_start);
        bucket_add(c, c->p_has, c->p_value);
        c->have_pending = 0;
    }
}

int insitu_cursor_next(insitu_cursor *c, insitu_obs *row, insitu_error *err)
{
    if (c->q.limit && c->emitted >= c->q.limit)
        return 0;
    int rc = c->q.aggregate ? next_aggregate(c, row, err) : next_raw(c, row, err);
    if (rc == 1)
        c->emitted++;
    return rc;
}

void insitu_cursor_close(insitu_cursor *c)
{
    if (!c)
        return;
    st_finalize(c->series);
    for (size_t i = 0; i < c->n_ds; i++)
        ds_meta_free(&c->ds[i]);
    free(c->ds);
    free(c);
}
