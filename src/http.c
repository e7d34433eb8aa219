/*
 * http.c: `insitu serve`'s HTTP server on libmicrohttpd (see http.h): a thread pool where
 * every thread answers through its own store connection (SQLite connections are opened
 * without a mutex) and its own read-store connection when reads go elsewhere (a streaming
 * replica), URL, header, body and time limits, write credentials (Bearer or Basic, their
 * SHA-256 digests compared in constant time), CORS for the origins configured (none by
 * default), the access log, and a stop that lets requests finish.
 * It never prints: errors go back to the caller, requests to the access log.
 */
#include "http.h"

#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "accesslog.h"
#include "sta.h"
#include "util.h"

/* A thread's connections: writes (and reads without a read store) through st; reads
 * through rst when there is a read store. */
struct worker {
    insitu_store *st, *rst;
    struct sta_conn *conn, *rconn;
};

struct http_server {
    struct http_config cfg;
    struct MHD_Daemon *d;
    struct sta_service *svc;
    struct worker *workers;
    int nworkers;
    atomic_int next_worker;
    atomic_int inflight;
    atomic_int stopping;
    char listen_base[160];
    int port;
};

/* One request, across the callbacks that receive its body. */
struct req {
    double t0;
    struct strbuf body;
    int too_large;
    int answered;
    char user[128];
    int write_refused;         /* a $batch without a valid credential: the status its writes get */
    const char *write_refusal; /* (static) */
};

static _Thread_local struct worker *tl_worker;
static _Thread_local const struct http_server *tl_server;

/* The worker (store connection) of the calling thread, claimed on its first request. */
static struct worker *claim_worker(struct http_server *srv)
{
    if (tl_server == srv && tl_worker)
        return tl_worker;
    int i = atomic_fetch_add(&srv->next_worker, 1);
    if (i >= srv->nworkers)
        return NULL;
    tl_server = srv;
    tl_worker = &srv->workers[i];
    return tl_worker;
}

static int is_write(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
           strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0;
}

/* ---- responses ---- */

/* The Access-Control-Allow-Origin of an answer under --cors, or NULL (no CORS header): "*"
 * when any origin is configured, else the request's Origin when it is one of the list. */
static const char *cors_origin(const struct http_server *srv, struct MHD_Connection *conn)
{
    const char *list = srv->cfg.cors;
    if (!list)
        return NULL;
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    for (const char *p = list; *p;) {
        p += strspn(p, ", ");
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ')
            n--;
        if (n == 1 && *p == '*')
            return "*";
        if (n && origin && strlen(origin) == n && strncmp(origin, p, n) == 0)
            return origin;
        p += n;
    }
    return NULL;
}

static void add_cors_headers(const struct http_server *srv, struct MHD_Connection *conn,
                             struct MHD_Response *r)
{
    const char *origin = cors_origin(srv, conn);
    /* an answer that depends on the Origin must not be cached for another one */
    if (srv->cfg.cors && strcmp(srv->cfg.cors, "*") != 0)
        MHD_add_response_header(r, "Vary", "Origin");
    if (!origin)
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "Location");
}

