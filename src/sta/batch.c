/*
 * batch.c: SensorThings batch requests (see batch.h): the
 * multipart/mixed parser (boundaries quoted or not, CRLF or LF, preamble and
 * epilogue skipped), the JSON batch reader, the answer writer, and the run of a
 * batch through sta_handle(). Memory stays bounded by the body: the requests
 * are copied out of it once, and the answer is bounded by the service's answer
 * limit. It never touches the store itself, beyond the changeset's transaction
 * (sta_changeset_begin/end).
 */
#include "batch.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "internal.h"

/* ==== reading ==== */

static int media_is(const char *content_type, const char *type)
{
    if (!content_type)
        return 0;
    const char *s = content_type;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, "; \t");
    return strlen(type) == n && strncasecmp(s, type, n) == 0;
}

enum batch_format batch_format_of(const char *content_type)
{
    if (media_is(content_type, "multipart/mixed"))
        return BATCH_MULTIPART;
    if (media_is(content_type, "application/json"))
        return BATCH_JSON;
    return BATCH_NONE;
}

/* A JSON body (application/json, or a +json type such as
 * application/json-patch+json). */
static int media_is_json(const char *content_type)
{
    if (!content_type || media_is(content_type, "application/json"))
        return 1;
    const char *s = content_type;
    size_t n = strcspn(s, "; \t");
    return n >= 5 && strncasecmp(s + n - 5, "+json", 5) == 0;
}

/* The value of parameter name of a header value ("multipart/mixed; boundary=\"b
 * c\""), into out: 0, or -1 when absent, empty or longer than size - 1. */
static int header_param(const char *value, const char *name, char *out, size_t size)
{
    const char *p = strchr(value, ';');
    size_t name_len = strlen(name);
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *eq = strchr(p, '=');
        if (!eq)
            return -1;
        size_t klen = (size_t)(eq - p);
        while (klen && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
            klen--;
        const char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = 0;
        if (*v == '"') {
            for (v++; *v && *v != '"'; v++) {
                if (*v == '\\' && v[1])
                    v++;
                if (n + 1 >= size)
                    return -1;
                out[n++] = *v;
            }
        } else {
            for (; *v && *v != ';' && *v != ' ' && *v != '\t'; v++) {
                if (n + 1 >= size)
                    return -1;
                out[n++] = *v;
            }
        }
        out[n] = '\0';
        if (klen == name_len && strncasecmp(p, name, klen) == 0)
            return n ? 0 : -1;
        p = strchr(v, ';');
    }
    return -1;
}

