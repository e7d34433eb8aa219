/*
 * test_sta_batch.c: src/sta_batch.c: the multipart/mixed and JSON batch parsers
 * (boundaries, line breaks, preamble, the part a message names), the answers'
 * formats, and batches run through sta_handle() on a store: a changeset
 * creating a Thing and, through $1, its Datastream; a changeset whose 2nd
 * request fails leaving nothing; a GET that sees what the batch wrote; JSON
 * atomicity groups, dependsOn and "$id" in bodies; refused writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batch.h"
#include "sta.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"

#define BASE "http://test.example"

static insitu_store *store;
static struct sta_service *svc;
static struct sta_conn *conn;

/* the last answer */
static int status;
static char *body_text;
static char ctype[128];

/* ==== parsing, without a store ==== */

/* FROST-Server's test of the spec's example (OGC 18-088 11.2.1), with CRLF. */
static const char *const frost_body =
    "--batch_36522ad7-fc75-4b56-8c71-56071383e77b\r\n"
    "Content-Type: application/http\r\n"
    "\r\n"
    "GET /v1.1/Things(1)?$select=name HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "\r\n"
    "\r\n"
    "--batch_36522ad7-fc75-4b56-8c71-56071383e77b\r\n"
    "Content-Type: "
    "multipart/mixed;boundary=changeset_77162fcd-b8da-41ac-a9f8-9357efbbd\r\n"
    "\r\n"
    "--changeset_77162fcd-b8da-41ac-a9f8-9357efbbd\r\n"
    "Content-Type: application/http\r\n"
    "Content-ID: 1\r\n"
    "\r\n"
    "POST /v1.1/Things HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 36\r\n"
    "\r\n"
    "{\"name\":\"New\",\"description\":\"Thing\"}\r\n"
    "--changeset_77162fcd-b8da-41ac-a9f8-9357efbbd\r\n"
    "Content-Type: application/http\r\n"
    "Content-ID: 2\r\n"
    "\r\n"
    "PATCH /v1.1/Things(1) HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 18\r\n"
    "\r\n"
    "{\"name\":\"Patched\"}\r\n"
    "--changeset_77162fcd-b8da-41ac-a9f8-9357efbbd--\r\n"
    "--batch_36522ad7-fc75-4b56-8c71-56071383e77b\r\n"
    "Content-Type: application/http\r\n"
    "\r\n"
    "GET /v1.1/Things(999) HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "\r\n"
    "\r\n"
    "--batch_36522ad7-fc75-4b56-8c71-56071383e77b--";

static void check_frost_shape(const struct batch *b)
{
    CU_ASSERT_EQUAL_FATAL(b->n, 4);
    CU_ASSERT_EQUAL(b->n_groups, 1);
    CU_ASSERT_STRING_EQUAL(b->reqs[0].method, "GET");
    CU_ASSERT_STRING_EQUAL(b->reqs[0].url, "/v1.1/Things(1)?$select=name");
    CU_ASSERT_PTR_NULL(b->reqs[0].body);
    CU_ASSERT_EQUAL(b->reqs[0].group, 0);
    CU_ASSERT_STRING_EQUAL(b->reqs[1].method, "POST");
    CU_ASSERT_STRING_EQUAL(b->reqs[1].id, "1");
    CU_ASSERT_EQUAL(b->reqs[1].group, 1);
    CU_ASSERT_STRING_EQUAL(b->reqs[1].content_type, "application/json");
    CU_ASSERT_EQUAL(b->reqs[1].body_len, 36);
    CU_ASSERT_STRING_EQUAL(b->reqs[1].body, "{\"name\":\"New\",\"description\":\"Thing\"}");
    CU_ASSERT_STRING_EQUAL(b->reqs[1].where, "part 2.1");
    CU_ASSERT_STRING_EQUAL(b->reqs[2].method, "PATCH");
    CU_ASSERT_STRING_EQUAL(b->reqs[2].id, "2");
    CU_ASSERT_EQUAL(b->reqs[2].group, 1);
    CU_ASSERT_STRING_EQUAL(b->reqs[2].body, "{\"name\":\"Patched\"}");
    CU_ASSERT_STRING_EQUAL(b->reqs[3].url, "/v1.1/Things(999)");
    CU_ASSERT_EQUAL(b->reqs[3].group, 0);
    CU_ASSERT_STRING_EQUAL(b->reqs[3].where, "part 3");
}

