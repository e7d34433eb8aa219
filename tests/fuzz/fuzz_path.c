/*
 * fuzz_path.c: the SensorThings request router (src/sta/conn.c sta_resolve, sta_parse_query)
 * and read side, through sta_handle(): the input is "PATH?QUERY", answered as a GET against
 * a store that holds a few entities (one CSV ingested at start). Nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sta.h"

static struct sta_service *svc;
static struct sta_conn *conn;

static const char sample[] = "station,lat,lon,time,water_level,temperature\n"
                             "S1,43.6,1.44,2024-01-01T00:00:00Z,1.5,12\n"
                             "S1,43.6,1.44,2024-01-02T00:00:00Z,1.7,11.5\n"
                             "S2,44.8,-0.58,2024-01-01T12:00:00Z,3.25,NA\n";

/* Runs before fuzz_common's clean-up (atexit is last in, first out): the store closes only
 * once the connection's statements are gone. */
static void teardown(void)
{
    sta_conn_free(conn);
    sta_service_free(svc, NULL);
    conn = NULL;
    svc = NULL;
}

static void setup(void)
{
    insitu_store *st = fuzz_store();
    const char *path = fuzz_write("stations.csv", sample, sizeof sample - 1);
    const char *settings[] = {"col.thing=station", NULL};
    insitu_ingest_options opts = {.format = "csv", .settings = settings};
    insitu_ingest_report rep;
    insitu_error err;
    struct sta_config cfg = {.default_top = 100,
                             .max_top = 1000,
                             .query_seconds = 2,
                             .max_answer = 1 << 20,
                             .source = "http://fuzz/v1.1"};
    if (!path || insitu_ingest(st, path, &opts, &rep, &err) || sta_service_new(&cfg, &svc, &err) ||
        sta_conn_new(svc, st, &conn, &err)) {
        fprintf(stderr, "fuzz_path: setup: %s\n", err.message);
        abort();
    }
    atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!conn)
        setup();
    char *s = fuzz_text(data, size);
    char *q = strchr(s, '?');
    if (q)
        *q++ = '\0';
    struct sta_param *params = NULL;
    size_t n = 0;
    char *storage = NULL;
    if (sta_parse_query(q, &params, &n, &storage) == 0) {
        size_t len = strlen(s) + 8;
        char *path = malloc(len);
        if (!path)
            abort();
        snprintf(path, len, "/v1.1%s%s", s[0] == '/' ? "" : "/", s);
        struct sta_request req = {
            .method = "GET", .path = path, .params = params, .nparams = n, .base = "http://fuzz"};
        struct sta_response resp = {0};
        sta_handle(conn, &req, &resp);
        sta_response_free(&resp);
        free(path);
    }
    free(params);
    free(storage);
    free(s);
    return 0;
}
