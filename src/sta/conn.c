/*
 * conn.c: what every part of the SensorThings server stands on: the service and its
 * connections (the statement cache), error answers, URL encoding and decoding, and the
 * resolution of a resource path into its target, checking that the entities on the way
 * exist. It calls no other part of the server (read.c, write.c, batch.c and service.c call
 * it).
 */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
/* ==== service and connections ==== */

int sta_service_new(const struct sta_config *cfg, struct sta_service **out, insitu_error *err)
{
    struct sta_service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    svc->cfg = *cfg;
    if (svc->cfg.default_top <= 0)
        svc->cfg.default_top = 100;
    if (svc->cfg.max_top <= 0)
        svc->cfg.max_top = 10000;
    if (svc->cfg.default_top > svc->cfg.max_top)
        svc->cfg.default_top = svc->cfg.max_top;
    if (!svc->cfg.max_answer)
        svc->cfg.max_answer = (size_t)64 << 20;
    svc->source = xstrdup(cfg->source ? cfg->source : "sta");
    svc->cfg.source = svc->source;
    pthread_mutex_init(&svc->lock, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    svc->started = (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
    *out = svc;
    return svc->source ? 0 : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
}

int sta_conn_new(struct sta_service *svc, insitu_store *st, struct sta_conn **out,
                 insitu_error *err)
{
    struct sta_conn *c = calloc(1, sizeof *c);
    if (!c)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    c->svc = svc;
    c->st = &st->base;
    *out = c;
    return 0;
}

void sta_conn_free(struct sta_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < STA_CACHE_SLOTS; i++) {
        if (c->cache[i].s)
            c->st->ops->finalize(c->cache[i].s);
        free(c->cache[i].sql);
    }
    for (size_t i = 0; i < c->n_held; i++)
        free(c->held[i].changed);
    free(c->held);
    free(c);
}

int sta_prepare(struct sta_conn *c, const char *sql, struct stmt **out, insitu_error *err)
{
    struct sta_cached *victim = NULL;
    for (int i = 0; i < STA_CACHE_SLOTS; i++) {
        struct sta_cached *e = &c->cache[i];
        if (e->s && !e->busy && strcmp(e->sql, sql) == 0) {
            e->busy = 1;
            e->used = ++c->tick;
            *out = e->s;
            return 0;
        }
        if (!e->busy && (!victim || !e->s || (victim->s && e->used < victim->used)))
            victim = e;
    }
    struct stmt *s;
    int rc = st_prepare(c->st, sql, &s, err);
    if (rc)
        return rc;
    char *copy = victim ? xstrdup(sql) : NULL;
    if (!copy) { /* every slot busy (deep $expand): this statement is not cached */
        *out = s;
        return 0;
    }
    if (victim->s)
        c->st->ops->finalize(victim->s);
    free(victim->sql);
    victim->sql = copy;
    victim->s = s;
    victim->busy = 1;
    victim->used = ++c->tick;
    *out = s;
    return 0;
}

void sta_release(struct sta_conn *c, struct stmt *s)
{
    if (!s)
        return;
    for (int i = 0; i < STA_CACHE_SLOTS; i++) {
        if (c->cache[i].s == s) {
            st_reset(s);
            c->cache[i].busy = 0;
            return;
        }
    }
    st_finalize(s);
}

/* ==== errors ==== */

int sta_status_of(int code)
{
    switch (code) {
    case INSITU_EINVAL:
    case INSITU_EUSAGE: return 400;
    case INSITU_ENOTFOUND: return 404;
    case INSITU_EUNSUPPORTED: return 501;
    case INSITU_ECONFLICT: return 409;
    case INSITU_EAUTH: return 401;
    case INSITU_ELIMIT:
    case INSITU_EBUSY: return 503;
    default: return 500;
    }
}

static void error_body(struct sta_response *resp, int status, const char *msg)
{
    sb_reset(&resp->body);
    resp->status = status;
    resp->content_type = "application/json; charset=utf-8";
    resp->location[0] = '\0';
    sb_reset(&resp->link);
    sb_printf(&resp->body, "{\"code\":%d,\"type\":\"error\",\"message\":", status);
    sb_put_json_string(&resp->body, msg);
    sb_puts(&resp->body, "}");
}

void sta_error(struct sta_response *resp, int status, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_body(resp, status, msg);
}

void sta_response_free(struct sta_response *resp)
{
    if (resp) {
        sb_free(&resp->body);
        sb_free(&resp->link);
    }
}

/* ==== URLs ==== */

void sta_url_encode(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~()',/:$@*!", *p)) {
            sb_putc(sb, (char)*p);
        } else {
            sb_putc(sb, '%');
            sb_putc(sb, hex[*p >> 4]);
            sb_putc(sb, hex[*p & 15]);
        }
    }
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                         : -1;
}

