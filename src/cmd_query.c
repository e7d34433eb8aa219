/*
 * cmd_query.c: `insitu query`: observations of the selected datastreams, raw or aggregated
 * per hour/day/month/year, as CSV (the contract's columns), JSON, GeoJSON or WaterML 2.0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

enum { O_DATASTREAM = 1, O_THING, O_PROPERTY, O_BBOX, O_FROM, O_TO, O_AGGREGATE, O_STAT,
       O_LIMIT, O_FORMAT, O_OUTPUT };

/* in the order of enum insitu_agg and enum insitu_stat */
static const char *const aggregates[] = {"none", "hour", "day", "month", "year", NULL};
static const char *const stats[] = {"mean", "min", "max", "sum", "count", NULL};
static const char *const formats[] = {"csv", "json", "geojson", "waterml2", NULL};

static const struct cli_option query_options[] = {
    {.name = "datastream", .code = O_DATASTREAM, .arg = "ID",
     .help = "this datastream (repeatable)"},
    {.name = "thing", .code = O_THING, .arg = "ID|NAME", .help = "the datastreams of this thing"},
    {.name = "property", .code = O_PROPERTY, .arg = "NAME",
     .help = "the datastreams of this observed property (name or\n"
             "definition URI)"},
    {.name = "bbox", .code = O_BBOX, .arg = "W,S,E,N",
     .help = "the datastreams of the things inside this box (degrees)"},
    {.name = "from", .code = O_FROM, .arg = "ISO", .help = "from this time on (inclusive)"},
    {.name = "to", .code = O_TO, .arg = "ISO", .help = "until this time (exclusive)"},
    {.name = "aggregate", .code = O_AGGREGATE, .help = "one row per UTC period (default none)",
     .choices = aggregates},
    {.name = "stat", .code = O_STAT, .help = "the statistic of --aggregate (default mean)",
     .choices = stats},
    {.name = "limit", .code = O_LIMIT, .arg = "N", .help = "at most N rows"},
    {.name = "format", .code = O_FORMAT, .help = "output format (default csv)", .choices = formats},
    {.name = "output", .letter = 'o', .code = O_OUTPUT, .arg = "FILE",
     .help = "write to FILE instead of stdout"},
    {NULL}};

static void query_help(void)
{
    printf("usage: insitu [--store URI] query [--datastream ID]... [--thing ID|NAME]\n"
           "          [--property NAME] [--bbox W,S,E,N] [--from ISO] [--to ISO]\n"
           "          [--aggregate hour|day|month|year [--stat mean|min|max|sum|count]]\n"
           "          [--limit N] [--format csv|json|geojson|waterml2] [-o FILE]\n\n"
           "Reads observations ordered by datastream and time. --from is inclusive, --to\n"
           "exclusive, both ISO 8601 (UTC unless an offset is given). Missing values (fill\n"
           "values, NaN) come out empty (CSV) or null (JSON), with their quality flag.\n"
           "--aggregate reduces each datastream to one row per UTC hour/day/month/year;\n"
           "the statistic (default mean) ignores missing values, and 'count' says how many\n"
           "values each row summarises.\n\n");
    cli_print_options(stdout, query_options);
    printf("\nCSV columns: datastream_id,thing,observed_property,unit,phenomenon_time,result,\n"
           "result_quality,phenomenon_time_end, then parameters (raw) or count (aggregate).\n");
}

int cmd_query(struct cli *cli, int argc, char **argv)
{
    static const struct cli_option *const tables[] = {query_options, NULL};
    struct cli_args a = {.cmd = "query", .tables = tables, .argc = argc, .argv = argv};
    insitu_query q = {0};
    q.from_us = q.to_us = INSITU_TIME_NONE;
    int64_t ids[256];
    const char *format = "csv", *output = NULL;
    int c, have_stat = 0;
    insitu_error err = {0};
    while ((c = cli_getopt(&a)) > 0) {
        switch (c) {
        case O_DATASTREAM: {
            int64_t id;
            if (parse_int64(a.arg, strlen(a.arg), &id) || id < 1)
                return cli_usage("query", "--datastream %s: expected a datastream id", a.arg);
            if (q.n_datastreams == ARRAY_LEN(ids))
                return cli_usage("query", "at most %zu --datastream options", ARRAY_LEN(ids));
            ids[q.n_datastreams++] = id;
            break;
        }
        case O_THING: q.thing = a.arg; break;
        case O_PROPERTY: q.property = a.arg; break;
        case O_BBOX:
            if (cli_parse_bbox(a.arg, q.bbox))
                return cli_usage("query", "--bbox %s: expected W,S,E,N in degrees", a.arg);
            q.has_bbox = 1;
            break;
        case O_FROM:
        case O_TO:
            if (insitu_time_parse(a.arg, 0, c == O_FROM ? &q.from_us : &q.to_us, &err))
                return cli_usage("query", "--%s: %s", a.opt->name, err.message);
            break;
        case O_AGGREGATE: q.aggregate = (enum insitu_agg)a.choice; break;
        case O_STAT:
            q.stat = (enum insitu_stat)a.choice;
            have_stat = 1;
            break;
        case O_LIMIT:
            if (parse_int64(a.arg, strlen(a.arg), &q.limit) || q.limit < 1)
                return cli_usage("query", "--limit %s: expected a positive count", a.arg);
            break;
        case O_FORMAT: format = a.arg; break;
        case O_OUTPUT: output = a.arg; break;
        }
    }
    if (c == CLI_HELP) {
        query_help();
        return EXIT_OK;
    }
    if (c == CLI_BAD)
        return EXIT_USAGE;
    if (optind < argc)
        return cli_usage("query", "unexpected argument '%s'", argv[optind]);
    if (have_stat && !q.aggregate)
        return cli_usage("query", "--stat goes with --aggregate");
    if (q.from_us != INSITU_TIME_NONE && q.to_us != INSITU_TIME_NONE && q.to_us <= q.from_us)
        return cli_usage("query", "--to must be after --from");
    q.datastreams = ids;
    insitu_store *st;
    FILE *out;
    int rc = cli_open_reading(cli, output, &st, &out);
    if (rc)
        return rc;
    uint64_t rows = 0;
    rc = cli_close_reading(st, out, output,
                           insitu_export_query(st, &q, out, format, &rows, &err), &err);
    if (rc)
        return cli_fail(&err);
    if (output && !cli->quiet)
        fprintf(stderr, "insitu: %llu rows written to %s\n", (unsigned long long)rows, output);
    return EXIT_OK;
}
