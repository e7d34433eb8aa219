/*
 * jsonpatch.c: JSON Patch (RFC 6902) over JSON Pointers (RFC 6901), on jansson values: add,
 * remove, replace, move, copy and test, applied in order to a copy of the document, so that
 * a patch that fails anywhere changes nothing. Knows nothing of SensorThings.
 */
#include "jsonpatch.h"

#include <stdlib.h>
#include <string.h>

/* A JSON Pointer split: the parent of its target, and the target's last token (decoded). */
struct target {
    json_t *parent; /* NULL for the root "" */
    char *token;    /* owned; NULL for the root */
};

static void target_free(struct target *t)
{
    free(t->token);
    t->token = NULL;
}

/* The next reference token of ptr (after its '/'), decoded (~1 is '/', ~0 is '~'); *ptr moves
 * past it. NULL for a bad escape. Caller frees. */
static char *next_token(const char **ptr)
{
    const char *start = *ptr + 1, *end = strchr(start, '/');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    char *tok = malloc(n + 1), *o = tok;
    if (!tok)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (start[i] != '~') {
            *o++ = start[i];
        } else if (i + 1 < n && (start[i + 1] == '0' || start[i + 1] == '1')) {
            *o++ = start[++i] == '0' ? '~' : '/';
        } else {
            free(tok);
            return NULL;
        }
    }
    *o = '\0';
    *ptr = start + n;
    return tok;
}

/* An array index token: digits without a leading zero (or "0"); -1 when it is not one. */
static long index_of(const char *tok)
{
    if (!*tok || (tok[0] == '0' && tok[1]) || strspn(tok, "0123456789") != strlen(tok) ||
        strlen(tok) > 9)
        return -1;
    return strtol(tok, NULL, 10);
}

/* The member or element tok of v, or NULL. */
static json_t *child(json_t *v, const char *tok)
{
    if (json_is_object(v))
        return json_object_get(v, tok);
    long i = json_is_array(v) ? index_of(tok) : -1;
    return i >= 0 ? json_array_get(v, (size_t)i) : NULL;
}

/* Resolves ptr in doc into its parent and last token; the parent must exist. */
static int resolve(json_t *doc, const char *ptr, struct target *t, const char **why)
{
    memset(t, 0, sizeof *t);
    if (!*ptr)
        return 0;
    if (*ptr != '/') {
        *why = "a JSON Pointer starts with '/'";
        return -1;
    }
    json_t *cur = doc;
    for (;;) {
        char *tok = next_token(&ptr);
        if (!tok) {
            *why = "a '~' not followed by 0 or 1";
            return -1;
        }
        if (!*ptr) {
            t->parent = cur;
            t->token = tok;
            return 0;
        }
        cur = child(cur, tok);
        free(tok);
        if (!cur) {
            *why = "no such location";
            return -1;
        }
    }
}

/* The value ptr points to in doc, or NULL. */
static json_t *get(json_t *doc, const char *ptr, const char **why)
{
    struct target t;
    if (resolve(doc, ptr, &t, why))
        return NULL;
    json_t *v = t.token ? child(t.parent, t.token) : doc;
    if (!v)
        *why = "no such location";
    target_free(&t);
    return v;
}

/* Adds v (a reference is taken) at ptr: a member set, an element inserted, or the root. */
static int add(json_t **doc, const char *ptr, json_t *v, const char **why)
{
    struct target t;
    int rc = resolve(*doc, ptr, &t, why);
    if (rc) {
        json_decref(v);
        return rc;
    }
    if (!t.token) {
        json_decref(*doc);
        *doc = v;
    } else if (json_is_object(t.parent)) {
        rc = json_object_set_new(t.parent, t.token, v);
    } else if (json_is_array(t.parent)) {
        long i = strcmp(t.token, "-") == 0 ? (long)json_array_size(t.parent) : index_of(t.token);
        if (i < 0 || (size_t)i > json_array_size(t.parent)) {
            *why = "an array index past the end";
            json_decref(v);
            rc = -1;
        } else {
            rc = json_array_insert_new(t.parent, (size_t)i, v);
        }
    } else {
        *why = "the parent is neither an object nor an array";
        json_decref(v);
        rc = -1;
    }
    target_free(&t);
    return rc;
}