/* Decodes s[0..n) in place into out (at most n bytes + NUL). */
static void url_decode(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            out[k++] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
                              hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
}

int sta_parse_query(const char *query, struct sta_param **params, size_t *n, char **storage)
{
    *params = NULL;
    *n = 0;
    *storage = NULL;
    if (!query || !*query)
        return 0;
    size_t len = strlen(query), count = 1;
    for (size_t i = 0; i < len; i++)
        count += query[i] == '&';
    char *buf = malloc(2 * len + 2 * count + 2);
    struct sta_param *p = calloc(count, sizeof *p);
    if (!buf || !p) {
        free(buf);
        free(p);
        return INSITU_ENOMEM;
    }
    char *w = buf;
    const char *s = query;
    while (*s) {
        const char *amp = strchr(s, '&');
        size_t seg = amp ? (size_t)(amp - s) : strlen(s);
        if (seg) {
            const char *eq = memchr(s, '=', seg);
            size_t klen = eq ? (size_t)(eq - s) : seg;
            url_decode(s, klen, w);
            p[*n].key = w;
            w += strlen(w) + 1;
            if (eq)
                url_decode(eq + 1, seg - klen - 1, w);
            else
                *w = '\0';
            p[*n].value = w;
            w += strlen(w) + 1;
            (*n)++;
        }
        s += seg + (amp != NULL);
    }
    *params = p;
    *storage = buf;
    return 0;
}

/* ==== resource paths ==== */

/* Splits "Name(12)" into the name and the id (has_id 0 without parentheses). */
static int parse_segment(const char *seg, size_t *name_len, int *has_id, int64_t *id)
{
    const char *paren = strchr(seg, '(');
    *has_id = 0;
    if (!paren) {
        *name_len = strlen(seg);
        return 0;
    }
    *name_len = (size_t)(paren - seg);
    const char *start = paren + 1;
    size_t len = strlen(start);
    if (len < 2 || start[len - 1] != ')')
        return -1;
    len--;
    if (len >= 2 && start[0] == '\'' && start[len - 1] == '\'') {
        start++;
        len -= 2;
    }
    if (parse_int64(start, len, id))
        return -1;
    *has_id = 1;
    return 0;
}

/* The id of the target of nav from entity (type, id), one entity (to-one, or to-many with
 * want_id given); 0 when there is none. */
static int related_id(struct sta_conn *c, enum sta_type type, int64_t id,
                      const struct sta_nav *nav, int has_want, int64_t want, int64_t *out,
                      insitu_error *err)
{
    struct strbuf sql = {0};
    const struct sta_type_def *src = sta_type_def(type), *dst = sta_type_def(nav->target);
    sb_printf(&sql, "SELECT e.id FROM %s e, %s s WHERE s.id = ?%s", dst->table, src->table,
              has_want ? " AND e.id = ?" : "");
    sta_where_sql(&sql, type, "s");
    sb_puts(&sql, " AND ");
    sb_printf(&sql, nav->cond, "s", "e");
    struct stmt *s;
    int rc = sql.data ? sta_prepare(c, sql.data, &s, err)
                      : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    sb_free(&sql);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    if (has_want)
        st_bind_int64(s, 2, want);
    rc = st_step(s, err);
    *out = rc == 1 ? st_col_int64(s, 0) : 0;
    sta_release(c, s);
    return rc < 0 ? rc : 0;
}

static int entity_exists(struct sta_conn *c, enum sta_type type, int64_t id, int *exists,
                         insitu_error *err)
{
    char sql[128];
    struct strbuf where = {0};
    sta_where_sql(&where, type, "e");
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s e WHERE e.id = ?%s", sta_type_def(type)->table,
             sb_str(&where));
    sb_free(&where);
    struct stmt *s;
    int rc = sta_prepare(c, sql, &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    rc = st_step(s, err);
    *exists = rc == 1;
    sta_release(c, s);
    return rc < 0 ? rc : 0;
}

