/*
 * test_matchup.c: src/matchup.c: the regularized incomplete beta function against known
 * values, Pearson p-values against the closed-form t distribution and table values, the
 * statistics against hand-checked values, pairing rules (nearest, ties, tolerance, mean,
 * scale/offset, min-n), and matchup_run on a store (CSV, JSON, SVG).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>

#include "matchup.h"
#include "tap.h"
#include "testutil.h"
#include "timeutil.h"
#include "util.h"

static void test_betainc(void)
{
    /* I_0.5(2, 3) = 11/16 */
    CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(2, 3, 0.5), 0.6875, 1e-14);
    /* I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b */
    CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(3.5, 1, 0.3), pow(0.3, 3.5), 1e-14);
    CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(1, 4.2, 0.8), 1 - pow(0.2, 4.2), 1e-14);
    /* I_x(1/2, 1/2) = 2/pi asin(sqrt(x)) */
    CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(0.5, 0.5, 0.3), 0.36901011956554536, 1e-13);
    /* symmetry I_x(a, b) = 1 - I_{1-x}(b, a), on both sides of the switch point */
    for (double x = 0.05; x < 1; x += 0.1)
        CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(7, 2.5, x), 1 - matchup_betainc(2.5, 7, 1 - x),
                               1e-13);
    CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(2, 3, 0), 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(2, 3, 1), 1, 0);
    CU_ASSERT_TRUE(isnan(matchup_betainc(-1, 3, 0.5)));
    /* large parameters: I_0.5(a, a) = 1/2 */
    CU_ASSERT_DOUBLE_EQUAL(matchup_betainc(500, 500, 0.5), 0.5, 1e-12);
}