/* Removes what ptr points to; *removed (may be NULL) receives it, with a reference. */
static int remove_at(json_t *doc, const char *ptr, json_t **removed, const char **why)
{
    struct target t;
    if (resolve(doc, ptr, &t, why))
        return -1;
    json_t *v = t.token ? child(t.parent, t.token) : NULL;
    int rc = 0;
    if (!t.token) {
        *why = "the whole document cannot be removed";
        rc = -1;
    } else if (!v) {
        *why = "no such location";
        rc = -1;
    } else {
        if (removed)
            *removed = json_incref(v);
        rc = json_is_object(t.parent)
                 ? json_object_del(t.parent, t.token)
                 : json_array_remove(t.parent, (size_t)index_of(t.token));
    }
    target_free(&t);
    return rc;
}

/* JSON equality as RFC 6902's test defines it: numbers by value (1 equals 1.0). */
static int equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            const json_t *w = json_object_get(b, k);
            if (!w || !equal(v, w))
                return 0;
        }
        return 1;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    return json_equal(a, b);
}

/* 1 when ptr is from or inside it ("/a/b" is inside "/a"). */
static int inside(const char *ptr, const char *from)
{
    size_t n = strlen(from);
    return strncmp(ptr, from, n) == 0 && (ptr[n] == '\0' || ptr[n] == '/');
}

/* Applies one operation to *doc. */
static int apply_one(json_t **doc, const json_t *op, const char **why)
{
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    const char *from = json_string_value(json_object_get(op, "from"));
    json_t *value = json_object_get(op, "value");
    if (!name || !path) {
        *why = "an operation needs \"op\" and \"path\" (strings)";
        return -1;
    }
    int needs_value = !strcmp(name, "add") || !strcmp(name, "replace") || !strcmp(name, "test");
    int needs_from = !strcmp(name, "move") || !strcmp(name, "copy");
    if (needs_value && !value) {
        *why = "this operation needs a \"value\"";
        return -1;
    }
    if (needs_from && !from) {
        *why = "this operation needs a \"from\" (a string)";
        return -1;
    }
    if (!strcmp(name, "add"))
        return add(doc, path, json_deep_copy(value), why);
    if (!strcmp(name, "remove"))
        return remove_at(*doc, path, NULL, why);
    if (!strcmp(name, "replace")) {
        if (!get(*doc, path, why))
            return -1;
        if (*path && remove_at(*doc, path, NULL, why))
            return -1;
        return add(doc, path, json_deep_copy(value), why);
    }
    if (!strcmp(name, "test")) {
        const json_t *v = get(*doc, path, why);
        if (v && !equal(v, value))
            *why = "the value differs";
        return v && equal(v, value) ? 0 : -1;
    }
    if (!strcmp(name, "copy")) {
        const json_t *v = get(*doc, from, why);
        return v ? add(doc, path, json_deep_copy(v), why) : -1;
    }
    if (!strcmp(name, "move")) {
        if (strcmp(path, from) == 0)
            return get(*doc, from, why) ? 0 : -1;
        if (inside(path, from)) {
            *why = "a value cannot be moved into itself";
            return -1;
        }
        json_t *moved = NULL;
        if (remove_at(*doc, from, &moved, why))
            return -1;
        return add(doc, path, moved, why);
    }
    *why = "unknown \"op\" (add, remove, replace, move, copy or test)";
    return -1;
}

int json_patch_apply(const json_t *doc, const json_t *patch, json_t **out, insitu_error *err)
{
    *out = NULL;
    if (!json_is_array(patch))
        return insitu_error_set(err, INSITU_EINVAL,
                                "JSON Patch: expected an array of operations");
    json_t *copy = json_deep_copy(doc);
    if (!copy)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    size_t i;
    const json_t *op;
    json_array_foreach(patch, i, op)
    {
        const char *why = "out of memory";
        if (!json_is_object(op) || apply_one(&copy, op, &why)) {
            const char *name = json_string_value(json_object_get(op, "op"));
            const char *path = json_string_value(json_object_get(op, "path"));
            json_decref(copy);
            return insitu_error_set(err, INSITU_EINVAL, "JSON Patch: [%zu]%s%s%s%s: %s", i,
                                    name ? " " : "", name ? name : "", path ? " " : "",
                                    path ? path : "",
                                    json_is_object(op) ? why : "an operation is an object");
        }
    }
    *out = copy;
    return 0;
}