/* Queues a response whose body (a malloc'ed buffer, or NULL) MHD frees. */
static enum MHD_Result respond(const struct http_server *srv, struct MHD_Connection *conn,
                               int status, char *body, size_t len, const char *content_type,
                               const char *location, const char *const *extra)
{
    struct MHD_Response *r = body
                                 ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                 : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    add_cors_headers(srv, conn, r);
    if (body && content_type)
        MHD_add_response_header(r, "Content-Type", content_type);
    if (location && *location)
        MHD_add_response_header(r, "Location", location);
    for (int i = 0; extra && extra[i]; i += 2)
        MHD_add_response_header(r, extra[i], extra[i + 1]);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(const struct http_server *srv, struct MHD_Connection *conn,
                                  int status, const char *msg, const char *const *extra,
                                  size_t *bytes)
{
    struct sta_response resp = {0};
    sta_error(&resp, status, "%s", msg);
    *bytes = resp.body.len;
    return respond(srv, conn, status, resp.body.data, resp.body.len, resp.content_type, NULL,
                   extra);
}

/* ---- credentials ---- */

/* 1 when the secret sent is the one configured. Their SHA-256 digests are compared, in
 * constant time: neither the bytes nor the length of the configured secret leak through the
 * time a wrong one takes to refuse. */
static int same_secret(const char *configured, const char *sent, size_t sent_len)
{
    unsigned char want[32], got[32];
    unsigned int wn = 0, gn = 0;
    if (!EVP_Digest(configured, strlen(configured), want, &wn, EVP_sha256(), NULL) ||
        !EVP_Digest(sent, sent_len, got, &gn, EVP_sha256(), NULL) || wn != sizeof want ||
        gn != sizeof got)
        return 0;
    return CRYPTO_memcmp(want, got, sizeof want) == 0;
}

/* 0 when the request may write (user filled), else the HTTP status to refuse it with. */
static int check_credential(const struct http_server *srv, struct MHD_Connection *conn, char *user,
                            size_t user_size, const char **why)
{
    const struct http_config *cfg = &srv->cfg;
    if (cfg->read_only) {
        *why = "this server is read-only (insitu serve --read-only)";
        return 405;
    }
    if (!cfg->token && !cfg->user) {
        *why = "writes are disabled: no credential is configured (INSITU_SERVE_TOKEN, "
               "INSITU_SERVE_USER and INSITU_SERVE_PASSWORD, or --auth-file)";
        return 403;
    }
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || !*auth) {
        *why = "writing needs a credential (Authorization: Bearer or Basic)";
        return 401;
    }
    if (strncasecmp(auth, "Bearer ", 7) == 0 && cfg->token) {
        const char *t = auth + 7;
        while (*t == ' ')
            t++;
        if (same_secret(cfg->token, t, strlen(t))) {
            snprintf(user, user_size, "token");
            return 0;
        }
    } else if (strncasecmp(auth, "Basic ", 6) == 0 && cfg->user) {
        const char *b64 = auth + 6;
        while (*b64 == ' ')
            b64++;
        size_t n = strlen(b64);
        unsigned char *raw = n < 4096 ? malloc(n + 4) : NULL;
        int len = raw && n % 4 == 0 ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
        if (len > 0) {
            len -= (n > 0 && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
            raw[len] = '\0';
            char *colon = memchr(raw, ':', (size_t)len);
            if (colon) {
                *colon = '\0';
                int ok = same_secret(cfg->user, (char *)raw, strlen((char *)raw)) &
                         same_secret(cfg->password ? cfg->password : "", colon + 1,
                                     (size_t)(len - (colon + 1 - (char *)raw)));
                if (ok) {
                    snprintf(user, user_size, "%s", (char *)raw);
                    free(raw);
                    return 0;
                }
            }
        }
        free(raw);
    }
    *why = "the credential is not valid";
    return 403;
}

/* ---- requests ---- */

struct params {
    struct sta_param *p;
    size_t n, cap;
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct params *ps = cls;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 8;
        struct sta_param *p = realloc(ps->p, cap * sizeof *p);
        if (!p)
            return MHD_NO;
        ps->p = p;
        ps->cap = cap;
    }
    ps->p[ps->n].key = key;
    ps->p[ps->n++].value = value ? value : "";
    return MHD_YES;
}

/* The base of links: --base-url, else the Host the client used (when it looks like one). */
static void request_base(const struct http_server *srv, struct MHD_Connection *conn,
                         struct strbuf *base)
{
    if (srv->cfg.base_url) {
        sb_puts(base, srv->cfg.base_url);
        return;
    }
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    int ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr(".-:[]_", *p);
    if (ok)
        sb_printf(base, "http://%s", host);
    else
        sb_puts(base, srv->listen_base);
}

static void client_address(struct MHD_Connection *conn, char *buf, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, size, "-");
    if (ci && ci->client_addr) {
        socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                               : sizeof(struct sockaddr_in);
        getnameinfo(ci->client_addr, len, buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST);
    }
}

