/*
 * cmd_init.c: `insitu init`: create the store, or migrate it to the newest schema.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_init(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: insitu [--store URI] init\n\n"
                   "Creates the store (a SQLite + SpatiaLite file, or the schema in a PostgreSQL\n"
                   "database), or migrates an existing one to the newest schema version.\n"
                   "Running it again on a current store changes nothing.\n");
            return EXIT_OK;
        }
        return cli_usage("init", "unknown option");
    }
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