static char *copy_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static struct batch_req *new_req(struct batch *b, size_t max, insitu_error *err)
{
    if (b->n >= max) {
        insitu_error_set(err, INSITU_ELIMIT,
                         "$batch: more than %zu requests (send them in several batches)", max);
        return NULL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct batch_req *r = realloc(b->reqs, cap * sizeof *r);
        if (!r) {
            insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            return NULL;
        }
        b->reqs = r;
        b->cap = cap;
    }
    struct batch_req *r = &b->reqs[b->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static int new_group(struct batch *b, const char *name, size_t len)
{
    char **g = realloc(b->groups, (b->n_groups + 1) * sizeof *g);
    if (!g)
        return -1;
    b->groups = g;
    g[b->n_groups] = copy_n(name, len);
    if (!g[b->n_groups])
        return -1;
    b->n_groups++;
    return 0;
}

static const char *const methods[] = {"GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"};

/* Sets r->method from s (any case): 0, or -1 when it is not one of methods. */
static int set_method(struct batch_req *r, const char *s, size_t n)
{
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        if (strlen(methods[i]) == n && strncasecmp(s, methods[i], n) == 0) {
            memcpy(r->method, methods[i], n + 1);
            return 0;
        }
    return -1;
}

/* ---- multipart/mixed ---- */

struct part_head {
    char content_type[256];
    char content_id[128];
    long long content_length; /* -1: none */
};

/* Reads header lines from *p (up to end) into h until an empty line or the end;
 * *p is left after them. 0, or -1 with *why. */
static int read_head(const char **p, const char *end, struct part_head *h, const char **why)
{
    h->content_type[0] = h->content_id[0] = '\0';
    h->content_length = -1;
    const char *s = *p;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (le > s && le[-1] == '\r')
            le--;
        if (le == s) {
            s = next;
            break;
        }
        const char *colon = memchr(s, ':', (size_t)(le - s));
        if (!colon) {
            *why = "a header line without ':'";
            return -1;
        }
        size_t nlen = (size_t)(colon - s);
        const char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(le - v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        char *dst = NULL;
        size_t dsize = 0;
        if (nlen == 12 && strncasecmp(s, "Content-Type", 12) == 0) {
            dst = h->content_type;
            dsize = sizeof h->content_type;
        } else if (nlen == 10 && strncasecmp(s, "Content-ID", 10) == 0) {
            dst = h->content_id;
            dsize = sizeof h->content_id;
        } else if (nlen == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
            char num[24];
            char *e;
            if (vlen == 0 || vlen >= sizeof num) {
                *why = "Content-Length is not a number";
                return -1;
            }
            memcpy(num, v, vlen);
            num[vlen] = '\0';
            h->content_length = strtoll(num, &e, 10);
            if (*e || h->content_length < 0) {
                *why = "Content-Length is not a number";
                return -1;
            }
        }
        if (dst) {
            if (vlen >= dsize) {
                *why = "a Content-Type or Content-ID header is too long";
                return -1;
            }
            memcpy(dst, v, vlen);
            dst[vlen] = '\0';
        }
        s = next;
    }
    *p = s;
    return 0;
}

/* The next line at or after p (a line start) that is the delimiter d (followed
 * by "--", blanks, a line break or the end), or NULL. */
static const char *next_delim(const char *p, const char *end, const char *d, size_t dn)
{
    while (p && p < end) {
        if ((size_t)(end - p) >= dn && memcmp(p, d, dn) == 0) {
            const char *q = p + dn;
            if (q == end || *q == '-' || *q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
                return p;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* Calls fn(ctx, number, content, len) for each part of body between boundaries.
 */
typedef int (*part_fn)(void *ctx, size_t number, const char *s, size_t n, insitu_error *err);

static int split_parts(const char *body, size_t len, const char *boundary, const char *where,
                       part_fn fn, void *ctx, insitu_error *err)
{
    char d[128];
    snprintf(d, sizeof d, "--%s", boundary);
    size_t dn = strlen(d);
    const char *end = body + len;
    const char *p = next_delim(body, end, d, dn);
    if (!p)
        return insitu_error_set(err, INSITU_EINVAL, "$batch: %s: no boundary line '%s'", where, d);
    for (size_t number = 1;; number++) {
        const char *q = p + dn;
        if (end - q >= 2 && q[0] == '-' && q[1] == '-')
            return number == 1 ? insitu_error_set(err, INSITU_EINVAL,
                                                  "$batch: %s: no part before the closing "
                                                  "boundary",
                                                  where)
                               : 0;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < end && *q == '\r')
            q++;
        if (q >= end || *q != '\n')
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$batch: %s: part %zu: the boundary line '%s' is not "
                                    "followed by a line break",
                                    where, number, d);
        q++;
        const char *next = next_delim(q, end, d, dn);
        if (!next)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$batch: %s: part %zu: no boundary after it (the body "
                                    "ends with '%s--')",
                                    where, number, d);
        /* the line break before a boundary belongs to the boundary */
        const char *e = next;
        if (e > q && e[-1] == '\n')
            e--;
        if (e > q && e[-1] == '\r')
            e--;
        int rc = fn(ctx, number, q, (size_t)(e - q), err);
        if (rc)
            return rc;
        p = next;
    }
}

struct mp_ctx {
    struct batch *b;
    size_t max;
    size_t part;  /* the top-level part being read */
    size_t group; /* 0, or the changeset being read (1 + index) */
};

/* One application/http part: request line, headers, blank line, body. */
static int read_http(struct mp_ctx *m, const char *where, const struct part_head *mime,
                     const char *s, size_t n, insitu_error *err)
{
    const char *end = s + n, *why = NULL;
    while (s < end && (*s == '\r' || *s == '\n'))
        s++;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *le = nl ? nl : end;
    if (le > s && le[-1] == '\r')
        le--;
    const char *sp = memchr(s, ' ', (size_t)(le - s));
    struct batch_req *r = new_req(m->b, m->max, err);
    if (!r)
        return err->code;
    r->group = m->group;
    r->where = copy_n(where, strlen(where));
    if (!sp || set_method(r, s, (size_t)(sp - s)))
        return insitu_error_set(err, INSITU_EINVAL,
                                "$batch: %s: the request line '%.*s' does not start with GET, "
                                "POST, PATCH, PUT or DELETE",
                                where, (int)(le - s < 60 ? le - s : 60), s);
    const char *u = sp + 1;
    while (u < le && *u == ' ')
        u++;
    const char *ue = memchr(u, ' ', (size_t)(le - u));
    if (!ue)
        ue = le;
    if (ue == u)
        return insitu_error_set(err, INSITU_EINVAL, "$batch: %s: the request line has no URL",
                                where);
    r->url = copy_n(u, (size_t)(ue - u));
    const char *p = nl ? nl + 1 : end;
    struct part_head h;
    if (read_head(&p, end, &h, &why))
        return insitu_error_set(err, INSITU_EINVAL, "$batch: %s: %s", where, why);
    size_t body_len = (size_t)(end - p);
    if (h.content_length >= 0) {
        if ((unsigned long long)h.content_length > body_len)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$batch: %s: Content-Length is %lld, but the body has %zu "
                                    "bytes",
                                    where, h.content_length, body_len);
        body_len = (size_t)h.content_length;
    }
    if (body_len) {
        r->body = copy_n(p, body_len);
        r->body_len = body_len;
    }
    if (h.content_type[0])
        r->content_type = copy_n(h.content_type, strlen(h.content_type));
    if (mime->content_id[0])
        r->id = copy_n(mime->content_id, strlen(mime->content_id));
    if (!r->url || !r->where || (body_len && !r->body) || (h.content_type[0] && !r->content_type) ||
        (mime->content_id[0] && !r->id))
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    return 0;
}

static int changeset_part(void *ctx, size_t number, const char *s, size_t n, insitu_error *err)
{
    struct mp_ctx *m = ctx;
    char where[64];
    snprintf(where, sizeof where, "part %zu.%zu", m->part, number);
    struct part_head h;
    const char *p = s, *why = NULL;
    if (read_head(&p, s + n, &h, &why))
        return insitu_error_set(err, INSITU_EINVAL, "$batch: %s: %s", where, why);
    if (media_is(h.content_type, "multipart/mixed"))
        return insitu_error_set(err, INSITU_EINVAL,
                                "$batch: %s: a changeset cannot hold another changeset", where);
    if (!media_is(h.content_type, "application/http"))
        return insitu_error_set(err, INSITU_EINVAL,
                                "$batch: %s: Content-Type '%.60s': a changeset's parts are "
                                "application/http",
                                where, h.content_type);
    return read_http(m, where, &h, p, (size_t)(s + n - p), err);
}

static int batch_part(void *ctx, size_t number, const char *s, size_t n, insitu_error *err)
{
    struct mp_ctx *m = ctx;
    char where[64];
    snprintf(where, sizeof where, "part %zu", number);
    m->part = number;
    struct part_head h;
    const char *p = s, *why = NULL;
    if (read_head(&p, s + n, &h, &why))
        return insitu_error_set(err, INSITU_EINVAL, "$batch: %s: %s", where, why);
    if (media_is(h.content_type, "application/http"))
        return read_http(m, where, &h, p, (size_t)(s + n - p), err);
    if (!media_is(h.content_type, "multipart/mixed"))
        return insitu_error_set(err, INSITU_EINVAL,
                                "$batch: %s: Content-Type '%.60s': expected application/http "
                                "(a request) or multipart/mixed (a changeset)",
                                where, h.content_type);
    char boundary[80];
    if (header_param(h.content_type, "boundary", boundary, sizeof boundary))
        return insitu_error_set(err, INSITU_EINVAL,
                                "$batch: %s: the changeset's Content-Type has no boundary "
                                "(of 1 to 70 characters)",
                                where);
    char name[32];
    int len = snprintf(name, sizeof name, "changeset %zu", number);
    if (new_group(m->b, name, (size_t)len))
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    m->group = m->b->n_groups;
    size_t before = m->b->n;
    int rc = split_parts(p, (size_t)(s + n - p), boundary, where, changeset_part, m, err);
    m->group = 0;
    if (!rc && m->b->n == before)
        rc = insitu_error_set(err, INSITU_EINVAL, "$batch: %s: the changeset holds no request",
                              where);
    return rc;
}

static int parse_multipart(const char *content_type, const char *body, size_t len, size_t max,
                           struct batch *b, insitu_error *err)
{
    char boundary[80];
    if (header_param(content_type, "boundary", boundary, sizeof boundary))
        return insitu_error_set(err, INSITU_EINVAL,
                                "$batch: the Content-Type multipart/mixed has no boundary "
                                "parameter (of 1 to 70 characters)");
    struct mp_ctx m = {b, max, 0, 0};
    return split_parts(body, len, boundary, "the body", batch_part, &m, err);
}

/* ---- JSON (OData 4.01) ---- */

static int json_fail(insitu_error *err, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int json_fail(insitu_error *err, size_t i, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return insitu_error_set(err, INSITU_EINVAL, "$batch: requests[%zu]: %s", i, msg);
}

/* The body of request object o into r: JSON for a JSON type, a string's text
 * otherwise. */
static int json_body(struct batch_req *r, json_t *o, size_t i, insitu_error *err)
{
    json_t *body = json_object_get(o, "body");
    if (!body || json_is_null(body))
        return 0;
    if (media_is_json(r->content_type)) {
        r->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    } else if (json_is_string(body)) {
        r->body = copy_n(json_string_value(body), json_string_length(body));
    } else {
        return json_fail(err, i, "body: a body of type '%.60s' is a string", r->content_type);
    }
    if (!r->body)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    r->body_len = strlen(r->body);
    return 0;
}

static int json_request(struct batch *b, json_t *o, size_t i, struct strmap *ids,
                        struct strmap *groups, size_t max, insitu_error *err)
{
    if (!json_is_object(o))
        return json_fail(err, i, "not an object");
    json_t *id = json_object_get(o, "id"), *method = json_object_get(o, "method"),
           *url = json_object_get(o, "url"), *group = json_object_get(o, "atomicityGroup"),
           *deps = json_object_get(o, "dependsOn"), *headers = json_object_get(o, "headers");
    if (!json_is_string(id) || !json_string_length(id))
        return json_fail(err, i, "'id' must be a non-empty string");
    if (!json_is_string(url) || !json_string_length(url))
        return json_fail(err, i, "'url' must be a non-empty string");
    if (group && !json_is_string(group))
        return json_fail(err, i, "'atomicityGroup' must be a string");
    if (deps && !json_is_array(deps))
        return json_fail(err, i, "'dependsOn' must be an array of ids");
    if (headers && !json_is_object(headers))
        return json_fail(err, i, "'headers' must be an object");
    const char *ids_ = json_string_value(id);
    int64_t seen;
    if (strmap_get(ids, ids_, strlen(ids_), &seen) || strmap_get(groups, ids_, strlen(ids_), &seen))
        return json_fail(err, i, "id '%.60s' is not unique in the batch", ids_);
    struct batch_req *r = new_req(b, max, err);
    if (!r)
        return err->code;
    char where[32];
    snprintf(where, sizeof where, "requests[%zu]", i);
    r->where = copy_n(where, strlen(where));
    r->id = copy_n(ids_, strlen(ids_));
    r->url = copy_n(json_string_value(url), json_string_length(url));
    if (!r->where || !r->id || !r->url)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (!json_is_string(method) ||
        set_method(r, json_string_value(method), json_string_length(method)))
        return json_fail(err, i, "'method' must be one of get, post, patch, put, delete");
    const char *k;
    json_t *v;
    json_object_foreach(headers, k, v)
    {
        if (!json_is_string(v))
            return json_fail(err, i, "headers.%s: must be a string", k);
        if (strcasecmp(k, "content-type") == 0 &&
            !(r->content_type = copy_n(json_string_value(v), json_string_length(v))))
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    int rc = json_body(r, o, i, err);
    if (rc)
        return rc;
    if (group) {
        const char *g = json_string_value(group);
        size_t glen = json_string_length(group);
        int64_t gi;
        if (strmap_get(ids, g, glen, &gi))
            return json_fail(err, i, "atomicityGroup '%.60s' is the id of a request", g);
        int adjacent = b->n >= 2 && b->reqs[b->n - 2].group &&
                       strcmp(b->groups[b->reqs[b->n - 2].group - 1], g) == 0;
        if (!adjacent && strmap_get(groups, g, glen, &gi))
            return json_fail(err, i,
                             "atomicityGroup '%.60s': the requests of a group must be adjacent", g);
        if (!adjacent &&
            (new_group(b, g, glen) || strmap_put(groups, g, glen, (int64_t)b->n_groups)))
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        r->group = adjacent ? b->reqs[b->n - 2].group : b->n_groups;
    }
    size_t nd = json_array_size(deps);
    if (nd) {
        r->depends = calloc(nd, sizeof *r->depends);
        if (!r->depends)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    for (size_t d = 0; d < nd; d++) {
        json_t *dv = json_array_get(deps, d);
        int64_t x;
        if (!json_is_string(dv))
            return json_fail(err, i, "dependsOn[%zu]: must be a string", d);
        const char *ds = json_string_value(dv);
        if (!strmap_get(ids, ds, strlen(ds), &x) && !strmap_get(groups, ds, strlen(ds), &x))
            return json_fail(err, i,
                             "dependsOn[%zu]: '%.60s' is not the id or atomicityGroup of an "
                             "earlier request",
                             d, ds);
        if (!(r->depends[r->n_depends++] = copy_n(ds, strlen(ds))))
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    if (strmap_put(ids, ids_, strlen(ids_), (int64_t)i))
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    return 0;
}

static int parse_json(const char *body, size_t len, size_t max, struct batch *b, insitu_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return insitu_error_set(err, INSITU_EINVAL,
                                "$batch: the body is not JSON: line %d, column %d: %s", jerr.line,
                                jerr.column, jerr.text);
    json_t *reqs = json_object_get(root, "requests");
    int rc = 0;
    if (!json_is_array(reqs) || json_array_size(reqs) == 0)
        rc = insitu_error_set(err, INSITU_EINVAL,
                              "$batch: the body must be {\"requests\": [...]} with at least "
                              "one request");
    else if (json_array_size(reqs) > max)
        rc = insitu_error_set(err, INSITU_ELIMIT,
                              "$batch: more than %zu requests (send them in several batches)", max);
    struct strmap ids = {0}, groups = {0};
    for (size_t i = 0; !rc && i < json_array_size(reqs); i++)
        rc = json_request(b, json_array_get(reqs, i), i, &ids, &groups, max, err);
    strmap_free(&ids);
    strmap_free(&groups);
    json_decref(root);
    return rc;
}

int batch_parse(const char *content_type, const char *body, size_t len, size_t max_requests,
                struct batch *b, insitu_error *err)
{
    b->format = batch_format_of(content_type);
    if (!body)
        body = "";
    switch (b->format) {
    case BATCH_MULTIPART: return parse_multipart(content_type, body, len, max_requests, b, err);
    case BATCH_JSON: return parse_json(body, len, max_requests, b, err);
    default:
        return insitu_error_set(err, INSITU_EUNSUPPORTED,
                                "$batch: Content-Type '%.60s': send multipart/mixed (with a "
                                "boundary) or application/json",
                                content_type ? content_type : "");
    }
}

void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct batch_req *r = &b->reqs[i];
        free(r->url);
        free(r->id);
        free(r->content_type);
        free(r->body);
        free(r->where);
        for (size_t d = 0; d < r->n_depends; d++)
            free(r->depends[d]);
        free(r->depends);
    }
    free(b->reqs);
    for (size_t g = 0; g < b->n_groups; g++)
        free(b->groups[g]);
    free(b->groups);
    memset(b, 0, sizeof *b);
}

/* ==== answering ==== */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 424: return "Failed Dependency";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

void batch_answer_init(struct batch_answer *a, enum batch_format format, unsigned long seed)
{
    memset(a, 0, sizeof *a);
    a->format = format;
    /* a boundary nobody can place in a body on purpose: it changes with every
     * answer */
    uint64_t x = (uint64_t)seed * 0x9E3779B97F4A7C15ULL;
    x ^= x >> 31;
    snprintf(a->boundary, sizeof a->boundary, "batchresponse_%016llx", (unsigned long long)x);
    if (format == BATCH_JSON)
        sb_puts(&a->out, "{\"responses\":[");
}

static const char *delim(const struct batch_answer *a)
{
    return a->cs_boundary[0] ? a->cs_boundary : a->boundary;
}

static void put_multipart(struct batch_answer *a, const struct batch_req *r, int status,
                          const char *content_type, const char *location, const char *body,
                          size_t body_len)
{
    struct strbuf *sb = &a->out;
    sb_printf(sb,
              "--%s\r\nContent-Type: "
              "application/http\r\nContent-Transfer-Encoding: binary\r\n",
              delim(a));
    if (r && r->id)
        sb_printf(sb, "Content-ID: %s\r\n", r->id);
    sb_printf(sb, "\r\nHTTP/1.1 %d %s\r\n", status, reason(status));
    if (content_type && body_len)
        sb_printf(sb, "Content-Type: %s\r\n", content_type);
    if (location && *location)
        sb_printf(sb, "Location: %s\r\n", location);
    sb_printf(sb, "Content-Length: %zu\r\n\r\n", body_len);
    if (body_len)
        sb_append(sb, body, body_len);
    sb_puts(sb, "\r\n");
}

static void put_json(struct batch_answer *a, const struct batch_req *r, const char *group,
                     int status, const char *content_type, const char *location, const char *body,
                     size_t body_len)
{
    struct strbuf *sb = &a->out;
    sb_puts(sb, a->n_written++ ? ",{\"id\":" : "{\"id\":");
    sb_put_json_string(sb, r && r->id ? r->id : "");
    sb_printf(sb, ",\"status\":%d", status);
    if (group) {
        sb_puts(sb, ",\"atomicityGroup\":");
        sb_put_json_string(sb, group);
    }
    int has_loc = location && *location, has_type = content_type && body_len;
    if (has_loc) {
        /* FROST-Server's place for it, beside OData 4.01's headers */
        sb_puts(sb, ",\"location\":");
        sb_put_json_string(sb, location);
    }
    if (has_loc || has_type) {
        sb_puts(sb, ",\"headers\":{");
        if (has_loc) {
            sb_puts(sb, "\"location\":");
            sb_put_json_string(sb, location);
        }
        if (has_type) {
            sb_puts(sb, has_loc ? ",\"content-type\":" : "\"content-type\":");
            sb_put_json_string(sb, content_type);
        }
        sb_putc(sb, '}');
    }
    if (body_len) {
        sb_puts(sb, ",\"body\":");
        if (media_is_json(content_type)) {
            sb_append(sb, body, body_len);
        } else {
            char *text = copy_n(body, body_len);
            sb_put_json_string(sb, text ? text : "");
            free(text);
        }
    }
    sb_putc(sb, '}');
}

void batch_answer_put(struct batch_answer *a, const struct batch_req *r, const char *group,
                      int status, const char *content_type, const char *location, const char *body,
                      size_t body_len)
{
    if (!body)
        body_len = 0;
    if (a->format == BATCH_JSON)
        put_json(a, r, group, status, content_type, location, body, body_len);
    else
        put_multipart(a, r, status, content_type, location, body, body_len);
}

void batch_changeset_open(struct batch_answer *a)
{
    a->n_changesets++;
    if (a->format == BATCH_JSON)
        return;
    snprintf(a->cs_boundary, sizeof a->cs_boundary, "changesetresponse_%.16s_%zu",
             a->boundary + strlen("batchresponse_"), a->n_changesets);
    sb_printf(&a->out, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", a->boundary,
              a->cs_boundary);
}

void batch_changeset_close(struct batch_answer *a)
{
    if (a->format == BATCH_JSON || !a->cs_boundary[0])
        return;
    sb_printf(&a->out, "--%s--\r\n", a->cs_boundary);
    a->cs_boundary[0] = '\0';
}

struct batch_mark batch_answer_mark(const struct batch_answer *a)
{
    struct batch_mark m = {a->out.len, a->n_written};
    return m;
}

void batch_answer_rewind(struct batch_answer *a, struct batch_mark m)
{
    if (m.len <= a->out.len) {
        a->out.len = m.len;
        if (a->out.data)
            a->out.data[m.len] = '\0';
    }
    a->n_written = m.n_written;
    a->cs_boundary[0] = '\0';
}

void batch_answer_end(struct batch_answer *a, char *content_type, size_t size)
{
    if (a->format == BATCH_JSON) {
        sb_puts(&a->out, "]}");
        snprintf(content_type, size, "application/json; charset=utf-8");
    } else {
        batch_changeset_close(a);
        sb_printf(&a->out, "--%s--\r\n", a->boundary);
        snprintf(content_type, size, "multipart/mixed; boundary=%s", a->boundary);
    }
}

void batch_answer_free(struct batch_answer *a) { sb_free(&a->out); }

/* ==== running a batch ==== */

struct run {
    struct sta_conn *c;
    /* runs one request (sta_handle, given by service.c: this file calls no layer above it) */
    void (*handle)(struct sta_conn *, const struct sta_request *, struct sta_response *);
    const struct sta_request *outer;
    struct batch *b;
    struct batch_answer a;
    struct strmap ids;  /* Content-ID / id -> index of the request */
    struct strmap gids; /* JSON atomicityGroup -> 1 + group index */
    int *status;        /* per request: its answer's status, 0 until run */
    char **created;     /* per request: the path of the entity it created
                           ("/v1.1/Things(5)") */
    int64_t *created_id;
    int *group_failed;
};

static void percent_decode(const char *s, size_t n, struct strbuf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            sb_putc(out, (char)strtol(hex, NULL, 16));
            i += 2;
        } else {
            sb_putc(out, s[i]);
        }
    }
}

/* The request created by the earlier request whose id is ref (n bytes), or -1.
 */
static long created_by(struct run *r, const char *ref, size_t n)
{
    int64_t i;
    if (!strmap_get(&r->ids, ref, n, &i) || !r->created[i])
        return -1;
    return (long)i;
}

/* The path (from the version on) and the raw query of request q's URL, into
 * path. */
static int request_path(struct run *r, const struct batch_req *q, struct strbuf *path,
                        const char **query, struct sta_response *resp)
{
    const char *u = q->url;
    if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) {
        u = strstr(u, "://") + 3;
        u += strcspn(u, "/?");
    }
    size_t plen = strcspn(u, "?");
    *query = u[plen] == '?' ? u + plen + 1 : NULL;
    size_t vlen = strlen(STA_VERSION_PATH);
    if (u[0] == '$' && strncmp(u, "$batch", 6) != 0) {
        size_t n = strcspn(u + 1, "/?");
        long i = created_by(r, u + 1, n);
        if (i < 0) {
            sta_error(resp, 400,
                      "$batch: %s: url '%.80s': no earlier request of the batch with "
                      "the id "
                      "'%.*s' created an entity",
                      q->where, q->url, (int)(n < 60 ? n : 60), u + 1);
            return -1;
        }
        sb_puts(path, r->created[i]);
        percent_decode(u + 1 + n, plen - 1 - n, path);
        return 0;
    }
    if (u[0] == '/') {
        /* an absolute path: from the version on (a proxy's prefix before it is
         * dropped) */
        for (const char *v = u; (v = strstr(v, STA_VERSION_PATH)) && v < u + plen; v++)
            if (v[vlen] == '/' || v + vlen == u + plen) {
                plen -= (size_t)(v - u);
                u = v;
                break;
            }
    } else {
        sb_printf(path, "%s/", STA_VERSION_PATH);
    }
    percent_decode(u, plen, path);
    return 0;
}

/* Replaces every {"@iot.id": "$x"} in j with the id of the entity request x
 * created. */
static int body_refs(struct run *r, const struct batch_req *q, json_t *j, struct sta_response *resp)
{
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) if (body_refs(r, q, v, resp)) return -1;
        return 0;
    }
    json_object_foreach(j, k, v)
    {
        if (strcmp(k, "@iot.id") == 0 && json_is_string(v) && json_string_value(v)[0] == '$') {
            const char *ref = json_string_value(v) + 1;
            long x = created_by(r, ref, strlen(ref));
            if (x < 0) {
                sta_error(resp, 400,
                          "$batch: %s: body: \"@iot.id\": \"$%.60s\": no earlier "
                          "request of the "
                          "batch with the id '%.60s' created an entity",
                          q->where, ref, ref);
                return -1;
            }
            json_object_set_new(j, k, json_integer(r->created_id[x]));
        } else if (body_refs(r, q, v, resp)) {
            return -1;
        }
    }
    return 0;
}

