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
#include "zonal.h"

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
    "stat\tstatistic that becomes the value: mean (default), median, count, min, max, std, "
    "majority, fractions, valid_share",
    "coverage\tpolygons: weighted (default: a pixel weighs the share of its area inside) or "
    "centre (pixels whose centre is inside)",
    "classes\tclass names: a file of 'code name' / 'name:code' lines, a CSV code,name or a QGIS "
    ".qml (default: the raster's category names)",
    "not_class\tcomma-separated codes that are no class (no data, cloud): invalid pixels",
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

/* A Thing whose location is a (Multi)Polygon: a lake, a catchment. */
struct zone {
    int64_t id;
    char *code, *geojson;
};

struct zone_list {
    struct zone *v;
    size_t n, cap;
};

static void zones_free(struct zone_list *l);
static int select_zones(struct store *st, const int64_t *ids, size_t n_ids,
                        const double *bbox_a, const double *bbox_b, struct zone_list *out,
                        insitu_error *err);
static void zones_digest(const struct zone_list *l, struct sha256 *h, double extent[4]);

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

/* Prepares the query of the Things (id, code, GeoJSON of the location) whose current
 * location's GeometryType is in `types` (SQL list: "'POINT'"), selected by ids and boxes
 * (either may be absent), ordered by id; the caller steps and finalizes *out.
 * GeometryType is the same function in SpatiaLite and PostGIS. */
static int prepare_things_of_type(struct store *st, const char *types, const int64_t *ids,
                                  size_t n_ids, const double *bbox_a, const double *bbox_b,
                                  struct stmt **out, insitu_error *err)
{
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT t.id, t.code, ");
    dialect_geojson_sql(st->dialect, &sql, "l", "location");
    sb_printf(&sql, " FROM things t JOIN thing_locations tl ON tl.thing_id = t.id JOIN "
                    "locations l ON l.id = tl.location_id WHERE GeometryType(l.geom) IN (%s)",
              types);
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
    *out = s;
    return 0;
}

/* Things with a current Point location, selected by ids and boxes (either may be absent),
 * ordered by id. */
