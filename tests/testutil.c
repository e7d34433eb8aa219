/*
 * testutil.c: shared helpers of the CUnit suites (see testutil.h).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_error.h>
#include <gdal.h>

#include "store.h"
#include "util.h"

static char *dirs[64];
static int ndirs;

static void remove_dirs(void)
{
    for (int i = 0; i < ndirs; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirs[i]);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dirs[i]);
        free(dirs[i]);
    }
    ndirs = 0;
}

const char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/insitu-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl) || ndirs == 64)
        return NULL;
    if (ndirs == 0)
        atexit(remove_dirs);
    dirs[ndirs] = strdup(tmpl);
    return dirs[ndirs++];
}

const char *tu_data(const char *relative)
{
    static char path[1024];
    const char *base = getenv("INSITU_TEST_DATA");
    snprintf(path, sizeof path, "%s/%s", base ? base : "tests/data", relative);
    return path;
}

insitu_store *tu_store(const char **path)
{
    static char file[600];
    const char *dir = tu_tmpdir();
    if (!dir)
        return NULL;
    snprintf(file, sizeof file, "%s/store.db", dir);
    insitu_store *st = NULL;
    insitu_error err;
    if (insitu_store_open(file, INSITU_OPEN_CREATE, &st, &err)) {
        fprintf(stderr, "tu_store: %s\n", err.message);
        return NULL;
    }
    if (path)
        *path = file;
    return st;
}

int64_t tu_int(insitu_store *st, const char *sql)
{
    int64_t v = -1;
    insitu_error err;
    if (st_query_int64(&st->base, sql, &v, &err, NULL)) {
        fprintf(stderr, "tu_int: %s: %s\n", sql, err.message);
        return -1;
    }
    return v;
}

char *tu_text(insitu_store *st, const char *sql)
{
    struct stmt *s;
    insitu_error err;
    if (st_prepare(&st->base, sql, &s, &err)) {
        fprintf(stderr, "tu_text: %s\n", err.message);
        return NULL;
    }
    char *out = NULL;
    if (st_step(s, &err) == 1 && !st_col_is_null(s, 0))
        out = strdup(st_col_text(s, 0));
    st_finalize(s);
    return out;
}

char *tu_write(const char *dir, const char *name, const char *content)
{
    struct strbuf path = {0};
    sb_printf(&path, "%s/%s", dir, name);
    FILE *f = fopen(path.data, "wb");
    if (f) {
        fwrite(content, 1, strlen(content), f);
        fclose(f);
    }
    return path.data;
}

void tu_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    GDALAllRegister();
    CPLPushErrorHandler(CPLQuietErrorHandler);
}

int tu_ingest(insitu_store *st, const char *path, const char *const *settings,
              insitu_ingest_report *rep, insitu_error *err)
{
    insitu_ingest_options o = {0};
    o.settings = settings;
    insitu_ingest_report local;
    insitu_error local_err;
    return insitu_ingest(st, path, &o, rep ? rep : &local, err ? err : &local_err);
}