/* A copy of q's body with its "$x" references resolved (NULL: use the body as
 * it is). */
static int resolve_body(struct run *r, const struct batch_req *q, char **out,
                        struct sta_response *resp)
{
    *out = NULL;
    if (!q->body || !media_is_json(q->content_type) || !memchr(q->body, '$', q->body_len))
        return 0;
    json_t *j = json_loadb(q->body, q->body_len, 0, NULL);
    if (!j) /* sta_handle says what is wrong with it */
        return 0;
    int rc = body_refs(r, q, j, resp);
    if (!rc)
        *out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return rc;
}

/* 0 when the requests q depends on succeeded; else fills resp with 424. */
static int check_depends(struct run *r, const struct batch_req *q, struct sta_response *resp)
{
    for (size_t d = 0; d < q->n_depends; d++) {
        const char *dep = q->depends[d];
        int64_t x;
        int failed = strmap_get(&r->ids, dep, strlen(dep), &x)
                         ? r->status[x] == 0 || r->status[x] >= 400
                         : strmap_get(&r->gids, dep, strlen(dep), &x) && r->group_failed[x - 1];
        if (failed) {
            sta_error(resp, 424, "$batch: %s: not run: it depends on '%.60s', which failed",
                      q->where, dep);
            return -1;
        }
    }
    return 0;
}

