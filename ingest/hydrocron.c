/*
 * hydrocron.c: PO.DAAC Hydrocron time-series responses (SWOT reaches, nodes, prior lakes): the
 * JSON envelope with its CSV or GeoJSON result, raw CSV, raw GeoJSON (compact or not), mapped
 * as docs/formats.md's shared SWOT mapping says, so that they merge with the shapefile
 * products. Responses are capped at 6 MB by the service and are read whole; never guesses a
 * field's meaning beyond the role table below.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <jansson.h>
#include <ogr_api.h>

#include "ingest.h"
#include "swot.h"
#include "jsonutil.h"
#include "timeutil.h"

/* Seconds from 1970-01-01 to 2000-01-01, the epoch of SWOT's `time`. */
#define SWOT_EPOCH_S INT64_C(946684800)
#define SWOT_FILL -999999999999.0

/* ---- what kind of feature a response describes ---- */

struct hc_kind {
    const char *id_field;     /* the Thing's code */
    const char *ns;           /* Thing namespace */
    const char *sensor;       /* Sensor code (namespace swot) */
    const char *product;      /* the file id of the shapefile product */
    const char *summary_q;    /* summary and bitwise quality flags of every measurement */
    const char *summary_q_b;
};

static const struct hc_kind kinds[] = {
    {"node_id", "swot:node", "L2_HR_RiverSP", "Node", "node_q", "node_q_b"},
    {"lake_id", "swot:lake", "L2_HR_LakeSP", "Prior", "quality_f", "qual_f_b"},
    {"reach_id", "swot:reach", "L2_HR_RiverSP", "Reach", "reach_q", "reach_q_b"},
};

/* Long names of the commonly requested fields, as the products' .shp.xml give them. */
struct hc_long_name {
    const char *product, *field, *long_name;
};
static const struct hc_long_name long_names[] = {
    {"L2_HR_RiverSP", "wse", "water surface elevation with respect to the geoid"},
    {"L2_HR_RiverSP", "wse_u", "total uncertainty in the water surface elevation"},
    {"L2_HR_RiverSP", "wse_r_u", "random-only uncertainty in the water surface elevation"},
    {"L2_HR_RiverSP", "slope", "water surface slope with respect to the geoid"},
    {"L2_HR_RiverSP", "slope_u", "total uncertainty in the water surface slope"},
    {"L2_HR_RiverSP", "width", "reach width"},
    {"L2_HR_RiverSP", "width_u", "total uncertainty in the reach width"},
    {"L2_HR_RiverSP", "area_total", "total water surface area including dark water"},
    {"L2_HR_RiverSP", "area_tot_u", "uncertainty in the total water surface area"},
    {"L2_HR_RiverSP", "dschg_c", "consensus discharge"},
    {"L2_HR_RiverSP", "dschg_c_u", "uncertainty in consensus discharge"},
    {"L2_HR_LakeSP", "wse", "lake-averaged water surface elevation with respect to the geoid"},
    {"L2_HR_LakeSP", "wse_u", "total uncertainty in lake water surface elevation"},
    {"L2_HR_LakeSP", "area_total", "total water area with estimate of dark water"},
    {"L2_HR_LakeSP", "area_tot_u", "uncertainty in total water area"},
};

static const char *long_name_of(const char *product, const char *field)
{
    for (size_t i = 0; i < ARRAY_LEN(long_names); i++)
        if (strcmp(long_names[i].product, product) == 0 &&
            strcmp(long_names[i].field, field) == 0)
            return long_names[i].long_name;
    return "";
}

/* ---- the role of a field ---- */

enum hc_role { ROLE_MEASURE, ROLE_ID, ROLE_TIME, ROLE_META, ROLE_FLAG, ROLE_UNITS };

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

static enum hc_role field_role(const char *f)
{
    static const char *const ids[] = {"reach_id", "node_id", "lake_id", "obs_id", NULL};
    static const char *const times[] = {"time", "time_tai", "time_str", "range_start_time",
                                        "range_end_time", "ingest_time", NULL};
    static const char *const meta[] = {
        "cycle_id", "pass_id", "continent_id", "crid", "granuleUR", "collection_shortname",
        "collection_version", "sword_version", "PLD_version", "river_name", "lake_name",
        "geometry", "rch_id_up", "rch_id_dn", "p_res_id", "p_date_t0", "overlap", "n_overlap",
        "p_dam_id", NULL};
    for (int i = 0; ids[i]; i++)
        if (strcmp(f, ids[i]) == 0)
            return ROLE_ID;
    for (int i = 0; times[i]; i++)
        if (strcmp(f, times[i]) == 0)
            return ROLE_TIME;
    for (int i = 0; meta[i]; i++)
        if (strcmp(f, meta[i]) == 0)
            return ROLE_META;
    if (has_suffix(f, "_units"))
        return ROLE_UNITS;
    if (has_suffix(f, "_q") || has_suffix(f, "_q_b") || has_suffix(f, "_f") ||
        has_suffix(f, "_f_b"))
        return ROLE_FLAG;
    return ROLE_MEASURE;
}

