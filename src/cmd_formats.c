/*
 * cmd_formats.c: `insitu formats`: the ingesters, what each reads, and its settings.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_formats(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    static const struct cli_option options[] = {{NULL}};
    static const struct cli_option *const tables[] = {options, NULL};
    struct cli_args a = {.cmd = "formats", .tables = tables, .argc = argc, .argv = argv};
    int c = cli_getopt(&a);
    if (c == CLI_HELP) {
        printf("usage: insitu formats\n\n"
               "Lists the ingesters (the --format names of 'insitu ingest'), what each reads,\n"
               "and the settings it takes ('insitu ingest --set key=value').\n");
        return EXIT_OK;
    }
    if (c != CLI_END)
        return EXIT_USAGE;
    for (size_t i = 0; insitu_ingester_name(i); i++) {
        printf("%s\n    %s\n", insitu_ingester_name(i), insitu_ingester_description(i));
        const char *s;
        for (size_t k = 0; (s = insitu_ingester_setting(i, k)) != NULL; k++) {
            const char *tab = strchr(s, '\t');
            printf("      %-16.*s %s\n", (int)(tab - s), s, tab + 1);
        }
    }
    return EXIT_OK;
}
