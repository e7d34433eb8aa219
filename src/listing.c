/*
 * listing.c: the entity listings behind `insitu things`, `datastreams` and `sources`: one
 * SQL query each, streamed through the table writers. Backend-neutral SQL only.
 */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "store.h"
#include "util.h"

struct column {
    const char *name;
    enum cell_type type;
};

/* Streams the rows of a prepared statement; column geom_col (or -1) is the GeoJSON geometry,
 * written as the Feature geometry in GeoJSON and as a JSON column otherwise. */
static int stream_rows(struct stmt *s, const struct column *cols, int ncols, int geom_col,
                       FILE *out, enum out_format format, insitu_error *err)
{
    const char *names[64];
    struct cell cells[64];
    int nout = 0;
    for (int i = 0; i < ncols; i++)
        if (i != geom_col || format != OUT_GEOJSON)
            names[nout++] = cols[i].name;
    struct table_writer tw;
    int rc = tw_begin(&tw, out, format, names, nout, 0);
    while (!rc && (rc = st_step(s, err)) == 1) {
        const char *geometry = NULL;
        int k = 0;
        for (int i = 0; i < ncols; i++) {
            struct cell c = cell_null();
            if (!st_col_is_null(s, i)) {
                switch (cols[i].type) {
                case CELL_INT: c = cell_int(st_col_int64(s, i)); break;
                case CELL_REAL: c = cell_real(st_col_double(s, i)); break;
                case CELL_TIME: c = cell_time(st_col_int64(s, i)); break;
                case CELL_JSON: c = cell_json(st_col_text(s, i)); break;
                default: c = cell_text(st_col_text(s, i)); break;
                }
            }
            if (i == geom_col && format == OUT_GEOJSON)
                geometry = c.s;
            else
                cells[k++] = c;
        }
        rc = tw_row(&tw, cells, geometry);
        if (rc)
            rc = insitu_error_set(err, INSITU_EIO, "cannot write output");
    }
    if (rc < 0) {
        sb_free(&tw.line);
        return rc;
    }
    return tw_end(&tw) ? insitu_error_set(err, INSITU_EIO, "cannot write output") : 0;
}

static int parse_format(const char *format, int allow_wml, insitu_error *err)
{
    int f = out_format_parse(format ? format : "csv");
    if (f < 0 || (f == OUT_WATERML2 && !allow_wml))
        return insitu_error_set(err, INSITU_EUSAGE, "format '%s': expected csv, json%s",
                                format, allow_wml ? ", geojson or waterml2" : " or geojson");
    return f;
}

int insitu_export_things(insitu_store *store, const insitu_filter *f, FILE *out,
                         const char *format, insitu_error *err)
{
    struct store *st = &store->base;
    int fmt = parse_format(format, 0, err);
    if (fmt < 0)
        return fmt;
    static const struct column cols[] = {
        {"id", CELL_INT},          {"name", CELL_TEXT},        {"code", CELL_TEXT},
        {"namespace", CELL_TEXT},  {"description", CELL_TEXT}, {"datastreams", CELL_INT},
        {"location", CELL_JSON},   {"properties", CELL_JSON}};
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT t.id, t.name, t.code, t.namespace, t.description, (SELECT count(*) "
                  "FROM datastreams d WHERE d.thing_id = t.id), ");
    dialect_geojson_sql(st->dialect, &sql, "l", "location");
    sb_puts(&sql, ", t.properties FROM things t LEFT JOIN thing_locations tl ON tl.thing_id = "
                  "t.id LEFT JOIN locations l ON l.id = tl.location_id WHERE 1 = 1");
    int64_t thing_id = 0;
    if (f && f->thing) {
        int rc = store_find_thing(st, f->thing, &thing_id, err);
        if (rc) {
            sb_free(&sql);
            return rc;
        }
        sb_puts(&sql, " AND t.id = ?");
    }
    if (f && f->has_bbox) {
        sb_puts(&sql, " AND ");
        dialect_bbox_sql(st->dialect, &sql, "l", "locations");
    }
    sb_puts(&sql, " ORDER BY t.id");
    struct stmt *s;
    int rc = st_prepare(st, sql.data, &s, err);
    sb_free(&sql);
    if (rc)
        return rc;
    int idx = 1;
    if (f && f->thing)
        st_bind_int64(s, idx++, thing_id);
    if (f && f->has_bbox)
        dialect_bbox_bind(st->dialect, s, &idx, f->bbox);
    rc = stream_rows(s, cols, (int)ARRAY_LEN(cols), 6, out, fmt, err);
    st_finalize(s);
    return rc;
}

