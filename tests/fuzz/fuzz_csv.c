/*
 * fuzz_csv.c: the generic CSV ingester (ingest/csv.c), every layout (long, single, wide):
 * the input is a CSV file, optionally after "@key=value" setting lines (fuzz.h) that choose
 * the layout's columns, separators, time format and zone. Run as a dry run on a store.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fuzz_ingest(data, size, "csv", "fuzz.csv");
    return 0;
}
