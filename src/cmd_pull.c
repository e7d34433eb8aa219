/*
 * cmd_pull.c: `insitu pull SERVICE [OPTIONS] ID...`: series from remote catalogues
 * (Hydrocron, Hydroweb.next WFS, THEIA/OZCAR downloads, SensorThings API endpoints). Base URLs and keys come from options
 * or the environment, never from the code. One line per source; a failure does not stop the
 * others (exit 1 at the end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

enum { O_BASE = 1, O_FROM, O_TO, O_KEY, O_IDS, O_FEATURE, O_FIELDS, O_COLLECTION, O_LAYER,
       O_PAGE, O_SET, O_DRY, O_FORCE };

static const struct cli_option pull_options[] = {
    {.name = "base-url", .code = O_BASE, .arg = "URL",
     .help = "the service's root URL (default: $INSITU_HYDROCRON_URL,\n"
             "$INSITU_HYDROWEB_URL or $INSITU_THEIA_URL)"},
    {.name = "from", .code = O_FROM, .arg = "ISO",
     .help = "start of the time range (hydrocron, hydroweb; sta: of a\n"
             "first harvest)"},
    {.name = "to", .code = O_TO, .arg = "ISO",
     .help = "end of the time range (hydrocron, hydroweb, sta)"},
    {.name = "api-key", .code = O_KEY, .arg = "KEY",
     .help = "the service's key (better: $INSITU_HYDROCRON_API_KEY,\n"
             "$INSITU_HYDROWEB_API_KEY or $INSITU_THEIA_API_KEY)"},
    {.name = "ids-file", .code = O_IDS, .arg = "FILE",
     .help = "more ids, one per line (# comments)"},
    {.name = "feature", .code = O_FEATURE, .arg = "NAME",
     .help = "hydrocron: Reach (default), Node or PriorLake"},
    {.name = "fields", .code = O_FIELDS, .arg = "LIST",
     .help = "hydrocron: fields to request (default: docs/formats.md)"},
    {.name = "collection", .code = O_COLLECTION, .arg = "NAME",
     .help = "hydrocron: collection_name (default: the service's)"},
    {.name = "layer", .code = O_LAYER, .arg = "NAME",
     .help = "hydroweb: WFS feature type (default hydroweb_rivers_wse)"},
    {.name = "page-size", .code = O_PAGE, .arg = "N",
     .help = "hydroweb: features per page (default 10000); sta:\n"
             "Observations per page (default 1000)"},
    {.name = "set", .code = O_SET, .arg = "KEY=VALUE",
     .help = "a setting of the ingester (repeatable; 'insitu formats')"},
    {.name = "dry-run", .code = O_DRY, .help = "read and validate everything, write nothing"},
    {.name = "force", .code = O_FORCE,
     .help = "ingest even when the same content was ingested before"},
    {NULL}};

static void pull_help(void)
{
    printf("usage: insitu [--store URI] pull SERVICE [OPTIONS] ID...\n\n"
           "Pulls series from a remote catalogue and ingests each reach, query or dataset as\n"
           "one source named by its request URL (re-pulling unchanged data is skipped).\n\n"
           "services and their ids:\n"
           "  hydrocron   PO.DAAC Hydrocron time series; ids: SWOT reach, node or lake ids\n"
           "  hydroweb    Hydroweb.next WFS; ids: virtual-station names (R_..., L_...)\n"
           "  theia       THEIA/OZCAR dataset downloads; ids: URLs, or paths joined to\n"
           "              --base-url\n"
           "  sta         SensorThings API endpoints; ids: an endpoint (http://host/v1.1),\n"
           "              a collection of its Datastreams, or one Datastream; each\n"
           "              Datastream's Observations newer than the last harvest\n\n");
    cli_print_options(stdout, pull_options);
    printf("%s\n", cli_fetch_title);
    cli_print_options(stdout, cli_fetch_options);
}

static int ids_from_file(struct strlist *ids, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "insitu: %s: cannot read: %m\n", path);
        return EXIT_FAIL;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *t = str_trim(line);
        if (*t && *t != '#')
            strlist_add(ids, t);
    }
    fclose(f);
    return EXIT_OK;
}

struct pull_ctx {
    int quiet, failed, sources;
};

static void on_source(void *ctx, const char *source, const insitu_ingest_report *rep,
                      const insitu_error *err)
{
    struct pull_ctx *pc = ctx;
    pc->sources++;
    if (err) {
        pc->failed++;
        cli_fail(err);
    } else if (!pc->quiet) {
        cli_print_report(source, rep);
    }
}

static void on_warning(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "insitu: warning: %s\n", message);
}

/* The default of an option from the service's environment variable (INSITU_<SERVICE>_<WHAT>). */
static const char *service_env(const char *service, const char *what)
{
    char name[64];
    snprintf(name, sizeof name, "INSITU_%s_%s", service, what);
    for (char *c = name; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int cmd_pull(struct cli *cli, int argc, char **argv)
{
    static const struct cli_option *const tables[] = {pull_options, cli_fetch_options, NULL};
    insitu_pull_options po = {0};
    insitu_ingest_options io = {0};
    insitu_fetch_options fo = {0};
    struct strlist ids = {0}, settings = {0};
    int c = CLI_END, rc = EXIT_OK;
    /* the service comes first; its options follow (getopt permutes the ids after them) */
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        pull_help();
        return EXIT_OK;
    }
    if (argc < 2 || argv[1][0] == '-')
        return cli_usage("pull", "no service given (hydrocron, hydroweb or theia)");
    po.service = argv[1];
    struct cli_args a = {.cmd = "pull", .tables = tables, .argc = argc - 1, .argv = argv + 1};
    while (rc == EXIT_OK && (c = cli_getopt(&a)) > 0) {
        switch (c) {
        case O_BASE: po.base_url = a.arg; break;
        case O_FROM: po.from = a.arg; break;
        case O_TO: po.to = a.arg; break;
        case O_KEY: po.api_key = a.arg; break;
        case O_IDS: rc = ids_from_file(&ids, a.arg); break;
        case O_FEATURE: po.feature = a.arg; break;
        case O_FIELDS: po.fields = a.arg; break;
        case O_COLLECTION: po.collection = a.arg; break;
        case O_LAYER: po.layer = a.arg; break;
        case O_PAGE: {
            long n = strtol(a.arg, NULL, 10);
            if (n < 1 || n > 1000000)
                rc = cli_usage("pull", "--page-size %s: expected 1 to 1000000", a.arg);
            po.page_size = (size_t)n;
            break;
        }
        case O_SET:
            if (!strchr(a.arg, '='))
                rc = cli_usage("pull", "--set %s: expected KEY=VALUE", a.arg);
            else
                strlist_add(&settings, a.arg);
            break;
        case O_DRY: io.dry_run = 1; break;
        case O_FORCE: io.force = 1; break;
        default: rc = cli_fetch_option("pull", a.opt, a.arg, &fo);
        }
    }
    if (rc == EXIT_OK && c == CLI_HELP)
        pull_help();
    else if (rc == EXIT_OK && c == CLI_BAD)
        rc = EXIT_USAGE;
    if (rc || c == CLI_HELP)
        goto done;
    argc--;
    argv++;
    for (int i = optind; i < argc; i++)
        strlist_add(&ids, argv[i]);
    if (!po.base_url)
        po.base_url = service_env(po.service, "URL");
    if (!po.api_key)
        po.api_key = service_env(po.service, "API_KEY");
    io.settings = (const char *const *)settings.items;
    io.fetch = &fo;
    io.warning = on_warning;
    po.ids = (const char *const *)ids.items;
    po.ingest = &io;
    struct pull_ctx pc = {.quiet = cli->quiet};
    po.on_source = on_source;
    po.ctx = &pc;
    insitu_store *st;
    rc = cli_open_writable(cli, &st);
    if (rc)
        goto done;
    insitu_error err = {0};
    int prc = insitu_pull(st, &po, &err);
    insitu_store_close(st);
    if (prc == INSITU_EUSAGE && pc.sources == 0) {
        rc = cli_fail(&err);
    } else if (prc && pc.sources == 0) {
        rc = cli_fail(&err);
    } else if (pc.failed) {
        /* said even of one source: the request may have named several */
        fprintf(stderr, "insitu: %d source%s failed (of %d)\n", pc.failed,
                pc.failed > 1 ? "s" : "", pc.sources);
        rc = EXIT_FAIL;
    }
done:
    strlist_free(&ids);
    strlist_free(&settings);
    return rc;
}
