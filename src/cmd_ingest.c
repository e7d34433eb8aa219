/*
 * cmd_ingest.c: `insitu ingest SOURCE...`: each source (a file, a package folder or zip,
 * or each file of a plain folder) is ingested atomically; a failure is reported and the
 * next source goes on. Sources are committed in groups (--commit-every): a source's line is
 * printed once its group is durable. Shows progress on a terminal, silent otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fetch.h"
#include "mqtt.h"
#include "util.h"

enum { O_FORMAT = 1, O_SET, O_MAPPING, O_DRY, O_FORCE, O_LENIENT, O_BATCH, O_COMMIT, O_CSV,
       O_MQTT };

static const struct cli_option ingest_options[] = {
    {.name = "format", .code = O_FORMAT, .arg = "NAME",
     .help = "ingester to use (csv, theia-pivot, ...)"},
    {.name = "set", .code = O_SET, .arg = "KEY=VALUE",
     .help = "an ingester setting (repeatable; see 'insitu formats')"},
    {.name = "mapping", .code = O_MAPPING, .arg = "FILE",
     .help = "settings from a file: one 'key = value' per line, # comments"},
    {.name = "dry-run", .code = O_DRY, .help = "read and validate everything, write nothing"},
    {.name = "force", .code = O_FORCE,
     .help = "ingest even when the same content was ingested before"},
    {.name = "lenient", .code = O_LENIENT,
     .help = "skip invalid parts with a warning instead of failing"},
    {.name = "batch", .code = O_BATCH, .arg = "N",
     .help = "observations per write batch (default 20000)"},
    {.name = "commit-every", .code = O_COMMIT, .arg = "S",
     .help = "commit the sources ingested in S seconds together (default 5;\n"
             "0: each on its own). Each source stays atomic; a source's\n"
             "line is printed when its group is committed"},
    {.name = "mqtt", .code = O_MQTT, .arg = "URL",
     .help = "publish the Observations written to the MQTT broker at\n"
             "URL (mqtt://HOST:PORT) once committed (QoS 0; see\n"
             "docs/sta.md, MQTT)"},
    {NULL}};

/* Shorthands for the csv ingester's settings of the same names. */
static const struct cli_option csv_options[] = {
    {.name = "sep", .code = O_CSV, .arg = "C",
     .help = "field separator: , ; tab | (default: guessed)", .setting = "sep"},
    {.name = "decimal", .code = O_CSV, .arg = "C", .help = "decimal mark: . or , (default .)",
     .setting = "decimal"},
    {.name = "tz", .code = O_CSV, .arg = "ZONE",
     .help = "time zone of times without an offset (default UTC)", .setting = "tz"},
    {.name = "time-format", .code = O_CSV, .arg = "PATTERN",
     .help = "strftime-like pattern of times (default ISO 8601)", .setting = "time_format"},
    {.name = "thing", .code = O_CSV, .arg = "CODE",
     .help = "station code when there is no thing column", .setting = "thing"},
    {.name = "property", .code = O_CSV, .arg = "NAME",
     .help = "observed property when there is no property column", .setting = "property"},
    {.name = "unit", .code = O_CSV, .arg = "UNIT", .help = "unit of the values", .setting = "unit"},
    {.name = "lat", .code = O_CSV, .arg = "DEG",
     .help = "station latitude when there is no latitude column", .setting = "lat"},
    {.name = "lon", .code = O_CSV, .arg = "DEG",
     .help = "station longitude when there is no longitude column", .setting = "lon"},
    {.name = "namespace", .code = O_CSV, .arg = "NS",
     .help = "namespace of station codes (default: csv)", .setting = "namespace"},
    {NULL}};

