/*
 * classes.c: the class table of a categorical raster (see classes.h): a small sorted array
 * of code -> name and a list of excluded codes. The table is data, never code: it holds no
 * product's nomenclature of its own.
 */
#include "classes.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct class_entry {
    double code;
    char *name;
};

struct class_table {
    struct class_entry *v;
    size_t n, cap;
    double *excluded;
    size_t n_excluded;
};

struct class_table *class_table_new(void) { return calloc(1, sizeof(struct class_table)); }

void class_table_free(struct class_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
    free(t->excluded);
    free(t);
}

static struct class_entry *find(const struct class_table *t, double code)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].code == code)
            return &t->v[i];
    return NULL;
}

int class_table_add(struct class_table *t, double code, const char *name, insitu_error *err)
{
    char *copy = xstrdup(name);
    if (!copy)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    struct class_entry *e = find(t, code);
    if (e) {
        free(e->name);
        e->name = copy;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        struct class_entry *p = realloc(t->v, cap * sizeof *p);
        if (!p) {
            free(copy);
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        }
        t->v = p;
        t->cap = cap;
    }
    t->v[t->n].code = code;
    t->v[t->n].name = copy;
    t->n++;
    return 0;
}

int class_table_exclude(struct class_table *t, double code, insitu_error *err)
{
    if (class_table_excluded(t, code))
        return 0;
    double *p = realloc(t->excluded, (t->n_excluded + 1) * sizeof *p);
    if (!p)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    t->excluded = p;
    t->excluded[t->n_excluded++] = code;
    return 0;
}

/* An integer code filling [s, s+len) (blanks around it allowed); -1 when it is not one. */
static int parse_code(const char *s, size_t len, double *code)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (!len || len > 20)
        return -1;
    char buf[32];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno)
        return -1;
    *code = (double)v;
    return 0;
}

int class_table_exclude_list(struct class_table *t, const char *codes, insitu_error *err)
{
    const char *p = codes;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        double code;
        if (parse_code(p, len, &code))
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "not_class '%.*s': expected integer codes separated by "
                                    "commas (205,254)",
                                    (int)len, p);
        int rc = class_table_exclude(t, code, err);
        if (rc)
            return rc;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

size_t class_table_add_categories(struct class_table *t, char **names)
{
    size_t taken = 0;
    for (int i = 0; names && names[i]; i++) {
        if (!*names[i])
            continue;
        if (class_table_add(t, i, names[i], NULL) == 0)
            taken++;
    }
    return taken;
}

const char *class_table_name(const struct class_table *t, double code)
{
    const struct class_entry *e = t ? find(t, code) : NULL;
    return e ? e->name : NULL;
}

int class_table_excluded(const struct class_table *t, double code)
{
    for (size_t i = 0; t && i < t->n_excluded; i++)
        if (t->excluded[i] == code)
            return 1;
    return 0;
}

size_t class_table_size(const struct class_table *t) { return t ? t->n : 0; }

/* ---- files ---- */

/* The value of attribute `attr` in the tag text [tag, end), XML entities decoded, into out;
 * -1 when absent. */
