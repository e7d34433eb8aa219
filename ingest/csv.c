/*
 * csv.c: generic delimited station series. Three layouts, told apart by the header:
 * "long" (one row per observation with thing, property, unit columns), "single" (time and
 * one value column) and "wide" (time and one column per variable, "name (unit)"). Column
 * mapping, separator, decimal mark, time pattern and zone come from settings. Streams rows.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "timeutil.h"

enum { CSV_MAX_COLS = 512 };

static const char *const csv_settings[] = {
    "sep\tfield separator: , ; tab | (default: guessed from the header)",
    "decimal\tdecimal mark: . or , (default .)",
    "comment\tlines starting with this text are skipped (default #)",
    "skip\tnumber of lines to skip before the header (default 0)",
    "col.time\tcolumn of the (start) time, by header name or 1-based number",
    "col.time_end\tcolumn of the interval end time (optional)",
    "col.value\tcolumn(s) of the result, comma-separated for several variables",
    "col.quality\tcolumn of the quality flag",
    "col.thing\tcolumn of the station code",
    "col.lat\tcolumn of the latitude (EPSG:4326)",
    "col.lon\tcolumn of the longitude (EPSG:4326)",
    "col.alt\tcolumn of the altitude",
    "col.property\tcolumn of the observed property name (long layout)",
    "col.unit\tcolumn of the unit (long layout)",
    "time_format\tstrftime-like pattern of times, e.g. %d/%m/%Y %H:%M (default ISO 8601)",
    "tz\ttime zone of times without an offset: UTC, +01:00, Europe/Paris (default UTC)",
    "thing\tstation code when there is no thing column (default: the file name)",
    "thing_name\tstation name (default: the code)",
    "lat\tstation latitude when there is no latitude column",
    "lon\tstation longitude when there is no longitude column",
    "alt\tstation altitude",
    "property\tobserved property when there is no property column",
    "definition\tobserved property definition URI",
    "unit\tunit of the values when neither header nor column gives it",
    "sensor\tsensor or method name (default: unspecified)",
    "namespace\tnamespace of station codes (default: csv)",
    "missing\tcomma-separated values that mean missing (always: empty, NA, NaN, null)",
    "result_type\tnumber (default) or text",
    NULL,
};

static const char *const aliases_time[] = {"phenomenon_time", "time", "date", "datetime",
                                           "date_time", "timestamp", NULL};
static const char *const aliases_time_end[] = {"phenomenon_time_end", "time_end", "end_time",
                                               NULL};
static const char *const aliases_value[] = {"result", "value", NULL};
static const char *const aliases_quality[] = {"result_quality", "quality", "flag", "qc", NULL};
static const char *const aliases_thing[] = {"thing", "station", "station_id", "site", NULL};
static const char *const aliases_lat[] = {"latitude", "lat", NULL};
static const char *const aliases_lon[] = {"longitude", "lon", "lng", NULL};
static const char *const aliases_alt[] = {"altitude", "alt", "elevation", NULL};
static const char *const aliases_property[] = {"observed_property", "property", "variable",
                                               NULL};
static const char *const aliases_unit[] = {"unit", "units", "uom", NULL};

struct value_col {
    int col, quality_col;
    char *property, *unit;
    int64_t ds_thing, ds_id; /* cache: datastream of this column for thing ds_thing */
};

struct csv {
    const struct source *src;
    struct batch_writer *bw;
    const char *name;
    char sep, decimal;
    int ncols;
    char *header[CSV_MAX_COLS];
    int c_time, c_time_end, c_thing, c_lat, c_lon, c_alt, c_property, c_unit, c_quality;
    struct value_col *vals;
    int nvals;
    const char *time_format;
    struct tz tz;
    char **missing;
    double *missing_num;
    int n_missing, text_result;
    const char *ns, *thing_const, *property_const, *unit_const, *definition;
    double lat_const, lon_const, alt_const;
    int has_latlon_const, has_alt_const;
    int64_t sensor_id;
    /* caches of the last row */
    struct strbuf last_thing, last_ds_key, last_pos;
    int64_t thing_id, ds_id, feature_id;
    struct strmap located; /* things whose location was set in this run */
    struct strbuf joined;  /* a record spanning several lines (quoted newlines) */
    struct strbuf text;    /* a text result as JSON */
    uint64_t rows;
};

