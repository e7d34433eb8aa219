/*
 * tap.h: runs the registered CUnit suites and reports each test as a TAP line, so that
 * automake's TAP driver counts every test (not every program) in `make check`.
 */
#ifndef INSITU_TAP_H
#define INSITU_TAP_H

#include <CUnit/CUnit.h>

/* Runs every registered test; returns the process exit status (0 unless CUnit failed). */
int tap_run(void);

#endif
