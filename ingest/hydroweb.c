/*
 * hydroweb.c: Hydroweb virtual-station water levels, in two formats mapped to the same
 * entities so that they merge: the legacy JSON (a GeoJSON Feature with a data[] series) and
 * the Hydroweb.next WFS CSV (one row per measurement, lat/lon axis order). Never guesses an
 * axis order or a datum silently: both are settings with documented defaults.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>
#include <cpl_vsi.h>
#include <jansson.h>
#include <ogr_api.h>

#include "ingest.h"
#include "jsonutil.h"
#include "timeutil.h"

/* ---- the mapping shared by both formats (docs/formats.md, "Hydroweb") ---- */

#define HW_NS "hydroweb"
#define HW_DEFAULT_DATUM "EGM2008"
#define HW_DEFAULT_MISSING 9999.999

/* What a station brings. Only what both formats give is kept, so that the Thing and its
 * Datastreams are the same whichever format was read last (the store keeps one description
 * per entity): the legacy JSON's other metadata (Hydroweb id, country, the datum's altitude)
 * has no counterpart in the WFS layer. */
struct hw_station {
    const char *code;                     /* the station name: R_APPROUAGUE_APPROUAGUE_KM0041 */
    double lon, lat;
    const char *basin, *river, *status, *validation;
    const char *datum;                    /* vertical datum name (EGM2008) */
};

struct hw {
    struct batch_writer *bw;
    const char *file;                     /* for messages */
    const char *format;                   /* "hydroweb" or "hydroweb-next" */
    int64_t sensor_id, prop_wse, prop_wse_u;
    int64_t thing_id, ds_wse, ds_wse_u, feature_id;
    struct strbuf station;                /* code of the current station */
    uint64_t rows;
};

static int hw_init(struct hw *h, struct batch_writer *bw, const char *file, const char *format,
                   insitu_error *err)
{
    memset(h, 0, sizeof *h);
    h->bw = bw;
    h->file = file;
    h->format = format;
    struct sensor_in s = {
        .ns = HW_NS,
        .code = "hydroweb",
        .name = "Hydroweb",
        .description = "Virtual-station water levels from satellite radar altimetry "
                       "(Hydroweb / Hydroweb.next: LEGOS, CNES, CLS)",
    };
    struct property_in wse = {
        .name = "wse",
        .definition = "urn:x-insitu:hydroweb:wse",
        .description = "water surface elevation: orthometric height of the water surface at "
                       "the virtual station's reference position",
    };
    struct property_in wse_u = {
        .name = "wse_u",
        .definition = "urn:x-insitu:hydroweb:wse_u",
        .description = "uncertainty of the water surface elevation (associated_uncertainty)",
    };
    int rc = bw_sensor(bw, &s, &h->sensor_id, err);
    if (!rc)
        rc = bw_property(bw, &wse, &h->prop_wse, err);
    if (!rc)
        rc = bw_property(bw, &wse_u, &h->prop_wse_u, err);
    return rc;
}

static void hw_free(struct hw *h) { sb_free(&h->station); }

static int hw_datastream(struct hw *h, const struct hw_station *st, int64_t prop,
                         const char *what, int64_t *id, insitu_error *err)
{
    json_t *props = json_object();
    json_set_str(props, "vertical_datum", st->datum);
    char *text = json_text(props);
    json_decref(props);
    struct strbuf name = {0};
    sb_printf(&name, "%s at %s", what, st->code);
    struct datastream_in d = {.thing_id = h->thing_id,
                              .sensor_id = h->sensor_id,
                              .property_id = prop,
                              .qualifier = "",
                              .name = name.data,
                              .observation_type = OBSERVATION_TYPE_MEASUREMENT,
                              .unit_name = "metre",
                              .unit_symbol = "m",
                              .unit_definition = "http://qudt.org/vocab/unit/M",
                              .properties = text};
    int rc = bw_datastream(h->bw, &d, id, err);
    sb_free(&name);
    free(text);
    return rc;
}

