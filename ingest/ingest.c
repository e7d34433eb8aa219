/*
 * ingest.c: the ingest pipeline shared by every format: resolving and probing a source,
 * provenance (ingest_runs), skip-if-unchanged, one transaction per source, the batch writer
 * with its entity caches and per-datastream summaries, and a bounded line reader.
 * It never parses a format: that is each ingester's job.
 */
#include "ingest.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <jansson.h>
#include <libxml/xmlerror.h>

#include "fetch.h"
#include "store.h"
#include "timeutil.h"

const struct ingester *const ingesters[] = {
    &ingester_theia_pivot,
    &ingester_swot_river,
    &ingester_swot_lake,
    &ingester_hydroweb,
    &ingester_hydroweb_next,
    &ingester_hydrocron,
    &ingester_waterml2,
    &ingester_csv,
    &ingester_vector,
    &ingester_raster_sample, /* never probed: insitu sample names it */
    &ingester_sta,           /* never probed: insitu pull sta names it */
    NULL,
};

const struct ingester *ingester_find(const char *name)
{
    for (size_t i = 0; ingesters[i]; i++)
        if (strcmp(ingesters[i]->name, name) == 0)
            return ingesters[i];
    return NULL;
}

const char *insitu_ingester_name(size_t index)
{
    for (size_t i = 0; ingesters[i]; i++)
        if (i == index)
            return ingesters[i]->name;
    return NULL;
}

const char *insitu_ingester_description(size_t index)
{
    for (size_t i = 0; ingesters[i]; i++)
        if (i == index)
            return ingesters[i]->description;
    return NULL;
}

const char *insitu_ingester_setting(size_t index, size_t setting)
{
    for (size_t i = 0; ingesters[i]; i++) {
        if (i != index || !ingesters[i]->settings)
            continue;
        for (size_t k = 0; ingesters[i]->settings[k]; k++)
            if (k == setting)
                return ingesters[i]->settings[k];
    }
    return NULL;
}

const char *source_setting(const struct source *src, const char *key)
{
    if (!src->settings)
        return NULL;
    size_t n = strlen(key);
    const char *found = NULL;
    for (size_t i = 0; src->settings[i]; i++)
        if (strncmp(src->settings[i], key, n) == 0 && src->settings[i][n] == '=')
            found = src->settings[i] + n + 1; /* the last one given wins */
    return found;
}

const char *source_head_text(const struct source *src, size_t *n)
{
    const char *p = (const char *)src->head;
    size_t len = src->head_len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        len -= 3;
    }
    while (len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        len--;
    }
    *n = len;
    return p;
}

/* "(a CP1252 ... iconv ...)": how to convert the source, its path as the user gave it. */
static void utf8_advice(const struct source *src, char *buf, size_t size)
{
    const char *base = path_basename(src->uri);
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    snprintf(buf, size,
             "(a CP1252 or Latin-1 export? convert it first: iconv -f CP1252 -t UTF-8 '%s' > "
             "'%.*s.utf8%s')",
             src->uri, (int)(dot - src->uri), src->uri, dot);
}

int source_not_utf8(const struct source *src, const char *where, insitu_error *err)
{
    char advice[2200];
    utf8_advice(src, advice, sizeof advice);
    return insitu_error_set(err, INSITU_EINVAL, "%s: not UTF-8 text %s", where, advice);
}

static void xml_error_ignored(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void xml_errors_quiet(void)
{
    /* per thread in libxml2: read-ahead threads parse too */
    xmlSetGenericErrorFunc(NULL, xml_error_ignored);
}

/* Line and column (from 1, in bytes) of text + off. */
static void text_position(const char *text, size_t off, unsigned long long *line,
                          unsigned long long *col)
{
    *line = 1;
    size_t start = 0;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n') {
            (*line)++;
            start = i + 1;
        }
    *col = off - start + 1;
}

int text_check_nul(const char *who, const char *name, const char *text, size_t len,
                   insitu_error *err)
{
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return 0;
    unsigned long long line, col;
    text_position(text, (size_t)(nul - text), &line, &col);
    return insitu_error_set(err, INSITU_EINVAL,
                            "%s: %s: line %llu column %llu: a NUL byte (a binary file, or UTF-16 "
                            "text? text must be UTF-8)",
                            who, name, line, col);
}

static uint64_t zip_member_limit(const struct source *src, const char *path);

/* A zip member read gave more than max_bytes (zip_member_limit): "[WHO: ]NAME: ..." */
static int zip_member_overrun(const char *name, const char *who, uint64_t max_bytes,
                              insitu_error *err)
{
    return insitu_error_set(err, INSITU_EINVAL,
                            "%s%s%s: the zip member holds more than the %llu bytes its archive "
                            "declares (or than zip_max_bytes): a corrupt or forged archive",
                            who ? who : "", who ? ": " : "", name, (unsigned long long)max_bytes);
}

int source_json_load(const struct source *src, const char *path, const char *who, const char *name,
                     size_t flags, struct json_t **doc, insitu_error *err)
{
    *doc = NULL;
    VSILFILE *f = VSIFOpenL(path, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "%s: %s: cannot open", who, name);
    struct strbuf text = {0};
    char buf[65536];
    size_t n;
    int rc = 0;
    uint64_t max_bytes = zip_member_limit(src, path);
    while (!rc && (n = VSIFReadL(buf, 1, sizeof buf, f)) > 0)
        if (max_bytes && text.len + n > max_bytes)
            rc = zip_member_overrun(name, who, max_bytes, err);
        else if (sb_append(&text, buf, n))
            rc = insitu_error_set(err, INSITU_ENOMEM, "%s: %s: out of memory", who, name);
    VSIFCloseL(f);
    const char *p = sb_str(&text);
    size_t len = text.len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        len -= 3;
    }
    if (!rc)
        rc = text_check_nul(who, name, p, len, err);
    json_error_t jerr;
    if (!rc && !(*doc = json_loadb(p, len, flags, &jerr))) {
        char where[1200];
        snprintf(where, sizeof where, "%s: %s: line %d column %d", who, name, jerr.line,
                 jerr.column);
        if (json_error_code(&jerr) == json_error_invalid_utf8 && strcmp(path, src->path) == 0)
            rc = source_not_utf8(src, where, err);
        else
            rc = insitu_error_set(
                err, INSITU_EINVAL, "%s: %s", where,
                json_error_code(&jerr) == json_error_invalid_utf8 ? "not UTF-8 text" : jerr.text);
    }
    sb_free(&text);
    return rc;
}

int source_setting_bool(const struct source *src, const char *key, int dflt)
{
    const char *v = source_setting(src, key);
    if (!v)
        return dflt;
    if (str_ieq(v, "yes") || str_ieq(v, "true") || str_ieq(v, "1") || str_ieq(v, "on"))
        return 1;
    if (str_ieq(v, "no") || str_ieq(v, "false") || str_ieq(v, "0") || str_ieq(v, "off"))
        return 0;
    return -1;
}

/* ---- line reader ---- */

enum { LR_BLOCK = 1 << 20 };

