/*
 * fuzz_hydroweb.c: Hydroweb virtual-station JSON ("hydroweb") and the hydroweb.next WFS CSV
 * ("hydroweb-next") of ingest/hydroweb.c. The input is the file, optionally after "@key=value"
 * lines (fuzz.h): "@format=hydroweb-next" with "@name=x.csv" reads it as the CSV.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fuzz_ingest(data, size, "hydroweb", "hydroprd_R_FUZZ_from_20240101_to_20240131.json");
    return 0;
}
