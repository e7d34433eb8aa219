/*
 * cmd_matchup.c: `insitu matchup --insitu DS --product DS --tolerance DURATION`: pairs an
 * in-situ and a product Datastream of the same Thing in time and prints the pairs and their
 * statistics (CSV or JSON), optionally with an SVG plot; with --categorical (or --threshold,
 * --product-classes...) the values are classes and the statistics a confusion matrix.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "matchup.h"
#include "timeutil.h"
#include "util.h"

enum { O_INSITU = 1, O_PRODUCT, O_TOL, O_REDUCE, O_SCALE, O_OFFSET, O_MINN, O_PLOT, O_FORMAT,
       O_OUTPUT, O_CATEGORICAL, O_THRESHOLD, O_PRODUCT_CLASSES, O_NOT_CLASS, O_CLASS_NAMES };

/* in the order of enum matchup_reduce and enum matchup_format */
static const char *const reductions[] = {"nearest", "mean", NULL};
static const char *const formats[] = {"csv", "json", NULL};

static const struct cli_option matchup_options[] = {
    {.name = "insitu", .code = O_INSITU, .arg = "DATASTREAM",
     .help = "the in-situ datastream (id or property name)"},
    {.name = "product", .code = O_PRODUCT, .arg = "DATASTREAM",
     .help = "the product datastream (id or property name)"},
    {.name = "tolerance", .code = O_TOL, .arg = "DURATION",
     .help = "how far in time a pair's values may be (PT12H, 2h)"},
    {.name = "reduce", .code = O_REDUCE, .help = "the in-situ value of a pair (default nearest)",
     .choices = reductions},
    {.name = "scale", .code = O_SCALE, .arg = "A",
     .help = "product values become product * A + B (default 1)"},
    {.name = "offset", .code = O_OFFSET, .arg = "B",
     .help = "added to product values after --scale (default 0)"},
    {.name = "min-n", .code = O_MINN, .arg = "N", .help = "fewer pairs: no statistics (default 3)"},
    {.name = "format", .letter = 'f', .code = O_FORMAT, .help = "output format (default csv)",
     .choices = formats},
    {.name = "output", .letter = 'o', .code = O_OUTPUT, .arg = "FILE",
     .help = "write to FILE instead of stdout"},
    {.name = "plot", .code = O_PLOT, .arg = "FILE.svg",
     .help = "an SVG scatter and time-series plot (categorical: the confusion matrix)"},
    {.name = "categorical", .code = O_CATEGORICAL,
     .help = "values are classes: confusion matrix, accuracy, kappa (implied by\n"
             "the four options below)"},
    {.name = "threshold", .code = O_THRESHOLD, .arg = "T",
     .help = "in-situ value > T is class 1, else class 0"},
    {.name = "product-classes", .code = O_PRODUCT_CLASSES, .arg = "CODE=CLASS,...",
     .help = "product codes onto classes (100=1,0=0); other codes are dropped"},
    {.name = "not-class", .code = O_NOT_CLASS, .arg = "CODES",
     .help = "product codes that are no class (205,254): dropped and counted"},
    {.name = "class-names", .code = O_CLASS_NAMES, .arg = "CLASS=NAME,...",
     .help = "names of the classes (0=no snow,1=snow)"},
    {NULL}};

static void matchup_help(void)
{
    printf("usage: insitu [--store URI] matchup --insitu DATASTREAM --product DATASTREAM\n"
           "          --tolerance DURATION [--reduce nearest|mean] [--scale A --offset B]\n"
           "          [--min-n N] [--format csv|json] [-o FILE] [--plot FILE.svg]\n"
           "          [--categorical] [--threshold T] [--product-classes CODE=CLASS,...]\n"
           "          [--not-class CODES] [--class-names CLASS=NAME,...]\n\n"
           "Pairs each product value with the in-situ series of the same Thing: the nearest\n"
           "in-situ value within the tolerance (default), or the mean of the in-situ values\n"
           "within +/- the tolerance (--reduce mean). DATASTREAM is a datastream id, or an\n"
           "observed property name: then every Thing with both is a pair set of its own.\n"
           "DURATION is ISO 8601 (PT12H, P1D) or a number with s, min, h or d (12h, 1d).\n"
           "Product values are converted with product * A + B before comparing (default\n"
           "A=1, B=0). Statistics (docs/matchup.md): n, bias (product - in situ), RMSE,\n"
           "ubRMSE, Pearson R and its p-value, NSE, KGE; below --min-n pairs (default 3)\n"
           "they are not reported.\n"
           "Categorical (--categorical, or any of --threshold, --product-classes,\n"
           "--not-class, --class-names): in-situ values are class codes (or 0/1 against\n"
           "--threshold), product values are codes mapped by --product-classes; output:\n"
           "the confusion matrix, overall accuracy, Cohen's kappa, precision and recall\n"
           "per class (docs/matchup.md).\n\n");
    cli_print_options(stdout, matchup_options);
    printf("\nCSV: the pairs (thing,insitu_datastream,product_datastream,product_time,\n"
           "insitu_time,product,insitu,n_insitu), an empty line, then one statistics row\n"
           "per pair set (and '(all)' for all pairs when there are several sets).\n");
}