/* The field's own quality flag (the products' quality_flag attribute), or NULL. */
static const char *own_flag(const char *f, char *buf, size_t size)
{
    if (strcmp(f, "d_x_area") == 0)
        return "dschg_q_b";
    if (strcmp(f, "xovr_cal_c") == 0)
        return "xovr_cal_q";
    if (strcmp(f, "wse_sm") == 0)
        return "wse_sm_q";
    /* a discharge estimate dschg_<algo> is qualified by dschg_<algo>_q */
    if (strncmp(f, "dschg_", 6) == 0 && !strchr(f + 6, '_') && !has_suffix(f, "sf")) {
        snprintf(buf, size, "%s_q", f);
        return buf;
    }
    return NULL;
}

/* ---- one record: field names and their values (strings as the service writes them) ---- */

struct hc_rec {
    size_t n;
    const char **names;
    const char **values;
    char *geojson;           /* the feature's geometry as GeoJSON, or NULL */
};

static const char *rec_get(const struct hc_rec *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

struct hc {
    const struct source *src;
    struct batch_writer *bw;
    const struct hc_kind *kind;
    int64_t sensor_id;
    struct strbuf last_code, last_geom;
    int64_t thing_id, feature_id;
    uint64_t rows, skipped;
    struct strbuf sb;
};

static int is_fill_text(const char *s)
{
    return !s || !*s || strcmp(s, "no_data") == 0 || str_ieq(s, "nan") || str_ieq(s, "null");
}

/* A value: 1 with *v, 0 for a fill value (NULL result), -1 when not a number. */
static int hc_number(const char *s, double *v)
{
    if (is_fill_text(s))
        return 0;
    if (parse_double(s, strlen(s), v))
        return -1;
    if (*v == SWOT_FILL || isnan(*v))
        return 0;
    /* integer fields use -999 and -99999999 as fill values; reals never print as integers */
    if (!strpbrk(s, ".eE") && (*v == -999 || *v == -99999999))
        return 0;
    return 1;
}

static const struct hc_kind *kind_of(const struct hc_rec *r)
{
    for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
        if (rec_get(r, kinds[k].id_field))
            return &kinds[k];
    return NULL;
}

/* The observation time: `time` (seconds since 2000, as the products give it), else time_str.
 * 1 with *t, 0 when the record has a fill time. */
static int hc_time(struct hc *h, const struct hc_rec *r, int64_t *t, insitu_error *err)
{
    const char *time = rec_get(r, "time"), *time_str = rec_get(r, "time_str");
    int64_t from_str = INSITU_TIME_NONE;
    if (time_str && !is_fill_text(time_str)) {
        insitu_error terr;
        if (time_parse_iso(time_str, strlen(time_str), NULL, &from_str, &terr))
            return insitu_error_set(err, INSITU_EINVAL, "hydrocron: %s: record %llu: time_str: "
                                    "%s", h->src->name, (unsigned long long)h->rows + 1,
                                    terr.message);
    }
    if (time) {
        double s;
        int k = hc_number(time, &s);
        if (k < 0)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "hydrocron: %s: record %llu: time: not a number: '%s'",
                                    h->src->name, (unsigned long long)h->rows + 1, time);
        if (k == 0)
            return 0;
        *t = llround(s * 1e6) + SWOT_EPOCH_S * US_PER_SEC;
        /* time_str is written to the second */
        if (from_str != INSITU_TIME_NONE && llabs(*t - from_str) >= 1000000)
            bw_warn(h->bw, "hydrocron: %s: record %llu: time %s and time_str %s disagree",
                    h->src->name, (unsigned long long)h->rows + 1, time, time_str);
        return 1;
    }
    if (from_str == INSITU_TIME_NONE)
        return time_str ? 0
                        : insitu_error_set(err, INSITU_EINVAL,
                                           "hydrocron: %s: record %llu: no time or time_str "
                                           "field (request them in 'fields')",
                                           h->src->name, (unsigned long long)h->rows + 1);
    *t = from_str;
    return 1;
}