static int header_index(const struct csv *c, const char *spec)
{
    char *end;
    long n = strtol(spec, &end, 10);
    if (*end == '\0' && n >= 1 && n <= c->ncols)
        return (int)n - 1;
    for (int i = 0; i < c->ncols; i++)
        if (str_ieq(c->header[i], spec))
            return i;
    return -1;
}

/* The column for a role: the setting when given (an error when it names no column), else
 * the first header matching an alias, else -1. */
static int find_col(struct csv *c, const char *setting, const char *const *aliases, int *out,
                    insitu_error *err)
{
    const char *spec = source_setting(c->src, setting);
    if (spec) {
        *out = header_index(c, spec);
        if (*out < 0)
            return insitu_error_set(err, INSITU_EUSAGE, "csv: %s: %s=%s: no such column",
                                    c->name, setting, spec);
        return 0;
    }
    *out = -1;
    for (int a = 0; aliases && aliases[a] && *out < 0; a++)
        *out = header_index(c, aliases[a]);
    return 0;
}

static char guess_sep(const char *line)
{
    static const char cands[] = {',', ';', '\t', '|'};
    int best = 0;
    char sep = ',';
    for (size_t k = 0; k < sizeof cands; k++) {
        int n = 0, quoted = 0;
        for (const char *p = line; *p; p++) {
            if (*p == '"')
                quoted = !quoted;
            else if (*p == cands[k] && !quoted)
                n++;
        }
        if (n > best) {
            best = n;
            sep = cands[k];
        }
    }
    return sep;
}

/* Splits "discharge (m3/s)" or "discharge [m3/s]" into name and unit. */
static void split_name_unit(const char *header, char **name, char **unit)
{
    size_t n = strlen(header);
    const char *open = NULL;
    if (n > 2 && (header[n - 1] == ')' || header[n - 1] == ']')) {
        char want = header[n - 1] == ')' ? '(' : '[';
        open = strrchr(header, want);
    }
    if (open && open > header) {
        size_t name_len = (size_t)(open - header);
        while (name_len && header[name_len - 1] == ' ')
            name_len--;
        *name = xstrndup(header, name_len);
        *unit = xstrndup(open + 1, (size_t)(header + n - 1 - open - 1));
    } else {
        *name = xstrdup(header);
        *unit = NULL;
    }
}

static int is_role_col(const struct csv *c, int i)
{
    return i == c->c_time || i == c->c_time_end || i == c->c_thing || i == c->c_lat ||
           i == c->c_lon || i == c->c_alt || i == c->c_property || i == c->c_unit ||
           i == c->c_quality;
}

/* A wide layout's quality column for value column `name`: name_quality, name_flag... */
static int quality_col_for(const struct csv *c, const char *name)
{
    static const char *const suffixes[] = {"_quality", "_flag", "_qc", "_q", NULL};
    char buf[512];
    for (int s = 0; suffixes[s]; s++) {
        snprintf(buf, sizeof buf, "%s%s", name, suffixes[s]);
        int i = header_index(c, buf);
        if (i >= 0)
            return i;
    }
    return -1;
}

static int add_value_col(struct csv *c, int col, insitu_error *err)
{
    struct value_col *p = realloc(c->vals, (size_t)(c->nvals + 1) * sizeof *p);
    if (!p)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    c->vals = p;
    struct value_col *v = &c->vals[c->nvals++];
    memset(v, 0, sizeof *v);
    v->col = col;
    v->quality_col = -1;
    split_name_unit(c->header[col], &v->property, &v->unit);
    return 0;
}