int parse_limit(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!text || !(*text >= '0' && *text <= '9'))
        return -1;
    unsigned long long v = strtoull(text, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (errno || *end || v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

uint64_t source_limit(const struct source *src, const char *key, uint64_t dflt)
{
    uint64_t v;
    return parse_limit(source_setting(src, key), &v) == 0 ? v : dflt;
}

#define ZIP_DEFAULT_MAX_BYTES ((uint64_t)8 << 30)

/* The most bytes a read of path may give: for a member of a zip (a /vsizip/ path), the size
 * the archive declares, capped by zip_max_bytes (GDAL reads on past a size that lies); 0 for
 * other files. */
static uint64_t zip_member_limit(const struct source *src, const char *path)
{
    if (strncmp(path, "/vsizip/", 8) != 0)
        return 0;
    uint64_t cap = source_limit(src, "zip_max_bytes", ZIP_DEFAULT_MAX_BYTES);
    VSIStatBufL sb;
    if (VSIStatL(path, &sb) == 0 && (uint64_t)sb.st_size < cap)
        return (uint64_t)sb.st_size ? (uint64_t)sb.st_size : 1;
    return cap;
}

int lr_open(struct line_reader *lr, const char *path, const char *name, insitu_error *err)
{
    memset(lr, 0, sizeof *lr);
    lr->name = name ? name : path;
    lr->max_line = LR_DEFAULT_MAX_LINE;
    lr->file = VSIFOpenL(path, "rb");
    if (!lr->file)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot open: %s", lr->name,
                                errno ? strerror(errno) : "no such file");
    lr->cap = LR_BLOCK;
    lr->buf = malloc(lr->cap + 1);
    if (!lr->buf) {
        lr_close(lr);
        return insitu_error_set(err, INSITU_ENOMEM, "%s: out of memory", lr->name);
    }
    return 0;
}

int lr_open_source(struct line_reader *lr, const struct source *src, const char *path,
                   const char *name, insitu_error *err)
{
    int rc = lr_open(lr, path, name, err);
    if (!rc)
        lr->max_line = source_limit(src, "max_line", LR_DEFAULT_MAX_LINE);
    if (!rc)
        lr->max_bytes = zip_member_limit(src, path);
    return rc;
}

static int lr_too_long(const struct line_reader *lr, insitu_error *err)
{
    return insitu_error_set(err, INSITU_EINVAL,
                            "%s:%llu: line longer than %llu bytes (the max_line setting: "
                            "--set max_line=SIZE raises it)",
                            lr->name, (unsigned long long)lr->line_no + 1,
                            (unsigned long long)lr->max_line);
}

/* Reads more bytes after lr->end, moving the unread tail to the front first. */
static int lr_fill(struct line_reader *lr, insitu_error *err)
{
    if (lr->start > 0) {
        memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
        lr->end -= lr->start;
        lr->start = 0;
    }
    if (lr->end > lr->max_line)
        return lr_too_long(lr, err);
    if (lr->end == lr->cap) {
        char *p = realloc(lr->buf, lr->cap * 2 + 1);
        if (!p)
            return insitu_error_set(err, INSITU_ENOMEM, "%s: out of memory", lr->name);
        lr->buf = p;
        lr->cap *= 2;
    }
    CPLErrorReset();
    size_t n = VSIFReadL(lr->buf + lr->end, 1, lr->cap - lr->end, (VSILFILE *)lr->file);
    /* A truncated or corrupt compressed member shows up as a GDAL error, not as EOF. */
    if (CPLGetLastErrorType() >= CE_Failure)
        return insitu_error_set(err, INSITU_EIO, "%s: read error: %s", lr->name,
                                CPLGetLastErrorMsg());
    if (n == 0)
        lr->eof = 1;
    if (lr->max_bytes && lr->bytes + n > lr->max_bytes)
        return zip_member_overrun(lr->name, NULL, lr->max_bytes, err);
    if (lr->hash)
        sha256_update(lr->hash, lr->buf + lr->end, n);
    lr->bytes += n;
    lr->end += n;
    return 0;
}

/* A line must be text: no NUL byte (a binary file, or UTF-16) and no CR but the one before
 * its LF (a classic Mac OS file has CR line ends only, and would read as one line). */
static int lr_check_text(const struct line_reader *lr, const char *s, size_t n, insitu_error *err)
{
    const char *nul = memchr(s, '\0', n);
    if (nul)
        return insitu_error_set(err, INSITU_EINVAL,
                                "%s:%llu: a NUL byte at character %zu of the line (a binary "
                                "file, or UTF-16 text? text must be UTF-8)",
                                lr->name, (unsigned long long)lr->line_no, (size_t)(nul - s) + 1);
    const char *cr = memchr(s, '\r', n);
    if (cr)
        return insitu_error_set(err, INSITU_EINVAL,
                                "%s:%llu: a carriage return (CR) at character %zu of the line: "
                                "lines end with LF or CR LF (classic Mac OS line ends? convert "
                                "them: tr '\\r' '\\n')",
                                lr->name, (unsigned long long)lr->line_no, (size_t)(cr - s) + 1);
    return 0;
}

int lr_next(struct line_reader *lr, char **line, size_t *len, insitu_error *err)
{
    for (;;) {
        char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
        if (nl || (lr->eof && lr->end > lr->start)) {
            char *s = lr->buf + lr->start;
            size_t n = nl ? (size_t)(nl - s) : lr->end - lr->start;
            if (n > lr->max_line)
                return lr_too_long(lr, err);
            lr->start += n + (nl != NULL);
            if (n && s[n - 1] == '\r')
                n--;
            if (lr->line_no == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
                s += 3; /* UTF-8 byte order mark */
                n -= 3;
            }
            lr->line_no++;
            int rc = lr_check_text(lr, s, n, err);
            if (rc)
                return rc;
            s[n] = '\0';
            *line = s;
            *len = n;
            return 1;
        }
        if (lr->eof)
            return 0;
        int rc = lr_fill(lr, err);
        if (rc)
            return rc;
    }
}

void lr_close(struct line_reader *lr)
{
    if (lr->file)
        VSIFCloseL((VSILFILE *)lr->file);
    free(lr->buf);
    lr->file = NULL;
    lr->buf = NULL;
}

int split_fields(char *line, size_t len, char sep, int quotes, char **fields, size_t *lens,
                 int max)
{
    int n = 0;
    char *p = line, *end = line + len;
    for (;;) {
        if (n >= max)
            return -1;
        if (quotes && p < end && *p == '"') {
            /* RFC 4180: "a ""quoted"" field" -> unescape in place */
            char *out = p, *in = p + 1;
            fields[n] = out;
            while (in < end) {
                if (*in == '"') {
                    if (in + 1 < end && in[1] == '"') {
                        *out++ = '"';
                        in += 2;
                        continue;
                    }
                    in++;
                    break;
                }
                *out++ = *in++;
            }
            lens[n] = (size_t)(out - fields[n]);
            while (in < end && *in != sep)
                in++; /* text after the closing quote is ignored */
            n++;
            if (in >= end) {
                fields[n - 1][lens[n - 1]] = '\0';
                return n;
            }
            fields[n - 1][lens[n - 1]] = '\0';
            p = in + 1;
            continue;
        }
        char *q = memchr(p, sep, (size_t)(end - p));
        fields[n] = p;
        if (!q) {
            lens[n] = (size_t)(end - p);
            return n + 1;
        }
        lens[n] = (size_t)(q - p);
        *q = '\0';
        n++;
        p = q + 1;
    }
}

void geojson_point(char *buf, size_t size, double lon, double lat, int has_alt, double alt)
{
    char x[40], y[40], z[40];
    fmt_double(lon, x, sizeof x);
    fmt_double(lat, y, sizeof y);
    if (has_alt) {
        fmt_double(alt, z, sizeof z);
        snprintf(buf, size, "{\"type\":\"Point\",\"coordinates\":[%s,%s,%s]}", x, y, z);
    } else {
        snprintf(buf, size, "{\"type\":\"Point\",\"coordinates\":[%s,%s]}", x, y);
    }
}

/* ---- batch writer ---- */

struct ds_stat {
    int64_t id;
    uint64_t rows, inserted, updated;
    int64_t min_start, max_start, max_end, min_rt, max_rt, last_start;
    int64_t feature; /* the one feature of its rows (0: none), -1 once they have several */
    /* for the append path: every row after `floor` is a new key (the store held nothing
     * later when the run began, and this run wrote nothing later yet); `sorted` is 0 once
     * the run's rows for this datastream went back in time */
    int64_t floor;
    int sorted;
};

struct pending {
    struct obs_row r;
    size_t json_off, quality_off, params_off; /* offset + 1 into the arena; 0: NULL */
};

struct batch_writer {
    struct store *st;
    int64_t run_id;
    const insitu_ingest_options *opts;
    const char *source_name;
    int name_used; /* what the ingester wrote depends on source_name */
    int lenient, dry_run;
    int in_parts; /* one of several writers of its run (bw_new) */
    /* bw_create: observations are new entities (never a replacement); their ids, in the
     * order bw_observation was given them, once written */
    int creates;
    int64_t *created;
    size_t n_created, cap_created;
    int64_t now_us;
    struct strmap things, sensors, props, datastreams, features, locations;
    struct pending *rows;
    size_t n_rows, cap_rows;
    struct strbuf arena;
    unsigned char *outcome;
    struct obs_row *flat;
    struct ds_stat *stats;
    size_t n_stats, cap_stats, last_stat;
    struct strmap stat_index;
    uint64_t n_things, n_datastreams, n_obs, n_inserted, n_updated, n_nulls, n_warnings,
        n_duplicates;
    struct sha256 *hash;
    double t0, last_progress;
    /* bw_nothing: the source holds nothing to ingest, why, and its footprint */
    int nothing, has_footprint;
    char nothing_why[sizeof ((insitu_ingest_report *)0)->message];
    double footprint[4];
};

int bw_lenient(const struct batch_writer *bw) { return bw->lenient; }
int bw_dry_run(const struct batch_writer *bw) { return bw->dry_run; }
struct sha256 *bw_source_hash(struct batch_writer *bw) { return bw->hash; }
struct store *bw_store(struct batch_writer *bw) { return bw->st; }
void bw_uses_source_name(struct batch_writer *bw) { bw->name_used = 1; }

void bw_warn(struct batch_writer *bw, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bw->n_warnings++;
    if (bw->opts && bw->opts->warning)
        bw->opts->warning(bw->opts->ctx, msg);
}

void bw_nothing(struct batch_writer *bw, const double footprint[4], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bw->nothing_why, sizeof bw->nothing_why, fmt, ap);
    va_end(ap);
    bw->nothing = 1;
    bw->has_footprint = footprint != NULL;
    if (footprint)
        memcpy(bw->footprint, footprint, sizeof bw->footprint);
}

/* Looks up key in cache; on a miss runs upsert and caches the id. */
#define CACHED_UPSERT(cache, key, keylen, counter, call)                                      \
    do {                                                                                      \
        if (strmap_get(&(cache), (key), (keylen), id))                                        \
            return 0;                                                                         \
        int rc_ = (call);                                                                     \
        if (rc_)                                                                              \
            return rc_;                                                                       \
        counter;                                                                              \
        return strmap_put(&(cache), (key), (keylen), *id)                                     \
                   ? insitu_error_set(err, INSITU_ENOMEM, "out of memory")                    \
                   : 0;                                                                       \
    } while (0)

/* Joins parts with the unit separator into buf: a cache key. */
static size_t make_key(char *buf, size_t size, int n, const char *const *parts)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const char *p = parts[i] ? parts[i] : "";
        size_t m = strlen(p);
        if (len + m + 2 > size)
            m = size > len + 2 ? size - len - 2 : 0;
        memcpy(buf + len, p, m);
        len += m;
        buf[len++] = '\x1f';
    }
    buf[len] = '\0';
    return len;
}

int bw_thing(struct batch_writer *bw, const struct thing_in *t, int64_t *id, insitu_error *err)
{
    char key[1024];
    const char *parts[] = {t->ns, t->code};
    size_t n = make_key(key, sizeof key, 2, parts);
    if (!t->code || !*t->code)
        return insitu_error_set(err, INSITU_EINVAL, "a thing needs a code (station id)");
    CACHED_UPSERT(bw->things, key, n, bw->n_things++, store_upsert_thing(bw->st, t, id, err));
}

int bw_sensor(struct batch_writer *bw, const struct sensor_in *s, int64_t *id,
              insitu_error *err)
{
    char key[1024];
    const char *parts[] = {s->ns, s->code};
    size_t n = make_key(key, sizeof key, 2, parts);
    CACHED_UPSERT(bw->sensors, key, n, (void)0, store_upsert_sensor(bw->st, s, id, err));
}

int bw_property(struct batch_writer *bw, const struct property_in *p, int64_t *id,
                insitu_error *err)
{
    char key[1024];
    const char *parts[] = {p->definition, p->name};
    size_t n = make_key(key, sizeof key, 2, parts);
    CACHED_UPSERT(bw->props, key, n, (void)0, store_upsert_property(bw->st, p, id, err));
}

int bw_datastream(struct batch_writer *bw, const struct datastream_in *d, int64_t *id,
                  insitu_error *err)
{
    /* the three ids as bytes, then the qualifier (a key, never printed) */
    char key[1024];
    const int64_t ids[] = {d->thing_id, d->property_id, d->sensor_id};
    memcpy(key, ids, sizeof ids);
    const char *parts[] = {d->qualifier};
    size_t n = sizeof ids + make_key(key + sizeof ids, sizeof key - sizeof ids, 1, parts);
    CACHED_UPSERT(bw->datastreams, key, n, bw->n_datastreams++,
                  store_upsert_datastream(bw->st, d, id, err));
}

int bw_feature(struct batch_writer *bw, const struct feature_in *f, int64_t *id,
               insitu_error *err)
{
    const char *key = f->key ? f->key : f->geojson;
    CACHED_UPSERT(bw->features, key, strlen(key), (void)0,
                  store_upsert_feature(bw->st, f, id, err));
}

