/*
 * fuzz.h: what the libFuzzer harnesses of tests/fuzz/ share: a scratch folder in /dev/shm,
 * one store per process (SQLite, in that folder), and the run of an input through
 * insitu_ingest as a dry run. Every harness defines LLVMFuzzerTestOneInput; libFuzzer, or
 * standalone.c under `make check`, calls it. A harness never writes outside the scratch
 * folder and never lets a store grow with the number of inputs.
 */
#ifndef INSITU_FUZZ_H
#define INSITU_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "insitu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process's scratch folder (created on the first call, removed at exit; borrowed). */
const char *fuzz_dir(void);

/* Writes size bytes to <fuzz_dir>/<name>; returns the path (borrowed, valid until the next
 * call), or NULL when it could not be written. */
const char *fuzz_write(const char *name, const void *data, size_t size);

/* A NUL-terminated copy of the input (caller frees). */
char *fuzz_text(const uint8_t *data, size_t size);

/* The process's store: an initialised SQLite store in the scratch folder, opened once.
 * Aborts when it cannot be made (a harness that cannot run must not pass). */
insitu_store *fuzz_store(void);

/* Ingests one input as a dry run (nothing is kept) with ingester `format`. The input may
 * start with lines "@key=value": "@name=FILE" names the file written (default
 * default_name), "@format=NAME" the ingester, "@lenient" turns lenient mode on, any other
 * "@key=value" is an ingester setting. The rest is the file's content. Returns
 * insitu_ingest's code. */
int fuzz_ingest(const uint8_t *data, size_t size, const char *format, const char *default_name);

/* With INSITU_FUZZ_VERBOSE set, prints what an ingest gave (to see what seeds reach). */
void fuzz_report(int rc, const insitu_ingest_report *rep, const insitu_error *err);

#endif
