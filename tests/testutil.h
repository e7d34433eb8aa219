/*
 * testutil.h: what the CUnit suites share: temporary folders removed at exit, fresh stores,
 * paths of the fixtures in tests/data, one-value SQL queries, writing small files.
 */
#ifndef INSITU_TESTUTIL_H
#define INSITU_TESTUTIL_H

#include <stdint.h>

#include <CUnit/CUnit.h>

#include "insitu.h"

/* A new temporary folder (removed with its content at exit). Borrowed. */
const char *tu_tmpdir(void);
/* A path in tests/data (borrowed until the next call). */
const char *tu_data(const char *relative);
/* Creates a new empty store on the current backend: a file in a temporary folder (SQLite),
 * or a new database in the test cluster (PostgreSQL); its URI in *path (borrowed). */
insitu_store *tu_store(const char **path);
/* The backend the running (or registering) suite is for: "sqlite" or "postgresql". */
const char *tu_backend(void);
/* Runs a test program: the suite `name` with the tests add() registers, once per backend:
 * SQLite, then PostgreSQL on a throw-away cluster on 127.0.0.1 (INSITU_TEST_PG=no skips
 * it). init and clean (may be NULL) run before and after each. Returns the exit status. */
int tu_main(const char *name, void (*add)(CU_pSuite), int (*init)(void), int (*clean)(void));
/* Registers the suite once per backend (as tu_main does) into an initialised registry. */
void tu_add_backend_suites(const char *name, void (*add)(CU_pSuite), int (*init)(void),
                           int (*clean)(void));
/* The first column of the first row of sql, as an integer (-1 on error). */
int64_t tu_int(insitu_store *st, const char *sql);
/* The first column of the first row of sql, as text (caller frees; NULL for NULL/none). */
char *tu_text(insitu_store *st, const char *sql);
/* Writes content to dir/name and returns the path (caller frees). */
char *tu_write(const char *dir, const char *name, const char *content);
/* GDAL drivers and a quiet error handler, once. */
void tu_init(void);
/* Ingests path with optional NULL-terminated settings; returns the ingest's result. */
int tu_ingest(insitu_store *st, const char *path, const char *const *settings,
              insitu_ingest_report *rep, insitu_error *err);

#endif
