/*
 * test_filter.c: src/filter.c: the $filter parser (precedence, literals, every operator and
 * function), the SQL it compiles to (bound values, never pasted text) run on a real store
 * built from tests/data, the $orderby/$select/$expand/$top/$skip/$count options, and hostile
 * input (quotes, semicolons, comments, huge numbers, deep nesting, unicode, long input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"

static insitu_store *store;
static char last_sql[8192];
static char last_err[1024];

/* 2030-01-01, -05, -10 in microseconds */
#define T20300101 INT64_C(1893456000000000)
#define T20300105 INT64_C(1893801600000000)
#define T20300110 INT64_C(1894233600000000)

static int suite_init(void)
{
    tu_init();
    store = tu_store(NULL);
    insitu_error err;
    if (!store || tu_ingest(store, tu_data("csv/hydroweb_wse_long.csv"), NULL, NULL, &err) ||
        tu_ingest(store, tu_data("theia/CATC_package.zip"), NULL, NULL, &err)) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    /* rows no source file shows: an interval, an instant, JSON results, parameters; written
     * through the store's own path (on PostgreSQL it makes the year's partition) */
    struct obs_row rows[2] = {
        {7, T20300101, T20300110, INSITU_TIME_NONE, 0, 0, "\"high\"", NULL,
         "{\"depth\": 5, \"method\": \"x\"}", 9},
        {7, T20300105, INSITU_TIME_NONE, INSITU_TIME_NONE, 0, 0, "true", NULL,
         "{\"depth\": \"5\", \"flag\": true, \"ratio\": 2.5, \"nothing\": null, \"list\": [1, 2]}",
         9}};
    unsigned char outcome[2];
    struct store *st = &store->base;
    if (st_begin(st, &err) || st->ops->put_observations(st, rows, 2, 0, outcome, &err) ||
        st_commit(st, &err) ||
        st_exec(st, "UPDATE things SET properties = '{\"owner\": \"me\", \"n\": 3}' "
                    "WHERE id = 1",
                &err)) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    insitu_store_close(store);
    return 0;
}

static const struct sql_dialect *dialect(void) { return store->base.dialect; }

/* Compiles filter on type t; -1 on a compile error (last_err), -2 when SQLite refuses the
 * SQL, else the count of matching rows. */
static int64_t count(enum sta_type t, const char *filter)
{
    struct fexpr *e = NULL;
    insitu_error err = {0};
    last_err[0] = '\0';
    last_sql[0] = '\0';
    if (filter_parse(filter, &e, &err)) {
        snprintf(last_err, sizeof last_err, "%s", err.message);
        return -1;
    }
    struct sqlfrag f = {0};
    frag_printf(&f, "SELECT count(*) FROM %s e WHERE ", sta_type_def(t)->table);
    int rc = filter_sql(e, t, "e", dialect(), INT64_C(1800000000000000), &f, &err);
    fexpr_free(e);
    snprintf(last_sql, sizeof last_sql, "%s", sb_str(&f.sql));
    if (rc) {
        snprintf(last_err, sizeof last_err, "%s", err.message);
        frag_free(&f);
        return -1;
    }
    struct stmt *s;
    if (st_prepare(&store->base, sb_str(&f.sql), &s, &err)) {
        snprintf(last_err, sizeof last_err, "%s", err.message);
        printf("# SQL refused: %s\n# %s\n", err.message, last_sql);
        frag_free(&f);
        return -2;
    }
    int idx = 1;
    frag_bind(&f, s, &idx);
    int64_t n = st_step(s, &err) == 1 ? st_col_int64(s, 0) : -3;
    st_finalize(s);
    frag_free(&f);
    return n;
}

static int err_has(const char *needle)
{
    if (strstr(last_err, needle))
        return 1;
    printf("# error was: %s\n# expected: %s\n", last_err, needle);
    return 0;
}

#define COUNT(t, f, n) CU_ASSERT_EQUAL(count(t, f), n)

/* ---- the parser ---- */

static struct fexpr *parse(const char *text)
{
    struct fexpr *e = NULL;
    insitu_error err = {0};
    if (filter_parse(text, &e, &err))
        printf("# %s\n", err.message);
    return e;
}

static void test_precedence(void)
{
    /* and binds tighter than or */
    struct fexpr *e = parse("name eq 'a' or name eq 'b' and id eq 1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->kind, FX_OR);
    CU_ASSERT_EQUAL(e->a->kind, FX_EQ);
    CU_ASSERT_EQUAL(e->b->kind, FX_AND);
    fexpr_free(e);
    /* mul before add, add before comparison */
    e = parse("result add 2 mul 3 gt 10");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->kind, FX_GT);
    CU_ASSERT_EQUAL(e->a->kind, FX_ADD);
    CU_ASSERT_EQUAL(e->a->b->kind, FX_MUL);
    CU_ASSERT_EQUAL(e->a->b->a->i, 2);
    CU_ASSERT_EQUAL(e->b->i, 10);
    fexpr_free(e);
    /* sub is left-associative: (10 sub 2) sub 3 */
    e = parse("10 sub 2 sub 3 eq result");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->a->kind, FX_SUB);
    CU_ASSERT_EQUAL(e->a->a->kind, FX_SUB);
    CU_ASSERT_EQUAL(e->a->b->i, 3);
    fexpr_free(e);
    /* not applies to the comparison after it; parentheses group */
    e = parse("not (result gt 1 or result lt 0) and not startswith(name, 'x')");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->kind, FX_AND);
    CU_ASSERT_EQUAL(e->a->kind, FX_NOT);
    CU_ASSERT_EQUAL(e->a->a->kind, FX_OR);
    CU_ASSERT_EQUAL(e->b->kind, FX_NOT);
    CU_ASSERT_EQUAL(e->b->a->kind, FX_CALL);
    fexpr_free(e);
    /* -1 is a literal, a path can hold several segments */
    e = parse("Datastream/Thing/name eq 'x' and result gt -1.5");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->a->a->kind, FX_PATH);
    CU_ASSERT_EQUAL(e->a->a->nsegs, 3);
    CU_ASSERT_STRING_EQUAL(e->a->a->segs[1], "Thing");
    CU_ASSERT_EQUAL(e->b->b->kind, FX_REAL);
    CU_ASSERT_DOUBLE_EQUAL(e->b->b->d, -1.5, 1e-12);
    fexpr_free(e);
}

static void test_literals(void)
{
    struct fexpr *e = parse("phenomenonTime eq 2020-01-01T00:00:00Z");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->b->kind, FX_TIME);
    CU_ASSERT_EQUAL(e->b->t0, INT64_C(1577836800000000));
    CU_ASSERT_EQUAL(e->b->t1, INSITU_TIME_NONE);
    fexpr_free(e);
    e = parse("phenomenonTime eq 2020-01-01T01:00:00+01:00/2020-01-02");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->b->t0, INT64_C(1577836800000000));
    CU_ASSERT_EQUAL(e->b->t1, INT64_C(1577923200000000));
    fexpr_free(e);
    /* a '+' of an offset that arrived as a space (form encoding) */
    e = parse("phenomenonTime ge 2020-01-01T01:00:00 01:00");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->b->t0, INT64_C(1577836800000000));
    fexpr_free(e);
    e = parse("name eq 'it''s' and result eq null and id eq true");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->a->a->b->s, "it's");
    CU_ASSERT_EQUAL(e->a->b->b->kind, FX_NULL);
    CU_ASSERT_EQUAL(e->b->b->kind, FX_BOOL);
    fexpr_free(e);
    e = parse("geo.intersects(location, geography'POLYGON((0 0, 2 0, 2 3, 0 3, 0 0))')");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->args[1]->kind, FX_GEOM);
    CU_ASSERT_DOUBLE_EQUAL(e->args[1]->env[2], 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(e->args[1]->env[3], 3, 1e-12);
    fexpr_free(e);
    e = parse("phenomenonTime add duration'P1DT1H' gt 2020-01-01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->a->b->i, INT64_C(90000000000));
    fexpr_free(e);
    /* an integer too large for 64 bits is read as a real */
    e = parse("result eq 99999999999999999999999");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->b->kind, FX_REAL);
    fexpr_free(e);
}

/* ---- operators, run on the store ---- */

