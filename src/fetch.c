/*
 * fetch.c: HTTP(S) downloads with libcurl into a cache folder: resume of partial files (Range
 * + If-Range), retries with exponential back-off, time-outs, a size limit, redirects followed
 * by hand so that credential headers never leave their host, SHA-256 while downloading.
 * It never interprets what it downloads and never writes outside the cache folder.
 */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "config.h"

enum { ERROR_BODY_MAX = 1024, NAME_MAX_LEN = 120 };

static const double DEFAULT_CONNECT_TIMEOUT = 30, DEFAULT_TIMEOUT = 900, DEFAULT_DELAY = 1,
                    MAX_DELAY = 60;
static const uint64_t DEFAULT_MAX_BYTES = UINT64_C(4) << 30;
static const int DEFAULT_RETRIES = 4, DEFAULT_REDIRECTS = 5;

int fetch_is_url(const char *s)
{
    return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

int fetch_escape(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                         (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
                         *p == '~';
        int rc = unreserved ? sb_putc(sb, (char)*p)
                            : sb_printf(sb, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the cache folder ---- */

static int mkdir_p(const char *path, insitu_error *err)
{
    char *copy = xstrdup(path);
    if (!copy)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                insitu_error_set(err, INSITU_EIO, "cache folder %s: %s", copy, strerror(errno));
                free(copy);
                return INSITU_EIO;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(copy);
    return 0;
}

int fetch_cache_dir(const insitu_fetch_options *o, char **out, insitu_error *err)
{
    struct strbuf sb = {0};
    const char *env;
    if (o && o->cache_dir && *o->cache_dir)
        sb_puts(&sb, o->cache_dir);
    else if ((env = getenv("INSITU_CACHE_DIR")) && *env)
        sb_puts(&sb, env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
        sb_printf(&sb, "%s/insitu", env);
    else if ((env = getenv("HOME")) && *env)
        sb_printf(&sb, "%s/.cache/insitu", env);
    else
        return insitu_error_set(err, INSITU_EUSAGE,
                                "no cache folder: set --cache-dir or INSITU_CACHE_DIR");
    int rc = mkdir_p(sb.data, err);
    if (rc) {
        sb_free(&sb);
        return rc;
    }
    *out = sb.data;
    return 0;
}

/* The file name for a URL: its last path segment, reduced to [A-Za-z0-9._-]. */
static void name_from_url(const char *url, char *name, size_t size)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t end = strcspn(p, "?#");
    const char *slash = NULL;
    for (size_t i = 0; i < end; i++)
        if (p[i] == '/')
            slash = p + i;
    const char *seg = slash ? slash + 1 : p + end;
    size_t n = (size_t)(p + end - seg), k = 0;
    for (size_t i = 0; i < n && k + 1 < size; i++) {
        char c = seg[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        name[k] = ok && !(k == 0 && c == '.') ? c : '_';
        k++;
    }
    name[k] = '\0';
    if (!k)
        snprintf(name, size, "download");
}

/* ---- the cache entry: <dir>/<name>, <name>.part, <name>.meta ---- */

struct entry {
    char *dir, *final, *part, *meta;
    int lock_fd;          /* the entry's folder, locked while this process downloads */
    /* from the meta file */
    char etag[256], last_modified[80], checksum[65];
    uint64_t bytes;
    int complete;
};

static void entry_free(struct entry *e)
{
    if (e->lock_fd >= 0)
        close(e->lock_fd); /* releases the lock */
    free(e->dir);
    free(e->final);
    free(e->part);
    free(e->meta);
}

static void meta_read(struct entry *e)
{
    json_t *j = json_load_file(e->meta, 0, NULL);
    if (!j)
        return;
    const char *s;
    if ((s = json_string_value(json_object_get(j, "etag"))))
        snprintf(e->etag, sizeof e->etag, "%s", s);
    if ((s = json_string_value(json_object_get(j, "last_modified"))))
        snprintf(e->last_modified, sizeof e->last_modified, "%s", s);
    if ((s = json_string_value(json_object_get(j, "sha256"))) && strlen(s) == 64)
        snprintf(e->checksum, sizeof e->checksum, "%s", s);
    e->bytes = (uint64_t)json_integer_value(json_object_get(j, "bytes"));
    e->complete = json_is_true(json_object_get(j, "complete"));
    json_decref(j);
}

/* Writes the meta file atomically (a temporary file renamed over it). */
static void meta_write(const struct entry *e, const char *url, int complete)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "url", url, "etag", e->etag, "last_modified",
                          e->last_modified, "complete", complete);
    if (!j)
        return;
    if (complete) {
        json_object_set_new(j, "sha256", json_string(e->checksum));
        json_object_set_new(j, "bytes", json_integer((json_int_t)e->bytes));
    }
    struct strbuf tmp = {0};
    sb_printf(&tmp, "%s.tmp", e->meta);
    if (json_dump_file(j, tmp.data, JSON_SORT_KEYS) == 0)
        rename(tmp.data, e->meta);
    else
        unlink(tmp.data);
    sb_free(&tmp);
    json_decref(j);
}

static int entry_open(struct entry *e, const char *url, const char *name,
                      const insitu_fetch_options *o, insitu_error *err)
{
    memset(e, 0, sizeof *e);
    e->lock_fd = -1;
    char *cache;
    int rc = fetch_cache_dir(o, &cache, err);
    if (rc)
        return rc;
    struct sha256 h;
    char hex[65], base[NAME_MAX_LEN + 1];
    sha256_init(&h);
    sha256_update(&h, url, strlen(url));
    sha256_final(&h, hex);
    if (name && *name)
        snprintf(base, sizeof base, "%s", name);
    else
        name_from_url(url, base, sizeof base);
    struct strbuf sb = {0};
    sb_printf(&sb, "%s/%.16s", cache, hex);
    free(cache);
    e->dir = sb.data;
    struct strbuf f = {0}, p = {0}, m = {0};
    sb_printf(&f, "%s/%s", e->dir, base);
    sb_printf(&p, "%s/%s.part", e->dir, base);
    sb_printf(&m, "%s/%s.meta", e->dir, base);
    e->final = f.data;
    e->part = p.data;
    e->meta = m.data;
    /* one download of a URL at a time: a second process waits for the first. The folder is
     * removed by a download that failed and left nothing in it: the lock is then taken again
     * on the folder made anew. */
    for (int attempt = 0; attempt < 100; attempt++) {
        rc = mkdir_p(e->dir, err);
        if (rc)
            return rc;
        e->lock_fd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (e->lock_fd < 0 || flock(e->lock_fd, LOCK_EX) != 0)
            return insitu_error_set(err, INSITU_EIO, "%s: cannot lock the cache entry: %s", url,
                                    strerror(errno));
        struct stat held, now;
        if (fstat(e->lock_fd, &held) == 0 && stat(e->dir, &now) == 0 &&
            held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
            meta_read(e);
            return 0;
        }
        close(e->lock_fd);
        e->lock_fd = -1;
    }
    return insitu_error_set(err, INSITU_EIO, "%s: cannot lock the cache entry %s", url, e->dir);
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- one request ---- */

struct transfer {
    CURL *curl;
    FILE *file;           /* the .part file (append) */
    const char *part;
    struct sha256 hash;
    int hash_live;
    uint64_t offset;      /* bytes of the .part before this response */
    uint64_t received;    /* body bytes of this response written */
    uint64_t max_bytes;
    uint64_t content_length;
    int has_length;
    long status;
    char reason[64];
    int body_to_file;     /* decided once the headers are in */
    int too_big, write_failed, bad_range;
    char etag[256], last_modified[80], content_type[128], location[16];
    long retry_after;     /* seconds, -1: none */
    struct strbuf error_body;
};

static int hdr_is(const char *line, size_t n, const char *name, const char **value)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return 0;
    *value = line + k + 1;
    return 1;
}

/* Copies a header value (trimmed, without CRLF) into buf. */
static void hdr_copy(const char *v, const char *end, char *buf, size_t size)
{
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= size)
        n = size - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
}

/* Starts the body's checksum afresh. */
static void hash_restart(struct sha256 *h)
{
    char unused[65];
    sha256_final(h, unused);
    sha256_init(h);
}

/* Called once all headers of a final (non-1xx) response are in: decides where the body goes. */
static int transfer_headers_done(struct transfer *t)
{
    if (t->status != 200 && t->status != 206)
        return 0;
    if (t->status == 206 && t->offset == 0)
        t->bad_range = 1; /* an answer to a range we did not ask for */
    if (t->status == 200 && t->offset > 0) {
        /* the server ignored the range, or the resource changed: start again */
        if (ftruncate(fileno(t->file), 0) != 0)
            t->write_failed = 1;
        fseek(t->file, 0, SEEK_SET);
        hash_restart(&t->hash);
        t->offset = 0;
    }
    uint64_t total = t->offset + (t->has_length ? t->content_length : 0);
    if (t->has_length && total > t->max_bytes) {
        t->too_big = 1;
        return -1;
    }
    t->body_to_file = 1;
    return 0;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *data)
{
    struct transfer *t = data;
    size_t n = size * nitems;
    const char *v, *end = line + n;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (a 100 Continue, or the real one): forget the previous one's */
        const char *sp = memchr(line, ' ', n);
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        t->reason[0] = t->etag[0] = t->last_modified[0] = t->content_type[0] = '\0';
        t->has_length = 0;
        t->retry_after = -1;
        if (sp && sp + 4 < end)
            hdr_copy(sp + 4, end, t->reason, sizeof t->reason);
    } else if (hdr_is(line, n, "ETag", &v)) {
        hdr_copy(v, end, t->etag, sizeof t->etag);
    } else if (hdr_is(line, n, "Last-Modified", &v)) {
        hdr_copy(v, end, t->last_modified, sizeof t->last_modified);
    } else if (hdr_is(line, n, "Content-Type", &v)) {
        hdr_copy(v, end, t->content_type, sizeof t->content_type);
    } else if (hdr_is(line, n, "Content-Length", &v)) {
        char buf[32];
        hdr_copy(v, end, buf, sizeof buf);
        t->content_length = strtoull(buf, NULL, 10);
        t->has_length = 1;
    } else if (hdr_is(line, n, "Retry-After", &v)) {
        char buf[32], *stop;
        hdr_copy(v, end, buf, sizeof buf);
        long s = strtol(buf, &stop, 10);
        t->retry_after = stop != buf && *stop == '\0' && s >= 0 ? s : -1;
    } else if (hdr_is(line, n, "Content-Range", &v)) {
        char buf[128];
        hdr_copy(v, end, buf, sizeof buf);
        unsigned long long first;
        if (t->status == 206 &&
            (sscanf(buf, "bytes %llu-", &first) != 1 || first != t->offset))
            t->bad_range = 1;
    } else if ((n == 2 && line[0] == '\r') || (n == 1 && line[0] == '\n')) {
        if (t->status >= 200 && transfer_headers_done(t) != 0)
            return 0; /* aborts the transfer */
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ptr)
{
    struct transfer *t = ptr;
    size_t n = size * nmemb;
    if (!t->body_to_file) {
        /* an error page, a redirect's body: keep its start for the message */
        if (t->error_body.len < ERROR_BODY_MAX)
            sb_append(&t->error_body, data,
                      n < ERROR_BODY_MAX - t->error_body.len ? n
                                                             : ERROR_BODY_MAX - t->error_body.len);
        return n;
    }
    if (t->bad_range)
        return 0;
    if (t->offset + t->received + n > t->max_bytes) {
        t->too_big = 1;
        return 0;
    }
    if (fwrite(data, 1, n, t->file) != n) {
        t->write_failed = 1;
        return 0;
    }
    sha256_update(&t->hash, data, n);
    t->received += n;
    return n;
}

/* Hashes the bytes already in the .part file (before a resumed request). */
static int hash_existing(struct transfer *t, insitu_error *err)
{
    FILE *f = fopen(t->part, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "%s: %s", t->part, strerror(errno));
    char *buf = malloc(1 << 16);
    size_t n;
    uint64_t total = 0;
    while (buf && (n = fread(buf, 1, 1 << 16, f)) > 0) {
        sha256_update(&t->hash, buf, n);
        total += n;
    }
    free(buf);
    fclose(f);
    t->offset = total;
    return 0;
}

struct request {
    const char *url;
    int send_headers;       /* the caller's headers (same host as the original URL) */
    const char *if_none_match, *if_modified_since, *if_range;
    int resume;             /* send Range: bytes=<offset>- */
};

static void transfer_reset(struct transfer *t)
{
    t->received = t->content_length = 0;
    t->has_length = t->status = 0;
    t->body_to_file = t->too_big = t->write_failed = t->bad_range = 0;
    t->retry_after = -1;
    t->reason[0] = t->etag[0] = t->last_modified[0] = t->content_type[0] = '\0';
    sb_reset(&t->error_body);
}

/* Performs one request; fills t and returns libcurl's code. */
static CURLcode perform(struct transfer *t, const struct request *rq,
                        const insitu_fetch_options *o, char *curl_msg)
{
    CURL *c = t->curl;
    curl_easy_reset(c);
    transfer_reset(t);
    struct curl_slist *hdrs = NULL;
    char line[400];
    if (rq->send_headers && o && o->headers)
        for (size_t i = 0; o->headers[i]; i++)
            hdrs = curl_slist_append(hdrs, o->headers[i]);
    if (rq->if_none_match && *rq->if_none_match) {
        snprintf(line, sizeof line, "If-None-Match: %s", rq->if_none_match);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (rq->if_modified_since && *rq->if_modified_since) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", rq->if_modified_since);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (rq->resume && rq->if_range && *rq->if_range) {
        snprintf(line, sizeof line, "If-Range: %s", rq->if_range);
        hdrs = curl_slist_append(hdrs, line);
    }
    char range[48];
    if (rq->resume) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)t->offset);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    double ct = o && o->connect_timeout > 0 ? o->connect_timeout : DEFAULT_CONNECT_TIMEOUT;
    double tt = o && o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(ct * 1000));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(tt * 1000));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "insitu/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
    curl_msg[0] = '\0';
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code)
        t->status = code;
    curl_slist_free_all(hdrs);
    return cc;
}

