/*
 * jsonpatch.h: JSON Patch (RFC 6902) on jansson values, for the SensorThings PATCH with
 * Content-Type application/json-patch+json.
 */
#ifndef INSITU_JSONPATCH_H
#define INSITU_JSONPATCH_H

#include <jansson.h>

#include "insitu.h"

/* Applies the operations of patch (an array: add, remove, replace, move, copy, test; paths
 * are JSON Pointers, RFC 6901) in order to a copy of doc; the result in *out (caller
 * decrefs). On failure doc is untouched, *out is NULL, and err (INSITU_EINVAL) names the
 * operation by its index, op and path, and why: "JSON Patch: [1] replace /name: no such
 * location", "[2] test /x: the value differs". */
int json_patch_apply(const json_t *doc, const json_t *patch, json_t **out, insitu_error *err);

#endif
