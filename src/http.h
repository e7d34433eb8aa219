/*
 * http.h: the HTTP server of `insitu serve` (libmicrohttpd): listening, a thread pool with one
 * store connection per thread (two with a read store: reads go to it, writes to the store),
 * request size and time limits, write credentials, CORS when configured, the access log,
 * and a graceful stop.
 * Requests are answered by src/sta/ (sta_handle); this module never reads or writes the store itself beyond
 * opening and closing connections.
 */
#ifndef INSITU_HTTP_H
#define INSITU_HTTP_H

#include <stddef.h>

#include "insitu.h"

struct accesslog;
struct sta_change;

struct http_config {
    const char *store_uri;
    const char *read_store_uri; /* GET and HEAD read from it (opened read-only), or NULL */
    const char *host;          /* address to bind ("127.0.0.1", "::1", "0.0.0.0") */
    int port;                  /* 0: any free port (see http_port()) */
    const char *base_url;      /* links start with it; NULL: http://<Host header> */
    int threads;               /* worker threads, each with its own store connection */
    int read_only;             /* refuse every write (405) */
    const char *token;         /* bearer token that allows writes, or NULL */
    const char *user;          /* HTTP Basic user and password that allow writes, or NULL */
    const char *password;
    size_t max_body;           /* largest request body, bytes */
    unsigned idle_seconds;     /* a connection idle this long is closed */
    double query_seconds;      /* time limit of one read request in the database */
    struct accesslog *log;     /* may be NULL */
    /* told of every entity the API's writes create or update, after the commit (mqtt.c) */
    void (*on_change)(void *ctx, const struct sta_change *ch);
    void *on_change_ctx;
    const char *mqtt_endpoint; /* sta_config.mqtt_endpoint */
    int mqtt_creates;
    /* CORS: the origins browsers may read from, comma separated ("*": any), or NULL: no
     * Access-Control-* header and no preflight grant */
    const char *cors;
    size_t max_url;    /* longest request target (path and query), bytes; 0: 32768 */
    size_t max_header; /* request line and headers together, bytes; 0: 65536 */
    int64_t max_top;   /* largest page (sta_config.max_top); 0: 10000 */
};

struct http_server;

/* Opens the store connections and starts listening. */
int http_start(const struct http_config *cfg, struct http_server **out, insitu_error *err);
/* The port actually bound. */
int http_port(const struct http_server *srv);
/* Stops: no new connections or requests; requests in progress finish (waiting at most
 * grace_seconds) and their writes are committed; then threads and connections close and the
 * provenance run of the API's writes is marked complete. */
void http_stop(struct http_server *srv, double grace_seconds);

#endif
