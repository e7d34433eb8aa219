/*
 * catmatch.h: categorical match-ups: the in-situ value of a pair becomes a class (its code,
 * or 0/1 against a threshold), the product value a class through a code map; the confusion
 * matrix, overall accuracy, Cohen's kappa, precision and recall per class (docs/matchup.md),
 * written as CSV, JSON and an SVG heat map. Works on pairs made by matchup.c; never reads or
 * writes the store itself.
 */
#ifndef INSITU_CATMATCH_H
#define INSITU_CATMATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "insitu.h"

struct catmatch_code_map {
    int64_t from, to;
};

struct catmatch_name {
    int64_t code;
    char *name;
};

/* The options of a categorical match-up (all owned: catmatch_opts_free). */
struct catmatch_opts {
    int enabled;
    int has_threshold; /* in situ: value > threshold is class 1, else class 0 */
    double threshold;
    struct catmatch_code_map *product_map; /* product code -> class; NULL: codes are classes */
    size_t n_product_map;
    int64_t *not_class; /* product codes that are no class (dropped, counted) */
    size_t n_not_class;
    struct catmatch_name *names; /* class names given by the user */
    size_t n_names;
};
void catmatch_opts_free(struct catmatch_opts *o);

/* Parsers of the command-line values; each returns 0, or INSITU_EUSAGE with a message that
 * names the option (opt, without "--"). */
/* "100=1,0=0": product code = class code. */
int catmatch_parse_map(const char *opt, const char *text, struct catmatch_opts *o,
                       insitu_error *err);
/* "205,254" */
int catmatch_parse_codes(const char *opt, const char *text, struct catmatch_opts *o,
                         insitu_error *err);
/* "0=no snow,1=snow" */
int catmatch_parse_names(const char *opt, const char *text, struct catmatch_opts *o,
                         insitu_error *err);

/* Checks that the continuous options go with a categorical match-up: no --scale/--offset,
 * --reduce mean only with a threshold. 0 or INSITU_EUSAGE. */
int catmatch_check(const struct catmatch_opts *o, double scale, double offset, int reduce_mean,
                   insitu_error *err);

enum { CATMATCH_CLASS = 0, CATMATCH_DROPPED = 1 };
/* The classes of one pair: CATMATCH_CLASS with *insitu_class and *product_class set,
 * CATMATCH_DROPPED when the product code is not a class, or INSITU_EINVAL when a value is not
 * a class code (not an integer, and no threshold for the in-situ side). */
int catmatch_classify(const struct catmatch_opts *o, double insitu, double product,
                      int64_t *insitu_class, int64_t *product_class, insitu_error *err);

/* A confusion matrix over k classes (indices into a class list) and its statistics. */
struct catmatch_stats {
    size_t k;
    size_t *cells;                /* k x k, row-major: row = in-situ class, column = product */
    size_t *n_insitu, *n_product; /* row and column totals */
    double *precision, *recall;   /* per class; NaN when the class has no product / in-situ pair */
    size_t n;                     /* pairs in the matrix */
    int reported;                 /* n >= min_n: oa and kappa are set */
    double oa, kappa;             /* kappa NaN when the chance agreement is 1 */
};
/* Allocates an empty k-class matrix; 0 or INSITU_ENOMEM. */
int catmatch_stats_init(struct catmatch_stats *s, size_t k, insitu_error *err);
/* Counts one pair of class indices. */
void catmatch_stats_add(struct catmatch_stats *s, size_t insitu, size_t product, size_t count);
/* Computes totals, OA, kappa, precision and recall from the cells. */
void catmatch_stats_finish(struct catmatch_stats *s, size_t min_n);
void catmatch_stats_free(struct catmatch_stats *s);

struct matchup_request;
struct matchup_set;
/* Classifies the pairs of the sets, then writes the categorical report (CSV, or JSON with
 * json != 0) to out and, with plot_path, the SVG heat map of all pairs. product_names: the
 * class names the product's Observations carry (parameters "class"), per product code, may
 * be NULL. */
int catmatch_report(const struct matchup_request *req, const struct matchup_set *sets,
                    size_t n_sets, const struct catmatch_name *product_names,
                    size_t n_product_names, int json, FILE *out, const char *plot_path,
                    insitu_error *err);

#endif