static void ingest_help(void)
{
    printf("usage: insitu [--store URI] ingest [OPTIONS] SOURCE...\n\n"
           "Ingests files, folders, .zip archives and URLs. The format is probed unless --format\n"
           "names it ('insitu formats' lists them). Each source is atomic: a bad source\n"
           "changes nothing, and the error names the file, line and field. A source\n"
           "whose content was ingested before is skipped; a changed one replaces its old\n"
           "version. A folder that is not itself a package is ingested file by file.\n\n");
    cli_print_options(stdout, ingest_options);
    printf("shorthands for common CSV settings (see 'insitu formats'):\n");
    cli_print_options(stdout, csv_options);
    printf("An http(s) URL is downloaded to the cache, then ingested as a source named by\n"
           "the URL: an unchanged document is skipped, a changed one replaces its old version.\n"
           "%s\n",
           cli_fetch_title);
    cli_print_options(stdout, cli_fetch_options);
}

static void mqtt_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "insitu: %s\n", line);
}

static int settings_from_file(struct strlist *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "insitu: %s: cannot read: %m\n", path);
        return EXIT_FAIL;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *t = str_trim(line);
        if (!*t || *t == '#')
            continue;
        char *eq = strchr(t, '=');
        if (!eq) {
            fprintf(stderr, "insitu: %s:%d: expected 'key = value'\n", path, lineno);
            fclose(f);
            return EXIT_USAGE;
        }
        *eq = '\0';
        strlist_addkv(s, str_trim(t), str_trim(eq + 1));
    }
    fclose(f);
    return EXIT_OK;
}

static void on_progress(void *ctx, const char *source, uint64_t rows, double seconds)
{
    (void)ctx;
    fprintf(stderr, "\r  %s: %llu rows, %.0f rows/s   ", source, (unsigned long long)rows,
            seconds > 0 ? (double)rows / seconds : 0.0);
    fflush(stderr);
}

static void on_warning(void *ctx, const char *message)
{
    int *tty = ctx;
    fprintf(stderr, "%sinsitu: warning: %s\n", *tty ? "\r" : "", message);
}

void cli_print_report(const char *source, const insitu_ingest_report *r)
{
    if (strcmp(r->status, "skipped") == 0 || strcmp(r->status, "empty") == 0) {
        printf("%s %s (%s): %s\n", r->status, source, r->ingester, r->message);
        return;
    }
    printf("%s %s (%s): %llu things, %llu datastreams, %llu observations (%llu inserted, %llu "
           "updated, %llu deleted, %llu null) in %.2f s",
           strcmp(r->status, "validated") == 0 ? "validated" : "ingested", source, r->ingester,
           (unsigned long long)r->things, (unsigned long long)r->datastreams,
           (unsigned long long)r->observations, (unsigned long long)r->inserted,
           (unsigned long long)r->updated, (unsigned long long)r->deleted,
           (unsigned long long)r->nulls, r->seconds);
    if (r->run_id)
        printf(", run %lld", (long long)r->run_id);
    if (r->message[0])
        printf(", %s", r->message);
    if (r->warnings)
        printf(", %llu warning%s", (unsigned long long)r->warnings, r->warnings > 1 ? "s" : "");
    printf("\n");
}

/* The sources ingested since the group transaction began: their lines wait for its commit. */
struct group {
    insitu_store *st;
    struct mqtt *mqtt; /* told of each source's run once it is durable (NULL: no --mqtt) */
    double every, started; /* seconds; every 0: no groups */
    int open, unsupported;
    struct done {
        char *source;
        insitu_ingest_report rep;
    } *done;
    size_t n, cap;
    int busy; /* sources lost because the store was busy (exit 3 when no other failed) */
};

/* A source's ingest is committed: its line, and its Observations to the broker. */
static void durable(struct group *g, struct cli *cli, const char *source,
                    const insitu_ingest_report *rep)
{
    if (!cli->quiet)
        cli_print_report(source, rep);
    if (g->mqtt && strcmp(rep->status, "complete") == 0)
        mqtt_run_written(g->mqtt, rep->run_id);
}

static void group_begin(struct group *g)
{
    insitu_error err = {0};
    g->open = insitu_ingest_group_begin(g->st, &err) == 1;
    g->started = now_seconds();
}

/* Commits the group and prints its sources' lines (or, when the commit failed, why they
 * were not kept); returns the number of sources lost. */