/* Records what request i created (its Location), for "$id" references. */
static void remember(struct run *r, size_t i, const struct sta_response *resp)
{
    const char *loc = resp->location;
    const char *base = r->outer->base ? r->outer->base : "";
    size_t blen = strlen(base);
    const char *p = strstr(loc + (strncmp(loc, base, blen) == 0 ? blen : 0), STA_VERSION_PATH "/");
    const char *paren = p ? strrchr(p, '(') : NULL;
    if (!paren)
        return;
    free(r->created[i]);
    r->created[i] = xstrdup(p);
    r->created_id[i] = strtoll(paren + 1, NULL, 10);
}

/* Runs request i into resp (zero-initialised). */
static void run_one(struct run *r, size_t i, int in_changeset, struct sta_response *resp)
{
    const struct batch_req *q = &r->b->reqs[i];
    struct strbuf path = {0};
    const char *query = NULL;
    char *body = NULL;
    if (check_depends(r, q, resp) || request_path(r, q, &path, &query, resp) ||
        resolve_body(r, q, &body, resp))
        goto out;
    if (strcmp(sb_str(&path), STA_VERSION_PATH "/$batch") == 0) {
        sta_error(resp, 400, "$batch: %s: a batch cannot hold a batch", q->where);
        goto out;
    }
    if (in_changeset && (strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0)) {
        sta_error(resp, 400,
                  "$batch: %s: a changeset (atomicity group) holds only POST, "
                  "PATCH, PUT and "
                  "DELETE requests; send the GET outside it",
                  q->where);
        goto out;
    }
    struct sta_param *params = NULL;
    size_t nparams = 0;
    char *storage = NULL;
    if (sta_parse_query(query, &params, &nparams, &storage)) {
        sta_error(resp, 500, "out of memory");
        goto out;
    }
    struct sta_request sub = *r->outer;
    sub.method = q->method;
    sub.path = sb_str(&path);
    sub.params = params;
    sub.nparams = nparams;
    sub.body = body ? body : q->body;
    sub.body_len = body ? strlen(body) : q->body_len;
    sub.content_type = q->content_type;
    r->handle(r->c, &sub, resp);
    free(params);
    free(storage);
    if (resp->status == 201 && resp->location[0])
        remember(r, i, resp);
out:
    r->status[i] = resp->status;
    free(body);
    sb_free(&path);
}