int bw_point_feature(struct batch_writer *bw, double lon, double lat, int has_alt, double alt,
                     const char *name, int64_t *id, insitu_error *err)
{
    if (!(lon >= -180 && lon <= 360 && lat >= -90 && lat <= 90))
        return insitu_error_set(err, INSITU_EINVAL, "position lon %g lat %g out of range", lon,
                                lat);
    char geojson[160];
    geojson_point(geojson, sizeof geojson, lon, lat, has_alt, alt);
    struct feature_in f = {.key = geojson, .name = name, .geojson = geojson};
    return bw_feature(bw, &f, id, err);
}

int bw_thing_location(struct batch_writer *bw, int64_t thing_id, const char *name,
                      const char *geojson, insitu_error *err)
{
    struct geom_digest digest;
    geom_digest(&digest, geojson, NULL, 0);
    return bw_thing_location_wkb(bw, thing_id, name, geojson, NULL, 0, &digest, err);
}

int bw_thing_location_wkb(struct batch_writer *bw, int64_t thing_id, const char *name,
                          const char *geojson, const unsigned char *wkb, size_t wkb_len,
                          const struct geom_digest *digest, insitu_error *err)
{
    struct strbuf key = {0};
    location_cache_key(&key, thing_id, digest);
    int64_t seen;
    int rc = 0;
    if (!strmap_get(&bw->locations, key.data, key.len, &seen)) {
        rc = store_thing_location_wkb(bw->st, thing_id, name, geojson, wkb, wkb_len, digest,
                                      bw->now_us, err);
        if (!rc && strmap_put(&bw->locations, key.data, key.len, 1))
            rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    sb_free(&key);
    return rc;
}

int bw_thing_location_default(struct batch_writer *bw, int64_t thing_id, const char *name,
                              const char *geojson, insitu_error *err)
{
    int has = store_thing_has_location(bw->st, thing_id, err);
    if (has < 0)
        return has;
    return has ? 0 : bw_thing_location(bw, thing_id, name, geojson, err);
}

/* The latest time a datastream holds (its summary's end), INT64_MIN when it holds
 * nothing, or INT64_MAX (no append) when it cannot be read. */
static int64_t datastream_floor(struct store *st, int64_t ds)
{
    struct stmt *s;
    if (st_prepare_cached(st, SLOT_DATASTREAM_END,
                          "SELECT n_obs, phenomenon_end FROM datastreams WHERE id = ?", &s, NULL))
        return INT64_MAX;
    st_bind_int64(s, 1, ds);
    int64_t floor = INT64_MAX;
    if (st_step(s, NULL) == 1)
        floor = st_col_int64(s, 0) == 0 ? INT64_MIN
                : st_col_is_null(s, 1) ? INT64_MAX
                                       : st_col_int64(s, 1);
    st_finalize(s);
    return floor;
}

static struct ds_stat *stat_for(struct batch_writer *bw, int64_t ds)
{
    if (bw->n_stats && bw->stats[bw->last_stat].id == ds)
        return &bw->stats[bw->last_stat];
    int64_t idx;
    if (strmap_get(&bw->stat_index, (const char *)&ds, sizeof ds, &idx)) {
        bw->last_stat = (size_t)idx;
        return &bw->stats[idx];
    }
    if (bw->n_stats == bw->cap_stats) {
        size_t cap = bw->cap_stats ? bw->cap_stats * 2 : 64;
        struct ds_stat *p = realloc(bw->stats, cap * sizeof *p);
        if (!p)
            return NULL;
        bw->stats = p;
        bw->cap_stats = cap;
    }
    if (strmap_put(&bw->stat_index, (const char *)&ds, sizeof ds, (int64_t)bw->n_stats))
        return NULL;
    struct ds_stat *s = &bw->stats[bw->n_stats];
    *s = (struct ds_stat){.id = ds,
                          .min_start = INT64_MAX,
                          .max_start = INT64_MIN,
                          .max_end = INT64_MIN,
                          .min_rt = INT64_MAX,
                          .max_rt = INT64_MIN,
                          .last_start = INSITU_TIME_NONE,
                          .floor = INT64_MAX,
                          .sorted = 1};
    bw->last_stat = bw->n_stats++;
    if (bw->st->ops->append_observations && !bw->creates)
        s->floor = datastream_floor(bw->st, ds);
    return s;
}

/* Can the batch take the append path? Every row must be a new key: after its datastream's
 * floor, in increasing time within the run. The floors then move past the batch. */
static int batch_appends(struct batch_writer *bw)
{
    if (!bw->st->ops->append_observations)
        return 0;
    for (size_t i = 0; i < bw->n_rows; i++) {
        struct ds_stat *s = stat_for(bw, bw->flat[i].datastream_id);
        if (!s || !s->sorted || s->floor == INT64_MAX)
            return 0;
    }
    /* rows of one datastream in the batch are increasing (sorted); the first must be after
     * the floor; the floors then become each datastream's last time */
    for (size_t i = 0; i < bw->n_rows; i++) {
        struct ds_stat *s = stat_for(bw, bw->flat[i].datastream_id);
        if (bw->flat[i].phenomenon_start <= s->floor && s->floor != INT64_MIN)
            return 0;
    }
    for (size_t i = 0; i < bw->n_rows; i++) {
        struct ds_stat *s = stat_for(bw, bw->flat[i].datastream_id);
        s->floor = bw->flat[i].phenomenon_start; /* increasing: ends at the last */
    }
    return 1;
}

/* Room in bw->created for the ids of the rows being flushed. */
static int created_room(struct batch_writer *bw, insitu_error *err)
{
    if (bw->n_created + bw->n_rows <= bw->cap_created)
        return 0;
    size_t cap = bw->cap_created ? bw->cap_created : 64;
    while (cap < bw->n_created + bw->n_rows)
        cap *= 2;
    int64_t *p = realloc(bw->created, cap * sizeof *p);
    if (!p)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    bw->created = p;
    bw->cap_created = cap;
    return 0;
}

static int bw_flush(struct batch_writer *bw, insitu_error *err)
{
    if (!bw->n_rows)
        return 0;
    for (size_t i = 0; i < bw->n_rows; i++) {
        struct pending *p = &bw->rows[i];
        bw->flat[i] = p->r;
        bw->flat[i].result_json = p->json_off ? bw->arena.data + p->json_off - 1 : NULL;
        bw->flat[i].quality = p->quality_off ? bw->arena.data + p->quality_off - 1 : NULL;
        bw->flat[i].parameters = p->params_off ? bw->arena.data + p->params_off - 1 : NULL;
    }
    int rc;
    if (bw->creates) {
        rc = created_room(bw, err);
        if (!rc)
            rc = store_create_observations(bw->st, bw->flat, bw->n_rows, bw->run_id,
                                           bw->created + bw->n_created, err);
        if (!rc)
            bw->n_created += bw->n_rows;
        memset(bw->outcome, OBS_INSERTED, bw->n_rows);
    } else if (batch_appends(bw)) {
        rc = bw->st->ops->append_observations(bw->st, bw->flat, bw->n_rows, bw->run_id, err);
        memset(bw->outcome, OBS_INSERTED, bw->n_rows);
    } else {
        rc = bw->st->ops->put_observations(bw->st, bw->flat, bw->n_rows, bw->run_id,
                                           bw->outcome, err);
    }
    if (rc)
        return rc;
    for (size_t i = 0; i < bw->n_rows; i++) {
        struct ds_stat *s = stat_for(bw, bw->flat[i].datastream_id);
        if (!s)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        if (bw->outcome[i] == OBS_INSERTED) {
            s->inserted++;
            bw->n_inserted++;
        } else {
            s->updated++;
            bw->n_updated++;
        }
    }
    bw->n_rows = 0;
    sb_reset(&bw->arena);
    return 0;
}

static size_t arena_put(struct batch_writer *bw, const char *s)
{
    if (!s)
        return 0;
    size_t off = bw->arena.len;
    if (sb_append(&bw->arena, s, strlen(s) + 1))
        return SIZE_MAX;
    return off + 1;
}

int bw_observation(struct batch_writer *bw, const struct obs_row *r, insitu_error *err)
{
    struct ds_stat *s = stat_for(bw, r->datastream_id);
    if (!s)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (r->phenomenon_start == s->last_start)
        bw->n_duplicates++;
    if (s->last_start != INSITU_TIME_NONE && r->phenomenon_start <= s->last_start)
        s->sorted = 0;
    s->last_start = r->phenomenon_start;
    if (!s->rows++)
        s->feature = r->feature_id;
    else if (s->feature != r->feature_id)
        s->feature = -1;
    if (r->phenomenon_start < s->min_start)
        s->min_start = r->phenomenon_start;
    if (r->phenomenon_start > s->max_start)
        s->max_start = r->phenomenon_start;
    int64_t end = r->phenomenon_end == INSITU_TIME_NONE ? r->phenomenon_start : r->phenomenon_end;
    if (end > s->max_end)
        s->max_end = end;
    if (r->result_time != INSITU_TIME_NONE) {
        if (r->result_time < s->min_rt)
            s->min_rt = r->result_time;
        if (r->result_time > s->max_rt)
            s->max_rt = r->result_time;
    }
    bw->n_obs++;
    if (!r->has_result && !r->result_json)
        bw->n_nulls++;
    struct pending *p = &bw->rows[bw->n_rows];
    p->r = *r;
    if (p->r.has_result && isnan(p->r.result))
        p->r.has_result = 0;
    p->json_off = arena_put(bw, r->result_json);
    p->quality_off = arena_put(bw, r->quality && *r->quality ? r->quality : NULL);
    p->params_off = arena_put(bw, r->parameters);
    if (p->json_off == SIZE_MAX || p->quality_off == SIZE_MAX || p->params_off == SIZE_MAX)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    bw->n_rows++;
    if (bw->opts && bw->opts->progress && (bw->n_obs & 0xFFFF) == 0) {
        double t = now_seconds();
        if (t - bw->last_progress >= 0.5) {
            bw->last_progress = t;
            bw->opts->progress(bw->opts->ctx, bw->source_name, bw->n_obs, t - bw->t0);
        }
    }
    /* A batch is bounded in rows and in string bytes, whichever fills first. */
    if (bw->n_rows == bw->cap_rows || bw->arena.len > (8u << 20))
        return bw_flush(bw, err);
    return 0;
}

static int bw_init(struct batch_writer *bw, struct store *st, int64_t run_id,
                   const insitu_ingest_options *opts, const char *name, insitu_error *err)
{
    memset(bw, 0, sizeof *bw);
    bw->st = st;
    bw->run_id = run_id;
    bw->opts = opts;
    bw->source_name = name;
    bw->lenient = opts && opts->lenient;
    bw->dry_run = opts && opts->dry_run;
    bw->cap_rows = opts && opts->batch_rows ? opts->batch_rows : 20000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    bw->now_us = (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
    bw->t0 = bw->last_progress = now_seconds();
    bw->rows = malloc(bw->cap_rows * sizeof *bw->rows);
    bw->flat = malloc(bw->cap_rows * sizeof *bw->flat);
    bw->outcome = malloc(bw->cap_rows);
    if (!bw->rows || !bw->flat || !bw->outcome)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    return 0;
}

static void bw_free(struct batch_writer *bw)
{
    strmap_free(&bw->things);
    strmap_free(&bw->sensors);
    strmap_free(&bw->props);
    strmap_free(&bw->datastreams);
    strmap_free(&bw->features);
    strmap_free(&bw->locations);
    strmap_free(&bw->stat_index);
    free(bw->rows);
    free(bw->flat);
    free(bw->outcome);
    free(bw->stats);
    free(bw->created);
    sb_free(&bw->arena);
}

enum { RD_CHUNK = 50, RD_COLS = 10 };

static void bind_run_datastream(struct stmt *s, int first, int64_t run_id,
                                const struct ds_stat *d)
{
    st_bind_int64(s, first, run_id);
    st_bind_int64(s, first + 1, d->id);
    st_bind_int64(s, first + 2, (int64_t)d->rows);
    st_bind_int64(s, first + 3, (int64_t)d->inserted);
    st_bind_int64(s, first + 4, (int64_t)d->updated);
    st_bind_int64(s, first + 5, d->min_start);
    st_bind_int64(s, first + 6, d->max_start);
    st_bind_int64(s, first + 7, d->max_end);
    st_bind_time(s, first + 8, d->min_rt == INT64_MAX ? INSITU_TIME_NONE : d->min_rt);
    st_bind_time(s, first + 9, d->max_rt == INT64_MIN ? INSITU_TIME_NONE : d->max_rt);
}

/* Records what the run wrote per datastream, RD_CHUNK rows per INSERT. A run written in
 * parts (the SensorThings server writes one run request by request) adds each part to what
 * the run already holds. */
static int write_run_datastreams(struct batch_writer *bw, insitu_error *err)
{
    struct strbuf sql = {0};
    /* a whole run's rows are new keys (its run id is new): nothing to abort on */
    struct strbuf head = {0};
    sb_printf(&head,
              "INSERT%s INTO run_datastreams (run_id, datastream_id, n_obs, n_inserted, "
              "n_updated, phenomenon_start, phenomenon_last, phenomenon_end, "
              "result_time_start, result_time_end) VALUES ",
              bw->in_parts ? "" : bw->st->dialect->no_abort);
    const char *row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    const char *merge =
        !bw->in_parts
            ? ""
            : " ON CONFLICT (run_id, datastream_id) DO UPDATE SET "
              "n_obs = run_datastreams.n_obs + excluded.n_obs, "
              "n_inserted = run_datastreams.n_inserted + excluded.n_inserted, "
              "n_updated = run_datastreams.n_updated + excluded.n_updated, "
              "phenomenon_start = CASE WHEN excluded.phenomenon_start < "
              "run_datastreams.phenomenon_start THEN excluded.phenomenon_start ELSE "
              "run_datastreams.phenomenon_start END, "
              "phenomenon_last = CASE WHEN excluded.phenomenon_last > "
              "run_datastreams.phenomenon_last THEN excluded.phenomenon_last ELSE "
              "run_datastreams.phenomenon_last END, "
              "phenomenon_end = CASE WHEN excluded.phenomenon_end > run_datastreams.phenomenon_end "
              "THEN excluded.phenomenon_end ELSE run_datastreams.phenomenon_end END, "
              "result_time_start = CASE WHEN run_datastreams.result_time_start IS NULL OR "
              "excluded.result_time_start < run_datastreams.result_time_start THEN "
              "excluded.result_time_start ELSE run_datastreams.result_time_start END, "
              "result_time_end = CASE WHEN run_datastreams.result_time_end IS NULL OR "
              "excluded.result_time_end > run_datastreams.result_time_end THEN "
              "excluded.result_time_end ELSE run_datastreams.result_time_end END";
    struct stmt *chunk = NULL, *one = NULL;
    sb_puts(&sql, head.data);
    for (int i = 0; i < RD_CHUNK; i++)
        sb_printf(&sql, "%s%s", i ? ", " : "", row);
    sb_puts(&sql, merge);
    int rc = st_prepare(bw->st, sql.data, &chunk, err);
    sb_reset(&sql);
    sb_printf(&sql, "%s%s%s", head.data, row, merge);
    if (!rc)
        rc = st_prepare(bw->st, sql.data, &one, err);
    sb_free(&sql);
    sb_free(&head);
    size_t i = 0;
    for (; !rc && i + RD_CHUNK <= bw->n_stats; i += RD_CHUNK) {
        for (int k = 0; k < RD_CHUNK; k++)
            bind_run_datastream(chunk, 1 + k * RD_COLS, bw->run_id, &bw->stats[i + k]);
        rc = st_step(chunk, err);
        st_reset(chunk);
    }
    for (; rc >= 0 && i < bw->n_stats; i++) {
        bind_run_datastream(one, 1, bw->run_id, &bw->stats[i]);
        rc = st_step(one, err);
        st_reset(one);
    }
    st_finalize(chunk);
    st_finalize(one);
    return rc < 0 ? rc : 0;
}

/* Adds the new rows of the datastreams the run only added to to their summaries, through
 * the store (which, in a group of sources, keeps them until the group commits). Also for a
 * run written in parts, whose run_datastreams rows hold the whole run, not this part. */
static int add_to_summaries(struct batch_writer *bw, insitu_error *err)
{
    struct summary_delta *d = malloc((bw->n_stats ? bw->n_stats : 1) * sizeof *d);
    if (!d)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < bw->n_stats; i++) {
        const struct ds_stat *s = &bw->stats[i];
        if (s->updated)
            continue;
        d[n++] = (struct summary_delta){
            .id = s->id,
            .n = (int64_t)s->inserted,
            .start = s->min_start,
            .end = s->max_end,
            .rt0 = s->min_rt == INT64_MAX ? INSITU_TIME_NONE : s->min_rt,
            .rt1 = s->max_rt == INT64_MIN ? INSITU_TIME_NONE : s->max_rt,
            .one_feature = s->feature >= 0,
            .feature_id = s->feature};
    }
    int rc = store_add_summaries(bw->st, d, n, err);
    free(d);
    return rc;
}

/* Writes run_datastreams and brings each touched datastream's summary up to date: by adding
 * to it for series the run only added to (in a group of sources: at the group's commit), by
 * counting again where it rewrote rows. */
static int bw_finish(struct batch_writer *bw, insitu_error *err)
{
    int rc = bw_flush(bw, err);
    if (!rc)
        rc = write_run_datastreams(bw, err);
    if (!rc)
        rc = add_to_summaries(bw, err);
    /* rows were rewritten: an interval may have shrunk, so count again */
    for (size_t i = 0; !rc && i < bw->n_stats; i++)
        if (bw->stats[i].updated)
            rc = store_recompute_summary(bw->st, bw->stats[i].id, err);
    return rc;
}

int bw_new(struct store *st, int64_t run_id, size_t batch_rows, struct batch_writer **out,
           insitu_error *err)
{
    *out = NULL;
    struct batch_writer *bw = malloc(sizeof *bw);
    if (!bw)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    insitu_ingest_options opts = {0};
    opts.batch_rows = batch_rows;
    int rc = bw_init(bw, st, run_id, &opts, "", err);
    bw->opts = NULL; /* opts lives on this stack frame: only batch_rows was needed */
    bw->in_parts = 1;
    if (rc) {
        bw_delete(bw);
        return rc;
    }
    *out = bw;
    return 0;
}

int bw_end(struct batch_writer *bw, uint64_t *inserted, uint64_t *updated, insitu_error *err)
{
    int rc = bw_finish(bw, err);
    if (inserted)
        *inserted = bw->n_inserted;
    if (updated)
        *updated = bw->n_updated;
    return rc;
}

void bw_create(struct batch_writer *bw) { bw->creates = 1; }

int64_t bw_created_id(const struct batch_writer *bw, size_t k)
{
    return k < bw->n_created ? bw->created[k] : 0;
}

void bw_delete(struct batch_writer *bw)
{
    if (!bw)
        return;
    bw_free(bw);
    free(bw);
}

/* Deletes what the previous complete run of the same source wrote and this run did not
 * rewrite: the new version of a source replaces the old one exactly. */
static int replace_previous(struct store *st, int64_t prev_run, int64_t run_id,
                            uint64_t *deleted, insitu_error *err)
{
    struct stmt *list, *del;
    int rc = st_prepare(st,
                        "SELECT datastream_id, phenomenon_start, phenomenon_last FROM "
                        "run_datastreams WHERE run_id = ?",
                        &list, err);
    if (rc)
        return rc;
    rc = st_prepare(st,
                    "DELETE FROM observations WHERE datastream_id = ? AND phenomenon_start >= ? "
                    "AND phenomenon_start <= ? AND run_id = ?",
                    &del, err);
    if (rc) {
        st_finalize(list);
        return rc;
    }
    st_bind_int64(list, 1, prev_run);
    while ((rc = st_step(list, err)) == 1) {
        int64_t ds = st_col_int64(list, 0);
        st_bind_int64(del, 1, ds);
        st_bind_int64(del, 2, st_col_int64(list, 1));
        st_bind_int64(del, 3, st_col_int64(list, 2));
        st_bind_int64(del, 4, prev_run);
        rc = st_step(del, err);
        st_reset(del);
        if (rc < 0)
            break;
        int64_t n = st->ops->changes(st);
        if (n > 0) {
            *deleted += (uint64_t)n;
            rc = store_recompute_summary(st, ds, err);
            if (rc)
                break;
        }
    }
    st_finalize(list);
    st_finalize(del);
    (void)run_id;
    return rc < 0 ? rc : 0;
}

/* ---- sources ---- */

static int is_url(const char *s) { return fetch_is_url(s); }

/* Describes the source `uri` read from `path` (the same for a local source; the downloaded
 * copy for a URL). */
/* A source read in place through a GDAL virtual file system (/vsicurl/URL): its size and
 * head through VSI (a range request). */
static int resolve_vsi_source(struct source *src, unsigned char *head, insitu_error *err)
{
    VSIStatBufL sb;
    if (VSIStatL(src->path, &sb) != 0)
        return insitu_error_set(err, INSITU_ENOTFOUND, "%s: cannot read it in place: %s",
                                src->uri,
                                CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "not found");
    src->size = (uint64_t)sb.st_size;
    VSILFILE *f = VSIFOpenL(src->path, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot open it in place", src->uri);
    src->head_len = VSIFReadL(head, 1, 4096, f);
    VSIFCloseL(f);
    src->head = head;
    return 0;
}

/* ---- zip archives: member names and sizes, before anything is read ---- */

enum { ZIP_MAX_DEPTH = 3 };
#define ZIP_DEFAULT_MAX_RATIO 200

/* A member name that would leave the archive's folder if it were unpacked: absolute, a drive
 * letter, or with a ".." component. */
static int zip_name_escapes(const char *name)
{
    if (name[0] == '/' || name[0] == '\\' ||
        (((name[0] | 0x20) >= 'a' && (name[0] | 0x20) <= 'z') && name[1] == ':'))
        return 1;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p += n;
        p += *p != '\0';
    }
    return 0;
}

struct zip_walk {
    const char *archive; /* the source's name, for messages */
    uint64_t max_bytes, max_ratio;
    uint64_t total; /* uncompressed bytes of every member, nested archives' included */
};

/* Members smaller than this are not held to the ratio: a few KiB of zeros compress 1000:1. */
#define ZIP_RATIO_FLOOR ((uint64_t)1 << 20)
enum { ZIP_MAX_DIRECTORY = 64 << 20 };

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads the central directory of the zip file at vsi (size bytes) into *dir (malloc'ed), its
 * length in *len and its entry count in *count. */
static int zip_directory(const char *vsi, uint64_t size, const char *what, unsigned char **dir,
                         size_t *len, uint64_t *count, insitu_error *err)
{
    *dir = NULL;
    VSILFILE *f = VSIFOpenL(vsi, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot open", what);
    unsigned char tail[65557 + 20];
    size_t n = size < sizeof tail ? (size_t)size : sizeof tail;
    int rc = 1; /* 1: not a zip, said below */
    if (n >= 22 && VSIFSeekL(f, size - n, SEEK_SET) == 0 && VSIFReadL(tail, 1, n, f) == n) {
        /* the end of central directory record: the last "PK\5\6" */
        size_t at = n - 22;
        while (at > 0 && memcmp(tail + at, "PK\005\006", 4) != 0)
            at--;
        if (memcmp(tail + at, "PK\005\006", 4) == 0) {
            uint64_t entries = le(tail + at + 10, 2), dir_size = le(tail + at + 12, 4),
                     dir_off = le(tail + at + 16, 4);
            unsigned char z64[56];
            if (at >= 20 && memcmp(tail + at - 20, "PK\006\007", 4) == 0 &&
                VSIFSeekL(f, le(tail + at - 20 + 8, 8), SEEK_SET) == 0 &&
                VSIFReadL(z64, 1, sizeof z64, f) == sizeof z64 &&
                memcmp(z64, "PK\006\006", 4) == 0) {
                entries = le(z64 + 32, 8);
                dir_size = le(z64 + 40, 8);
                dir_off = le(z64 + 48, 8);
            }
            if (dir_size > ZIP_MAX_DIRECTORY || dir_off > size || dir_size > size - dir_off)
                rc = insitu_error_set(err, INSITU_EINVAL,
                                      "%s: a corrupt or oversized zip "
                                      "central directory",
                                      what);
            else if ((*dir = malloc(dir_size + 1)) == NULL)
                rc = insitu_error_set(err, INSITU_ENOMEM, "%s: out of memory", what);
            else if (VSIFSeekL(f, dir_off, SEEK_SET) == 0 &&
                     VSIFReadL(*dir, 1, dir_size, f) == dir_size) {
                *len = (size_t)dir_size;
                *count = entries;
                rc = 0;
            }
        }
    }
    VSIFCloseL(f);
    if (rc == 1)
        rc = insitu_error_set(err, INSITU_EINVAL, "%s: not a readable zip archive", what);
    if (rc) {
        free(*dir);
        *dir = NULL;
    }
    return rc;
}

/* One central directory entry at dir[*at]: its name (not NUL-terminated) and sizes, with
 * ZIP64's extra field. 0, or -1 when the entry runs past the directory. */
static int zip_entry(const unsigned char *dir, size_t len, size_t *at, const char **name,
                     size_t *name_len, uint64_t *csize, uint64_t *usize)
{
    const unsigned char *e = dir + *at;
    if (len - *at < 46 || memcmp(e, "PK\001\002", 4) != 0)
        return -1;
    size_t nlen = le(e + 28, 2), xlen = le(e + 30, 2), clen = le(e + 32, 2);
    if (len - *at - 46 < nlen + xlen + clen)
        return -1;
    *csize = le(e + 20, 4);
    *usize = le(e + 24, 4);
    *name = (const char *)e + 46;
    *name_len = nlen;
    for (const unsigned char *x = e + 46 + nlen; x + 4 <= e + 46 + nlen + xlen;) {
        size_t id = le(x, 2), sz = le(x + 2, 2);
        if (x + 4 + sz > e + 46 + nlen + xlen)
            break;
        const unsigned char *v = x + 4;
        if (id == 1) { /* ZIP64: the 8-byte sizes of the fields that hold 0xFFFFFFFF */
            if (*usize == 0xFFFFFFFFu && v + 8 <= x + 4 + sz) {
                *usize = le(v, 8);
                v += 8;
            }
            if (*csize == 0xFFFFFFFFu && v + 8 <= x + 4 + sz)
                *csize = le(v, 8);
        }
        x += 4 + sz;
    }
    *at += 46 + nlen + xlen + clen;
    return 0;
}

/* Checks the members of the zip file at vsi (size bytes), `inside` naming it in messages
 * ("" for the source itself, "a.zip/" for an archive within it). */
static int zip_walk(struct zip_walk *w, const char *vsi, const char *inside, uint64_t size,
                    int depth, insitu_error *err)
{
    unsigned char *dir;
    size_t len = 0, at = 0;
    uint64_t count = 0;
    char what[1200];
    snprintf(what, sizeof what, "%s%s%.*s", w->archive, *inside ? ": " : "",
             *inside ? (int)strlen(inside) - 1 : 0, inside);
    int rc = zip_directory(vsi, size, what, &dir, &len, &count, err);
    for (uint64_t i = 0; !rc && i < count; i++) {
        const char *name;
        size_t nlen;
        uint64_t csize, usize;
        if (zip_entry(dir, len, &at, &name, &nlen, &csize, &usize)) {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "%s: a corrupt zip central directory "
                                  "(entry %llu)",
                                  what, (unsigned long long)i + 1);
            break;
        }
        char *member = strndup(name, nlen);
        if (!member || memchr(name, '\0', nlen) || zip_name_escapes(member))
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "%s: member '%s%s': an absolute path or a '..' component "
                                  "(path traversal): refused",
                                  w->archive, inside, member ? member : "?");
        else if ((w->total += usize) > w->max_bytes)
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "%s: member '%s%s': the archive unpacks to more than %llu "
                                  "bytes (the zip_max_bytes setting)",
                                  w->archive, inside, member, (unsigned long long)w->max_bytes);
        else if (usize >= ZIP_RATIO_FLOOR && usize / (csize ? csize : 1) > w->max_ratio)
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "%s: member '%s%s': %llu bytes unpack to %llu, a ratio over "
                                  "%llu (a zip bomb? the zip_max_ratio setting)",
                                  w->archive, inside, member, (unsigned long long)csize,
                                  (unsigned long long)usize, (unsigned long long)w->max_ratio);
        else if (depth < ZIP_MAX_DEPTH && str_has_suffix_ci(member, ".zip")) {
            struct strbuf nested = {0}, in = {0};
            sb_printf(&nested, "/vsizip/{%s}/%s", vsi, member);
            sb_printf(&in, "%s%s/", inside, member);
            rc = zip_walk(w, nested.data, in.data, usize, depth + 1, err);
            sb_free(&nested);
            sb_free(&in);
        }
        free(member);
    }
    free(dir);
    return rc;
}