/* ---- redirects ---- */

/* 1 when a and b have the same scheme, host and port. */
static int same_origin(const char *a, const char *b)
{
    CURLU *ua = curl_url(), *ub = curl_url();
    int same = 0;
    if (ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
        curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK) {
        same = 1;
        CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
        for (size_t i = 0; i < ARRAY_LEN(parts) && same; i++) {
            char *x = NULL, *y = NULL;
            curl_url_get(ua, parts[i], &x, CURLU_DEFAULT_PORT);
            curl_url_get(ub, parts[i], &y, CURLU_DEFAULT_PORT);
            same = x && y && strcasecmp(x, y) == 0;
            curl_free(x);
            curl_free(y);
        }
    }
    curl_url_cleanup(ua);
    curl_url_cleanup(ub);
    return same;
}

static int is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* ---- the download ---- */

static void one_line(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
}

static int retryable_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default: return 0;
    }
}

static int retryable_status(long status)
{
    return status >= 500 || status == 408 || status == 429;
}

static void sleep_seconds(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The message for a failed attempt (without the URL). */
static void describe_failure(const struct transfer *t, CURLcode cc, const char *curl_msg,
                             const insitu_fetch_options *o, char *buf, size_t size, int *code)
{
    *code = INSITU_EIO;
    if (t->too_big) {
        snprintf(buf, size, "the body is larger than the size limit of %llu bytes",
                 (unsigned long long)(o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES));
        *code = INSITU_ELIMIT;
    } else if (t->write_failed) {
        snprintf(buf, size, "cannot write %s: %s", t->part, strerror(errno));
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        double tt = o && o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
        snprintf(buf, size, "timed out (%s; limits: connect %gs, total %gs)",
                 curl_msg[0] ? curl_msg : "no answer", o && o->connect_timeout > 0
                                                           ? o->connect_timeout
                                                           : DEFAULT_CONNECT_TIMEOUT,
                 tt);
        *code = INSITU_ELIMIT;
    } else if (cc == CURLE_PARTIAL_FILE || (cc == CURLE_RECV_ERROR && t->body_to_file)) {
        snprintf(buf, size, "the transfer ended early: %llu of %llu bytes received",
                 (unsigned long long)(t->offset + t->received),
                 (unsigned long long)(t->offset + t->content_length));
    } else if (cc != CURLE_OK) {
        snprintf(buf, size, "%s", curl_msg[0] ? curl_msg : curl_easy_strerror(cc));
    } else {
        snprintf(buf, size, "HTTP %ld%s%s", t->status, t->reason[0] ? " " : "", t->reason);
        if (t->status == 401 || t->status == 403)
            *code = INSITU_EAUTH;
        else if (t->status == 404 || t->status == 410)
            *code = INSITU_ENOTFOUND;
    }
}

struct fetch_state {
    const char *url;
    const insitu_fetch_options *o;
    struct entry e;
    struct transfer t;
    struct fetch_result *res;
    int conditional;        /* the complete cached copy may be revalidated */
};

/* Runs one attempt, following redirects. 0: done (the body is in the .part or the cache is
 * current); 1: a retryable failure (message in msg); <0: a final failure. */
static int attempt(struct fetch_state *fs, char *msg, size_t msg_size, int *code)
{
    const insitu_fetch_options *o = fs->o;
    struct transfer *t = &fs->t;
    int max_redirects = !o || !o->max_redirects ? DEFAULT_REDIRECTS
                        : o->max_redirects < 0  ? 0
                                                : o->max_redirects;
    char *url = xstrdup(fs->url), curl_msg[CURL_ERROR_SIZE];
    int redirects = 0, rc = 0;
    for (;;) {
        int resume = file_exists(fs->e.part) && file_size(fs->e.part) > 0;
        hash_restart(&t->hash);
        t->offset = 0;
        if (resume && hash_existing(t, NULL) != 0)
            resume = 0;
        t->file = fopen(fs->e.part, resume ? "ab" : "wb");
        if (!t->file) {
            snprintf(msg, msg_size, "cannot write %s: %s", fs->e.part, strerror(errno));
            *code = INSITU_EIO;
            rc = -1;
            break;
        }
        struct request rq = {.url = url, .send_headers = same_origin(url, fs->url)};
        if (resume) {
            rq.resume = 1;
            rq.if_range = fs->e.etag[0] ? fs->e.etag : fs->e.last_modified;
        } else if (fs->conditional) {
            rq.if_none_match = fs->e.etag;
            rq.if_modified_since = fs->e.last_modified;
        }
        CURLcode cc = perform(t, &rq, o, curl_msg);
        fs->res->attempts += redirects == 0;
        if (fflush(t->file) != 0)
            t->write_failed = 1;
        fclose(t->file);
        t->file = NULL;
        fs->res->resumed |= resume && t->status == 206;
        fs->res->status = t->status;
        if (t->status == 200 || (t->status == 206 && (t->etag[0] || t->last_modified[0]))) {
            /* validators of what the .part now holds, for a later resume */
            snprintf(fs->e.etag, sizeof fs->e.etag, "%s", t->etag);
            snprintf(fs->e.last_modified, sizeof fs->e.last_modified, "%s", t->last_modified);
        }
        if (cc == CURLE_OK && is_redirect(t->status)) {
            char *location = NULL;
            curl_easy_getinfo(t->curl, CURLINFO_REDIRECT_URL, &location);
            if (!location || !fetch_is_url(location)) {
                snprintf(msg, msg_size, "HTTP %ld without a usable Location", t->status);
                *code = INSITU_EIO;
                rc = -1;
                break;
            }
            if (++redirects > max_redirects) {
                snprintf(msg, msg_size, "more than %d redirects (last to %s)", max_redirects,
                         location);
                *code = INSITU_EIO;
                rc = -1;
                break;
            }
            free(url);
            url = xstrdup(location);
            unlink(fs->e.part); /* a redirect's body is not the resource */
            continue;
        }
        fs->res->redirects = redirects;
        snprintf(fs->res->content_type, sizeof fs->res->content_type, "%s", t->content_type);
        if (cc == CURLE_OK && t->status == 304 && fs->conditional) {
            unlink(fs->e.part);
            rc = 0;
            break;
        }
        if (cc == CURLE_OK && (t->status == 200 || t->status == 206) && !t->bad_range &&
            !t->write_failed && !t->too_big &&
            (!t->has_length || t->received == t->content_length)) {
            rc = 0;
            break;
        }
        describe_failure(t, cc, curl_msg, o, msg, msg_size, code);
        snprintf(fs->res->detail, sizeof fs->res->detail, "%s", sb_str(&t->error_body));
        one_line(fs->res->detail);
        if (t->status == 416 || t->bad_range) {
            /* the partial file does not fit the resource any more: start again */
            unlink(fs->e.part);
            rc = 1;
        } else if (!t->body_to_file || t->received == 0) {
            if (!file_size(fs->e.part))
                unlink(fs->e.part);
            rc = (cc != CURLE_OK ? retryable_curl(cc) && !t->too_big
                                 : retryable_status(t->status))
                     ? 1
                     : -1;
        } else {
            rc = t->too_big || t->write_failed ? -1 : 1;
        }
        if (t->too_big)
            unlink(fs->e.part);
        break;
    }
    free(url);
    return rc;
}

/* Moves the .part into place and records what it holds. */
static int finish(struct fetch_state *fs, insitu_error *err)
{
    struct fetch_result *res = fs->res;
    if (res->status == 304) {
        if (!fs->e.complete || file_size(fs->e.final) != fs->e.bytes)
            return insitu_error_set(err, INSITU_EIO,
                                    "fetch: %s: the server says the cached copy is current but "
                                    "it is missing or changed: use --refresh",
                                    fs->url);
        res->from_cache = 1;
        memcpy(res->checksum, fs->e.checksum, sizeof res->checksum);
        res->bytes = fs->e.bytes;
    } else {
        sha256_final(&fs->t.hash, res->checksum);
        res->bytes = fs->t.offset + fs->t.received;
        if (rename(fs->e.part, fs->e.final) != 0)
            return insitu_error_set(err, INSITU_EIO, "fetch: %s: cannot move %s into place: %s",
                                    fs->url, fs->e.part, strerror(errno));
        memcpy(fs->e.checksum, res->checksum, sizeof fs->e.checksum);
        fs->e.bytes = res->bytes;
        meta_write(&fs->e, fs->url, 1);
    }
    res->path = xstrdup(fs->e.final);
    return res->path ? 0 : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
}

static void curl_init_once(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

int fetch_url(const char *url, const char *name, const insitu_fetch_options *o,
              struct fetch_result *res, insitu_error *err)
{
    memset(res, 0, sizeof *res);
    if (!fetch_is_url(url))
        return insitu_error_set(err, INSITU_EUSAGE, "fetch: %s: not an http(s) URL", url);
    curl_init_once();
    struct fetch_state fs;
    memset(&fs, 0, sizeof fs);
    fs.url = url;
    fs.o = o;
    fs.res = res;
    fs.t.max_bytes = o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
    fs.t.part = NULL;
    int rc = entry_open(&fs.e, url, name, o, err);
    if (rc) {
        entry_free(&fs.e);
        return rc;
    }
    fs.t.part = fs.e.part;
    fs.t.curl = curl_easy_init();
    if (!fs.t.curl) {
        entry_free(&fs.e);
        return insitu_error_set(err, INSITU_ENOMEM, "fetch: %s: cannot start libcurl", url);
    }
    if (file_exists(fs.e.part) && !fs.e.etag[0] && !fs.e.last_modified[0])
        unlink(fs.e.part); /* a partial body with nothing to tell whether it is still current */
    if (o && o->refresh)
        unlink(fs.e.part);
    fs.conditional = !(o && o->refresh) && fs.e.complete && file_exists(fs.e.final) &&
                     (fs.e.etag[0] || fs.e.last_modified[0]);
    int retries = !o || !o->retries ? DEFAULT_RETRIES : o->retries < 0 ? 0 : o->retries;
    double delay = o && o->retry_delay > 0 ? o->retry_delay : DEFAULT_DELAY;
    char msg[768] = "";
    int code = INSITU_EIO;
    for (int i = 0;; i++) {
        rc = attempt(&fs, msg, sizeof msg, &code);
        if (rc <= 0 || i >= retries)
            break;
        /* keep what a broken transfer brought, with its validators, for the next attempt */
        if (file_exists(fs.e.part))
            meta_write(&fs.e, url, 0);
        double wait = delay * pow(2, i);
        if (fs.t.retry_after > wait)
            wait = (double)fs.t.retry_after;
        sleep_seconds(wait < MAX_DELAY ? wait : MAX_DELAY);
    }
    if (rc == 0) {
        rc = finish(&fs, err);
    } else {
        if (file_exists(fs.e.part) && (fs.e.etag[0] || fs.e.last_modified[0]))
            meta_write(&fs.e, url, 0);
        else
            unlink(fs.e.part);
        rmdir(fs.e.dir); /* the entry's folder goes when nothing is left in it (a 404) */
        char tries[40] = "";
        if (res->attempts > 1)
            snprintf(tries, sizeof tries, " (after %d attempts)", res->attempts);
        if (res->detail[0])
            insitu_error_set(err, code, "fetch: %s: %s%s: %.300s", url, msg, tries, res->detail);
        else
            insitu_error_set(err, code, "fetch: %s: %s%s", url, msg, tries);
        rc = code;
    }
    if (fs.t.hash.ctx) {
        char unused[65];
        sha256_final(&fs.t.hash, unused);
    }
    sb_free(&fs.t.error_body);
    curl_easy_cleanup(fs.t.curl);
    entry_free(&fs.e);
    return rc;
}

void fetch_result_free(struct fetch_result *res)
{
    if (res) {
        free(res->path);
        res->path = NULL;
    }
}
