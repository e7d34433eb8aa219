/*
 * raster_sample.c: the "raster-sample" ingester: samples one raster at the stored stations
 * (Things with a Point location) that fall inside it, and emits one Observation per station
 * on a Datastream (station x product variable x product Sensor). Reads Things through the
 * store vtable; never writes SQL. Never chosen by probing: `insitu sample` names it.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest.h"
#include "raster.h"
#include "raster_period.h"
#include "raster_sample.h"
#include "store.h"
#include "timeutil.h"

static const char *const rs_settings[] = {
    "product\tproduct name: the Sensor of the sampled Datastreams (required)",
    "property\tobserved property (default: the NetCDF variable or band description, else "
    "the product)",
    "definition\tobserved property definition URI (default: raster:PRODUCT/PROPERTY)",
    "unit\tunit of the values (default: the band's unit)",
    "namespace\tnamespace of the product Sensor (default: raster)",
    "subdataset\tNetCDF/HDF variable to sample (e.g. sm)",
    "band\tband number (default 1)",
    "bands\tseveral bands in one read: all, or a comma-separated list (1,3,4); one Datastream "
    "per band, its property named from the band's description, else \"band N\"",
    "period\twhat a value holds for: auto (default: from the product's file name), none, "
    "P1D, P1M, P1Y, hydro-year (1 September to 31 August), a duration (P10D) or START/END",
    "window\todd window size N: the value is a statistic of the NxN pixels (default 1)",
    "stat\twindow statistic that becomes the value: mean (default) or median",
    "min_valid\twindow: fewer valid pixels than this give a missing value (default 1)",
    "bilinear\tyes: bilinear interpolation between the 4 nearest pixel centres",
    "mask\tquality/cloud mask raster on the same CRS (e.g. a THEIA MAJA CLM file)",
    "mask_band\tband of the mask (default 1)",
    "mask_bits\tpixel is masked when (mask & bits) != 0, e.g. 0xFF (default: mask != 0)",
    "nodata\tnodata value (default: the band's)",
    "scale\tscale factor: value = stored * scale + offset (default: the band's, else 1)",
    "offset\toffset (default: the band's, else 0)",
    "assume_crs\tCRS of a raster that declares none, e.g. EPSG:4326",
    "date\tacquisition time (ISO 8601) instead of the metadata or file name",
    "date_pattern\tstrftime-like pattern of the date in the file name, e.g. %Y%j",
    "time_var\tper-pixel time variable of a NetCDF file (default t0 when present; none: off)",
    "things\tcomma-separated Thing ids or names to sample (default: all)",
    "bbox\tonly stations inside W,S,E,N",
    "stations\tfingerprint of the selected stations (set by insitu sample)",
    NULL,
};

struct station {
    int64_t id;
    char *code;
    double lon, lat;
};

struct station_list {
    struct station *v;
    size_t n, cap;
};

static void stations_free(struct station_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].code);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int parse_bbox(const char *text, double bbox[4])
{
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        char *end;
        bbox[i] = strtod(p, &end);
        if (end == p || (i < 3 && *end != ',') || (i == 3 && *end))
            return -1;
        p = end + 1;
    }
    return bbox[0] <= bbox[2] && bbox[1] <= bbox[3] ? 0 : -1;
}

/* The ids of the comma-separated things (ids or names). */
static int resolve_things(struct store *st, const char *things, int64_t **ids, size_t *n,
                          insitu_error *err)
{
    *ids = NULL;
    *n = 0;
    char *copy = xstrdup(things);
    if (!copy)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        tok = str_trim(tok);
        if (!*tok)
            continue;
        int64_t *p = realloc(*ids, (*n + 1) * sizeof *p);
        if (!p) {
            rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            break;
        }
        *ids = p;
        rc = store_find_thing(st, tok, &p[*n], err);
        if (!rc)
            (*n)++;
    }
    free(copy);
    if (!rc && !*n)
        rc = insitu_error_set(err, INSITU_EUSAGE, "things: no thing named");
    return rc;
}