static int select_stations(struct store *st, const int64_t *ids, size_t n_ids,
                           const double *bbox_a, const double *bbox_b, struct station_list *out,
                           insitu_error *err)
{
    struct stmt *s;
    int rc = prepare_things_of_type(st, "'POINT'", ids, n_ids, bbox_a, bbox_b, &s, err);
    if (rc)
        return rc;
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
    struct zone_list zones = {0};
    if (!rc)
        rc = select_zones(st, ids, n_ids, bbox ? box : NULL, NULL, &zones, err);
    free(ids);
    if (rc) {
        stations_free(&l);
        zones_free(&zones);
        return rc;
    }
    struct sha256 h;
    if (sha256_init(&h)) {
        stations_free(&l);
        zones_free(&zones);
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
    zones_digest(&zones, &h, extent);
    sha256_final(&h, hex);
    *count = l.n + zones.n;
    stations_free(&l);
    zones_free(&zones);
    return 0;
}

/* ---- settings ---- */

/* The statistic stored as the value (RS_MEAN and RS_MEDIAN of a window: raster.c's). */
enum rs_stat {
    RS_MEAN = 0,
    RS_MEDIAN,
    RS_COUNT,
    RS_MIN,
    RS_MAX,
    RS_STD,
    RS_MAJORITY,
    RS_FRACTIONS,
    RS_VALID_SHARE
};
static const char *const rs_stat_names[] = {"mean", "median",   "count",     "min",         "max",
                                            "std",  "majority", "fractions", "valid_share", NULL};

struct rs_config;
struct raster_sample_bad;
static int read_zonal_config(const struct source *src, struct rs_config *c,
                             struct raster_sample_bad *bad, insitu_error *err);
static void zonal_qualifiers(struct rs_config *c);

struct rs_config {
    const char *product, *property, *definition, *unit, *ns, *things, *bbox_text;
    const char *date_pattern;
    int64_t date;
    int has_bbox;
    double bbox[4];
    struct raster_opts o;
    char qualifier[64];
    enum rs_stat stat;
    enum zonal_coverage coverage;
    const char *classes, *not_class;
    char zonal_qualifier[64]; /* of the samples of polygons */
    char zonal_method[48];     /* the same without its band */
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
    rc = read_zonal_config(src, c, bad, err);
    if (rc)
        return rc;
    int bilinear = source_setting_bool(src, "bilinear", 0);
    if (bilinear < 0)
        return bad_setting(bad, err, "bilinear", source_setting(src, "bilinear"),
                           "expected yes or no");
    if (bilinear && o->window > 1)
        return bad_setting(bad, err, "window", source_setting(src, "window"),
                           "a window and bilinear interpolation go separately: choose one");
    if (bilinear && c->stat > RS_MEDIAN)
        return bad_setting(bad, err, "stat", source_setting(src, "stat"),
                           "a statistic and bilinear interpolation go separately: choose one");
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
    zonal_qualifiers(c);
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
    struct class_table *classes; /* for statistics of classes and --not-class, else NULL */
    struct zone_list *zones;     /* Things with a polygon location inside the footprint */
    uint64_t zones_inside;
};

static int emit_point_zonal(struct rs_run *run, const struct station *stn,
                            const struct raster_sample *s, struct strbuf *params,
                            insitu_error *err);
static int select_run_zones(struct rs_run *run, const int64_t *ids, size_t n_ids,
                            const double *rb, insitu_error *err);
static int sample_zones(struct rs_run *run, insitu_error *err);
static int open_classes(struct rs_run *run, insitu_error *err);

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
        /* the zonal engine knows the codes that are no class; raster.c does not */
        rc = run->c.stat > RS_MEDIAN || run->classes ? emit_point_zonal(run, &l->v[i], &out[i], &params, err)
                                     : emit_sample(run, &l->v[i], &out[i], &params, err);
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
    if (!rc)
        rc = sample_stations(run, l, err);
    return rc ? rc : sample_zones(run, err);
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
    snprintf(run->c.zonal_qualifier, sizeof run->c.zonal_qualifier, "band%d/%s", b,
             run->c.zonal_method);
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
    if (!rc)
        rc = select_run_zones(run, ids, n_ids, rb, err);
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
    if (!rc)
        rc = open_classes(&run, err);
    if (rc) {
        raster_close(run.r);
        return rc;
    }
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
    if (!rc && run.outside == l.n && !run.zones_inside)
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
    class_table_free(run.classes);
    zones_free(run.zones);
    free(run.zones);
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
    /* the polygons' method, unless the default: the keys of earlier runs stay the same */
    char zonal[80] = "";
    if (c.stat != RS_MEAN || c.coverage != ZONAL_WEIGHTED)
        snprintf(zonal, sizeof zonal, "|%s", c.zonal_qualifier);
    snprintf(id->key, sizeof id->key, "%s|product=%s|subdataset=%s|property=%s|%s%s|things=%s|bbox=%s",
             real ? real : src->uri, c.product, sub, c.property ? c.property : "",
             c.qualifier, zonal, c.things ? c.things : "", c.bbox_text ? c.bbox_text : "");
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

/* ---- statistics, classes and polygons (zonal.c) ---- */

/* stat, coverage, classes and not_class. */
static int read_zonal_config(const struct source *src, struct rs_config *c,
                             struct raster_sample_bad *bad, insitu_error *err)
{
    const char *stat = source_setting(src, "stat");
    c->stat = RS_MEAN;
    if (stat) {
        int k = 0;
        while (rs_stat_names[k] && !str_ieq(stat, rs_stat_names[k]))
            k++;
        if (!rs_stat_names[k])
            return bad_setting(bad, err, "stat", stat,
                               "expected mean, median, count, min, max, std, majority, "
                               "fractions or valid_share");
        c->stat = (enum rs_stat)k;
    }
    c->o.stat = c->stat == RS_MEDIAN ? RASTER_MEDIAN : RASTER_MEAN;
    const char *coverage = source_setting(src, "coverage");
    if (coverage && !str_ieq(coverage, "weighted") && !str_ieq(coverage, "centre") &&
        !str_ieq(coverage, "center"))
        return bad_setting(bad, err, "coverage", coverage, "expected weighted or centre");
    c->coverage = coverage && !str_ieq(coverage, "weighted") ? ZONAL_CENTRE : ZONAL_WEIGHTED;
    c->classes = source_setting(src, "classes");
    c->not_class = source_setting(src, "not_class");
    struct class_table *t = class_table_new();
    if (!t)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    insitu_error why = {0};
    int rc = 0;
    if (c->classes && class_table_load(t, c->classes, &why))
        rc = bad_setting(bad, err, "classes", c->classes, "%s", why.message);
    else if (c->not_class && class_table_exclude_list(t, c->not_class, &why))
        rc = bad_setting(bad, err, "not_class", c->not_class,
                         "expected integer codes separated by commas (205,254)");
    class_table_free(t);
    /* codes are stored values: a scale of the band does not apply to them */
    if (!rc && (c->stat == RS_MAJORITY || c->stat == RS_FRACTIONS)) {
        if (!source_setting(src, "scale"))
            c->o.has_scale = 1, c->o.scale = 1;
        if (!source_setting(src, "offset"))
            c->o.has_offset = 1, c->o.offset = 0;
    }
    return rc;
}

/* The qualifiers: a point's statistic other than mean or median names itself
 * (window3-majority, window1-count for the station's pixel); a polygon's is
 * zonal-COVERAGE-STAT. */
static void zonal_qualifiers(struct rs_config *c)
{
    char band[24] = "";
    if (c->o.band > 1)
        snprintf(band, sizeof band, "band%d/", c->o.band);
    if (c->stat > RS_MEDIAN) {
        snprintf(c->method, sizeof c->method, "window%d-%s", c->o.window > 1 ? c->o.window : 1,
                 rs_stat_names[c->stat]);
        snprintf(c->qualifier, sizeof c->qualifier, "%s%s", band, c->method);
    }
    snprintf(c->zonal_method, sizeof c->zonal_method, "zonal-%s-%s",
             c->coverage == ZONAL_CENTRE ? "centre" : "weighted", rs_stat_names[c->stat]);
    snprintf(c->zonal_qualifier, sizeof c->zonal_qualifier, "%s%s", band, c->zonal_method);
}

/* The class table of the run: the raster's category names, the --classes file over them,
 * and --not-class. NULL when no statistic needs one. */
static int open_classes(struct rs_run *run, insitu_error *err)
{
    const struct rs_config *c = &run->c;
    if (c->stat != RS_MAJORITY && c->stat != RS_FRACTIONS && !c->not_class)
        return 0;
    run->classes = class_table_new();
    if (!run->classes)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    class_table_add_categories(run->classes, raster_category_names(run->r));
    int rc = c->classes ? class_table_load(run->classes, c->classes, err) : 0;
    if (!rc && c->not_class)
        rc = class_table_exclude_list(run->classes, c->not_class, err);
    return rc;
}

/* The name of a class: the table's, else the code itself. */
static const char *class_name(const struct rs_run *run, double code, char *buf, size_t size)
{
    const char *name = class_table_name(run->classes, code);
    if (name)
        return name;
    snprintf(buf, size, "%.15g", code);
    return buf;
}

static void zones_free(struct zone_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].code);
        free(l->v[i].geojson);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Things with a current (Multi)Polygon location, selected as select_stations does. */