static void test_comparison(void)
{
    COUNT(STA_OBSERVATION, "result gt 100", 3);
    COUNT(STA_OBSERVATION, "result ge 49 and result le 49.15", 2);
    COUNT(STA_OBSERVATION, "result eq 49", 1);
    COUNT(STA_OBSERVATION, "result ne 49", 15);
    COUNT(STA_OBSERVATION, "result lt 1", 2);
    COUNT(STA_OBSERVATION, "100 lt result", 3);
    COUNT(STA_OBSERVATION, "result eq null", 0);
    COUNT(STA_OBSERVATION, "result ne null", 18);
    COUNT(STA_THING, "name eq 'R_MARONI_OELEMARI_KM0387'", 1);
    COUNT(STA_THING, "name ne 'R_MARONI_OELEMARI_KM0387'", 6);
    COUNT(STA_THING, "id eq '3'", 1); /* an id written as text, as OGC's examples do */
    COUNT(STA_THING, "id le 3 and id gt 1", 2);
    COUNT(STA_THING, "properties eq null", 4);
}

static void test_logical(void)
{
    COUNT(STA_OBSERVATION, "result gt 100 or result lt 1", 5);
    COUNT(STA_OBSERVATION, "result gt 100 and result lt 123", 2);
    COUNT(STA_OBSERVATION, "not (result gt 100)", 13);
    COUNT(STA_OBSERVATION, "not result gt 100 and not result lt 1", 11);
    COUNT(STA_OBSERVATION, "(result gt 1 or result lt 0) and (result lt 50 or result gt 120)",
          10);
    COUNT(STA_THING, "true", 7);
    COUNT(STA_THING, "false or id eq 1", 1);
}

static void test_arithmetic(void)
{
    COUNT(STA_OBSERVATION, "result add 1 gt 123", 3);
    COUNT(STA_OBSERVATION, "result sub 100 gt 22.5", 2);
    COUNT(STA_OBSERVATION, "result mul 2 lt 2", 2);
    COUNT(STA_OBSERVATION, "result div 2 gt 61.5", 1);
    COUNT(STA_OBSERVATION, "result mod 2 gt 1.5", 2); /* 29.83 mod 2 = 1.83, 31.73 -> 1.73 */
    COUNT(STA_OBSERVATION, "(result sub 5) mul 2 gt 235", 2);
    COUNT(STA_OBSERVATION, "- result lt -123", 1);
    COUNT(STA_THING, "id mod 2 eq 0", 3);
}

static void test_string_functions(void)
{
    COUNT(STA_THING, "startswith(name, 'R_MARONI')", 2);
    COUNT(STA_THING, "endswith(name, 'KM0177')", 1);
    COUNT(STA_THING, "endswith(name, 'a much longer suffix than any name here')", 0);
    COUNT(STA_THING, "substringof('MARONI', name)", 2);
    COUNT(STA_THING, "contains(name, 'APPROUAGUE')", 2);
    COUNT(STA_THING, "length(name) eq 30", 2);
    COUNT(STA_THING, "indexof(name, 'MARONI') eq 2", 2);
    COUNT(STA_THING, "substring(name, 2, 6) eq 'MARONI'", 2);
    COUNT(STA_THING, "substring(name, 24) eq 'KM0041'", 1);
    COUNT(STA_THING, "tolower(name) eq 'sankoro (puits)'", 1);
    COUNT(STA_THING, "toupper(tolower(name)) eq name", 7);
    COUNT(STA_THING, "trim(concat('  ', name)) eq name", 7);
    COUNT(STA_THING, "concat(name, '!') eq 'SANKORO (PUITS)!'", 1);
    COUNT(STA_THING, "startswith(name, 'R') eq false", 2);
}

static void test_date_functions(void)
{
    COUNT(STA_OBSERVATION, "year(phenomenonTime) eq 2023", 8);
    COUNT(STA_OBSERVATION, "month(phenomenonTime) eq 12", 5);
    COUNT(STA_OBSERVATION, "day(phenomenonTime) eq 24", 3);
    COUNT(STA_OBSERVATION, "hour(phenomenonTime) eq 13 and minute(phenomenonTime) eq 32", 4);
    COUNT(STA_OBSERVATION, "minute(phenomenonTime) eq 35", 4);
    COUNT(STA_OBSERVATION, "second(phenomenonTime) eq 0", 18);
    COUNT(STA_OBSERVATION, "fractionalseconds(phenomenonTime) eq 0", 18);
    COUNT(STA_OBSERVATION, "date(phenomenonTime) eq 2024-01-24", 3);
    COUNT(STA_OBSERVATION, "time(phenomenonTime) eq 13:31:00", 1);
    COUNT(STA_OBSERVATION, "time(phenomenonTime) eq '13:31:00'", 1);
    COUNT(STA_OBSERVATION, "totaloffsetminutes(phenomenonTime) eq 0", 18);
    COUNT(STA_OBSERVATION, "phenomenonTime lt now()", 16); /* now() is 2027-01-15 here */
    COUNT(STA_OBSERVATION, "phenomenonTime gt mindatetime() and phenomenonTime lt maxdatetime()",
          18);
    /* the 3 pivot rows have a resultTime (their date_end, docs/formats.md) */
    COUNT(STA_OBSERVATION, "resultTime eq null", 15);
    COUNT(STA_OBSERVATION, "resultTime eq phenomenonTime", 3);
    COUNT(STA_OBSERVATION, "phenomenonTime ge 2024-01-01T00:00:00Z", 7);
    COUNT(STA_OBSERVATION, "phenomenonTime ge '2024-01-01T00:00:00Z'", 7);
    COUNT(STA_OBSERVATION, "phenomenonTime lt 2023-11-05T00:00:00Z", 5);
    COUNT(STA_OBSERVATION, "phenomenonTime sub duration'P1D' ge 2030-01-01T00:00:00Z", 1);
    COUNT(STA_OBSERVATION, "year(phenomenonTime add duration'P3650D') eq 2034", 5);
}

/* OGC 18-088: intervals are half-open; lt/gt are before/after; le/ge compare both ends. */
static void test_time_intervals(void)
{
    const char *ds7 = "Datastream/id eq 7 and ";
    char f[256];
#define DS7(expr, n)                                                                          \
    do {                                                                                      \
        snprintf(f, sizeof f, "%s%s", ds7, expr);                                             \
        COUNT(STA_OBSERVATION, f, n);                                                         \
    } while (0)
    DS7("phenomenonTime lt 2030-01-09T00:00:00Z", 2);  /* the interval ends after */
    DS7("phenomenonTime lt 2030-01-10T00:00:00Z", 3);  /* its end is not in it */
    DS7("phenomenonTime gt 2030-01-01T00:00:00Z", 1);  /* the interval starts at it */
    DS7("phenomenonTime ge 2030-01-01T00:00:00Z", 2);
    DS7("phenomenonTime le 2030-01-10T00:00:00Z", 3);
    DS7("phenomenonTime le 2030-01-09T00:00:00Z", 2);
    DS7("phenomenonTime eq 2030-01-01T00:00:00Z/2030-01-10T00:00:00Z", 1);
    DS7("phenomenonTime eq 2030-01-05T00:00:00Z", 1);
    DS7("phenomenonTime gt 2029-01-01T00:00:00Z/2030-01-01T00:00:00Z", 2);
    DS7("overlaps(phenomenonTime, 2030-01-09T00:00:00Z/2030-02-01T00:00:00Z)", 1);
    DS7("overlaps(phenomenonTime, 2030-01-05T00:00:00Z)", 2);
    DS7("overlaps(phenomenonTime, 2030-01-10T00:00:00Z/2030-02-01T00:00:00Z)", 0);
    DS7("during(phenomenonTime, 2029-12-01T00:00:00Z/2030-02-01T00:00:00Z)", 2);
    DS7("before(phenomenonTime, 2030-01-05T00:00:00Z)", 1);
    DS7("after(phenomenonTime, 2020-01-01T00:00:00Z)", 2);
    DS7("meets(phenomenonTime, 2030-01-10T00:00:00Z)", 1);
    DS7("starts(phenomenonTime, 2030-01-01T00:00:00Z/2030-01-02T00:00:00Z)", 1);
    DS7("finishes(phenomenonTime, 2030-01-09T00:00:00Z/2030-01-10T00:00:00Z)", 1);
#undef DS7
}

static void test_math_functions(void)
{
    COUNT(STA_OBSERVATION, "round(result) eq 49", 4); /* 48.96, 49, 49.15, 48.59 */
    COUNT(STA_OBSERVATION, "floor(result) eq 49", 2);
    COUNT(STA_OBSERVATION, "ceiling(result) eq 49", 3); /* 48.96, 49, 48.59 */
}

