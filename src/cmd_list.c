/*
 * cmd_list.c: the listing commands `insitu things`, `datastreams` and `sources`: they share
 * their options (--format, --bbox, --thing, --property, -o) and differ in what they list.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum listing { LIST_THINGS, LIST_DATASTREAMS, LIST_SOURCES };
enum { O_FORMAT = 1, O_BBOX, O_THING, O_PROPERTY, O_OUTPUT };

static const char *const geo_formats[] = {"csv", "json", "geojson", NULL};
static const char *const plain_formats[] = {"csv", "json", NULL};

#define OPT_BBOX(what)                                                                        \
    {.name = "bbox", .code = O_BBOX, .arg = "W,S,E,N",                                        \
     .help = "only the " what " inside this box (degrees)"}
#define OPT_THING(what) {.name = "thing", .code = O_THING, .arg = "ID|NAME", .help = "only " what}
#define OPT_FORMAT(formats)                                                                   \
    {.name = "format", .code = O_FORMAT, .help = "output format (default csv)", .choices = formats}
#define OPT_OUTPUT                                                                            \
    {.name = "output", .letter = 'o', .code = O_OUTPUT, .arg = "FILE",                        \
     .help = "write to FILE instead of stdout"}

static const struct cli_option things_options[] = {
    OPT_BBOX("things"), OPT_THING("this thing"), OPT_FORMAT(geo_formats), OPT_OUTPUT, {NULL}};
static const struct cli_option datastreams_options[] = {
    OPT_THING("the thing's datastreams"),
    {.name = "property", .code = O_PROPERTY, .arg = "NAME",
     .help = "only datastreams of this observed property"},
    OPT_BBOX("datastreams of things"),
    OPT_FORMAT(geo_formats),
    OPT_OUTPUT,
    {NULL}};
static const struct cli_option sources_options[] = {OPT_FORMAT(plain_formats), OPT_OUTPUT,
                                                    {NULL}};

static const struct listing_command {
    const char *name;
    const struct cli_option *options;
    const char *help;
} listings[] = {
    {"things", things_options,
     "usage: insitu [--store URI] things [--bbox W,S,E,N] [--thing ID|NAME]\n"
     "                                   [--format csv|json|geojson] [-o FILE]\n\n"
     "Lists the Things (stations, SWOT reaches and lakes, virtual stations) with their\n"
     "current location. --format geojson gives an RFC 7946 FeatureCollection, one Feature\n"
     "per Thing, that QGIS opens as a layer.\n\n"},
    {"datastreams", datastreams_options,
     "usage: insitu [--store URI] datastreams [--thing ID|NAME] [--property NAME]\n"
     "                                        [--bbox W,S,E,N] [--format csv|json|geojson] "
     "[-o FILE]\n\n"
     "Lists the Datastreams (one Thing's series of one observed property by one sensor)\n"
     "with their unit, number of observations and time span.\n\n"},
    {"sources", sources_options,
     "usage: insitu [--store URI] sources [--format csv|json] [-o FILE]\n\n"
     "Lists the ingest runs: what was ingested from where, the content's SHA-256, the\n"
     "ingester, the counts, and the status (complete, skipped, failed).\n\n"},
};

static int run_listing(struct cli *cli, int argc, char **argv, enum listing kind)
{
    const struct listing_command *lc = &listings[kind];
    const struct cli_option *const tables[] = {lc->options, NULL};
    struct cli_args a = {.cmd = lc->name, .tables = tables, .argc = argc, .argv = argv};
    insitu_filter filter = {0};
    const char *format = "csv", *output = NULL;
    int c;
    while ((c = cli_getopt(&a)) > 0) {
        switch (c) {
        case O_FORMAT: format = a.arg; break;
        case O_OUTPUT: output = a.arg; break;
        case O_BBOX:
            if (cli_parse_bbox(a.arg, filter.bbox))
                return cli_usage(lc->name, "--bbox %s: expected W,S,E,N in degrees", a.arg);
            filter.has_bbox = 1;
            break;
        case O_THING: filter.thing = a.arg; break;
        case O_PROPERTY: filter.property = a.arg; break;
        }
    }
    if (c == CLI_HELP) {
        printf("%s", lc->help);
        cli_print_options(stdout, lc->options);
        return EXIT_OK;
    }
    if (c == CLI_BAD)
        return EXIT_USAGE;
    if (optind < argc)
        return cli_usage(lc->name, "unexpected argument '%s'", argv[optind]);
    insitu_store *st;
    FILE *out;
    int rc = cli_open_reading(cli, output, &st, &out);
    if (rc)
        return rc;
    insitu_error err = {0};
    if (kind == LIST_THINGS)
        rc = insitu_export_things(st, &filter, out, format, &err);
    else if (kind == LIST_DATASTREAMS)
        rc = insitu_export_datastreams(st, &filter, out, format, &err);
    else
        rc = insitu_export_sources(st, out, format, &err);
    rc = cli_close_reading(st, out, output, rc, &err);
    return rc ? cli_fail(&err) : EXIT_OK;
}

int cmd_things(struct cli *cli, int argc, char **argv)
{
    return run_listing(cli, argc, argv, LIST_THINGS);
}

int cmd_datastreams(struct cli *cli, int argc, char **argv)
{
    return run_listing(cli, argc, argv, LIST_DATASTREAMS);
}

int cmd_sources(struct cli *cli, int argc, char **argv)
{
    return run_listing(cli, argc, argv, LIST_SOURCES);
}