static int select_zones(struct store *st, const int64_t *ids, size_t n_ids, const double *bbox_a,
                        const double *bbox_b, struct zone_list *out, insitu_error *err)
{
    struct stmt *s;
    int rc = prepare_things_of_type(st, "'POLYGON', 'MULTIPOLYGON'", ids, n_ids, bbox_a, bbox_b,
                                    &s, err);
    if (rc)
        return rc;
    while ((rc = st_step(s, err)) == 1) {
        const char *geojson = st_col_text(s, 2);
        /* a Thing with two current locations is one zone: the first */
        if (!geojson || (out->n && out->v[out->n - 1].id == st_col_int64(s, 0)))
            continue;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            struct zone *p = realloc(out->v, cap * sizeof *p);
            if (!p) {
                rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
                break;
            }
            out->v = p;
            out->cap = cap;
        }
        struct zone *z = &out->v[out->n++];
        z->id = st_col_int64(s, 0);
        z->code = xstrdup(st_col_text(s, 1) ? st_col_text(s, 1) : "");
        z->geojson = xstrdup(geojson);
    }
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

/* Widens extent (W,S,E,N) by every position of a GeoJSON coordinates array. */
static void coords_extent(json_t *c, double extent[4])
{
    if (json_array_size(c) >= 2 && json_is_number(json_array_get(c, 0))) {
        double x = json_number_value(json_array_get(c, 0));
        double y = json_number_value(json_array_get(c, 1));
        extent[0] = fmin(extent[0], x);
        extent[1] = fmin(extent[1], y);
        extent[2] = fmax(extent[2], x);
        extent[3] = fmax(extent[3], y);
        return;
    }
    for (size_t i = 0; i < json_array_size(c); i++)
        coords_extent(json_array_get(c, i), extent);
}

