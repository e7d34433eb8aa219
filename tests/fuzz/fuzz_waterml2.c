/*
 * fuzz_waterml2.c: WaterML 2.0 documents (ingest/waterml2.c): a MeasurementTimeseries,
 * CategoricalTimeseries or SOS GetObservationResponse. The input is the XML, optionally after
 * "@key=value" lines (fuzz.h).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fuzz_ingest(data, size, "waterml2", "fuzz.xml");
    return 0;
}
