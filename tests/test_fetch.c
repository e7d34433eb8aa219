/*
 * test_fetch.c: downloads (src/fetch.c) and URL sources (insitu_ingest of http URLs) against
 * tests/httpd.py on 127.0.0.1: checksums, the cache and its revalidation, retries after 500,
 * truncated bodies and their resume, time-outs, redirects, the size limit, credentials that
 * stay on their host, and URL sources that are skipped when unchanged and replaced when not.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static pid_t server_pid;
static char base[128], scratch[512], log_path[512], cache[512];

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Starts tests/httpd.py and waits for its port. */
static int server_start(void)
{
    const char *dir = tu_tmpdir();
    char port_file[600], root[1024], script[1100];
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(log_path, sizeof log_path, "%s/requests.log", dir);
    snprintf(scratch, sizeof scratch, "%s/scratch", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    mkdir(scratch, 0755);
    snprintf(root, sizeof root, "%s", tu_data(""));
    snprintf(script, sizeof script, "%s/../httpd.py", root);
    server_pid = fork();
    if (server_pid == 0) {
        execlp("python3", "python3", script, "--root", root, "--port-file", port_file, "--log",
               log_path, "--scratch", scratch, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1200; i++) {
        FILE *f = fopen(port_file, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
            setenv("INSITU_CACHE_DIR", cache, 1);
            return 0;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int server_stop(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = 0;
    }
    return 0;
}

static const char *url(const char *path)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s%s", base, path);
    return buf[k];
}

/* Requests of the log whose line contains `what`. */
static int logged(const char *what)
{
    FILE *f = fopen(log_path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, what) != NULL;
    if (f)
        fclose(f);
    return n;
}

static void sha_of(const char *path, char hex[65])
{
    uint64_t bytes;
    insitu_error err;
    sha256_file(path, hex, &bytes, &err);
}

static const char *const JSON_FILE =
    "hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_20231101_to_20240131.json";

/* Fast retries: the tests do not wait for real back-off. */
static insitu_fetch_options quick(void)
{
    insitu_fetch_options o = {0};
    o.retry_delay = 0.01;
    o.timeout = 10;
    return o;
}

static void test_download_and_cache(void)
{
    insitu_fetch_options o = quick();
    struct fetch_result r;
    insitu_error err = {0};
    char want[65];
    sha_of(tu_data(JSON_FILE), want);
    CU_ASSERT_EQUAL_FATAL(fetch_url(url("/data/hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_"
                                        "20231101_to_20240131.json"),
                                    NULL, &o, &r, &err),
                          0);
    CU_ASSERT_STRING_EQUAL(r.checksum, want);
    CU_ASSERT_EQUAL(r.bytes, 2702);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.from_cache, 0);
    CU_ASSERT_EQUAL(r.attempts, 1);
    /* the file is in the cache under the URL's last path segment */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.path, cache));
    CU_ASSERT_STRING_EQUAL(path_basename(r.path),
                           "hydroprd_R_MARONI_OELEMARI_KM0387_from_20231101_to_20240131.json");
    char got[65];
    sha_of(r.path, got);
    CU_ASSERT_STRING_EQUAL(got, want);
    fetch_result_free(&r);
    /* a second fetch asks whether the copy is current: 304, the same checksum */
    CU_ASSERT_EQUAL_FATAL(fetch_url(url("/data/hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_"
                                        "20231101_to_20240131.json"),
                                    NULL, &o, &r, &err),
                          0);
    CU_ASSERT_EQUAL(r.status, 304);
    CU_ASSERT_EQUAL(r.from_cache, 1);
    CU_ASSERT_STRING_EQUAL(r.checksum, want);
    fetch_result_free(&r);
    /* --refresh downloads again */
    o.refresh = 1;
    CU_ASSERT_EQUAL(fetch_url(url("/data/hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_"
                                  "20231101_to_20240131.json"),
                              NULL, &o, &r, &err),
                    0);
    CU_ASSERT_EQUAL(r.status, 200);
    fetch_result_free(&r);
    /* one conditional request (If-None-Match with the ETag), then the refresh without */
    CU_ASSERT_EQUAL(logged("KM0387_from_20231101_to_20240131.json |  |  |  | \""), 1);
    CU_ASSERT_EQUAL(logged("KM0387_from_20231101_to_20240131.json |  |  |  | \n"), 2);
}