static void zones_digest(const struct zone_list *l, struct sha256 *h, double extent[4])
{
    for (size_t i = 0; i < l->n; i++) {
        char line[600];
        int len = snprintf(line, sizeof line, "%lld\t%s\t", (long long)l->v[i].id, l->v[i].code);
        sha256_update(h, line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1));
        sha256_update(h, l->v[i].geojson, strlen(l->v[i].geojson));
        sha256_update(h, "\n", 1);
        json_t *g = json_loads(l->v[i].geojson, 0, NULL);
        coords_extent(json_object_get(g, "coordinates"), extent);
        json_decref(g);
    }
}

static int select_run_zones(struct rs_run *run, const int64_t *ids, size_t n_ids, const double *rb,
                            insitu_error *err)
{
    run->zones = calloc(1, sizeof *run->zones);
    if (!run->zones)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    return select_zones(bw_store(run->bw), ids, n_ids, rb, run->c.has_bbox ? run->c.bbox : NULL,
                        run->zones, err);
}

static struct zonal_opts zonal_options(const struct rs_run *run)
{
    struct zonal_opts o = {.coverage = run->c.coverage,
                           .max_read_pixels = run->c.o.max_read_pixels,
                           .classes = run->classes};
    return o;
}

/* The parameters of a zonal sample: what the run and the statistics say, then `extra`
 * (",\"key\":value" pairs) and the time source. */
static void zonal_parameters(const struct rs_run *run, const struct zonal_stats *z,
                             const char *method, const char *extra, struct strbuf *sb)
{
    sb_reset(sb);
    sb_puts(sb, "{\"raster\":");
    sb_put_json_string(sb, run->raster_name);
    sb_printf(sb, ",\"method\":\"%s\"", method);
    sb_puts(sb, extra);
    sb_printf(sb, ",\"n\":%lld,\"n_valid\":%lld", (long long)z->n_pixels, (long long)z->n_valid);
    put_num(sb, "count", z->count);
    put_num(sb, "covered", z->covered);
    put_num(sb, "valid_share", z->valid_share);
    if (z->n_valid) {
        put_num(sb, "mean", z->mean);
        put_num(sb, "median", z->median);
        put_num(sb, "std", z->std);
        put_num(sb, "min", z->min);
        put_num(sb, "max", z->max);
    }
}

/* The value of the run's statistic (not fractions). */
static double zonal_value(const struct rs_run *run, const struct zonal_stats *z)
{
    switch (run->c.stat) {
    case RS_MEAN: return z->mean;
    case RS_MEDIAN: return z->median;
    case RS_COUNT: return z->count;
    case RS_MIN: return z->min;
    case RS_MAX: return z->max;
    case RS_STD: return z->std;
    case RS_MAJORITY: return z->majority;
    case RS_VALID_SHARE: return z->valid_share;
    case RS_FRACTIONS: break;
    }
    return NAN;
}

/* What one zonal sample writes. */
struct zonal_emit {
    int64_t thing_id, feature_id, t;
    const char *code, *qualifier, *what; /* what: "at the station", "over the polygon" */
    int valid;
    const char *why;
    double dist_m; /* the ranking of duplicates: NAN for polygons */
};

/* One Observation of property_id (unit) with result v; the ranking against a sample of
 * another raster at the same time as loses_to_existing does. */