static void log_request(const struct http_server *srv, struct MHD_Connection *conn,
                        const struct req *r, const char *method, const char *url,
                        const struct params *ps, int status, size_t bytes)
{
    if (!srv->cfg.log)
        return;
    char client[64];
    client_address(conn, client, sizeof client);
    struct strbuf target = {0};
    sb_puts(&target, url);
    for (size_t i = 0; ps && i < ps->n; i++) {
        sb_putc(&target, i ? '&' : '?');
        sta_url_encode(&target, ps->p[i].key);
        sb_putc(&target, '=');
        sta_url_encode(&target, ps->p[i].value);
    }
    accesslog_write(srv->cfg.log, client, r->user[0] ? r->user : NULL, method, sb_str(&target),
                    status, bytes, now_seconds() - r->t0);
    sb_free(&target);
}

static enum MHD_Result answer(struct http_server *srv, struct MHD_Connection *conn, struct req *r,
                              const char *url, const char *method)
{
    struct worker *wk = claim_worker(srv);
    size_t bytes = 0;
    if (!wk) {
        enum MHD_Result ok =
            send_error(srv, conn, 503, "no store connection for this thread", NULL, &bytes);
        log_request(srv, conn, r, method, url, NULL, 503, bytes);
        return ok;
    }
    struct params ps = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &ps);
    struct strbuf base = {0};
    request_base(srv, conn, &base);
    struct sta_request req = {method,
                              url,
                              ps.p,
                              ps.n,
                              r->body.data,
                              r->body.len,
                              sb_str(&base),
                              r->user[0] ? r->user : NULL,
                              MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
                              r->write_refused,
                              r->write_refusal};
    struct sta_response resp = {0};
    /* a read store takes the reads; a write, and the entity it answers with, stay on the
     * store written to (a replica may not have the new row yet) */
    sta_handle(wk->rconn && !is_write(method) ? wk->rconn : wk->conn, &req, &resp);
    int status = resp.status ? resp.status : 500;
    bytes = resp.body.len;
    static const char *const allow[] = {"Allow", "GET, HEAD, OPTIONS", NULL};
    /* 503: the store was busy or the request ran out of time; a client may try again */
    static const char *const retry[] = {"Retry-After", "5", NULL};
    /* 415: the media types a POST or a PATCH takes (RFC 5789, and W3C LDP's Accept-Post) */
    static const char *const accept_post[] = {"Accept-Post", STA_BODY_TYPES, NULL};
    static const char *const accept_patch[] = {"Accept-Patch", STA_PATCH_TYPES, NULL};
    const char *const *extra = status == 405                  ? allow
                               : status == 503                ? retry
                               : status != 415                ? NULL
                               : strcmp(method, "POST") == 0  ? accept_post
                               : strcmp(method, "PATCH") == 0 ? accept_patch
                                                              : NULL;
    const char *const link[] = {"Link", sb_str(&resp.link), NULL};
    if (status == 200 && resp.link.len)
        extra = link;
    enum MHD_Result ok =
        respond(srv, conn, status, resp.body.len || status == 200 ? resp.body.data : NULL,
                resp.body.len, resp.content_type, resp.location, extra);
    if (!(resp.body.len || status == 200))
        free(resp.body.data);
    sb_free(&resp.link);
    log_request(srv, conn, r, method, url, &ps, status, bytes);
    free(ps.p);
    sb_free(&base);
    return ok;
}

/* The length of the request target as decoded: the path and every query parameter. */
static enum MHD_Result add_param_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 2;
    return MHD_YES;
}

static size_t target_length(struct MHD_Connection *conn, const char *url)
{
    size_t n = strlen(url);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_param_length, &n);
    return n;
}

/* OPTIONS: the methods of the resource (Allow), and, for an origin --cors lets in, what a
 * browser may send (a CORS preflight). Without --cors no origin gets a grant. */