/* Works out the layout from the header and the settings. */
static int csv_map_columns(struct csv *c, insitu_error *err)
{
    int rc = find_col(c, "col.time", aliases_time, &c->c_time, err);
    if (!rc)
        rc = find_col(c, "col.time_end", aliases_time_end, &c->c_time_end, err);
    if (!rc)
        rc = find_col(c, "col.quality", aliases_quality, &c->c_quality, err);
    if (!rc)
        rc = find_col(c, "col.thing", source_setting(c->src, "thing") ? NULL : aliases_thing,
                      &c->c_thing, err);
    if (!rc)
        rc = find_col(c, "col.lat", source_setting(c->src, "lat") ? NULL : aliases_lat,
                      &c->c_lat, err);
    if (!rc)
        rc = find_col(c, "col.lon", source_setting(c->src, "lon") ? NULL : aliases_lon,
                      &c->c_lon, err);
    if (!rc)
        rc = find_col(c, "col.alt", source_setting(c->src, "alt") ? NULL : aliases_alt,
                      &c->c_alt, err);
    if (!rc)
        rc = find_col(c, "col.property",
                      source_setting(c->src, "property") ? NULL : aliases_property,
                      &c->c_property, err);
    if (!rc)
        rc = find_col(c, "col.unit", source_setting(c->src, "unit") ? NULL : aliases_unit,
                      &c->c_unit, err);
    if (rc)
        return rc;
    if (c->c_time < 0)
        return insitu_error_set(err, INSITU_EINVAL,
                                "csv: %s: no time column (name it 'time' or "
                                "'phenomenon_time', or set col.time)",
                                c->name);
    if ((c->c_lat < 0) != (c->c_lon < 0))
        return insitu_error_set(err, INSITU_EINVAL,
                                "csv: %s: a latitude column needs a longitude column", c->name);
    const char *spec = source_setting(c->src, "col.value");
    if (spec) {
        char *copy = xstrdup(spec), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok && !rc;
             tok = strtok_r(NULL, ",", &save)) {
            int i = header_index(c, str_trim(tok));
            rc = i < 0 ? insitu_error_set(err, INSITU_EUSAGE,
                                          "csv: %s: col.value=%s: no such column", c->name, tok)
                       : add_value_col(c, i, err);
        }
        free(copy);
        if (rc)
            return rc;
    } else {
        int i = -1;
        for (int a = 0; aliases_value[a] && i < 0; a++)
            i = header_index(c, aliases_value[a]);
        if (i >= 0) {
            rc = add_value_col(c, i, err);
        } else {
            /* wide: every column without a role and not a quality column is a variable */
            for (int k = 0; k < c->ncols && !rc; k++) {
                if (is_role_col(c, k))
                    continue;
                int is_quality = 0;
                for (int j = 0; j < c->ncols && !is_quality; j++) {
                    char *name, *unit;
                    split_name_unit(c->header[j], &name, &unit);
                    is_quality = j != k && quality_col_for(c, name) == k;
                    free(name);
                    free(unit);
                }
                if (!is_quality)
                    rc = add_value_col(c, k, err);
            }
        }
        if (rc)
            return rc;
    }
    if (!c->nvals)
        return insitu_error_set(err, INSITU_EINVAL,
                                "csv: %s: no value column (name it 'value' or 'result', or set "
                                "col.value)",
                                c->name);
    if (c->c_property >= 0 && c->nvals > 1)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "csv: %s: a property column goes with one value column", c->name);
    for (int k = 0; k < c->nvals; k++) {
        struct value_col *v = &c->vals[k];
        v->quality_col = c->nvals == 1 ? c->c_quality : quality_col_for(c, v->property);
        if (c->nvals == 1 && c->property_const) {
            free(v->property);
            v->property = xstrdup(c->property_const);
        }
        if (c->unit_const && !v->unit)
            v->unit = xstrdup(c->unit_const);
    }
    return 0;
}