static int emit_zonal_obs(struct rs_run *run, const struct zonal_emit *e, int64_t property_id,
                          const char *property, const char *unit, int has, double v,
                          const struct zonal_stats *z, const char *params, insitu_error *err)
{
    char name[512], description[128];
    snprintf(name, sizeof name, "%s %s at %s", run->c.product, property, e->code);
    snprintf(description, sizeof description, "raster product: statistic %s", e->what);
    struct datastream_in d = {.thing_id = e->thing_id,
                              .sensor_id = run->sensor_id,
                              .property_id = property_id,
                              .qualifier = e->qualifier,
                              .name = name,
                              .description = description,
                              .observation_type = OBSERVATION_TYPE_MEASUREMENT,
                              .unit_name = unit,
                              .unit_symbol = unit};
    int64_t ds;
    int rc = bw_datastream(run->bw, &d, &ds, err);
    if (rc)
        return rc;
    struct raster_sample rank = {.valid = has, .n_valid = (int)z->n_valid, .dist_m = e->dist_m};
    struct zonal_emit at = *e;
    if (run->period.end != INSITU_TIME_NONE) /* a synthesis holds for its period */
        at.t = run->period.start;
    e = &at;
    if (loses_to_existing(run, ds, e->t, &rank, err, &rc) || rc)
        return rc;
    struct obs_row o = {.datastream_id = ds,
                        .phenomenon_start = e->t,
                        .phenomenon_end = run->period.end,
                        .result_time = INSITU_TIME_NONE,
                        .has_result = has,
                        .result = has ? v : 0,
                        .quality = has ? NULL : e->why,
                        .parameters = params,
                        .feature_id = e->feature_id};
    return bw_observation(run->bw, &o, err);
}

/* The Observations of one zonal sample: the statistic, or one fraction per class seen. */
static int emit_zonal(struct rs_run *run, const struct zonal_emit *e, const struct zonal_stats *z,
                      const char *method, const char *extra, struct strbuf *params,
                      insitu_error *err)
{
    const struct rs_config *c = &run->c;
    char buf[64], cls[64];
    int categorical = c->stat == RS_MAJORITY || c->stat == RS_FRACTIONS;
    const char *unit =
        categorical || c->stat == RS_COUNT || c->stat == RS_VALID_SHARE ? "1" : c->unit;
    if (c->stat != RS_FRACTIONS) {
        zonal_parameters(run, z, method, extra, params);
        if (c->stat == RS_MAJORITY && e->valid) {
            sb_puts(params, ",\"class\":");
            sb_put_json_string(params, class_name(run, z->majority, buf, sizeof buf));
            put_num(params, "class_share", z->majority_share);
        }
        sb_printf(params, ",\"time_source\":\"%s\"}", run->time_source);
        double v = zonal_value(run, z);
        int has = e->valid && isfinite(v);
        return emit_zonal_obs(run, e, run->property_id, c->property, unit, has, v, z,
                              sb_str(params), err);
    }
    int rc = 0;
    for (size_t i = 0; e->valid && i < z->n_values && !rc; i++) {
        const char *name = class_name(run, z->values[i].value, cls, sizeof cls);
        char property[512], definition[600];
        snprintf(property, sizeof property, "%s fraction: %s", c->property, name);
        snprintf(definition, sizeof definition, "raster:%s/%s/fraction/%.15g", c->product,
                 c->property, z->values[i].value);
        struct property_in prop = {.name = property, .definition = definition};
        int64_t property_id;
        rc = bw_property(run->bw, &prop, &property_id, err);
        if (rc)
            break;
        zonal_parameters(run, z, method, extra, params);
        sb_puts(params, ",\"class\":");
        sb_put_json_string(params, name);
        put_num(params, "code", z->values[i].value);
        put_num(params, "weight", z->values[i].weight);
        sb_printf(params, ",\"time_source\":\"%s\"}", run->time_source);
        rc = emit_zonal_obs(run, e, property_id, property, "1", 1, z->values[i].weight / z->count,
                            z, sb_str(params), err);
    }
    return rc;
}

/* A station's window (its pixel for window 1) through the zonal engine, each pixel of
 * weight 1: count, min, max, std, majority, fractions, valid_share. */
