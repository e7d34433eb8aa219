/*
 * format.c: $resultFormat=CSV and $resultFormat=GeoJSON for collections, as FROST-Server
 * writes them. Each entity arrives as the JSON the read side wrote for it and leaves as one
 * CSV row (RFC 4180) or one GeoJSON Feature; numbers keep the JSON answer's digits. It runs
 * no SQL and keeps nothing of one entity for the next.
 */
#include "format.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

int sta_format_parse(const char *value)
{
    if (strcasecmp(value, "csv") == 0)
        return STA_FMT_CSV;
    if (strcasecmp(value, "geojson") == 0)
        return STA_FMT_GEOJSON;
    return -1;
}

const char *sta_format_name(enum sta_format f)
{
    return f == STA_FMT_CSV ? "CSV" : f == STA_FMT_GEOJSON ? "GeoJSON" : "JSON";
}

/* ==== a reader of JSON text the read side wrote (spans, no tree) ==== */

struct jspan {
    const char *p;
    size_t n;
};

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* The end of the JSON value starting at p, or NULL when it is malformed. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"') {
        for (p++; p < end; p++) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                return p + 1;
        }
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_value(p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    const char *start = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n')
        p++;
    return p > start ? p : NULL;
}

/* Members of an object (key with its quotes) or elements of an array (no key). */
struct jiter {
    const char *p, *end;
    int object;
};

static int jiter_open(struct jiter *it, struct jspan v)
{
    if (v.n < 2 || (v.p[0] != '{' && v.p[0] != '['))
        return -1;
    it->object = v.p[0] == '{';
    it->p = v.p + 1;
    it->end = v.p + v.n - 1;
    return 0;
}

/* 1 and the next member; 0 at the end; -1 when malformed. */
static int jiter_next(struct jiter *it, struct jspan *key, struct jspan *val)
{
    const char *p = skip_ws(it->p, it->end);
    if (p < it->end && *p == ',')
        p = skip_ws(p + 1, it->end);
    if (p >= it->end)
        return 0;
    if (it->object) {
        const char *k = skip_value(p, it->end);
        if (!k || *p != '"')
            return -1;
        key->p = p;
        key->n = (size_t)(k - p);
        p = skip_ws(k, it->end);
        if (p >= it->end || *p != ':')
            return -1;
        p = skip_ws(p + 1, it->end);
    }
    const char *e = skip_value(p, it->end);
    if (!e)
        return -1;
    val->p = p;
    val->n = (size_t)(e - p);
    it->p = e;
    return 1;
}

/* 1 when the key span (with quotes) is name. */
static int key_is(struct jspan key, const char *name)
{
    size_t n = strlen(name);
    return key.n == n + 2 && memcmp(key.p + 1, name, n) == 0;
}

static int key_ends(struct jspan key, const char *suffix)
{
    size_t n = strlen(suffix);
    return key.n >= n + 2 && memcmp(key.p + key.n - 1 - n, suffix, n) == 0;
}

/* The value of member name of object v; 0 when absent (or v is no object). */
static int member(struct jspan v, const char *name, struct jspan *out)
{
    struct jiter it;
    struct jspan k, val;
    if (v.n == 0 || v.p[0] != '{' || jiter_open(&it, v))
        return 0;
    while (jiter_next(&it, &k, &val) == 1)
        if (key_is(k, name)) {
            *out = val;
            return 1;
        }
    return 0;
}

static int is_null(struct jspan v) { return v.n == 4 && memcmp(v.p, "null", 4) == 0; }

/* ==== the formatter ==== */

enum { MAX_PATH = 12 };

/* A CSV column: its header and the keys that lead to its value in an entity's JSON (an
 * array on the way, an expanded to-many, stands for its first element). */
struct csv_col {
    char *header;
    const char *keys[MAX_PATH];
    int nkeys;
};

struct sta_fmt {
    enum sta_format kind;
    enum sta_type type;
    struct csv_col *cols;
    size_t ncols;
    int64_t rows;
    struct strbuf props; /* GeoJSON: the properties of the Feature being written */
};

