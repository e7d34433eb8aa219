/*
 * tap.c: a CUnit runner that prints TAP ("ok 3 - store: upsert thing") with the failed
 * assertions as diagnostics.
 */
#include "tap.h"

#include <stdio.h>

#include <CUnit/TestRun.h>

static unsigned tap_number;

static void on_complete(const CU_pTest test, const CU_pSuite suite,
                        const CU_pFailureRecord failures)
{
    tap_number++;
    printf("%s %u - %s: %s\n", failures ? "not ok" : "ok", tap_number, suite->pName,
           test->pName);
    for (CU_pFailureRecord f = failures; f; f = f->pNext)
        printf("# %s:%u: %s\n", f->strFileName ? f->strFileName : "?", f->uiLineNumber,
               f->strCondition ? f->strCondition : "");
    fflush(stdout);
}

static void on_suite_init_failure(const CU_pSuite suite)
{
    for (CU_pTest t = suite->pTest; t; t = t->pNext)
        printf("not ok %u - %s: %s # suite set-up failed\n", ++tap_number, suite->pName,
               t->pName);
}

int tap_run(void)
{
    CU_pTestRegistry reg = CU_get_registry();
    printf("1..%u\n", reg->uiNumberOfTests);
    CU_set_test_complete_handler(on_complete);
    CU_set_suite_init_failure_handler(on_suite_init_failure);
    CU_ErrorCode rc = CU_run_all_tests();
    CU_cleanup_registry();
    return rc == CUE_SUCCESS ? 0 : 1;
}