static int emit_point_zonal(struct rs_run *run, const struct station *stn,
                            const struct raster_sample *s, struct strbuf *params, insitu_error *err)
{
    struct zonal_opts zo = zonal_options(run);
    struct zonal_stats z;
    int window = run->c.o.window > 1 ? run->c.o.window : 1;
    int rc = zonal_window(run->r, s->col, s->row, window, &zo, &z, err);
    if (rc)
        return rc;
    int64_t feature = 0;
    if (isfinite(s->px_lon) && isfinite(s->px_lat)) {
        char fname[128];
        snprintf(fname, sizeof fname, "%s pixel %d,%d", run->c.product, s->row, s->col);
        rc = bw_point_feature(run->bw, s->px_lon, s->px_lat, 0, 0, fname, &feature, err);
    }
    int min_valid = run->c.o.min_valid > 1 ? run->c.o.min_valid : 1;
    struct zonal_emit e = {.thing_id = stn->id,
                           .feature_id = feature,
                           .t = run->c.date == INSITU_TIME_NONE && s->time_us != INSITU_TIME_NONE
                                    ? s->time_us
                                    : run->raster_time,
                           .code = stn->code,
                           .qualifier = run->c.qualifier,
                           .what = "of the pixels around the station",
                           .valid = z.n_valid >= min_valid,
                           .why = !z.n_valid && s->valid ? "not_a_class"
                                  : z.n_valid            ? "too_few_valid"
                                                         : s->why,
                           .dist_m = s->dist_m};
    struct strbuf extra = {0};
    sb_printf(&extra, ",\"row\":%d,\"col\":%d", s->row, s->col);
    put_num(&extra, "dist_m", s->dist_m);
    put_num(&extra, "raw", s->raw);
    if (!rc)
        rc = emit_zonal(run, &e, &z, run->c.qualifier, sb_str(&extra), params, err);
    sb_free(&extra);
    zonal_stats_free(&z);
    return rc;
}

/* Each polygon Thing over its area; its FeatureOfInterest is the polygon. */
static int sample_zones(struct rs_run *run, insitu_error *err)
{
    struct zonal_opts zo = zonal_options(run);
    struct strbuf params = {0}, extra = {0};
    int rc = 0;
    for (size_t i = 0; run->zones && i < run->zones->n && !rc; i++) {
        const struct zone *zn = &run->zones->v[i];
        struct zonal_stats z;
        insitu_error why = {0};
        rc = zonal_polygon(run->r, zn->geojson, &zo, &z, &why);
        if (rc == INSITU_EINVAL) { /* a geometry the raster cannot use: the others can */
            bw_warn(run->bw, "%s: thing %s left out: %s", run->raster_name, zn->code, why.message);
            rc = 0;
            continue;
        }
        if (rc) {
            rc = insitu_error_set(err, why.code, "%s: thing %s: %s", run->raster_name, zn->code,
                                  why.message);
            break;
        }
        if (!z.inside) {
            zonal_stats_free(&z);
            continue;
        }
        run->zones_inside++;
        struct sha256 h;
        char hex[65], key[96], fname[512];
        rc = sha256_init(&h) ? insitu_error_set(err, INSITU_ENOMEM, "out of memory") : 0;
        int64_t feature = 0;
        if (!rc) {
            sha256_update(&h, zn->geojson, strlen(zn->geojson));
            sha256_final(&h, hex);
            snprintf(key, sizeof key, "zone:sha256:%s", hex);
            snprintf(fname, sizeof fname, "%s (polygon)", zn->code);
            struct feature_in f = {.key = key, .name = fname, .geojson = zn->geojson};
            rc = bw_feature(run->bw, &f, &feature, err);
        }
        struct zonal_emit e = {.thing_id = zn->id,
                               .feature_id = feature,
                               .t = run->raster_time,
                               .code = zn->code,
                               .qualifier = run->c.zonal_qualifier,
                               .what = "over the polygon",
                               .valid = z.n_valid > 0,
                               .why = z.n_pixels ? "nodata" : "no_pixel",
                               .dist_m = NAN};
        sb_reset(&extra);
        sb_printf(&extra, ",\"coverage\":\"%s\"",
                  run->c.coverage == ZONAL_CENTRE ? "centre" : "weighted");
        if (!rc)
            rc = emit_zonal(run, &e, &z, run->c.zonal_qualifier, sb_str(&extra), &params, err);
        zonal_stats_free(&z);
    }
    sb_free(&params);
    sb_free(&extra);
    return rc;
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
