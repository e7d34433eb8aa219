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
/* Opens -o FILE (or stdout for NULL / "-"). */
FILE *cli_output(const char *path);

int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_ingest(struct cli *cli, int argc, char **argv);
int cmd_formats(struct cli *cli, int argc, char **argv);
int cmd_sources(struct cli *cli, int argc, char **argv);
int cmd_things(struct cli *cli, int argc, char **argv);
int cmd_datastreams(struct cli *cli, int argc, char **argv);
int cmd_query(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);

#endif