/* Point lon/lat of a GeoJSON geometry; -1 for anything but a Point. */
static int point_of(const char *geojson, double *lon, double *lat)
{
    json_t *g = json_loads(geojson, 0, NULL);
    int rc = -1;
    json_t *c = g ? json_object_get(g, "coordinates") : NULL;
    const char *type = g ? json_string_value(json_object_get(g, "type")) : NULL;
    if (type && strcmp(type, "Point") == 0 && json_array_size(c) >= 2 &&
        json_is_number(json_array_get(c, 0)) && json_is_number(json_array_get(c, 1))) {
        *lon = json_number_value(json_array_get(c, 0));
        *lat = json_number_value(json_array_get(c, 1));
        rc = 0;
    }
    json_decref(g);
    return rc;
}

/* Things with a current Point location, selected by ids and boxes (either may be absent),
 * ordered by id. */
static int select_stations(struct store *st, const int64_t *ids, size_t n_ids,
                           const double *bbox_a, const double *bbox_b, struct station_list *out,
                           insitu_error *err)
{
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT t.id, t.code, ");
    dialect_geojson_sql(st->dialect, &sql, "l", "location");
    /* GeometryType is the same function in SpatiaLite and PostGIS: stations are points */
    sb_puts(&sql, " FROM things t JOIN thing_locations tl ON tl.thing_id = t.id JOIN locations l "
                  "ON l.id = tl.location_id WHERE GeometryType(l.geom) = 'POINT'");
    for (int k = 0; k < 2; k++) {
        if ((k ? bbox_b : bbox_a) == NULL)
            continue;
        sb_puts(&sql, " AND ");
        dialect_bbox_sql(st->dialect, &sql, "l", "locations");
    }
    if (n_ids) {
        sb_puts(&sql, " AND t.id IN (");
        for (size_t i = 0; i < n_ids; i++)
            sb_puts(&sql, i ? ", ?" : "?");
        sb_puts(&sql, ")");
    }
    sb_puts(&sql, " ORDER BY t.id");
    struct stmt *s;
    int rc = st_prepare(st, sb_str(&sql), &s, err);
    sb_free(&sql);
    if (rc)
        return rc;
    int idx = 1;
    if (bbox_a)
        dialect_bbox_bind(st->dialect, s, &idx, bbox_a);
    if (bbox_b)
        dialect_bbox_bind(st->dialect, s, &idx, bbox_b);
    for (size_t i = 0; i < n_ids; i++)
        st_bind_int64(s, idx++, ids[i]);
    while ((rc = st_step(s, err)) == 1) {
        double lon, lat;
        const char *loc = st_col_text(s, 2);
        if (!loc || point_of(loc, &lon, &lat))
            continue; /* reaches, lakes: not stations */
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 256;
            struct station *p = realloc(out->v, cap * sizeof *p);
            if (!p) {
                rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
                break;
            }
            out->v = p;
            out->cap = cap;
        }
        struct station *x = &out->v[out->n++];
        x->id = st_col_int64(s, 0);
        x->code = xstrdup(st_col_text(s, 1));
        x->lon = lon;
        x->lat = lat;
    }
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

int raster_sample_stations_digest(insitu_store *store, const char *things, const char *bbox,
                                  char hex[65], size_t *count, double extent[4],
                                  insitu_error *err)
{
    struct store *st = &store->base;
    double box[4];
    if (bbox && parse_bbox(bbox, box))
        return insitu_error_set(err, INSITU_EUSAGE, "bbox '%s': expected W,S,E,N", bbox);
    int64_t *ids = NULL;
    size_t n_ids = 0;
    int rc = things ? resolve_things(st, things, &ids, &n_ids, err) : 0;
    struct station_list l = {0};
    if (!rc)
        rc = select_stations(st, ids, n_ids, bbox ? box : NULL, NULL, &l, err);
    free(ids);
    if (rc)
        return rc;
    struct sha256 h;
    if (sha256_init(&h)) {
        stations_free(&l);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    extent[0] = extent[1] = INFINITY;
    extent[2] = extent[3] = -INFINITY;
    for (size_t i = 0; i < l.n; i++) {
        extent[0] = fmin(extent[0], l.v[i].lon);
        extent[1] = fmin(extent[1], l.v[i].lat);
        extent[2] = fmax(extent[2], l.v[i].lon);
        extent[3] = fmax(extent[3], l.v[i].lat);
        char line[600];
        int len = snprintf(line, sizeof line, "%lld\t%s\t%.17g\t%.17g\n", (long long)l.v[i].id,
                           l.v[i].code ? l.v[i].code : "", l.v[i].lon, l.v[i].lat);
        sha256_update(&h, line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1));
    }
    sha256_final(&h, hex);
    *count = l.n;
    stations_free(&l);
    return 0;
}

