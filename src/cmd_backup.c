/*
 * cmd_backup.c: `insitu backup [--force] DEST`: a consistent copy of a SQLite store while it
 * is served and written. The copy is made beside DEST and renamed to it once complete: DEST
 * is never a half-written copy, and --force never loses the old backup to a failed one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

enum { O_FORCE = 1 };

static const struct cli_option backup_options[] = {
    {.name = "force",
     .code = O_FORCE,
     .help = "replace DEST when it exists (once the new copy\n"
             "is complete)"},
    {NULL}};

static void backup_help(void)
{
    printf("usage: insitu [--store URI] backup [--force] DEST\n\n"
           "Copies a SQLite store into the file DEST: the store as it was when the copy\n"
           "began, while servers and ingests go on writing it (SQLite's online backup).\n"
           "DEST opens as a store ('insitu --store DEST things'). A PostgreSQL store is\n"
           "backed up with pg_dump or pg_basebackup (docs/scale.md#backups).\n\n");
    cli_print_options(stdout, backup_options);
}

/* Removes path and the journal files SQLite may have left beside it. */
static void remove_db_files(const char *path)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    char name[4200];
    for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

/* 1 when a and b are the same file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int copy_to(struct cli *cli, insitu_store *st, const char *dest)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.partial-%ld", dest, (long)getpid()) >= sizeof tmp) {
        fprintf(stderr, "insitu: %s: name too long\n", dest);
        return EXIT_USAGE;
    }
    remove_db_files(tmp);
    insitu_error err = {0};
    double t0 = now_seconds();
    int rc = insitu_store_backup(st, tmp, &err);
    if (!rc && rename(tmp, dest) != 0)
        rc = insitu_error_set(&err, INSITU_EIO, "%s: cannot rename %s to it: %m", dest, tmp);
    if (rc) {
        remove_db_files(tmp);
        return cli_fail(&err);
    }
    struct stat sb;
    if (!cli->quiet && stat(dest, &sb) == 0)
        printf("backed up %s to %s: %lld bytes in %.2f s\n", cli->store_uri, dest,
               (long long)sb.st_size, now_seconds() - t0);
    return EXIT_OK;
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
    static const struct cli_option *const tables[] = {backup_options, NULL};
    struct cli_args a = {.cmd = "backup", .tables = tables, .argc = argc, .argv = argv};
    int c, force = 0;
    while ((c = cli_getopt(&a)) > 0)
        force |= c == O_FORCE;
    if (c == CLI_HELP) {
        backup_help();
        return EXIT_OK;
    }
    if (c == CLI_BAD)
        return EXIT_USAGE;
    if (optind >= argc)
        return cli_usage("backup", "no destination given");
    if (optind + 1 < argc)
        return cli_usage("backup", "unexpected argument '%s'", argv[optind + 1]);
    const char *dest = argv[optind];
    struct stat sb;
    if (stat(dest, &sb) == 0 && !force) {
        fprintf(stderr, "insitu: %s: exists (--force replaces it)\n", dest);
        return EXIT_FAIL;
    }
    insitu_store *st;
    int rc = cli_open_store(cli, INSITU_OPEN_READONLY, &st);
    if (rc)
        return rc;
    const char *uri = cli->store_uri;
    if (same_file(strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri, dest)) {
        fprintf(stderr, "insitu: %s: is the store itself\n", dest);
        rc = EXIT_FAIL;
    } else {
        rc = copy_to(cli, st, dest);
    }
    insitu_store_close(st);
    return rc;
}