static void put_response(struct run *r, size_t i, const struct sta_response *resp)
{
    const struct batch_req *q = &r->b->reqs[i];
    const char *group = r->b->format == BATCH_JSON && q->group ? r->b->groups[q->group - 1] : NULL;
    batch_answer_put(&r->a, q, group, resp->status, resp->content_type, resp->location,
                     resp->body.data, resp->body.len);
}

/* The answer to a failed changeset [first, end): the multipart format answers
 * it with the one failure; JSON answers each request, the others with 424. */
static void put_failed_group(struct run *r, size_t first, size_t end, size_t failed,
                             const struct sta_response *why)
{
    const struct batch_req *fq = &r->b->reqs[failed < end ? failed : first];
    if (r->b->format != BATCH_JSON) {
        put_response(r, failed < end ? failed : first, why);
        return;
    }
    for (size_t k = first; k < end; k++) {
        if (k == failed || failed >= end) {
            put_response(r, k, why);
            continue;
        }
        struct sta_response other = {0};
        sta_error(&other, 424,
                  "$batch: %s: %s: request '%.60s' of atomicity group '%.60s' failed "
                  "(status %d), so nothing of the group was written",
                  r->b->reqs[k].where, k < failed ? "rolled back" : "not run", fq->id,
                  r->b->groups[fq->group - 1], why->status);
        put_response(r, k, &other);
        sta_response_free(&other);
    }
}