static void test_pearson_p(void)
{
    /* n = 5, r = 6/sqrt(60): t = 2.1213 with 3 degrees of freedom, whose CDF has a closed
     * form: p = 1 - 2/pi (t/(sqrt3 (1 + t^2/3)) + atan(t/sqrt3)) = 0.12402706265755459 */
    CU_ASSERT_DOUBLE_EQUAL(matchup_pearson_p(6 / sqrt(60), 5), 0.12402706265755459, 1e-13);
    /* tables of critical r (two-sided 0.05): n = 10 -> 0.6319, n = 30 -> 0.3610 */
    CU_ASSERT_DOUBLE_EQUAL(matchup_pearson_p(0.6319, 10), 0.05, 1e-4);
    CU_ASSERT_DOUBLE_EQUAL(matchup_pearson_p(0.3610, 30), 0.05, 1e-4);
    /* 0.01 level: n = 20 -> 0.5614 */
    CU_ASSERT_DOUBLE_EQUAL(matchup_pearson_p(0.5614, 20), 0.01, 1e-4);
    CU_ASSERT_DOUBLE_EQUAL(matchup_pearson_p(1, 5), 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(matchup_pearson_p(0, 12), 1, 1e-15);
    CU_ASSERT_TRUE(isnan(matchup_pearson_p(0.5, 2)));
}

static void fill(struct matchup_pair *p, const double *insitu, const double *product, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (struct matchup_pair){.insitu = insitu[i], .product = product[i]};
}

static void test_stats(void)
{
    /* hand-checked: o = 1..5, p = 2 4 5 4 5; means 3 and 4; p - o = 1 2 2 0 0 */
    const double o[] = {1, 2, 3, 4, 5}, p[] = {2, 4, 5, 4, 5};
    struct matchup_pair pairs[5];
    fill(pairs, o, p, 5);
    struct matchup_stats s;
    matchup_stats(pairs, 5, 3, &s);
    CU_ASSERT_TRUE(s.reported);
    CU_ASSERT_EQUAL(s.n, 5);
    CU_ASSERT_DOUBLE_EQUAL(s.bias, 1, 1e-15);                /* mean(p) - mean(o) */
    CU_ASSERT_DOUBLE_EQUAL(s.rmse, sqrt(9.0 / 5), 1e-15);    /* sum (p-o)^2 = 9 */
    CU_ASSERT_DOUBLE_EQUAL(s.ubrmse, sqrt(4.0 / 5), 1e-15);  /* 0 1 1 -1 -1 */
    CU_ASSERT_DOUBLE_EQUAL(s.ubrmse * s.ubrmse, s.rmse * s.rmse - s.bias * s.bias, 1e-14);
    CU_ASSERT_DOUBLE_EQUAL(s.r, 0.7745966692414834, 1e-15); /* 6 / sqrt(10 * 6) */
    CU_ASSERT_DOUBLE_EQUAL(s.p_value, 0.12402706265755459, 1e-13);
    CU_ASSERT_DOUBLE_EQUAL(s.nse, 0.1, 1e-15);               /* 1 - 9/10 */
    /* KGE (Gupta 2009): alpha = sqrt(6/5)/sqrt(10/5), beta = 4/3 */
    CU_ASSERT_DOUBLE_EQUAL(s.kge, 0.5387794083682109, 1e-14);
    /* a perfect product */
    matchup_stats(pairs, 5, 3, &s);
    fill(pairs, o, o, 5);
    matchup_stats(pairs, 5, 3, &s);
    CU_ASSERT_DOUBLE_EQUAL(s.bias, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(s.rmse, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(s.r, 1, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(s.p_value, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(s.nse, 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(s.kge, 1, 1e-15);
    /* a constant product: R and KGE undefined, the rest defined */
    const double c[] = {2, 2, 2, 2, 2};
    fill(pairs, o, c, 5);
    matchup_stats(pairs, 5, 3, &s);
    CU_ASSERT_TRUE(isnan(s.r));
    CU_ASSERT_TRUE(isnan(s.kge));
    CU_ASSERT_DOUBLE_EQUAL(s.bias, -1, 1e-15);
    /* below min-n nothing is reported */
    matchup_stats(pairs, 2, 3, &s);
    CU_ASSERT_FALSE(s.reported);
    CU_ASSERT_EQUAL(s.n, 2);
}

static int64_t at(const char *iso)
{
    int64_t t = 0;
    insitu_time_parse(iso, 0, &t, NULL);
    return t;
}

static void test_pairing(void)
{
    struct matchup_series in = {0}, pr = {0};
    matchup_series_add(&in, at("2020-01-01T00:00:00Z"), 1);
    matchup_series_add(&in, at("2020-01-01T06:00:00Z"), 2);
    matchup_series_add(&in, at("2020-01-01T18:00:00Z"), 4);
    matchup_series_add(&in, at("2020-01-03T00:00:00Z"), 8);
    matchup_series_add(&pr, at("2020-01-01T12:00:00Z"), 10); /* tie: 06:00 and 18:00 */
    matchup_series_add(&pr, at("2020-01-02T23:00:00Z"), 20); /* 1 h before 01-03 */
    matchup_series_add(&pr, at("2020-01-05T00:00:00Z"), 30); /* nothing within 12 h */
    struct matchup_opts o = {.tolerance_us = 12 * 3600 * US_PER_SEC, .scale = 0.5,
                             .offset = 1, .min_n = 1};
    struct matchup_pair *p;
    size_t n;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(matchup_pairs(&in, &pr, &o, &p, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(p[0].insitu_time, at("2020-01-01T06:00:00Z")); /* the earlier on a tie */
    CU_ASSERT_DOUBLE_EQUAL(p[0].insitu, 2, 0);
    CU_ASSERT_DOUBLE_EQUAL(p[0].product, 10 * 0.5 + 1, 0);     /* scale and offset */
    CU_ASSERT_DOUBLE_EQUAL(p[1].insitu, 8, 0);
    free(p);
    /* mean over +/- 12 h around 2020-01-01T12:00: 1 (00:00), 2 and 4 */
    o.reduce = MATCHUP_MEAN;
    CU_ASSERT_EQUAL_FATAL(matchup_pairs(&in, &pr, &o, &p, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_DOUBLE_EQUAL(p[0].insitu, 7.0 / 3, 1e-15);
    CU_ASSERT_EQUAL(p[0].n_insitu, 3);
    CU_ASSERT_EQUAL(p[0].insitu_time, INSITU_TIME_NONE);
    free(p);
    /* a zero tolerance pairs exact times only */
    o.reduce = MATCHUP_NEAREST;
    o.tolerance_us = 0;
    CU_ASSERT_EQUAL_FATAL(matchup_pairs(&in, &pr, &o, &p, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    free(p);
    matchup_series_free(&in);
    matchup_series_free(&pr);
}

/* matchup_run on a store: in situ and product series of two Things by property name. */
static void test_run(void)
{
    const char *dir = tu_tmpdir();
    insitu_store *st = tu_store(NULL);
    char *csv = tu_write(dir, "series.csv",
                         "thing,latitude,longitude,observed_property,unit,phenomenon_time,result\n"
                         "A,45,5,sm_insitu,m3 m-3,2020-01-01T06:00:00Z,1\n"
                         "A,45,5,sm_insitu,m3 m-3,2020-01-02T06:00:00Z,2\n"
                         "A,45,5,sm_insitu,m3 m-3,2020-01-03T06:00:00Z,3\n"
                         "A,45,5,sm_insitu,m3 m-3,2020-01-04T06:00:00Z,4\n"
                         "A,45,5,sm_insitu,m3 m-3,2020-01-05T06:00:00Z,5\n"
                         "A,45,5,sm_sat,m3 m-3,2020-01-01T00:00:00Z,2\n"
                         "A,45,5,sm_sat,m3 m-3,2020-01-02T00:00:00Z,4\n"
                         "A,45,5,sm_sat,m3 m-3,2020-01-03T00:00:00Z,5\n"
                         "A,45,5,sm_sat,m3 m-3,2020-01-04T00:00:00Z,4\n"
                         "A,45,5,sm_sat,m3 m-3,2020-01-05T00:00:00Z,5\n"
                         "A,45,5,sm_sat,m3 m-3,2020-01-09T00:00:00Z,9\n"
                         "B,46,6,sm_insitu,m3 m-3,2020-01-01T00:00:00Z,1\n"
                         "B,46,6,sm_sat,m3 m-3,2020-01-01T01:00:00Z,1.5\n");
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, csv, NULL, NULL, &err), 0);
    struct matchup_request req = {.insitu = "sm_insitu", .product = "sm_sat",
                                  .opts = {.tolerance_us = 6 * 3600 * US_PER_SEC, .scale = 1,
                                           .min_n = 3}};
    char *out_path = tu_write(dir, "out.csv", "");
    char svg[600];
    snprintf(svg, sizeof svg, "%s/plot.svg", dir);
    FILE *out = fopen(out_path, "w");
    CU_ASSERT_EQUAL_FATAL(matchup_run(st, &req, MATCHUP_CSV, out, svg, &err), 0);
    fclose(out);
    char text[8192] = "";
    out = fopen(out_path, "r");
    size_t len = fread(text, 1, sizeof text - 1, out);
    text[len] = '\0';
    fclose(out);
    /* five pairs at A (the 01-09 value has no in-situ partner), one at B */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,2,2020-01-01T00:00:00Z,2020-01-01T06:00:00Z,2,1,1\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "2020-01-09"));
    /* the statistics of A are the hand-checked ones; B has too few pairs */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,2,5,1,1.341640786,0.894427191,0.7745966692,"
                                        "0.1240270627,0.1,0.5387794084,\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "B,3,4,1,,,,,,,,n < min-n (3): not reported\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(all),,,6,"));
    /* the SVG is well-formed XML with the 1:1 line and the statistics in the legend */
    xmlDocPtr doc = xmlReadFile(svg, NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    CU_ASSERT_STRING_EQUAL((const char *)root->name, "svg");
    xmlFreeDoc(doc);
    FILE *f = fopen(svg, "r");
    char svgtext[65536];
    size_t sl = fread(svgtext, 1, sizeof svgtext - 1, f);
    svgtext[sl] = '\0';
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(svgtext, "class=\"one\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svgtext, "n = 6"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svgtext, "<polyline"));
    /* JSON, by datastream ids */
    req.insitu = "1";
    req.product = "2";
    out = fopen(out_path, "w");
    CU_ASSERT_EQUAL_FATAL(matchup_run(st, &req, MATCHUP_JSON, out, NULL, &err), 0);
    fclose(out);
    json_t *j = json_load_file(out_path, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_t *set = json_array_get(json_object_get(j, "sets"), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "sets")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(set, "thing")), "A");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(set, "pairs")), 5);
    json_t *stats = json_object_get(set, "statistics");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(stats, "nse")), 0.1, 1e-12);
    json_decref(j);
    /* errors: not the same thing, no such datastream, ambiguous property */
    req.product = "4";
    out = fopen(out_path, "w");
    CU_ASSERT_EQUAL(matchup_run(st, &req, MATCHUP_CSV, out, NULL, &err), INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no thing has both"));
    req.product = "999";
    CU_ASSERT_EQUAL(matchup_run(st, &req, MATCHUP_CSV, out, NULL, &err), INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--product 999: no such datastream"));
    fclose(out);
    insitu_store_close(st);
    free(csv);
    free(out_path);
}

static void add_store_tests(CU_pSuite s)
{
    CU_add_test(s, "matchup on a store: CSV, JSON, SVG, errors", test_run);
}

int main(void)
{
    tu_init();
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("matchup", NULL, NULL);
    CU_add_test(s, "regularized incomplete beta: known values", test_betainc);
    CU_add_test(s, "Pearson p-value: closed form and tables", test_pearson_p);
    CU_add_test(s, "statistics: hand-checked values, perfect and constant series", test_stats);
    CU_add_test(s, "pairing: nearest, ties, tolerance, mean, scale/offset", test_pairing);
    tu_add_backend_suites("matchup-store", add_store_tests, NULL, NULL);
    return tap_run();
}