static int csv_settings_read(struct csv *c, insitu_error *err)
{
    const struct source *src = c->src;
    const char *v;
    if ((v = source_setting(src, "decimal")) != NULL) {
        if (strcmp(v, ".") && strcmp(v, ","))
            return insitu_error_set(err, INSITU_EUSAGE, "csv: decimal=%s: expected . or ,", v);
        c->decimal = v[0];
    }
    if ((v = source_setting(src, "sep")) != NULL) {
        if (str_ieq(v, "tab") || strcmp(v, "\\t") == 0)
            c->sep = '\t';
        else if (strlen(v) == 1 && !isalnum((unsigned char)v[0]) && v[0] != '"')
            c->sep = v[0];
        else
            return insitu_error_set(err, INSITU_EUSAGE, "csv: sep=%s: expected one character",
                                    v);
    }
    c->time_format = source_setting(src, "time_format");
    int rc = tz_parse(source_setting(src, "tz"), &c->tz, err);
    if (rc)
        return rc;
    c->ns = source_setting(src, "namespace");
    if (!c->ns)
        c->ns = "csv";
    c->thing_const = source_setting(src, "thing");
    c->property_const = source_setting(src, "property");
    c->unit_const = source_setting(src, "unit");
    c->definition = source_setting(src, "definition");
    const char *lat = source_setting(src, "lat"), *lon = source_setting(src, "lon");
    if ((lat != NULL) != (lon != NULL))
        return insitu_error_set(err, INSITU_EUSAGE, "csv: lat and lon go together");
    if (lat) {
        if (parse_double(lat, strlen(lat), &c->lat_const) ||
            parse_double(lon, strlen(lon), &c->lon_const) || fabs(c->lat_const) > 90 ||
            fabs(c->lon_const) > 360)
            return insitu_error_set(err, INSITU_EUSAGE, "csv: lat=%s lon=%s: not a position",
                                    lat, lon);
        c->has_latlon_const = 1;
    }
    if ((v = source_setting(src, "alt")) != NULL) {
        if (parse_double(v, strlen(v), &c->alt_const))
            return insitu_error_set(err, INSITU_EUSAGE, "csv: alt=%s: not a number", v);
        c->has_alt_const = 1;
    }
    if ((v = source_setting(src, "result_type")) != NULL) {
        if (strcmp(v, "text") && strcmp(v, "number"))
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "csv: result_type=%s: expected number or text", v);
        c->text_result = strcmp(v, "text") == 0;
    }
    if ((v = source_setting(src, "missing")) != NULL) {
        char *copy = xstrdup(v), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            c->missing = realloc(c->missing, (size_t)(c->n_missing + 1) * sizeof *c->missing);
            c->missing_num =
                realloc(c->missing_num, (size_t)(c->n_missing + 1) * sizeof *c->missing_num);
            if (!c->missing || !c->missing_num) {
                free(copy);
                return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            }
            tok = str_trim(tok);
            c->missing[c->n_missing] = xstrdup(tok);
            if (parse_double(tok, strlen(tok), &c->missing_num[c->n_missing]))
                c->missing_num[c->n_missing] = NAN;
            c->n_missing++;
        }
        free(copy);
    }
    return 0;
}

static int is_missing_text(const struct csv *c, const char *s, size_t n)
{
    if (n == 0 || (n == 2 && strncasecmp(s, "NA", 2) == 0) ||
        (n == 3 && strncasecmp(s, "NaN", 3) == 0) || (n == 4 && strncasecmp(s, "null", 4) == 0))
        return 1;
    for (int i = 0; i < c->n_missing; i++)
        if (strlen(c->missing[i]) == n && memcmp(c->missing[i], s, n) == 0)
            return 1;
    return 0;
}

static int is_missing_number(const struct csv *c, double v)
{
    for (int i = 0; i < c->n_missing; i++)
        if (c->missing_num[i] == v)
            return 1;
    return isnan(v);
}

/* Parses a number field honouring the decimal mark; the field is writable. */
static int csv_number(const struct csv *c, char *s, size_t n, double *out)
{
    if (c->decimal == ',') {
        char *comma = memchr(s, ',', n);
        if (comma)
            *comma = '.';
    }
    while (n && s[0] == ' ') {
        s++;
        n--;
    }
    while (n && s[n - 1] == ' ')
        n--;
    return parse_double(s, n, out);
}

static int csv_time(struct csv *c, const char *s, size_t n, int64_t *out, insitu_error *err)
{
    if (c->time_format)
        return time_parse_pattern(s, n, c->time_format, &c->tz, out, err);
    return time_parse_iso(s, n, &c->tz, out, err);
}

#define ROW_ERROR(col, ...)                                                                   \
    row_error(c, err, lineno, (col), __VA_ARGS__)

static int row_error(struct csv *c, insitu_error *err, uint64_t lineno, int col,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int row_error(struct csv *c, insitu_error *err, uint64_t lineno, int col,
                     const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (col >= 0)
        return insitu_error_set(err, INSITU_EINVAL, "csv: %s:%llu: column '%s': %s", c->name,
                                (unsigned long long)lineno, c->header[col], msg);
    return insitu_error_set(err, INSITU_EINVAL, "csv: %s:%llu: %s", c->name,
                            (unsigned long long)lineno, msg);
}

/* Does cache hold exactly the fields cols[0..n) of this row, joined by '\x1f'? Compares in
 * place: the hot path builds no strings. */
static int fields_match(const struct strbuf *cache, char **f, const size_t *len, const int *cols,
                        int n)
{
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        const char *v = cols[i] >= 0 ? f[cols[i]] : "";
        size_t m = cols[i] >= 0 ? len[cols[i]] : 0;
        if (pos + m + 1 > cache->len || memcmp(cache->data + pos, v, m) != 0 ||
            cache->data[pos + m] != '\x1f')
            return 0;
        pos += m + 1;
    }
    return pos == cache->len;
}

