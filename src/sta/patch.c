/*
 * patch.c: JSON Patch (RFC 6902) on a SensorThings entity: the operations run (through
 * jsonpatch.c) on the entity's JSON as a GET shows it, and the members they changed become
 * an ordinary PATCH body, so that validation, the Datastream summaries and the
 * HistoricalLocations stay in write.c. It never touches the store.
 */
#include "patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonpatch.h"

int sta_is_json_patch(const char *content_type)
{
    if (!content_type)
        return 0;
    const char *s = content_type;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, ";");
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n == strlen(STA_JSON_PATCH_TYPE) && strncasecmp(s, STA_JSON_PATCH_TYPE, n) == 0;
}

/* The first token of a JSON Pointer, unescaped (~1 is '/', ~0 is '~'), into out. */
static void first_token(const char *ptr, char *out, size_t size)
{
    size_t k = 0;
    if (*ptr == '/')
        ptr++;
    for (; *ptr && *ptr != '/' && k + 1 < size; ptr++) {
        if (ptr[0] == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
            out[k++] = ptr[1] == '1' ? '/' : '~';
            ptr++;
        } else {
            out[k++] = *ptr;
        }
    }
    out[k] = '\0';
}

/* Why the member a pointer leads into cannot be written, or NULL when it can. */
static const char *read_only_reason(enum sta_type t, const char *ptr)
{
    if (!*ptr)
        return "the whole entity cannot be replaced by a JSON Patch (PUT replaces an entity)";
    char name[128];
    first_token(ptr, name, sizeof name);
    size_t n = strlen(name);
    if (strcmp(name, "@iot.id") == 0 || strcmp(name, "id") == 0)
        return "@iot.id is read-only";
    if (strcmp(name, "@iot.selfLink") == 0)
        return "@iot.selfLink is read-only";
    if (n >= 19 && strcmp(name + n - 19, "@iot.navigationLink") == 0)
        return "a navigationLink is read-only (link entities with {\"@iot.id\": id})";
    const struct sta_prop *p = sta_prop_find(t, name, n);
    if (p && (p->flags & SPF_COMPUTED))
        return "kept by the server from the Observations: read-only";
    return NULL;
}

/* Refuses operations that would change a read-only member; tests and copies from anywhere
 * are fine. */
static int check_paths(enum sta_type t, const json_t *patch, insitu_error *err)
{
    size_t i;
    const json_t *op;
    json_array_foreach(patch, i, op)
    {
        const char *name = json_string_value(json_object_get(op, "op"));
        if (!name || strcmp(name, "test") == 0)
            continue;
        const char *ptrs[2] = {json_string_value(json_object_get(op, "path")),
                               strcmp(name, "move") == 0
                                   ? json_string_value(json_object_get(op, "from"))
                                   : NULL};
        for (int k = 0; k < 2; k++) {
            const char *why = ptrs[k] ? read_only_reason(t, ptrs[k]) : NULL;
            if (why)
                return insitu_error_set(err, INSITU_EINVAL, "JSON Patch: [%zu] %s %s%s: %s",
                                        i, name, k ? "from " : "", ptrs[k], why);
        }
    }
    return 0;
}

/* 1 when the failed operation (jsonpatch.c names it "[index]") is a test. */
static int failed_a_test(const json_t *patch, const insitu_error *err)
{
    const char *at = strstr(err->message, "[");
    size_t i;
    if (!at || sscanf(at, "[%zu]", &i) != 1)
        return 0;
    const char *name = json_string_value(json_object_get(json_array_get(patch, i), "op"));
    return name && strcmp(name, "test") == 0;
}

/* A unitOfMeasurement in full: the members it lacks are null (cleared). */
static json_t *whole_uom(json_t *v)
{
    static const char *const keys[] = {"name", "symbol", "definition"};
    json_t *u = json_copy(v);
    for (size_t k = 0; u && k < 3; k++)
        if (!json_object_get(u, keys[k]))
            json_object_set_new(u, keys[k], json_null());
    return u;
}

/* The members of after that differ from before, and null for those it lost. */
static int changed_members(enum sta_type t, const json_t *before, json_t *after, json_t *merge)
{
    const char *key;
    json_t *v;
    json_object_foreach(after, key, v)
    {
        json_t *old = json_object_get(before, key);
        if (old && json_equal(old, v))
            continue;
        const struct sta_prop *p = sta_prop_find(t, key, strlen(key));
        json_t *value = p && p->kind == SP_UOM && json_is_object(v) ? whole_uom(v)
                                                                    : json_incref(v);
        if (!value || json_object_set_new(merge, key, value))
            return -1;
    }
    json_object_foreach((json_t *)before, key, v)
    {
        if (!json_object_get(after, key) && json_object_set_new(merge, key, json_null()))
            return -1;
    }
    return 0;
}

int sta_patch_to_merge(enum sta_type t, const json_t *current, const json_t *patch,
                       json_t **merge, insitu_error *err)
{
    *merge = NULL;
    if (!json_is_object(current))
        return insitu_error_set(err, INSITU_EINVAL, "JSON Patch: the entity is not an object");
    if (!json_is_array(patch))
        return insitu_error_set(err, INSITU_EINVAL,
                                "JSON Patch: the body must be an array of operations "
                                "([{\"op\": \"replace\", \"path\": \"/name\", \"value\": "
                                "\"x\"}])");
    int rc = check_paths(t, patch, err);
    if (rc)
        return rc;
    json_t *after = NULL;
    rc = json_patch_apply(current, patch, &after, err);
    if (rc) {
        if (rc == INSITU_EINVAL && failed_a_test(patch, err))
            err->code = rc = INSITU_ECONFLICT;
        return rc;
    }
    if (!json_is_object(after)) {
        json_decref(after);
        return insitu_error_set(err, INSITU_EINVAL, "JSON Patch: the entity must stay an object");
    }
    json_t *m = json_object();
    if (!m || changed_members(t, current, after, m)) {
        json_decref(m);
        json_decref(after);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    json_decref(after);
    *merge = m;
    return 0;
}