static void test_json_and_results(void)
{
    COUNT(STA_OBSERVATION, "result eq 'high'", 1);
    COUNT(STA_OBSERVATION, "result eq true", 1);
    COUNT(STA_OBSERVATION, "parameters/depth gt 4", 1);
    COUNT(STA_OBSERVATION, "parameters/method eq 'x' and parameters/none eq null", 1);
    COUNT(STA_OBSERVATION, "startswith(result, 'hi')", 1);
    COUNT(STA_THING, "properties/owner eq 'me'", 1);
    COUNT(STA_THING, "properties/n add 1 eq 4", 1);
    COUNT(STA_DATASTREAM, "unitOfMeasurement/symbol eq 'm'", 5);
    /* array indexes: "list": [1, 2] */
    COUNT(STA_OBSERVATION, "parameters/list[1] eq 2", 1);
    COUNT(STA_OBSERVATION, "parameters/list[0] eq 2", 0);
    COUNT(STA_OBSERVATION, "parameters/list[5] eq null and parameters/flag", 1);
    COUNT(STA_OBSERVATION, "parameters/depth[0] eq 5", 0); /* not an array */
    COUNT(STA_OBSERVATION, "parameters/list[x] eq 1", -1);
    CU_ASSERT_TRUE(err_has("expected an array index ([0], [1]...) after '['"));
    COUNT(STA_OBSERVATION, "parameters/list[1 eq 1", -1);
    COUNT(STA_OBSERVATION, "parameters/list[-1] eq 1", -1);
}

/* A JSON value is compared as what it is: a number with numbers, a string with text,
 * true/false with true/false; a value of another type never matches (ne neither). The same
 * answers on SQLite and PostgreSQL. */
static void test_json_types(void)
{
    /* parameters: {"depth": 5, "method": "x"} and {"depth": "5", "flag": true, ...} */
    COUNT(STA_OBSERVATION, "parameters/depth gt 4", 1);
    COUNT(STA_OBSERVATION, "parameters/depth eq 5", 1);
    COUNT(STA_OBSERVATION, "parameters/depth eq '5'", 1);
    COUNT(STA_OBSERVATION, "parameters/depth ne 5", 0);
    COUNT(STA_OBSERVATION, "parameters/depth gt 'a'", 0);
    COUNT(STA_OBSERVATION, "parameters/depth eq parameters/depth", 2);
    COUNT(STA_OBSERVATION, "parameters/depth eq parameters/method", 0);
    COUNT(STA_OBSERVATION, "parameters/flag eq true", 1);
    COUNT(STA_OBSERVATION, "parameters/flag ne false", 1);
    COUNT(STA_OBSERVATION, "parameters/flag", 1);
    COUNT(STA_OBSERVATION, "parameters/flag eq 1", 0);
    COUNT(STA_OBSERVATION, "parameters/ratio mul 2 eq 5", 1);
    COUNT(STA_OBSERVATION, "parameters/depth div 2 eq 2.5", 1); /* JSON numbers are doubles */
    COUNT(STA_OBSERVATION, "round(parameters/ratio) eq 3", 1);  /* half away from zero */
    COUNT(STA_OBSERVATION, "- parameters/ratio lt -2", 1);
    COUNT(STA_OBSERVATION, "parameters/nothing eq null", 18);   /* null or absent */
    COUNT(STA_OBSERVATION, "parameters/list eq null", 17);
    COUNT(STA_OBSERVATION, "parameters/list ne null", 1);
    COUNT(STA_OBSERVATION, "length(parameters/method) eq 1", 1);
    COUNT(STA_OBSERVATION, "startswith(parameters/depth, '5')", 1); /* the string only */
    /* a quality flag kept as bare text ("13") has no members: no match, no error */
    COUNT(STA_OBSERVATION, "resultQuality/flag eq 1 or resultQuality/flag eq null", 18);
    COUNT(STA_SENSOR, "metadata/x eq 'y'", 0);
    /* results: numbers in result, the others as JSON ('"high"', 'true') */
    COUNT(STA_OBSERVATION, "result eq true", 1);
    COUNT(STA_OBSERVATION, "result ne true", 0);
    COUNT(STA_OBSERVATION, "result gt 'a'", 1);
    COUNT(STA_OBSERVATION, "result eq result", 18);
    /* ordering a JSON value: by number, then text, then true/false (nulls first) */
    struct sta_query q;
    sq_init(&q);
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sq_parse_option(&q, "$orderby", "parameters/depth desc", 0, &err), 0);
    struct sqlfrag f = {0};
    int unique;
    frag_printf(&f, "SELECT e.phenomenon_start FROM observations e WHERE e.datastream_id = 7 AND "
                    "e.phenomenon_start >= %lld ORDER BY ",
                (long long)T20300101);
    CU_ASSERT_EQUAL_FATAL(orderby_sql(q.orderby, q.n_orderby, STA_OBSERVATION, "e", dialect(), 0,
                                      &f, &unique, &err),
                          0);
    struct stmt *st;
    CU_ASSERT_EQUAL_FATAL(st_prepare(&store->base, sb_str(&f.sql), &st, &err), 0);
    int idx = 1;
    frag_bind(&f, st, &idx);
    CU_ASSERT_EQUAL(st_step(st, &err), 1);
    CU_ASSERT_EQUAL(st_col_int64(st, 0), T20300101); /* the number 5 before the text "5" */
    CU_ASSERT_EQUAL(st_step(st, &err), 1);
    CU_ASSERT_EQUAL(st_col_int64(st, 0), T20300105);
    st_finalize(st);
    frag_free(&f);
    sq_free(&q);
}

/* The dialect's number_text of v (as text, caller frees), or NULL. */
static char *number_text(double v)
{
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT ");
    sb_printf(&sql, dialect()->number_text, "?"); /* %1$s: the bound value */
    struct stmt *s;
    insitu_error err;
    char *out = NULL;
    if (st_prepare(&store->base, sb_str(&sql), &s, &err) == 0) {
        st_bind_double(s, 1, v);
        if (st_step(s, &err) == 1 && !st_col_is_null(s, 0))
            out = strdup(st_col_text(s, 0));
        st_finalize(s);
    } else {
        printf("# %s\n", err.message);
    }
    sb_free(&sql);
    return out;
}

/* A string literal compared with a result compares the result's text (a number's text being
 * what the API writes in JSON); a number compares numbers. */
static void test_result_text(void)
{
    /* the numeric results: 0.72 0.84 122.36 122.89 123.08 48.96 49 49.15 48.59 54.77 55.02
     * 55.45 56.16 31.15 29.83 31.73; the others "high" and true */
    COUNT(STA_OBSERVATION, "result ge 2", 14);
    COUNT(STA_OBSERVATION, "result ge '2'", 12); /* '1...' and '0...' sort before '2' */
    COUNT(STA_OBSERVATION, "result lt '2'", 5);
    COUNT(STA_OBSERVATION, "'2' gt result", 5);
    COUNT(STA_OBSERVATION, "result gt '5'", 5); /* 54.77 55.02 55.45 56.16 and "high" */
    COUNT(STA_OBSERVATION, "result eq '49'", 1);
    COUNT(STA_OBSERVATION, "result eq '49.0'", 0);
    COUNT(STA_OBSERVATION, "result eq 49.0", 1);
    COUNT(STA_OBSERVATION, "result eq '122.36'", 1);
    COUNT(STA_OBSERVATION, "result ne '122.36'", 16); /* true has no text */
    COUNT(STA_OBSERVATION, "result eq 'high'", 1);
    COUNT(STA_OBSERVATION, "startswith(result, '12')", 3);
    COUNT(STA_OBSERVATION, "result eq concat('4', '9')", 1);
    /* anything else compared with text still reads it as a number */
    COUNT(STA_OBSERVATION, "id eq '1'", 1);
    COUNT(STA_OBSERVATION, "result add '1' eq 50", 1);
    /* a number's text is the JSON writer's, on every backend */
    static const double values[] = {
        0.1 + 0.2, 49.0, 49.15, -2.5, 1e-5, 1.5e-7, 1e15, 1e16, 1e300, 5e-324, 0.72,
        123456789.125, 1234567890123456.0, 1234567890123456.75, 1.0000000000000002e16,
        12345678901234568.0, 1e17 + 16, 123456789012345.6, -1234567890123456.0};
    for (size_t k = 0; k < ARRAY_LEN(values); k++) {
        char want[40];
        fmt_double(values[k], want, sizeof want);
        char *got = number_text(values[k]);
        CU_ASSERT_PTR_NOT_NULL(got);
        if (got && strcmp(got, want) != 0) {
            printf("# number_text(%.17g): %s, the JSON writer: %s\n", values[k], got, want);
            CU_FAIL("number_text differs from the JSON writer");
        }
        free(got);
    }
    /* and on doubles of every magnitude (a fixed sequence of random bits): any, then around
     * 1e-10 .. 1e20 (where %g changes layout), then decimals with a few digits */
    uint64_t x = 0x9E3779B97F4A7C15u;
    int differ = 0;
    for (int k = 0; k < 3000; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        uint64_t bits = x;
        if (k % 3 == 0)
            bits = (bits & 0x800FFFFFFFFFFFFFu) | ((uint64_t)((x >> 52) % 2047) << 52);
        else if (k % 3 == 1)
            bits = (bits & 0x800FFFFFFFFFFFFFu) | ((uint64_t)(990 + (x >> 52) % 100) << 52);
        memcpy(&v, &bits, sizeof v);
        if (k % 3 == 2)
            v = (double)(int64_t)(x % 20000001) / (k % 2 ? 100.0 : 1000.0) - 10000.0;
        char want[40];
        fmt_double(v, want, sizeof want);
        char *got = number_text(v);
        if (!got || strcmp(got, want) != 0) {
            if (differ++ < 5)
                printf("# number_text(%.17g): %s, the JSON writer: %s\n", v, got ? got : "NULL",
                       want);
        }
        free(got);
    }
    CU_ASSERT_EQUAL(differ, 0);
}

