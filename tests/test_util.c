/*
 * test_util.c: src/util.c and src/jsonutil.c: strings, the hash map, number parsing and
 * formatting, UTF-8 validation, SHA-256.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static void test_strbuf(void)
{
    struct strbuf sb = {0};
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "");
    for (int i = 0; i < 1000; i++)
        sb_printf(&sb, "%d,", i);
    CU_ASSERT_EQUAL(strncmp(sb.data, "0,1,2,", 6), 0);
    CU_ASSERT_EQUAL(sb.len, strlen(sb.data));
    sb_reset(&sb);
    sb_put_csv_field(&sb, "plain");
    sb_putc(&sb, '|');
    sb_put_csv_field(&sb, "a,b");
    sb_putc(&sb, '|');
    sb_put_csv_field(&sb, "say \"hi\"");
    CU_ASSERT_STRING_EQUAL(sb.data, "plain|\"a,b\"|\"say \"\"hi\"\"\"");
    sb_reset(&sb);
    sb_put_json_string(&sb, "q\"\\\n\x01é");
    CU_ASSERT_STRING_EQUAL(sb.data, "\"q\\\"\\\\\\n\\u0001é\"");
    sb_free(&sb);
    CU_ASSERT_PTR_NULL(sb.data);
}

static void test_strlist(void)
{
    struct strlist l = {0};
    for (int i = 0; i < 40; i++) {
        char s[16];
        snprintf(s, sizeof s, "id%d", i);
        CU_ASSERT_EQUAL(strlist_add(&l, s), 0);
        CU_ASSERT_PTR_NULL(l.items[l.n]); /* NULL-terminated after every add */
    }
    CU_ASSERT_EQUAL(strlist_addkv(&l, "tz", "Europe/Paris"), 0);
    CU_ASSERT_EQUAL(l.n, 41);
    CU_ASSERT_STRING_EQUAL(l.items[0], "id0");
    CU_ASSERT_STRING_EQUAL(l.items[39], "id39");
    CU_ASSERT_STRING_EQUAL(l.items[40], "tz=Europe/Paris");
    CU_ASSERT_PTR_NULL(l.items[41]);
    strlist_free(&l);
    CU_ASSERT_EQUAL(l.n, 0);
    CU_ASSERT_PTR_NULL(l.items);
}

static void test_mem_contains(void)
{
    const char head[] = "{\"type\": \"Feature\", \"x\": 1}";
    size_t n = sizeof head - 1;
    CU_ASSERT_TRUE(mem_contains(head, n, "\"Feature\""));
    CU_ASSERT_TRUE(mem_contains(head, n, "1}"));
    CU_ASSERT_FALSE(mem_contains(head, n - 1, "1}")); /* past the n bytes */
    CU_ASSERT_FALSE(mem_contains(head, n, "FeatureCollection"));
    CU_ASSERT_FALSE(mem_contains(head, 0, "{"));
}

static void test_strmap(void)
{
    struct strmap m = {0};
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CU_ASSERT_EQUAL(strmap_put(&m, key, strlen(key), i * 3), 0);
    }
    CU_ASSERT_EQUAL(m.count, 5000);
    int64_t v = -1;
    CU_ASSERT_TRUE(strmap_get(&m, "k4321", 5, &v));
    CU_ASSERT_EQUAL(v, 4321 * 3);
    CU_ASSERT_FALSE(strmap_get(&m, "k5000", 5, &v));
    strmap_put(&m, "k7", 2, -1);
    CU_ASSERT_TRUE(strmap_get(&m, "k7", 2, &v));
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_EQUAL(m.count, 5000);
    /* binary keys (the batch writer keys by int64) */
    int64_t id = 42;
    strmap_put(&m, (const char *)&id, sizeof id, 99);
    CU_ASSERT_TRUE(strmap_get(&m, (const char *)&id, sizeof id, &v));
    CU_ASSERT_EQUAL(v, 99);
    strmap_free(&m);
}

static void test_parse_double(void)
{
    double v;
    CU_ASSERT_EQUAL(parse_double("31.15", 5, &v), 0);
    CU_ASSERT_EQUAL(v, 31.15);
    CU_ASSERT_EQUAL(parse_double("-0.001", 6, &v), 0);
    CU_ASSERT_EQUAL(v, -0.001);
    CU_ASSERT_EQUAL(parse_double("1e-3", 4, &v), 0);
    CU_ASSERT_EQUAL(v, 0.001);
    CU_ASSERT_EQUAL(parse_double("-999999999999", 13, &v), 0);
    CU_ASSERT_EQUAL(v, -999999999999.0);
    CU_ASSERT_EQUAL(parse_double("NaN", 3, &v), 0);
    CU_ASSERT_TRUE(isnan(v));
    CU_ASSERT_NOT_EQUAL(parse_double("", 0, &v), 0);
    CU_ASSERT_NOT_EQUAL(parse_double("12a", 3, &v), 0);
    CU_ASSERT_NOT_EQUAL(parse_double("0x10", 4, &v), 0);
    CU_ASSERT_NOT_EQUAL(parse_double("inf", 3, &v), 0);
    CU_ASSERT_NOT_EQUAL(parse_double("1.2.3", 5, &v), 0);
    CU_ASSERT_NOT_EQUAL(parse_double(".", 1, &v), 0);
    /* the fast path must give what strtod gives, to the last bit */
    srand(7);
    char buf[64];
    int mismatches = 0;
    for (int i = 0; i < 200000; i++) {
        double x = (rand() - RAND_MAX / 2) / (double)(1 + rand() % 100000);
        int digits = 1 + rand() % 17;
        int n = snprintf(buf, sizeof buf, "%.*f", digits % 9, x);
        double fast;
        if (parse_double(buf, (size_t)n, &fast) || fast != strtod(buf, NULL))
            mismatches++;
    }
    CU_ASSERT_EQUAL(mismatches, 0);
}