/* ---- settings ---- */

struct rs_config {
    const char *product, *property, *definition, *unit, *ns, *things, *bbox_text;
    const char *date_pattern;
    int64_t date;
    int has_bbox;
    double bbox[4];
    struct raster_opts o;
    char qualifier[64];
    const char *bands;  /* "all" or "1,3,4"; NULL: one band */
    const char *period; /* NULL: auto */
    char method[32];    /* the qualifier without its band */
};

/* A setting that read_config refuses: err says it as the ingester does ("raster-sample:
 * KEY=VALUE: cause"), and bad (when not NULL) keeps its parts for the caller to say it in
 * its own words. Returns INSITU_EUSAGE. */
static int bad_setting(struct raster_sample_bad *bad, insitu_error *err, const char *key,
                       const char *value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int bad_setting(struct raster_sample_bad *bad, insitu_error *err, const char *key,
                       const char *value, const char *fmt, ...)
{
    char cause[sizeof bad->cause];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    if (bad) {
        bad->key = key;
        bad->value = value;
        memcpy(bad->cause, cause, sizeof cause);
    }
    return insitu_error_set(err, INSITU_EUSAGE, "raster-sample: %s=%s: %s", key, value, cause);
}

static int setting_double(const struct source *src, const char *key, int *has, double *out,
                          struct raster_sample_bad *bad, insitu_error *err)
{
    const char *v = source_setting(src, key);
    *has = v != NULL;
    if (v && parse_double(v, strlen(v), out))
        return bad_setting(bad, err, key, v, "not a number");
    return 0;
}

static int setting_int(const struct source *src, const char *key, int dflt, int min, int max,
                       int *out, struct raster_sample_bad *bad, insitu_error *err)
{
    const char *v = source_setting(src, key);
    int64_t n = dflt;
    if (v && (parse_int64(v, strlen(v), &n) || n < min || n > max))
        return bad_setting(bad, err, key, v, "expected %d to %d", min, max);
    *out = (int)n;
    return 0;
}

/* "all", or a list of band numbers: 0, or -1 with the cause. */
static int check_bands(const char *bands, char *cause, size_t size)
{
    if (str_ieq(bands, "all"))
        return 0;
    const char *p = bands;
    do {
        char *end;
        long b = strtol(p, &end, 10);
        if (end == p || b < 1 || b > (1 << 20) || (*end && *end != ',')) {
            snprintf(cause, size, "expected all or band numbers such as 1,3,4");
            return -1;
        }
        p = *end ? end + 1 : end;
    } while (*p);
    return 0;
}

/* The bands and period settings (--bands, --period). */
static int read_bands_period(const struct source *src, struct rs_config *c,
                             struct raster_sample_bad *bad, insitu_error *err)
{
    char cause[200];
    c->bands = source_setting(src, "bands");
    if (c->bands && check_bands(c->bands, cause, sizeof cause))
        return bad_setting(bad, err, "bands", c->bands, "%s", cause);
    if (c->bands && source_setting(src, "band"))
        return bad_setting(bad, err, "bands", c->bands, "--band and --bands go separately");
    c->period = source_setting(src, "period");
    if (c->period && raster_period_check(c->period, cause, sizeof cause))
        return bad_setting(bad, err, "period", c->period, "%s", cause);
    if (c->period && str_ieq(c->period, "auto"))
        c->period = NULL;
    return 0;
}

/* The settings of a run; bad (may be NULL) receives what is wrong with the one refused. */
static int read_config(const struct source *src, struct rs_config *c,
                       struct raster_sample_bad *bad, insitu_error *err)
{
    memset(c, 0, sizeof *c);
    c->product = source_setting(src, "product");
    if (!c->product || !*c->product) {
        if (bad)
            *bad = (struct raster_sample_bad){"product", "", "the product is required"};
        return insitu_error_set(err, INSITU_EUSAGE, "raster-sample: the product setting is "
                                "required (insitu sample --product NAME)");
    }
    c->property = source_setting(src, "property");
    c->definition = source_setting(src, "definition");
    c->unit = source_setting(src, "unit");
    c->ns = source_setting(src, "namespace");
    if (!c->ns || !*c->ns)
        c->ns = "raster";
    c->things = source_setting(src, "things");
    c->bbox_text = source_setting(src, "bbox");
    if (c->bbox_text) {
        if (parse_bbox(c->bbox_text, c->bbox))
            return bad_setting(bad, err, "bbox", c->bbox_text, "expected W,S,E,N");
        c->has_bbox = 1;
    }
    c->date_pattern = source_setting(src, "date_pattern");
    c->date = INSITU_TIME_NONE;
    const char *date = source_setting(src, "date");
    insitu_error date_err = {0};
    if (date && time_parse_iso(date, strlen(date), NULL, &c->date, &date_err))
        return bad_setting(bad, err, "date", date, "%s", date_err.message);
    struct raster_opts *o = &c->o;
    o->subdataset = source_setting(src, "subdataset");
    o->assume_crs = source_setting(src, "assume_crs");
    if (o->assume_crs && !raster_crs_known(o->assume_crs))
        return bad_setting(bad, err, "assume_crs", o->assume_crs, "not a CRS GDAL knows");
    o->mask = source_setting(src, "mask");
    o->time_var = source_setting(src, "time_var");
    int rc = setting_int(src, "band", 1, 1, 1 << 20, &o->band, bad, err);
    if (!rc)
        rc = setting_int(src, "mask_band", 1, 1, 1 << 20, &o->mask_band, bad, err);
    if (!rc)
        rc = setting_int(src, "window", 1, 1, 101, &o->window, bad, err);
    if (!rc && o->window % 2 == 0)
        rc = bad_setting(bad, err, "window", source_setting(src, "window"),
                         "expected an odd size (1, 3, 5...)");
    if (!rc)
        rc = setting_int(src, "min_valid", 1, 1, 101 * 101, &o->min_valid, bad, err);
    if (!rc)
        rc = setting_double(src, "nodata", &o->has_nodata, &o->nodata, bad, err);
    if (!rc)
        rc = setting_double(src, "scale", &o->has_scale, &o->scale, bad, err);
    if (!rc)
        rc = setting_double(src, "offset", &o->has_offset, &o->offset, bad, err);
    if (rc)
        return rc;
    const char *bits = source_setting(src, "mask_bits");
    if (bits) {
        char *end;
        o->mask_bits = strtoull(bits, &end, 0);
        if (end == bits || *end)
            return bad_setting(bad, err, "mask_bits", bits,
                               "expected an integer such as 2 or 0x0F");
    }
    const char *stat = source_setting(src, "stat");
    if (stat && !str_ieq(stat, "mean") && !str_ieq(stat, "median"))
        return bad_setting(bad, err, "stat", stat, "expected mean or median");
    o->stat = stat && str_ieq(stat, "median") ? RASTER_MEDIAN : RASTER_MEAN;
    int bilinear = source_setting_bool(src, "bilinear", 0);
    if (bilinear < 0)
        return bad_setting(bad, err, "bilinear", source_setting(src, "bilinear"),
                           "expected yes or no");
    if (bilinear && o->window > 1)
        return bad_setting(bad, err, "window", source_setting(src, "window"),
                           "a window and bilinear interpolation go separately: choose one");
    o->method = bilinear ? RASTER_BILINEAR : o->window > 1 ? RASTER_WINDOW : RASTER_NEAREST;
    char method[32];
    if (o->method == RASTER_WINDOW)
        snprintf(method, sizeof method, "window%d-%s", o->window,
                 o->stat == RASTER_MEDIAN ? "median" : "mean");
    else
        snprintf(method, sizeof method, "%s", bilinear ? "bilinear" : "nearest");
    if (o->band > 1)
        snprintf(c->qualifier, sizeof c->qualifier, "band%d/%s", o->band, method);
    else
        snprintf(c->qualifier, sizeof c->qualifier, "%s", method);
    snprintf(c->method, sizeof c->method, "%s", method);
    return read_bands_period(src, c, bad, err);
}

int raster_sample_check(const char *const *settings, struct raster_sample_bad *bad,
                        insitu_error *err)
{
    struct source src = {.settings = settings};
    struct rs_config c;
    return read_config(&src, &c, bad, err);
}

/* ---- emitting ---- */

struct rs_run {
    const struct source *src;
    struct batch_writer *bw;
    struct rs_config c;
    struct raster *r;
    const char *raster_name;
    int64_t raster_time;
    const char *time_source;
    int64_t sensor_id, property_id;
    struct stmt *existing;
    uint64_t dup_kept_new, dup_kept_other, outside;
    struct raster_period period; /* end INSITU_TIME_NONE: the samples are instants */
    double footprint[4]; /* the raster's, W,S,E,N in EPSG:4326 */
};

static void put_num(struct strbuf *sb, const char *key, double v)
{
    sb_printf(sb, ",\"%s\":", key);
    if (isfinite(v))
        sb_put_double(sb, v);
    else
        sb_puts(sb, "null");
}

static void sample_parameters(const struct rs_run *run, const struct raster_sample *s,
                              struct strbuf *sb)
{
    sb_reset(sb);
    sb_puts(sb, "{\"raster\":");
    sb_put_json_string(sb, run->raster_name);
    sb_printf(sb, ",\"row\":%d,\"col\":%d", s->row, s->col);
    put_num(sb, "dist_m", s->dist_m);
    sb_printf(sb, ",\"method\":\"%s\"", run->c.qualifier);
    put_num(sb, "raw", s->raw);
    if (run->c.o.method != RASTER_NEAREST)
        sb_printf(sb, ",\"n\":%d,\"n_valid\":%d", s->n, s->n_valid);
    if (run->c.o.method == RASTER_WINDOW && s->n_valid) {
        put_num(sb, "mean", s->mean);
        put_num(sb, "median", s->median);
        put_num(sb, "std", s->std);
        put_num(sb, "min", s->min);
        put_num(sb, "max", s->max);
    }
    sb_printf(sb, ",\"time_source\":\"%s\"}",
              s->time_us != INSITU_TIME_NONE && run->c.date == INSITU_TIME_NONE
                  ? raster_time_var(run->r)
                  : run->time_source);
}

/* The ranking of two samples of one station at one time from different rasters: valid over
 * missing, then more valid pixels, then the pixel whose centre is nearer the station, then
 * the raster file name first in byte order. > 0 when a wins. */
static int rank_samples(int a_valid, int a_nvalid, double a_dist, const char *a_name,
                        int b_valid, int b_nvalid, double b_dist, const char *b_name)
{
    if (a_valid != b_valid)
        return a_valid ? 1 : -1;
    if (a_nvalid != b_nvalid)
        return a_nvalid > b_nvalid ? 1 : -1;
    if (isfinite(a_dist) && isfinite(b_dist) && a_dist != b_dist)
        return a_dist < b_dist ? 1 : -1;
    int c = strcmp(a_name, b_name);
    return c < 0 ? 1 : c > 0 ? -1 : 0;
}

/* 1 when a sample of another raster already at (ds, t) wins over s: s is then not written. */
static int loses_to_existing(struct rs_run *run, int64_t ds, int64_t t,
                             const struct raster_sample *s, insitu_error *err, int *rc)
{
    struct store *st = bw_store(run->bw);
    *rc = 0;
    if (!run->existing &&
        (*rc = st_prepare(st, "SELECT result, parameters FROM observations_text WHERE "
                              "datastream_id = ? AND phenomenon_start = ? AND seq = 0",
                          &run->existing, err)))
        return 0;
    st_reset(run->existing);
    st_bind_int64(run->existing, 1, ds);
    st_bind_int64(run->existing, 2, t);
    int step = st_step(run->existing, err);
    if (step < 0) {
        *rc = step;
        return 0;
    }
    if (step == 0)
        return 0;
    int old_valid = !st_col_is_null(run->existing, 0);
    json_t *p = json_loads(st_col_text(run->existing, 1) ? st_col_text(run->existing, 1) : "",
                           0, NULL);
    const char *old_name = p ? json_string_value(json_object_get(p, "raster")) : NULL;
    int lose = 0;
    if (old_name && strcmp(old_name, run->raster_name) != 0) {
        json_t *nv = json_object_get(p, "n_valid"), *d = json_object_get(p, "dist_m");
        int old_nvalid = nv ? (int)json_integer_value(nv) : old_valid;
        double old_dist = json_is_number(d) ? json_number_value(d) : NAN;
        int new_nvalid = run->c.o.method == RASTER_NEAREST ? s->valid : s->n_valid;
        lose = rank_samples(s->valid, new_nvalid, s->dist_m, run->raster_name, old_valid,
                            old_nvalid, old_dist, old_name) < 0;
        if (lose)
            run->dup_kept_other++;
        else
            run->dup_kept_new++;
    }
    json_decref(p);
    return lose;
}

static int emit_sample(struct rs_run *run, const struct station *stn,
                       const struct raster_sample *s, struct strbuf *params, insitu_error *err)
{
    struct batch_writer *bw = run->bw;
    char name[512];
    snprintf(name, sizeof name, "%s %s at %s", run->c.product, run->c.property, stn->code);
    struct datastream_in d = {.thing_id = stn->id,
                              .sensor_id = run->sensor_id,
                              .property_id = run->property_id,
                              .qualifier = run->c.qualifier,
                              .name = name,
                              .description = "raster product sampled at the station",
                              .observation_type = OBSERVATION_TYPE_MEASUREMENT,
                              .unit_name = run->c.unit,
                              .unit_symbol = run->c.unit};
    int64_t ds;
    int rc = bw_datastream(bw, &d, &ds, err);
    if (rc)
        return rc;
    /* --date wins; else the pixel's own time (t0), else the raster's */
    int64_t t = run->c.date == INSITU_TIME_NONE && s->time_us != INSITU_TIME_NONE
                    ? s->time_us
                    : run->raster_time;
    int64_t t_end = run->period.end;
    if (t_end != INSITU_TIME_NONE) /* a synthesis holds for its period, whatever the pixel */
        t = run->period.start;
    if (loses_to_existing(run, ds, t, s, err, &rc) || rc)
        return rc;
    int64_t feature = 0;
    if (isfinite(s->px_lon) && isfinite(s->px_lat)) {
        char fname[128];
        snprintf(fname, sizeof fname, "%s pixel %d,%d", run->c.product, s->row, s->col);
        rc = bw_point_feature(bw, s->px_lon, s->px_lat, 0, 0, fname, &feature, err);
        if (rc)
            return rc;
    }
    sample_parameters(run, s, params);
    struct obs_row o = {.datastream_id = ds,
                        .phenomenon_start = t,
                        .phenomenon_end = t_end,
                        .result_time = INSITU_TIME_NONE,
                        .has_result = s->valid,
                        .result = s->valid ? s->value : 0,
                        .quality = s->valid ? NULL : s->why,
                        .parameters = sb_str(params),
                        .feature_id = feature};
    return bw_observation(bw, &o, err);
}

static int emit_entities(struct rs_run *run, insitu_error *err)
{
    struct rs_config *c = &run->c;
    char definition[512];
    if (!c->definition) {
        snprintf(definition, sizeof definition, "raster:%s/%s", c->product, c->property);
        c->definition = definition;
    }
    struct sensor_in sensor = {.ns = c->ns,
                               .code = c->product,
                               .name = c->product,
                               .description = "raster product sampled at station locations",
                               .encoding_type = "text/plain"};
    struct property_in prop = {.name = c->property, .definition = c->definition};
    int rc = bw_sensor(run->bw, &sensor, &run->sensor_id, err);
    if (!rc)
        rc = bw_property(run->bw, &prop, &run->property_id, err);
    c->definition = NULL; /* the local buffer ends here */
    return rc;
}

static int sample_stations(struct rs_run *run, const struct station_list *l, insitu_error *err)
{
    double *lon = malloc((l->n ? l->n : 1) * sizeof *lon);
    double *lat = malloc((l->n ? l->n : 1) * sizeof *lat);
    struct raster_sample *out = malloc((l->n ? l->n : 1) * sizeof *out);
    struct strbuf params = {0};
    int rc = 0;
    if (!lon || !lat || !out) {
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < l->n; i++) {
        lon[i] = l->v[i].lon;
        lat[i] = l->v[i].lat;
    }
    rc = raster_sample_points(run->r, lon, lat, l->n, out, err);
    for (size_t i = 0; !rc && i < l->n; i++) {
        if (!out[i].inside) {
            run->outside++;
            continue;
        }
        rc = emit_sample(run, &l->v[i], &out[i], &params, err);
    }
done:
    free(lon);
    free(lat);
    free(out);
    sb_free(&params);
    return rc;
}

static int sample_one_band(struct rs_run *run, const struct station_list *l, insitu_error *err)
{
    int rc = emit_entities(run, err);
    return rc ? rc : sample_stations(run, l, err);
}

/* Samples band b as its own Datastreams: property from the band's description. */
static int sample_band(struct rs_run *run, const struct station_list *l, int b, int first,
                       insitu_error *err)
{
    int rc = raster_select_band(run->r, b, err);
    if (rc)
        return rc;
    const char *user_property = source_setting(run->src, "property");
    const char *unit = source_setting(run->src, "unit");
    const char *desc = raster_band_description(run->r, b);
    char band_name[64], property[512];
    snprintf(band_name, sizeof band_name, "band %d", b);
    if (*desc)
        snprintf(band_name, sizeof band_name, "%s", desc);
    if (user_property && *user_property)
        snprintf(property, sizeof property, "%s %s", user_property, band_name);
    else
        snprintf(property, sizeof property, "%s", band_name);
    run->c.property = property;
    run->c.unit = unit ? unit : raster_unit(run->r);
    snprintf(run->c.qualifier, sizeof run->c.qualifier, "band%d/%s", b, run->c.method);
    uint64_t outside = run->outside;
    rc = sample_one_band(run, l, err);
    if (!first) /* a station outside is counted once, not once per band */
        run->outside = outside;
    run->c.property = NULL; /* the local buffer ends here */
    return rc;
}

/* --bands: each band of the list (or all) in turn, on the same open dataset. */
static int sample_bands(struct rs_run *run, const struct station_list *l, insitu_error *err)
{
    int rc = 0, n = 0;
    if (str_ieq(run->c.bands, "all")) {
        for (int b = 1; b <= raster_band_count(run->r) && !rc; b++, n++)
            rc = sample_band(run, l, b, n == 0, err);
        return rc;
    }
    for (const char *p = run->c.bands; *p && !rc; n++) {
        char *end;
        int b = (int)strtol(p, &end, 10);
        rc = sample_band(run, l, b, n == 0, err);
        p = *end ? end + 1 : end;
    }
    return rc;
}

/* The period the samples hold for (--period, or the product's name); rc: raster_time's. A
 * raster whose name gives the period (OSO: OCS_2018_...) needs no date of its own. */
static int rs_period(struct rs_run *run, int rc, insitu_error *err)
{
    if (rc && rc != INSITU_ENOTFOUND)
        return rc;
    insitu_error perr = {0};
    int prc = raster_period_of(run->raster_name, run->c.period,
                               rc ? INSITU_TIME_NONE : run->raster_time, &run->period, &perr);
    if (rc) { /* no date: the period may say it */
        if (prc || run->period.end == INSITU_TIME_NONE)
            return rc;
        run->raster_time = run->period.start;
        run->time_source = run->period.source;
        return 0;
    }
    if (prc) {
        if (err)
            *err = perr;
        return prc;
    }
    if (run->period.end != INSITU_TIME_NONE)
        run->time_source = run->period.source;
    return 0;
}

static int rs_select(struct rs_run *run, struct station_list *l, insitu_error *err)
{
    struct store *st = bw_store(run->bw);
    double rb[4];
    raster_bounds_wgs84(run->r, run->footprint);
    memcpy(rb, run->footprint, sizeof rb);
    /* a margin against edges that bend between the transformed points */
    double mx = (rb[2] - rb[0]) * 0.01 + 1e-6, my = (rb[3] - rb[1]) * 0.01 + 1e-6;
    rb[0] -= mx;
    rb[2] += mx;
    rb[1] -= my;
    rb[3] += my;
    int64_t *ids = NULL;
    size_t n_ids = 0;
    int rc = run->c.things ? resolve_things(st, run->c.things, &ids, &n_ids, err) : 0;
    if (!rc)
        rc = select_stations(st, ids, n_ids, rb, run->c.has_bbox ? run->c.bbox : NULL, l, err);
    free(ids);
    return rc;
}

static int rs_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct rs_run run = {.src = src, .bw = bw};
    struct station_list l = {0};
    int rc = read_config(src, &run.c, NULL, err);
    if (!rc)
        rc = raster_open(src->path, &run.c.o, &run.r, err);
    if (rc)
        return rc;
    run.raster_name = src->name; /* in each sample's parameters, and maybe its date */
    bw_uses_source_name(bw);
    if (run.c.date != INSITU_TIME_NONE) {
        run.raster_time = run.c.date;
        run.time_source = "date setting";
    } else {
        rc = raster_time(run.r, run.c.date_pattern, &run.raster_time, &run.time_source, err);
    }
    rc = rs_period(&run, rc, err);
    if (!run.c.property || !*run.c.property)
        run.c.property = *raster_variable(run.r) ? raster_variable(run.r) : run.c.product;
    if (!run.c.unit)
        run.c.unit = raster_unit(run.r);
    if (!rc)
        rc = rs_select(&run, &l, err);
    if (!rc)
        rc = run.c.bands ? sample_bands(&run, &l, err) : sample_one_band(&run, &l, err);
    /* stations whose pixels are all nodata are samples (NULL results); none inside is not */
    if (!rc && run.outside == l.n)
        bw_nothing(bw, run.footprint, "no station inside");
    if (!rc && (run.dup_kept_new || run.dup_kept_other))
        bw_warn(bw,
                "%s: %llu station%s already had a sample at the same time from another raster: "
                "%llu taken from this raster, %llu kept from the other (rule: a valid value "
                "over a missing one, then more valid pixels, then the pixel centre nearer the "
                "station, then the file name first in byte order)",
                src->name, (unsigned long long)(run.dup_kept_new + run.dup_kept_other),
                run.dup_kept_new + run.dup_kept_other > 1 ? "s" : "",
                (unsigned long long)run.dup_kept_new, (unsigned long long)run.dup_kept_other);
    st_finalize(run.existing);
    stations_free(&l);
    raster_close(run.r);
    return rc;
}