/* What SQLite and PostgreSQL do differently by themselves, made the same. */
static void test_same_answers(void)
{
    /* literals keep their types: numbers compare as numbers */
    COUNT(STA_THING, "2 lt 10", 7);
    COUNT(STA_THING, "1 add 2 eq 3", 7);
    COUNT(STA_THING, "'b' gt 'a'", 7);
    COUNT(STA_THING, "- (1) lt 0", 7);
    COUNT(STA_THING, "5 div 2 eq 2", 7); /* integers divide as integers */
    COUNT(STA_THING, "5.0 div 2 eq 2.5", 7);
    /* a division by zero is null, not an error */
    COUNT(STA_THING, "id div 0 eq null", 7);
    COUNT(STA_THING, "id mod 0 eq null", 7);
    COUNT(STA_OBSERVATION, "result div 0 gt 0", 0);
    /* round: half away from zero */
    COUNT(STA_THING, "round(2.5) eq 3 and round(-2.5) eq -3 and round(0.5) eq 1", 7);
    /* tolower/toupper change ASCII letters only */
    COUNT(STA_THING, "tolower('ÉA') eq 'Éa' and toupper('éa') eq 'éA'", 7);
    /* substring: a negative start or length counts as 0, a decimal is truncated */
    COUNT(STA_THING, "substring(name, -3, 2) eq substring(name, 0, 2)", 7);
    COUNT(STA_THING, "substring(name, 1, -1) eq ''", 7);
    COUNT(STA_THING, "substring('abc', 1.9) eq 'bc'", 7);
    /* time parts: the microseconds truncated toward zero (as SQLite's strftime) */
    COUNT(STA_THING, "year(1969-12-31T23:59:58.5Z) eq 1969 and month(1969-12-31T23:59:58.5Z) eq "
                     "12 and day(1969-12-31T23:59:58.5Z) eq 31",
          7);
    COUNT(STA_THING, "hour(1969-12-31T23:59:58.5Z) eq 23 and minute(1969-12-31T23:59:58.5Z) eq "
                     "59 and second(1969-12-31T23:59:58.5Z) eq 59",
          7);
    COUNT(STA_THING, "time(1969-12-31T23:59:58.5Z) eq '23:59:59'", 7);
    COUNT(STA_THING, "fractionalseconds(1969-12-31T23:59:58.5Z) eq 0.5", 7);
    COUNT(STA_THING, "day(2024-02-29T12:00:00Z) eq 29 and day(1900-03-01T00:00:00Z sub "
                     "duration'P1D') eq 28",
          7);
    COUNT(STA_THING, "year(0000-03-01T00:00:00Z) eq 0 and month(0000-03-01T00:00:00Z) eq 3", 7);
    COUNT(STA_THING, "year(9999-12-31T23:59:59Z) eq 9999", 7);
    COUNT(STA_THING, "year(9999-12-31T23:59:59Z add duration'PT1S') eq null", 7);
    /* text and numbers are not compared: an error on both */
    COUNT(STA_THING, "name eq id", -1);
    CU_ASSERT_TRUE(err_has("at character 1: cannot compare text with a number"));
    COUNT(STA_THING, "'abc' eq id", -1);
    CU_ASSERT_TRUE(err_has("cannot compare text with a number"));
    COUNT(STA_THING, "name eq true", -1);
    CU_ASSERT_TRUE(err_has("cannot compare a condition with text"));
}

static void test_navigation(void)
{
    COUNT(STA_OBSERVATION, "Datastream/Thing/name eq 'R_MARONI_OELEMARI_KM0387'", 3);
    COUNT(STA_OBSERVATION, "Datastream/id eq 3", 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_sql, "(e.datastream_id) = (?)")); /* no subquery for an id */
    COUNT(STA_OBSERVATION, "Datastream/@iot.id eq 3", 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_sql, "(e.datastream_id) = (?)"));
    COUNT(STA_OBSERVATION, "FeatureOfInterest/id eq 3", 3);
    COUNT(STA_OBSERVATION, "Datastream/ObservedProperty/name eq 'Silicon'", 5);
    COUNT(STA_DATASTREAM, "ObservedProperty/name eq 'Silicon'", 2);
    COUNT(STA_DATASTREAM, "Thing/Locations/name eq 'R_OYAPOCK_CAMOPI_KM0177'", 1);
    /* to-many: true when any related entity satisfies the comparison */
    COUNT(STA_THING, "Datastreams/Observations/result gt 120", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_sql, "EXISTS (SELECT 1 FROM datastreams j1, "
                                            "observations j2 WHERE"));
    COUNT(STA_THING, "Datastreams/Observations/result gt 120 or id eq 1", 2);
    COUNT(STA_DATASTREAM, "Observations/result lt 1", 2);
    COUNT(STA_LOCATION, "Things/Datastreams/ObservedProperty/name eq 'Silicon'", 2);
}

#define BOX "geography'POLYGON((-55 2, -53 2, -53 5, -55 5, -55 2))'"

/* 1 when the last SQL holds the dialect's spatial-index filter on locations (its text up to
 * the first placeholder: SQLite's R*Tree, PostGIS's && on the GiST index). */
static int uses_spatial_index(void)
{
    struct strbuf want = {0};
    dialect_bbox_sql(dialect(), &want, "e", "locations");
    char *q = strchr(want.data, '?');
    if (q)
        *q = '\0';
    int found = strstr(last_sql, want.data) != NULL;
    sb_free(&want);
    return found;
}

static void test_geo_functions(void)
{
    COUNT(STA_LOCATION, "geo.intersects(location, " BOX ")", 2);
    /* the spatial index is used: it bounds the candidates */
    CU_ASSERT_TRUE(uses_spatial_index());
    COUNT(STA_LOCATION, "st_intersects(location, " BOX ")", 2);
    COUNT(STA_LOCATION, "st_within(location, " BOX ")", 2);
    COUNT(STA_LOCATION, "st_contains(" BOX ", location)", 2);
    COUNT(STA_LOCATION, "st_disjoint(location, " BOX ")", 5);
    CU_ASSERT_FALSE(uses_spatial_index()); /* disjoint: no prefilter */
    COUNT(STA_LOCATION, "st_equals(location, geography'POINT(-54.2864 3.1944)')", 1);
    COUNT(STA_LOCATION, "st_touches(location, " BOX ")", 0);
    COUNT(STA_LOCATION, "st_overlaps(location, " BOX ")", 0);
    COUNT(STA_LOCATION, "st_crosses(geography'LINESTRING(-60 3.1944, -50 3.1944)', " BOX ")",
          7);
    COUNT(STA_LOCATION, "st_relate(location, " BOX ", 'T********')", 2);
    COUNT(STA_LOCATION, "geo.distance(location, geography'POINT(-54.2864 3.1944)') lt 0.01", 1);
    COUNT(STA_LOCATION, "geo.length(geography'LINESTRING(0 0, 3 4)') eq 5", 7);
    COUNT(STA_THING, "geo.intersects(Locations/location, " BOX ")", 2);
    COUNT(STA_FEATURE, "st_within(feature, " BOX ")", 2);
    COUNT(STA_OBSERVATION, "st_within(FeatureOfInterest/feature, " BOX ")", 7);
    COUNT(STA_LOCATION, "geo.intersects(location, geography'SRID=4326;POINT(-54.2864 3.1944)')",
          1);
}