static void test_fmt_double(void)
{
    char buf[48];
    fmt_double(0.1, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "0.1");
    fmt_double(1.8143, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "1.8143");
    fmt_double(-999999999999.0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "-999999999999");
    double tricky = 0.1 + 0.2;
    fmt_double(tricky, buf, sizeof buf);
    CU_ASSERT_EQUAL(strtod(buf, NULL), tricky);
    CU_ASSERT_STRING_EQUAL(buf, "0.30000000000000004");
}

/* Values with few decimals take a path without printf: it must write what the printf
 * path writes (the shortest of %.15g, %.16g, %.17g that reads back). */
static void test_fmt_double_fast_path(void)
{
    char fast[48], slow[48];
    int bad = 0;
    static const double edge[] = {0.0, -0.0, 1e-4, 9.9999e-5, -1e-4, 999999999.999999, 1e9,
                                  0.3, 123456789.123456, 100, 0.5, 48.59, 5e-324};
    for (size_t i = 0; i < ARRAY_LEN(edge) + 200000; i++) {
        double v = i < ARRAY_LEN(edge) ? edge[i]
                   : i % 2      ? (double)(int64_t)(i * 7919 % 2000000007) / 1000.0 - 1e6
                                : (double)(int64_t)(i * 104729 % 1000003) / 1e6;
        fmt_double(v, fast, sizeof fast);
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(slow, sizeof slow, "%.*g", prec, v);
            if (prec == 17 || strtod(slow, NULL) == v)
                break;
        }
        if (strcmp(fast, slow) != 0 && bad++ < 5)
            printf("# %.17g: %s, printf: %s\n", v, fast, slow);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_utf8(void)
{
    CU_ASSERT_TRUE(utf8_valid("plain", 5));
    CU_ASSERT_TRUE(utf8_valid("\xc2\xb5mol \xce\xbc \xe2\x82\xac", 12));
    CU_ASSERT_FALSE(utf8_valid("Donn\xe9" "es", 7));  /* CP1252 é */
    CU_ASSERT_FALSE(utf8_valid("\xc0\xaf", 2));       /* overlong */
    CU_ASSERT_FALSE(utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
    CU_ASSERT_FALSE(utf8_valid("\xe2\x82", 2));       /* truncated */
}

static void test_sha256(void)
{
    struct sha256 h;
    char hex[65];
    CU_ASSERT_EQUAL(sha256_init(&h), 0);
    sha256_update(&h, "abc", 3);
    sha256_final(&h, hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *dir = tu_tmpdir();
    char *path = tu_write(dir, "abc.txt", "abc");
    uint64_t bytes = 0;
    CU_ASSERT_EQUAL(sha256_file(path, hex, &bytes, NULL), 0);
    CU_ASSERT_EQUAL(bytes, 3);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    insitu_error err;
    CU_ASSERT_EQUAL(sha256_file("/nonexistent/x", hex, NULL, &err), INSITU_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/nonexistent/x"));
    free(path);
}

static void test_json_text(void)
{
    json_error_t jerr;
    json_t *j = json_loads("{\"b\":[1.8143,2.0,3,\"x\"],\"a\":{\"z\":null,\"y\":true}}", 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    char *text = json_text(j);
    CU_ASSERT_STRING_EQUAL(text, "{\"a\":{\"y\":true,\"z\":null},\"b\":[1.8143,2.0,3,\"x\"]}");
    CU_ASSERT_STRING_EQUAL(json_str_at(j, "b") ? "" : "none", "none");
    CU_ASSERT_PTR_NOT_NULL(json_at(j, "a.y"));
    CU_ASSERT_PTR_NULL(json_at(j, "a.q"));
    free(text);
    json_decref(j);
}

static void test_errors(void)
{
    insitu_error err;
    CU_ASSERT_EQUAL(insitu_error_set(&err, INSITU_EINVAL, "row %d", 5), INSITU_EINVAL);
    insitu_error_prefix(&err, "csv: %s", "f.csv");
    CU_ASSERT_STRING_EQUAL(err.message, "csv: f.csv: row 5");
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    insitu_error_set(&err, INSITU_EINVAL, "%s", big);
    insitu_error_prefix(&err, "%s", "source"); /* truncated, never overflowing */
    CU_ASSERT_EQUAL(strncmp(err.message, "source: xxx", 11), 0);
    CU_ASSERT_EQUAL(strlen(err.message), sizeof err.message - 1);
    CU_ASSERT_STRING_EQUAL(insitu_strerror(INSITU_ENOTFOUND), "not found");
}

static void test_distance(void)
{
    CU_ASSERT_EQUAL(str_distance("", ""), 0);
    CU_ASSERT_EQUAL(str_distance("", "abc"), 3);
    CU_ASSERT_EQUAL(str_distance("format", ""), 6);
    CU_ASSERT_EQUAL(str_distance("ingest", "ingest"), 0);
    CU_ASSERT_EQUAL(str_distance("ingset", "ingest"), 1); /* a swap is one edit */
    CU_ASSERT_EQUAL(str_distance("formt", "format"), 1);
    CU_ASSERT_EQUAL(str_distance("fromat", "format"), 1);
    CU_ASSERT_EQUAL(str_distance("kitten", "sitting"), 3);
    /* optimal string alignment: no substring is edited twice ("ca" -> "abc" is 3, where the
     * unrestricted Damerau-Levenshtein distance is 2) */
    CU_ASSERT_EQUAL(str_distance("ca", "abc"), 3);
    CU_ASSERT_EQUAL(str_distance("abc", "ca"), 3);
    CU_ASSERT_EQUAL(str_distance("things", "thing"), 1);
    /* long words: compared by their first 63 bytes, never overflowing */
    char a[200], b[200];
    memset(a, 'a', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[10] = 'b';
    CU_ASSERT_EQUAL(str_distance(a, b), 1);
    b[100] = 'b';
    CU_ASSERT_EQUAL(str_distance(a, b), 1);
}

static void test_nearest(void)
{
    static const char *const commands[] = {"init", "ingest", "pull", "formats", "sources",
                                           "things", "datastreams", "query", "sample",
                                           "matchup", "serve"};
    size_t n = ARRAY_LEN(commands);
    CU_ASSERT_EQUAL(str_nearest("ingset", commands, n), 1);
    CU_ASSERT_EQUAL(str_nearest("ingest", commands, n), 1);
    CU_ASSERT_EQUAL(str_nearest("qeury", commands, n), 7);
    CU_ASSERT_EQUAL(str_nearest("formatz", commands, n), 3);
    CU_ASSERT_EQUAL(str_nearest("datastream", commands, n), 6);
    CU_ASSERT_EQUAL(str_nearest("frobnicate", commands, n), -1); /* nothing near */
    CU_ASSERT_EQUAL(str_nearest("xyz", commands, n), -1);
    /* short words allow one edit: "srve" is serve, "ab" is nothing */
    CU_ASSERT_EQUAL(str_nearest("srve", commands, n), 10);
    CU_ASSERT_EQUAL(str_nearest("ab", commands, n), -1);
    /* long words allow a third of their length: 3 edits in "datastreeems" (12) */
    CU_ASSERT_EQUAL(str_distance("dtastreeems", "datastreams"), 3);
    CU_ASSERT_EQUAL(str_nearest("dtastreeems", commands, n), 6);
    /* a tie goes to the earlier candidate; otherwise the nearest wins wherever it is */
    static const char *const tie[] = {"cat", "bat", "hat"};
    CU_ASSERT_EQUAL(str_nearest("rat", tie, 3), 0);
    CU_ASSERT_EQUAL(str_nearest("sampl", commands, n), 8);
    CU_ASSERT_EQUAL(str_nearest("", commands, n), -1);
    CU_ASSERT_EQUAL(str_nearest("init", commands, 0), -1);
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("util", NULL, NULL);
    CU_add_test(s, "strbuf, CSV and JSON quoting", test_strbuf);
    CU_add_test(s, "string map", test_strmap);
    CU_add_test(s, "string list, NULL-terminated", test_strlist);
    CU_add_test(s, "bytes containing a text", test_mem_contains);
    CU_add_test(s, "parse_double is exact and strict", test_parse_double);
    CU_add_test(s, "fmt_double is shortest exact", test_fmt_double);
    CU_add_test(s, "fmt_double without printf writes what printf writes",
                test_fmt_double_fast_path);
    CU_add_test(s, "UTF-8 validation", test_utf8);
    CU_add_test(s, "SHA-256 of bytes and files", test_sha256);
    CU_add_test(s, "JSON text is canonical", test_json_text);
    CU_add_test(s, "error messages and prefixes", test_errors);
    CU_add_test(s, "edit distance with swaps (optimal string alignment)", test_distance);
    CU_add_test(s, "the nearest of several words, when near enough", test_nearest);
    return tap_run();
}