/* Runs the changeset [first, end) as one transaction. */
static void run_group(struct run *r, size_t first, size_t end)
{
    struct batch_mark mark = batch_answer_mark(&r->a);
    struct sta_response fail = {0};
    size_t failed = end;
    insitu_error err = {0};
    const struct sta_request *outer = r->outer;
    if (outer->write_refused) {
        /* refused as its single requests are, before the store is asked for
         * anything */
        sta_error(&fail, outer->write_refused, "%s",
                  outer->write_refusal ? outer->write_refusal : "writes are refused");
        failed = first;
    } else if (sta_changeset_begin(r->c, &err)) {
        sta_error(&fail, sta_status_of(err.code), "$batch: %s: %s", r->b->reqs[first].where,
                  err.message);
        failed = first;
    } else {
        batch_changeset_open(&r->a);
        for (size_t i = first; i < end; i++) {
            struct sta_response resp = {0};
            run_one(r, i, 1, &resp);
            if (resp.status >= 400) {
                fail = resp;
                failed = i;
                break;
            }
            put_response(r, i, &resp);
            sta_response_free(&resp);
        }
        batch_changeset_close(&r->a);
        if (failed < end) {
            sta_changeset_end(r->c, 0, &err);
        } else if (sta_changeset_end(r->c, 1, &err)) {
            sta_error(&fail, sta_status_of(err.code),
                      "$batch: the changeset of %s could not be committed: %s",
                      r->b->reqs[first].where, err.message);
            failed = end; /* no request failed: the commit did */
            fail.status = fail.status ? fail.status : 500;
        }
    }
    if (!fail.status) {
        sta_response_free(&fail);
        return;
    }
    batch_answer_rewind(&r->a, mark);
    for (size_t k = first; k < end; k++) {
        free(r->created[k]);
        r->created[k] = NULL;
        if (k != failed)
            r->status[k] = 424;
    }
    r->group_failed[r->b->reqs[first].group - 1] = 1;
    put_failed_group(r, first, end, failed, &fail);
    sta_response_free(&fail);
}

