/*
 * cli.c: `insitu [--store URI] COMMAND [OPTIONS]`: global options, dispatch to the
 * subcommands (one file each, git-style), shared helpers. The only place that exits.
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <libxml/parser.h>
#include <sqlite3.h>
#include <spatialite.h>

#include "config.h"
#include "util.h"

static const struct command commands[] = {
    {"init", "create or migrate the store", cmd_init},
    {"ingest", "ingest files, folders, zips, URLs (format probed or given)", cmd_ingest},
    {"pull", "pull series from Hydrocron, Hydroweb.next or THEIA/OZCAR", cmd_pull},
    {"formats", "list the ingesters and their settings", cmd_formats},
    {"sources", "list ingest runs: source, checksum, counts, status", cmd_sources},
    {"things", "list things (stations, reaches, lakes...)", cmd_things},
    {"datastreams", "list datastreams (a thing's series of one property)", cmd_datastreams},
    {"query", "read observations, raw or aggregated", cmd_query},
    {"sample", "sample rasters at the stations: product pixels as datastreams", cmd_sample},
    {"matchup", "pair in-situ and product datastreams in time; bias, RMSE, R, NSE, KGE",
     cmd_matchup},
    {"serve", "serve the store as an OGC SensorThings API v1.1 endpoint", cmd_serve},
};

int cli_fail(const insitu_error *err)
{
    fprintf(stderr, "insitu: %s\n", err->message[0] ? err->message : insitu_strerror(err->code));
    return err->code == INSITU_EUSAGE ? EXIT_USAGE : EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "insitu%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'insitu %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

int cli_open_store(struct cli *cli, unsigned flags, insitu_store **out)
{
    insitu_error err = {0};
    if (insitu_store_open(cli->store_uri, flags, out, &err))
        return cli_fail(&err);
    return EXIT_OK;
}

int cli_parse_bbox(const char *text, double bbox[4])
{
    char *end;
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        bbox[i] = strtod(p, &end);
        if (end == p || (i < 3 && *end != ',') || (i == 3 && *end))
            return -1;
        p = end + 1;
    }
    if (bbox[0] > bbox[2] || bbox[1] > bbox[3] || bbox[1] < -90 || bbox[3] > 90)
        return -1;
    return 0;
}

int cli_parse_format(const char *cmd, const char *text, const char *const *allowed, int *out)
{
    for (int i = 0; allowed[i]; i++) {
        if (str_ieq(text, allowed[i])) {
            *out = out_format_parse(allowed[i]);
            return 0;
        }
    }
    return cli_usage(cmd, "--format %s: expected one of csv, json, geojson%s", text,
                     allowed[3] ? ", waterml2" : "");
}

int cli_open_reading(struct cli *cli, const char *output, insitu_store **st, FILE **out)
{
    int rc = cli_open_store(cli, INSITU_OPEN_READONLY, st);
    if (rc)
        return rc;
    *out = stdout;
    if (output && strcmp(output, "-") != 0 && !(*out = fopen(output, "w"))) {
        fprintf(stderr, "insitu: %s: cannot write: %m\n", output);
        insitu_store_close(*st);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int cli_close_reading(insitu_store *st, FILE *out, const char *output, int rc,
                      insitu_error *err)
{
    if (out != stdout && fclose(out) && !rc)
        rc = insitu_error_set(err, INSITU_EIO, "%s: cannot write", output);
    insitu_store_close(st);
    return rc;
}

static void main_help(FILE *out)
{
    fprintf(out,
            "usage: insitu [--store URI] COMMAND [OPTIONS]\n\n"
            "A spatial time-series store for in-situ and satellite hydrology observations\n"
            "(OGC SensorThings model on SQLite + SpatiaLite or PostgreSQL + PostGIS).\n\n"
            "  --store URI   a file path or sqlite:PATH, or postgresql://...\n"
            "                (default: $INSITU_STORE, else ./insitu.db)\n"
            "  -q, --quiet   print only results and errors\n"
            "  --version     print the version\n\n"
            "commands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(out, "  %-12s  %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'insitu COMMAND --help' describes a command. Exit status: 0 success, 1 bad "
                 "input or failed operation, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
    struct cli cli = {0};
    cli.store_uri = getenv("INSITU_STORE");
    if (!cli.store_uri || !*cli.store_uri)
        cli.store_uri = "insitu.db";
    static const struct option opts[] = {{"store", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    int c;
    /* '+': stop at the command name; its options are its own */
    while ((c = getopt_long(argc, argv, "+s:qh", opts, NULL)) != -1) {
        switch (c) {
        case 's': cli.store_uri = optarg; break;
        case 'q': cli.quiet = 1; break;
        case 'h': main_help(stdout); return EXIT_OK;
        case 'V': printf("insitu %s\n", PACKAGE_VERSION); return EXIT_OK;
        default: main_help(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        main_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        /* GDAL drivers are registered by the code that needs them (gdal_drivers()): the
         * registry alone costs ~9 MiB of RSS that a CSV ingest has no use for */
        CPLSetConfigOption("CPL_LOG", "/dev/null"); /* GDAL's messages come back as errors */
        CPLPushErrorHandler(CPLQuietErrorHandler);
        int argc2 = argc - optind;
        char **argv2 = argv + optind;
        optind = 0; /* reset getopt for the command */
        int rc = commands[i].run(&cli, argc2, argv2);
        CPLPopErrorHandler();
        GDALDestroyDriverManager();
        spatialite_shutdown();
        xmlCleanupParser();
        return rc;
    }
    fprintf(stderr, "insitu: '%s' is not a command\n\n", name);
    main_help(stderr);
    return EXIT_USAGE;
}
