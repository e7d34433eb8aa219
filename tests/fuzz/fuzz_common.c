/*
 * fuzz_common.c: the scratch folder, the per-process store and the dry-run ingest that the
 * harnesses share (fuzz.h). Inputs are files in /dev/shm (memory), never in the source tree.
 */
#include <cpl_error.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static char scratch[256];
static char file_path[512];
static insitu_store *store;

static void remove_scratch(void)
{
    if (store) {
        insitu_store_close(store);
        store = NULL;
    }
    DIR *d = opendir(scratch);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(scratch);
}

const char *fuzz_dir(void)
{
    if (scratch[0])
        return scratch;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/insitu-fuzz-%ld", base ? base : "/tmp", (long)getpid());
    if (mkdir(scratch, 0700) && access(scratch, W_OK)) {
        perror(scratch);
        abort();
    }
    /* GDAL reports what it cannot read through its handler: quiet, the parsers say it */
    CPLSetErrorHandler(CPLQuietErrorHandler);
    atexit(remove_scratch);
    return scratch;
}

const char *fuzz_write(const char *name, const void *data, size_t size)
{
    snprintf(file_path, sizeof file_path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(file_path, "wb");
    if (!f)
        return NULL;
    size_t n = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) || n != size)
        return NULL;
    return file_path;
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

insitu_store *fuzz_store(void)
{
    if (store)
        return store;
    char uri[600];
    snprintf(uri, sizeof uri, "%s/store.db", fuzz_dir());
    insitu_error err;
    if (insitu_store_open(uri, INSITU_OPEN_CREATE, &store, &err)) {
        fprintf(stderr, "fuzz: %s: %s\n", uri, err.message);
        abort();
    }
    return store;
}

void fuzz_report(int rc, const insitu_ingest_report *rep, const insitu_error *err)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("INSITU_FUZZ_VERBOSE") != NULL;
    if (!verbose)
        return;
    if (rc)
        fprintf(stderr, "fuzz: ingest: %s\n", err->message);
    else
        fprintf(stderr, "fuzz: ingest: %s, %llu observations\n", rep->status,
                (unsigned long long)rep->observations);
}

enum { MAX_SETTINGS = 16 };

int fuzz_ingest(const uint8_t *data, size_t size, const char *format, const char *default_name)
{
    char *settings[MAX_SETTINGS + 1] = {0};
    int n_settings = 0;
    char name[128];
    char fmt[64];
    snprintf(name, sizeof name, "%s", default_name);
    snprintf(fmt, sizeof fmt, "%s", format);
    /* small batches: a batch's arrays are allocated per ingest, and big ones cost more than the
     * parse */
    insitu_ingest_options opts = {.dry_run = 1, .force = 1, .batch_rows = 64};
    /* the "@" header lines */
    while (size && data[0] == '@') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t len = nl ? (size_t)(nl - data) : size;
        char *line = fuzz_text(data + 1, len - 1);
        if (strncmp(line, "name=", 5) == 0) {
            /* a plain base name: the harness writes in its folder only */
            if (line[5] && !strchr(line + 5, '/') && strcmp(line + 5, "store.db") != 0 &&
                strcmp(line + 5, ".") && strcmp(line + 5, ".."))
                snprintf(name, sizeof name, "%s", line + 5);
            free(line);
        } else if (strncmp(line, "format=", 7) == 0) {
            snprintf(fmt, sizeof fmt, "%s", line + 7);
            free(line);
        } else if (strcmp(line, "lenient") == 0) {
            opts.lenient = 1;
            free(line);
        } else if (n_settings < MAX_SETTINGS) {
            settings[n_settings++] = line;
        } else {
            free(line);
        }
        data += nl ? len + 1 : len;
        size -= nl ? len + 1 : len;
    }
    const char *path = fuzz_write(name, data, size);
    int rc = -1;
    if (path) {
        opts.format = fmt;
        opts.settings = (const char *const *)settings;
        insitu_ingest_report rep;
        insitu_error err;
        rc = insitu_ingest(fuzz_store(), path, &opts, &rep, &err);
        fuzz_report(rc, &rep, &err);
        unlink(path);
    }
    for (int i = 0; i < n_settings; i++)
        free(settings[i]);
    return rc;
}