/* Refuses a zip source whose member names escape it, or that unpacks to more than the
 * zip_max_bytes setting or with a ratio over zip_max_ratio (from the archive's directory;
 * the line reader enforces the same while reading, should the directory lie). */
static int zip_check(const struct source *src, insitu_error *err)
{
    struct zip_walk w = {src->name, source_limit(src, "zip_max_bytes", ZIP_DEFAULT_MAX_BYTES),
                         source_limit(src, "zip_max_ratio", ZIP_DEFAULT_MAX_RATIO), 0};
    return zip_walk(&w, src->path, "", src->size, 1, err);
}

static int resolve_source(const char *uri, const char *path, struct source *src,
                          unsigned char *head, insitu_error *err)
{
    memset(src, 0, sizeof *src);
    src->uri = uri;
    src->path = path;
    src->name = path_basename(path);
    if (!*src->name)
        src->name = path;
    if (strncmp(path, "/vsi", 4) == 0)
        return resolve_vsi_source(src, head, err);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return insitu_error_set(err, INSITU_ENOTFOUND, "%s: %s", uri, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        src->is_dir = 1;
        return 0;
    }
    src->size = (uint64_t)sb.st_size;
    if (sb.st_size == 0)
        return insitu_error_set(err, INSITU_EINVAL, "%s: empty file (0 bytes)", uri);
    FILE *f = fopen(path, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot open: %s", uri, strerror(errno));
    src->head_len = fread(head, 1, 4096, f);
    fclose(f);
    src->head = head;
    src->is_zip = src->head_len >= 4 && head[0] == 'P' && head[1] == 'K' &&
                  ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6));
    return 0;
}

