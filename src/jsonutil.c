/*
 * jsonutil.c: jansson helpers. jansson writes reals with 17 digits (1.8143 becomes
 * 1.8143000000000001); json_append writes the shortest text that reads back exactly.
 */
#include "jsonutil.h"

#include <stdlib.h>
#include <string.h>

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* j as compact JSON; an object's keys sorted, or in the object's order. */
static int append(struct strbuf *sb, const json_t *j, int sorted)
{
    char num[48];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(j), i = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys)
            return INSITU_ENOMEM;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v) keys[i++] = key;
        if (sorted)
            qsort(keys, n, sizeof *keys, cmp_keys);
        sb_putc(sb, '{');
        for (i = 0; i < n; i++) {
            if (i)
                sb_putc(sb, ',');
            sb_put_json_string(sb, keys[i]);
            sb_putc(sb, ':');
            append(sb, json_object_get(j, keys[i]), sorted);
        }
        free(keys);
        return sb_putc(sb, '}');
    }
    case JSON_ARRAY:
        sb_putc(sb, '[');
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                sb_putc(sb, ',');
            append(sb, json_array_get(j, i), sorted);
        }
        return sb_putc(sb, ']');
    case JSON_STRING:
        return sb_put_json_string(sb, json_string_value(j));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return sb_puts(sb, num);
    case JSON_REAL:
        fmt_double(json_real_value(j), num, sizeof num);
        /* keep it a JSON real: "2" would read back as an integer */
        if (!strpbrk(num, ".eEN"))
            strcat(num, ".0");
        return sb_puts(sb, num);
    case JSON_TRUE:
        return sb_puts(sb, "true");
    case JSON_FALSE:
        return sb_puts(sb, "false");
    default:
        return sb_puts(sb, "null");
    }
}

int json_append(struct strbuf *sb, const json_t *j) { return append(sb, j, 1); }

static char *text(const json_t *j, int sorted)
{
    if (!j)
        return NULL;
    struct strbuf sb = {0};
    if (append(&sb, j, sorted)) {
        sb_free(&sb);
        return NULL;
    }
    return sb.data;
}

char *json_text(const json_t *j) { return text(j, 1); }
char *json_text_in_order(const json_t *j) { return text(j, 0); }

json_t *json_at(const json_t *obj, const char *path)
{
    char key[128];
    const json_t *cur = obj;
    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
        path += n + (dot != NULL);
    }
    return (json_t *)cur;
}

const char *json_str_at(const json_t *obj, const char *path)
{
    return json_string_value(json_at(obj, path));
}

void json_set_str(json_t *obj, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new(obj, key, json_string(s));
}

void json_set_copy(json_t *obj, const char *key, const json_t *v)
{
    if (v)
        json_object_set_new(obj, key, json_deep_copy(v));
}