static enum MHD_Result preflight(struct http_server *srv, struct MHD_Connection *conn,
                                 struct req *r, const char *url)
{
    const char *methods =
        srv->cfg.read_only ? "GET, HEAD, OPTIONS" : "GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS";
    const char *const cors[] = {"Allow",
                                methods,
                                "Access-Control-Allow-Methods",
                                methods,
                                "Access-Control-Allow-Headers",
                                "Authorization, Content-Type",
                                "Access-Control-Max-Age",
                                "86400",
                                NULL};
    const char *const plain[] = {"Allow", methods, NULL};
    r->answered = 1;
    log_request(srv, conn, r, "OPTIONS", url, NULL, 204, 0);
    return respond(srv, conn, 204, NULL, 0, NULL, NULL, cors_origin(srv, conn) ? cors : plain);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct req *r = *con_cls;
    size_t bytes = 0;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->t0 = now_seconds();
        *con_cls = r;
        atomic_fetch_add(&srv->inflight, 1);
        static const char *const closing[] = {"Connection", "close", NULL};
        if (atomic_load(&srv->stopping)) {
            r->answered = 1;
            enum MHD_Result ok =
                send_error(srv, conn, 503, "the server is shutting down", closing, &bytes);
            log_request(srv, conn, r, method, url, NULL, 503, bytes);
            return ok;
        }
        if (target_length(conn, url) > srv->cfg.max_url) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "the request URL is longer than %zu bytes (insitu serve --max-url)",
                     srv->cfg.max_url);
            char path[104];
            snprintf(path, sizeof path, "%.100s", url);
            r->answered = 1;
            enum MHD_Result ok = send_error(srv, conn, 414, msg, closing, &bytes);
            log_request(srv, conn, r, method, path, NULL, 414, bytes);
            return ok;
        }
        if (strcmp(method, "OPTIONS") == 0)
            return preflight(srv, conn, r, url);
        if (is_write(method)) {
            const char *why = NULL;
            int status = check_credential(srv, conn, r->user, sizeof r->user, &why);
            /* a batch may read without a credential: its writes are refused one by one */
            if (status && strcmp(url, STA_VERSION_PATH "/$batch") == 0) {
                r->write_refused = status;
                r->write_refusal = why;
                status = 0;
            }
            if (status) {
                static const char *const challenge[] = {
                    "WWW-Authenticate", "Bearer realm=\"insitu\", Basic realm=\"insitu\"", NULL};
                static const char *const allow[] = {"Allow", "GET, HEAD, OPTIONS", NULL};
                r->answered = 1;
                enum MHD_Result ok = send_error(srv, conn, status, why,
                                                status == 401   ? challenge
                                                : status == 405 ? allow
                                                                : NULL,
                                                &bytes);
                log_request(srv, conn, r, method, url, NULL, status, bytes);
                return ok;
            }
            const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoull(cl, NULL, 10) > srv->cfg.max_body)
                r->too_large = 1;
        }
        return MHD_YES;
    }
    if (r->answered) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->too_large || r->body.len + *upload_size > srv->cfg.max_body) {
            r->too_large = 1;
            sb_free(&r->body);
        } else if (sb_append(&r->body, upload_data, *upload_size)) {
            r->too_large = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    r->answered = 1;
    if (r->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", srv->cfg.max_body);
        enum MHD_Result ok = send_error(srv, conn, 413, msg, NULL, &bytes);
        log_request(srv, conn, r, method, url, NULL, 413, bytes);
        return ok;
    }
    return answer(srv, conn, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct http_server *srv = cls;
    struct req *r = *con_cls;
    if (!r)
        return;
    sb_free(&r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

/* ---- starting and stopping ---- */

static void close_workers(struct http_server *srv)
{
    for (int i = 0; i < srv->nworkers; i++) {
        sta_conn_free(srv->workers[i].conn);
        sta_conn_free(srv->workers[i].rconn);
        if (i == 0)
            sta_service_free(srv->svc, srv->workers[0].st);
        insitu_store_close(srv->workers[i].st);
        insitu_store_close(srv->workers[i].rst);
    }
    if (!srv->nworkers)
        sta_service_free(srv->svc, NULL);
    free(srv->workers);
}

/* How many connections the server keeps open at once: 4096, or fewer when the file
 * descriptors allowed (raised to the hard limit first) would not hold them beside the store
 * connections; a client over the limit waits in the listen backlog. */
static unsigned connection_limit(int threads)
{
    struct rlimit rl;
    unsigned limit = 4096;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return limit;
    if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < limit + 256) {
        rl.rlim_cur = rl.rlim_max < limit + 256 ? rl.rlim_max : limit + 256;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    /* the store connections (two each with a read store), logs, the listening socket */
    rlim_t reserved = 64 + 4 * (rlim_t)threads;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < limit + reserved)
        limit = rl.rlim_cur > reserved + 16 ? (unsigned)(rl.rlim_cur - reserved) : 16;
    return limit;
}

int http_start(const struct http_config *cfg, struct http_server **out, insitu_error *err)
{
    *out = NULL;
    struct http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    srv->cfg = *cfg;
    if (srv->cfg.threads < 1)
        srv->cfg.threads = 1;
    if (!srv->cfg.max_url)
        srv->cfg.max_url = 32768;
    if (!srv->cfg.max_header)
        srv->cfg.max_header = 65536;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    int gai = getaddrinfo(cfg->host, port, &hints, &ai);
    if (gai) {
        free(srv);
        return insitu_error_set(err, INSITU_EUSAGE, "--listen %s: %s", cfg->host,
                                gai_strerror(gai));
    }
    struct sta_config sc = {0};
    sc.query_seconds = cfg->query_seconds;
    sc.max_top = cfg->max_top;
    sc.on_change = cfg->on_change;
    sc.on_change_ctx = cfg->on_change_ctx;
    sc.mqtt_endpoint = cfg->mqtt_endpoint;
    sc.mqtt_creates = cfg->mqtt_creates;
    struct strbuf src = {0};
    int rc = 0;
    /* one connection per thread, and one more: a pool thread claims one on first use */
    srv->workers = calloc((size_t)srv->cfg.threads + 1, sizeof *srv->workers);
    if (!srv->workers)
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    for (int i = 0; !rc && i <= srv->cfg.threads; i++) {
        struct worker *wk = &srv->workers[i];
        rc = insitu_store_open(cfg->store_uri, cfg->read_only ? INSITU_OPEN_READONLY : 0, &wk->st,
                               err);
        if (!rc)
            srv->nworkers++;
        if (!rc && cfg->read_store_uri) {
            rc = insitu_store_open(cfg->read_store_uri, INSITU_OPEN_READONLY, &wk->rst, err);
            if (rc)
                insitu_error_prefix(err, "--read-store");
        }
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (!rc) {
        srv->d = MHD_start_daemon(
            flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
            ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->cfg.threads,
            MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_seconds ? cfg->idle_seconds : 60u,
            MHD_OPTION_CONNECTION_LIMIT, connection_limit(srv->cfg.threads),
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->cfg.max_header, MHD_OPTION_LISTEN_BACKLOG_SIZE,
            1024u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
        if (!srv->d)
            rc = insitu_error_set(err, INSITU_EIO,
                                  "cannot listen on %s port %d (in use, or not an address of "
                                  "this machine?)",
                                  cfg->host, cfg->port);
    }
    freeaddrinfo(ai);
    if (!rc) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = di ? di->port : cfg->port;
        int v6 = strchr(cfg->host, ':') != NULL;
        snprintf(srv->listen_base, sizeof srv->listen_base, "http://%s%s%s:%d", v6 ? "[" : "",
                 cfg->host, v6 ? "]" : "", srv->port);
        sb_printf(&src, "%s%s", cfg->base_url ? cfg->base_url : srv->listen_base, STA_VERSION_PATH);
        sc.source = sb_str(&src);
        rc = sta_service_new(&sc, &srv->svc, err);
    }
    for (int i = 0; !rc && i < srv->nworkers; i++) {
        struct worker *wk = &srv->workers[i];
        rc = sta_conn_new(srv->svc, wk->st, &wk->conn, err);
        if (!rc && wk->rst)
            rc = sta_conn_new(srv->svc, wk->rst, &wk->rconn, err);
    }
    sb_free(&src);
    if (rc) {
        if (srv->d)
            MHD_stop_daemon(srv->d);
        close_workers(srv);
        free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

int http_port(const struct http_server *srv) { return srv->port; }

void http_stop(struct http_server *srv, double grace_seconds)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    MHD_socket fd = MHD_quiesce_daemon(srv->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    double until = now_seconds() + grace_seconds;
    while (atomic_load(&srv->inflight) > 0 && now_seconds() < until) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(srv->d);
    close_workers(srv);
    free(srv);
}
