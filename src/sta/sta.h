/*
 * sta.h: the OGC SensorThings API v1.1 request handler: a request (method, path, decoded
 * query parameters, body) in, a response (status, JSON body, Location) out, over one store
 * connection. It knows nothing of HTTP transport, sockets, credentials or threads: http.c
 * does, and tests call sta_handle() directly.
 */
#ifndef INSITU_STA_H
#define INSITU_STA_H

#include <stddef.h>
#include <stdint.h>

#include "insitu.h"
#include "util.h"

#define STA_VERSION_PATH "/v1.1"
/* The media types a request body may be sent as (a 415 names them): JSON. A body without a
 * Content-Type, or sent as application/x-www-form-urlencoded (what curl -d says), is read as
 * JSON too. */
#define STA_BODY_TYPES "application/json"
/* What a PATCH body may be sent as besides: JSON Patch (RFC 6902), applied to the entity's
 * JSON as a GET shows it (Accept-Patch lists both). */
#define STA_PATCH_TYPES "application/json, application/json-patch+json"

/* A change a write made, told after its commit (sta_config.on_change). */
struct sta_change {
    const char *set; /* entity set: "Observations" */
    int64_t id;
    int created;         /* 1: a new entity; 0: an update */
    const char *changed; /* an update: the properties given, comma separated; NULL: all (PUT) */
};

/* Settings shared by every connection of a service. */
struct sta_config {
    int64_t default_top;    /* page size when $top is not given (100) */
    int64_t max_top;        /* largest page (10000): a larger $top is cut to it */
    double query_seconds;   /* time limit of one read request in the database (0: none) */
    size_t max_answer;      /* largest answer built, bytes (0: 64 MiB); larger is a 400 */
    const char *source;     /* provenance of writes: ingest_runs.source (e.g. the base URL) */
    /* Called once per entity a request created or updated, after the commit, on the thread
     * that wrote (NULL: none). It must not block: the answer waits for it (mqtt.c queues). */
    void (*on_change)(void *ctx, const struct sta_change *ch);
    void *on_change_ctx;
    /* The MQTT broker clients reach (mqtt://HOST:PORT), NULL: no MQTT. GET /v1.1 then lists
     * the receive-updates conformance class (and create-observations when mqtt_creates) with
     * this endpoint. */
    const char *mqtt_endpoint;
    int mqtt_creates;
};

struct sta_service;
struct sta_conn;

/* One decoded query parameter ("$filter", "name eq 'x'"). */
struct sta_param {
    const char *key, *value;
};

struct sta_request {
    const char *method;              /* GET, HEAD, POST, PATCH, PUT, DELETE */
    const char *path;                /* decoded, from the version on: "/v1.1/Things(1)" */
    const struct sta_param *params;  /* decoded query parameters, in order */
    size_t nparams;
    const char *body;                /* request body (POST, PATCH, PUT), may be NULL */
    size_t body_len;
    const char *base;                /* scheme://host[:port][/prefix] that links start with */
    const char *user;                /* who writes (for provenance), may be NULL */
    const char *content_type;        /* the body's Content-Type header, NULL when none */
    int write_refused;               /* not 0: writes are refused with this status ($batch: the
                                      * HTTP layer lets a batch in for its reads) */
    const char *write_refusal;       /* the message of that refusal */
};

struct sta_response {
    int status;
    struct strbuf body;
    const char *content_type; /* static */
    char location[512];       /* Location header of a 201, or "" */
    char ctype[96];           /* room for a content_type made per answer ($batch's boundary) */
    struct strbuf link;       /* Link header (RFC 8288: a CSV page's next page), or empty */
};

/* Creates the shared service state (the config is copied; strings are borrowed). */
int sta_service_new(const struct sta_config *cfg, struct sta_service **out, insitu_error *err);
/* Marks the provenance run of the service's writes complete (when it wrote anything), using
 * store st, then frees the service. NULL is a no-op. */
void sta_service_free(struct sta_service *svc, insitu_store *st);

/* A handler bound to one store connection (used by one thread at a time; the store is
 * borrowed and must outlive it). */
int sta_conn_new(struct sta_service *svc, insitu_store *st, struct sta_conn **out,
                 insitu_error *err);
void sta_conn_free(struct sta_conn *c);

/* Handles one request. resp must be zero-initialised; free it with sta_response_free(). A
 * failure is a response too: a 4xx/5xx status and a JSON error body
 * {"code": 400, "type": "error", "message": "..."} saying what and where. A body of another
 * type than JSON is a 415 (STA_BODY_TYPES says which are taken; a PATCH takes
 * STA_PATCH_TYPES). A DELETE of a collection with $filter deletes what the filter selects. */
void sta_handle(struct sta_conn *c, const struct sta_request *req, struct sta_response *resp);
void sta_response_free(struct sta_response *resp);

/* Fills resp with an error (status, message). */
void sta_error(struct sta_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Splits a raw query string ("a=b&c=%20d") into decoded parameters ('+' is a space). The
 * strings live in *storage; free *params and *storage. */
int sta_parse_query(const char *query, struct sta_param **params, size_t *n, char **storage);

/* Appends s percent-encoded for a query string (unreserved characters and ()',/:$@* kept). */
void sta_url_encode(struct strbuf *sb, const char *s);

#endif