static int run_init(struct run *r, struct sta_conn *c, const struct sta_request *req,
                    struct batch *b)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->outer = req;
    r->b = b;
    size_t n = b->n ? b->n : 1;
    r->status = calloc(n, sizeof *r->status);
    r->created = calloc(n, sizeof *r->created);
    r->created_id = calloc(n, sizeof *r->created_id);
    r->group_failed = calloc(b->n_groups + 1, sizeof *r->group_failed);
    if (!r->status || !r->created || !r->created_id || !r->group_failed)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        if (b->reqs[i].id && strmap_put(&r->ids, b->reqs[i].id, strlen(b->reqs[i].id), (int64_t)i))
            return -1;
    for (size_t g = 0; g < b->n_groups; g++)
        if (strmap_put(&r->gids, b->groups[g], strlen(b->groups[g]), (int64_t)g + 1))
            return -1;
    batch_answer_init(&r->a, b->format, (unsigned long)c->now_us ^ (unsigned long)(uintptr_t)r);
    return 0;
}

static void run_free(struct run *r)
{
    for (size_t i = 0; r->created && i < r->b->n; i++)
        free(r->created[i]);
    free(r->created);
    free(r->created_id);
    free(r->status);
    free(r->group_failed);
    strmap_free(&r->ids);
    strmap_free(&r->gids);
    batch_answer_free(&r->a);
}

