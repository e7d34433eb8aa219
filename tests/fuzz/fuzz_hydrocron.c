/*
 * fuzz_hydrocron.c: Hydrocron responses (ingest/hydrocron.c): the JSON response with CSV or
 * GeoJSON results, raw CSV or GeoJSON. The input is the file, optionally after "@key=value"
 * lines (fuzz.h; "@name=x.csv" for a raw CSV).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fuzz_ingest(data, size, "hydrocron", "hydrocron.json");
    return 0;
}