/* Why no ingester reads src, with what the user can do: a raster is sampled, not ingested;
 * text in another encoding than UTF-8 is converted first. */
static void unrecognised(const struct source *src, insitu_error *err)
{
    GDALDriverH raster = NULL;
    if (!src->is_dir) {
        gdal_drivers();
        raster = GDALIdentifyDriverEx(src->path, GDAL_OF_RASTER, NULL, NULL);
    }
    if (raster) {
        insitu_error_set(err, INSITU_EUNSUPPORTED,
                         "%s: a raster (%s): rasters are not ingested but sampled at the stored "
                         "stations: insitu sample --product NAME '%s' (see 'insitu sample --help')",
                         src->uri, GDALGetDriverLongName(raster), src->uri);
        return;
    }
    /* text up to the head's last line break (a character may be cut at its end) */
    const unsigned char *nl = src->head_len ? memrchr(src->head, '\n', src->head_len) : NULL;
    size_t text = nl ? (size_t)(nl - src->head) : 0;
    char advice[2300] = "";
    if (text && !memchr(src->head, '\0', text) && !utf8_valid((const char *)src->head, text)) {
        snprintf(advice, sizeof advice, ", and it is not UTF-8 text ");
        utf8_advice(src, advice + strlen(advice), sizeof advice - strlen(advice));
    }
    insitu_error_set(err, INSITU_EUNSUPPORTED,
                     "%s: no ingester recognises this source (see 'insitu formats', or give "
                     "--format)%s",
                     src->uri, advice);
}