static int resolve_fail(struct sta_response *resp, int status, insitu_error *err)
{
    if (err && err->code)
        status = sta_status_of(err->code);
    error_body(resp, status, err && err->message[0] ? err->message : "bad path");
    return -1;
}

/* One navigation step of a path from entity (t->type, t->id): to the related entity (a
 * to-one, or a to-many with an id), checked to exist; or, for a to-many without id, the
 * collection (*done set). Fills resp and returns nonzero on failure. */
static int resolve_nav(struct sta_conn *c, struct sta_target *t, const struct sta_nav *nav,
                       int has_id, int64_t id, int *verified, int *done,
                       struct sta_response *resp)
{
    insitu_error err = {0};
    const char *set = sta_type_def(t->type)->set;
    if (!nav->many && has_id) {
        sta_error(resp, 400, "%s is a single entity: it takes no id", nav->name);
        return -1;
    }
    if (nav->many && !has_id) {
        int exists = *verified;
        if (!exists && entity_exists(c, t->type, t->id, &exists, &err))
            return resolve_fail(resp, 500, &err);
        if (!exists) {
            sta_error(resp, 404, "%s(%lld): no such entity", set, (long long)t->id);
            return -1;
        }
        t->kind = TG_COLLECTION;
        t->has_parent = 1;
        t->ptype = t->type;
        t->pid = t->id;
        t->pnav = nav;
        t->type = nav->target;
        *done = 1;
        return 0;
    }
    int64_t next;
    if (related_id(c, t->type, t->id, nav, has_id, id, &next, &err))
        return resolve_fail(resp, 500, &err);
    if (!next) {
        if (has_id)
            sta_error(resp, 404, "%s(%lld) has no %s(%lld)", set, (long long)t->id, nav->name,
                      (long long)id);
        else
            sta_error(resp, 404, "%s(%lld) does not exist or has no %s", set, (long long)t->id,
                      nav->name);
        return -1;
    }
    t->type = nav->target;
    t->id = next;
    *verified = 1;
    return 0;
}

/* The end of a path at a property: [sub-property] [$value]. */
static int resolve_property(struct sta_target *t, const struct sta_prop *prop,
                            char *const *rest, int n, struct sta_response *resp)
{
    t->kind = TG_PROPERTY;
    t->prop = prop;
    int k = 0;
    if (k < n && strcmp(rest[k], "$value") != 0 &&
        (prop->kind == SP_UOM || prop->kind == SP_OBJECT)) {
        snprintf(t->sub, sizeof t->sub, "%s", rest[k]);
        k++;
        /* deeper into a JSON object: properties/objArray[0]/string, kept as one path */
        while (prop->kind == SP_OBJECT && k < n && strcmp(rest[k], "$value") != 0) {
            size_t len = strlen(t->sub);
            if (len + 1 + strlen(rest[k]) >= sizeof t->sub) {
                sta_error(resp, 414, "path into %s too long", prop->name);
                return -1;
            }
            snprintf(t->sub + len, sizeof t->sub - len, "/%s", rest[k]);
            k++;
        }
    }
    if (k < n && strcmp(rest[k], "$value") == 0) {
        t->value = 1;
        k++;
    }
    if (k < n) {
        sta_error(resp, 400, "unexpected '%.60s' after the property %s", rest[k], prop->name);
        return -1;
    }
    return 0;
}

/* 1 and *index when seg is "result[N]" (N a decimal number). */
static int result_index(const char *seg, size_t *index)
{
    if (strncmp(seg, "result[", 7) != 0 || !isdigit((unsigned char)seg[7]))
        return 0;
    char *end;
    unsigned long long n = strtoull(seg + 7, &end, 10);
    if (strcmp(end, "]") != 0 || n > 1000000)
        return 0;
    *index = (size_t)n;
    return 1;
}