static int hc_thing(struct hc *h, const struct hc_rec *r, const char *code, insitu_error *err)
{
    if (h->last_code.len && strcmp(h->last_code.data, code) == 0 &&
        (!r->geojson || (h->last_geom.len && strcmp(h->last_geom.data, r->geojson) == 0)))
        return 0;
    json_t *props = json_object();
    const char *v;
    static const char *const keep[] = {"river_name", "lake_name", "sword_version",
                                       "PLD_version", NULL};
    for (int i = 0; keep[i]; i++)
        if ((v = rec_get(r, keep[i])) && !is_fill_text(v))
            json_set_str(props, keep[i], v);
    if (strcmp(h->kind->id_field, "reach_id") != 0 && (v = rec_get(r, "reach_id")) &&
        !is_fill_text(v))
        json_set_str(props, "reach_id", v);
    char *text = json_object_size(props) ? json_text(props) : NULL;
    json_decref(props);
    struct thing_in t = {.ns = h->kind->ns, .code = code, .name = code, .properties = text};
    int rc = bw_thing(h->bw, &t, &h->thing_id, err);
    free(text);
    h->feature_id = 0;
    if (!rc && r->geojson) {
        /* the product's own geometry (swot-river, swot-lake) stays the Thing's location: a
         * Hydrocron geometry only locates a Thing that has none, and the FoI has the same
         * key as the product path gives it */
        rc = bw_thing_location_default(h->bw, h->thing_id, code, r->geojson, err);
        char key[256];
        swot_feature_key(key, sizeof key, h->kind->ns, code);
        struct feature_in f = {.key = key, .name = code, .geojson = r->geojson};
        if (!rc)
            rc = bw_feature(h->bw, &f, &h->feature_id, err);
    }
    sb_reset(&h->last_code);
    sb_puts(&h->last_code, code);
    sb_reset(&h->last_geom);
    if (r->geojson)
        sb_puts(&h->last_geom, r->geojson);
    return rc;
}

/* The observation parameters the shapefile path takes from the file name. */
static char *hc_parameters(struct hc *h, const struct hc_rec *r)
{
    json_t *p = json_object();
    const char *v;
    int64_t n;
    if ((v = rec_get(r, "cycle_id")) && !parse_int64(v, strlen(v), &n))
        json_object_set_new(p, "cycle", json_integer(n));
    if ((v = rec_get(r, "pass_id")) && !parse_int64(v, strlen(v), &n))
        json_object_set_new(p, "pass", json_integer(n));
    if ((v = rec_get(r, "continent_id")) && !is_fill_text(v))
        json_set_str(p, "continent", v);
    if ((v = rec_get(r, "crid")) && !is_fill_text(v))
        json_set_str(p, "crid", v);
    if ((v = rec_get(r, "granuleUR")) && !is_fill_text(v)) {
        /* ..._<CRID>_<counter>.zip */
        const char *us = strrchr(v, '_');
        if (us && strlen(us + 1) >= 2 && us[1] >= '0' && us[1] <= '9' && us[2] >= '0' &&
            us[2] <= '9') {
            char counter[3] = {us[1], us[2], '\0'};
            json_set_str(p, "counter", counter);
        }
    }
    if (json_object_size(p))
        json_set_str(p, "product", h->kind->product);
    char *text = json_object_size(p) ? json_text(p) : NULL;
    json_decref(p);
    return text;
}

/* resultQuality: the summary flags and the field's own flag, as integers. */
static char *hc_quality(struct hc *h, const struct hc_rec *r, const char *field)
{
    char buf[64];
    const char *names[] = {h->kind->summary_q, h->kind->summary_q_b, own_flag(field, buf,
                                                                              sizeof buf)};
    json_t *q = json_object();
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        const char *v = names[i] ? rec_get(r, names[i]) : NULL;
        int64_t n;
        if (v && !parse_int64(v, strlen(v), &n))
            json_object_set_new(q, names[i], json_integer(n));
        else if (v && *v)
            json_set_str(q, names[i], v);
    }
    char *text = json_object_size(q) ? json_text(q) : NULL;
    json_decref(q);
    return text;
}

