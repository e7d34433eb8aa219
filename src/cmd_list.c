/*
 * cmd_list.c: the listing commands `insitu things`, `datastreams` and `sources`: they share
 * their options (--format, --bbox, --thing, --property, -o) and differ in what they list.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum listing { LIST_THINGS, LIST_DATASTREAMS, LIST_SOURCES };

static const char *const list_help[] = {
    "usage: insitu [--store URI] things [--bbox W,S,E,N] [--thing ID|NAME]\n"
    "                                   [--format csv|json|geojson] [-o FILE]\n\n"
    "Lists the Things (stations, SWOT reaches and lakes, virtual stations) with their\n"
    "current location. --format geojson gives an RFC 7946 FeatureCollection, one Feature\n"
    "per Thing, that QGIS opens as a layer.\n",
    "usage: insitu [--store URI] datastreams [--thing ID|NAME] [--property NAME]\n"
    "                                        [--bbox W,S,E,N] [--format csv|json|geojson] [-o FILE]\n\n"
    "Lists the Datastreams (one Thing's series of one observed property by one sensor)\n"
    "with their unit, number of observations and time span.\n",
    "usage: insitu [--store URI] sources [--format csv|json] [-o FILE]\n\n"
    "Lists the ingest runs: what was ingested from where, the content's SHA-256, the\n"
    "ingester, the counts, and the status (complete, skipped, failed).\n",
};
static const char *const list_names[] = {"things", "datastreams", "sources"};

static int run_listing(struct cli *cli, int argc, char **argv, enum listing kind)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"bbox", required_argument, NULL, 'b'},
                                         {"thing", required_argument, NULL, 't'},
                                         {"property", required_argument, NULL, 'p'},
                                         {"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *name = list_names[kind];
    insitu_filter filter = {0};
    const char *format = "csv", *output = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("%s", list_help[kind]); return EXIT_OK;
        case 'f': format = optarg; break;
        case 'o': output = optarg; break;
        case 'b':
            if (kind == LIST_SOURCES || cli_parse_bbox(optarg, filter.bbox))
                return cli_usage(name, "--bbox %s: expected W,S,E,N in degrees", optarg);
            filter.has_bbox = 1;
            break;
        case 't':
            if (kind == LIST_SOURCES)
                return cli_usage(name, "unknown option --thing");
            filter.thing = optarg;
            break;
        case 'p':
            if (kind != LIST_DATASTREAMS)
                return cli_usage(name, "unknown option --property");
            filter.property = optarg;
            break;
        default: return cli_usage(name, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage(name, "unexpected argument '%s'", argv[optind]);
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