void sta_batch(struct sta_conn *c, const struct sta_request *req, struct sta_response *resp,
               void (*handle)(struct sta_conn *, const struct sta_request *, struct sta_response *))
{
    if (strcmp(req->method, "POST") != 0) {
        sta_error(resp, 405, "$batch takes POST (a multipart/mixed or JSON batch)");
        return;
    }
    if (batch_format_of(req->content_type) == BATCH_NONE) {
        sta_error(resp, 415,
                  "$batch: Content-Type '%.60s' is not accepted: send "
                  "multipart/mixed (with a "
                  "boundary) or application/json",
                  req->content_type ? req->content_type : "");
        return;
    }
    struct batch b = {0};
    insitu_error err = {0};
    int rc =
        batch_parse(req->content_type, req->body, req->body_len, STA_BATCH_MAX_REQUESTS, &b, &err);
    if (rc) {
        sta_error(resp, rc == INSITU_ELIMIT ? 413 : sta_status_of(rc), "%s", err.message);
        batch_free(&b);
        return;
    }
    struct run r;
    int bad = run_init(&r, c, req, &b);
    r.handle = handle;
    if (bad) {
        sta_error(resp, 500, "out of memory");
    } else {
        size_t limit = c->svc->cfg.max_answer;
        for (size_t i = 0; i < b.n;) {
            size_t end = i + 1;
            while (b.reqs[i].group && end < b.n && b.reqs[end].group == b.reqs[i].group)
                end++;
            if (r.a.out.len > limit) {
                struct sta_response stop = {0};
                sta_error(&stop, 413,
                          "$batch: %s: not run: the batch's answer passed its limit of %zu "
                          "bytes (send the rest in another batch)",
                          b.reqs[i].where, limit);
                for (; i < end; i++)
                    put_response(&r, i, &stop);
                sta_response_free(&stop);
                continue;
            }
            if (b.reqs[i].group) {
                run_group(&r, i, end);
            } else {
                struct sta_response one = {0};
                run_one(&r, i, 0, &one);
                put_response(&r, i, &one);
                sta_response_free(&one);
            }
            i = end;
        }
        batch_answer_end(&r.a, resp->ctype, sizeof resp->ctype);
        sb_free(&resp->body);
        resp->body = r.a.out;
        memset(&r.a.out, 0, sizeof r.a.out);
        resp->status = 200;
        resp->content_type = resp->ctype;
        resp->location[0] = '\0';
    }
    run_free(&r);
    batch_free(&b);
}