static int hc_datastream(struct hc *h, const struct hc_rec *r, const char *field,
                         const char *code, int64_t *id, insitu_error *err)
{
    struct strbuf def = {0}, units_key = {0}, name = {0};
    sb_printf(&def, "urn:x-insitu:swot:%s", field);
    sb_printf(&units_key, "%s_units", field);
    sb_printf(&name, "%s of %s %s", field, h->kind->product, code);
    const char *unit = rec_get(r, units_key.data);
    const char *long_name = long_name_of(h->kind->sensor, field);
    struct property_in p = {.name = field, .definition = def.data, .description = long_name};
    int64_t prop;
    int rc = bw_property(h->bw, &p, &prop, err);
    char flagbuf[64];
    const char *flag = own_flag(field, flagbuf, sizeof flagbuf);
    char *props_text = swot_datastream_properties(h->kind->sensor, h->kind->product,
                                                  *long_name ? long_name : NULL, flag);
    if (!rc) {
        struct datastream_in d = {.thing_id = h->thing_id,
                                  .sensor_id = h->sensor_id,
                                  .property_id = prop,
                                  .qualifier = "",
                                  .name = name.data,
                                  .observation_type = OBSERVATION_TYPE_MEASUREMENT,
                                  .unit_name = unit,
                                  .unit_symbol = unit,
                                  .properties = props_text};
        rc = bw_datastream(h->bw, &d, id, err);
    }
    free(props_text);
    sb_free(&def);
    sb_free(&units_key);
    sb_free(&name);
    return rc;
}

static int hc_record(struct hc *h, const struct hc_rec *r, insitu_error *err)
{
    const struct hc_kind *kind = kind_of(r);
    if (!kind)
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydrocron: %s: record %llu: no reach_id, node_id or lake_id "
                                "field",
                                h->src->name, (unsigned long long)h->rows + 1);
    if (!h->kind) {
        h->kind = kind;
        int rc = swot_sensor(h->bw, kind->sensor, &h->sensor_id, err);
        if (rc)
            return rc;
    } else if (kind != h->kind) {
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydrocron: %s: record %llu: mixes %s and %s records",
                                h->src->name, (unsigned long long)h->rows + 1, h->kind->id_field,
                                kind->id_field);
    }
    const char *code = rec_get(r, kind->id_field);
    if (is_fill_text(code))
        return insitu_error_set(err, INSITU_EINVAL, "hydrocron: %s: record %llu: empty %s",
                                h->src->name, (unsigned long long)h->rows + 1, kind->id_field);
    int64_t t = INSITU_TIME_NONE;
    int rc = hc_time(h, r, &t, err);
    if (rc <= 0) {
        h->skipped += rc == 0;
        h->rows++;
        return rc;
    }
    rc = hc_thing(h, r, code, err);
    char *params = rc ? NULL : hc_parameters(h, r);
    for (size_t i = 0; !rc && i < r->n; i++) {
        const char *field = r->names[i];
        if (field_role(field) != ROLE_MEASURE)
            continue;
        struct obs_row o = {.phenomenon_start = t,
                            .phenomenon_end = INSITU_TIME_NONE,
                            .result_time = INSITU_TIME_NONE,
                            .parameters = params,
                            .feature_id = h->feature_id};
        int k = hc_number(r->values[i], &o.result);
        if (k < 0) {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "hydrocron: %s: record %llu: %s: not a number: '%s'",
                                  h->src->name, (unsigned long long)h->rows + 1, field,
                                  r->values[i]);
            break;
        }
        o.has_result = k;
        rc = hc_datastream(h, r, field, code, &o.datastream_id, err);
        char *quality = rc ? NULL : hc_quality(h, r, field);
        o.quality = quality;
        if (!rc)
            rc = bw_observation(h->bw, &o, err);
        free(quality);
    }
    free(params);
    h->rows++;
    return rc;
}

/* ---- CSV (raw, or the envelope's results.csv) ---- */

enum { HC_MAX_COLS = 512 };

