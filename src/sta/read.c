/*
 * read.c: the SensorThings API v1.1 read side: query options, the SQL plan of a request (one
 * statement per collection, prepared once per connection), and the JSON answers with
 * @iot.id, @iot.selfLink, navigation links, @iot.count and @iot.nextLink; also the dataArray,
 * CSV and GeoJSON result formats and the aggregation extension. It never pastes request
 * text into SQL, and it writes nothing (write.c does); it uses conn.c only.
 */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "format.h"
#include "timeutil.h"
/* ==== writing JSON ==== */

/* Per type, the fixed text around an entity's links, made once per request:
 * ,"@iot.selfLink":"<base>/<Set>(   and   ,"<Nav>@iot.navigationLink":"<base>/<Set>( */
struct link_tpl {
    int ready;
    struct strbuf self;
    struct strbuf nav[6];
};

struct wctx {
    struct sta_conn *c;
    const char *base; /* ".../v1.1" */
    struct strbuf *sb;
    insitu_error *err;
    size_t base_len;
    struct link_tpl tpl[STA_NTYPES];
};

static void wctx_free(struct wctx *w)
{
    for (int t = 0; t < STA_NTYPES; t++) {
        sb_free(&w->tpl[t].self);
        for (int k = 0; k < 6; k++)
            sb_free(&w->tpl[t].nav[k]);
    }
}

static const struct link_tpl *link_templates(struct wctx *w, enum sta_type t)
{
    struct link_tpl *tp = &w->tpl[t];
    if (tp->ready)
        return tp;
    const struct sta_type_def *def = sta_type_def(t);
    sb_printf(&tp->self, ",\"@iot.selfLink\":\"%s/%s(", w->base, def->set);
    for (int k = 0; k < def->nnavs && k < 6; k++)
        sb_printf(&tp->nav[k], ",\"%s@iot.navigationLink\":\"%s/%s(", def->navs[k].name,
                  w->base, def->set);
    tp->ready = 1;
    return tp;
}

