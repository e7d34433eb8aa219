/*
 * cli.h: what the `insitu` command's subcommands share: global options, opening the store,
 * error reporting with the contract's exit codes (0 ok, 1 failed, 2 bad usage, 3 store busy).
 * Only the command (cli.c, cmd_*.c) prints to stderr or exits.
 */
#ifndef INSITU_CLI_H
#define INSITU_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "export.h"
#include "insitu.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_BUSY = 3 };

struct cli {
    const char *store_uri;
    int quiet;
};

/* A subcommand: argv[0] is the command name. */
struct command {
    const char *name;
    const char *summary;
    int (*run)(struct cli *cli, int argc, char **argv);
};

/* Prints "insitu: <message>" and returns the exit code for err's code. */
int cli_fail(const insitu_error *err);
/* Prints a usage error for command cmd and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the store (flags as insitu_store_open); prints the error on failure. */
int cli_open_store(struct cli *cli, unsigned flags, insitu_store **out);
/* Opens the store for a command that writes, creating it when it does not exist: that is
 * then said on stderr, even with -q (a mistyped --store is seen at once). */
int cli_open_writable(struct cli *cli, insitu_store **out);
/* Parses W,S,E,N; 0 or -1. */
int cli_parse_bbox(const char *text, double bbox[4]);
/* For a command that writes what it reads: opens the store read-only and -o FILE (stdout
 * for NULL / "-"). EXIT_OK, or the exit status after saying what failed. */
int cli_open_reading(struct cli *cli, const char *output, insitu_store **st, FILE **out);
/* Closes what cli_open_reading opened; a failure to write the file becomes the error when
 * rc (the command's result) is 0. Returns rc or that error. */
int cli_close_reading(insitu_store *st, FILE *out, const char *output, int rc,
                      insitu_error *err);

/* ---- options ----
 * Each command describes its options in one table (ended by an entry without a name). The
 * table generates the getopt parser (cli_getopt), the option lines of --help
 * (cli_print_options) and the suggestions for a mistyped option; --help itself is implied. */
struct cli_option {
    const char *name;           /* the long name, without "--" */
    char letter;                /* the short option (-o), or 0 */
    int code;                   /* what cli_getopt returns for it: > 0, unique in a command */
    const char *arg;            /* the value's placeholder in --help ("NAME"); NULL: no value
                                   (unless choices) */
    const char *help;           /* the --help text; "\n" starts a continuation line */
    const char *const *choices; /* the values it takes (NULL-terminated, any case), or NULL;
                                   --help shows them as the placeholder (csv|json) */
    const char *setting;        /* the ingester setting its value becomes, or NULL (an option
                                   without value sets it to "yes") */
};

enum { CLI_MAX_OPTIONS = 48 };
enum { CLI_END = -1, CLI_HELP = -2, CLI_BAD = -3 };

/* The parse of one command line by its tables: zero-initialise, set the first fields. */
struct cli_args {
    const char *cmd;                        /* for messages; NULL: insitu's own options */
    const struct cli_option *const *tables; /* NULL-terminated: the command's, then shared */
    int argc;
    char **argv;
    int in_order;                           /* stop at the first operand (a command name) */
    /* what the last cli_getopt found */
    const struct cli_option *opt;
    char *arg;                              /* its value, or NULL */
    int choice;                             /* the index of the value among opt->choices */
    /* getopt_long's view of the tables, built on the first call */
    int built;
    struct option longopts[CLI_MAX_OPTIONS + 2];
    char shortopts[2 * CLI_MAX_OPTIONS + 8];
};

/* The next option of the command line (getopt_long underneath: optind is then the first
 * operand): its table entry's code, with a->opt, a->arg and a->choice; CLI_END after the
 * last; CLI_HELP for -h / --help; CLI_BAD after printing one line about the mistake (an
 * unknown option with the nearest known one, an ambiguous abbreviation with its candidates,
 * a missing or unexpected value, a value not among the choices): the command then returns
 * EXIT_USAGE. */
int cli_getopt(struct cli_args *a);
/* Prints a table's option lines for --help: "  -o, --output FILE  help", aligned. */
void cli_print_options(FILE *out, const struct cli_option *table);
/* The entry of table that sets `setting`, or NULL. */
const struct cli_option *cli_option_of_setting(const struct cli_option *table,
                                               const char *setting);

/* The download options shared by ingest and pull (cli_fetch.c), with codes from
 * CLI_FETCH_BASE; cli_fetch_option() parses one into fo: EXIT_OK or EXIT_USAGE. */
enum {
    CLI_FETCH_BASE = 4096,
    CLI_FETCH_CACHE_DIR = CLI_FETCH_BASE, CLI_FETCH_TIMEOUT, CLI_FETCH_CONNECT_TIMEOUT,
    CLI_FETCH_RETRIES, CLI_FETCH_RETRY_DELAY, CLI_FETCH_MAX_SIZE, CLI_FETCH_MAX_REDIRECTS,
    CLI_FETCH_REFRESH, CLI_FETCH_END
};
extern const struct cli_option cli_fetch_options[];
/* The title of the download options in --help. */
extern const char cli_fetch_title[];
int cli_fetch_option(const char *cmd, const struct cli_option *opt, const char *arg,
                     insitu_fetch_options *fo);
/* Prints the one-line summary of an ingest (cmd_ingest.c). */
void cli_print_report(const char *source, const insitu_ingest_report *r);

int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_ingest(struct cli *cli, int argc, char **argv);
int cmd_formats(struct cli *cli, int argc, char **argv);
int cmd_sources(struct cli *cli, int argc, char **argv);
int cmd_things(struct cli *cli, int argc, char **argv);
int cmd_datastreams(struct cli *cli, int argc, char **argv);
int cmd_query(struct cli *cli, int argc, char **argv);
int cmd_sample(struct cli *cli, int argc, char **argv);
int cmd_matchup(struct cli *cli, int argc, char **argv);
int cmd_pull(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);

#endif