static void fields_remember(struct strbuf *cache, char **f, const size_t *len, const int *cols,
                            int n)
{
    sb_reset(cache);
    for (int i = 0; i < n; i++) {
        if (cols[i] >= 0)
            sb_append(cache, f[cols[i]], len[cols[i]]);
        sb_putc(cache, '\x1f');
    }
}

/* The Thing of a row (cached while the code does not change). */
static int row_thing(struct csv *c, char **f, size_t *len, uint64_t lineno, insitu_error *err)
{
    const char *code;
    size_t n;
    if (c->c_thing >= 0) {
        code = f[c->c_thing];
        n = len[c->c_thing];
        if (!n)
            return ROW_ERROR(c->c_thing, "empty station code");
    } else {
        code = c->thing_const;
        n = strlen(code);
    }
    if (c->last_thing.len == n && memcmp(c->last_thing.data, code, n) == 0 && c->thing_id)
        return 0;
    sb_reset(&c->last_thing);
    sb_append(&c->last_thing, code, n);
    const char *name = c->c_thing < 0 ? source_setting(c->src, "thing_name") : NULL;
    struct thing_in t = {.ns = c->ns, .code = c->last_thing.data, .name = name};
    int rc = bw_thing(c->bw, &t, &c->thing_id, err);
    if (rc)
        insitu_error_prefix(err, "csv: %s:%llu", c->name, (unsigned long long)lineno);
    c->ds_id = 0;
    c->feature_id = 0;
    sb_reset(&c->last_ds_key);
    return rc;
}

/* The position of a row: sets the Thing's location (first position seen in this run) and
 * the row's FeatureOfInterest. */
static int row_position(struct csv *c, char **f, size_t *len, uint64_t lineno,
                        insitu_error *err)
{
    double lat, lon, alt = 0;
    int has_alt = 0;
    if (c->c_lat >= 0) {
        if (!len[c->c_lat] && !len[c->c_lon]) {
            c->feature_id = 0;
            return 0;
        }
        /* the cache key is the raw text: most files repeat a station's position */
        int cols[3] = {c->c_lat, c->c_lon, c->c_alt};
        if (c->feature_id && fields_match(&c->last_pos, f, len, cols, 3))
            return 0;
        fields_remember(&c->last_pos, f, len, cols, 3);
        if (csv_number(c, f[c->c_lat], len[c->c_lat], &lat) || fabs(lat) > 90)
            return ROW_ERROR(c->c_lat, "not a latitude: '%s'", f[c->c_lat]);
        if (csv_number(c, f[c->c_lon], len[c->c_lon], &lon) || lon < -180 || lon > 360)
            return ROW_ERROR(c->c_lon, "not a longitude: '%s'", f[c->c_lon]);
        if (c->c_alt >= 0 && len[c->c_alt]) {
            if (csv_number(c, f[c->c_alt], len[c->c_alt], &alt))
                return ROW_ERROR(c->c_alt, "not an altitude: '%s'", f[c->c_alt]);
            has_alt = 1;
        }
    } else if (c->has_latlon_const) {
        if (c->feature_id)
            return 0;
        lat = c->lat_const;
        lon = c->lon_const;
        alt = c->alt_const;
        has_alt = c->has_alt_const;
    } else {
        return 0;
    }
    char geojson[160];
    geojson_point(geojson, sizeof geojson, lon, lat, has_alt, alt);
    int64_t seen;
    int rc = 0;
    if (!strmap_get(&c->located, (const char *)&c->thing_id, sizeof c->thing_id, &seen)) {
        rc = bw_thing_location(c->bw, c->thing_id, c->last_thing.data, geojson, err);
        if (!rc)
            rc = strmap_put(&c->located, (const char *)&c->thing_id, sizeof c->thing_id, 1);
    }
    if (!rc)
        rc = bw_point_feature(c->bw, lon, lat, has_alt, alt, c->last_thing.data, &c->feature_id,
                              err);
    if (rc)
        insitu_error_prefix(err, "csv: %s:%llu", c->name, (unsigned long long)lineno);
    return rc;
}