/* Parses CSV text (writable, NUL-terminated) record by record. */
static int hc_csv(struct hc *h, char *text, insitu_error *err)
{
    char *hdr[HC_MAX_COLS], *f[HC_MAX_COLS];
    size_t hl[HC_MAX_COLS], fl[HC_MAX_COLS];
    int ncols = -1, rc = 0;
    uint64_t line = 0;
    OGRGeometryH g = NULL;
    for (char *p = text; !rc && *p;) {
        char *nl = strchr(p, '\n');
        /* the service writes one record per line (a quoted WKT geometry has no line break) */
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *next = nl ? nl + 1 : p + len;
        line++;
        if (len && p[len - 1] == '\r')
            len--;
        p[len] = '\0';
        if (!len) {
            p = next;
            continue;
        }
        if (ncols < 0) {
            ncols = split_fields(p, len, ',', 1, hdr, hl, HC_MAX_COLS);
            if (ncols < 0)
                rc = insitu_error_set(err, INSITU_EINVAL, "hydrocron: %s: more than %d fields",
                                      h->src->name, HC_MAX_COLS);
            for (int i = 0; i < ncols; i++)
                hdr[i] = str_trim(hdr[i]);
            p = next;
            continue;
        }
        int n = split_fields(p, len, ',', 1, f, fl, HC_MAX_COLS);
        if (n != ncols) {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "hydrocron: %s: CSV line %llu: expected %d fields as in the "
                                  "header, found %d",
                                  h->src->name, (unsigned long long)line, ncols, n);
            break;
        }
        struct hc_rec r = {.n = (size_t)n,
                           .names = (const char **)hdr,
                           .values = (const char **)f};
        const char *wkt = rec_get(&r, "geometry");
        if (wkt && !is_fill_text(wkt)) {
            char *w = (char *)wkt;
            if (OGR_G_CreateFromWkt(&w, NULL, &g) == OGRERR_NONE && g) {
                char *js = OGR_G_ExportToJson(g);
                r.geojson = xstrdup(js);
                CPLFree(js);
                OGR_G_DestroyGeometry(g);
                g = NULL;
            } else {
                rc = insitu_error_set(err, INSITU_EINVAL,
                                      "hydrocron: %s: CSV line %llu: geometry: not WKT",
                                      h->src->name, (unsigned long long)line);
                break;
            }
        }
        rc = hc_record(h, &r, err);
        free(r.geojson);
        p = next;
    }
    return rc;
}

/* ---- GeoJSON (raw, or the envelope's results.geojson) ---- */

/* A property value as text: strings as they are, numbers written exactly. */
static const char *value_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        fmt_double(json_real_value(v), buf, size);
        if (!strpbrk(buf, ".eEn"))
            strncat(buf, ".0", size - strlen(buf) - 1);
        return buf;
    }
    return NULL;
}

static int hc_feature(struct hc *h, json_t *feat, size_t fi, insitu_error *err)
{
    json_t *props = json_object_get(feat, "properties");
    if (!json_is_object(props))
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydrocron: %s: features[%zu].properties: missing", h->src->name,
                                fi);
    json_t *geom = json_object_get(feat, "geometry");
    char *geojson = json_is_object(geom) && json_object_size(geom) ? json_text(geom) : NULL;
    size_t n = json_object_size(props), steps = 1;
    const char **names = calloc(n ? n : 1, sizeof *names);
    const char **values = calloc(n ? n : 1, sizeof *values);
    char(*bufs)[48] = calloc(n ? n : 1, sizeof *bufs);
    int rc = names && values && bufs ? 0 : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    /* a compact response holds one array per field, one element per time step */
    const char *key;
    json_t *v;
    int compact = -1;
    json_object_foreach(props, key, v)
    {
        int is_array = json_is_array(v);
        if (compact >= 0 && compact != is_array && !rc)
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "hydrocron: %s: features[%zu].properties.%s: arrays and "
                                  "single values mixed",
                                  h->src->name, fi, key);
        compact = is_array;
        if (is_array && json_array_size(v) > steps)
            steps = json_array_size(v);
    }
    for (size_t s = 0; !rc && s < steps; s++) {
        size_t k = 0;
        json_object_foreach(props, key, v)
        {
            json_t *x = compact == 1 ? json_array_get(v, s) : v;
            names[k] = key;
            values[k] = x ? value_text(x, bufs[k], sizeof bufs[k]) : NULL;
            if (!values[k])
                values[k] = "";
            k++;
        }
        struct hc_rec r = {.n = k, .names = names, .values = values, .geojson = geojson};
        rc = hc_record(h, &r, err);
    }
    free(names);
    free(values);
    free(bufs);
    free(geojson);
    return rc;
}

static int hc_geojson(struct hc *h, json_t *fc, insitu_error *err)
{
    json_t *features = json_object_get(fc, "features");
    if (!json_is_array(features))
        return insitu_error_set(err, INSITU_EINVAL, "hydrocron: %s: features: missing",
                                h->src->name);
    int rc = 0;
    for (size_t i = 0; !rc && i < json_array_size(features); i++)
        rc = hc_feature(h, json_array_get(features, i), i, err);
    return rc;
}

/* ---- reading a response ---- */

