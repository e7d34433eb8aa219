/*
 * cli.h: what the `insitu` command's subcommands share: global options, opening the store,
 * error reporting with the contract's exit codes (0 ok, 1 failed, 2 bad usage).
 * Only the command (cli.c, cmd_*.c) prints to stderr or exits.
 */
#ifndef INSITU_CLI_H
#define INSITU_CLI_H

#include <stdio.h>

#include "export.h"
#include "insitu.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

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
/* Parses W,S,E,N; 0 or -1. */
int cli_parse_bbox(const char *text, double bbox[4]);
/* Parses an output format among those allowed (a NULL-terminated list). */
int cli_parse_format(const char *cmd, const char *text, const char *const *allowed, int *out);
/* For a command that writes what it reads: opens the store read-only and -o FILE (stdout
 * for NULL / "-"). EXIT_OK, or the exit status after saying what failed. */
int cli_open_reading(struct cli *cli, const char *output, insitu_store **st, FILE **out);
/* Closes what cli_open_reading opened; a failure to write the file becomes the error when
 * rc (the command's result) is 0. Returns rc or that error. */
int cli_close_reading(insitu_store *st, FILE *out, const char *output, int rc,
                      insitu_error *err);

/* The download options shared by ingest and pull (cli_fetch.c): getopt entries whose values
 * are base + CLI_FETCH_*, parsed into fo by cli_fetch_option(); EXIT_OK or EXIT_USAGE. */
enum {
    CLI_FETCH_CACHE_DIR, CLI_FETCH_TIMEOUT, CLI_FETCH_CONNECT_TIMEOUT, CLI_FETCH_RETRIES,
    CLI_FETCH_RETRY_DELAY, CLI_FETCH_MAX_SIZE, CLI_FETCH_MAX_REDIRECTS, CLI_FETCH_REFRESH,
    CLI_FETCH_N
};
#define CLI_FETCH_OPTIONS(base)                                                               \
    {"cache-dir", required_argument, NULL, (base) + CLI_FETCH_CACHE_DIR},                     \
        {"timeout", required_argument, NULL, (base) + CLI_FETCH_TIMEOUT},                     \
        {"connect-timeout", required_argument, NULL, (base) + CLI_FETCH_CONNECT_TIMEOUT},     \
        {"retries", required_argument, NULL, (base) + CLI_FETCH_RETRIES},                     \
        {"retry-delay", required_argument, NULL, (base) + CLI_FETCH_RETRY_DELAY},             \
        {"max-size", required_argument, NULL, (base) + CLI_FETCH_MAX_SIZE},                   \
        {"max-redirects", required_argument, NULL, (base) + CLI_FETCH_MAX_REDIRECTS},         \
        {"refresh", no_argument, NULL, (base) + CLI_FETCH_REFRESH}
/* Prints the one-line summary of an ingest (cmd_ingest.c). */
void cli_print_report(const char *source, const insitu_ingest_report *r);
int cli_fetch_option(const char *cmd, int which, const char *arg, insitu_fetch_options *fo);
extern const char cli_fetch_help[];

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

#endif