static void test_retry_after_500(void)
{
    insitu_fetch_options o = quick();
    struct fetch_result r;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(fetch_url(url("/fail500/2/hydroweb/hydroprd_R_MARONI_TAPANAHONY_"
                                        "KM0198_from_20231101_to_20240131.json"),
                                    NULL, &o, &r, &err),
                          0);
    CU_ASSERT_EQUAL(r.attempts, 3);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.bytes, 2969);
    fetch_result_free(&r);
    /* a server that keeps failing: the error names the URL, the status and the attempts */
    o.retries = 2;
    CU_ASSERT_EQUAL(fetch_url(url("/always500/x.csv"), NULL, &o, &r, &err), INSITU_EIO);
    CU_ASSERT_EQUAL(r.attempts, 3);
    CU_ASSERT_EQUAL(r.status, 500);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, url("/always500/x.csv")));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "HTTP 500 Internal Server Error"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "after 3 attempts"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "always failing"));
    CU_ASSERT_PTR_NULL(r.path);
    /* a client error is not retried */
    CU_ASSERT_EQUAL(fetch_url(url("/status/404"), NULL, &o, &r, &err), INSITU_ENOTFOUND);
    CU_ASSERT_EQUAL(r.attempts, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "HTTP 404"));
    CU_ASSERT_EQUAL(fetch_url(url("/status/403"), NULL, &o, &r, &err), INSITU_EAUTH);
}