static int read_all(const struct source *src, struct strbuf *sb, insitu_error *err)
{
    VSILFILE *f = VSIFOpenL(src->path, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "hydrocron: %s: cannot open", src->name);
    char buf[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = VSIFReadL(buf, 1, sizeof buf, f)) > 0)
        if (sb_append(sb, buf, n))
            rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    VSIFCloseL(f);
    return rc;
}

static int is_feature_collection(const json_t *j)
{
    const char *type = json_str_at(j, "type");
    return type && strcmp(type, "FeatureCollection") == 0;
}

static int hc_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct hc h;
    memset(&h, 0, sizeof h);
    h.src = src;
    h.bw = bw;
    struct strbuf text = {0};
    int rc = read_all(src, &text, err);
    const char *p = sb_str(&text);
    if (!rc && text.len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark */
    if (!rc)
        rc = text_check_nul("hydrocron", src->name, text.data, text.len, err);
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    json_t *doc = NULL;
    if (!rc && (*p == '{' || *p == '"')) {
        json_error_t jerr;
        doc = json_loads(p, JSON_DECODE_ANY, &jerr);
        char where[1200];
        snprintf(where, sizeof where, "hydrocron: %s: line %d column %d", src->name, jerr.line,
                 jerr.column);
        if (!doc && json_error_code(&jerr) == json_error_invalid_utf8)
            rc = source_not_utf8(src, where, err);
        else if (!doc)
            rc = insitu_error_set(err, INSITU_EINVAL, "%s: %s", where, jerr.text);
    }
    if (!rc && !doc) {
        rc = hc_csv(&h, text.data, err);
    } else if (!rc && json_is_string(doc)) {
        /* a CSV response written as a JSON string */
        char *csv = xstrdup(json_string_value(doc));
        rc = hc_csv(&h, csv, err);
        free(csv);
    } else if (!rc) {
        json_t *results = json_object_get(doc, "results");
        json_t *body = results ? results : doc;
        const char *csv = json_string_value(json_object_get(body, "csv"));
        json_t *gj = results ? json_object_get(results, "geojson") : doc;
        const char *status = json_str_at(doc, "status");
        if (status && strncmp(status, "200", 3) != 0)
            rc = insitu_error_set(err, INSITU_EINVAL, "hydrocron: %s: status %s: %s", src->name,
                                  status, json_str_at(doc, "error") ? json_str_at(doc, "error")
                                                                    : "");
        else if (csv && *csv) {
            char *copy = xstrdup(csv);
            rc = hc_csv(&h, copy, err);
            free(copy);
        } else if (json_is_object(gj) && (json_object_get(gj, "features") ||
                                           is_feature_collection(gj))) {
            rc = hc_geojson(&h, gj, err);
        } else if (results) {
            bw_warn(bw, "hydrocron: %s: the response holds no results", src->name);
        } else {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "hydrocron: %s: neither a Hydrocron response (results) nor a "
                                  "GeoJSON FeatureCollection",
                                  src->name);
        }
    }
    if (!rc && h.skipped)
        bw_warn(bw, "hydrocron: %s: %llu records without a time (fill value) skipped",
                src->name, (unsigned long long)h.skipped);
    json_decref(doc);
    sb_free(&text);
    sb_free(&h.last_code);
    sb_free(&h.last_geom);
    sb_free(&h.sb);
    return rc;
}

static int hc_probe(const struct source *src)
{
    if (src->is_dir || src->is_zip || !src->head_len)
        return 0;
    const unsigned char *p = src->head;
    size_t n = src->head_len;
    int ids = mem_contains(p, n, "reach_id") || mem_contains(p, n, "node_id") ||
              mem_contains(p, n, "lake_id");
    if (mem_contains(p, n, "\"results\"") && mem_contains(p, n, "\"hits\"") &&
        (mem_contains(p, n, "\"csv\"") || mem_contains(p, n, "\"geojson\"")))
        return 90;
    if (ids && mem_contains(p, n, "time_str")) {
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
            i++;
        /* a raw CSV begins with its header; a raw GeoJSON is a FeatureCollection */
        if (i < n && p[i] != '{' && p[i] != '"')
            return 85;
        if (mem_contains(p, n, "\"FeatureCollection\"") || (i < n && p[i] == '"'))
            return 85;
    }
    return 0;
}

const struct ingester ingester_hydrocron = {
    .name = "hydrocron",
    .description = "PO.DAAC Hydrocron time series of SWOT reaches, nodes and prior lakes "
                   "(JSON response with CSV or GeoJSON results, raw CSV or GeoJSON)",
    .probe = hc_probe,
    .run = hc_run,
};
