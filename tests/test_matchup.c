/*
 * test_matchup.c: src/matchup.c: the regularized incomplete beta function against known
 * values, Pearson p-values against the closed-form t distribution and table values, the
 * statistics against hand-checked values, pairing rules (nearest, ties, tolerance, mean,
 * scale/offset, min-n), and matchup_run on a store (CSV, JSON, SVG); categorical match-ups
 * (src/catmatch.c): the confusion matrix statistics against a textbook example and hand
 * computations, classes of pairs, and a categorical run on a store.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>

#include "catmatch.h"
#include "matchup.h"
#include "store.h"
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


/* ---- categorical ---- */

/* Congalton (1991), "A review of assessing the accuracy of classifications of remotely sensed
 * data", Remote Sens. Environ. 37, 35-46, Table 1 (and Congalton & Green, "Assessing the
 * accuracy of remotely sensed data"): classes D, C, BA, SB; rows there are the classified
 * (product) data, columns the reference. The paper gives OA 74 %, producer's accuracy (our
 * recall) D 87 %, C 79 %, BA 74 %, SB 64 %, user's accuracy (our precision) D 57 %, C 81 %,
 * BA 74 %, SB 87 %, KHAT 0.65. Here rows are the reference: the table is transposed. */
static void test_cat_textbook(void)
{
    static const size_t product_rows[4][4] = {
        {65, 4, 22, 24}, {6, 81, 5, 8}, {0, 11, 85, 19}, {4, 7, 3, 90}};
    struct catmatch_stats s;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(catmatch_stats_init(&s, 4, &err), 0);
    for (size_t p = 0; p < 4; p++)
        for (size_t r = 0; r < 4; r++)
            catmatch_stats_add(&s, r, p, product_rows[p][r]);
    catmatch_stats_finish(&s, 3);
    CU_ASSERT_EQUAL(s.n, 434);
    CU_ASSERT_TRUE(s.reported);
    CU_ASSERT_DOUBLE_EQUAL(s.oa, 321.0 / 434, 1e-15);
    /* chance agreement: (75*115 + 103*100 + 115*115 + 141*104) / 434^2 = 46814 / 188356 */
    double pe = 46814.0 / 188356;
    CU_ASSERT_DOUBLE_EQUAL(s.kappa, (321.0 / 434 - pe) / (1 - pe), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(s.kappa, 0.65, 0.005); /* the paper's KHAT */
    const double recall[] = {65.0 / 75, 81.0 / 103, 85.0 / 115, 90.0 / 141};
    const double precision[] = {65.0 / 115, 81.0 / 100, 85.0 / 115, 90.0 / 104};
    const double paper_recall[] = {0.87, 0.79, 0.74, 0.64};
    const double paper_precision[] = {0.57, 0.81, 0.74, 0.87};
    const size_t n_ref[] = {75, 103, 115, 141}, n_map[] = {115, 100, 115, 104};
    for (size_t i = 0; i < 4; i++) {
        CU_ASSERT_DOUBLE_EQUAL(s.recall[i], recall[i], 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(s.precision[i], precision[i], 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(s.recall[i], paper_recall[i], 0.005);
        CU_ASSERT_DOUBLE_EQUAL(s.precision[i], paper_precision[i], 0.005);
        CU_ASSERT_EQUAL(s.n_insitu[i], n_ref[i]);
        CU_ASSERT_EQUAL(s.n_product[i], n_map[i]);
    }
    catmatch_stats_free(&s);
}

/* Hand-computed: 3 classes, one never predicted, and the degenerate cases. */
static void test_cat_hand(void)
{
    /* in situ (rows) x product (columns):
     *   a: 4 1 0
     *   b: 2 3 0
     *   c: 1 1 0      n = 12, diagonal 7, rows 5 5 2, columns 7 5 0 */
    static const size_t cells[3][3] = {{4, 1, 0}, {2, 3, 0}, {1, 1, 0}};
    struct catmatch_stats s;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(catmatch_stats_init(&s, 3, &err), 0);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            catmatch_stats_add(&s, i, j, cells[i][j]);
    catmatch_stats_finish(&s, 3);
    CU_ASSERT_DOUBLE_EQUAL(s.oa, 7.0 / 12, 1e-15);
    /* pe = (5*7 + 5*5 + 2*0) / 144 = 60/144; kappa = (84/144 - 60/144) / (84/144) = 24/84 */
    CU_ASSERT_DOUBLE_EQUAL(s.kappa, 24.0 / 84, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(s.precision[0], 4.0 / 7, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(s.precision[1], 3.0 / 5, 1e-15);
    CU_ASSERT_TRUE(isnan(s.precision[2])); /* never predicted */
    CU_ASSERT_DOUBLE_EQUAL(s.recall[0], 4.0 / 5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(s.recall[1], 3.0 / 5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(s.recall[2], 0, 0);
    /* below min-n: counts but no OA/kappa */
    catmatch_stats_finish(&s, 13);
    CU_ASSERT_FALSE(s.reported);
    CU_ASSERT_EQUAL(s.n, 12);
    CU_ASSERT_TRUE(isnan(s.oa));
    catmatch_stats_free(&s);
    /* one class on both sides: OA 1, kappa undefined (chance agreement 1) */
    CU_ASSERT_EQUAL_FATAL(catmatch_stats_init(&s, 2, &err), 0);
    catmatch_stats_add(&s, 1, 1, 5);
    catmatch_stats_finish(&s, 1);
    CU_ASSERT_DOUBLE_EQUAL(s.oa, 1, 0);
    CU_ASSERT_TRUE(isnan(s.kappa));
    CU_ASSERT_TRUE(isnan(s.recall[0]));
    catmatch_stats_free(&s);
    /* perfect disagreement on two balanced classes: kappa -1 */
    CU_ASSERT_EQUAL_FATAL(catmatch_stats_init(&s, 2, &err), 0);
    catmatch_stats_add(&s, 0, 1, 3);
    catmatch_stats_add(&s, 1, 0, 3);
    catmatch_stats_finish(&s, 1);
    CU_ASSERT_DOUBLE_EQUAL(s.kappa, -1, 1e-15);
    catmatch_stats_free(&s);
}

static void test_cat_classify(void)
{
    struct catmatch_opts o = {.enabled = 1};
    insitu_error err;
    int64_t ci, cp;
    /* codes are the classes */
    CU_ASSERT_EQUAL(catmatch_classify(&o, 3, 7, &ci, &cp, &err), CATMATCH_CLASS);
    CU_ASSERT_EQUAL(ci, 3);
    CU_ASSERT_EQUAL(cp, 7);
    CU_ASSERT_EQUAL(catmatch_classify(&o, 2.5, 7, &ci, &cp, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "in-situ value 2.5 is not a class code"));
    CU_ASSERT_EQUAL(catmatch_classify(&o, 1, 0.25, &ci, &cp, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "product value 0.25 is not a class code"));
    /* --not-class, --threshold, --product-classes */
    CU_ASSERT_EQUAL(catmatch_parse_codes("not-class", "205, 254", &o, &err), 0);
    CU_ASSERT_EQUAL(catmatch_classify(&o, 3, 205, &ci, &cp, &err), CATMATCH_DROPPED);
    o.has_threshold = 1;
    o.threshold = 2;
    CU_ASSERT_EQUAL(catmatch_parse_map("product-classes", "100=1,0=0", &o, &err), 0);
    CU_ASSERT_EQUAL(catmatch_classify(&o, 2, 100, &ci, &cp, &err), CATMATCH_CLASS);
    CU_ASSERT_EQUAL(ci, 0); /* 2 is not > 2 */
    CU_ASSERT_EQUAL(cp, 1);
    CU_ASSERT_EQUAL(catmatch_classify(&o, 2.01, 0, &ci, &cp, &err), CATMATCH_CLASS);
    CU_ASSERT_EQUAL(ci, 1);
    CU_ASSERT_EQUAL(cp, 0);
    CU_ASSERT_EQUAL(catmatch_classify(&o, 30, 255, &ci, &cp, &err), CATMATCH_DROPPED);
    /* usage errors name the option and the item */
    CU_ASSERT_EQUAL(catmatch_parse_map("product-classes", "x", &o, &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.message, "--product-classes: 'x': expected PRODUCT_CODE="
                                        "CLASS_CODE (integers), such as 100=1,0=0");
    CU_ASSERT_EQUAL(catmatch_parse_map("product-classes", "0=1", &o, &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.message, "--product-classes: code 0 is mapped twice");
    CU_ASSERT_EQUAL(catmatch_parse_codes("not-class", "205,,254", &o, &err), INSITU_EUSAGE);
    CU_ASSERT_EQUAL(catmatch_parse_names("class-names", "0=no snow,1=snow", &o, &err), 0);
    CU_ASSERT_EQUAL(o.n_names, 2);
    CU_ASSERT_STRING_EQUAL(o.names[0].name, "no snow");
    CU_ASSERT_EQUAL(catmatch_parse_names("class-names", "2=", &o, &err), INSITU_EUSAGE);
    CU_ASSERT_EQUAL(catmatch_check(&o, 0.1, 0, 0, &err), INSITU_EUSAGE);
    CU_ASSERT_EQUAL(catmatch_check(&o, 1, 0, 1, &err), 0); /* a mean, thresholded */
    o.has_threshold = 0;
    CU_ASSERT_EQUAL(catmatch_check(&o, 1, 0, 1, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--reduce mean"));
    catmatch_opts_free(&o);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* A categorical matchup on a store: snow depth against LIS snow codes at two Things. */
static void test_cat_run(void)
{
    const char *dir = tu_tmpdir();
    insitu_store *st = tu_store(NULL);
    char *csv = tu_write(dir, "snow.csv",
                         "thing,latitude,longitude,observed_property,unit,phenomenon_time,result\n"
                         "A,45,6,snow_depth,cm,2020-01-01T10:00:00Z,0\n"
                         "A,45,6,snow_depth,cm,2020-01-02T10:00:00Z,5\n"
                         "A,45,6,snow_depth,cm,2020-01-03T10:00:00Z,30\n"
                         "A,45,6,snow_depth,cm,2020-01-04T10:00:00Z,1.5\n"
                         "A,45,6,snow_depth,cm,2020-01-05T10:00:00Z,12\n"
                         "A,45,6,snow,1,2020-01-01T10:30:00Z,0\n"
                         "A,45,6,snow,1,2020-01-02T10:30:00Z,100\n"
                         "A,45,6,snow,1,2020-01-03T10:30:00Z,205\n"
                         "A,45,6,snow,1,2020-01-04T10:30:00Z,100\n"
                         "A,45,6,snow,1,2020-01-05T10:30:00Z,100\n"
                         "B,46,7,snow_depth,cm,2020-01-01T10:00:00Z,40\n"
                         "B,46,7,snow_depth,cm,2020-01-02T10:00:00Z,0\n"
                         "B,46,7,snow,1,2020-01-01T10:20:00Z,0\n"
                         "B,46,7,snow,1,2020-01-02T10:20:00Z,254\n");
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, csv, NULL, NULL, &err), 0);
    /* the product carries its class names, as `insitu sample --stat majority` writes them */
    CU_ASSERT_EQUAL(st_exec(&st->base,
                            "UPDATE observations SET parameters = '{\"class\": \"snow\"}' "
                            "WHERE datastream_id = 2 AND result = 100",
                            &err),
                    0);
    struct matchup_request req = {.insitu = "snow_depth", .product = "snow",
                                  .opts = {.tolerance_us = 3600 * US_PER_SEC, .scale = 1,
                                           .min_n = 3}};
    req.cat.enabled = 1;
    req.cat.has_threshold = 1;
    req.cat.threshold = 2;
    CU_ASSERT_EQUAL_FATAL(catmatch_parse_map("product-classes", "100=1,0=0", &req.cat, &err), 0);
    char *out_path = tu_write(dir, "cat.csv", "");
    char svg[600];
    snprintf(svg, sizeof svg, "%s/cat.svg", dir);
    FILE *out = fopen(out_path, "w");
    CU_ASSERT_EQUAL_FATAL(matchup_run(st, &req, MATCHUP_CSV, out, svg, &err), 0);
    fclose(out);
    const char *text = slurp(out_path);
    /* A: pairs (0,0) (5,100) (30,205: dropped) (1,100) (12,100); B: (40,0) (0,254: dropped).
     * A: rows <= 2: [1 1], > 2: [0 2]; OA 3/4, pe = (2*1 + 2*3)/16, kappa 0.5.
     * all: rows [1 1], [1 2]; OA 3/5, pe = (2*2 + 3*3)/25 = 13/25, kappa (2/25)/(12/25) */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,2,2020-01-03T10:30:00Z,2020-01-03T10:00:00Z,205,"
                                        "30,1,,\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,2,2020-01-04T10:30:00Z,2020-01-04T10:00:00Z,100,"
                                        "1.5,1,0,1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nthing,insitu_class,<= 2,snow,total\n"
                                        "A,<= 2,1,1,2\nA,snow,0,2,2\nA,total,1,3,4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(all),<= 2,1,1,2\n(all),snow,1,2,3\n"
                                        "(all),total,2,3,5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,snow,2,3,2,0.6666666667,1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "B,0,<= 2,0,1,0,0,\n")); /* no in-situ: no recall */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,2,4,0.75,0.5,1,205:1,\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "B,3,4,1,,,1,254:1,n < min-n (3): not reported\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(all),,,5,0.6,0.1666666667,2,205:1 254:1,\n"));
    /* the SVG: well-formed, the counts and the class names */
    xmlDocPtr doc = xmlReadFile(svg, NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL((const char *)xmlDocGetRootElement(doc)->name, "svg");
    xmlFreeDoc(doc);
    const char *svgtext = slurp(svg);
    CU_ASSERT_PTR_NOT_NULL(strstr(svgtext, "class=\"count\">1</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svgtext, "class=\"count dark\">2</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svgtext, "text-anchor=\"end\">&lt;= 2</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svgtext, "kappa = 0.1667"));
    /* JSON, with the user's names */
    CU_ASSERT_EQUAL_FATAL(catmatch_parse_names("class-names", "0=no snow", &req.cat, &err), 0);
    out = fopen(out_path, "w");
    CU_ASSERT_EQUAL_FATAL(matchup_run(st, &req, MATCHUP_JSON, out, NULL, &err), 0);
    fclose(out);
    json_t *j = json_load_file(out_path, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_t *all = json_object_get(j, "all");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(all, "kappa")), 1.0 / 6, 1e-15);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(all, "dropped"), "254")),
                    1);
    json_t *c1 = json_array_get(json_object_get(all, "classes"), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c1, "name")), "snow");
    CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(c1, "recall")), 2.0 / 3, 1e-15);
    json_t *c0 = json_array_get(json_object_get(j, "classes"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c0, "name")), "no snow");
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(
                        json_array_get(json_object_get(all, "matrix"), 1), 0)),
                    1);
    json_decref(j);
    /* --reduce mean with a threshold: the mean of the in-situ values within +/- 1 h (one
     * here), classified; n_insitu and no in-situ time in the pairs */
    req.opts.reduce = MATCHUP_MEAN;
    out = fopen(out_path, "w");
    CU_ASSERT_EQUAL_FATAL(matchup_run(st, &req, MATCHUP_CSV, out, NULL, &err), 0);
    fclose(out);
    text = slurp(out_path);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,2,2020-01-02T10:30:00Z,,100,5,1,1,1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "A,1,2,4,0.75,0.5,1,205:1,\n"));
    req.opts.reduce = MATCHUP_NEAREST;
    /* a product that is not categorical: its 1.5 cm */
    catmatch_opts_free(&req.cat);
    req.cat = (struct catmatch_opts){.enabled = 1};
    req.insitu = "snow";
    req.product = "snow_depth";
    out = fopen(out_path, "w");
    CU_ASSERT_EQUAL(matchup_run(st, &req, MATCHUP_CSV, out, NULL, &err), INSITU_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "thing 'A', product time 2020-01-04T10:00:00Z: product "
                                        "value 1.5 is not a class code (an integer): is the "
                                        "product categorical?");
    fclose(out);
    insitu_store_close(st);
    free(csv);
    free(out_path);
}

static void add_store_tests(CU_pSuite s)
{
    CU_add_test(s, "matchup on a store: CSV, JSON, SVG, errors", test_run);
    CU_add_test(s, "categorical matchup on a store: threshold, code map, names", test_cat_run);
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
    CU_add_test(s, "categorical: Congalton (1991) textbook matrix", test_cat_textbook);
    CU_add_test(s, "categorical: hand-computed matrix, degenerate cases", test_cat_hand);
    CU_add_test(s, "categorical: classes of a pair, option parsing", test_cat_classify);
    tu_add_backend_suites("matchup-store", add_store_tests, NULL, NULL);
    return tap_run();
}
