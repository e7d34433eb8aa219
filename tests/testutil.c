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
#include <libpq-fe.h>

#include "store.h"
#include "tap.h"
#include "util.h"

static int pg_backend;           /* the current suite's backend is PostgreSQL */
static char pg_dir[600];         /* the cluster's folder, when started */
static char pg_base[256];        /* postgresql://insitu@127.0.0.1:PORT/ */
static int pg_databases;

const char *tu_backend(void) { return pg_backend ? "postgresql" : "sqlite"; }

static void pg_stop(void)
{
    if (!pg_dir[0])
        return;
    const char *script = getenv("INSITU_TEST_PG_CLUSTER");
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' stop '%s'", script ? script : "tests/pg_cluster", pg_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# cannot stop the test cluster in %s\n", pg_dir);
    pg_dir[0] = '\0';
}

/* Starts the test cluster once per process; 0 or -1. */
static int pg_start(void)
{
    if (pg_base[0])
        return 0;
    const char *dir = tu_tmpdir();
    if (!dir)
        return -1;
    snprintf(pg_dir, sizeof pg_dir, "%s/pg", dir);
    const char *script = getenv("INSITU_TEST_PG_CLUSTER");
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' start '%s'", script ? script : "tests/pg_cluster", pg_dir);
    FILE *p = popen(cmd, "r");
    char uri[512] = "";
    if (!p || !fgets(uri, sizeof uri, p)) {
        if (p)
            pclose(p);
        fprintf(stderr, "# cannot start a PostgreSQL test cluster (%s)\n", cmd);
        pg_dir[0] = '\0';
        return -1;
    }
    pclose(p);
    atexit(pg_stop);
    char *slash = strrchr(str_trim(uri), '/');
    if (!slash)
        return -1;
    slash[1] = '\0';
    snprintf(pg_base, sizeof pg_base, "%s", uri);
    return 0;
}

/* A new empty database in the test cluster; its URI in out. */
static int pg_new_database(char *out, size_t size)
{
    if (pg_start())
        return -1;
    char admin[300];
    snprintf(admin, sizeof admin, "%sinsitu_test", pg_base);
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "# %s\n", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "CREATE DATABASE store_%d", ++pg_databases);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "# %s\n", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(out, size, "%sstore_%d", pg_base, pg_databases);
    return ok ? 0 : -1;
}

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
    static char uri[600];
    if (pg_backend) {
        if (pg_new_database(uri, sizeof uri))
            return NULL;
    } else {
        const char *dir = tu_tmpdir();
        if (!dir)
            return NULL;
        snprintf(uri, sizeof uri, "%s/store.db", dir);
    }
    insitu_store *st = NULL;
    insitu_error err;
    if (insitu_store_open(uri, INSITU_OPEN_CREATE, &st, &err)) {
        fprintf(stderr, "tu_store: %s\n", err.message);
        return NULL;
    }
    if (path)
        *path = uri;
    return st;
}

static int (*user_init)(void), (*user_clean)(void);

static int init_sqlite(void)
{
    pg_backend = 0;
    return user_init ? user_init() : 0;
}

static int init_pg(void)
{
    pg_backend = 1;
    if (pg_start())
        return -1;
    return user_init ? user_init() : 0;
}

static int clean_any(void) { return user_clean ? user_clean() : 0; }

void tu_add_backend_suites(const char *name, void (*add)(CU_pSuite), int (*init)(void),
                           int (*clean)(void))
{
    user_init = init;
    user_clean = clean;
    char suite[128];
    snprintf(suite, sizeof suite, "%s [sqlite]", name);
    pg_backend = 0;
    add(CU_add_suite(suite, init_sqlite, clean_any));
    const char *no_pg = getenv("INSITU_TEST_PG");
    if (!no_pg || strcmp(no_pg, "no") != 0) {
        snprintf(suite, sizeof suite, "%s [postgresql]", name);
        pg_backend = 1;
        add(CU_add_suite(suite, init_pg, clean_any));
        pg_backend = 0;
    }
}

int tu_main(const char *name, void (*add)(CU_pSuite), int (*init)(void), int (*clean)(void))
{
    tu_init();
    CU_initialize_registry();
    tu_add_backend_suites(name, add, init, clean);
    return tap_run();
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
