/*
 * fuzz_swot.c: SWOT product file names (swot_parse_name) and the .shp.xml metadata a
 * product carries (ingest/swot.c). An input starting with '<' (after white space) is a
 * .shp.xml, read from a GDAL /vsimem/ file; any other is a file name.
 */
#include <cpl_vsi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "swot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (i < size && data[i] == '<') {
        static const char path[] = "/vsimem/fuzz_swot.shp.xml";
        /* the buffer stays the caller's: GDAL does not take it */
        VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data, size, FALSE);
        if (!f)
            abort();
        VSIFCloseL(f);
        size_t n;
        insitu_error err;
        (void)swot_meta_fields(path, "fuzz_swot.shp", &n, &err);
        VSIUnlink(path);
        return 0;
    }
    char *s = fuzz_text(data, size);
    struct swot_name name;
    if (swot_parse_name(s, &name) == 0) {
        /* what it fills are NUL-terminated strings of their arrays */
        if (!memchr(name.short_name, 0, sizeof name.short_name) ||
            !memchr(name.crid, 0, sizeof name.crid) ||
            !memchr(name.counter, 0, sizeof name.counter))
            abort();
        char key[256];
        swot_feature_key(key, sizeof key, name.tile, name.start);
    }
    free(s);
    return 0;
}