/* The source key: the file, and what makes its samples a Datastream of their own (product,
 * variable, band, method) or a selection of their own (things, bbox). Another version of the
 * same key (other content or settings) replaces the samples of the previous one. */
static int rs_identify(const struct source *src, struct source_identity *id, insitu_error *err)
{
    struct rs_config c;
    int rc = read_config(src, &c, NULL, err);
    if (rc)
        return rc;
    char *real = realpath(src->path, NULL);
    const char *sub = c.o.subdataset ? c.o.subdataset : "";
    snprintf(id->key, sizeof id->key, "%s|product=%s|subdataset=%s|property=%s|%s|things=%s|bbox=%s",
             real ? real : src->uri, c.product, sub, c.property ? c.property : "",
             c.qualifier, c.things ? c.things : "", c.bbox_text ? c.bbox_text : "");
    free(real);
    size_t used = strlen(id->key);
    if (c.bands || c.period)
        snprintf(id->key + used, sizeof id->key - used, "|bands=%s|period=%s",
                 c.bands ? c.bands : "", c.period ? c.period : "");
    id->version[0] = '\0';
    return 0;
}

static int rs_probe(const struct source *src)
{
    (void)src;
    return 0;
}

const struct ingester ingester_raster_sample = {
    .name = "raster-sample",
    .description = "pixels of a raster (GeoTIFF, COG, NetCDF, JPEG2000...) at the stored "
                   "stations, as observations of a product (used by insitu sample)",
    .probe = rs_probe,
    .identify = rs_identify,
    .run = rs_run,
    .settings = rs_settings,
};