/* ---- spatial relations: GEOS's answers on points, lines and polygons ---- */

/* The stored geometries, as Locations and as FeaturesOfInterest named by one letter. */
static const struct {
    const char *name, *geojson;
} geo_rows[] = {
    {"T", "{\"type\":\"Polygon\",\"coordinates\":[[[8,53],[7,52],[7,53],[8,53]]]}"},
    {"P", "{\"type\":\"Point\",\"coordinates\":[7.5,52.75]}"},
    {"L", "{\"type\":\"LineString\",\"coordinates\":[[7.5,51],[7.5,54]]}"},
    {"B", "{\"type\":\"Polygon\",\"coordinates\":[[[7.5,52],[9,52],[9,54],[7.5,54],[7.5,52]]]}"},
};

/* For each literal, the stored geometries g for which each relation holds, as PostGIS
 * computes it (ST_<relation>): "fwd" is f(g, literal), "rev" f(literal, g); the symmetric
 * relations have one column. T is the triangle, P a point inside it, L a line through it, B
 * a box overlapping it; the literals add T's vertex (8 53), its top edge and a far point. */
static const struct geo_case {
    const char *wkt;
    const char *intersects, *equals, *disjoint, *touches, *overlaps;
    const char *within_fwd, *within_rev, *crosses_fwd, *crosses_rev, *contains_fwd,
        *contains_rev, *relate_t_fwd, *relate_t_rev, *relate_f_fwd, *relate_f_rev;
} geo_cases[] = {
    {"POLYGON((8 53, 7 52, 7 53, 8 53))", "BLPT", "T", "", "", "B", "PT", "T", "L", "L", "T",
     "PT", "BLPT", "BLPT", "", ""},
    {"POINT(7.5 52.75)", "BLPT", "P", "", "B", "", "P", "LPT", "", "", "LPT", "P", "LPT", "LPT",
     "", ""},
    {"POINT(8 53)", "BT", "", "LP", "T", "", "", "B", "", "", "B", "", "B", "B", "", ""},
    {"LINESTRING(7.5 51, 7.5 54)", "BLPT", "L", "", "B", "", "LP", "L", "T", "T", "L", "LP",
     "LPT", "LPT", "B", "B"},
    {"LINESTRING(7 53, 8 53)", "BLT", "", "P", "T", "", "", "", "BL", "BL", "", "", "BL", "BL",
     "T", "T"},
    {"POLYGON((7.5 52, 9 52, 9 54, 7.5 54, 7.5 52))", "BLPT", "B", "", "LP", "T", "B", "B", "",
     "", "B", "B", "BT", "BT", "L", "L"},
    {"POINT(0 0)", "", "", "BLPT", "", "", "", "", "", "", "", "", "", "", "", ""},
};

static insitu_store *geo_store;

static int geo_insert(const char *table, const char *col, const char *name, const char *geojson)
{
    struct strbuf sql = {0};
    sb_printf(&sql, "INSERT INTO %s (key, name, %s, geom) VALUES (?, ?, ?, ", table, col);
    sb_puts(&sql, geo_store->base.dialect->geom_from_geojson);
    sb_puts(&sql, ")");
    struct stmt *s;
    insitu_error err;
    int rc = st_prepare(&geo_store->base, sb_str(&sql), &s, &err);
    sb_free(&sql);
    if (rc)
        return rc;
    char key[16];
    snprintf(key, sizeof key, "geo:%s", name);
    st_bind_text(s, 1, key);
    st_bind_text(s, 2, name);
    st_bind_text(s, 3, geojson);
    st_bind_text(s, 4, geojson);
    rc = st_step(s, &err) < 0;
    st_finalize(s);
    return rc;
}

/* The names of the rows of type t (Locations, FeaturesOfInterest) that filter selects, in
 * order, or "error: ..." */
static const char *geo_names(enum sta_type t, const char *filter)
{
    static char names[64];
    struct fexpr *e = NULL;
    insitu_error err = {0};
    struct sqlfrag f = {0};
    struct stmt *s = NULL;
    frag_printf(&f, "SELECT e.name FROM %s e WHERE ", sta_type_def(t)->table);
    int rc = filter_parse(filter, &e, &err);
    if (!rc)
        rc = filter_sql(e, t, "e", geo_store->base.dialect, 0, &f, &err);
    frag_puts(&f, " ORDER BY e.name");
    if (!rc)
        rc = st_prepare(&geo_store->base, sb_str(&f.sql), &s, &err);
    names[0] = '\0';
    if (!rc) {
        int idx = 1;
        frag_bind(&f, s, &idx);
        while ((rc = st_step(s, &err)) == 1)
            strncat(names, st_col_text(s, 0), sizeof names - strlen(names) - 1);
        rc = rc < 0 ? rc : 0;
    }
    if (rc)
        snprintf(names, sizeof names, "error: %.50s", err.message);
    st_finalize(s);
    fexpr_free(e);
    frag_free(&f);
    return names;
}

static int geo_failures;

/* Checks fn(col, literal) against fwd and fn(literal, col) against rev. */
static void geo_check(enum sta_type t, const char *col, const char *fn, const char *wkt,
                      const char *extra, const char *fwd, const char *rev)
{
    char filter[300];
    for (int order = 0; order < 2; order++) {
        if (order == 0)
            snprintf(filter, sizeof filter, "%s(%s, geography'%s'%s)", fn, col, wkt, extra);
        else
            snprintf(filter, sizeof filter, "%s(geography'%s', %s%s)", fn, wkt, col, extra);
        const char *want = order == 0 ? fwd : rev;
        const char *got = geo_names(t, filter);
        if (strcmp(got, want) != 0) {
            printf("# %s: got '%s', expected '%s'\n", filter, got, want);
            geo_failures++;
        }
    }
}

static void geo_check_all(enum sta_type t, const char *col)
{
    for (size_t k = 0; k < ARRAY_LEN(geo_cases); k++) {
        const struct geo_case *g = &geo_cases[k];
        geo_check(t, col, "geo.intersects", g->wkt, "", g->intersects, g->intersects);
        geo_check(t, col, "st_intersects", g->wkt, "", g->intersects, g->intersects);
        geo_check(t, col, "st_equals", g->wkt, "", g->equals, g->equals);
        geo_check(t, col, "st_disjoint", g->wkt, "", g->disjoint, g->disjoint);
        geo_check(t, col, "st_touches", g->wkt, "", g->touches, g->touches);
        geo_check(t, col, "st_overlaps", g->wkt, "", g->overlaps, g->overlaps);
        geo_check(t, col, "st_within", g->wkt, "", g->within_fwd, g->within_rev);
        geo_check(t, col, "st_crosses", g->wkt, "", g->crosses_fwd, g->crosses_rev);
        geo_check(t, col, "st_contains", g->wkt, "", g->contains_fwd, g->contains_rev);
        geo_check(t, col, "st_relate", g->wkt, ", 'T********'", g->relate_t_fwd,
                  g->relate_t_rev);
        geo_check(t, col, "st_relate", g->wkt, ", 'F***T****'", g->relate_f_fwd,
                  g->relate_f_rev);
    }
}