/* An integer, without printf (a page of observations writes hundreds). */
static void put_int(struct strbuf *sb, int64_t v)
{
    char buf[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do
        buf[sizeof buf - 1 - n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        buf[sizeof buf - 1 - n++] = '-';
    sb_append(sb, buf + sizeof buf - n, (size_t)n);
}

/* Times hold nothing to escape: quoted as they are. */
static void put_time(struct strbuf *sb, int64_t us)
{
    char b[48];
    b[0] = '"';
    time_format_iso(us, b + 1, sizeof b - 2);
    size_t n = strlen(b);
    b[n] = '"';
    sb_append(sb, b, n + 1);
}

static void put_period(struct strbuf *sb, int64_t start, int64_t end)
{
    char b[100];
    if (start == INSITU_TIME_NONE) {
        sb_append(sb, "null", 4);
        return;
    }
    b[0] = '"';
    time_format_interval(start, end, b + 1, sizeof b - 2);
    size_t n = strlen(b);
    b[n] = '"';
    sb_append(sb, b, n + 1);
}

static void put_double(struct strbuf *sb, double v)
{
    if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
        sb_puts(sb, "null");
    else
        sb_put_double(sb, v);
}

/* Text that may hold JSON: printed as JSON when it is an object or array. */
static void put_anyjson(struct strbuf *sb, const char *s)
{
    if (!s)
        sb_puts(sb, "null");
    else if (s[0] == '{' || s[0] == '[')
        sb_puts(sb, s);
    else
        sb_put_json_string(sb, s);
}

static void put_text_or_null(struct strbuf *sb, const char *s)
{
    if (s && *s)
        sb_put_json_string(sb, s);
    else
        sb_puts(sb, "null");
}

static int prop_is_null(struct stmt *s, const struct sta_prop *p)
{
    switch (p->kind) {
    case SP_RESULT: return st_col_is_null(s, p->idx) && st_col_is_null(s, p->idx + 1);
    case SP_UOM: return 0;
    default:
        return st_col_is_null(s, p->idx) &&
               (!(p->flags & SPF_TEXTREF) || st_col_is_null(s, p->idx + 1));
    }
}

/* The text of a text property (NULL: null): its column, or the text of its obs_texts id
 * (SPF_TEXTREF), valid until the next call. */
static int prop_text(struct wctx *w, struct stmt *s, const struct sta_prop *p, const char **text)
{
    int null = st_col_is_null(s, p->idx);
    if (null && (p->flags & SPF_TEXTREF) && !st_col_is_null(s, p->idx + 1))
        return store_text_of(w->c->st, st_col_int64(s, p->idx + 1), text, w->err);
    *text = null ? NULL : st_col_text(s, p->idx);
    return 0;
}

static int put_prop(struct wctx *w, struct strbuf *sb, struct stmt *s, const struct sta_prop *p)
{
    int i = p->idx;
    const char *text;
    switch (p->kind) {
    case SP_ID: put_int(sb, st_col_int64(s, i)); break;
    case SP_TEXT:
        if (st_col_is_null(s, i))
            sb_puts(sb, "null");
        else
            sb_put_json_string(sb, st_col_text(s, i));
        break;
    case SP_OBJECT:
    case SP_GEO:
    case SP_ANYJSON: {
        int rc = prop_text(w, s, p, &text);
        if (rc)
            return rc;
        if (p->kind == SP_ANYJSON)
            put_anyjson(sb, text);
        else
            sb_puts(sb, text ? text : "null");
        break;
    }
    case SP_TIME:
        if (st_col_is_null(s, i))
            sb_puts(sb, "null");
        else
            put_time(sb, st_col_int64(s, i));
        break;
    case SP_PERIOD: put_period(sb, st_col_time(s, i), st_col_time(s, i + 1)); break;
    case SP_RESULT:
        if (!st_col_is_null(s, i))
            put_double(sb, st_col_double(s, i));
        else
            sb_puts(sb, st_col_is_null(s, i + 1) ? "null" : st_col_text(s, i + 1));
        break;
    case SP_UOM:
        sb_puts(sb, "{\"name\":");
        put_text_or_null(sb, st_col_text(s, i));
        sb_puts(sb, ",\"symbol\":");
        put_text_or_null(sb, st_col_text(s, i + 1));
        sb_puts(sb, ",\"definition\":");
        put_text_or_null(sb, st_col_text(s, i + 2));
        sb_puts(sb, "}");
        break;
    }
    return 0;
}

static int in_select(const struct sta_query *q, const char *name)
{
    for (int i = 0; q && i < q->n_select; i++)
        if (strcmp(q->select[i], name) == 0 ||
            (strcmp(name, "id") == 0 && strcmp(q->select[i], "@iot.id") == 0))
            return 1;
    return 0;
}

static int selected(const struct sta_query *q, const char *name)
{
    return !q || q->n_select == 0 || in_select(q, name);
}

/* ,"<key><suffix>": in one append (keys are model names: nothing to escape) */
static void put_key(struct strbuf *sb, int *first, const char *key, const char *suffix)
{
    char buf[128];
    size_t n = 0, k = strlen(key), x = strlen(suffix);
    if (k + x + 4 > sizeof buf)
        k = x = 0;
    if (!*first)
        buf[n++] = ',';
    *first = 0;
    buf[n++] = '"';
    memcpy(buf + n, key, k);
    n += k;
    memcpy(buf + n, suffix, x);
    n += x;
    buf[n++] = '"';
    buf[n++] = ':';
    sb_append(sb, buf, n);
}

/* "<base>/<set>(<id>)[/<nav>]" as a JSON string (the base and the names need no escaping:
 * request_base() in http.c only lets URL characters through). */
static void put_link(struct wctx *w, const char *set, int64_t id, const char *nav)
{
    struct strbuf *sb = w->sb;
    char buf[128], digits[24];
    size_t n = 0, ns = strlen(set), nn = nav ? strlen(nav) : 0;
    int nd = 0;
    uint64_t u = id < 0 ? 0 : (uint64_t)id;
    do
        digits[nd++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    sb_putc(sb, '"');
    sb_append(sb, w->base, w->base_len);
    buf[n++] = '/';
    memcpy(buf + n, set, ns);
    n += ns;
    buf[n++] = '(';
    while (nd)
        buf[n++] = digits[--nd];
    buf[n++] = ')';
    if (nav) {
        buf[n++] = '/';
        memcpy(buf + n, nav, nn);
        n += nn;
    }
    buf[n++] = '"';
    sb_append(sb, buf, n);
}

/* ---- collections ---- */

struct collq {
    enum sta_type type;
    int has_parent;
    enum sta_type ptype;
    int64_t pid;
    const struct sta_nav *pnav;
    const struct sta_query *q;
};

static int64_t eff_top(const struct sta_conn *c, const struct sta_query *q)
{
    if (!q || q->top < 0)
        return c->svc->cfg.default_top;
    return q->top > c->svc->cfg.max_top ? c->svc->cfg.max_top : q->top;
}

static int64_t eff_skip(const struct sta_query *q) { return q && q->skip > 0 ? q->skip : 0; }

/* A MultiDatastream's ObservedProperties: one row per member (an ObservedProperty may be
 * two of them), ordered by m.position. */
static int md_members(const struct collq *cq)
{
    return cq->type == STA_PROPERTY && cq->has_parent && cq->ptype == STA_MDS;
}

/* " FROM <table> e[, <parent> s] WHERE ... [AND (filter)]" */
static int coll_from(struct wctx *w, const struct collq *cq, struct sqlfrag *f)
{
    const struct sta_type_def *def = sta_type_def(cq->type);
    frag_printf(f, " FROM %s e", def->table);
    if (md_members(cq)) {
        frag_puts(f, ", datastreams s, multi_datastream_properties m WHERE s.id = ");
        frag_int(f, cq->pid);
        frag_puts(f, " AND s.multi = 1 AND m.datastream_id = s.id AND e.id = "
                     "m.observed_property_id");
    } else if (cq->has_parent) {
        frag_printf(f, ", %s s WHERE s.id = ", sta_type_def(cq->ptype)->table);
        frag_int(f, cq->pid);
        frag_puts(f, " AND ");
        frag_printf(f, cq->pnav->cond, "s", "e");
    } else {
        frag_puts(f, " WHERE 1 = 1");
        sta_where_sql(&f->sql, cq->type, "e");
    }
    if (cq->q && cq->q->filter) {
        frag_puts(f, " AND ");
        return filter_sql(cq->q->filter, cq->type, "e", w->c->st->dialect, w->c->now_us, f,
                          w->err);
    }
    return 0;
}

static int run_int64(struct wctx *w, const struct sqlfrag *f, int64_t *out)
{
    struct stmt *s;
    int rc = sta_prepare(w->c, sb_str(&f->sql), &s, w->err);
    if (rc)
        return rc;
    int idx = 1;
    frag_bind(f, s, &idx);
    rc = st_step(s, w->err);
    *out = rc == 1 && !st_col_is_null(s, 0) ? st_col_int64(s, 0) : 0;
    sta_release(w->c, s);
    return rc < 0 ? rc : 0;
}

static int coll_count(struct wctx *w, const struct collq *cq, int64_t *n)
{
    struct sqlfrag f = {0};
    int rc;
    int no_filter = !cq->q || !cq->q->filter;
    if (cq->type == STA_OBSERVATION && no_filter &&
        (!cq->has_parent || cq->ptype == STA_DATASTREAM || cq->ptype == STA_MDS)) {
        /* the per-datastream summaries count observations without a scan */
        if (cq->has_parent) {
            frag_puts(&f, "SELECT n_obs FROM datastreams WHERE id = ");
            frag_int(&f, cq->pid);
        } else {
            frag_puts(&f, "SELECT coalesce(sum(n_obs), 0) FROM datastreams");
        }
        rc = 0;
    } else {
        frag_puts(&f, "SELECT count(*)");
        rc = coll_from(w, cq, &f);
    }
    if (!rc)
        rc = run_int64(w, &f, n);
    frag_free(&f);
    return rc;
}

/* 1 when keys start with a bare phenomenonTime (with seq, unique within one Datastream). */
static int orders_by_time(const struct sta_query *q)
{
    if (!q || !q->n_orderby)
        return 0;
    const struct fexpr *e = q->orderby[0].expr;
    return e->kind == FX_PATH && e->nsegs == 1 && strcmp(e->segs[0], "phenomenonTime") == 0;
}

/* Prepares the page query of a collection: top + 1 rows from skip. */
static int coll_open(struct wctx *w, const struct collq *cq, int64_t top, int64_t skip,
                     struct stmt **out)
{
    const struct sta_type_def *def = sta_type_def(cq->type);
    struct sqlfrag f = {0};
    frag_puts(&f, "SELECT ");
    sta_select_sql(def, w->c->st->dialect, &f.sql);
    int rc = coll_from(w, cq, &f);
    int series = cq->type == STA_OBSERVATION && cq->has_parent &&
                 (cq->ptype == STA_DATASTREAM || cq->ptype == STA_MDS);
    /* a MultiDatastream's ObservedProperties come in their order */
    int members = md_members(cq);
    /* stable pages: a total order. A series reads in time order; other Observations by
     * (Datastream, time, seq), their key, which both backends read in order (PostgreSQL
     * has no ordered index on the ids of its partitioned table); other entities by id. */
    const char *total = series    ? "e.phenomenon_start ASC, e.seq ASC"
                        : members ? "m.position ASC"
                        : cq->type == STA_OBSERVATION
                            ? "e.datastream_id ASC, e.phenomenon_start ASC, e.seq ASC"
                            : "e.id ASC";
    if (!rc) {
        frag_puts(&f, " ORDER BY ");
        if (cq->q && cq->q->n_orderby) {
            int unique;
            rc = orderby_sql(cq->q->orderby, cq->q->n_orderby, cq->type, "e",
                             w->c->st->dialect, w->c->now_us, &f, &unique, w->err);
            /* a series by phenomenonTime: its key's order, seq the same way (several
             * Observations may start at one time) */
            if (!rc && series && orders_by_time(cq->q))
                frag_puts(&f, cq->q->orderby[0].desc ? ", e.seq DESC" : ", e.seq ASC");
            else if (!rc && !unique)
                frag_printf(&f, ", %s", total);
        } else {
            frag_puts(&f, total);
        }
    }
    if (!rc) {
        frag_puts(&f, " LIMIT ");
        frag_int(&f, top + 1);
        frag_puts(&f, " OFFSET ");
        frag_int(&f, skip);
        struct stmt *s;
        rc = sta_prepare(w->c, sb_str(&f.sql), &s, w->err);
        if (!rc) {
            int idx = 1;
            frag_bind(&f, s, &idx);
            *out = s;
        }
    }
    frag_free(&f);
    return rc;
}

/* ---- serialising options back into links ---- */

static void expand_text(struct strbuf *sb, const struct sta_query *q);

/* The options of q (as given) with top/skip, joined by sep; encoded for a query string when
 * encode is set. */
static void options_text(struct strbuf *sb, const struct sta_query *q, int64_t top,
                         int64_t skip, const char *sep, int encode)
{
    static const char *const names[] = {"$filter", "$orderby", "$select"};
    int first = 1;
    for (int i = 0; i < 3; i++) {
        if (!q || !q->text[i])
            continue;
        sb_printf(sb, "%s%s=", first ? "" : sep, names[i]);
        if (encode)
            sta_url_encode(sb, q->text[i]);
        else
            sb_puts(sb, q->text[i]);
        first = 0;
    }
    if (q && q->n_expand) {
        struct strbuf ex = {0};
        expand_text(&ex, q);
        sb_printf(sb, "%s$expand=", first ? "" : sep);
        if (encode)
            sta_url_encode(sb, sb_str(&ex));
        else
            sb_puts(sb, sb_str(&ex));
        sb_free(&ex);
        first = 0;
    }
    if (q && q->count == 1) {
        sb_printf(sb, "%s$count=true", first ? "" : sep);
        first = 0;
    }
    if (top >= 0) {
        sb_printf(sb, "%s$top=%lld", first ? "" : sep, (long long)top);
        first = 0;
    }
    if (skip > 0)
        sb_printf(sb, "%s$skip=%lld", first ? "" : sep, (long long)skip);
}

static void expand_text(struct strbuf *sb, const struct sta_query *q)
{
    for (int i = 0; i < q->n_expand; i++) {
        const struct sta_expand *x = &q->expand[i];
        sb_printf(sb, "%s%s", i ? "," : "", x->nav);
        struct strbuf inner = {0};
        options_text(&inner, &x->q, x->q.top, x->q.skip, ";", 0);
        if (inner.len)
            sb_printf(sb, "(%s)", sb_str(&inner));
        sb_free(&inner);
    }
}

/* "<base>/<path>?<options>&$top=..&$skip=..<extra>" as a JSON string. */
static void put_next_link(struct wctx *w, const char *path, const struct sta_query *q,
                          int64_t top, int64_t skip, const char *extra)
{
    struct strbuf url = {0};
    sb_printf(&url, "%s/%s?", w->base, path);
    options_text(&url, q, top, skip, "&", 1);
    if (extra)
        sb_puts(&url, extra);
    sb_put_json_string(w->sb, sb_str(&url));
    sb_free(&url);
}

/* ---- entities ---- */

static int write_entity(struct wctx *w, enum sta_type t, struct stmt *s,
                        const struct sta_query *q);

/* The largest answer built in memory (sta_config.max_answer): a deeper $expand or a larger
 * page is refused with a message saying how to ask for less. */
#define STA_MAX_ANSWER (w->c->svc->cfg.max_answer)

static int too_large(struct wctx *w)
{
    return insitu_error_set(w->err, INSITU_EINVAL,
                            "the answer would be larger than %zu KiB: ask for fewer entities "
                            "($top, $filter) or expand less ($expand)",
                            STA_MAX_ANSWER >> 10);
}

/* "[...]": up to top entities (or their selfLinks); *more when there are others after. */
static int write_items(struct wctx *w, const struct collq *cq, int64_t top, int64_t skip,
                       int ref, int *more)
{
    *more = 0;
    struct stmt *s = NULL;
    int rc = coll_open(w, cq, top, skip, &s);
    if (rc)
        return rc;
    const struct sta_type_def *def = sta_type_def(cq->type);
    sb_putc(w->sb, '[');
    int64_t n = 0;
    while ((rc = st_step(s, w->err)) == 1) {
        if (n == top) {
            *more = 1;
            break;
        }
        if (n++)
            sb_putc(w->sb, ',');
        if (ref) {
            sb_puts(w->sb, "{\"@iot.selfLink\":");
            put_link(w, def->set, st_col_int64(s, 0), NULL);
            sb_putc(w->sb, '}');
        } else if ((rc = write_entity(w, cq->type, s, cq->q))) {
            break;
        }
        if (w->sb->len > STA_MAX_ANSWER) {
            rc = too_large(w);
            break;
        }
    }
    sta_release(w->c, s);
    if (rc < 0)
        return rc;
    sb_putc(w->sb, ']');
    return 0;
}

static int write_expansion(struct wctx *w, enum sta_type t, int64_t id,
                           const struct sta_nav *nav, const struct sta_expand *x, int *first)
{
    struct collq cq = {nav->target, 1, t, id, nav, &x->q};
    if (!nav->many) {
        struct stmt *s = NULL;
        int rc = coll_open(w, &cq, 1, 0, &s);
        if (rc)
            return rc;
        put_key(w->sb, first, nav->name, "");
        rc = st_step(s, w->err);
        if (rc == 1)
            rc = write_entity(w, nav->target, s, &x->q);
        else if (rc == 0)
            sb_puts(w->sb, "null");
        sta_release(w->c, s);
        return rc < 0 ? rc : 0;
    }
    if (x->q.count == 1) {
        int64_t n;
        int rc = coll_count(w, &cq, &n);
        if (rc)
            return rc;
        put_key(w->sb, first, nav->name, "@iot.count");
        sb_printf(w->sb, "%lld", (long long)n);
    }
    int64_t top = eff_top(w->c, &x->q), skip = eff_skip(&x->q);
    put_key(w->sb, first, nav->name, "");
    int more;
    int rc = write_items(w, &cq, top, skip, 0, &more);
    if (!rc && more && top > 0) {
        char path[160];
        snprintf(path, sizeof path, "%s(%lld)/%s", sta_type_def(t)->set, (long long)id,
                 nav->name);
        put_key(w->sb, first, nav->name, "@iot.nextLink");
        put_next_link(w, path, &x->q, top, skip + top, NULL);
    }
    return rc;
}

static int write_entity(struct wctx *w, enum sta_type t, struct stmt *s,
                        const struct sta_query *q)
{
    const struct sta_type_def *def = sta_type_def(t);
    int64_t id = st_col_int64(s, 0);
    struct strbuf *sb = w->sb;
    int first = 1;
    const struct link_tpl *tp = link_templates(w, t);
    if (selected(q, "id")) {
        sb_append(sb, "{\"@iot.id\":", 11);
        put_int(sb, id);
        sb_append(sb, tp->self.data, tp->self.len);
        put_int(sb, id);
        sb_append(sb, ")\"", 2);
        first = 0;
    } else {
        sb_putc(sb, '{');
    }
    for (int i = 1; i < def->nprops; i++) {
        const struct sta_prop *p = &def->props[i];
        if (!selected(q, p->name))
            continue;
        if (!(p->flags & SPF_ALWAYS) && !in_select(q, p->name) && prop_is_null(s, p))
            continue;
        put_key(sb, &first, p->name, "");
        int rc = put_prop(w, sb, s, p);
        if (rc)
            return rc;
    }
    for (int i = 0; i < def->nnavs; i++) {
        const struct sta_nav *nav = &def->navs[i];
        const struct sta_expand *x = NULL;
        for (int k = 0; q && k < q->n_expand && !x; k++)
            if (strcmp(q->expand[k].nav, nav->name) == 0)
                x = &q->expand[k];
        if (x) {
            int rc = write_expansion(w, t, id, nav, x, &first);
            if (rc)
                return rc;
        } else if (selected(q, nav->name)) {
            /* the template starts with ','; the first member of an object has none */
            const struct strbuf *pre = &tp->nav[i];
            sb_append(sb, pre->data + first, pre->len - (size_t)first);
            first = 0;
            put_int(sb, id);
            sb_append(sb, ")/", 2);
            sb_puts(sb, nav->name);
            sb_putc(sb, '"');
        }
    }
    sb_putc(sb, '}');
    return 0;
}

/* Opens the row of one entity; 0 and *s NULL when there is none. */
static int entity_open(struct wctx *w, enum sta_type t, int64_t id, struct stmt **out)
{
    const struct sta_type_def *def = sta_type_def(t);
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT ");
    sta_select_sql(def, w->c->st->dialect, &sql);
    sb_printf(&sql, " FROM %s e WHERE e.id = ?", def->table);
    sta_where_sql(&sql, t, "e");
    struct stmt *s;
    int rc = sql.data ? sta_prepare(w->c, sql.data, &s, w->err)
                      : insitu_error_set(w->err, INSITU_ENOMEM, "out of memory");
    sb_free(&sql);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    rc = st_step(s, w->err);
    if (rc == 1) {
        *out = s;
        return 0;
    }
    sta_release(w->c, s);
    *out = NULL;
    return rc;
}

static void fail_with(struct sta_response *resp, const insitu_error *err, int rc)
{
    int code = err->code ? err->code : rc;
    sta_error(resp, sta_status_of(code), "%s",
              err->message[0] ? err->message : insitu_strerror(code));
}

void sta_base_of(struct strbuf *sb, const char *base)
{
    sb_printf(sb, "%s%s", base ? base : "", STA_VERSION_PATH);
}

void sta_write_entity_response(struct sta_conn *c, enum sta_type type, int64_t id,
                               const char *base, int status, struct sta_response *resp)
{
    insitu_error err = {0};
    struct strbuf b = {0};
    sta_base_of(&b, base);
    sb_reset(&resp->body);
    struct wctx w = {c, sb_str(&b), &resp->body, &err, b.len, {{0}}};
    struct stmt *s = NULL;
    int rc = entity_open(&w, type, id, &s);
    if (!rc && !s) {
        sta_error(resp, 404, "%s(%lld): no such entity", sta_type_def(type)->set,
                  (long long)id);
    } else if (!rc) {
        rc = write_entity(&w, type, s, NULL);
        sta_release(c, s);
    }
    if (rc) {
        fail_with(resp, &err, rc);
    } else if (s) {
        resp->status = status;
        resp->content_type = "application/json; charset=utf-8";
    }
    wctx_free(&w);
    sb_free(&b);
}

/* ==== request-level checks ==== */

static int check_query(const struct sta_query *q, enum sta_type t, insitu_error *err)
{
    const struct sta_type_def *def = sta_type_def(t);
    for (int i = 0; i < q->n_select; i++) {
        const char *n = q->select[i];
        if (!sta_prop_find(t, n, strlen(n)) && !sta_nav_find(t, n, strlen(n)))
            return insitu_error_set(err, INSITU_EINVAL, "$select: %s has no property '%.60s'",
                                    def->name, n);
    }
    for (int i = 0; i < q->n_expand; i++) {
        const struct sta_expand *x = &q->expand[i];
        const struct sta_nav *nav = sta_nav_find(t, x->nav, strlen(x->nav));
        if (!nav)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$expand: at character %d: %s has no navigation property "
                                    "'%.60s'",
                                    x->pos, def->name, x->nav);
        int rc = check_query(&x->q, nav->target, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The request's options, beyond those sta_query holds. */
struct extras {
    int data_array;
    enum sta_format format; /* CSV, GeoJSON (format.c), or JSON */
    const char *aggregate, *stat;
};

static int gather_options(const struct sta_request *req, struct sta_query *q,
                          struct extras *x, insitu_error *err)
{
    memset(x, 0, sizeof *x);
    for (size_t i = 0; i < req->nparams; i++) {
        const char *k = req->params[i].key, *v = req->params[i].value;
        int rc = 0;
        if (strcmp(k, "$resultFormat") == 0) {
            int f = sta_format_parse(v);
            if (f < 0 && strcmp(v, "dataArray") != 0)
                return insitu_error_set(err, INSITU_EUNSUPPORTED,
                                        "$resultFormat: '%.40s' is not supported (dataArray, "
                                        "CSV and GeoJSON are)",
                                        v);
            x->data_array = f < 0;
            x->format = f < 0 ? STA_FMT_JSON : (enum sta_format)f;
        } else if (strcmp(k, "aggregate") == 0) {
            x->aggregate = v;
        } else if (strcmp(k, "stat") == 0) {
            x->stat = v;
        } else if (strcmp(k, "$format") == 0) {
            if (strcmp(v, "json") && strcmp(v, "application/json"))
                return insitu_error_set(err, INSITU_EUNSUPPORTED,
                                        "$format: only json is supported");
        } else if (k[0] == '$') {
            rc = sq_parse_option(q, k, v, 0, err);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ==== answers ==== */

static void answer_root(struct sta_conn *c, const char *base, struct sta_response *resp)
{
    static const enum sta_type order[] = {STA_DATASTREAM, STA_FEATURE,     STA_HLOC,
                                          STA_LOCATION,   STA_MDS,         STA_PROPERTY,
                                          STA_OBSERVATION, STA_SENSOR,     STA_THING};
    struct strbuf *sb = &resp->body;
    sb_puts(sb, "{\"value\":[");
    for (size_t i = 0; i < ARRAY_LEN(order); i++) {
        const char *set = sta_type_def(order[i])->set;
        sb_printf(sb, "%s{\"name\":\"%s\",\"url\":", i ? "," : "", set);
        struct strbuf url = {0};
        sb_printf(&url, "%s/%s", base, set);
        sb_put_json_string(sb, sb_str(&url));
        sb_free(&url);
        sb_puts(sb, "}");
    }
    sb_puts(sb, "],\"serverSettings\":{\"conformance\":["
                "\"http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel\","
                "\"http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/"
                "resource-path-to-entities\","
                "\"http://www.opengis.net/spec/iot_sensing/1.1/req/request-data\","
                "\"http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete\","
                "\"http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array\","
                "\"http://www.opengis.net/spec/iot_sensing/1.1/req/batch-request/batch-request\","
                "\"http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream\","
                "\"https://fraunhoferiosb.github.io/FROST-Server/extensions/JsonBatchRequest.html\"");
    /* OGC 18-088 8.2.1: the MQTT classes, each with the endpoints it is reached at */
    static const char *const mqtt_classes[] = {
        "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/"
        "receive-updates",
        "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/"
        "observations-creation"};
    const struct sta_config *cfg = &c->svc->cfg;
    int n_mqtt = !cfg->mqtt_endpoint ? 0 : cfg->mqtt_creates ? 2 : 1;
    for (int i = 0; i < n_mqtt; i++)
        sb_printf(sb, ",\"%s\"", mqtt_classes[i]);
    sb_puts(sb, "]");
    for (int i = 0; i < n_mqtt; i++) {
        sb_printf(sb, ",\"%s\":{\"endpoints\":[", mqtt_classes[i]);
        sb_put_json_string(sb, cfg->mqtt_endpoint);
        sb_puts(sb, "]}");
    }
    sb_puts(sb, "}}");
    resp->status = 200;
}

/* The member of a JSON object at path, its steps split by '/', each a key and any array
 * indexes ("objArray[0]/string", "intIntArray[1][0]"); NULL when it is not there. *key
 * becomes the last step, as written, the name the answer gives it. */
static json_t *json_member_at(json_t *obj, const char *path, const char **key)
{
    *key = path;
    json_t *v = obj;
    for (const char *step = path; v && *step;) {
        *key = step;
        size_t n = strcspn(step, "[/");
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)n, step);
        v = json_is_object(v) ? json_object_get(v, name) : NULL;
        step += n;
        while (v && *step == '[') {
            char *end;
            unsigned long i = strtoul(step + 1, &end, 10);
            if (end == step + 1 || *end != ']') {
                v = NULL;
                break;
            }
            v = json_is_array(v) ? json_array_get(v, i) : NULL;
            step = end + 1;
        }
        if (*step == '/')
            step++;
        else if (*step)
            v = NULL;
    }
    return v;
}

/* A property of an entity: {"name": value}, or the raw value with $value. */
static int answer_property(struct wctx *w, const struct sta_target *t,
                           struct sta_response *resp)
{
    struct stmt *s = NULL;
    int rc = entity_open(w, t->type, t->id, &s);
    if (rc)
        return rc;
    if (!s) {
        sta_error(resp, 404, "%s(%lld): no such entity", sta_type_def(t->type)->set,
                  (long long)t->id);
        return 0;
    }
    const struct sta_prop *p = t->prop;
    struct strbuf val = {0};
    const char *key = p->name;
    char subkey[160];
    int is_null = prop_is_null(s, p);
    if (t->sub[0] && p->kind == SP_UOM) {
        int k = strcmp(t->sub, "name") == 0       ? 0
                : strcmp(t->sub, "symbol") == 0     ? 1
                : strcmp(t->sub, "definition") == 0 ? 2
                                                    : -1;
        if (k < 0) {
            sta_release(w->c, s);
            sta_error(resp, 404, "unitOfMeasurement has no '%.60s'", t->sub);
            return 0;
        }
        const char *v = st_col_text(s, p->idx + k);
        is_null = !v || !*v;
        put_text_or_null(&val, v);
        key = t->sub;
    } else if (t->sub[0] == '[' && p->kind == SP_RESULT) {
        /* result[N]: a value of an array result */
        const char *text = st_col_is_null(s, p->idx + 1) ? NULL : st_col_text(s, p->idx + 1);
        json_t *arr = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
        json_t *member = json_array_get(arr, strtoul(t->sub + 1, NULL, 10));
        is_null = !member || json_is_null(member);
        if (!is_null) {
            char *dump = json_dumps(member, JSON_COMPACT | JSON_ENCODE_ANY);
            sb_puts(&val, dump ? dump : "null");
            free(dump);
        }
        json_decref(arr);
        snprintf(subkey, sizeof subkey, "result%s", t->sub);
        key = subkey;
    } else if (t->sub[0]) {
        /* properties/<key>: a member of the JSON object */
        const char *text = NULL;
        int rc = prop_text(w, s, p, &text);
        if (rc) {
            sta_release(w->c, s);
            sb_free(&val);
            return rc;
        }
        json_t *obj = text ? json_loads(text, 0, NULL) : NULL;
        json_t *member = json_member_at(obj, t->sub, &key);
        is_null = !member || json_is_null(member);
        if (!is_null) {
            char *text = json_dumps(member, JSON_COMPACT | JSON_ENCODE_ANY);
            sb_puts(&val, text ? text : "null");
            free(text);
        }
        json_decref(obj);
    } else {
        int rc = put_prop(w, &val, s, p);
        if (rc) {
            sta_release(w->c, s);
            sb_free(&val);
            return rc;
        }
    }
    sta_release(w->c, s);
    if (is_null) {
        resp->status = 204;
        sb_free(&val);
        return 0;
    }
    if (t->value) {
        /* the raw value: text without quotes, JSON as it is */
        const char *v = sb_str(&val);
        if (v[0] == '"') {
            json_t *str = json_loads(v, JSON_DECODE_ANY, NULL);
            sb_puts(w->sb, str ? json_string_value(str) : v);
            json_decref(str);
        } else {
            sb_puts(w->sb, v);
        }
        resp->content_type = v[0] == '{' || v[0] == '[' ? "application/json; charset=utf-8"
                                                        : "text/plain; charset=utf-8";
    } else {
        sb_putc(w->sb, '{');
        sb_put_json_string(w->sb, key);
        sb_putc(w->sb, ':');
        sb_puts(w->sb, sb_str(&val));
        sb_putc(w->sb, '}');
    }
    sb_free(&val);
    resp->status = 200;
    return 0;
}

/* ---- dataArray ---- */

static const char *const obs_components[] = {"id", "phenomenonTime", "result", "resultTime",
                                             "resultQuality", "validTime", "parameters"};

struct da_group {
    int64_t ds;
    int64_t n;
    int multi; /* ds is a MultiDatastream */
    struct strbuf rows;
};

/* Whether each group's series is a MultiDatastream (their links say which). */
static int da_groups_multi(struct wctx *w, struct da_group *groups, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct sqlfrag f = {0};
        frag_puts(&f, "SELECT multi FROM datastreams WHERE id = ");
        frag_int(&f, groups[k].ds);
        int64_t multi = 0;
        int rc = run_int64(w, &f, &multi);
        frag_free(&f);
        if (rc)
            return rc;
        groups[k].multi = multi != 0;
    }
    return 0;
}

static int answer_data_array(struct wctx *w, const struct collq *cq, const struct sta_target *t,
                             const struct sta_query *q, struct sta_response *resp)
{
    if (q->n_expand)
        return insitu_error_set(w->err, INSITU_EINVAL, "$resultFormat=dataArray: $expand "
                                                       "cannot be used with it");
    const struct sta_prop *comps[8];
    int ncomp = 0;
    if (q->n_select) {
        for (int i = 0; i < q->n_select && ncomp < 8; i++) {
            const struct sta_prop *p = sta_prop_find(STA_OBSERVATION, q->select[i],
                                                     strlen(q->select[i]));
            if (!p)
                return insitu_error_set(w->err, INSITU_EINVAL,
                                        "$resultFormat=dataArray: '%.40s' is not an "
                                        "Observation property",
                                        q->select[i]);
            comps[ncomp++] = p;
        }
    } else {
        for (size_t i = 0; i < ARRAY_LEN(obs_components); i++)
            comps[ncomp++] = sta_prop_find(STA_OBSERVATION, obs_components[i],
                                           strlen(obs_components[i]));
    }
    int64_t top = eff_top(w->c, q), skip = eff_skip(q), total = 0;
    int rc = 0;
    if (q->count == 1)
        rc = coll_count(w, cq, &total);
    struct stmt *s = NULL;
    if (!rc)
        rc = coll_open(w, cq, top, skip, &s);
    if (rc)
        return rc;
    struct da_group *groups = NULL;
    size_t ngroups = 0;
    int64_t n = 0;
    int more = 0;
    while ((rc = st_step(s, w->err)) == 1) {
        if (n++ == top) {
            more = 1;
            break;
        }
        int64_t ds = st_col_int64(s, 12); /* the select list's last column */
        struct da_group *g = NULL;
        for (size_t k = 0; k < ngroups && !g; k++)
            if (groups[k].ds == ds)
                g = &groups[k];
        if (!g) {
            struct da_group *p = realloc(groups, (ngroups + 1) * sizeof *p);
            if (!p) {
                rc = insitu_error_set(w->err, INSITU_ENOMEM, "out of memory");
                break;
            }
            groups = p;
            g = &groups[ngroups++];
            memset(g, 0, sizeof *g);
            g->ds = ds;
        }
        sb_puts(&g->rows, g->n++ ? ",[" : "[");
        int prc = 0;
        for (int k = 0; k < ncomp && !prc; k++) {
            if (k)
                sb_putc(&g->rows, ',');
            prc = put_prop(w, &g->rows, s, comps[k]);
        }
        if (prc) {
            rc = prc;
            break;
        }
        sb_putc(&g->rows, ']');
        if (g->rows.len > STA_MAX_ANSWER) {
            rc = too_large(w);
            break;
        }
    }
    sta_release(w->c, s);
    if (rc >= 0)
        rc = da_groups_multi(w, groups, ngroups);
    if (rc >= 0) {
        rc = 0;
        struct strbuf *sb = w->sb;
        sb_putc(sb, '{');
        if (q->count == 1)
            sb_printf(sb, "\"@iot.count\":%lld,", (long long)total);
        sb_puts(sb, "\"value\":[");
        for (size_t k = 0; k < ngroups; k++) {
            const char *nav = groups[k].multi ? "MultiDatastream" : "Datastream";
            sb_printf(sb, "%s{\"%s@iot.navigationLink\":", k ? "," : "", nav);
            put_link(w, groups[k].multi ? "MultiDatastreams" : "Datastreams", groups[k].ds,
                     NULL);
            sb_puts(sb, ",\"components\":[");
            for (int c = 0; c < ncomp; c++)
                sb_printf(sb, "%s\"%s\"", c ? "," : "", comps[c]->name);
            sb_printf(sb, "],\"dataArray@iot.count\":%lld,\"dataArray\":[%s]}",
                      (long long)groups[k].n, sb_str(&groups[k].rows));
        }
        sb_putc(sb, ']');
        if (more && top > 0) {
            sb_puts(sb, ",\"@iot.nextLink\":");
            put_next_link(w, t->path, q, top, skip + top, "&$resultFormat=dataArray");
        }
        sb_putc(sb, '}');
        resp->status = 200;
    }
    for (size_t k = 0; k < ngroups; k++)
        sb_free(&groups[k].rows);
    free(groups);
    return rc;
}

/* ---- the aggregation extension ---- */

static int parse_aggregate(const char *v, enum insitu_agg *out)
{
    static const struct {
        const char *a, *b;
        enum insitu_agg agg;
    } names[] = {{"hour", "PT1H", INSITU_AGG_HOUR},
                 {"day", "P1D", INSITU_AGG_DAY},
                 {"month", "P1M", INSITU_AGG_MONTH},
                 {"year", "P1Y", INSITU_AGG_YEAR}};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(v, names[i].a) == 0 || strcmp(v, names[i].b) == 0) {
            *out = names[i].agg;
            return 0;
        }
    return -1;
}

static int parse_stat(const char *v, enum insitu_stat *out)
{
    static const char *const names[] = {"mean", "min", "max", "sum", "count"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(v, names[i]) == 0) {
            *out = (enum insitu_stat)i;
            return 0;
        }
    return -1;
}

static int answer_aggregate(struct wctx *w, const struct sta_target *t, const struct sta_query *q,
                            const struct extras *x, struct sta_response *resp)
{
    insitu_error *err = w->err;
    if (t->type != STA_OBSERVATION || !t->has_parent || t->ptype != STA_DATASTREAM || t->ref)
        return insitu_error_set(err, INSITU_EINVAL,
                                "aggregate: aggregates are read from the Observations of one "
                                "Datastream: /Datastreams(id)/Observations?aggregate=day");
    insitu_query iq = {0};
    iq.from_us = iq.to_us = INSITU_TIME_NONE;
    if (!x->aggregate || parse_aggregate(x->aggregate, &iq.aggregate))
        return insitu_error_set(err, INSITU_EINVAL,
                                "aggregate: expected hour, day, month or year (or PT1H, P1D, "
                                "P1M, P1Y), not '%.40s'",
                                x->aggregate ? x->aggregate : "");
    if (x->stat && parse_stat(x->stat, &iq.stat))
        return insitu_error_set(err, INSITU_EINVAL,
                                "stat: expected mean, min, max, sum or count, not '%.40s'",
                                x->stat);
    if (!filter_time_range(q->filter, "phenomenonTime", &iq.from_us, &iq.to_us))
        return insitu_error_set(err, INSITU_EINVAL,
                                "aggregate: $filter may only bound phenomenonTime with gt, ge, "
                                "lt, le and 'and' (phenomenonTime ge 2020-01-01T00:00:00Z and "
                                "phenomenonTime lt 2021-01-01T00:00:00Z)");
    if (q->n_expand)
        return insitu_error_set(err, INSITU_EINVAL, "aggregate: $expand cannot be used");
    if (q->n_orderby && !(q->n_orderby == 1 && orders_by_time(q) && !q->orderby[0].desc))
        return insitu_error_set(err, INSITU_EINVAL,
                                "aggregate: buckets come in time order ($orderby may only be "
                                "phenomenonTime asc)");
    for (int i = 0; i < q->n_select; i++)
        if (strcmp(q->select[i], "phenomenonTime") && strcmp(q->select[i], "result") &&
            strcmp(q->select[i], "parameters"))
            return insitu_error_set(err, INSITU_EINVAL,
                                    "aggregate: $select may name phenomenonTime, result and "
                                    "parameters, not '%.40s'",
                                    q->select[i]);
    int64_t ds = t->pid;
    iq.datastreams = &ds;
    iq.n_datastreams = 1;
    static const char *const stat_names[] = {"mean", "min", "max", "sum", "count"};
    static const char *const agg_names[] = {"", "hour", "day", "month", "year"};
    int64_t top = eff_top(w->c, q), skip = eff_skip(q), n = 0, shown = 0;
    insitu_cursor *cur;
    int rc = insitu_query_open((insitu_store *)w->c->st, &iq, &cur, err);
    if (rc)
        return rc;
    struct strbuf items = {0};
    int more = 0;
    insitu_obs o;
    while ((rc = insitu_cursor_next(cur, &o, err)) == 1) {
        n++;
        if (n <= skip)
            continue;
        if (shown == top) {
            more = 1;
            if (q->count != 1)
                break;
            continue;
        }
        int first = 1;
        sb_puts(&items, shown++ ? ",{" : "{");
        if (selected(q, "phenomenonTime")) {
            put_key(&items, &first, "phenomenonTime", "");
            put_period(&items, o.phenomenon_start_us, o.phenomenon_end_us);
        }
        if (selected(q, "result")) {
            put_key(&items, &first, "result", "");
            if (o.has_result)
                put_double(&items, o.result);
            else
                sb_puts(&items, "null");
        }
        if (selected(q, "parameters")) {
            put_key(&items, &first, "parameters", "");
            sb_printf(&items, "{\"aggregate\":\"%s\",\"stat\":\"%s\",\"count\":%lld}",
                      agg_names[iq.aggregate], stat_names[iq.stat], (long long)o.count);
        }
        sb_putc(&items, '}');
    }
    insitu_cursor_close(cur);
    if (rc < 0) {
        sb_free(&items);
        return rc;
    }
    struct strbuf *sb = w->sb;
    sb_putc(sb, '{');
    if (q->count == 1)
        sb_printf(sb, "\"@iot.count\":%lld,", (long long)n);
    sb_printf(sb, "\"value\":[%s]", sb_str(&items));
    if (more && top > 0) {
        struct strbuf extra = {0};
        sb_puts(&extra, "&aggregate=");
        sta_url_encode(&extra, x->aggregate);
        if (x->stat) {
            sb_puts(&extra, "&stat=");
            sta_url_encode(&extra, x->stat);
        }
        sb_puts(sb, ",\"@iot.nextLink\":");
        put_next_link(w, t->path, q, top, skip + top, sb_str(&extra));
        sb_free(&extra);
    }
    sb_putc(sb, '}');
    sb_free(&items);
    resp->status = 200;
    return 0;
}

static int answer_collection(struct wctx *w, const struct sta_target *t,
                             const struct sta_query *q, struct sta_response *resp)
{
    struct collq cq = {t->type, t->has_parent, t->ptype, t->pid, t->pnav, q};
    int64_t top = eff_top(w->c, q), skip = eff_skip(q);
    struct strbuf *sb = w->sb;
    sb_putc(sb, '{');
    if (q->count == 1) {
        int64_t n;
        int rc = coll_count(w, &cq, &n);
        if (rc)
            return rc;
        sb_printf(sb, "\"@iot.count\":%lld,", (long long)n);
    }
    sb_puts(sb, "\"value\":");
    int more;
    int rc = write_items(w, &cq, top, skip, t->ref, &more);
    if (rc)
        return rc;
    if (more && top > 0) {
        sb_puts(sb, ",\"@iot.nextLink\":");
        put_next_link(w, t->path, q, top, skip + top, NULL);
    }
    sb_putc(sb, '}');
    resp->status = 200;
    return 0;
}

/* A page in CSV or GeoJSON (format.c): each entity is written as JSON into a buffer of
 * its own, which the formatter turns into a row or a Feature; the answer keeps the size
 * limit. CSV has no place for the next page's link: it goes into a Link header. */
static int answer_formatted(struct wctx *w, const struct sta_target *t,
                            const struct sta_query *q, enum sta_format format,
                            struct sta_response *resp)
{
    struct collq cq = {t->type, t->has_parent, t->ptype, t->pid, t->pnav, q};
    int64_t top = eff_top(w->c, q), skip = eff_skip(q), total = -1;
    struct sta_fmt *f;
    int rc = sta_fmt_new(format, t->type, q, &f, w->err);
    if (rc)
        return rc;
    struct stmt *s = NULL;
    if (q->count == 1 && format == STA_FMT_GEOJSON) /* CSV has no place for it */
        rc = coll_count(w, &cq, &total);
    if (!rc)
        rc = coll_open(w, &cq, top, skip, &s);
    if (rc) {
        sta_fmt_free(f);
        return rc;
    }
    struct strbuf *out = w->sb, entity = {0};
    sta_fmt_begin(f, out, total);
    int64_t n = 0;
    int more = 0;
    w->sb = &entity;
    while ((rc = st_step(s, w->err)) == 1) {
        if (n++ == top) {
            more = 1;
            break;
        }
        sb_reset(&entity);
        if ((rc = write_entity(w, t->type, s, q)) ||
            (rc = sta_fmt_row(f, sb_str(&entity), entity.len, out, w->err)))
            break;
        if (out->len > STA_MAX_ANSWER) {
            rc = too_large(w);
            break;
        }
    }
    w->sb = out;
    sta_release(w->c, s);
    sb_free(&entity);
    if (rc >= 0) {
        struct strbuf next = {0};
        if (more && top > 0) {
            sb_printf(&next, "%s/%s?", w->base, t->path);
            options_text(&next, q, top, skip + top, "&", 1);
            sb_printf(&next, "&$resultFormat=%s", sta_format_name(format));
        }
        sta_fmt_end(f, out, next.len ? sb_str(&next) : NULL);
        if (next.len && format == STA_FMT_CSV)
            sb_printf(&resp->link, "<%s>; rel=\"next\"", sb_str(&next));
        sb_free(&next);
        resp->status = 200;
        resp->content_type = sta_fmt_content_type(f);
        rc = 0;
    }
    sta_fmt_free(f);
    return rc;
}

static int answer_entity(struct wctx *w, const struct sta_target *t, const struct sta_query *q,
                         struct sta_response *resp)
{
    struct stmt *s = NULL;
    int rc = entity_open(w, t->type, t->id, &s);
    if (rc)
        return rc;
    if (!s) {
        sta_error(resp, 404, "%s(%lld): no such entity", sta_type_def(t->type)->set,
                  (long long)t->id);
        return 0;
    }
    if (t->ref) {
        sb_puts(w->sb, "{\"@iot.selfLink\":");
        put_link(w, sta_type_def(t->type)->set, t->id, NULL);
        sb_putc(w->sb, '}');
    } else {
        rc = write_entity(w, t->type, s, q);
    }
    sta_release(w->c, s);
    if (!rc)
        resp->status = 200;
    return rc;
}

void sta_read(struct sta_conn *c, const struct sta_request *req, const struct sta_target *t,
              const char *base, struct sta_response *resp)
{
    insitu_error err = {0};
    struct sta_query q;
    struct extras x;
    sq_init(&q);
    struct wctx w = {c, base, &resp->body, &err, strlen(base), {{0}}};
    int rc = gather_options(req, &q, &x, &err);
    if (!rc && t->kind != TG_ROOT && t->kind != TG_CREATE_OBS)
        rc = check_query(&q, t->type, &err);
    if (!rc && (x.data_array || x.aggregate || x.stat) &&
        (t->kind != TG_COLLECTION || t->type != STA_OBSERVATION))
        rc = insitu_error_set(&err, INSITU_EINVAL,
                              "%s applies to collections of Observations",
                              x.data_array ? "$resultFormat=dataArray" : "aggregate");
    if (!rc && x.stat && !x.aggregate)
        rc = insitu_error_set(&err, INSITU_EINVAL, "stat goes with aggregate");
    if (!rc && x.format != STA_FMT_JSON && (t->kind != TG_COLLECTION || t->ref || x.aggregate))
        rc = insitu_error_set(&err, INSITU_EINVAL,
                              "$resultFormat=%s applies to collections of entities (not to "
                              "one entity, $ref or aggregate)",
                              sta_format_name(x.format));
    if (rc) {
        fail_with(resp, &err, rc);
        sq_free(&q);
        return;
    }
    switch (t->kind) {
    case TG_ROOT: answer_root(c, base, resp); break;
    case TG_COLLECTION:
        if (x.aggregate) {
            rc = answer_aggregate(&w, t, &q, &x, resp);
        } else if (x.data_array) {
            struct collq cq = {t->type, t->has_parent, t->ptype, t->pid, t->pnav, &q};
            rc = answer_data_array(&w, &cq, t, &q, resp);
        } else if (x.format != STA_FMT_JSON) {
            rc = answer_formatted(&w, t, &q, x.format, resp);
        } else {
            rc = answer_collection(&w, t, &q, resp);
        }
        break;
    case TG_ENTITY: rc = answer_entity(&w, t, &q, resp); break;
    case TG_PROPERTY: rc = answer_property(&w, t, resp); break;
    case TG_CREATE_OBS: sta_error(resp, 405, "CreateObservations takes POST"); break;
    }
    if (rc)
        fail_with(resp, &err, rc);
    wctx_free(&w);
    sq_free(&q);
}

