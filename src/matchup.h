/*
 * matchup.h: pairing an in-situ series with a product series of the same Thing in time
 * (nearest within a tolerance, or the in-situ mean over a window), the statistics of the
 * pairs (n, bias, RMSE, ubRMSE, Pearson R and its p-value, NSE, KGE: docs/matchup.md), and
 * their CSV/JSON/SVG output. Reads the store only through the query cursor.
 */
#ifndef INSITU_MATCHUP_H
#define INSITU_MATCHUP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "catmatch.h"
#include "insitu.h"

enum matchup_reduce { MATCHUP_NEAREST = 0, MATCHUP_MEAN };

struct matchup_opts {
    int64_t tolerance_us;     /* |t_insitu - t_product| <= tolerance */
    enum matchup_reduce reduce;
    double scale, offset;     /* product values become product * scale + offset */
    size_t min_n;             /* fewer pairs: no statistics */
};

/* A time series of valid numbers, in time order. */
struct matchup_series {
    int64_t *t;
    double *v;
    size_t n, cap;
};
int matchup_series_add(struct matchup_series *s, int64_t t, double v);
void matchup_series_free(struct matchup_series *s);

struct matchup_pair {
    int64_t product_time;
    int64_t insitu_time;      /* the in-situ time (nearest), INSITU_TIME_NONE for a mean */
    double product, insitu;   /* product already scaled */
    int n_insitu;             /* in-situ values behind the pair */
};

struct matchup_stats {
    size_t n;
    int reported;             /* n >= min_n: the fields below are set */
    double bias, rmse, ubrmse, r, p_value, nse, kge;
    double mean_insitu, mean_product, std_insitu, std_product;
};

/* Pairs the product series with the in-situ series (both in time order). The caller frees
 * *out. */
int matchup_pairs(const struct matchup_series *insitu, const struct matchup_series *product,
                  const struct matchup_opts *o, struct matchup_pair **out, size_t *n,
                  insitu_error *err);
/* Statistics of n pairs (NaN where undefined, e.g. R of a constant series). */
void matchup_stats(const struct matchup_pair *p, size_t n, size_t min_n, struct matchup_stats *s);

/* The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1. */
double matchup_betainc(double a, double b, double x);
/* Two-sided p-value of Pearson's r for n pairs (t distribution, n - 2 degrees of freedom). */
double matchup_pearson_p(double r, size_t n);

/* What to pair: --insitu and --product as a datastream id or an observed property name;
 * with cat.enabled, the values are classes (catmatch.h) and the statistics categorical. */
struct matchup_request {
    const char *insitu, *product;
    struct matchup_opts opts;
    struct catmatch_opts cat;
};

enum matchup_format { MATCHUP_CSV = 0, MATCHUP_JSON };

/* Resolves the request into pair sets (one per Thing that has both), pairs them, and writes
 * pairs and statistics to out; with plot_path, also an SVG scatter and time-series plot. */
int matchup_run(insitu_store *store, const struct matchup_request *req,
                enum matchup_format format, FILE *out, const char *plot_path,
                insitu_error *err);

/* ---- shared with catmatch.c (not an API) ---- */
struct matchup_ds_ref {
    int64_t id, thing_id;
    char *thing, *property, *unit, *sensor;
};

/* Shared with catmatch.c: a series' reference as JSON ({datastream, property, unit,
 * sensor}), and an SVG <text> at (x, y) with an optional text-anchor and class. */
struct json_t *matchup_ref_json(const struct matchup_ds_ref *r);
/* A pair as JSON ({product_time, insitu_time, product, insitu, n_insitu}). */
struct json_t *matchup_pair_json(const struct matchup_pair *p);
struct _xmlTextWriter;
void matchup_svg_text(struct _xmlTextWriter *w, double x, double y, const char *anchor,
                      const char *cls, const char *text);

/* The datastreams of one Thing, their series and pairs. */
struct matchup_set {
    struct matchup_ds_ref insitu, product;
    struct matchup_series in_series, prod_series;
    struct matchup_pair *pairs;
    size_t n_pairs;
    struct matchup_stats stats;
};

#endif
