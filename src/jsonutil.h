/*
 * jsonutil.h: jansson helpers: text output with shortest exact numbers and sorted keys (so
 * that the same metadata always gives the same text), and typed getters for nested paths.
 */
#ifndef INSITU_JSONUTIL_H
#define INSITU_JSONUTIL_H

#include <jansson.h>

#include "util.h"

/* Appends j as compact JSON, keys sorted, reals written the shortest exact way. */
int json_append(struct strbuf *sb, const json_t *j);
/* Returns j as compact JSON text (caller frees), NULL for a NULL j. */
char *json_text(const json_t *j);
/* The same with an object's keys in the object's own order (a GeoJSON as it was given). */
char *json_text_in_order(const json_t *j);
/* The string at a dotted path ("onlineResource.doi"), or NULL (borrowed). */
const char *json_str_at(const json_t *obj, const char *path);
/* The value at a dotted path, or NULL (borrowed). */
json_t *json_at(const json_t *obj, const char *path);
/* Sets key to a string copy when s is not NULL/empty. */
void json_set_str(json_t *obj, const char *key, const char *s);
/* Sets key to a deep copy of v when v is not NULL. */
void json_set_copy(json_t *obj, const char *key, const json_t *v);

#endif