static const struct ingester *choose_ingester(const struct source *src, const char *format,
                                              insitu_error *err)
{
    if (format) {
        const struct ingester *ing = ingester_find(format);
        if (!ing) {
            struct strbuf names = {0};
            for (size_t i = 0; ingesters[i]; i++)
                sb_printf(&names, "%s%s", i ? ", " : "", ingesters[i]->name);
            insitu_error_set(err, INSITU_EUSAGE, "unknown format '%s' (formats: %s)", format,
                             sb_str(&names));
            sb_free(&names);
        }
        return ing;
    }
    const struct ingester *best = NULL;
    int best_score = 0;
    for (size_t i = 0; ingesters[i]; i++) {
        int score = ingesters[i]->probe(src);
        if (score > best_score) {
            best_score = score;
            best = ingesters[i];
        }
    }
    if (!best)
        unrecognised(src, err);
    return best;
}

/* The limits every ingester takes (see docs/formats.md, "Limits"). */
const char *const ingest_limit_settings[] = {
    "max_line\tlongest line of a text file, in bytes, K, M or G (default 16M)",
    "zip_max_bytes\tlargest uncompressed total of a .zip source (default 8G)",
    "zip_max_ratio\thighest uncompressed to compressed size ratio of a .zip member (default "
    "200)",
    NULL,
};

static int check_limit_setting(const char *setting, size_t n, int *known, insitu_error *err)
{
    for (size_t k = 0; ingest_limit_settings[k]; k++) {
        if (strncmp(ingest_limit_settings[k], setting, n) != 0 ||
            ingest_limit_settings[k][n] != '\t')
            continue;
        uint64_t v;
        *known = 1;
        if (parse_limit(setting + n + 1, &v))
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "setting '%s': expected a positive count (with K, M or G)",
                                    setting);
    }
    return 0;
}

static int check_settings(const struct ingester *ing, const char *const *settings,
                          insitu_error *err)
{
    for (size_t i = 0; settings && settings[i]; i++) {
        const char *eq = strchr(settings[i], '=');
        if (!eq)
            return insitu_error_set(err, INSITU_EUSAGE, "setting '%s': expected key=value",
                                    settings[i]);
        size_t n = (size_t)(eq - settings[i]);
        int known = 0;
        int rc = check_limit_setting(settings[i], n, &known, err);
        if (rc)
            return rc;
        for (size_t k = 0; ing->settings && ing->settings[k] && !known; k++)
            known = strncmp(ing->settings[k], settings[i], n) == 0 &&
                    ing->settings[k][n] == '\t';
        if (!known)
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "setting '%.*s' is not one the %s ingester takes (see "
                                    "'insitu formats')",
                                    (int)n, settings[i], ing->name);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists a folder's files recursively, sorted (relative paths). */
static int list_files(const char *dir, char ***out, size_t *n, insitu_error *err)
{
    char **entries = VSIReadDirRecursive(dir);
    size_t count = 0, cap = 0;
    char **files = NULL;
    for (size_t i = 0; entries && entries[i]; i++) {
        char *full = CPLStrdup(CPLFormFilename(dir, entries[i], NULL));
        VSIStatBufL sb;
        int is_file = VSIStatL(full, &sb) == 0 && VSI_ISREG(sb.st_mode);
        CPLFree(full);
        if (!is_file || path_basename(entries[i])[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(files, cap * sizeof *p);
            if (!p) {
                CSLDestroy(entries);
                for (size_t k = 0; k < count; k++)
                    free(files[k]);
                free(files);
                return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            }
            files = p;
        }
        files[count++] = xstrdup(entries[i]);
    }
    CSLDestroy(entries);
    if (count)
        qsort(files, count, sizeof *files, cmp_str);
    *out = files;
    *n = count;
    return 0;
}

/* SHA-256 over "name NUL, file SHA-256" of each file (names relative to dir, sorted). */
static int checksum_files(const char *dir, char **names, size_t n, char hex[65],
                          uint64_t *bytes, insitu_error *err)
{
    struct sha256 h;
    sha256_init(&h);
    *bytes = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char file_hex[65];
        uint64_t fb = 0;
        struct strbuf path = {0};
        sb_printf(&path, "%s/%s", dir, names[i]);
        rc = sha256_file(path.data, file_hex, &fb, err);
        sb_free(&path);
        *bytes += fb;
        sha256_update(&h, names[i], strlen(names[i]) + 1);
        sha256_update(&h, file_hex, 64);
    }
    sha256_final(&h, hex);
    return rc;
}

/* A folder's checksum: over its files, recursively. */
static int checksum_dir(const char *dir, char hex[65], uint64_t *bytes, insitu_error *err)
{
    char **files;
    size_t n;
    int rc = list_files(dir, &files, &n, err);
    if (rc)
        return rc;
    rc = checksum_files(dir, files, n, hex, bytes, err);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return rc;
}

/* A source's checksum. A shapefile is its .shp and the sidecar files beside it: their
 * attributes (.dbf) and metadata (.shp.xml) are its content as much as the geometries. */
static int checksum_source(const struct source *src, char hex[65], uint64_t *bytes,
                           insitu_error *err)
{
    if (src->is_dir)
        return checksum_dir(src->path, hex, bytes, err);
    if (!str_has_suffix_ci(src->path, ".shp"))
        return sha256_file(src->path, hex, bytes, err);
    static const char *const exts[] = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".shp.xml"};
    char *dir = xstrdup(src->path), *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash)
        *slash = '\0';
    char *names[ARRAY_LEN(exts)];
    size_t n = 0, stem = strlen(base) - 4;
    for (size_t i = 0; i < ARRAY_LEN(exts); i++) {
        struct strbuf name = {0}, path = {0};
        sb_append(&name, base, stem);
        sb_puts(&name, exts[i]);
        sb_printf(&path, "%s/%s", slash ? dir : ".", name.data);
        VSIStatBufL sb;
        if (VSIStatL(path.data, &sb) == 0)
            names[n++] = name.data;
        else
            sb_free(&name);
        sb_free(&path);
    }
    int rc = checksum_files(slash ? dir : ".", names, n, hex, bytes, err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(dir);
    return rc;
}

/* "k=v" settings sorted and joined by newlines, and "lenient=yes" in its place for a lenient
 * ingest (it keeps what a strict one refuses): part of what makes two ingests the same. */
static char *normalise_settings(const char *const *settings, int lenient)
{
    size_t n = 0;
    while (settings && settings[n])
        n++;
    const char **copy = malloc((n + 2) * sizeof *copy);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < n; i++)
        copy[i] = settings[i];
    if (lenient)
        copy[n++] = "lenient=yes";
    if (n)
        qsort(copy, n, sizeof *copy, cmp_str);
    struct strbuf sb = {0};
    sb_puts(&sb, "");
    for (size_t i = 0; i < n; i++)
        sb_printf(&sb, "%s%s", i ? "\n" : "", copy[i]);
    free(copy);
    return sb.data;
}

/* A shapefile is one source: its sidecar files (.dbf, .shx, .prj, .shp.xml...) are dropped
 * from a folder listing when their .shp is in it. Returns the new count. */