/* s with every CRLF made LF (caller frees). */
static char *lf_only(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    for (; *s; s++)
        if (!(s[0] == '\r' && s[1] == '\n'))
            *o++ = *s;
    *o = '\0';
    return out;
}

static void test_parse_multipart(void)
{
    CU_ASSERT_EQUAL(batch_format_of("multipart/mixed; boundary=x"), BATCH_MULTIPART);
    CU_ASSERT_EQUAL(batch_format_of(" Application/JSON;charset=utf-8"), BATCH_JSON);
    CU_ASSERT_EQUAL(batch_format_of("text/plain"), BATCH_NONE);
    CU_ASSERT_EQUAL(batch_format_of(NULL), BATCH_NONE);

    struct batch b = {0};
    insitu_error err = {0};
    const char *ct = "multipart/mixed;boundary=batch_36522ad7-fc75-4b56-8c71-56071383e77b";
    CU_ASSERT_EQUAL(batch_parse(ct, frost_body, strlen(frost_body), 100, &b, &err), 0);
    check_frost_shape(&b);
    batch_free(&b);

    /* LF line breaks, a quoted boundary, a preamble and an epilogue */
    char *lf = lf_only(frost_body);
    struct strbuf sb = {0};
    sb_printf(&sb, "This is a preamble.\n%s\nand an epilogue\n", lf);
    /* Content-Length counted the CRLF-free bodies the same */
    CU_ASSERT_EQUAL(batch_parse("multipart/mixed; boundary=\"batch_36522ad7-fc75-4b56-8c71-"
                                "56071383e77b\"",
                                sb_str(&sb), sb.len, 100, &b, &err),
                    0);
    check_frost_shape(&b);
    batch_free(&b);
    sb_free(&sb);
    free(lf);

    /* too many requests */
    CU_ASSERT_EQUAL(batch_parse(ct, frost_body, strlen(frost_body), 3, &b, &err), INSITU_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more than 3 requests"));
    batch_free(&b);
}

/* The error message of parsing body (multipart, boundary "b"), or "" when it
 * parses. */
static const char *mp_error(const char *body)
{
    static insitu_error err;
    struct batch b = {0};
    memset(&err, 0, sizeof err);
    int rc = batch_parse("multipart/mixed; boundary=b", body, strlen(body), 100, &b, &err);
    batch_free(&b);
    if (!rc)
        return "";
    if (rc != INSITU_EINVAL)
        return "not EINVAL";
    return err.message;
}

static void expect_error(const char *body, const char *needle)
{
    const char *m = mp_error(body);
    if (!strstr(m, needle))
        printf("# message: '%s', expected '%s'\n", m, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(m, needle));
}

static void test_parse_multipart_errors(void)
{
    struct batch b = {0};
    insitu_error err = {0};
    CU_ASSERT_EQUAL(batch_parse("multipart/mixed", "--b\r\n", 5, 100, &b, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no boundary parameter"));
    batch_free(&b);
    CU_ASSERT_STRING_EQUAL(mp_error("--b\nContent-Type: application/http\n\nGET Things HTTP/1.1\n"
                                    "--b--"),
                           "");
    expect_error("no boundary here", "no boundary line '--b'");
    expect_error("--b\nContent-Type: application/http\n\nGET Things HTTP/1.1\n",
                 "part 1: no boundary after it");
    expect_error("--b\nContent-Type: application/http\n\nGET Things\n--b\n"
                 "Content-Type: text/plain\n\nhello\n--b--",
                 "part 2: Content-Type 'text/plain': expected application/http");
    expect_error("--b\nContent-Type: application/http\n\nFETCH Things HTTP/1.1\n--b--",
                 "part 1: the request line 'FETCH Things HTTP/1.1' does not start with "
                 "GET");
    expect_error("--b\nContent-Type: application/http\n\nGET\n--b--", "part 1: the request line");
    expect_error("--b\nContent-Type: application/http\n\nPOST Things HTTP/1.1\n"
                 "Content-Length: 99\n\n{}\n--b--",
                 "part 1: Content-Length is 99, but the body has 2 bytes");
    expect_error("--b\nContent-Type: application/http\n\nPOST Things "
                 "HTTP/1.1\nno colon\n\n{}\n"
                 "--b--",
                 "part 1: a header line without ':'");
    expect_error("--b\nContent-Type: multipart/mixed\n\n--c\n--c--\n--b--",
                 "part 1: the changeset's Content-Type has no boundary");
    expect_error("--b\nContent-Type: application/http\n\nGET Things\n--b\n"
                 "Content-Type: multipart/mixed; boundary=c\n\n"
                 "--c\nContent-Type: application/http\n\nPOST Things\n\n{}\n"
                 "--c\nContent-Type: application/http\n\nPUSH Things\n\n{}\n--c--\n--b--",
                 "part 2.2: the request line 'PUSH Things' does not start with GET");
    expect_error("--b\nContent-Type: multipart/mixed; boundary=c\n\n"
                 "--c\nContent-Type: multipart/mixed; boundary=d\n\n--d--\n--c--\n--b--",
                 "part 1.1: a changeset cannot hold another changeset");
    expect_error("--b\nContent-Type: multipart/mixed; boundary=c\n\n--c--\n--b--",
                 "part 1: no part before the closing boundary");
    expect_error("--b--", "the body: no part before the closing boundary");
    expect_error("--bx\n--b--", "the body: no part before the closing boundary");
}

static void test_parse_json(void)
{
    const char *body = "{\"requests\":[{\"id\":\"0\",\"method\":\"get\",\"url\":\"Things(1)?$"
                       "select=name\"},"
                       "{\"id\":\"s1\",\"atomicityGroup\":\"g1\",\"method\":\"post\",\"url\":"
                       "\"Sensors\","
                       "\"body\":{\"name\":\"x\"}},"
                       "{\"id\":\"2\",\"atomicityGroup\":\"g1\",\"dependsOn\":[\"s1\"],"
                       "\"method\":\"PATCH\","
                       "\"url\":\"$s1\",\"headers\":{\"content-type\":\"application/"
                       "json-patch+json\"},"
                       "\"body\":[{\"op\":\"add\",\"path\":\"/name\",\"value\":\"y\"}]},"
                       "{\"id\":\"3\",\"dependsOn\":[\"g1\"],\"method\":\"delete\",\"url\":\"/"
                       "v1.1/Things(2)\","
                       "\"body\":null}]}";
    struct batch b = {0};
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(batch_parse("application/json", body, strlen(body), 100, &b, &err), 0);
    CU_ASSERT_EQUAL_FATAL(b.n, 4);
    CU_ASSERT_EQUAL(b.format, BATCH_JSON);
    CU_ASSERT_EQUAL(b.n_groups, 1);
    CU_ASSERT_STRING_EQUAL(b.groups[0], "g1");
    CU_ASSERT_STRING_EQUAL(b.reqs[0].method, "GET");
    CU_ASSERT_EQUAL(b.reqs[0].group, 0);
    CU_ASSERT_STRING_EQUAL(b.reqs[1].body, "{\"name\":\"x\"}");
    CU_ASSERT_EQUAL(b.reqs[1].group, 1);
    CU_ASSERT_EQUAL(b.reqs[2].group, 1);
    CU_ASSERT_STRING_EQUAL(b.reqs[2].content_type, "application/json-patch+json");
    CU_ASSERT_STRING_EQUAL(b.reqs[2].body, "[{\"op\":\"add\",\"path\":\"/name\",\"value\":\"y\"}]");
    CU_ASSERT_EQUAL(b.reqs[2].n_depends, 1);
    CU_ASSERT_STRING_EQUAL(b.reqs[3].method, "DELETE");
    CU_ASSERT_STRING_EQUAL(b.reqs[3].depends[0], "g1");
    CU_ASSERT_PTR_NULL(b.reqs[3].body);
    CU_ASSERT_STRING_EQUAL(b.reqs[3].where, "requests[3]");
    batch_free(&b);

    static const struct {
        const char *body, *message;
    } bad[] = {
        {"[1]", "must be {\"requests\": [...]}"},
        {"{\"requests\":[]}", "at least one request"},
        {"{\"requests\":[{\"id\":\"1\",\"method\":\"get\"}]}", "requests[0]: 'url'"},
        {"{\"requests\":[{\"method\":\"get\",\"url\":\"Things\"}]}", "requests[0]: 'id'"},
        {"{\"requests\":[{\"id\":\"1\",\"method\":\"fetch\",\"url\":\"Things\"}]"
         "}",
         "requests[0]: 'method' must be one of"},
        {"{\"requests\":[{\"id\":\"1\",\"method\":\"get\",\"url\":\"a\"},"
         "{\"id\":\"1\",\"method\":\"get\",\"url\":\"b\"}]}",
         "requests[1]: id '1' is not unique"},
        {"{\"requests\":[{\"id\":\"1\",\"method\":\"get\",\"url\":\"a\","
         "\"dependsOn\":[\"2\"]},"
         "{\"id\":\"2\",\"method\":\"get\",\"url\":\"b\"}]}",
         "requests[0]: dependsOn[0]: '2' is not the id or atomicityGroup of an "
         "earlier request"},
        {"{\"requests\":[{\"id\":\"1\",\"atomicityGroup\":\"g\",\"method\":"
         "\"post\",\"url\":\"a\"},"
         "{\"id\":\"2\",\"method\":\"get\",\"url\":\"b\"},"
         "{\"id\":\"3\",\"atomicityGroup\":\"g\",\"method\":\"post\",\"url\":"
         "\"a\"}]}",
         "requests[2]: atomicityGroup 'g': the requests of a group must be "
         "adjacent"},
        {"{\"requests\":[{\"id\":\"1\",\"method\":\"post\",\"url\":\"a\","
         "\"headers\":"
         "{\"content-type\":\"text/csv\"},\"body\":{\"a\":1}}]}",
         "requests[0]: body: a body of type 'text/csv' is a string"},
        {"{\"requests\":[{\"id\":\"1\",\"method\":\"get\",\"url\":\"a\"}", "not JSON: line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        int rc = batch_parse("application/json", bad[i].body, strlen(bad[i].body), 100, &b, &err);
        CU_ASSERT_EQUAL(rc, INSITU_EINVAL);
        if (!strstr(err.message, bad[i].message))
            printf("# %zu: '%s', expected '%s'\n", i, err.message, bad[i].message);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[i].message));
        batch_free(&b);
    }
}

static void test_answer_format(void)
{
    struct batch_req get = {"GET", NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0};
    struct batch_req post = {"POST", NULL, "1", NULL, NULL, 0, 1, NULL, NULL, 0};
    struct batch_answer a;
    batch_answer_init(&a, BATCH_MULTIPART, 42);
    batch_answer_put(&a, &get, NULL, 200, "application/json", NULL, "{\"a\":1}", 7);
    batch_changeset_open(&a);
    batch_answer_put(&a, &post, NULL, 201, "application/json", "http://h/v1.1/Things(9)", "{}", 2);
    batch_changeset_close(&a);
    char ct[128];
    batch_answer_end(&a, ct, sizeof ct);
    const char *b = a.boundary, *cs = strchr(b, '_') + 1;
    struct strbuf want = {0};
    sb_printf(&want,
              "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: "
              "binary\r\n"
              "\r\nHTTP/1.1 200 OK\r\nContent-Type: "
              "application/json\r\nContent-Length: 7\r\n\r\n"
              "{\"a\":1}\r\n"
              "--%s\r\nContent-Type: multipart/mixed; "
              "boundary=changesetresponse_%s_1\r\n\r\n"
              "--changesetresponse_%s_1\r\nContent-Type: application/http\r\n"
              "Content-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
              "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
              "Location: http://h/v1.1/Things(9)\r\nContent-Length: 2\r\n\r\n{}\r\n"
              "--changesetresponse_%s_1--\r\n"
              "--%s--\r\n",
              b, b, cs, cs, cs, b);
    CU_ASSERT_STRING_EQUAL(sb_str(&a.out), sb_str(&want));
    if (strcmp(sb_str(&a.out), sb_str(&want)))
        printf("# got:\n%s\n# want:\n%s\n", sb_str(&a.out), sb_str(&want));
    char want_ct[128];
    snprintf(want_ct, sizeof want_ct, "multipart/mixed; boundary=%s", b);
    CU_ASSERT_STRING_EQUAL(ct, want_ct);
    /* each answer its own boundary */
    struct batch_answer other;
    batch_answer_init(&other, BATCH_MULTIPART, 43);
    CU_ASSERT_STRING_NOT_EQUAL(other.boundary, a.boundary);
    batch_answer_free(&other);
    batch_answer_free(&a);
    sb_free(&want);

    batch_answer_init(&a, BATCH_JSON, 1);
    get.id = "0";
    batch_answer_put(&a, &get, NULL, 200, "application/json; charset=utf-8", "", "{\"a\":1}", 7);
    struct batch_mark m = batch_answer_mark(&a);
    batch_answer_put(&a, &post, "g1", 201, "application/json", "http://h/v1.1/Things(9)", "{}", 2);
    batch_answer_rewind(&a, m);
    batch_answer_put(&a, &post, "g1", 400, "application/json", NULL, "{\"code\":400}", 12);
    batch_answer_put(&a, &get, NULL, 200, "text/plain", NULL, "R_1", 3);
    batch_answer_end(&a, ct, sizeof ct);
    CU_ASSERT_STRING_EQUAL(sb_str(&a.out),
                           "{\"responses\":[{\"id\":\"0\",\"status\":200,\"headers\":{\"content-"
                           "type\":"
                           "\"application/json; charset=utf-8\"},\"body\":{\"a\":1}},"
                           "{\"id\":\"1\",\"status\":400,\"atomicityGroup\":\"g1\",\"headers\":{"
                           "\"content-type\":"
                           "\"application/json\"},\"body\":{\"code\":400}},"
                           "{\"id\":\"0\",\"status\":200,\"headers\":{\"content-type\":\"text/"
                           "plain\"},"
                           "\"body\":\"R_1\"}]}");
    CU_ASSERT_STRING_EQUAL(ct, "application/json; charset=utf-8");
    batch_answer_free(&a);
}

/* ==== batches run on a store ==== */

static int suite_init(void)
{
    tu_init();
    store = tu_store(NULL);
    insitu_error err;
    if (!store || tu_ingest(store, tu_data("csv/hydroweb_wse_long.csv"), NULL, NULL, &err)) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    struct sta_config cfg = {0};
    cfg.source = BASE "/v1.1";
    if (sta_service_new(&cfg, &svc, &err) || sta_conn_new(svc, store, &conn, &err))
        return -1;
    return 0;
}

static int suite_clean(void)
{
    sta_conn_free(conn);
    sta_service_free(svc, store);
    insitu_store_close(store);
    free(body_text);
    body_text = NULL;
    return 0;
}

/* Runs a request through sta_handle; refused: the HTTP layer's refusal of
 * writes (0: none). */
static void call_as(const char *method, const char *path, const char *content_type,
                    const char *body, int refused)
{
    struct sta_request req = {method,
                              path,
                              NULL,
                              0,
                              body,
                              body ? strlen(body) : 0,
                              BASE,
                              "tester",
                              content_type,
                              refused,
                              refused ? "writing needs a credential" : NULL};
    struct sta_response resp = {0};
    sta_handle(conn, &req, &resp);
    status = resp.status;
    snprintf(ctype, sizeof ctype, "%s", resp.content_type ? resp.content_type : "");
    free(body_text);
    body_text = strdup(sb_str(&resp.body));
    sta_response_free(&resp);
}

static void batch(const char *content_type, const char *body)
{
    call_as("POST", "/v1.1/$batch", content_type, body, 0);
}

static int count(const char *needle)
{
    int n = 0;
    for (const char *p = body_text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static int64_t n_of(const char *table)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return tu_int(store, sql);
}

#define DS_BODY(extra)                                                                             \
    "{\"name\":\"level\",\"description\":\"d\",\"unitOfMeasurement\":{\"name\":"                   \
    "\"metre\","                                                                                   \
    "\"symbol\":\"m\",\"definition\":\"http://example.org/"                                        \
    "m\"},\"observationType\":"                                                                    \
    "\"http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement\","                    \
    "\"ObservedProperty\":{\"name\":\"level\",\"definition\":\"http://"                            \
    "example.org/level\","                                                                         \
    "\"description\":\"water "                                                                     \
    "level\"},\"Sensor\":{\"name\":\"gauge\",\"description\":\"g\","                               \
    "\"encodingType\":\"application/pdf\",\"metadata\":\"m\"}" extra "}"

/* A multipart batch: a changeset (Thing; $1/Datastreams with the given body;
 * then $2/Observations), then a GET of the new Thing's Datastreams. */
static char *changeset_batch(const char *ds_body)
{
    struct strbuf sb = {0};
    sb_printf(&sb,
              "--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n"
              "--cs\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\n"
              "POST /v1.1/Things HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
              "{\"name\":\"batch thing\",\"description\":\"made in a changeset\"}\r\n"
              "--cs\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\n"
              "POST $1/Datastreams HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
              "%s\r\n"
              "--cs\r\nContent-Type: application/http\r\nContent-ID: 3\r\n\r\n"
              "POST $2/Observations HTTP/1.1\r\n\r\n"
              "{\"phenomenonTime\":\"2024-01-01T00:00:00Z\",\"result\":1.5,"
              "\"FeatureOfInterest\":"
              "{\"name\":\"f\",\"description\":\"d\",\"encodingType\":\"application/"
              "geo+json\","
              "\"feature\":{\"type\":\"Point\",\"coordinates\":[1,2]}}}\r\n"
              "--cs--\r\n"
              "--b\r\nContent-Type: application/http\r\n\r\n"
              "GET "
              "Things?$filter=name%%20eq%%20'batch%%20thing'&$expand=Datastreams($"
              "expand="
              "Observations)&$select=name HTTP/1.1\r\n\r\n\r\n"
              "--b--\r\n",
              ds_body);
    return sb.data;
}

static void test_changeset(void)
{
    int64_t things = n_of("things"), ds = n_of("datastreams"), obs = n_of("observations");
    char *body = changeset_batch(DS_BODY(""));
    batch("multipart/mixed; boundary=b", body);
    free(body);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctype, "multipart/mixed; boundary=batchresponse_"));
    CU_ASSERT_EQUAL(count("HTTP/1.1 201 Created"), 3);
    CU_ASSERT_EQUAL(count("Content-Type: multipart/mixed; boundary=changesetresponse_"), 1);
    CU_ASSERT_EQUAL(count("Content-ID: 2\r\n"), 1);
    CU_ASSERT_EQUAL(n_of("things"), things + 1);
    CU_ASSERT_EQUAL(n_of("datastreams"), ds + 1);
    CU_ASSERT_EQUAL(n_of("observations"), obs + 1);
    /* the Datastream is the new Thing's: $1 named it */
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM datastreams d JOIN things t ON t.id = "
                                  "d.thing_id WHERE t.name = 'batch thing'"),
                    1);
    /* the GET after the changeset sees what it wrote */
    CU_ASSERT_EQUAL(count("HTTP/1.1 200 OK"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "\"result\":1.5"));
    if (status != 200 || count("HTTP/1.1 201 Created") != 3)
        printf("# %s\n", body_text);
}