static void test_truncated_then_resumed(void)
{
    insitu_fetch_options o = quick();
    struct fetch_result r;
    insitu_error err = {0};
    char want[65];
    const char *u = url("/truncate/hydroweb/hydroprd_R_OYAPOCK_CAMOPI_KM0177_from_20231101_"
                        "to_20240131.json");
    sha_of(tu_data("hydroweb/hydroprd_R_OYAPOCK_CAMOPI_KM0177_from_20231101_to_20240131.json"),
           want);
    /* no retry: the truncated body is an error, and the part is kept */
    o.retries = -1;
    CU_ASSERT_EQUAL(fetch_url(u, NULL, &o, &r, &err), INSITU_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "ended early: 1476 of 2952 bytes"));
    CU_ASSERT_PTR_NULL(r.path);
    /* the next call continues where it stopped, with a Range request */
    CU_ASSERT_EQUAL_FATAL(fetch_url(u, NULL, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(r.resumed, 1);
    CU_ASSERT_EQUAL(r.status, 206);
    CU_ASSERT_EQUAL(r.bytes, 2952);
    CU_ASSERT_STRING_EQUAL(r.checksum, want);
    char got[65];
    sha_of(r.path, got);
    CU_ASSERT_STRING_EQUAL(got, want);
    fetch_result_free(&r);
    CU_ASSERT_EQUAL(logged("bytes=1476-"), 1);
    /* with retries, one call does it all */
    o.retries = 2;
    u = url("/truncate/hydroweb/hydroprd_R_MARONI_TAPANAHONY_KM0198_from_20231101_to_"
            "20240131.json");
    CU_ASSERT_EQUAL_FATAL(fetch_url(u, NULL, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(r.attempts, 2);
    CU_ASSERT_EQUAL(r.resumed, 1);
    CU_ASSERT_EQUAL(r.bytes, 2969);
    fetch_result_free(&r);
    /* a server without ranges sends the whole body again: the part is started afresh */
    u = url("/truncate-norange/hydroweb/hydroprd_R_APPROUAGUE_APPROUAGUE_KM0047_from_"
            "20240101_to_20240131.json");
    sha_of(tu_data("hydroweb/hydroprd_R_APPROUAGUE_APPROUAGUE_KM0047_from_20240101_to_20240131."
                   "json"),
           want);
    CU_ASSERT_EQUAL_FATAL(fetch_url(u, NULL, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(r.resumed, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.bytes, 2192);
    CU_ASSERT_STRING_EQUAL(r.checksum, want);
    fetch_result_free(&r);
}

static void test_timeout(void)
{
    insitu_fetch_options o = quick();
    o.timeout = 0.5;
    o.retries = 1;
    struct fetch_result r;
    insitu_error err = {0};
    /* the server answers after 30 s: two attempts of 0.5 s give up long before, even on a
     * loaded machine (the bound is not a speed measure: it tells a time-out from an answer) */
    double t0 = now_seconds();
    CU_ASSERT_EQUAL(fetch_url(url("/slow/30/csv/time_value.csv"), NULL, &o, &r, &err),
                    INSITU_ELIMIT);
    double spent = now_seconds() - t0;
    CU_ASSERT_TRUE(spent < 20);
    CU_ASSERT_EQUAL(r.attempts, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "timed out"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/slow/30/csv/time_value.csv"));
    /* a slow server within the limit is fine */
    o.timeout = 10;
    CU_ASSERT_EQUAL(fetch_url(url("/slow/0.2/csv/time_value.csv"), NULL, &o, &r, &err), 0);
    fetch_result_free(&r);
}

static void test_redirects(void)
{
    insitu_fetch_options o = quick();
    struct fetch_result r;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(fetch_url(url("/redirect/3/csv/time_value.csv"), NULL, &o, &r, &err),
                          0);
    CU_ASSERT_EQUAL(r.redirects, 4);
    CU_ASSERT_EQUAL(r.status, 200);
    /* named after the URL asked for, not the last one */
    CU_ASSERT_STRING_EQUAL(path_basename(r.path), "time_value.csv");
    fetch_result_free(&r);
    CU_ASSERT_EQUAL(fetch_url(url("/loop"), NULL, &o, &r, &err), INSITU_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more than 5 redirects"));
    o.max_redirects = 2;
    CU_ASSERT_EQUAL(fetch_url(url("/redirect/3/csv/wide_interval.csv"), NULL, &o, &r, &err),
                    INSITU_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more than 2 redirects"));
    o.max_redirects = -1;
    CU_ASSERT_EQUAL(fetch_url(url("/redirect/0/csv/wide_interval.csv"), NULL, &o, &r, &err),
                    INSITU_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more than 0 redirects"));
}

static void test_credentials_stay_on_their_host(void)
{
    insitu_fetch_options o = quick();
    const char *headers[] = {"X-API-Key: secret", NULL};
    o.headers = headers;
    struct fetch_result r;
    insitu_error err = {0};
    CU_ASSERT_EQUAL(fetch_url(url("/key/csv/time_value.csv"), NULL, &o, &r, &err), 0);
    fetch_result_free(&r);
    /* a redirect to another host ("localhost") drops the key: the server refuses */
    CU_ASSERT_EQUAL(fetch_url(url("/redirect-host/csv/time_value.csv"), NULL, &o, &r, &err),
                    INSITU_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "HTTP 403"));
    CU_ASSERT_EQUAL(logged("/key/csv/time_value.csv |  |  | secret |"), 1);
    CU_ASSERT_EQUAL(logged("/key/csv/time_value.csv |  |  |  |"), 1);
    o.headers = NULL;
    CU_ASSERT_EQUAL(fetch_url(url("/key/csv/wide_interval.csv"), NULL, &o, &r, &err),
                    INSITU_EAUTH);
}

static void test_size_limit(void)
{
    insitu_fetch_options o = quick();
    o.max_bytes = 1 << 20;
    struct fetch_result r;
    insitu_error err = {0};
    /* known in advance (Content-Length): refused before the body */
    CU_ASSERT_EQUAL(fetch_url(url("/big/5000000"), NULL, &o, &r, &err), INSITU_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "larger than the size limit of 1048576 bytes"));
    CU_ASSERT_EQUAL(r.attempts, 1);
    /* found while reading (chunked): stopped at the limit, nothing left behind */
    CU_ASSERT_EQUAL(fetch_url(url("/big-chunked/5000000"), NULL, &o, &r, &err), INSITU_ELIMIT);
    CU_ASSERT_EQUAL(r.attempts, 1);
    char dir[700];
    struct sha256 h;
    char hex[65];
    sha256_init(&h);
    sha256_update(&h, url("/big-chunked/5000000"), strlen(url("/big-chunked/5000000")));
    sha256_final(&h, hex);
    snprintf(dir, sizeof dir, "%s/%.16s/5000000.part", cache, hex);
    CU_ASSERT_FALSE(file_exists(dir));
    /* under the limit: fine */
    CU_ASSERT_EQUAL(fetch_url(url("/big-chunked/1000000"), NULL, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(r.bytes, 1000000);
    fetch_result_free(&r);
    CU_ASSERT_EQUAL(fetch_url(url("/big/1048576"), NULL, &o, &r, &err), 0);
    fetch_result_free(&r);
}

static void test_helpers(void)
{
    struct strbuf sb = {0};
    fetch_escape(&sb, "name IN ('A_1','b~c') AND t='2024-01-01T00:00:00'");
    CU_ASSERT_STRING_EQUAL(sb.data, "name%20IN%20%28%27A_1%27%2C%27b~c%27%29%20AND%20t%3D%272024-"
                                    "01-01T00%3A00%3A00%27");
    sb_free(&sb);
    CU_ASSERT_TRUE(fetch_is_url("https://example.org/x"));
    CU_ASSERT_TRUE(fetch_is_url("HTTP://example.org/x"));
    CU_ASSERT_FALSE(fetch_is_url("ftp://example.org/x"));
    CU_ASSERT_FALSE(fetch_is_url("/tmp/http://x"));
    insitu_error err;
    struct fetch_result r;
    CU_ASSERT_EQUAL(fetch_url("file:///etc/passwd", NULL, NULL, &r, &err), INSITU_EUSAGE);
    /* the cache folder: option, then INSITU_CACHE_DIR, then XDG_CACHE_HOME, then HOME */
    char *dir = NULL;
    insitu_fetch_options o = {0};
    char want[600];
    const char *tmp = tu_tmpdir();
    snprintf(want, sizeof want, "%s/opt", tmp);
    o.cache_dir = want;
    CU_ASSERT_EQUAL(fetch_cache_dir(&o, &dir, &err), 0);
    CU_ASSERT_STRING_EQUAL(dir, want);
    free(dir);
    char *saved = getenv("INSITU_CACHE_DIR") ? xstrdup(getenv("INSITU_CACHE_DIR")) : NULL;
    unsetenv("INSITU_CACHE_DIR");
    snprintf(want, sizeof want, "%s/xdg", tmp);
    setenv("XDG_CACHE_HOME", want, 1);
    CU_ASSERT_EQUAL(fetch_cache_dir(NULL, &dir, &err), 0);
    snprintf(want, sizeof want, "%s/xdg/insitu", tmp);
    CU_ASSERT_STRING_EQUAL(dir, want);
    free(dir);
    unsetenv("XDG_CACHE_HOME");
    char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
    setenv("HOME", tmp, 1);
    CU_ASSERT_EQUAL(fetch_cache_dir(NULL, &dir, &err), 0);
    snprintf(want, sizeof want, "%s/.cache/insitu", tmp);
    CU_ASSERT_STRING_EQUAL(dir, want);
    free(dir);
    if (home)
        setenv("HOME", home, 1);
    free(home);
    setenv("INSITU_CACHE_DIR", saved ? saved : cache, 1);
    free(saved);
}

/* ---- URL sources through insitu_ingest ---- */

static int64_t count_obs(insitu_store *st)
{
    return tu_int(st, "SELECT count(*) FROM observations");
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[8192];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

static void test_ingest_url(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_fetch_options fo = quick();
    insitu_ingest_options o = {0};
    o.fetch = &fo;
    insitu_ingest_report rep;
    insitu_error err = {0};
    const char *u = url("/data/hydroweb/hydroweb_rivers_wse_2024-01-01-to-2024-01-31.csv");
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, u, &o, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    CU_ASSERT_STRING_EQUAL(rep.ingester, "hydroweb-next");
    CU_ASSERT_EQUAL(rep.observations, 4);
    char want[65];
    sha_of(tu_data("hydroweb/hydroweb_rivers_wse_2024-01-01-to-2024-01-31.csv"), want);
    CU_ASSERT_STRING_EQUAL(rep.checksum, want);
    /* the source and its identity are the URL */
    char *source = tu_text(st, "SELECT source FROM ingest_runs WHERE id = 1");
    char *key = tu_text(st, "SELECT source_key FROM ingest_runs WHERE id = 1");
    CU_ASSERT_STRING_EQUAL(source, u);
    CU_ASSERT_STRING_EQUAL(key, u);
    free(source);
    free(key);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT bytes FROM ingest_runs WHERE id = 1"), 540);
    /* unchanged: skipped */
    CU_ASSERT_EQUAL(insitu_ingest(st, u, &o, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    CU_ASSERT_EQUAL(count_obs(st), 4);
    insitu_store_close(st);
}

static void test_changed_url_replaces(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_fetch_options fo = quick();
    insitu_ingest_options o = {0};
    o.fetch = &fo;
    insitu_ingest_report rep;
    insitu_error err = {0};
    char path[700];
    snprintf(path, sizeof path, "%s/station.json", scratch);
    copy_file(tu_data("hydroweb/hydroprd_R_MARONI_OELEMARI_KM0387_from_20231101_to_20240131.json"),
              path);
    const char *u = url("/scratch/station.json");
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, u, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.inserted, 6);
    /* the document at the URL changes: a value, and one date less */
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        text = calloc(1, 8192);
        len = fread(text, 1, 8191, f);
        fclose(f);
    }
    CU_ASSERT_FATAL(text && len > 0);
    char *v = strstr(text, "123.08");
    CU_ASSERT_FATAL(v != NULL);
    memcpy(v, "123.18", 6);
    /* drop the first data row (2023-11-23) */
    char *row = strstr(text, "        {\n            \"identifier\"");
    char *next = row ? strstr(row + 10, "        {\n            \"identifier\"") : NULL;
    CU_ASSERT_FATAL(row && next);
    memmove(row, next, strlen(next) + 1);
    f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    free(text);
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, u, &o, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, "replaces run 1"));
    CU_ASSERT_EQUAL(rep.deleted, 2); /* wse and wse_u of the dropped date */
    CU_ASSERT_EQUAL(count_obs(st), 4);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE result = 123.18"), 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM ingest_runs WHERE status = 'complete' AND "
                               "source_key LIKE '%/scratch/station.json'"),
                    2);
    insitu_store_close(st);
}

static void test_failed_download_changes_nothing(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_fetch_options fo = quick();
    fo.retries = -1;
    insitu_ingest_options o = {0};
    o.fetch = &fo;
    insitu_ingest_report rep;
    insitu_error err = {0};
    const char *u = url("/truncate/csv/wide_interval.csv");
    CU_ASSERT_EQUAL(insitu_ingest(st, u, &o, &rep, &err), INSITU_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "ended early"));
    CU_ASSERT_EQUAL(count_obs(st), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), 0);
    /* then the same URL completes (resumed) and is ingested */
    CU_ASSERT_EQUAL(insitu_ingest(st, u, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 6);
    CU_ASSERT_EQUAL(count_obs(st), 6);
    /* a 404 names the URL */
    CU_ASSERT_EQUAL(insitu_ingest(st, url("/data/nothing.csv"), &o, &rep, &err),
                    INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/data/nothing.csv: HTTP 404"));
    insitu_store_close(st);
}

/* ---- insitu_pull ---- */

struct outcome {
    int sources, failed, skipped;
    char last_error[1024];
};

static void on_source(void *ctx, const char *source, const insitu_ingest_report *rep,
                      const insitu_error *err)
{
    struct outcome *o = ctx;
    (void)source;
    o->sources++;
    if (err) {
        o->failed++;
        snprintf(o->last_error, sizeof o->last_error, "%s", err->message);
    } else if (strcmp(rep->status, "skipped") == 0) {
        o->skipped++;
    }
}

static void test_pull_hydroweb(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_fetch_options fo = quick();
    insitu_ingest_options io = {0};
    io.fetch = &fo;
    struct outcome out = {0};
    const char *ids[] = {"R_APPROUAGUE_APPROUAGUE_KM0047", "R_APPROUAGUE_APPROUAGUE_KM0041",
                         "R_MARONI_MARONI_KM0054", NULL};
    insitu_pull_options po = {.service = "hydroweb",
                              .base_url = url("/geoserver/HYDROWEB/ows"),
                              .ids = ids,
                              .from = "2024-01-01",
                              .to = "2024-01-31",
                              .page_size = 1,
                              .api_key = "secret",
                              .ingest = &io,
                              .on_source = on_source,
                              .ctx = &out};
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(insitu_pull(st, &po, &err), 0);
    CU_ASSERT_EQUAL(out.sources, 1);
    CU_ASSERT_EQUAL(out.failed, 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 4);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things WHERE namespace = 'hydroweb'"), 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE result = 0.72"), 1);
    /* the filter names the stations, quoted, and the time range as the service writes it */
    CU_ASSERT_EQUAL(logged("CQL_FILTER=name%20IN%20%28%27R_APPROUAGUE_APPROUAGUE_KM0047%27%2C%27"
                           "R_APPROUAGUE_APPROUAGUE_KM0041%27%2C%27R_MARONI_MARONI_KM0054%27%29%"
                           "20AND%20start_time%20BETWEEN%20%272024-01-01T00%3A00%3A00%27%20AND%"
                           "20%272024-01-31T00%3A00%3A00%27&count=1&startIndex=2 |  |  | secret"),
                    1);
    /* the same pull again: skipped */
    memset(&out, 0, sizeof out);
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), 0);
    CU_ASSERT_EQUAL(out.skipped, 1);
    /* a WFS exception fails the source with its text */
    memset(&out, 0, sizeof out);
    po.layer = "nope";
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), INSITU_EIO);
    CU_ASSERT_EQUAL(out.failed, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "the service answered an exception: Feature type "
                                               "nope unknown"));
    insitu_store_close(st);
}

