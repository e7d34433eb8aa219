/*
 * util.h: small private helpers shared by every module: growable strings, a string->int64
 * map, SHA-256 (libcrypto), number formatting. Nothing here knows about the data model.
 */
#ifndef INSITU_UTIL_H
#define INSITU_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "insitu.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A growable NUL-terminated byte string. Zero-initialise, then sb_free(). */
struct strbuf {
    char *data;
    size_t len, cap;
};
int sb_grow(struct strbuf *sb, size_t extra);
int sb_append(struct strbuf *sb, const char *s, size_t n);
int sb_puts(struct strbuf *sb, const char *s);
int sb_putc(struct strbuf *sb, char c);
int sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* Appends a double the shortest way that reads back to the same value ("%.17g" trimmed). */
int sb_put_double(struct strbuf *sb, double v);
/* Appends s as a JSON string literal (quoted, escaped). */
int sb_put_json_string(struct strbuf *sb, const char *s);
/* Appends s as an RFC 4180 CSV field (quoted only when needed). */
int sb_put_csv_field(struct strbuf *sb, const char *s);
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);
/* Returns the buffer's text (never NULL; "" when empty). Borrowed. */
const char *sb_str(const struct strbuf *sb);

/* Formats a double so that it reads back exactly: shortest of %.15g/%.16g/%.17g. */
void fmt_double(double v, char *buf, size_t size);

/* A string -> int64 hash map (keys copied, into chunks freed together). Zero-initialise,
 * then strmap_free(). */
struct strmap {
    struct strmap_slot *slots;
    size_t cap, count;
    struct strmap_chunk *chunks; /* the keys */
    char *next;                  /* free room in the newest chunk */
    size_t left;
};
/* 1 and *value when found, 0 when not. */
int strmap_get(const struct strmap *m, const char *key, size_t keylen, int64_t *value);
int strmap_put(struct strmap *m, const char *key, size_t keylen, int64_t value);
/* Calls fn for every entry, in no order. */
void strmap_each(const struct strmap *m,
                 void (*fn)(const char *key, size_t keylen, int64_t value, void *ctx), void *ctx);
void strmap_free(struct strmap *m);
/* A NULL-terminated list of strings it owns (options' "key=value" settings, ids):
 * zero-initialise, then strlist_free(). items is NULL until the first add. */
struct strlist {
    char **items;
    size_t n, cap;
};
/* Appends a copy of s; -1 when out of memory. */
int strlist_add(struct strlist *l, const char *s);
/* Appends "key=value". */
int strlist_addkv(struct strlist *l, const char *key, const char *value);
void strlist_free(struct strlist *l);

/* FNV-1a 64-bit hash of n bytes. */
uint64_t hash64(const void *data, size_t n);

/* Two 64-bit hashes of words and byte runs, 8 bytes a step: the in-process caches' content
 * keys (they hash whole entities, properties included, for every row of a source: byte by
 * byte was ~1 us a datastream). */
struct hash2 {
    uint64_t h1, h2;
};
void hash2_init(struct hash2 *h);
static inline void hash2_word(struct hash2 *h, uint64_t w)
{
    h->h1 = (h->h1 ^ w) * 0x100000001B3ULL;
    h->h1 ^= h->h1 >> 32;
    h->h2 = (h->h2 ^ w) * 0xBF58476D1CE4E5B9ULL + 0x7F4A7C15ULL;
    h->h2 ^= h->h2 >> 29;
}
/* Hashes n bytes and then their length (so that "ab"+"c" and "a"+"bc" differ). */
void hash2_bytes(struct hash2 *h, const void *data, size_t n);
/* Appends a key: the type letter and the two hashes. */
void hash2_key(struct strbuf *key, char type, const struct hash2 *h);

/* What the caches know a geometry by: the hash2 of its GeoJSON text or else of its WKB
 * (a reader thread computes it: ingest/swot.c). */
struct geom_digest {
    struct hash2 h;
    char kind; /* 'G': of the GeoJSON, 'W': of the WKB */
};
void geom_digest(struct geom_digest *d, const char *geojson, const unsigned char *wkb,
                 size_t wkb_len);

/* SHA-256 (through libcrypto). */
struct sha256 {
    void *ctx;
    uint64_t bytes; /* hashed so far */
};
int sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t n);
/* Writes 64 hex digits + NUL into hex and frees the context. */
void sha256_final(struct sha256 *h, char hex[65]);
/* Hashes a whole file (any GDAL VSI path) in bounded blocks. */
int sha256_file(const char *path, char hex[65], uint64_t *bytes, insitu_error *err);

/* 1 when the n bytes at p contain the text `what` (a probe looking into a file's head). */
int mem_contains(const void *p, size_t n, const char *what);

/* Duplicates s (NULL -> NULL); aborts nothing: returns NULL on ENOMEM. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* ASCII case-insensitive equality. */
int str_ieq(const char *a, const char *b);
int str_has_suffix_ci(const char *s, const char *suffix);
/* Trims ASCII white space in place at both ends; returns the start. */
char *str_trim(char *s);
/* 1 when s[0..n) is valid UTF-8. */
int utf8_valid(const char *s, size_t n);
/* Strict number parsing: the whole of s[0..n) must be a number. */
int parse_double(const char *s, size_t n, double *out);
int parse_int64(const char *s, size_t n, int64_t *out);
/* Registers GDAL's drivers once (call before opening a dataset with GDAL/OGR). */
void gdal_drivers(void);
/* Seconds from a monotonic clock. */
double now_seconds(void);
/* The base name of a path (borrowed pointer into path). */
const char *path_basename(const char *path);

/* The Damerau-Levenshtein distance of a and b in its optimal string alignment form: the
 * fewest insertions, deletions, substitutions and swaps of two adjacent bytes that turn a
 * into b, no byte edited twice ("ingset" -> "ingest": 1). Words longer than 63 bytes are
 * compared by their first 63. */
size_t str_distance(const char *a, const char *b);
/* The candidate nearest to a mistyped word (str_distance), when near enough to be what was
 * meant: at most 1 edit for words of up to 3 bytes, else at most 2 or a third of the word's
 * length, whichever is more. Ties go to the earliest candidate. Returns its index among the
 * n candidates, or -1. */
int str_nearest(const char *word, const char *const *candidates, size_t n);

#endif
