/*
 * fuzz_jsonpatch.c: JSON Patch (src/jsonpatch.c) and the SensorThings PATCH built on it
 * (src/sta/patch.c). The input is a document followed by a patch (two JSON texts one after
 * the other), or a patch alone, applied to a Thing as a GET shows it.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "entities.h"
#include "fuzz.h"
#include "jsonpatch.h"
#include "patch.h"

static const char thing[] =
    "{\"@iot.id\":1,\"@iot.selfLink\":\"http://fuzz/v1.1/Things(1)\",\"name\":\"S1\","
    "\"description\":\"a gauge\",\"properties\":{\"river\":\"Garonne\",\"a/b\":[1,2,{\"~\":0}]},"
    "\"Datastreams@iot.navigationLink\":\"http://fuzz/v1.1/Things(1)/Datastreams\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *first =
        json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
    if (!first)
        return 0;
    size_t used = jerr.position;
    json_t *doc, *patch = NULL;
    if (used < size)
        patch = json_loadb((const char *)data + used, size - used, JSON_DECODE_ANY, &jerr);
    if (patch) {
        doc = first;
    } else {
        patch = first;
        doc = json_loads(thing, 0, NULL);
    }
    json_t *out = NULL, *merge = NULL;
    insitu_error err;
    if (json_patch_apply(doc, patch, &out, &err) == 0 && !out)
        abort(); /* success gives a document */
    json_decref(out);
    for (int t = 0; t < STA_NTYPES; t++) {
        if (sta_patch_to_merge((enum sta_type)t, doc, patch, &merge, &err) == 0 && !merge)
            abort();
        json_decref(merge);
        merge = NULL;
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