/* "PT12H", "P1D", "12h", "30min", "3600s", "1d" -> microseconds. */
static int parse_tolerance(const char *text, int64_t *out)
{
    int64_t secs;
    if (text[0] == 'P' || text[0] == 'p') {
        if (duration_parse(text, strlen(text), &secs, NULL, NULL))
            return -1;
        *out = secs * US_PER_SEC;
        return 0;
    }
    char *end;
    double v = strtod(text, &end);
    if (end == text || v < 0)
        return -1;
    double mult = str_ieq(end, "s") || !*end ? 1
                  : str_ieq(end, "min") || str_ieq(end, "m") ? 60
                  : str_ieq(end, "h") ? 3600
                  : str_ieq(end, "d") ? 86400
                                      : -1;
    if (mult < 0)
        return -1;
    *out = (int64_t)(v * mult * 1e6 + 0.5);
    return 0;
}

/* The options of a categorical match-up: 0, or EXIT_USAGE after saying why. */
static int parse_categorical(const struct cli_args *a, int code, struct catmatch_opts *cat)
{
    insitu_error err = {0};
    int rc = 0;
    cat->enabled = 1;
    switch (code) {
    case O_THRESHOLD:
        if (parse_double(a->arg, strlen(a->arg), &cat->threshold))
            return cli_usage("matchup", "--threshold %s: not a number", a->arg);
        cat->has_threshold = 1;
        break;
    case O_PRODUCT_CLASSES: rc = catmatch_parse_map(a->opt->name, a->arg, cat, &err); break;
    case O_NOT_CLASS: rc = catmatch_parse_codes(a->opt->name, a->arg, cat, &err); break;
    case O_CLASS_NAMES: rc = catmatch_parse_names(a->opt->name, a->arg, cat, &err); break;
    }
    return rc ? cli_usage("matchup", "%s", err.message) : 0;
}

/* After the options: help, bad usage, or EXIT_OK to run. */
static int check_usage(const struct cli_args *a, int c, const struct matchup_request *req,
                       int have_tol)
{
    if (c == CLI_HELP) {
        matchup_help();
        return EXIT_OK;
    }
    if (c == CLI_BAD)
        return EXIT_USAGE;
    if (optind < a->argc)
        return cli_usage("matchup", "unexpected argument '%s'", a->argv[optind]);
    if (!req->insitu || !req->product || !have_tol)
        return cli_usage("matchup", "--insitu, --product and --tolerance are required");
    insitu_error err = {0};
    if (req->cat.enabled && catmatch_check(&req->cat, req->opts.scale, req->opts.offset,
                                           req->opts.reduce == MATCHUP_MEAN, &err))
        return cli_usage("matchup", "%s", err.message);
    return EXIT_OK;
}

int cmd_matchup(struct cli *cli, int argc, char **argv)
{
    static const struct cli_option *const tables[] = {matchup_options, NULL};
    struct cli_args a = {.cmd = "matchup", .tables = tables, .argc = argc, .argv = argv};
    struct matchup_request req = {0};
    req.opts.scale = 1;
    req.opts.min_n = 3;
    const char *output = NULL, *plot = NULL;
    enum matchup_format format = MATCHUP_CSV;
    int c, have_tol = 0;
    while ((c = cli_getopt(&a)) > 0) {
        switch (c) {
        case O_INSITU: req.insitu = a.arg; break;
        case O_PRODUCT: req.product = a.arg; break;
        case O_TOL:
            if (parse_tolerance(a.arg, &req.opts.tolerance_us))
                return cli_usage("matchup", "--tolerance %s: expected a duration such as PT12H, "
                                 "P1D, 30min or 2h", a.arg);
            have_tol = 1;
            break;
        case O_REDUCE: req.opts.reduce = (enum matchup_reduce)a.choice; break;
        case O_SCALE:
        case O_OFFSET: {
            double v;
            if (parse_double(a.arg, strlen(a.arg), &v))
                return cli_usage("matchup", "--%s %s: not a number", a.opt->name, a.arg);
            *(c == O_SCALE ? &req.opts.scale : &req.opts.offset) = v;
            break;
        }
        case O_MINN: {
            int64_t n;
            if (parse_int64(a.arg, strlen(a.arg), &n) || n < 1)
                return cli_usage("matchup", "--min-n %s: expected a positive count", a.arg);
            req.opts.min_n = (size_t)n;
            break;
        }
        case O_PLOT: plot = a.arg; break;
        case O_FORMAT: format = (enum matchup_format)a.choice; break;
        case O_OUTPUT: output = a.arg; break;
        default:
            if (parse_categorical(&a, c, &req.cat)) {
                catmatch_opts_free(&req.cat);
                return EXIT_USAGE;
            }
        }
    }
    int rc = check_usage(&a, c, &req, have_tol);
    if (rc != EXIT_OK || c == CLI_HELP) {
        catmatch_opts_free(&req.cat);
        return rc;
    }
    insitu_store *st;
    FILE *out;
    rc = cli_open_reading(cli, output, &st, &out);
    if (rc) {
        catmatch_opts_free(&req.cat);
        return rc;
    }
    insitu_error err = {0};
    rc = cli_close_reading(st, out, output, matchup_run(st, &req, format, out, plot, &err), &err);
    catmatch_opts_free(&req.cat);
    if (rc)
        return cli_fail(&err);
    if (plot && !cli->quiet)
        fprintf(stderr, "insitu: plot written to %s\n", plot);
    return EXIT_OK;
}
