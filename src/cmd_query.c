/*
 * cmd_query.c: `insitu query`: observations of the selected datastreams, raw or aggregated
 * per hour/day/month/year, as CSV (the contract's columns), JSON, GeoJSON or WaterML 2.0.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

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
           "values each row summarises.\n\n"
           "CSV columns: datastream_id,thing,observed_property,unit,phenomenon_time,result,\n"
           "result_quality,phenomenon_time_end, then parameters (raw) or count (aggregate).\n");
}

static int parse_choice(const char *text, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (str_ieq(text, names[i]))
            return i;
    return -1;
}

int cmd_query(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"datastream", required_argument, NULL, 'd'},
                                         {"thing", required_argument, NULL, 't'},
                                         {"property", required_argument, NULL, 'p'},
                                         {"bbox", required_argument, NULL, 'b'},
                                         {"from", required_argument, NULL, 'F'},
                                         {"to", required_argument, NULL, 'T'},
                                         {"aggregate", required_argument, NULL, 'a'},
                                         {"stat", required_argument, NULL, 's'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    static const char *const aggs[] = {"none", "hour", "day", "month", "year"};
    static const char *const stats[] = {"mean", "min", "max", "sum", "count"};
    insitu_query q = {0};
    q.from_us = q.to_us = INSITU_TIME_NONE;
    int64_t ids[256];
    const char *format = "csv", *output = NULL;
    int c, have_stat = 0;
    insitu_error err = {0};
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'h': query_help(); return EXIT_OK;
        case 'd': {
            int64_t id;
            if (parse_int64(optarg, strlen(optarg), &id) || id < 1)
                return cli_usage("query", "--datastream %s: expected a datastream id", optarg);
            if (q.n_datastreams == ARRAY_LEN(ids))
                return cli_usage("query", "at most %zu --datastream options", ARRAY_LEN(ids));
            ids[q.n_datastreams++] = id;
            break;
        }
        case 't': q.thing = optarg; break;
        case 'p': q.property = optarg; break;
        case 'b':
            if (cli_parse_bbox(optarg, q.bbox))
                return cli_usage("query", "--bbox %s: expected W,S,E,N in degrees", optarg);
            q.has_bbox = 1;
            break;
        case 'F':
        case 'T':
            if (insitu_time_parse(optarg, 0, c == 'F' ? &q.from_us : &q.to_us, &err))
                return cli_usage("query", "--%s: %s", c == 'F' ? "from" : "to", err.message);
            break;
        case 'a': {
            int a = parse_choice(optarg, aggs, 5);
            if (a < 0)
                return cli_usage("query", "--aggregate %s: expected hour, day, month or year",
                                 optarg);
            q.aggregate = (enum insitu_agg)a;
            break;
        }
        case 's': {
            int s = parse_choice(optarg, stats, 5);
            if (s < 0)
                return cli_usage("query", "--stat %s: expected mean, min, max, sum or count",
                                 optarg);
            q.stat = (enum insitu_stat)s;
            have_stat = 1;
            break;
        }
        case 'l':
            if (parse_int64(optarg, strlen(optarg), &q.limit) || q.limit < 1)
                return cli_usage("query", "--limit %s: expected a positive count", optarg);
            break;
        case 'f': format = optarg; break;
        case 'o': output = optarg; break;
        default: return cli_usage("query", "unknown option");
        }
    }
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