static int add_col(struct sta_fmt *f, const char *prefix, const char *const *path, int depth,
                   const char *key, const char *sub, const char *header, insitu_error *err)
{
    struct csv_col *c = realloc(f->cols, (f->ncols + 1) * sizeof *c);
    if (!c)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    f->cols = c;
    c = &f->cols[f->ncols];
    memset(c, 0, sizeof *c);
    for (int i = 0; i < depth; i++)
        c->keys[c->nkeys++] = path[i];
    c->keys[c->nkeys++] = key;
    if (sub)
        c->keys[c->nkeys++] = sub;
    struct strbuf h = {0};
    sb_printf(&h, "%s%s", prefix, header);
    if (sub)
        sb_printf(&h, "/%s", sub);
    c->header = h.data;
    if (!c->header)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    f->ncols++;
    return 0;
}

static int add_prop_cols(struct sta_fmt *f, const struct sta_prop *p, const char *prefix,
                         const char *const *path, int depth, insitu_error *err)
{
    if (p->kind == SP_ID)
        return add_col(f, prefix, path, depth, "@iot.id", NULL, "id", err);
    if (p->kind != SP_UOM)
        return add_col(f, prefix, path, depth, p->name, NULL, p->name, err);
    static const char *const parts[] = {"name", "symbol", "definition"};
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++)
        rc = add_col(f, prefix, path, depth, p->name, parts[k], p->name, err);
    return rc;
}

/* The columns of type t under q: its selected properties (in $select's order, else the
 * model's), then those of each expansion, named <Nav>/<property>. */
static int csv_columns(struct sta_fmt *f, enum sta_type t, const struct sta_query *q,
                       const char *prefix, const char **path, int depth, insitu_error *err)
{
    const struct sta_type_def *def = sta_type_def(t);
    int rc = 0;
    if (q && q->n_select) {
        for (int i = 0; i < q->n_select && !rc; i++) {
            const char *n = q->select[i];
            const struct sta_prop *p = sta_prop_find(t, n, strlen(n));
            if (p)
                rc = add_prop_cols(f, p, prefix, path, depth, err);
        }
    } else {
        for (int i = 0; i < def->nprops && !rc; i++)
            rc = add_prop_cols(f, &def->props[i], prefix, path, depth, err);
    }
    for (int i = 0; q && i < q->n_expand && !rc; i++) {
        const struct sta_expand *x = &q->expand[i];
        const struct sta_nav *nav = sta_nav_find(t, x->nav, strlen(x->nav));
        if (!nav)
            continue; /* the read side's check names it */
        if (nav->many && x->q.top != 1)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$resultFormat=CSV: $expand=%s: an expanded collection "
                                    "gives one row per entity only with $top=1 (%s($top=1))",
                                    x->nav, x->nav);
        if (depth + 2 >= MAX_PATH)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$resultFormat=CSV: $expand is nested too deep");
        struct strbuf pre = {0};
        sb_printf(&pre, "%s%s/", prefix, nav->name);
        path[depth] = nav->name;
        rc = csv_columns(f, nav->target, &x->q, sb_str(&pre), path, depth + 1, err);
        sb_free(&pre);
    }
    return rc;
}

