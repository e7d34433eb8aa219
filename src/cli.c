/*
 * cli.c: `insitu [--store URI] COMMAND [OPTIONS]`: global options, dispatch to the
 * subcommands (one file each, git-style), shared helpers. The only place that exits.
 */
#include "cli.h"

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
    {"backup", "copy a SQLite store while it is served and written", cmd_backup},
};

int cli_fail(const insitu_error *err)
{
    fprintf(stderr, "insitu: %s\n", err->message[0] ? err->message : insitu_strerror(err->code));
    return err->code == INSITU_EUSAGE ? EXIT_USAGE : err->code == INSITU_EBUSY ? EXIT_BUSY : EXIT_FAIL;
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

int cli_open_writable(struct cli *cli, insitu_store **out)
{
    int rc = cli_open_store(cli, INSITU_OPEN_CREATE, out);
    if (rc || !insitu_store_created(*out))
        return rc;
    /* a file is a new store; a database that had no insitu tables has them now */
    if (strcmp(insitu_store_backend(*out), "sqlite") == 0)
        fprintf(stderr, "insitu: %s: no store there, created a new one (schema version %d)\n",
                cli->store_uri, insitu_store_schema_version(*out));
    else
        fprintf(stderr, "insitu: %s: no insitu tables there, created them (schema version %d)\n",
                cli->store_uri, insitu_store_schema_version(*out));
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

/* ---- options: one table per command makes the parser, --help and the suggestions ---- */

/* getopt_long's value for the i-th entry of the tables, and for --help */
enum { VAL_ENTRY = 0x10000, VAL_HELP = 0x20000 };

static int takes_value(const struct cli_option *o) { return o->arg || o->choices; }

/* The i-th entry over all the tables, or NULL. */
static const struct cli_option *entry_at(const struct cli_args *a, int i)
{
    for (size_t t = 0; a->tables[t]; t++)
        for (const struct cli_option *o = a->tables[t]; o->name; o++)
            if (i-- == 0)
                return o;
    return NULL;
}

static const struct cli_option *entry_of_letter(const struct cli_args *a, int letter)
{
    const struct cli_option *o;
    for (int i = 0; (o = entry_at(a, i)) != NULL; i++)
        if (o->letter && o->letter == letter)
            return o;
    return NULL;
}

/* Builds getopt_long's arrays from the tables. */
static int build_getopt(struct cli_args *a)
{
    char *s = a->shortopts;
    if (a->in_order)
        *s++ = '+';
    *s++ = ':'; /* a missing value returns ':', not '?' */
    *s++ = 'h';
    const struct cli_option *o;
    int n = 0;
    for (; (o = entry_at(a, n)) != NULL; n++) {
        if (n == CLI_MAX_OPTIONS)
            return cli_usage(a->cmd, "more than %d options: raise CLI_MAX_OPTIONS",
                             CLI_MAX_OPTIONS);
        a->longopts[n] = (struct option){o->name, takes_value(o) ? required_argument : no_argument,
                                         NULL, VAL_ENTRY + n};
        if (o->letter) {
            *s++ = o->letter;
            if (takes_value(o))
                *s++ = ':';
        }
    }
    *s = '\0';
    a->longopts[n++] = (struct option){"help", no_argument, NULL, VAL_HELP};
    a->longopts[n] = (struct option){NULL, 0, NULL, 0};
    a->built = 1;
    return EXIT_OK;
}

/* "a, b, c or d", each word between pre and post. */
static void join_words(struct strbuf *sb, const char *const *words, size_t n, const char *pre,
                       const char *post, const char *last_sep)
{
    for (size_t i = 0; i < n; i++)
        sb_printf(sb, "%s%s%s%s", i == 0 ? "" : i + 1 == n ? last_sep : ", ", pre, words[i],
                  post);
}

/* An unknown or ambiguous --name[=value], or a value given to an option without one, or
 * missing: says which, and returns CLI_BAD; EXIT_OK when token has none of these mistakes. */
static int long_mistake(struct cli_args *a, const char *token, int missing_value)
{
    const char *name = token + 2;
    size_t len = strcspn(name, "=");
    const char *names[CLI_MAX_OPTIONS + 1];
    size_t n = 0, n_prefix = 0;
    const struct cli_option *o, *found = NULL;
    for (int i = 0; (o = entry_at(a, i)) != NULL && n < CLI_MAX_OPTIONS; i++)
        names[n++] = o->name;
    names[n++] = "help";
    const char *prefixed[CLI_MAX_OPTIONS + 1];
    for (size_t i = 0; i < n; i++) {
        if (strncmp(names[i], name, len) != 0)
            continue;
        if (names[i][len] == '\0') { /* exact: it is this one, whatever else it prefixes */
            n_prefix = 1;
            prefixed[0] = names[i];
            break;
        }
        prefixed[n_prefix++] = names[i];
    }
    struct strbuf msg = {0};
    if (n_prefix == 0) {
        char *word = xstrndup(name, len);
        int near = word ? str_nearest(word, names, n) : -1;
        free(word);
        sb_printf(&msg, "unknown option '--%.*s'", (int)len, name);
        if (near >= 0)
            sb_printf(&msg, " (did you mean '--%s'?)", names[near]);
    } else if (n_prefix > 1) {
        sb_printf(&msg, "ambiguous option '--%.*s' (could be ", (int)len, name);
        join_words(&msg, prefixed, n_prefix, "--", "", " or ");
        sb_puts(&msg, ")");
    } else {
        for (int i = 0; (o = entry_at(a, i)) != NULL; i++)
            if (o->name == prefixed[0])
                found = o;
        int value = found && takes_value(found);
        if (name[len] == '=' && !value)
            sb_printf(&msg, "--%s: takes no value (got '%s')", prefixed[0], name + len + 1);
        else if (name[len] != '=' && value && missing_value)
            sb_printf(&msg, "--%s: needs a value", prefixed[0]);
    }
    if (!msg.len)
        return EXIT_OK;
    cli_usage(a->cmd, "%s", sb_str(&msg));
    sb_free(&msg);
    return CLI_BAD;
}

/* getopt_long said '?' or ':' (opterr is 0: it printed nothing): one line on what is wrong. */
static int mistake(struct cli_args *a, int c)
{
    /* a long option's token is the argument getopt just passed */
    const char *token = optind >= 1 && optind <= a->argc ? a->argv[optind - 1] : "";
    if (strncmp(token, "--", 2) == 0 && token[2] && long_mistake(a, token, c == ':'))
        return CLI_BAD;
    const struct cli_option *o = entry_of_letter(a, optopt);
    if (c == ':' && o)
        return cli_usage(a->cmd, "-%c (--%s): needs a value", optopt, o->name), CLI_BAD;
    if (optopt > 32 && optopt < 127)
        return cli_usage(a->cmd, "unknown option '-%c'", optopt), CLI_BAD;
    return cli_usage(a->cmd, "unknown option '%s'", token), CLI_BAD;
}

/* The value of an option with choices: its index, or CLI_BAD after saying what it takes. */
static int check_choice(struct cli_args *a)
{
    size_t n = 0;
    for (; a->opt->choices[n]; n++)
        if (str_ieq(a->arg, a->opt->choices[n]))
            return a->choice = (int)n;
    struct strbuf msg = {0};
    join_words(&msg, a->opt->choices, n, "", "", " or ");
    cli_usage(a->cmd, "--%s %s: expected %s", a->opt->name, a->arg, sb_str(&msg));
    sb_free(&msg);
    return CLI_BAD;
}

int cli_getopt(struct cli_args *a)
{
    if (!a->built && build_getopt(a))
        return CLI_BAD;
    opterr = 0;
    a->opt = NULL;
    a->arg = NULL;
    a->choice = -1;
    int c = getopt_long(a->argc, a->argv, a->shortopts, a->longopts, NULL);
    if (c == -1)
        return CLI_END;
    if (c == 'h' || c == VAL_HELP)
        return CLI_HELP;
    if (c == '?' || c == ':')
        return mistake(a, c);
    a->opt = c >= VAL_ENTRY ? entry_at(a, c - VAL_ENTRY) : entry_of_letter(a, c);
    a->arg = optarg;
    if (a->opt->choices && check_choice(a) == CLI_BAD)
        return CLI_BAD;
    return a->opt->code;
}

const struct cli_option *cli_option_of_setting(const struct cli_option *table,
                                               const char *setting)
{
    for (const struct cli_option *o = table; o->name; o++)
        if (o->setting && strcmp(o->setting, setting) == 0)
            return o;
    return NULL;
}

/* "-o, --output FILE" or "--format csv|json". */
static void option_spec(const struct cli_option *o, struct strbuf *sb)
{
    sb_reset(sb);
    if (o->letter)
        sb_printf(sb, "-%c, ", o->letter);
    sb_printf(sb, "--%s", o->name);
    if (o->arg) {
        sb_printf(sb, " %s", o->arg);
    } else if (o->choices) {
        for (size_t i = 0; o->choices[i]; i++)
            sb_printf(sb, "%c%s", i ? '|' : ' ', o->choices[i]);
    }
}

void cli_print_options(FILE *out, const struct cli_option *table)
{
    enum { MAX_WIDTH = 24 }; /* longer specs put their help on the next line */
    struct strbuf spec = {0};
    int width = 0;
    for (const struct cli_option *o = table; o->name; o++) {
        option_spec(o, &spec);
        if ((int)spec.len > width && spec.len <= MAX_WIDTH)
            width = (int)spec.len;
    }
    for (const struct cli_option *o = table; o->name; o++) {
        option_spec(o, &spec);
        if ((int)spec.len > width)
            fprintf(out, "  %s\n  %-*s  ", sb_str(&spec), width, "");
        else
            fprintf(out, "  %-*s  ", width, sb_str(&spec));
        for (const char *h = o->help; *h;) {
            size_t line = strcspn(h, "\n");
            fprintf(out, "%.*s\n", (int)line, h);
            h += line;
            if (*h == '\n' && *++h)
                fprintf(out, "  %-*s  ", width, "");
        }
    }
    sb_free(&spec);
}

enum { G_STORE = 1, G_QUIET, G_VERSION };
static const struct cli_option global_options[] = {
    {.name = "store", .letter = 's', .code = G_STORE, .arg = "URI",
     .help = "a file path or sqlite:PATH, or postgresql://...\n"
             "(default: $INSITU_STORE, else ./insitu.db)"},
    {.name = "quiet", .letter = 'q', .code = G_QUIET, .help = "print only results and errors"},
    {.name = "version", .code = G_VERSION, .help = "print the version"},
    {NULL}};

static void main_help(FILE *out)
{
    fprintf(out,
            "usage: insitu [--store URI] COMMAND [OPTIONS]\n\n"
            "A spatial time-series store for in-situ and satellite hydrology observations\n"
            "(OGC SensorThings model on SQLite + SpatiaLite or PostgreSQL + PostGIS).\n\n");
    cli_print_options(out, global_options);
    fprintf(out, "\ncommands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(out, "  %-12s  %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'insitu COMMAND --help' describes a command. Exit status: 0 success, 1 bad "
                 "input or failed operation, 2 bad usage, 3 store busy.\n");
}

static int run_command(const struct command *cmd, struct cli *cli, int argc, char **argv)
{
    /* GDAL drivers are registered by the code that needs them (gdal_drivers()): the
     * registry alone costs ~9 MiB of RSS that a CSV ingest has no use for */
    CPLSetConfigOption("CPL_LOG", "/dev/null"); /* GDAL's messages come back as errors */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    optind = 0; /* reset getopt for the command */
    int rc = cmd->run(cli, argc, argv);
    CPLPopErrorHandler();
    GDALDestroyDriverManager();
    spatialite_shutdown();
    xmlCleanupParser();
    return rc;
}

int main(int argc, char **argv)
{
    struct cli cli = {0};
    cli.store_uri = getenv("INSITU_STORE");
    if (!cli.store_uri || !*cli.store_uri)
        cli.store_uri = "insitu.db";
    /* in order: stop at the command name; its options are its own */
    static const struct cli_option *const tables[] = {global_options, NULL};
    struct cli_args a = {.tables = tables, .argc = argc, .argv = argv, .in_order = 1};
    int c;
    while ((c = cli_getopt(&a)) > 0) {
        switch (c) {
        case G_STORE: cli.store_uri = a.arg; break;
        case G_QUIET: cli.quiet = 1; break;
        case G_VERSION: printf("insitu %s\n", PACKAGE_VERSION); return EXIT_OK;
        }
    }
    if (c == CLI_HELP) {
        main_help(stdout);
        return EXIT_OK;
    }
    if (c == CLI_BAD)
        return EXIT_USAGE;
    if (optind >= argc) {
        main_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    const char *names[ARRAY_LEN(commands)];
    for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        if (strcmp(name, commands[i].name) == 0)
            return run_command(&commands[i], &cli, argc - optind, argv + optind);
        names[i] = commands[i].name;
    }
    int near = str_nearest(name, names, ARRAY_LEN(names));
    if (near >= 0)
        return cli_usage(NULL, "'%s' is not a command (did you mean '%s'?)", name, names[near]);
    return cli_usage(NULL, "'%s' is not a command", name);
}