int insitu_export_datastreams(insitu_store *store, const insitu_filter *f, FILE *out,
                              const char *format, insitu_error *err)
{
    struct store *st = &store->base;
    int fmt = parse_format(format, 0, err);
    if (fmt < 0)
        return fmt;
    static const struct column cols[] = {
        {"id", CELL_INT},                  {"thing_id", CELL_INT},
        {"thing", CELL_TEXT},              {"observed_property", CELL_TEXT},
        {"definition", CELL_TEXT},         {"unit", CELL_TEXT},
        {"sensor", CELL_TEXT},             {"observations", CELL_INT},
        {"phenomenon_start", CELL_TIME},   {"phenomenon_end", CELL_TIME},
        {"name", CELL_TEXT},               {"location", CELL_JSON},
        {"properties", CELL_JSON}};
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT d.id, d.thing_id, t.name, ");
    ds_property_label_sql(st->dialect, &sql);
    sb_puts(&sql, ", p.definition, CASE WHEN "
                  "d.unit_symbol <> '' THEN d.unit_symbol ELSE d.unit_name END, s.name, d.n_obs, "
                  "d.phenomenon_start, d.phenomenon_end, d.name, (SELECT ");
    dialect_geojson_sql(st->dialect, &sql, "l", "location");
    sb_puts(&sql, " FROM thing_locations tl JOIN locations l ON l.id = tl.location_id WHERE "
                  "tl.thing_id = d.thing_id ORDER BY l.id DESC LIMIT 1), d.properties FROM "
                  "datastreams d JOIN things t ON t.id = d.thing_id JOIN observed_properties p "
                  "ON p.id = d.observed_property_id JOIN sensors s ON s.id = d.sensor_id WHERE "
                  "1 = 1");
    int64_t thing_id = 0;
    struct ds_select w = {0};
    if (f && f->thing) {
        int rc = store_find_thing(st, f->thing, &thing_id, err);
        if (rc) {
            sb_free(&sql);
            return rc;
        }
        w.thing_id = &thing_id;
    }
    if (f) {
        w.property = f->property;
        w.bbox = f->has_bbox ? f->bbox : NULL;
    }
    int rc = ds_select_check_property(st, &w, f ? f->thing : NULL, err);
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
    ds_select_bind(st->dialect, &w, s, &idx);
    rc = stream_rows(s, cols, (int)ARRAY_LEN(cols), 11, out, fmt, err);
    st_finalize(s);
    return rc;
}

int insitu_export_sources(insitu_store *store, FILE *out, const char *format, insitu_error *err)
{
    struct store *st = &store->base;
    int fmt = parse_format(format, 0, err);
    if (fmt < 0)
        return fmt;
    if (fmt == OUT_GEOJSON)
        return insitu_error_set(err, INSITU_EUSAGE, "sources have no geometry: use csv or json");
    static const struct column cols[] = {
        {"run", CELL_INT},           {"status", CELL_TEXT},      {"ingester", CELL_TEXT},
        {"source", CELL_TEXT},       {"version", CELL_TEXT},     {"checksum", CELL_TEXT},
        {"bytes", CELL_INT},         {"started", CELL_TIME},     {"finished", CELL_TIME},
        {"things", CELL_INT},        {"datastreams", CELL_INT},  {"observations", CELL_INT},
        {"inserted", CELL_INT},      {"updated", CELL_INT},      {"deleted", CELL_INT},
        {"null_results", CELL_INT},  {"replaces_run", CELL_INT}, {"message", CELL_TEXT},
        {"settings", CELL_TEXT},     {"source_key", CELL_TEXT}};
    struct stmt *s;
    int rc = st_prepare(st,
                        "SELECT id, status, ingester, source, source_version, checksum, bytes, "
                        "started, finished, n_things, n_datastreams, n_observations, n_inserted, "
                        "n_updated, n_deleted, n_null, replaces_run, message, settings, "
                        "source_key FROM ingest_runs ORDER BY id",
                        &s, err);
    if (rc)
        return rc;
    rc = stream_rows(s, cols, (int)ARRAY_LEN(cols), -1, out, fmt, err);
    st_finalize(s);
    return rc;
}

int insitu_export_query(insitu_store *store, const insitu_query *q, FILE *out,
                        const char *format, uint64_t *rows, insitu_error *err)
{
    int fmt = parse_format(format, 1, err);
    if (fmt < 0)
        return fmt;
    uint64_t n = 0;
    int rc = export_query(store, q, out, fmt, &n, err);
    if (rows)
        *rows = n;
    return rc;
}