static size_t drop_sidecars(char **files, size_t n)
{
    static const char *const sidecars[] = {".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn",
                                           ".sbx", ".shp.xml", NULL};
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int drop = 0;
        for (size_t k = 0; sidecars[k] && !drop; k++) {
            if (!str_has_suffix_ci(files[i], sidecars[k]))
                continue;
            struct strbuf shp = {0};
            sb_append(&shp, files[i], strlen(files[i]) - strlen(sidecars[k]));
            sb_puts(&shp, ".shp");
            for (size_t j = 0; j < n && !drop; j++)
                drop = files[j] && str_ieq(files[j], shp.data);
            sb_free(&shp);
        }
        if (drop) {
            free(files[i]);
            files[i] = NULL;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (files[i])
            files[kept++] = files[i];
    return kept;
}

int insitu_ingest_expand(const char *uri, const char *format, char ***out, size_t *n,
                         insitu_error *err)
{
    *out = NULL;
    *n = 0;
    struct stat sb;
    int whole = 1;
    if (!is_url(uri) && stat(uri, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        struct source src;
        unsigned char head[8];
        resolve_source(uri, uri, &src, head, NULL);
        whole = 0;
        for (size_t i = 0; ingesters[i] && !whole; i++)
            whole = (!format || strcmp(format, ingesters[i]->name) == 0) &&
                    ingesters[i]->probe(&src) > 0;
    }
    if (whole) {
        *out = malloc(sizeof **out);
        if (!*out || !((*out)[0] = xstrdup(uri)))
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        *n = 1;
        return 0;
    }
    char **files;
    size_t count;
    int rc = list_files(uri, &files, &count, err);
    if (rc)
        return rc;
    count = drop_sidecars(files, count);
    if (!count) {
        free(files);
        return insitu_error_set(err, INSITU_EINVAL, "%s: empty folder", uri);
    }
    for (size_t i = 0; i < count; i++) {
        struct strbuf path = {0};
        sb_printf(&path, "%s%s%s", uri, uri[strlen(uri) - 1] == '/' ? "" : "/", files[i]);
        free(files[i]);
        files[i] = path.data;
    }
    *out = files;
    *n = count;
    return 0;
}

void insitu_ingest_expand_free(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* ---- runs ---- */

struct run_info {
    const char *uri, *key, *version, *ingester;
    const char *name; /* the source's file name, recorded when the ingester used it */
    char *checksum; /* empty until known when the ingester hashes as it reads */
    const char *settings;
    uint64_t bytes;
    int64_t started;
};

/* A complete run of the same content, ingester and settings, whose source had the same file
 * name or one that did not matter (a run older than schema version 4 did not say: only the
 * same source), and that is still in force: no later version of its source replaced it. */
static const char *const SQL_SAME_CONTENT =
    "SELECT id, source FROM ingest_runs r WHERE checksum = ? AND ingester = ? AND settings = ? "
    "AND status = 'complete' AND (source_name = '' OR source_name = ? OR (source_name IS NULL "
    "AND source = ?)) AND NOT EXISTS (SELECT 1 FROM ingest_runs n WHERE n.replaces_run = r.id) "
    "ORDER BY id DESC LIMIT 1";

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

static int insert_run(struct store *st, const struct run_info *ri, const char *status,
                      const char *message, int64_t *run_id, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(
        st, SLOT_RUN_INSERT,
        "INSERT INTO ingest_runs (source, source_key, source_version, ingester, checksum, bytes, "
        "status, started, finished, message, settings, source_name) VALUES (?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, '') RETURNING id",
        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, ri->uri);
    st_bind_text(s, 2, ri->key);
    st_bind_text(s, 3, ri->version);
    st_bind_text(s, 4, ri->ingester);
    st_bind_text(s, 5, ri->checksum);
    st_bind_int64(s, 6, (int64_t)ri->bytes);
    st_bind_text(s, 7, status);
    st_bind_int64(s, 8, ri->started);
    if (strcmp(status, "running") == 0)
        st_bind_null(s, 9);
    else
        st_bind_int64(s, 9, wall_us());
    st_bind_text(s, 10, message ? message : "");
    st_bind_text(s, 11, ri->settings);
    rc = st_step(s, err);
    if (rc == 1) {
        *run_id = st_col_int64(s, 0);
        rc = 0;
    }
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

static int finish_run(struct store *st, int64_t run_id, const struct batch_writer *bw,
                      const struct run_info *ri, uint64_t deleted, int64_t replaces,
                      const char *message, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(
        st, SLOT_RUN_FINISH,
        "UPDATE ingest_runs SET status = 'complete', finished = ?, n_things = ?, n_datastreams = "
        "?, n_observations = ?, n_inserted = ?, n_updated = ?, n_deleted = ?, n_null = ?, "
        "replaces_run = ?, message = ?, checksum = ?, bytes = ?, source_name = ? WHERE id = ?",
        &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, wall_us());
    st_bind_int64(s, 2, (int64_t)bw->n_things);
    st_bind_int64(s, 3, (int64_t)bw->n_datastreams);
    st_bind_int64(s, 4, (int64_t)bw->n_obs);
    st_bind_int64(s, 5, (int64_t)bw->n_inserted);
    st_bind_int64(s, 6, (int64_t)bw->n_updated);
    st_bind_int64(s, 7, (int64_t)deleted);
    st_bind_int64(s, 8, (int64_t)bw->n_nulls);
    if (replaces)
        st_bind_int64(s, 9, replaces);
    else
        st_bind_null(s, 9);
    st_bind_text(s, 10, message);
    st_bind_text(s, 11, ri->checksum);
    st_bind_int64(s, 12, (int64_t)ri->bytes);
    st_bind_text(s, 13, bw->name_used ? ri->name : "");
    st_bind_int64(s, 14, run_id);
    rc = st_step(s, err);
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

/* Finds the newest run matching a query of text parameters (a NULL-terminated list), prepared
 * once per connection in slot: its id (0: none) and the second column's text in detail. */
static int find_run(struct store *st, enum stmt_slot slot, const char *sql,
                    const char *const *params, int64_t *id, char *detail, size_t detail_size,
                    insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, slot, sql, &s, err);
    if (rc)
        return rc;
    for (int i = 0; params[i]; i++)
        st_bind_text(s, i + 1, params[i]);
    *id = 0;
    rc = st_step(s, err);
    if (rc == 1) {
        *id = st_col_int64(s, 0);
        snprintf(detail, detail_size, "%s", st_col_text(s, 1) ? st_col_text(s, 1) : "");
    }
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

/* The run in force that ingested the same thing as ri (SQL_SAME_CONTENT), or 0. */
static int find_same_content(struct store *st, const struct run_info *ri, int64_t *same,
                             char *detail, size_t detail_size, insitu_error *err)
{
    const char *params[] = {ri->checksum, ri->ingester, ri->settings, ri->name, ri->uri, NULL};
    return find_run(st, SLOT_RUN_SAME_CONTENT, SQL_SAME_CONTENT, params, same, detail,
                    detail_size, err);
}

static void record_failure(struct store *st, const struct run_info *ri, const char *message)
{
    insitu_error ignored;
    int64_t id;
    if (st_begin(st, &ignored) == 0) {
        if (insert_run(st, ri, "failed", message, &id, &ignored) == 0)
            st_commit(st, &ignored);
        else
            st_rollback(st);
    }
}

static void fill_report(insitu_ingest_report *rep, const struct batch_writer *bw)
{
    rep->things = bw->n_things;
    rep->datastreams = bw->n_datastreams;
    rep->observations = bw->n_obs;
    rep->inserted = bw->n_inserted;
    rep->updated = bw->n_updated;
    rep->nulls = bw->n_nulls;
    rep->warnings = bw->n_warnings;
}

/* Finishes a checksum computed while the ingester read the source (or, when it did not
 * read all of it, computes it now), then looks for a complete run of the same content. */
static int streamed_checksum(struct store *st, const struct source *src, struct sha256 *hash,
                             struct run_info *ri, int64_t *same, char *detail, size_t detail_size,
                             insitu_error *err)
{
    uint64_t hashed = hash->bytes;
    sha256_final(hash, ri->checksum);
    ri->bytes = hashed;
    if (hashed != src->size) {
        int rc = sha256_file(src->path, ri->checksum, &ri->bytes, err);
        if (rc)
            return rc;
    }
    return find_same_content(st, ri, same, detail, detail_size, err);
}

/* ---- reading the next source ahead ----
 * While a source is written (its observations, summaries, commit), the next one the caller
 * names (insitu_ingest_options.next_source) is read on other threads: its checksum, and
 * what its ingester's read_ahead decodes. The store keeps it until that source is ingested
 * (it is then claimed), another one is (it is dropped), or the store is closed. */

struct readahead {
    char *path;
    struct source src; /* what the reader reads: it lives as long as this */
    unsigned char head[4096];
    const struct ingester *ing;
    const char *format;
    void *ahead;       /* ing->read_ahead's, or NULL */
    pthread_t hasher;  /* computes the checksum, when the ingester does not as it reads */
    int hashing;       /* the hasher was started and not joined */
    int checksum_rc;
    char checksum[65];
    uint64_t bytes;
};

static void *readahead_hash(void *arg)
{
    struct readahead *ra = arg;
    ra->checksum_rc = checksum_source(&ra->src, ra->checksum, &ra->bytes, NULL);
    return NULL;
}

static void readahead_free(void *arg)
{
    struct readahead *ra = arg;
    if (!ra)
        return;
    if (ra->hashing)
        pthread_join(ra->hasher, NULL);
    if (ra->ahead)
        ra->ing->read_ahead_free(ra->ahead);
    free(ra->path);
    free(ra);
}

static void readahead_drop(struct store *st)
{
    readahead_free(st->readahead);
    st->readahead = NULL;
}

/* Starts reading opts->next_source ahead, when it is a local file an ingester reads ahead or
 * hashes before reading (an error here is found again, and reported, when it is ingested). */
static void readahead_start(struct store *st, const insitu_ingest_options *opts)
{
    readahead_drop(st);
    const char *next = opts ? opts->next_source : NULL;
    if (!next || is_url(next))
        return;
    struct readahead *ra = calloc(1, sizeof *ra);
    if (!ra || !(ra->path = strdup(next))) {
        free(ra);
        return;
    }
    if (resolve_source(ra->path, ra->path, &ra->src, ra->head, NULL) ||
        !(ra->ing = choose_ingester(&ra->src, opts->format, NULL)) ||
        (!ra->ing->read_ahead && ra->ing->hashes_source)) {
        readahead_free(ra);
        return;
    }
    ra->src.settings = opts->settings;
    ra->src.lenient = opts->lenient;
    if (ra->src.is_zip && zip_check(&ra->src, NULL) != 0) {
        readahead_free(ra); /* never read ahead in an archive its own ingest refuses */
        return;
    }
    ra->format = opts->format;
    if (!ra->ing->hashes_source)
        ra->hashing = pthread_create(&ra->hasher, NULL, readahead_hash, ra) == 0;
    if (ra->ing->read_ahead)
        ra->ahead = ra->ing->read_ahead(&ra->src);
    st->readahead = ra;
    st->readahead_free = readahead_free;
}

/* The read-ahead of `path` by `ing` with these options, if that is what was started (the
 * caller frees it); any other is dropped. */
static struct readahead *readahead_claim(struct store *st, const char *path,
                                         const struct ingester *ing,
                                         const insitu_ingest_options *opts)
{
    struct readahead *ra = st->readahead;
    st->readahead = NULL;
    if (ra && (strcmp(ra->path, path) != 0 || ra->ing != ing || ra->format != opts->format ||
               ra->src.settings != opts->settings || ra->src.lenient != opts->lenient)) {
        readahead_free(ra);
        ra = NULL;
    }
    return ra;
}

/* The source's checksum: the one read ahead when there is one, else computed now. */
static int checksum_ahead(struct readahead *ra, const struct source *src, char hex[65],
                          uint64_t *bytes, insitu_error *err)
{
    if (ra && ra->hashing) {
        pthread_join(ra->hasher, NULL);
        ra->hashing = 0;
        if (ra->checksum_rc == 0) {
            memcpy(hex, ra->checksum, 65);
            *bytes = ra->bytes;
            return 0;
        }
    }
    return checksum_source(src, hex, bytes, err);
}

/* Runs the ingester inside a transaction; on success the run is complete. With `hash`, the
 * checksum is computed as the source is read, and content already ingested under another
 * name is found only at the end: the transaction is then rolled back and *skipped set. */
static int ingest_in_tx(struct store *st, const struct ingester *ing, struct source *src,
                        struct run_info *ri, int64_t prev_run, struct sha256 *hash,
                        const insitu_ingest_options *opts, insitu_ingest_report *rep,
                        int64_t *skipped_as, char *detail, size_t detail_size,
                        insitu_error *err)
{
    int rc = st_begin_bulk(st, err);
    if (rc)
        return rc;
    int64_t run_id = 0;
    struct batch_writer bw;
    memset(&bw, 0, sizeof bw);
    rc = insert_run(st, ri, "running", NULL, &run_id, err);
    if (!rc)
        rc = bw_init(&bw, st, run_id, opts, src->name, err);
    bw.hash = hash;
    uint64_t deleted = 0;
    if (!rc)
        rc = ing->run(src, &bw, err);
    if (!rc && bw.nothing) { /* no run: what run() wrote goes, nothing is recorded */
        snprintf(rep->status, sizeof rep->status, "empty");
        snprintf(rep->message, sizeof rep->message, "%s", bw.nothing_why);
        rep->has_footprint = bw.has_footprint;
        memcpy(rep->footprint, bw.footprint, sizeof rep->footprint);
        bw_free(&bw);
        st_rollback(st);
        return 0;
    }
    /* the source is read: the next one is read while this one is written */
    if (!rc)
        readahead_start(st, opts);
    if (!rc)
        rc = bw_finish(&bw, err);
    if (!rc && hash) {
        rc = streamed_checksum(st, src, hash, ri, skipped_as, detail, detail_size, err);
        if (!rc && *skipped_as && !opts->force) {
            bw_free(&bw);
            st_rollback(st);
            return 0;
        }
        *skipped_as = 0;
    }
    if (!rc && bw.n_duplicates)
        bw_warn(&bw, "%s: %llu rows repeat the time of the row before them in the same series "
                     "(the last one is kept)",
                src->name, (unsigned long long)bw.n_duplicates);
    if (!rc && prev_run)
        rc = replace_previous(st, prev_run, run_id, &deleted, err);
    if (!rc) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s%s", prev_run ? "new version of the source" : "",
                 bw.n_warnings ? (prev_run ? "; warnings" : "warnings") : "");
        rc = finish_run(st, run_id, &bw, ri, deleted, prev_run, msg, err);
    }
    fill_report(rep, &bw);
    rep->deleted = deleted;
    rep->run_id = run_id;
    bw_free(&bw);
    if (rc || (opts && opts->dry_run)) {
        st_rollback(st);
        if (!rc) {
            snprintf(rep->status, sizeof rep->status, "validated");
            rep->run_id = 0;
        }
        return rc;
    }
    rc = st_commit(st, err);
    if (!rc)
        snprintf(rep->status, sizeof rep->status, "complete");
    return rc;
}

/* Records a skipped run (unless dry) and reports it. */
static int record_skip(struct store *st, const struct run_info *ri, const char *why,
                       const insitu_ingest_options *opts, insitu_ingest_report *rep,
                       insitu_error *err)
{
    snprintf(rep->status, sizeof rep->status, "skipped");
    snprintf(rep->message, sizeof rep->message, "%s", why);
    if (opts->dry_run)
        return 0;
    int rc = st_begin(st, err);
    if (!rc)
        rc = insert_run(st, ri, "skipped", why, &rep->run_id, err);
    if (!rc)
        rc = st_commit(st, err);
    else
        st_rollback(st);
    return rc;
}

int insitu_ingest_group_begin(insitu_store *store, insitu_error *err)
{
    return st_group_begin(&store->base, err);
}

int insitu_ingest_group_commit(insitu_store *store, insitu_error *err)
{
    return st_group_commit(&store->base, err);
}

/* Ingests a URL read in place through /vsicurl/ (opts->in_place): no download; the checksum
 * is a fingerprint of the URL and of the size, modification time and ETag the server gives. */
static int ingest_in_place(insitu_store *store, const char *uri,
                           const insitu_ingest_options *opts, insitu_ingest_report *rep,
                           insitu_error *err)
{
    gdal_drivers();
    struct strbuf path = {0};
    sb_printf(&path, "/vsicurl/%s", uri);
    /* no listing of the "folder" of the URL for side-car files: one range request less */
    char *saved = xstrdup(CPLGetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", NULL));
    CPLSetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
    VSIStatBufL sb;
    int rc = 0;
    CPLErrorReset();
    if (VSIStatL(sb_str(&path), &sb) != 0) {
        rc = insitu_error_set(err, INSITU_EIO, "%s: cannot read it in place (HTTP range "
                                               "requests): %s",
                              uri, CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg()
                                                       : "no file there, or no answer");
    } else {
        struct sha256 h;
        char hex[65], text[64];
        rc = sha256_init(&h) ? insitu_error_set(err, INSITU_ENOMEM, "out of memory") : 0;
        if (!rc) {
            sha256_update(&h, uri, strlen(uri));
            int n = snprintf(text, sizeof text, "\n%llu\n%lld\n", (unsigned long long)sb.st_size,
                             (long long)sb.st_mtime);
            sha256_update(&h, text, (size_t)n);
            /* the server's ETag, when it gives one, tells a changed file of the same size */
            char **headers = VSIGetFileMetadata(sb_str(&path), "HEADERS", NULL);
            const char *etag = CSLFetchNameValue(headers, "ETag");
            if (etag)
                sha256_update(&h, etag, strlen(etag));
            CSLDestroy(headers);
            sha256_final(&h, hex);
            rc = ingest_local_as(store, uri, sb_str(&path), hex, (uint64_t)sb.st_size, opts, rep,
                                 err);
        }
    }
    CPLSetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", saved);
    free(saved);
    sb_free(&path);
    return rc;
}

int insitu_ingest(insitu_store *store, const char *uri, const insitu_ingest_options *opts,
                  insitu_ingest_report *rep, insitu_error *err)
{
    if (!is_url(uri))
        return ingest_local_as(store, uri, uri, NULL, 0, opts, rep, err);
    if (opts && opts->in_place)
        return ingest_in_place(store, uri, opts, rep, err);
    insitu_ingest_report dummy;
    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    double t0 = now_seconds();
    struct fetch_result fr;
    int rc = fetch_url(uri, NULL, opts ? opts->fetch : NULL, &fr, err);
    if (!rc)
        rc = ingest_local_as(store, uri, fr.path, fr.checksum, fr.bytes, opts, rep, err);
    fetch_result_free(&fr);
    rep->seconds = now_seconds() - t0;
    return rc;
}

int ingest_local_as(insitu_store *store, const char *uri, const char *path,
                    const char *checksum, uint64_t bytes, const insitu_ingest_options *opts,
                    insitu_ingest_report *rep, insitu_error *err)
{
    struct store *st = &store->base;
    insitu_ingest_report dummy;
    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    double t0 = now_seconds();
    static const insitu_ingest_options no_opts;
    if (!opts)
        opts = &no_opts;
    struct source src;
    unsigned char head[4096];
    int rc = resolve_source(uri, path, &src, head, err);
    if (rc)
        return rc;
    src.settings = opts->settings;
    src.lenient = opts->lenient;
    if (src.is_zip && (rc = zip_check(&src, err)) != 0)
        return rc;
    const struct ingester *ing = choose_ingester(&src, opts->format, err);
    if (!ing)
        return err ? err->code : INSITU_EUNSUPPORTED;
    snprintf(rep->ingester, sizeof rep->ingester, "%s", ing->name);
    rc = check_settings(ing, opts->settings, err);
    if (rc)
        return rc;

    struct source_identity id = {{0}, {0}};
    if (ing->identify) {
        rc = ing->identify(&src, &id, err);
        if (rc)
            return rc;
    }
    if (!id.key[0]) {
        /* a URL is its own identity; a file's is its canonical path */
        char *real = is_url(uri) ? NULL : realpath(uri, NULL);
        snprintf(id.key, sizeof id.key, "%s", real ? real : uri);
        free(real);
    }
    char *settings = normalise_settings(opts->settings, opts->lenient);
    if (!settings)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    struct readahead *ra = readahead_claim(st, path, ing, opts);
    if (ra)
        src.ahead = ra->ahead;
    struct run_info ri = {uri,      id.key, id.version, ing->name, src.name, rep->checksum,
                          settings, 0,      wall_us()};
    int64_t same = 0, prev = 0;
    char detail[512] = "", prev_version[64] = "";
    const char *prev_params[] = {id.key, ing->name, NULL};
    rc = find_run(st, SLOT_RUN_PREVIOUS,
                  "SELECT id, source_version FROM ingest_runs WHERE source_key = ? AND "
                  "ingester = ? AND status = 'complete' ORDER BY id DESC LIMIT 1",
                  prev_params, &prev, prev_version, sizeof prev_version, err);
    /* A first ingest of a file by an ingester that reads it once hashes as it reads; else
     * the checksum comes first, so that an unchanged source costs one read. */
    struct sha256 stream_hash;
    int streaming = !rc && !checksum && ing->hashes_source && !src.is_dir && !prev &&
                    !opts->force && sha256_init(&stream_hash) == 0;
    if (!rc && !streaming) {
        if (checksum) { /* computed while downloading */
            snprintf(rep->checksum, sizeof rep->checksum, "%s", checksum);
            ri.bytes = bytes;
        } else {
            rc = checksum_ahead(ra, &src, rep->checksum, &ri.bytes, err);
        }
        if (!rc)
            rc = find_same_content(st, &ri, &same, detail, sizeof detail, err);
    }
    if (rc)
        goto out;
    if (!streaming) {
        const char *skip_why = NULL;
        char why[sizeof rep->message];
        if (same && !opts->force) {
            snprintf(why, sizeof why, "unchanged: same content as run %lld (%.400s)",
                     (long long)same, detail);
            skip_why = why;
        } else if (prev && !opts->force && id.version[0] && prev_version[0] &&
                   strcmp(id.version, prev_version) <= 0) {
            /* a versioned source (a SWOT granule) is replaced only by a newer version */
            int same_version = strcmp(id.version, prev_version) == 0;
            snprintf(why, sizeof why, "%s version %s %s run %lld (version %s)",
                     same_version ? "same" : "older", id.version, same_version ? "as" : "than",
                     (long long)prev, prev_version);
            skip_why = why;
        }
        if (skip_why) {
            rc = record_skip(st, &ri, skip_why, opts, rep, err);
            goto out;
        }
    }
    int64_t same_found_late = 0;
    rc = ingest_in_tx(st, ing, &src, &ri, prev, streaming ? &stream_hash : NULL, opts, rep,
                      &same_found_late, detail, sizeof detail, err);
    if (!rc && same_found_late) {
        char why[sizeof rep->message];
        snprintf(why, sizeof why, "unchanged: same content as run %lld (%.400s)",
                 (long long)same_found_late, detail);
        memset(rep, 0, offsetof(insitu_ingest_report, checksum));
        snprintf(rep->ingester, sizeof rep->ingester, "%s", ing->name);
        rc = record_skip(st, &ri, why, opts, rep, err);
    } else if (rc) {
        snprintf(rep->status, sizeof rep->status, "failed");
        if (!opts->dry_run)
            record_failure(st, &ri, err ? err->message : insitu_strerror(rc));
    } else if (prev && strcmp(rep->status, "empty") != 0) {
        snprintf(rep->message, sizeof rep->message, "replaces run %lld", (long long)prev);
    }
    if (streaming && stream_hash.ctx) { /* the ingest failed before the end of the file */
        char unused[65];
        sha256_final(&stream_hash, unused);
    }
out:
    readahead_free(ra);
    free(settings);
    rep->seconds = now_seconds() - t0;
    return rc;
}