static void test_changeset_rolled_back(void)
{
    int64_t things = n_of("things"), ds = n_of("datastreams"), obs = n_of("observations"),
            sensors = n_of("sensors");
    /* the Datastream has no unitOfMeasurement: its POST fails, the Thing goes
     * with it */
    char *body = changeset_batch("{\"name\":\"x\",\"description\":\"no unit\"}");
    batch("multipart/mixed; boundary=b", body);
    free(body);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(count("HTTP/1.1 201 Created"), 0);
    CU_ASSERT_EQUAL(count("HTTP/1.1 400 Bad Request"), 1);
    CU_ASSERT_EQUAL(count("Content-ID: 2\r\n"), 1);
    CU_ASSERT_EQUAL(count("changesetresponse_"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "unitOfMeasurement"));
    CU_ASSERT_EQUAL(n_of("things"), things);
    CU_ASSERT_EQUAL(n_of("datastreams"), ds);
    CU_ASSERT_EQUAL(n_of("observations"), obs);
    CU_ASSERT_EQUAL(n_of("sensors"), sensors);
    /* the GET still runs: it finds only the earlier batch's Thing */
    CU_ASSERT_EQUAL(count("HTTP/1.1 200 OK"), 1);
    CU_ASSERT_EQUAL(count("\"name\":\"batch thing\""), 1);

    /* a failure after observations were queued rolls them back too */
    int64_t target = tu_int(store, "SELECT min(id) FROM datastreams");
    int64_t n_obs = tu_int(store, "SELECT n_obs FROM datastreams WHERE id = (SELECT min(id) "
                                  "FROM datastreams)");
    struct strbuf sb = {0};
    sb_printf(&sb,
              "{\"requests\":["
              "{\"id\":\"o1\",\"atomicityGroup\":\"g\",\"method\":\"post\",\"url\":"
              "\"Datastreams(%lld)/Observations\",\"body\":{\"phenomenonTime\":"
              "\"2030-01-01T00:00:00Z\",\"result\":7}},"
              "{\"id\":\"o2\",\"atomicityGroup\":\"g\",\"method\":\"post\",\"url\":"
              "\"Datastreams(%lld)/"
              "Observations\",\"body\":{\"phenomenonTime\":\"never\","
              "\"result\":8}},"
              "{\"id\":\"o3\",\"atomicityGroup\":\"g\",\"method\":\"post\",\"url\":"
              "\"Datastreams(%lld)/Observations\",\"body\":{\"result\":9}},"
              "{\"id\":\"after\",\"dependsOn\":[\"g\"],\"method\":\"get\",\"url\":"
              "\"Things\"}]}",
              (long long)target, (long long)target, (long long)target);
    batch("application/json", sb_str(&sb));
    sb_free(&sb);
    CU_ASSERT_EQUAL(status, 200);
    json_t *j = json_loads(body_text, 0, NULL);
    json_t *r = json_object_get(j, "responses");
    CU_ASSERT_EQUAL_FATAL(json_array_size(r), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(r, 0), "status")), 424);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(r, 1), "status")), 400);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(r, 2), "status")), 424);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(r, 3), "status")), 424);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(r, 0), "atomicityGroup")), "g");
    const char *m = json_string_value(
        json_object_get(json_object_get(json_array_get(r, 0), "body"), "message"));
    CU_ASSERT_PTR_NOT_NULL(m && strstr(m, "rolled back: request 'o2' of atomicity group 'g' "
                                          "failed (status 400)"));
    json_decref(j);
    CU_ASSERT_EQUAL(n_of("observations"), obs);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT n_obs FROM datastreams WHERE id = (SELECT min(id) FROM "
                                  "datastreams)"),
                    n_obs);
}