/* Makes st the current station: its Thing, Location, FeatureOfInterest and Datastreams. */
static int hw_station(struct hw *h, const struct hw_station *st, insitu_error *err)
{
    if (h->station.len && strcmp(h->station.data, st->code) == 0)
        return 0;
    if (!(st->lat >= -90 && st->lat <= 90 && st->lon >= -180 && st->lon <= 360))
        return insitu_error_set(err, INSITU_EINVAL, "station %s: position lon %g lat %g out of "
                                "range", st->code, st->lon, st->lat);
    json_t *props = json_object();
    json_set_str(props, "basin", st->basin);
    json_set_str(props, "river", st->river);
    json_set_str(props, "status", st->status);
    json_set_str(props, "validation", st->validation);
    char *text = json_text(props);
    json_decref(props);
    struct thing_in t = {.ns = HW_NS,
                         .code = st->code,
                         .name = st->code,
                         .description = "Hydroweb virtual station",
                         .properties = text};
    int rc = bw_thing(h->bw, &t, &h->thing_id, err);
    free(text);
    char geojson[160];
    geojson_point(geojson, sizeof geojson, st->lon, st->lat, 0, 0);
    if (!rc)
        rc = bw_thing_location(h->bw, h->thing_id, st->code, geojson, err);
    if (!rc)
        rc = bw_point_feature(h->bw, st->lon, st->lat, 0, 0, st->code, &h->feature_id, err);
    if (!rc)
        rc = hw_datastream(h, st, h->prop_wse, "water surface elevation", &h->ds_wse, err);
    if (!rc)
        rc = hw_datastream(h, st, h->prop_wse_u, "uncertainty of the water surface elevation",
                           &h->ds_wse_u, err);
    if (!rc) {
        sb_reset(&h->station);
        sb_puts(&h->station, st->code);
    }
    return rc;
}

/* One measurement of the current station: the height and its uncertainty, each a row of its
 * own Datastream (a missing value is a NULL result). */
static int hw_value(struct hw *h, int64_t start, int64_t end, int has_wse, double wse,
                    int has_u, double u, insitu_error *err)
{
    struct obs_row r = {.datastream_id = h->ds_wse,
                        .phenomenon_start = start,
                        .phenomenon_end = end,
                        .result_time = INSITU_TIME_NONE,
                        .has_result = has_wse,
                        .result = wse,
                        .feature_id = h->feature_id};
    int rc = bw_observation(h->bw, &r, err);
    if (!rc) {
        r.datastream_id = h->ds_wse_u;
        r.has_result = has_u;
        r.result = u;
        rc = bw_observation(h->bw, &r, err);
    }
    h->rows++;
    return rc;
}

/* Reads a missing-value setting (default 9999.999). */
static int hw_missing_setting(const struct source *src, const char *format, double *out,
                              insitu_error *err)
{
    const char *v = source_setting(src, "missing");
    *out = HW_DEFAULT_MISSING;
    if (v && parse_double(v, strlen(v), out))
        return insitu_error_set(err, INSITU_EUSAGE, "%s: missing=%s: not a number", format, v);
    return 0;
}

/* ---- the legacy JSON ---- */

static const char *const hw_json_settings[] = {
    "missing\tvalue meaning missing when the document has no missing_value (default 9999.999)",
    NULL,
};

/* A number member (JSON number, or a numeric string); 1 found, 0 absent or null, -1 bad. */
static int json_number_at(const json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    const char *s = json_string_value(v);
    if (s && !parse_double(s, strlen(s), out))
        return 1;
    return -1;
}

/* The station name of a legacy file: properties.resource, else the data's identifier. */
static const char *json_station_code(const json_t *props, const json_t *data)
{
    const char *code = json_str_at(props, "resource");
    if (!code || !*code)
        code = json_str_at(json_array_get(data, 0), "identifier");
    return code && *code ? code : NULL;
}