int sta_fmt_new(enum sta_format kind, enum sta_type type, const struct sta_query *q,
                struct sta_fmt **out, insitu_error *err)
{
    struct sta_fmt *f = calloc(1, sizeof *f);
    if (!f)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    f->kind = kind;
    f->type = type;
    const char *path[MAX_PATH];
    int rc = kind == STA_FMT_CSV ? csv_columns(f, type, q, "", path, 0, err) : 0;
    if (rc) {
        sta_fmt_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void sta_fmt_free(struct sta_fmt *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->ncols; i++)
        free(f->cols[i].header);
    free(f->cols);
    sb_free(&f->props);
    free(f);
}

const char *sta_fmt_content_type(const struct sta_fmt *f)
{
    return f->kind == STA_FMT_CSV ? "text/csv; charset=utf-8" : "application/geo+json";
}

void sta_fmt_begin(struct sta_fmt *f, struct strbuf *out, int64_t count)
{
    if (f->kind == STA_FMT_CSV) {
        for (size_t i = 0; i < f->ncols; i++) {
            if (i)
                sb_putc(out, ',');
            sb_put_csv_field(out, f->cols[i].header);
        }
        sb_puts(out, "\r\n");
        return;
    }
    sb_puts(out, "{\"type\":\"FeatureCollection\",");
    if (count >= 0)
        sb_printf(out, "\"@iot.count\":%lld,", (long long)count);
    sb_puts(out, "\"features\":[");
}

void sta_fmt_end(struct sta_fmt *f, struct strbuf *out, const char *next_link)
{
    if (f->kind == STA_FMT_CSV)
        return;
    sb_putc(out, ']');
    if (next_link) {
        sb_puts(out, ",\"@iot.nextLink\":");
        sb_put_json_string(out, next_link);
    }
    sb_putc(out, '}');
}

/* ---- CSV ---- */

/* One cell: null or absent is empty, a string its text, anything else its JSON text. */
static int csv_cell(struct strbuf *out, int found, struct jspan v)
{
    if (!found || is_null(v))
        return 0;
    if (v.p[0] != '"') {
        if (!memchr(v.p, ',', v.n) && !memchr(v.p, '"', v.n) && !memchr(v.p, '\n', v.n) &&
            !memchr(v.p, '\r', v.n))
            return sb_append(out, v.p, v.n);
        struct strbuf text = {0};
        int rc = sb_append(&text, v.p, v.n);
        if (!rc)
            rc = sb_put_csv_field(out, sb_str(&text));
        sb_free(&text);
        return rc;
    }
    json_t *s = json_loadb(v.p, v.n, JSON_DECODE_ANY, NULL);
    int rc = s && json_is_string(s) ? sb_put_csv_field(out, json_string_value(s)) : 0;
    json_decref(s);
    return rc;
}

static int csv_row(struct sta_fmt *f, struct jspan entity, struct strbuf *out)
{
    for (size_t i = 0; i < f->ncols; i++) {
        const struct csv_col *c = &f->cols[i];
        struct jspan v = entity;
        int found = 1;
        for (int k = 0; k < c->nkeys && found; k++) {
            if (v.n && v.p[0] == '[') { /* an expanded collection ($top=1): its first */
                struct jiter it;
                struct jspan key;
                found = jiter_open(&it, v) == 0 && jiter_next(&it, &key, &v) == 1;
            }
            found = found && member(v, c->keys[k], &v);
        }
        if (i)
            sb_putc(out, ',');
        csv_cell(out, found, v);
    }
    return sb_puts(out, "\r\n");
}

/* ---- GeoJSON ---- */

/* The geometry of a GeoJSON value: a geometry itself, or a Feature's geometry. */
static int geometry_of(struct jspan v, struct jspan *geom)
{
    struct jspan type;
    if (!member(v, "type", &type))
        return 0;
    if (key_is(type, "Feature"))
        return member(v, "geometry", geom) && !is_null(*geom);
    *geom = v;
    return 1;
}

struct gj {
    struct strbuf *props;
    int nprops;
    struct jspan geom;
    int has_geom;
};

static void gj_key(struct gj *g, const struct strbuf *key)
{
    sb_puts(g->props, g->nprops++ ? "," : "");
    sb_put_json_string(g->props, sb_str(key));
    sb_putc(g->props, ':');
}

/* The key of a member under prefix: prefix + the member's name (decoded). */
static void key_text(struct strbuf *out, const struct strbuf *prefix, struct jspan key)
{
    sb_reset(out);
    sb_puts(out, sb_str(prefix));
    json_t *s = json_loadb(key.p, key.n, JSON_DECODE_ANY, NULL);
    sb_puts(out, s && json_is_string(s) ? json_string_value(s) : "");
    json_decref(s);
}

/* A value as properties: objects and arrays flattened into <key>/<member>, <key>/<index>
 * (as FROST does); scalars as they are; null left out. */
static int gj_value(struct gj *g, const struct strbuf *key, struct jspan v)
{
    if (is_null(v))
        return 0;
    if (v.p[0] != '{' && v.p[0] != '[') {
        gj_key(g, key);
        return sb_append(g->props, v.p, v.n);
    }
    struct jiter it;
    struct jspan k, val;
    struct strbuf pre = {0}, sub = {0};
    sb_printf(&pre, "%s/", sb_str(key));
    int rc = jiter_open(&it, v), r = 0, idx = 0;
    while (!rc && (r = jiter_next(&it, &k, &val)) == 1) {
        if (it.object) {
            key_text(&sub, &pre, k);
        } else {
            sb_reset(&sub);
            sb_printf(&sub, "%s%d", sb_str(&pre), idx++);
        }
        rc = gj_value(g, &sub, val);
    }
    sb_free(&pre);
    sb_free(&sub);
    return rc ? rc : r < 0 ? -1 : 0;
}

/* The members of an entity of type t as properties under prefix; its first geometry (its
 * location or feature, else one of an expanded entity's) becomes the Feature's geometry. */
static int gj_entity(struct gj *g, enum sta_type t, struct jspan obj, const char *prefix)
{
    struct jiter it;
    struct jspan k, v;
    struct strbuf pre = {0}, key = {0};
    sb_puts(&pre, prefix);
    int rc = jiter_open(&it, obj), r = 0;
    while (!rc && (r = jiter_next(&it, &k, &v)) == 1) {
        if (key_ends(k, "@iot.navigationLink") || key_ends(k, "@iot.nextLink"))
            continue;
        if (key_is(k, "@iot.id")) {
            sb_reset(&key);
            sb_printf(&key, "%sid", prefix);
            rc = gj_value(g, &key, v);
            continue;
        }
        key_text(&key, &pre, k);
        const char *name = sb_str(&key) + strlen(prefix);
        const struct sta_prop *p = sta_prop_find(t, name, strlen(name));
        const struct sta_nav *nav = p ? NULL : sta_nav_find(t, name, strlen(name));
        if (p && p->kind == SP_GEO) {
            struct jspan geom;
            if (!g->has_geom && !is_null(v) && geometry_of(v, &geom)) {
                g->geom = geom;
                g->has_geom = 1;
                continue;
            }
        }
        if (!nav || is_null(v)) {
            rc = gj_value(g, &key, v);
            continue;
        }
        if (v.p[0] == '{') {
            sb_putc(&key, '/');
            rc = gj_entity(g, nav->target, v, sb_str(&key));
            continue;
        }
        struct jiter items;
        struct jspan none, item;
        int idx = 0;
        rc = jiter_open(&items, v);
        while (!rc && jiter_next(&items, &none, &item) == 1) {
            struct strbuf sub = {0};
            sb_printf(&sub, "%s/%d/", sb_str(&key), idx++);
            rc = gj_entity(g, nav->target, item, sb_str(&sub));
            sb_free(&sub);
        }
    }
    sb_free(&pre);
    sb_free(&key);
    return rc ? rc : r < 0 ? -1 : 0;
}

static int gj_feature(struct sta_fmt *f, struct jspan entity, struct strbuf *out)
{
    struct gj g = {&f->props, 0, {NULL, 0}, 0};
    sb_reset(&f->props);
    int rc = gj_entity(&g, f->type, entity, "");
    if (rc)
        return rc;
    struct jspan id;
    sb_puts(out, f->rows ? ",{\"type\":\"Feature\"" : "{\"type\":\"Feature\"");
    if (member(entity, "@iot.id", &id)) {
        sb_puts(out, ",\"id\":");
        sb_append(out, id.p, id.n);
    }
    sb_puts(out, ",\"geometry\":");
    if (g.has_geom)
        sb_append(out, g.geom.p, g.geom.n);
    else
        sb_puts(out, "null");
    sb_puts(out, ",\"properties\":{");
    sb_append(out, f->props.data ? f->props.data : "", f->props.len);
    return sb_puts(out, "}}");
}

int sta_fmt_row(struct sta_fmt *f, const char *json, size_t len, struct strbuf *out,
                insitu_error *err)
{
    struct jspan entity = {json, len};
    const char *end = json ? skip_value(json, json + len) : NULL;
    if (!end || json[0] != '{')
        return insitu_error_set(err, INSITU_EINVAL, "%s: not a JSON object",
                                sta_format_name(f->kind));
    int rc = f->kind == STA_FMT_CSV ? csv_row(f, entity, out) : gj_feature(f, entity, out);
    if (rc)
        return insitu_error_set(err, rc == INSITU_ENOMEM ? INSITU_ENOMEM : INSITU_EINVAL,
                                "%s: an entity's JSON could not be read",
                                sta_format_name(f->kind));
    f->rows++;
    return 0;
}
