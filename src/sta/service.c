/*
 * service.c: the entry of the SensorThings server, sta_handle(): the version prefix, $batch,
 * the resolution of the path (conn.c), then a read (read.c) or a write (write.c) by method,
 * with the body's media type checked. The layers only call downwards: service.c -> batch.c,
 * read.c, write.c -> conn.c (write.c also uses read.c for the entity it answers with, and
 * patch.c); batch.c runs its requests through the handler it is given.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batch.h"
#include "patch.h"
#include "timeutil.h"

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

static void dispatch(struct sta_conn *c, const struct sta_request *req,
                     struct sta_response *resp);

/* A read (its path too) may spend query_seconds in the database; the limit is set for the
 * whole request, so that PostgreSQL's statement_timeout is not set and reset between the
 * statements of one request. */
void sta_handle(struct sta_conn *c, const struct sta_request *req, struct sta_response *resp)
{
    c->now_us = wall_now_us();
    int limited = c->st->ops->set_deadline && c->svc->cfg.query_seconds > 0 &&
                  (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0);
    if (limited)
        c->st->ops->set_deadline(
            c->st, (int64_t)((now_seconds() + c->svc->cfg.query_seconds) * 1e6));
    dispatch(c, req, resp);
    if (limited)
        c->st->ops->set_deadline(c->st, 0);
}

/* 1 when a body of this Content-Type is read (as JSON): application/json (any parameters),
 * none, or application/x-www-form-urlencoded, which curl -d sends unless told otherwise. */
static int body_type_ok(const char *content_type)
{
    static const char *const taken[] = {"application/json", "application/x-www-form-urlencoded"};
    if (!content_type)
        return 1;
    const char *s = content_type;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, ";");
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 1;
    for (size_t k = 0; k < ARRAY_LEN(taken); k++)
        if (strlen(taken[k]) == n && strncasecmp(s, taken[k], n) == 0)
            return 1;
    return 0;
}

static void dispatch(struct sta_conn *c, const struct sta_request *req,
                     struct sta_response *resp)
{
    resp->content_type = "application/json; charset=utf-8";
    resp->location[0] = '\0';
    const char *path = req->path ? req->path : "";
    size_t vlen = strlen(STA_VERSION_PATH);
    if (strncmp(path, STA_VERSION_PATH, vlen) != 0 || (path[vlen] && path[vlen] != '/')) {
        sta_error(resp, 404, "%.100s: not found (the SensorThings API is at %s)", path,
                  STA_VERSION_PATH);
        return;
    }
    if (strcmp(path + vlen, "/$batch") == 0) {
        sta_batch(c, req, resp, sta_handle);
        return;
    }
    struct sta_target t;
    if (sta_resolve(c, path + vlen, &t, resp))
        return;
    struct strbuf base = {0};
    sta_base_of(&base, req->base);
    /* a page of entities: no reallocation on the way */
    if (sb_grow(&resp->body, 16384) == 0)
        resp->body.data[resp->body.len] = '\0';
    const char *m = req->method;
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        sta_read(c, req, &t, sb_str(&base), resp);
    else if (req->write_refused)
        sta_error(resp, req->write_refused, "%s",
                  req->write_refusal ? req->write_refusal : "writes are refused");
    else if ((strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0) &&
             !body_type_ok(req->content_type) &&
             !(strcmp(m, "PATCH") == 0 && sta_is_json_patch(req->content_type)))
        sta_error(resp, 415, "Content-Type '%.60s' is not accepted: send the body as %s",
                  req->content_type, strcmp(m, "PATCH") == 0 ? STA_PATCH_TYPES : STA_BODY_TYPES);
    else if (strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0 ||
             strcmp(m, "DELETE") == 0)
        sta_write(c, req, &t, resp);
    else
        sta_error(resp, 405, "method %.20s is not supported", m);
    sb_free(&base);
}