static void test_geo_relations(void)
{
    geo_store = tu_store(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(geo_store);
    int rc = 0;
    for (size_t k = 0; k < ARRAY_LEN(geo_rows) && !rc; k++)
        rc = geo_insert("locations", "location", geo_rows[k].name, geo_rows[k].geojson) ||
             geo_insert("features", "feature", geo_rows[k].name, geo_rows[k].geojson);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* every relation, both argument orders, on Locations and on FeaturesOfInterest; twice, so
     * that an answer that depends on what ran before (a cache) shows */
    for (int pass = 0; pass < 2; pass++) {
        geo_failures = 0;
        geo_check_all(STA_LOCATION, "location");
        CU_ASSERT_EQUAL(geo_failures, 0);
        geo_failures = 0;
        geo_check_all(STA_FEATURE, "feature");
        CU_ASSERT_EQUAL(geo_failures, 0);
    }
    /* the reported cases, one by one */
    CU_ASSERT_STRING_EQUAL(geo_names(STA_LOCATION, "st_within(geography'POINT(7.5 52.75)', "
                                                   "location) and name eq 'T'"),
                           "T");
    CU_ASSERT_STRING_EQUAL(geo_names(STA_LOCATION, "st_contains(location, geography'POINT(7.5 "
                                                   "52.75)') and name eq 'T'"),
                           "T");
    CU_ASSERT_STRING_EQUAL(geo_names(STA_LOCATION, "geo.intersects(location, "
                                                   "geography'LINESTRING(7.5 51, 7.5 54)')"),
                           "BLPT");
    /* the store's box filter (insitu list --bbox) takes a flat box as the line or point it is */
    static const double boxes[][4] = {{7.5, 51, 7.5, 54}, {7.5, 52.75, 7.5, 52.75}};
    for (size_t b = 0; b < ARRAY_LEN(boxes); b++) {
        struct strbuf sql = {0};
        sb_puts(&sql, "SELECT l.name FROM locations l WHERE ");
        dialect_bbox_sql(geo_store->base.dialect, &sql, "l", "locations");
        sb_puts(&sql, " ORDER BY l.name");
        struct stmt *s;
        insitu_error err;
        char names[16] = "";
        if (st_prepare(&geo_store->base, sb_str(&sql), &s, &err) == 0) {
            int idx = 1;
            dialect_bbox_bind(geo_store->base.dialect, s, &idx, boxes[b]);
            while (st_step(s, &err) == 1)
                strncat(names, st_col_text(s, 0), sizeof names - strlen(names) - 1);
            st_finalize(s);
        }
        sb_free(&sql);
        CU_ASSERT_STRING_EQUAL(names, "BLPT");
    }
    insitu_store_close(geo_store);
    geo_store = NULL;
}

/* The client's text reaches SQLite only as bound values. */
static void test_bound_values(void)
{
    COUNT(STA_THING, "name eq 'x'' or 1=1; DROP TABLE things; --'", 0);
    CU_ASSERT_PTR_NULL(strstr(last_sql, "DROP"));
    CU_ASSERT_PTR_NULL(strstr(last_sql, "1=1"));
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM things"), 7);
    /* the compiled fragment carries the exact string */
    struct fexpr *e = parse("name eq 'a''b \"c\" \\d' and id eq 42");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    struct sqlfrag f = {0};
    insitu_error err = {0};
    CU_ASSERT_EQUAL(filter_sql(e, STA_THING, "e", dialect(), 0, &f, &err), 0);
    CU_ASSERT_STRING_EQUAL(sb_str(&f.sql), "(((e.name) = (?) AND (e.id) = (?)))");
    CU_ASSERT_EQUAL_FATAL(f.n, 2);
    CU_ASSERT_EQUAL(f.vals[0].type, SV_TEXT);
    CU_ASSERT_STRING_EQUAL(f.vals[0].s, "a'b \"c\" \\d");
    CU_ASSERT_EQUAL(f.vals[1].type, SV_INT);
    CU_ASSERT_EQUAL(f.vals[1].i, 42);
    frag_free(&f);
    fexpr_free(e);
    /* a time literal and a JSON path are values too */
    e = parse("phenomenonTime ge 2020-01-01T00:00:00Z and parameters/a eq 1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(filter_sql(e, STA_OBSERVATION, "e", dialect(), 0, &f, &err), 0);
    CU_ASSERT_PTR_NULL(strstr(sb_str(&f.sql), "2020"));
    CU_ASSERT_PTR_NULL(strstr(sb_str(&f.sql), "$."));
    int found_path = 0;
    const char *path = dialect()->json_path_style == JSON_PATH_DOLLAR ? "$.\"a\"" : "{\"a\"}";
    for (size_t i = 0; i < f.n; i++)
        found_path |= f.vals[i].type == SV_TEXT && strcmp(f.vals[i].s, path) == 0;
    CU_ASSERT_TRUE(found_path);
    frag_free(&f);
    fexpr_free(e);
    /* an array index is a step of the path: $."a"[1]."b", or {"a","1","b"} */
    e = parse("parameters/a[1]/b eq 1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(filter_sql(e, STA_OBSERVATION, "e", dialect(), 0, &f, &err), 0);
    found_path = 0;
    path = dialect()->json_path_style == JSON_PATH_DOLLAR ? "$.\"a\"[1].\"b\""
                                                          : "{\"a\",\"1\",\"b\"}";
    for (size_t i = 0; i < f.n; i++)
        found_path |= f.vals[i].type == SV_TEXT && strcmp(f.vals[i].s, path) == 0;
    CU_ASSERT_TRUE(found_path);
    frag_free(&f);
    fexpr_free(e);
    /* unicode text goes through unchanged */
    COUNT(STA_THING, "name eq 'débit ∑ 水位'", 0);
}

static void test_errors(void)
{
    COUNT(STA_THING, "name eq", -1);
    CU_ASSERT_TRUE(err_has("$filter: at character 8: expected a value, found the end"));
    COUNT(STA_THING, "(name eq 'a'", -1);
    CU_ASSERT_TRUE(err_has("expected ')' to close the '(' at character 1"));
    COUNT(STA_THING, "name eq 'a' and", -1);
    CU_ASSERT_TRUE(err_has("at character 16: expected a value"));
    COUNT(STA_THING, "name eq 'unclosed", -1);
    CU_ASSERT_TRUE(err_has("at character 9: string not closed"));
    COUNT(STA_THING, "name eq 'a'; DELETE FROM things", -1);
    CU_ASSERT_TRUE(err_has("at character 12: unexpected character ';'"));
    COUNT(STA_THING, "id eq 1 -- comment", -1);
    CU_ASSERT_TRUE(err_has("at character 9"));
    COUNT(STA_THING, "id eq 1 /* comment */", -1);
    CU_ASSERT_TRUE(err_has("at character 9"));
    COUNT(STA_THING, "id eq 1 eq 2", -1);
    CU_ASSERT_TRUE(err_has("unexpected 'eq'"));
    COUNT(STA_THING, "foo eq 1", -1);
    CU_ASSERT_TRUE(err_has("at character 1: Thing has no property 'foo'"));
    COUNT(STA_THING, "Datastreams eq 1", -1);
    CU_ASSERT_TRUE(err_has("'Datastreams' is an entity"));
    COUNT(STA_THING, "Datastreams/Observations eq 1", -1);
    CU_ASSERT_TRUE(err_has("'Observations' is an entity"));
    COUNT(STA_OBSERVATION, "Datastream eq 1", -1);
    CU_ASSERT_TRUE(err_has("'Datastream' is an entity"));
    COUNT(STA_THING, "year(name) eq 2020", -1);
    CU_ASSERT_TRUE(err_has("expected a time"));
    COUNT(STA_THING, "geo.intersects(name, geography'POINT(1 2)')", -1);
    CU_ASSERT_TRUE(err_has("geo.intersects: argument 1: expected a geometry"));
    COUNT(STA_LOCATION, "geo.intersects(location, geography'POINT(1')", -1);
    CU_ASSERT_TRUE(err_has("not valid WKT"));
    COUNT(STA_LOCATION, "geo.intersects(location, geography'SRID=3857;POINT(1 2)')", -1);
    CU_ASSERT_TRUE(err_has("only SRID=4326"));
    COUNT(STA_THING, "unknownfn(name) eq 1", -1);
    CU_ASSERT_TRUE(err_has("at character 1: unknown function 'unknownfn'"));
    COUNT(STA_THING, "substring(name) eq 'a'", -1);
    CU_ASSERT_TRUE(err_has("substring takes 2 or more arguments, not 1"));
    COUNT(STA_THING, "now(1) eq 1", -1);
    CU_ASSERT_TRUE(err_has("at character 1: now takes 0 arguments, not 1"));
    COUNT(STA_LOCATION, "st_relate(location, " BOX ", 'nonsense')", -1);
    CU_ASSERT_TRUE(err_has("the pattern must be 9 characters"));
    COUNT(STA_OBSERVATION, "result gt 1e999", -1);
    CU_ASSERT_TRUE(err_has("number out of range"));
    COUNT(STA_OBSERVATION, "result gt 99999999999999999999999", 0);
    COUNT(STA_OBSERVATION, "phenomenonTime gt 2020-13-01T00:00:00Z", -1);
    CU_ASSERT_TRUE(err_has("bad date/time '2020-13-01T00:00:00Z'"));
    COUNT(STA_THING, "name add 1 eq 2", -1);
    CU_ASSERT_TRUE(err_has("'add' needs numbers, not text"));
    COUNT(STA_LOCATION, "location eq 1", -1);
    CU_ASSERT_TRUE(err_has("geometries are compared with the geo.* and st_* functions"));
    COUNT(STA_DATASTREAM, "unitOfMeasurement eq 'm'", -1);
    CU_ASSERT_TRUE(err_has("unitOfMeasurement: give name, symbol or definition"));
    COUNT(STA_THING, "name", -1);
    CU_ASSERT_TRUE(err_has("expected a condition, found text"));
    COUNT(STA_THING, "", -1);
    CU_ASSERT_TRUE(err_has("$filter: empty expression"));
    COUNT(STA_THING, "name eq 'a' and duration'P1M' eq 1", -1);
    CU_ASSERT_TRUE(err_has("bad duration"));
    COUNT(STA_THING, "name eq x'1'", -1);
    CU_ASSERT_TRUE(err_has("unknown literal type 'x'"));
    COUNT(STA_THING, "name eq 'a' \x01", -1);
    CU_ASSERT_TRUE(err_has("unexpected character"));
}

static void test_limits(void)
{
    /* deep nesting */
    struct strbuf sb = {0};
    for (int i = 0; i < 2000; i++)
        sb_putc(&sb, '(');
    sb_puts(&sb, "id eq 1");
    for (int i = 0; i < 2000; i++)
        sb_putc(&sb, ')');
    COUNT(STA_THING, sb_str(&sb), -1);
    CU_ASSERT_TRUE(err_has("nested too deeply (more than 48 levels)"));
    sb_reset(&sb);
    for (int i = 0; i < 2000; i++)
        sb_puts(&sb, "not ");
    sb_puts(&sb, "id eq 1");
    COUNT(STA_THING, sb_str(&sb), -1);
    CU_ASSERT_TRUE(err_has("nested too deeply"));
    sb_reset(&sb);
    for (int i = 0; i < 1500; i++)
        sb_puts(&sb, "tolower(");
    sb_puts(&sb, "name");
    for (int i = 0; i < 1500; i++)
        sb_putc(&sb, ')');
    COUNT(STA_THING, sb_str(&sb), -1);
    CU_ASSERT_TRUE(err_has("nested too deeply"));
    /* nesting within the limit is fine */
    sb_reset(&sb);
    for (int i = 0; i < 20; i++)
        sb_putc(&sb, '(');
    sb_puts(&sb, "id eq 1");
    for (int i = 0; i < 20; i++)
        sb_putc(&sb, ')');
    COUNT(STA_THING, sb_str(&sb), 1);
    /* very long input */
    sb_reset(&sb);
    sb_puts(&sb, "name eq '");
    for (int i = 0; i < 20000; i++)
        sb_putc(&sb, 'a');
    sb_puts(&sb, "'");
    COUNT(STA_THING, sb_str(&sb), -1);
    CU_ASSERT_TRUE(err_has("$filter: too long (20010 characters, at most 16384)"));
    /* many terms */
    sb_reset(&sb);
    for (int i = 0; i < 1200; i++)
        sb_puts(&sb, "1 eq 1 or ");
    sb_puts(&sb, "1 eq 1");
    COUNT(STA_THING, sb_str(&sb), -1);
    CU_ASSERT_TRUE(err_has("expression too large (more than 1500 operators, names and values)"));
    /* the longest chain of ands and ors the limit lets in runs on the database: it was a 500
     * ("parser stack overflow", then "Expression tree is too large") before chains were
     * written flat and the size limit was lowered from 4000 */
    const char *const ops[] = {" and ", " or "};
    for (int k = 0; k < 2; k++) {
        sb_reset(&sb);
        for (int i = 0; i < 374; i++)
            sb_printf(&sb, "%sid %s %d", i ? ops[k] : "", k ? "eq" : "ne", 100 + i);
        COUNT(STA_THING, sb_str(&sb), k ? 0 : 7);
        sb_reset(&sb);
        for (int i = 0; i < 749; i++)
            sb_printf(&sb, "%strue", i ? ops[k] : "");
        COUNT(STA_THING, sb_str(&sb), 7);
    }
    /* a long number */
    sb_reset(&sb);
    sb_puts(&sb, "result eq ");
    for (int i = 0; i < 500; i++)
        sb_putc(&sb, '9');
    COUNT(STA_OBSERVATION, sb_str(&sb), -1);
    CU_ASSERT_TRUE(err_has("number too long (500 digits)"));
    /* text that is not UTF-8 */
    COUNT(STA_THING, "name eq '\xff\xfe'", -1);
    CU_ASSERT_TRUE(err_has("$filter: not valid UTF-8"));
    /* an error position counts characters, not bytes */
    COUNT(STA_THING, "name eq 'é' and ;", -1);
    CU_ASSERT_TRUE(err_has("at character 17: unexpected character ';'"));
    sb_free(&sb);
}

/* ---- the other options ---- */

static void test_orderby(void)
{
    struct sta_query q;
    sq_init(&q);
    insitu_error err = {0};
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$orderby", "Datastream/id desc, phenomenonTime", 0,
                                    &err), 0);
    CU_ASSERT_EQUAL_FATAL(q.n_orderby, 2);
    CU_ASSERT_EQUAL(q.orderby[0].desc, 1);
    CU_ASSERT_EQUAL(q.orderby[1].desc, 0);
    struct sqlfrag f = {0};
    int unique = -1;
    CU_ASSERT_EQUAL(orderby_sql(q.orderby, q.n_orderby, STA_OBSERVATION, "e", dialect(), 0, &f,
                                &unique, &err),
                    0);
    /* phenomenonTime is never null: no NULLS clause, so that an index gives the order */
    CU_ASSERT_STRING_EQUAL(sb_str(&f.sql), "e.datastream_id DESC NULLS LAST, "
                                           "e.phenomenon_start ASC");
    CU_ASSERT_EQUAL(unique, 0);
    frag_free(&f);
    sq_free(&q);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$orderby", "substring(name, 1) asc,id desc", 0, &err),
                    0);
    CU_ASSERT_EQUAL(orderby_sql(q.orderby, q.n_orderby, STA_THING, "e", dialect(), 0, &f,
                                &unique, &err),
                    0);
    CU_ASSERT_EQUAL(unique, 1);
    frag_free(&f);
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$orderby", "name up", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "$orderby: at character 6: unexpected 'up'"));
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$orderby", "name,,id", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "$orderby: at character 6: empty sort key"));
    sq_free(&q);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$orderby", "location desc", 0, &err), 0);
    CU_ASSERT_EQUAL(orderby_sql(q.orderby, q.n_orderby, STA_LOCATION, "e", dialect(), 0, &f,
                                &unique, &err),
                    0);
    /* a geometry orders by its GeoJSON: the stored text, or the geometry's */
    struct strbuf want = {0};
    dialect_geojson_sql(dialect(), &want, "e", "location");
    sb_puts(&want, " DESC NULLS LAST");
    CU_ASSERT_STRING_EQUAL(sb_str(&f.sql), sb_str(&want));
    sb_free(&want);
    frag_free(&f);
    sq_free(&q);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$orderby", "Datastreams/name", 0, &err), 0);
    CU_ASSERT_NOT_EQUAL(orderby_sql(q.orderby, q.n_orderby, STA_THING, "e", dialect(), 0, &f,
                                    &unique, &err),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'Datastreams' leads to many entities"));
    frag_free(&f);
    sq_free(&q);
}

/* OData 4.01 keywords in any case (FROST's Python client sends "name ASC"), null in lower
 * case only, as the 4.01 ABNF has them. */
static void test_keyword_case(void)
{
    static const char *const keys[] = {"name ASC", "name Desc", "name desc", "name DESC"};
    for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
        struct sta_query q;
        sq_init(&q);
        insitu_error err = {0};
        CU_ASSERT_EQUAL(sq_parse_option(&q, "$orderby", keys[k], 0, &err), 0);
        CU_ASSERT_EQUAL(q.n_orderby, 1);
        if (q.n_orderby == 1)
            CU_ASSERT_EQUAL(q.orderby[0].desc, k > 0);
        sq_free(&q);
    }
    COUNT(STA_THING, "id EQ 1 OR Id eq 2", -1); /* a property name is not a keyword */
    COUNT(STA_THING, "id EQ 1 OR id Eq 2", 2);
    COUNT(STA_THING, "NOT (id Ge 2) AND id lE 1", 1);
    COUNT(STA_THING, "id Ne 1 and id GT 5 And id LT 7", 1);
    COUNT(STA_THING, "id ADD 1 SUB 1 Mul 2 DIV 2 MOD 10 eq 3", 1);
    COUNT(STA_THING, "startswith(name, 'R_') EQ TRUE", 5);
    COUNT(STA_THING, "startswith(name, 'R_') eq False", 2);
    COUNT(STA_THING, "properties/owner ne null", 1);
    COUNT(STA_THING, "properties/owner ne NULL", -1);
    CU_ASSERT_TRUE(err_has("at character 21: 'NULL': null is written in lower case"));
    COUNT(STA_THING, "CONTAINS(name, 'MARONI') and GEO.INTERSECTS(geography'POINT(1 1)', "
                     "GEOGRAPHY'POINT(1 1)')",
          2);
    struct sta_query q;
    sq_init(&q);
    insitu_error err = {0};
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$count", "TRUE", 0, &err), 0);
    CU_ASSERT_EQUAL(q.count, 1);
    sq_free(&q);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$count", "False", 0, &err), 0);
    CU_ASSERT_EQUAL(q.count, 0);
    sq_free(&q);
}