static int json_station(const struct source *src, json_t *doc, struct hw_station *st,
                        double *missing, insitu_error *err)
{
    const char *name = src->name;
    json_t *props = json_object_get(doc, "properties");
    json_t *data = json_object_get(doc, "data");
    if (!json_is_object(props))
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb: %s: properties: missing", name);
    if (!json_is_array(data))
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb: %s: data: missing or not a list",
                                name);
    memset(st, 0, sizeof *st);
    st->code = json_station_code(props, data);
    if (!st->code)
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb: %s: properties.resource: no station name", name);
    json_t *coords = json_at(doc, "geometry.coordinates");
    const char *type = json_str_at(doc, "geometry.type");
    if (!type || strcmp(type, "Point") != 0 || json_array_size(coords) < 2 ||
        !json_is_number(json_array_get(coords, 0)) || !json_is_number(json_array_get(coords, 1)))
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb: %s: geometry: expected a GeoJSON Point", name);
    st->lon = json_number_value(json_array_get(coords, 0)); /* GeoJSON order: lon, lat */
    st->lat = json_number_value(json_array_get(coords, 1));
    st->basin = json_str_at(props, "basin");
    st->river = json_str_at(props, "river");
    st->status = json_str_at(props, "status");
    st->validation = json_str_at(props, "validation_criteria");
    st->datum = json_str_at(props, "water_surface_reference_name");
    if (!st->datum || !*st->datum)
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb: %s: properties.water_surface_reference_name: missing "
                                "(the vertical datum of the heights)",
                                name);
    int rc = hw_missing_setting(src, "hydroweb", missing, err);
    if (rc)
        return rc;
    int k = json_number_at(props, "missing_value", missing);
    if (k < 0)
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb: %s: properties.missing_value: not a number", name);
    return 0;
}

/* Reads data[i]: its time and the two values. */
static int json_row(struct hw *h, const struct hw_station *st, json_t *row, size_t i,
                    double missing, insitu_error *err)
{
    const char *name = h->file;
    if (!json_is_object(row))
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb: %s: data[%zu]: not an object",
                                name, i);
    const char *id = json_str_at(row, "identifier");
    if (id && strcmp(id, st->code) != 0)
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb: %s: data[%zu].identifier: %s is not the station %s",
                                name, i, id, st->code);
    const char *date = json_str_at(row, "date"), *time = json_str_at(row, "time");
    if (!date)
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb: %s: data[%zu].date: missing",
                                name, i);
    char text[64];
    snprintf(text, sizeof text, "%s%s%s", date, time && *time ? "T" : "", time ? time : "");
    int64_t t;
    insitu_error terr;
    if (time_parse_iso(text, strlen(text), NULL, &t, &terr)) /* Hydroweb times are UTC */
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb: %s: data[%zu].date/time: %s",
                                name, i, terr.message);
    double wse = 0, u = 0;
    int has_wse = json_number_at(row, "orthometric_height_of_water_surface_at_reference_position",
                                 &wse);
    int has_u = json_number_at(row, "associated_uncertainty", &u);
    if (has_wse < 0 || has_u < 0)
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb: %s: data[%zu].%s: not a number",
                                name, i,
                                has_wse < 0
                                    ? "orthometric_height_of_water_surface_at_reference_position"
                                    : "associated_uncertainty");
    if (!json_object_get(row, "orthometric_height_of_water_surface_at_reference_position"))
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb: %s: data[%zu]: no "
                                "orthometric_height_of_water_surface_at_reference_position",
                                name, i);
    has_wse = has_wse == 1 && wse != missing && !isnan(wse);
    has_u = has_u == 1 && u != missing && !isnan(u);
    return hw_value(h, t, INSITU_TIME_NONE, has_wse, wse, has_u, u, err);
}

static int hw_json_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    /* a station's document is small (a few hundred values): read whole */
    json_t *doc;
    int jrc =
        source_json_load(src, src->path, "hydroweb", src->name, JSON_REJECT_DUPLICATES, &doc, err);
    if (jrc)
        return jrc;
    struct hw h;
    struct hw_station st;
    double missing;
    int rc = json_station(src, doc, &st, &missing, err);
    if (!rc)
        rc = hw_init(&h, bw, src->name, "hydroweb", err);
    else
        memset(&h, 0, sizeof h);
    if (!rc)
        rc = hw_station(&h, &st, err);
    if (rc && !strstr(err ? err->message : "", "hydroweb:"))
        insitu_error_prefix(err, "hydroweb: %s", src->name);
    json_t *data = json_object_get(doc, "data");
    for (size_t i = 0; !rc && i < json_array_size(data); i++)
        rc = json_row(&h, &st, json_array_get(data, i), i, missing, err);
    if (!rc && h.rows == 0)
        bw_warn(bw, "hydroweb: %s: data: no values", src->name);
    hw_free(&h);
    json_decref(doc);
    return rc;
}