static void test_json_batch(void)
{
    int64_t op = tu_int(store, "SELECT min(id) FROM observed_properties");
    struct strbuf sb = {0};
    sb_printf(&sb,
              "{\"requests\":["
              "{\"id\":\"sensor1\",\"atomicityGroup\":\"g1\",\"method\":\"post\","
              "\"url\":"
              "\"Sensors\",\"body\":{\"name\":\"DS18B20\",\"description\":\"air "
              "temperature\","
              "\"encodingType\":\"application/pdf\",\"metadata\":\"http://example.org/"
              "ds.pdf\"}},"
              "{\"id\":\"t\",\"atomicityGroup\":\"g1\",\"method\":\"post\",\"url\":"
              "\"Things\","
              "\"body\":{\"name\":\"json thing\",\"description\":\"d\"}},"
              "{\"id\":\"ds\",\"atomicityGroup\":\"g1\",\"dependsOn\":[\"t\"],"
              "\"method\":\"post\","
              "\"url\":\"$t/"
              "Datastreams\",\"body\":{\"name\":\"temp\",\"description\":\"d\","
              "\"unitOfMeasurement\":{\"name\":\"degree Celsius\",\"symbol\":\"degC\","
              "\"definition\":\"http://example.org/c\"},\"observationType\":\"http://"
              "www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement\","
              "\"ObservedProperty\":{\"@iot.id\":%lld},\"Sensor\":{\"@iot.id\":\"$"
              "sensor1\"}}},"
              "{\"id\":\"read\",\"dependsOn\":[\"g1\"],\"method\":\"get\",\"url\":"
              "\"$ds/Sensor?$select=name\"},"
              "{\"id\":\"missing\",\"method\":\"get\",\"url\":\"/v1.1/"
              "Things(999999)\"},"
              "{\"id\":\"dep\",\"dependsOn\":[\"missing\"],\"method\":\"delete\","
              "\"url\":"
              "\"Things(1)\"}]}",
              (long long)op);
    batch("application/json", sb_str(&sb));
    sb_free(&sb);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(ctype, "application/json; charset=utf-8");
    json_t *j = json_loads(body_text, 0, NULL);
    json_t *r = json_object_get(j, "responses");
    CU_ASSERT_EQUAL_FATAL(json_array_size(r), 6);
    static const int want[] = {201, 201, 201, 200, 404, 424};
    for (size_t i = 0; i < 6; i++) {
        json_t *x = json_array_get(r, i);
        if (json_integer_value(json_object_get(x, "status")) != want[i])
            printf("# response %zu: %s\n", i, json_dumps(x, 0));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "status")), want[i]);
    }
    json_t *ds = json_array_get(r, 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ds, "id")), "ds");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ds, "atomicityGroup")), "g1");
    const char *loc = json_string_value(json_object_get(ds, "location"));
    CU_ASSERT_PTR_NOT_NULL(loc && strstr(loc, BASE "/v1.1/Datastreams("));
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(ds, "headers"), "location")), loc);
    /* the Sensor of the new Datastream is the one "$sensor1" named */
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(json_array_get(r, 3), "body"), "name")),
        "DS18B20");
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM datastreams d JOIN things t ON t.id = "
                                  "d.thing_id JOIN sensors s ON s.id = d.sensor_id WHERE "
                                  "t.name = 'json thing' AND s.name = 'DS18B20'"),
                    1);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM things WHERE id = 1"), 1);
    json_decref(j);

    /* an unknown reference */
    batch("application/json", "{\"requests\":[{\"id\":\"1\",\"method\":\"post\",\"url\":"
                              "\"$nope/Datastreams\",\"body\":{}}]}");
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "no earlier request of the batch with the id 'nope' "
                                             "created an entity"));
}