static void test_select_expand(void)
{
    struct sta_query q;
    sq_init(&q);
    insitu_error err = {0};
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$select", "id, name,Datastreams", 0, &err), 0);
    CU_ASSERT_EQUAL_FATAL(q.n_select, 3);
    CU_ASSERT_STRING_EQUAL(q.select[1], "name");
    CU_ASSERT_STRING_EQUAL(q.select[2], "Datastreams");
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$select", "name", 0, &err), 0);
    CU_ASSERT_STRING_EQUAL(err.message, "$select given twice");
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$select", "na me", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "expected a property name, found 'na me'"));
    sq_free(&q);
    /* nested options, and a path that nests */
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$expand",
                                    "Datastreams($top=2;$select=name;$filter=name eq 'a;b(';"
                                    "$expand=Observations($orderby=phenomenonTime desc;"
                                    "$count=true)),Locations,Datastreams/Sensor",
                                    0, &err),
                    0);
    if (err.code)
        printf("# %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(q.n_expand, 2);
    const struct sta_expand *ds = &q.expand[0];
    CU_ASSERT_STRING_EQUAL(ds->nav, "Datastreams");
    CU_ASSERT_EQUAL(ds->q.top, 2);
    CU_ASSERT_EQUAL(ds->q.n_select, 1);
    CU_ASSERT_PTR_NOT_NULL(ds->q.filter);
    CU_ASSERT_STRING_EQUAL(ds->q.filter->b->s, "a;b(");
    CU_ASSERT_EQUAL_FATAL(ds->q.n_expand, 2);
    CU_ASSERT_STRING_EQUAL(ds->q.expand[0].nav, "Observations");
    CU_ASSERT_EQUAL(ds->q.expand[0].q.count, 1);
    CU_ASSERT_EQUAL(ds->q.expand[0].q.orderby[0].desc, 1);
    CU_ASSERT_STRING_EQUAL(ds->q.expand[1].nav, "Sensor");
    CU_ASSERT_STRING_EQUAL(q.expand[1].nav, "Locations");
    sq_free(&q);
    /* errors say where */
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$expand", "Datastreams($top=x)", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "$expand: $top: expected a non-negative integer"));
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$expand", "Datastreams($top=1", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "expected ')' to close the options of "
                                               "'Datastreams'"));
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$expand", "Datastreams($foo=1)", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "$foo: not a supported query option"));
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$expand", "Datastreams,,Locations", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "at character 13: expected a navigation"));
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$expand", "A/B/C/D/E/F/G", 0, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "nested more than 6 levels"));
    sq_free(&q);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$expand",
                                        "A($expand=B($expand=C($expand=D($expand=E($expand=F("
                                        "$expand=G))))))",
                                        0, &err),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "nested more than 6 levels"));
    sq_free(&q);
}