static int hw_json_probe(const struct source *src)
{
    if (src->is_dir || src->is_zip || !src->head_len)
        return 0;
    size_t n;
    const char *p = source_head_text(src, &n);
    if (!n || *p != '{' || !mem_contains(p, n, "\"Feature\""))
        return 0;
    int series = mem_contains(p, n, "\"water_surface_reference_name\"") ||
                 mem_contains(p, n,
                              "\"orthometric_height_of_water_surface_at_reference_position\"");
    return series ? 90 : 0;
}

const struct ingester ingester_hydroweb = {
    .name = "hydroweb",
    .description = "Hydroweb virtual-station water levels, legacy JSON (a GeoJSON Feature with "
                   "data[]: date, time, orthometric height, uncertainty)",
    .probe = hw_json_probe,
    .run = hw_json_run,
    .settings = hw_json_settings,
};

/* ---- the Hydroweb.next WFS CSV ---- */

static const char *const hw_wfs_settings[] = {
    "axis_order\tcoordinate order of geom: latlon (default: EPSG:4326 as WFS 1.1 and 2.0 "
    "write it) or lonlat",
    "datum\tvertical datum of wse (default EGM2008, the datum of Hydroweb heights)",
    "missing\tvalue meaning missing, besides an empty field (default 9999.999)",
    NULL,
};

enum { WFS_MAX_COLS = 64 };

struct wfs {
    struct hw h;
    const struct source *src;
    int latlon;
    const char *datum;
    double missing;
    int c_name, c_start, c_end, c_geom, c_wse, c_wse_u, c_river, c_basin, c_status, c_valid;
    struct strbuf geom;       /* geom text of the current station (its point is parsed once) */
    double lon, lat;
};

static int wfs_col(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (str_ieq(hdr[i], name))
            return i;
    return -1;
}

static int wfs_header(struct wfs *w, char *line, size_t len, insitu_error *err)
{
    char *f[WFS_MAX_COLS];
    size_t l[WFS_MAX_COLS];
    int n = split_fields(line, len, ',', 1, f, l, WFS_MAX_COLS);
    if (n < 0)
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb-next: %s: more than %d columns",
                                w->src->name, WFS_MAX_COLS);
    w->c_name = wfs_col(f, n, "name");
    w->c_start = wfs_col(f, n, "start_time");
    w->c_end = wfs_col(f, n, "end_time");
    w->c_geom = wfs_col(f, n, "geom");
    w->c_wse = wfs_col(f, n, "wse");
    w->c_wse_u = wfs_col(f, n, "wse_u");
    w->c_river = wfs_col(f, n, "river");
    w->c_basin = wfs_col(f, n, "basin");
    w->c_status = wfs_col(f, n, "status");
    w->c_valid = wfs_col(f, n, "validation");
    const char *missing = w->c_name < 0    ? "name"
                          : w->c_start < 0 ? "start_time"
                          : w->c_geom < 0  ? "geom"
                          : w->c_wse < 0   ? "wse"
                                           : NULL;
    if (missing)
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb-next: %s:1: no '%s' column (expected the WFS CSV: "
                                "start_time,end_time,geom,name,...,wse,wse_u)",
                                w->src->name, missing);
    return n;
}

