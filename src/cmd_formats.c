/*
 * cmd_formats.c: `insitu formats`: the ingesters, what each reads, and its settings.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_formats(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: insitu formats\n\n"
                   "Lists the ingesters (the --format names of 'insitu ingest'), what each reads,\n"
                   "and the settings it takes ('insitu ingest --set key=value').\n");
            return EXIT_OK;
        }
        return cli_usage("formats", "unknown option");
    }
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