static void test_paging_options(void)
{
    struct sta_query q;
    sq_init(&q);
    insitu_error err = {0};
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$top", "10", 0, &err), 0);
    CU_ASSERT_EQUAL(q.top, 10);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$skip", "0", 0, &err), 0);
    CU_ASSERT_EQUAL(q.skip, 0);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$count", "true", 0, &err), 0);
    CU_ASSERT_EQUAL(q.count, 1);
    CU_ASSERT_NOT_EQUAL(sq_parse_option(&q, "$top", "5", 0, &err), 0);
    CU_ASSERT_STRING_EQUAL(err.message, "$top given twice");
    sq_free(&q);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$top", "-1", 0, &err), INSITU_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "$top: expected a non-negative integer, not '-1'");
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$skip", "1e3", 0, &err), INSITU_EINVAL);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$skip", "99999999999999999999", 0, &err),
                    INSITU_EINVAL);
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$count", "yes", 0, &err), INSITU_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "$count: expected true or false, not 'yes'");
    CU_ASSERT_EQUAL(sq_parse_option(&q, "$apply", "x", 0, &err), INSITU_EUNSUPPORTED);
    sq_free(&q);
}

static void test_time_range(void)
{
    struct fexpr *e = parse("phenomenonTime ge 2020-01-01T00:00:00Z and "
                            "phenomenonTime lt 2021-01-01T00:00:00Z");
    int64_t from, to;
    CU_ASSERT_EQUAL(filter_time_range(e, "phenomenonTime", &from, &to), 1);
    CU_ASSERT_EQUAL(from, INT64_C(1577836800000000));
    CU_ASSERT_EQUAL(to, INT64_C(1609459200000000));
    fexpr_free(e);
    e = parse("2020-01-01T00:00:00Z lt phenomenonTime");
    CU_ASSERT_EQUAL(filter_time_range(e, "phenomenonTime", &from, &to), 1);
    CU_ASSERT_EQUAL(from, INT64_C(1577836800000001));
    CU_ASSERT_EQUAL(to, INSITU_TIME_NONE);
    fexpr_free(e);
    e = parse("phenomenonTime ge 2020-01-01T00:00:00Z or result gt 1");
    CU_ASSERT_EQUAL(filter_time_range(e, "phenomenonTime", &from, &to), 0);
    fexpr_free(e);
    CU_ASSERT_EQUAL(filter_time_range(NULL, "phenomenonTime", &from, &to), 1);
    CU_ASSERT_EQUAL(from, INSITU_TIME_NONE);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "parser precedence", test_precedence);
    CU_add_test(s, "literals: times, intervals, strings, geometry, durations", test_literals);
    CU_add_test(s, "comparison operators", test_comparison);
    CU_add_test(s, "logical operators", test_logical);
    CU_add_test(s, "arithmetic operators", test_arithmetic);
    CU_add_test(s, "string functions", test_string_functions);
    CU_add_test(s, "date functions", test_date_functions);
    CU_add_test(s, "time intervals (before, after, overlaps...)", test_time_intervals);
    CU_add_test(s, "math functions", test_math_functions);
    CU_add_test(s, "JSON results, parameters, properties", test_json_and_results);
    CU_add_test(s, "JSON values compared by their type", test_json_types);
    CU_add_test(s, "the same answers on both backends", test_same_answers);
    CU_add_test(s, "a string literal compares with a result's text", test_result_text);
    CU_add_test(s, "navigation paths, to-one and to-many", test_navigation);
    CU_add_test(s, "geospatial functions and the spatial index", test_geo_functions);
    CU_add_test(s, "spatial relations on points, lines, polygons: both orders",
                test_geo_relations);
    CU_add_test(s, "literals are bound values, never SQL text", test_bound_values);
    CU_add_test(s, "malformed and hostile input: what and where", test_errors);
    CU_add_test(s, "limits: nesting, length, size, UTF-8", test_limits);
    CU_add_test(s, "$orderby", test_orderby);
    CU_add_test(s, "keywords in any case, null in lower case", test_keyword_case);
    CU_add_test(s, "$select and $expand", test_select_expand);
    CU_add_test(s, "$top, $skip, $count", test_paging_options);
    CU_add_test(s, "time range of a filter", test_time_range);
}

int main(void) { return tu_main("filter", add_tests, suite_init, suite_clean); }