/* Parses the geom field (WKT POINT) with OGR, in the configured axis order. */
static int wfs_point(struct wfs *w, const char *text, uint64_t line, insitu_error *err)
{
    if (w->geom.len && strcmp(w->geom.data, text) == 0)
        return 0;
    char *wkt = (char *)text;
    OGRGeometryH g = NULL;
    CPLErrorReset();
    if (OGR_G_CreateFromWkt(&wkt, NULL, &g) != OGRERR_NONE || !g ||
        wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPoint || OGR_G_IsEmpty(g)) {
        if (g)
            OGR_G_DestroyGeometry(g);
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb-next: %s:%llu: column 'geom': not a WKT POINT: '%s'",
                                w->src->name, (unsigned long long)line, text);
    }
    double a = OGR_G_GetX(g, 0), b = OGR_G_GetY(g, 0);
    OGR_G_DestroyGeometry(g);
    w->lat = w->latlon ? a : b;
    w->lon = w->latlon ? b : a;
    if (!(w->lat >= -90 && w->lat <= 90))
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb-next: %s:%llu: column 'geom': latitude %g out of range "
                                "with axis_order=%s (try --set axis_order=%s)",
                                w->src->name, (unsigned long long)line, w->lat,
                                w->latlon ? "latlon" : "lonlat", w->latlon ? "lonlat" : "latlon");
    sb_reset(&w->geom);
    sb_puts(&w->geom, text);
    return 0;
}

/* A value field: 1 with *v, 0 when missing (empty, NaN, null or the missing value). */
static int wfs_value(struct wfs *w, char *s, size_t n, double *v, int col, uint64_t line,
                     insitu_error *err)
{
    s = str_trim(s);
    n = strlen(s);
    if (!n || str_ieq(s, "nan") || str_ieq(s, "null"))
        return 0;
    if (parse_double(s, n, v))
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb-next: %s:%llu: column '%s': not a number: '%s'",
                                w->src->name, (unsigned long long)line,
                                col == w->c_wse ? "wse" : "wse_u", s);
    return *v != w->missing && !isnan(*v);
}

static const char *field_or_null(char **f, int col)
{
    return col >= 0 && *f[col] ? f[col] : NULL;
}

static int wfs_row(struct wfs *w, char **f, uint64_t line, insitu_error *err)
{
    int rc = wfs_point(w, f[w->c_geom], line, err);
    if (rc)
        return rc;
    if (!*f[w->c_name])
        return insitu_error_set(err, INSITU_EINVAL, "hydroweb-next: %s:%llu: column 'name': "
                                "empty station name", w->src->name, (unsigned long long)line);
    struct hw_station st = {.code = f[w->c_name],
                            .lon = w->lon,
                            .lat = w->lat,
                            .basin = field_or_null(f, w->c_basin),
                            .river = field_or_null(f, w->c_river),
                            .status = field_or_null(f, w->c_status),
                            .validation = field_or_null(f, w->c_valid),
                            .datum = w->datum};
    rc = hw_station(&w->h, &st, err);
    if (rc) {
        insitu_error_prefix(err, "hydroweb-next: %s:%llu", w->src->name,
                            (unsigned long long)line);
        return rc;
    }
    int64_t start, end = INSITU_TIME_NONE;
    insitu_error terr;
    if (time_parse_iso(f[w->c_start], strlen(f[w->c_start]), NULL, &start, &terr))
        return insitu_error_set(err, INSITU_EINVAL,
                                "hydroweb-next: %s:%llu: column 'start_time': %s", w->src->name,
                                (unsigned long long)line, terr.message);
    if (w->c_end >= 0 && *f[w->c_end]) {
        if (time_parse_iso(f[w->c_end], strlen(f[w->c_end]), NULL, &end, &terr))
            return insitu_error_set(err, INSITU_EINVAL,
                                    "hydroweb-next: %s:%llu: column 'end_time': %s",
                                    w->src->name, (unsigned long long)line, terr.message);
        if (end < start)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "hydroweb-next: %s:%llu: column 'end_time': before "
                                    "start_time",
                                    w->src->name, (unsigned long long)line);
        if (end == start)
            end = INSITU_TIME_NONE; /* an instant, as the legacy JSON gives it */
    }
    double wse = 0, u = 0;
    int has_wse = wfs_value(w, f[w->c_wse], strlen(f[w->c_wse]), &wse, w->c_wse, line, err);
    if (has_wse < 0)
        return has_wse;
    int has_u = 0;
    if (w->c_wse_u >= 0 &&
        (has_u = wfs_value(w, f[w->c_wse_u], strlen(f[w->c_wse_u]), &u, w->c_wse_u, line, err)) <
            0)
        return has_u;
    return hw_value(&w->h, start, end, has_wse, wse, has_u, u, err);
}