static void test_pull_hydrocron(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_fetch_options fo = quick();
    insitu_ingest_options io = {0};
    io.fetch = &fo;
    struct outcome out = {0};
    const char *ids[] = {"18180900091", "12345678901", NULL};
    insitu_pull_options po = {.service = "hydrocron",
                              .base_url = url("/hydrocron/v1/"),
                              .ids = ids,
                              .from = "2024-02-01",
                              .to = "2024-03-20",
                              .fields = "reach_id,time_str,wse,slope,width,sword_version",
                              .api_key = "k1",
                              .ingest = &io,
                              .on_source = on_source,
                              .ctx = &out};
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(insitu_pull(st, &po, &err), 0);
    CU_ASSERT_EQUAL(out.sources, 2);
    CU_ASSERT_EQUAL(out.failed, 0);
    CU_ASSERT_EQUAL(out.skipped, 1); /* 12345678901: no data */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 15);
    CU_ASSERT_EQUAL(logged("/hydrocron/v1/timeseries?feature=Reach&feature_id=18180900091&"
                           "start_time=2024-02-01T00%3A00%3A00Z&end_time=2024-03-20T00%3A00%3A00Z"
                           "&output=geojson&compact=true&fields=reach_id%2Ctime_str%2Cwse%2C"
                           "slope%2Cwidth%2Csword_version "),
                    1);
    /* a response too large: asked again in halves (down to a week), each a source */
    memset(&out, 0, sizeof out);
    const char *big[] = {"413", NULL};
    po.ids = big;
    po.from = "2024-01-01";
    po.to = "2024-01-15";
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), INSITU_EIO);
    CU_ASSERT_EQUAL(out.sources, 2);
    CU_ASSERT_EQUAL(out.failed, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.last_error, "HTTP 413"));
    /* usage errors come before any request */
    po.feature = "River";
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), INSITU_EUSAGE);
    po.feature = NULL;
    po.from = NULL;
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--from is required"));
    po.from = "2024-01-01";
    po.base_url = NULL;
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), INSITU_EUSAGE);
    po.service = "nope";
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), INSITU_EUSAGE);
    insitu_store_close(st);
}