int sta_resolve(struct sta_conn *c, const char *path, struct sta_target *t,
                struct sta_response *resp)
{
    memset(t, 0, sizeof *t);
    while (*path == '/')
        path++;
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    if (plen >= sizeof t->path) {
        sta_error(resp, 414, "path too long (%zu characters)", plen);
        return -1;
    }
    memcpy(t->path, path, plen);
    t->path[plen] = '\0';
    if (!plen) {
        t->kind = TG_ROOT;
        return 0;
    }
    char work[512], *segs[16];
    int nsegs = 0;
    memcpy(work, t->path, plen + 1);
    for (char *p = work; p;) {
        if (nsegs == 16) {
            sta_error(resp, 400, "path has more than 16 segments");
            return -1;
        }
        segs[nsegs++] = p;
        char *slash = strchr(p, '/');
        if (slash)
            *slash++ = '\0';
        p = slash;
    }
    if (strcmp(segs[0], "CreateObservations") == 0 && nsegs == 1) {
        t->kind = TG_CREATE_OBS;
        return 0;
    }
    size_t nlen;
    int has_id;
    int64_t id = 0;
    if (parse_segment(segs[0], &nlen, &has_id, &id)) {
        sta_error(resp, 400, "%.60s: bad entity id (expected a number: Things(1))", segs[0]);
        return -1;
    }
    int type = sta_type_by_set(segs[0], nlen);
    if (type < 0) {
        sta_error(resp, 404, "no entity set named '%.*s' (the sets are Things, Locations, "
                             "HistoricalLocations, Datastreams, Sensors, ObservedProperties, "
                             "Observations, FeaturesOfInterest, MultiDatastreams)",
                  (int)(nlen > 60 ? 60 : nlen), segs[0]);
        return -1;
    }
    t->type = (enum sta_type)type;
    if (!has_id) {
        t->kind = TG_COLLECTION;
        if (nsegs == 2 && strcmp(segs[1], "$ref") == 0) {
            t->ref = 1;
            nsegs = 1;
        }
        if (nsegs > 1) {
            sta_error(resp, 400, "%s: name one entity (%s(id)) before '%.60s'",
                      sta_type_def(t->type)->set, sta_type_def(t->type)->set, segs[1]);
            return -1;
        }
        return 0;
    }
    t->kind = TG_ENTITY;
    t->id = id;
    int verified = 0;
    for (int i = 1; i < nsegs; i++) {
        const char *seg = segs[i];
        if (strcmp(seg, "$ref") == 0) {
            if (i != nsegs - 1) {
                sta_error(resp, 400, "$ref must end the path");
                return -1;
            }
            t->ref = 1;
            return 0;
        }
        if (parse_segment(seg, &nlen, &has_id, &id)) {
            sta_error(resp, 400, "%.60s: bad entity id (expected a number)", seg);
            return -1;
        }
        const struct sta_nav *nav = sta_nav_find(t->type, seg, nlen);
        if (nav) {
            int done = 0;
            if (resolve_nav(c, t, nav, has_id, id, &verified, &done, resp))
                return -1;
            if (!done)
                continue;
            /* a collection: only $ref may follow */
            if (i + 1 < nsegs && strcmp(segs[i + 1], "$ref") == 0 && i + 2 == nsegs) {
                t->ref = 1;
                return 0;
            }
            if (i + 1 < nsegs) {
                sta_error(resp, 400, "%.*s: name one entity (%.*s(id)) before '%.60s'",
                          (int)nlen, seg, (int)nlen, seg, segs[i + 1]);
                return -1;
            }
            return 0;
        }
        const struct sta_prop *prop = has_id ? NULL : sta_prop_find(t->type, seg, nlen);
        size_t index = 0;
        if (!prop && !has_id && t->type == STA_OBSERVATION && result_index(seg, &index)) {
            /* result[N]: the N-th value of an array result (a MultiDatastream's) */
            prop = sta_prop_find(t->type, "result", 6);
            if (resolve_property(t, prop, segs + i + 1, nsegs - i - 1, resp))
                return -1;
            snprintf(t->sub, sizeof t->sub, "[%zu]", index);
            return 0;
        }
        if (!prop) {
            sta_error(resp, 404, "%s has no property or navigation property '%.60s'",
                      sta_type_def(t->type)->name, seg);
            return -1;
        }
        return resolve_property(t, prop, segs + i + 1, nsegs - i - 1, resp);
    }
    return 0;
}