static int make_datastream(struct csv *c, const char *property, const char *unit,
                           int64_t *ds_id, insitu_error *err)
{
    struct strbuf def = {0}, name = {0};
    const char *definition = c->definition;
    if (!definition) {
        if (strstr(property, "://") || strncmp(property, "urn:", 4) == 0)
            definition = property;
        else {
            sb_printf(&def, "urn:x-insitu:property:%s", property);
            definition = def.data;
        }
    }
    struct property_in p = {.name = property, .definition = definition};
    int64_t prop_id;
    int rc = bw_property(c->bw, &p, &prop_id, err);
    if (!rc) {
        sb_printf(&name, "%s at %s", property, c->last_thing.data);
        struct datastream_in d = {.thing_id = c->thing_id,
                                  .sensor_id = c->sensor_id,
                                  .property_id = prop_id,
                                  .qualifier = unit ? unit : "",
                                  .name = name.data,
                                  .unit_name = unit,
                                  .unit_symbol = unit,
                                  .observation_type = c->text_result
                                                          ? OBSERVATION_TYPE_OBSERVATION
                                                          : OBSERVATION_TYPE_MEASUREMENT};
        rc = bw_datastream(c->bw, &d, ds_id, err);
    }
    sb_free(&def);
    sb_free(&name);
    return rc;
}

/* The Datastream of a long-layout row: (thing, property, unit) from the row. */
static int row_long_datastream(struct csv *c, char **f, size_t *len, uint64_t lineno,
                               int64_t *ds_id, insitu_error *err)
{
    const char *prop = f[c->c_property];
    const char *unit = c->c_unit >= 0 ? f[c->c_unit] : c->unit_const;
    if (!len[c->c_property])
        return ROW_ERROR(c->c_property, "empty observed property");
    int cols[2] = {c->c_property, c->c_unit};
    if (c->ds_id && fields_match(&c->last_ds_key, f, len, cols, 2)) {
        *ds_id = c->ds_id;
        return 0;
    }
    fields_remember(&c->last_ds_key, f, len, cols, 2);
    int rc = make_datastream(c, prop, unit && *unit ? unit : NULL, &c->ds_id, err);
    if (rc)
        insitu_error_prefix(err, "csv: %s:%llu", c->name, (unsigned long long)lineno);
    *ds_id = c->ds_id;
    return rc;
}