static int group_commit(struct group *g, struct cli *cli)
{
    insitu_error err = {0};
    int rc = g->open ? insitu_ingest_group_commit(g->st, &err) : 0;
    g->open = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (rc)
            fprintf(stderr, "insitu: %s: not kept: %s\n", g->done[i].source, err.message);
        else
            durable(g, cli, g->done[i].source, &g->done[i].rep);
        free(g->done[i].source);
    }
    fflush(stdout);
    int lost = rc ? (int)g->n : 0;
    if (rc == INSITU_EBUSY)
        g->busy += lost;
    g->n = 0;
    return lost;
}

static void group_add(struct group *g, struct cli *cli, const char *source,
                      const insitu_ingest_report *rep)
{
    if (!g->open) {
        durable(g, cli, source, rep);
        return;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        struct done *p = realloc(g->done, cap * sizeof *p);
        if (!p) {
            durable(g, cli, source, rep);
            return;
        }
        g->done = p;
        g->cap = cap;
    }
    g->done[g->n].source = xstrdup(source);
    g->done[g->n++].rep = *rep;
}

/* Ingests every source an argument expands to; returns the number that failed. */
static int ingest_argument(struct group *g, struct cli *cli, const char *arg, int last_arg,
                           const insitu_ingest_options *opts, int tty, int *usage,
                           int *sources)
{
    insitu_error err = {0};
    char **list;
    size_t n;
    if (insitu_ingest_expand(arg, opts->format, &list, &n, &err)) {
        *usage |= cli_fail(&err) == EXIT_USAGE;
        return 1;
    }
    int failed = 0;
    *sources += (int)n;
    for (size_t i = 0; i < n; i++) {
        /* a download is not done while the group holds the store's write lock */
        int url = fetch_is_url(list[i]);
        if (url)
            failed += group_commit(g, cli);
        /* a group for one source would only add its savepoint */
        if (!g->open && g->every > 0 && !g->unsupported && !url && !(last_arg && i + 1 == n)) {
            group_begin(g);
            g->unsupported = !g->open; /* PostgreSQL: each source commits on its own */
        }
        insitu_ingest_report rep;
        memset(&err, 0, sizeof err);
        insitu_ingest_options o = *opts;
        o.next_source = i + 1 < n ? list[i + 1] : NULL;
        int rc = insitu_ingest(g->st, list[i], &o, &rep, &err);
        if (tty)
            fprintf(stderr, "\r%*s\r", 70, "");
        if (rc) {
            cli_fail(&err);
            failed++;
            g->busy += rc == INSITU_EBUSY;
            /* after a failure the group is committed at once: an error that undid more
             * than its source (a full disk) is then told about the sources before it */
            failed += group_commit(g, cli);
            if (rc == INSITU_EUSAGE) {
                *usage = 1; /* the same mistake would repeat for every file */
                break;
            }
            continue;
        }
        group_add(g, cli, list[i], &rep);
        if (g->open && now_seconds() - g->started >= g->every)
            failed += group_commit(g, cli);
    }
    insitu_ingest_expand_free(list, n);
    return failed;
}