static int xml_attr(const char *tag, const char *end, const char *attr, char *out, size_t size)
{
    size_t alen = strlen(attr);
    for (const char *p = tag; p + alen + 2 < end; p++) {
        if (strncmp(p, attr, alen) != 0 || p[alen] != '=' || !isspace((unsigned char)p[-1]))
            continue;
        char quote = p[alen + 1];
        if (quote != '"' && quote != '\'')
            continue;
        const char *v = p + alen + 2, *q = memchr(v, quote, (size_t)(end - v));
        if (!q)
            return -1;
        size_t n = 0;
        static const struct {
            const char *entity, *text;
        } ents[] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
        while (v < q && n + 1 < size) {
            size_t k;
            for (k = 0; k < ARRAY_LEN(ents); k++)
                if (strncmp(v, ents[k].entity, strlen(ents[k].entity)) == 0)
                    break;
            if (k < ARRAY_LEN(ents)) {
                out[n++] = ents[k].text[0];
                v += strlen(ents[k].entity);
            } else {
                out[n++] = *v++;
            }
        }
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/* A QGIS style: every paletteEntry, colorRampEntry or item with a value and a label. */
static int load_qml(struct class_table *t, const char *text, const char *path, insitu_error *err)
{
    static const char *const tags[] = {"<paletteEntry", "<colorRampEntry", "<item"};
    size_t found = 0;
    for (const char *p = strchr(text, '<'); p; p = strchr(p + 1, '<')) {
        size_t k;
        for (k = 0; k < ARRAY_LEN(tags); k++)
            if (strncmp(p, tags[k], strlen(tags[k])) == 0 &&
                isspace((unsigned char)p[strlen(tags[k])]))
                break;
        if (k == ARRAY_LEN(tags))
            continue;
        const char *end = strchr(p, '>');
        if (!end)
            break;
        char value[64], label[512];
        double code;
        char *tail;
        if (xml_attr(p, end, "value", value, sizeof value) ||
            xml_attr(p, end, "label", label, sizeof label))
            continue;
        code = strtod(value, &tail);
        if (tail == value || *tail || code != floor(code))
            continue;
        int rc = class_table_add(t, code, label, err);
        if (rc)
            return rc;
        found++;
    }
    if (!found)
        return insitu_error_set(err, INSITU_EINVAL,
                                "%s: no paletteEntry, colorRampEntry or item with a value and a "
                                "label: not a QGIS raster style with class labels",
                                path);
    return 0;
}

/* One text line: "code name", "code,name", "code;name", "code<TAB>name" or "name:code". */
static int load_line(struct class_table *t, char *line, int *taken, insitu_error *err)
{
    char *s = str_trim(line);
    *taken = 0;
    if (!*s || *s == '#')
        return 0;
    const char *seps = ",;:\t ";
    for (const char *sep = seps; *sep; sep++) {
        char *at = strchr(s, *sep);
        if (!at)
            continue;
        double code;
        const char *name;
        if (parse_code(s, (size_t)(at - s), &code) == 0)
            name = at + 1; /* code first */
        else if (*sep != ' ' && (at = strrchr(s, *sep)) &&
                 parse_code(at + 1, strlen(at + 1), &code) == 0) {
            *at = '\0'; /* name:code (OSO nomenclature.txt) */
            name = s;
        } else {
            continue;
        }
        char buf[512];
        snprintf(buf, sizeof buf, "%s", name);
        char *trimmed = str_trim(buf);
        size_t n = strlen(trimmed);
        if (n >= 2 && trimmed[0] == '"' && trimmed[n - 1] == '"') {
            trimmed[n - 1] = '\0';
            trimmed++;
        }
        if (!*trimmed)
            return 0;
        *taken = 1;
        return class_table_add(t, code, trimmed, err);
    }
    return 0;
}

int class_table_load(struct class_table *t, const char *path, insitu_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "classes %s: %s", path, strerror(errno));
    struct strbuf text = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_append(&text, chunk, got);
    fclose(f);
    const char *s = sb_str(&text);
    int rc = 0;
    if (strstr(s, "<qgis") || str_has_suffix_ci(path, ".qml")) {
        rc = load_qml(t, s, path, err);
        sb_free(&text);
        return rc;
    }
    size_t found = 0;
    char *save = NULL;
    for (char *line = strtok_r(text.data ? text.data : (char *)"", "\r\n", &save); line && !rc;
         line = strtok_r(NULL, "\r\n", &save)) {
        int taken;
        rc = load_line(t, line, &taken, err);
        found += (size_t)taken;
    }
    sb_free(&text);
    if (!rc && !found)
        rc = insitu_error_set(err, INSITU_EINVAL,
                              "classes %s: no line gives a class (expected 'code name', "
                              "'code,name' or 'name:code')",
                              path);
    return rc;
}