static int wfs_settings(struct wfs *w, insitu_error *err)
{
    const char *v = source_setting(w->src, "axis_order");
    w->latlon = 1;
    if (v) {
        if (str_ieq(v, "lonlat"))
            w->latlon = 0;
        else if (!str_ieq(v, "latlon"))
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "hydroweb-next: axis_order=%s: expected latlon or lonlat", v);
    }
    w->datum = source_setting(w->src, "datum");
    if (!w->datum || !*w->datum)
        w->datum = HW_DEFAULT_DATUM;
    return hw_missing_setting(w->src, "hydroweb-next", &w->missing, err);
}

static int hw_wfs_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct wfs w;
    memset(&w, 0, sizeof w);
    w.src = src;
    struct line_reader lr;
    int rc = wfs_settings(&w, err);
    if (!rc)
        rc = hw_init(&w.h, bw, src->name, "hydroweb-next", err);
    if (!rc)
        rc = lr_open_source(&lr, src, src->path, src->name, err);
    if (rc) {
        hw_free(&w.h);
        return rc;
    }
    lr.hash = bw_source_hash(bw);
    char *line, *f[WFS_MAX_COLS];
    size_t len, l[WFS_MAX_COLS];
    int ncols = 0;
    rc = lr_next(&lr, &line, &len, err);
    if (rc == 0)
        rc = insitu_error_set(err, INSITU_EINVAL, "hydroweb-next: %s: no header line",
                              src->name);
    else if (rc == 1)
        rc = (ncols = wfs_header(&w, line, len, err)) < 0 ? ncols : 0;
    while (!rc && (rc = lr_next(&lr, &line, &len, err)) == 1) {
        rc = 0;
        if (!len)
            continue;
        if (!utf8_valid(line, len)) {
            char where[512];
            snprintf(where, sizeof where, "hydroweb-next: %s:%llu", src->name,
                     (unsigned long long)lr.line_no);
            rc = source_not_utf8(src, where, err);
            break;
        }
        int n = split_fields(line, len, ',', 1, f, l, WFS_MAX_COLS);
        if (n != ncols) {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "hydroweb-next: %s:%llu: expected %d fields as in the header, "
                                  "found %d",
                                  src->name, (unsigned long long)lr.line_no, ncols, n);
            break;
        }
        rc = wfs_row(&w, f, lr.line_no, err);
    }
    if (!rc && w.h.rows == 0)
        bw_warn(bw, "hydroweb-next: %s: no data rows after the header", src->name);
    lr_close(&lr);
    hw_free(&w.h);
    sb_free(&w.geom);
    return rc;
}

static int hw_wfs_probe(const struct source *src)
{
    if (src->is_dir || src->is_zip || !src->head_len)
        return 0;
    size_t n;
    const char *p = source_head_text(src, &n);
    const char *nl = memchr(p, '\n', n);
    size_t first = nl ? (size_t)(nl - p) : n;
    /* the header of a GetFeature CSV of a Hydroweb.next layer */
    static const char *const cols[] = {"start_time", "geom", "name", "wse", NULL};
    for (int i = 0; cols[i]; i++) {
        size_t k = strlen(cols[i]);
        int found = 0;
        for (size_t j = 0; j + k <= first && !found; j++)
            found = memcmp(p + j, cols[i], k) == 0 && (j == 0 || p[j - 1] == ',') &&
                    (j + k == first || p[j + k] == ',' || p[j + k] == '\r');
        if (!found)
            return 0;
    }
    return 90;
}

const struct ingester ingester_hydroweb_next = {
    .name = "hydroweb-next",
    .description = "Hydroweb.next WFS GetFeature CSV (start_time,end_time,geom,name,...,wse,"
                   "wse_u): virtual-station water levels",
    .probe = hw_wfs_probe,
    .run = hw_wfs_run,
    .settings = hw_wfs_settings,
    .hashes_source = 1,
};