int cmd_ingest(struct cli *cli, int argc, char **argv)
{
    static const struct cli_option *const tables[] = {ingest_options, csv_options,
                                                      cli_fetch_options, NULL};
    struct cli_args a = {.cmd = "ingest", .tables = tables, .argc = argc, .argv = argv};
    insitu_ingest_options o = {0};
    insitu_fetch_options fo = {0};
    o.fetch = &fo;
    struct strlist set = {0};
    struct group group = {.every = 5};
    const char *mqtt_url = NULL;
    int c = CLI_END, rc = EXIT_OK;
    while (rc == EXIT_OK && (c = cli_getopt(&a)) > 0) {
        switch (c) {
        case O_FORMAT: o.format = a.arg; break;
        case O_SET:
            if (!strchr(a.arg, '='))
                rc = cli_usage("ingest", "--set %s: expected KEY=VALUE", a.arg);
            else
                strlist_add(&set, a.arg);
            break;
        case O_MAPPING: rc = settings_from_file(&set, a.arg); break;
        case O_DRY: o.dry_run = 1; break;
        case O_FORCE: o.force = 1; break;
        case O_LENIENT: o.lenient = 1; break;
        case O_BATCH: {
            long n = strtol(a.arg, NULL, 10);
            if (n < 1 || n > 10000000)
                rc = cli_usage("ingest", "--batch %s: expected 1 to 10000000", a.arg);
            o.batch_rows = (size_t)n;
            break;
        }
        case O_COMMIT: {
            char *end;
            group.every = strtod(a.arg, &end);
            if (*end || end == a.arg || !(group.every >= 0 && group.every <= 86400))
                rc = cli_usage("ingest", "--commit-every %s: expected 0 to 86400 seconds", a.arg);
            break;
        }
        case O_CSV: strlist_addkv(&set, a.opt->setting, a.arg); break;
        case O_MQTT:
            if (strncmp(a.arg, "mqtt://", 7))
                rc = cli_usage("ingest", "--mqtt %s: expected mqtt://HOST:PORT", a.arg);
            mqtt_url = a.arg;
            break;
        default: rc = cli_fetch_option("ingest", a.opt, a.arg, &fo);
        }
    }
    if (rc == EXIT_OK && c == CLI_HELP)
        ingest_help();
    else if (rc == EXIT_OK && c == CLI_BAD)
        rc = EXIT_USAGE;
    if (rc || c == CLI_HELP)
        goto done;
    if (optind >= argc) {
        rc = cli_usage("ingest", "no source given");
        goto done;
    }
    insitu_store *st;
    rc = cli_open_writable(cli, &st);
    if (rc)
        goto done;
    if (mqtt_url && !o.dry_run) {
        insitu_error err = {0};
        struct mqtt_config mc = {.url = mqtt_url, .store_uri = cli->store_uri,
                                 .client_id = "insitu-ingest",
                                 .user = getenv("INSITU_MQTT_USER"),
                                 .password = getenv("INSITU_MQTT_PASSWORD"),
                                 .log = mqtt_log};
        if (mqtt_start(&mc, &group.mqtt, &err) || mqtt_begin(group.mqtt, NULL, &err)) {
            mqtt_stop(group.mqtt, 0, NULL, NULL);
            insitu_store_close(st);
            rc = cli_fail(&err);
            goto done;
        }
    }
    int tty = isatty(2);
    o.settings = (const char *const *)set.items;
    o.progress = tty ? on_progress : NULL;
    o.warning = on_warning;
    o.ctx = &tty;
    int failed = 0, total = 0, usage = 0;
    group.st = st;
    if (o.dry_run)
        group.every = 0; /* a dry run writes nothing: nothing to group */
    for (int i = optind; i < argc && !usage; i++)
        failed += ingest_argument(&group, cli, argv[i], i + 1 == argc, &o, tty, &usage, &total);
    failed += group_commit(&group, cli);
    free(group.done);
    if (group.mqtt) {
        /* what is queued is sent before the process ends (QoS 0: the broker's own pace) */
        uint64_t published = 0, dropped = 0;
        mqtt_stop(group.mqtt, 3600, &published, &dropped);
        if (dropped)
            fprintf(stderr, "insitu: mqtt: %llu messages published to %s, %llu dropped (the "
                            "broker was not there or did not keep up)\n",
                    (unsigned long long)published, mqtt_url, (unsigned long long)dropped);
        else if (!cli->quiet)
            fprintf(stderr, "insitu: mqtt: %llu messages published to %s\n",
                    (unsigned long long)published, mqtt_url);
    }
    insitu_store_close(st);
    if (failed && total > 1)
        fprintf(stderr, "insitu: %d source%s failed (of %d)\n", failed, failed > 1 ? "s" : "",
                total);
    rc = usage    ? EXIT_USAGE
         : !failed ? EXIT_OK
         : failed == group.busy ? EXIT_BUSY
                                : EXIT_FAIL;
done:
    strlist_free(&set);
    return rc;
}