static void test_pull_theia(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_fetch_options fo = quick();
    insitu_ingest_options io = {0};
    io.fetch = &fo;
    struct outcome out = {0};
    const char *ids[] = {"theia/CATC_package.zip", NULL};
    insitu_pull_options po = {.service = "theia",
                              .base_url = url("/theia"),
                              .ids = ids,
                              .ingest = &io,
                              .on_source = on_source,
                              .ctx = &out};
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(insitu_pull(st, &po, &err), 0);
    CU_ASSERT_EQUAL(out.sources, 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 3);
    char *ing = tu_text(st, "SELECT ingester FROM ingest_runs");
    CU_ASSERT_STRING_EQUAL(ing, "theia-pivot");
    free(ing);
    po.base_url = NULL;
    CU_ASSERT_EQUAL(insitu_pull(st, &po, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is not a URL"));
    insitu_store_close(st);
}

int main(void)
{
    tu_init();
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("fetch", server_start, server_stop);
    CU_add_test(s, "download, checksum, cache revalidation, refresh", test_download_and_cache);
    CU_add_test(s, "500 then success; errors name URL and status", test_retry_after_500);
    CU_add_test(s, "truncated body: error, then resumed with Range", test_truncated_then_resumed);
    CU_add_test(s, "slow response: time-out", test_timeout);
    CU_add_test(s, "redirects: followed, limited, loops", test_redirects);
    CU_add_test(s, "credentials are not sent to another host", test_credentials_stay_on_their_host);
    CU_add_test(s, "size limit, announced or found while reading", test_size_limit);
    CU_add_test(s, "escaping, URL test, cache folder", test_helpers);
    CU_add_test(s, "ingest a URL: source is the URL, re-ingest skipped", test_ingest_url);
    CU_add_test(s, "a changed document at a URL replaces the old version",
                test_changed_url_replaces);
    CU_add_test(s, "a failed download changes nothing", test_failed_download_changes_nothing);
    CU_add_test(s, "pull hydroweb: WFS pages, skip, exceptions", test_pull_hydroweb);
    CU_add_test(s, "pull hydrocron: requests, no data, 413 halves, usage", test_pull_hydrocron);
    CU_add_test(s, "pull theia: a dataset download", test_pull_theia);
    return tap_run();
}