static void test_batch_errors(void)
{
    batch("text/plain", "hello");
    CU_ASSERT_EQUAL(status, 415);
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "multipart/mixed"));
    call_as("GET", "/v1.1/$batch", NULL, NULL, 0);
    CU_ASSERT_EQUAL(status, 405);
    batch("multipart/mixed; boundary=b", "--b\nContent-Type: text/plain\n\nx\n--b--");
    CU_ASSERT_EQUAL(status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "part 1: Content-Type 'text/plain'"));
    /* no batch in a batch, no GET in a changeset */
    batch("application/json", "{\"requests\":[{\"id\":\"1\",\"method\":\"post\",\"url\":"
                              "\"$batch\",\"body\":{}},"
                              "{\"id\":\"2\",\"atomicityGroup\":\"g\",\"method\":\"get\","
                              "\"url\":\"Things\"}]}");
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "a batch cannot hold a batch"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "a changeset (atomicity group) holds only POST"));
    /* the limit on requests: 413 */
    struct strbuf sb = {0};
    sb_puts(&sb, "{\"requests\":[");
    for (int i = 0; i <= STA_BATCH_MAX_REQUESTS; i++)
        sb_printf(&sb, "%s{\"id\":\"%d\",\"method\":\"get\",\"url\":\"Things\"}", i ? "," : "", i);
    sb_puts(&sb, "]}");
    batch("application/json", sb_str(&sb));
    sb_free(&sb);
    CU_ASSERT_EQUAL(status, 413);
    CU_ASSERT_PTR_NOT_NULL(strstr(body_text, "more than 10000 requests"));
}

