/*
 * patch.h: a SensorThings PATCH sent as JSON Patch (RFC 6902, Content-Type
 * application/json-patch+json) turned into the ordinary PATCH body that write.c applies:
 * the operations run on the entity's JSON as a GET shows it, and the top-level members they
 * changed become the update. It reads and writes no store.
 */
#ifndef INSITU_STA_PATCH_H
#define INSITU_STA_PATCH_H

#include <jansson.h>

#include "insitu.h"
#include "entities.h"

#define STA_JSON_PATCH_TYPE "application/json-patch+json"

/* 1 when content_type names application/json-patch+json (any case, parameters ignored). */
int sta_is_json_patch(const char *content_type);

/* Applies patch (an array of RFC 6902 operations) to current, the JSON of an entity of type
 * t as a GET answers it, and fills *merge (caller decrefs) with the members that changed:
 * their new values, null for those removed; a changed unitOfMeasurement in full, a member it
 * lost as null. Errors, with *merge NULL: INSITU_EINVAL for a malformed patch, an operation
 * that cannot apply, or one that would change a read-only member (@iot.id, @iot.selfLink, a
 * navigationLink, the whole entity, a member the server computes), naming the operation by
 * index, op and path; INSITU_ECONFLICT when a "test" operation fails (the entity is not the
 * one the client expected). */
int sta_patch_to_merge(enum sta_type t, const json_t *current, const json_t *patch,
                       json_t **merge, insitu_error *err);

#endif