static int csv_row(struct csv *c, char **f, size_t *len, uint64_t lineno, insitu_error *err)
{
    int rc = row_thing(c, f, len, lineno, err);
    if (!rc)
        rc = row_position(c, f, len, lineno, err);
    if (rc)
        return rc;
    struct obs_row r = {.phenomenon_end = INSITU_TIME_NONE,
                        .result_time = INSITU_TIME_NONE,
                        .feature_id = c->feature_id};
    insitu_error terr;
    if (csv_time(c, f[c->c_time], len[c->c_time], &r.phenomenon_start, &terr))
        return ROW_ERROR(c->c_time, "%s", terr.message);
    if (c->c_time_end >= 0 && len[c->c_time_end]) {
        if (csv_time(c, f[c->c_time_end], len[c->c_time_end], &r.phenomenon_end, &terr))
            return ROW_ERROR(c->c_time_end, "%s", terr.message);
        if (r.phenomenon_end < r.phenomenon_start)
            return ROW_ERROR(c->c_time_end, "interval ends before it starts");
        if (r.phenomenon_end == r.phenomenon_start)
            r.phenomenon_end = INSITU_TIME_NONE;
    }
    for (int k = 0; k < c->nvals; k++) {
        struct value_col *v = &c->vals[k];
        char *s = f[v->col];
        size_t n = len[v->col];
        if (c->c_property >= 0) {
            rc = row_long_datastream(c, f, len, lineno, &r.datastream_id, err);
        } else if (v->ds_thing != c->thing_id || !v->ds_id) {
            rc = make_datastream(c, v->property, v->unit, &v->ds_id, err);
            v->ds_thing = c->thing_id;
            r.datastream_id = v->ds_id;
        } else {
            r.datastream_id = v->ds_id;
        }
        if (rc)
            return rc;
        r.has_result = 0;
        r.result_json = NULL;
        if (c->text_result) {
            if (!is_missing_text(c, s, n)) {
                sb_reset(&c->text);
                sb_put_json_string(&c->text, s);
                r.result_json = c->text.data;
            }
        } else if (!is_missing_text(c, s, n)) {
            if (csv_number(c, s, n, &r.result))
                return ROW_ERROR(v->col, "not a number: '%s'", s);
            r.has_result = !is_missing_number(c, r.result);
        }
        r.quality = v->quality_col >= 0 ? f[v->quality_col] : NULL;
        rc = bw_observation(c->bw, &r, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int count_quotes(const char *s, size_t n)
{
    int q = 0;
    for (const char *p = s; (p = memchr(p, '"', (size_t)(s + n - p))) != NULL; p++)
        q++;
    return q;
}

/* Reads one record: a line, or several when a quoted field holds line breaks. */
static int next_record(struct csv *c, struct line_reader *lr, char **line, size_t *len,
                       uint64_t *first_line, insitu_error *err)
{
    int rc = lr_next(lr, line, len, err);
    if (rc != 1)
        return rc;
    *first_line = lr->line_no;
    if (!(count_quotes(*line, *len) & 1))
        return 1;
    sb_reset(&c->joined);
    sb_append(&c->joined, *line, *len);
    int quotes = count_quotes(*line, *len);
    while (quotes & 1) {
        rc = lr_next(lr, line, len, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "csv: %s:%llu: a quoted field is not closed", c->name,
                                    (unsigned long long)*first_line);
        sb_putc(&c->joined, '\n');
        sb_append(&c->joined, *line, *len);
        if (c->joined.len > lr->max_line)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "csv: %s:%llu: a quoted field over several lines is longer "
                                    "than %llu bytes (the max_line setting)",
                                    c->name, (unsigned long long)*first_line,
                                    (unsigned long long)lr->max_line);
        quotes += count_quotes(*line, *len);
    }
    *line = c->joined.data;
    *len = c->joined.len;
    return 1;
}

static void csv_free(struct csv *c)
{
    for (int i = 0; i < c->ncols; i++)
        free(c->header[i]);
    for (int k = 0; k < c->nvals; k++) {
        free(c->vals[k].property);
        free(c->vals[k].unit);
    }
    free(c->vals);
    for (int i = 0; i < c->n_missing; i++)
        free(c->missing[i]);
    free(c->missing);
    free(c->missing_num);
    sb_free(&c->last_thing);
    sb_free(&c->last_ds_key);
    sb_free(&c->last_pos);
    sb_free(&c->joined);
    sb_free(&c->text);
    strmap_free(&c->located);
}

static int csv_header(struct csv *c, struct line_reader *lr, insitu_error *err)
{
    const char *comment = source_setting(c->src, "comment");
    if (!comment)
        comment = "#";
    long skip = 0;
    const char *v = source_setting(c->src, "skip");
    if (v && (skip = strtol(v, NULL, 10)) < 0)
        return insitu_error_set(err, INSITU_EUSAGE, "csv: skip=%s: not a count", v);
    char *line;
    size_t len;
    int rc;
    while ((rc = lr_next(lr, &line, &len, err)) == 1) {
        if (skip > 0) {
            skip--;
            continue;
        }
        if (len == 0 || (*comment && strncmp(line, comment, strlen(comment)) == 0))
            continue;
        break;
    }
    if (rc < 0)
        return rc;
    if (rc == 0)
        return insitu_error_set(err, INSITU_EINVAL, "csv: %s: no header line", c->name);
    if (!utf8_valid(line, len)) {
        char where[512];
        snprintf(where, sizeof where, "csv: %s:%llu: header", c->name,
                 (unsigned long long)lr->line_no);
        return source_not_utf8(c->src, where, err);
    }
    if (!c->sep)
        c->sep = guess_sep(line);
    if (c->sep == ',' && c->decimal == ',')
        return insitu_error_set(err, INSITU_EUSAGE,
                                "csv: %s: decimal comma needs another separator (sep=;)",
                                c->name);
    char *fields[CSV_MAX_COLS];
    size_t lens[CSV_MAX_COLS];
    int n = split_fields(line, len, c->sep, 1, fields, lens, CSV_MAX_COLS);
    if (n < 0)
        return insitu_error_set(err, INSITU_EINVAL, "csv: %s: more than %d columns", c->name,
                                CSV_MAX_COLS);
    for (int i = 0; i < n; i++) {
        c->header[i] = xstrdup(str_trim(fields[i]));
        c->ncols = i + 1; /* csv_free frees the names read so far when one is empty */
        if (!*c->header[i])
            return insitu_error_set(err, INSITU_EINVAL,
                                    "csv: %s:%llu: column %d has no name", c->name,
                                    (unsigned long long)lr->line_no, i + 1);
    }
    return 0;
}

static int csv_sensor(struct csv *c, insitu_error *err)
{
    const char *name = source_setting(c->src, "sensor");
    struct sensor_in s = {.ns = c->ns,
                          .code = name ? name : "unspecified",
                          .name = name ? name : "Unspecified sensor",
                          .description = name ? "" : "The source does not describe the sensor"};
    return bw_sensor(c->bw, &s, &c->sensor_id, err);
}

static int csv_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct csv c;
    memset(&c, 0, sizeof c);
    c.src = src;
    c.bw = bw;
    c.name = src->name;
    c.decimal = '.';
    char *stem = NULL;
    struct line_reader lr;
    int rc = csv_settings_read(&c, err);
    if (!rc)
        rc = lr_open_source(&lr, src, src->path, src->name, err);
    if (rc) {
        csv_free(&c);
        return rc;
    }
    lr.hash = bw_source_hash(bw);
    rc = csv_header(&c, &lr, err);
    if (!rc)
        rc = csv_map_columns(&c, err);
    if (!rc && c.c_thing < 0 && !c.thing_const) {
        /* a single-station file: the station is named after the file */
        stem = xstrdup(src->name);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
        c.thing_const = stem;
        bw_uses_source_name(bw);
    }
    if (!rc)
        rc = csv_sensor(&c, err);
    char *fields[CSV_MAX_COLS];
    size_t lens[CSV_MAX_COLS];
    char *line;
    size_t len;
    uint64_t lineno = 0;
    while (!rc && (rc = next_record(&c, &lr, &line, &len, &lineno, err)) == 1) {
        rc = 0;
        if (len == 0)
            continue;
        if (!utf8_valid(line, len)) {
            char where[512];
            snprintf(where, sizeof where, "csv: %s:%llu", c.name, (unsigned long long)lineno);
            rc = source_not_utf8(src, where, err);
            break;
        }
        int n = split_fields(line, len, c.sep, 1, fields, lens, CSV_MAX_COLS);
        if (n != c.ncols) {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "csv: %s:%llu: expected %d fields as in the header, found %d",
                                  c.name, (unsigned long long)lineno, c.ncols,
                                  n < 0 ? CSV_MAX_COLS : n);
            break;
        }
        rc = csv_row(&c, fields, lens, lineno, err);
        c.rows++;
    }
    if (rc == 0 && c.rows == 0)
        bw_warn(bw, "csv: %s: no data rows after the header", c.name);
    lr_close(&lr);
    csv_free(&c);
    free(stem);
    return rc;
}

static int csv_probe(const struct source *src)
{
    if (src->is_dir || src->is_zip || !src->head_len)
        return 0;
    if (str_has_suffix_ci(src->name, ".csv") || str_has_suffix_ci(src->name, ".tsv"))
        return 50;
    /* a text file whose first line has separators */
    size_t n = src->head_len;
    const unsigned char *nl = memchr(src->head, '\n', n);
    size_t first = nl ? (size_t)(nl - src->head) : n;
    int seps = 0;
    for (size_t i = 0; i < first; i++) {
        if (src->head[i] < 0x09 || (src->head[i] > 0x0d && src->head[i] < 0x20))
            return 0;
        seps += src->head[i] == ',' || src->head[i] == ';' || src->head[i] == '\t';
    }
    return seps ? 20 : 0;
}

const struct ingester ingester_csv = {
    .name = "csv",
    .description = "delimited station series: long (thing, property, unit, time, value), "
                   "single (time, value) or wide (time, one column per variable)",
    .probe = csv_probe,
    .run = csv_run,
    .settings = csv_settings,
    .hashes_source = 1,
};