static void test_refused_writes(void)
{
    int64_t things = n_of("things");
    const char *body = "--b\nContent-Type: application/http\n\nGET Things(1)?$select=name "
                       "HTTP/1.1\n\n"
                       "--b\nContent-Type: application/http\n\nPOST Things HTTP/1.1\n\n"
                       "{\"name\":\"no\",\"description\":\"refused\"}\n"
                       "--b\nContent-Type: multipart/mixed; boundary=c\n\n"
                       "--c\nContent-Type: application/http\nContent-ID: 1\n\nPOST Things "
                       "HTTP/1.1\n\n"
                       "{\"name\":\"no\",\"description\":\"refused\"}\n--c--\n--b--\n";
    call_as("POST", "/v1.1/$batch", "multipart/mixed; boundary=b", body, 401);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(count("HTTP/1.1 200 OK"), 1);
    CU_ASSERT_EQUAL(count("HTTP/1.1 401 Unauthorized"), 2);
    CU_ASSERT_EQUAL(count("writing needs a credential"), 2);
    CU_ASSERT_EQUAL(n_of("things"), things);
    /* a single write refused the same way */
    call_as("POST", "/v1.1/Things", NULL, "{\"name\":\"no\",\"description\":\"x\"}", 405);
    CU_ASSERT_EQUAL(status, 405);
    CU_ASSERT_EQUAL(n_of("things"), things);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "multipart: CRLF or LF, quoted boundary, preamble, epilogue",
                test_parse_multipart);
    CU_add_test(s, "multipart: errors name the part", test_parse_multipart_errors);
    CU_add_test(s, "JSON batch: groups, dependsOn, bodies, errors", test_parse_json);
    CU_add_test(s, "answers: multipart with a changeset, JSON", test_answer_format);
    CU_add_test(s, "a changeset: Thing, $1/Datastreams, $2/Observations; a GET after it",
                test_changeset);
    CU_add_test(s, "a failing changeset leaves nothing; a failing group answers 424",
                test_changeset_rolled_back);
    CU_add_test(s, "JSON batch: atomicity group, dependsOn, \"$id\" in URL and body",
                test_json_batch);
    CU_add_test(s, "415, 405, 400 naming the part, nested batch, GET in a changeset, 413",
                test_batch_errors);
    CU_add_test(s, "writes refused as single requests are; reads answered", test_refused_writes);
}

int main(void) { return tu_main("sta_batch", add_tests, suite_init, suite_clean); }
