/*
 * cmd_init.c: `insitu init`: create the store, or migrate it to the newest schema.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_init(struct cli *cli, int argc, char **argv)
{
    static const struct cli_option options[] = {{NULL}};
    static const struct cli_option *const tables[] = {options, NULL};
    struct cli_args a = {.cmd = "init", .tables = tables, .argc = argc, .argv = argv};
    int c = cli_getopt(&a);
    if (c == CLI_HELP) {
        printf("usage: insitu [--store URI] init\n\n"
               "Creates the store (a SQLite + SpatiaLite file, or the schema in a PostgreSQL\n"
               "database), or migrates an existing one to the newest schema version.\n"
               "Running it again on a current store changes nothing.\n");
        return EXIT_OK;
    }
    if (c != CLI_END)
        return EXIT_USAGE;
    if (optind < argc)
        return cli_usage("init", "unexpected argument '%s'", argv[optind]);
    insitu_store *st;
    int rc = cli_open_store(cli, INSITU_OPEN_CREATE, &st);
    if (rc)
        return rc;
    if (!cli->quiet)
        printf("store %s: %s, schema version %d\n", cli->store_uri, insitu_store_backend(st),
               insitu_store_schema_version(st));
    insitu_store_close(st);
    return EXIT_OK;
}
