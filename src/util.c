/*
 * util.c: growable strings, a string->int64 hash map, SHA-256 through libcrypto, strict
 * number parsing and formatting. Pure helpers: no I/O but sha256_file, no data model.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cpl_vsi.h>
#include <gdal.h>
#include <openssl/evp.h>

int insitu_error_set(insitu_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void insitu_error_prefix(insitu_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512], old[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    /* the message is cut at its buffer's end when prefix + old do not fit */
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3)
        n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t rest = sizeof err->message - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(err->message + n + 2, old, m);
    err->message[n + 2 + m] = '\0';
}

const char *insitu_strerror(int code)
{
    switch (code) {
    case INSITU_OK: return "success";
    case INSITU_EINVAL: return "bad input";
    case INSITU_EUSAGE: return "bad usage";
    case INSITU_EIO: return "I/O error";
    case INSITU_ENOTFOUND: return "not found";
    case INSITU_ESTORE: return "store error";
    case INSITU_ENOMEM: return "out of memory";
    case INSITU_EUNSUPPORTED: return "unsupported";
    case INSITU_EAUTH: return "not authorised";
    case INSITU_ELIMIT: return "limit exceeded";
    case INSITU_ECONFLICT: return "conflict";
    case INSITU_EBUSY: return "store busy";
    default: return "unknown error";
    }
}

/* ---- strbuf ---- */

int sb_grow(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    if (!p)
        return INSITU_ENOMEM;
    sb->data = p;
    sb->cap = cap;
    return 0;
}

int sb_append(struct strbuf *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap && sb_grow(sb, n))
        return INSITU_ENOMEM;
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
    return 0;
}

int sb_puts(struct strbuf *sb, const char *s) { return sb_append(sb, s, strlen(s)); }

int sb_putc(struct strbuf *sb, char c)
{
    if (sb->len + 2 > sb->cap && sb_grow(sb, 1))
        return INSITU_ENOMEM;
    sb->data[sb->len++] = c;
    sb->data[sb->len] = '\0';
    return 0;
}

int sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || sb_grow(sb, (size_t)n))
        return INSITU_ENOMEM;
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
    return 0;
}

int sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sb_vprintf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

void fmt_double(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    /* Most measured values have a few decimals: when v is exactly the double nearest to a
     * decimal with at most 6 of them, that decimal is what %.15g would write (it has at most
     * 15 significant digits here, and reads back to v); write it without printf. */
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e9 && size >= 24) {
        double scaled = nearbyint(a * 1e6);
        if (scaled / 1e6 == a) {
            int64_t r = (int64_t)scaled, whole = r / 1000000, frac = r % 1000000;
            char digits[24];
            int n = 0, k = 0;
            do
                digits[n++] = (char)('0' + whole % 10);
            while ((whole /= 10) > 0);
            if (v < 0)
                buf[k++] = '-';
            while (n)
                buf[k++] = digits[--n];
            if (frac) {
                buf[k++] = '.';
                for (int d = 100000; d && frac; d /= 10) {
                    buf[k++] = (char)('0' + frac / d);
                    frac %= d;
                }
            }
            buf[k] = '\0';
            return;
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            return;
    }
}

int sb_put_double(struct strbuf *sb, double v)
{
    char buf[40];
    fmt_double(v, buf, sizeof buf);
    return sb_puts(sb, buf);
}

int sb_put_json_string(struct strbuf *sb, const char *s)
{
    if (sb_putc(sb, '"'))
        return INSITU_ENOMEM;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        /* a run of characters that need no escaping goes in at once */
        const unsigned char *run = p;
        while (*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run && sb_append(sb, (const char *)run, (size_t)(p - run)))
            return INSITU_ENOMEM;
        if (!*p)
            break;
        switch (*p) {
        case '"': sb_puts(sb, "\\\""); break;
        case '\\': sb_puts(sb, "\\\\"); break;
        case '\n': sb_puts(sb, "\\n"); break;
        case '\r': sb_puts(sb, "\\r"); break;
        case '\t': sb_puts(sb, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                sb_puts(sb, esc);
            } else {
                sb_putc(sb, (char)*p);
            }
        }
    }
    return sb_putc(sb, '"');
}

int sb_put_csv_field(struct strbuf *sb, const char *s)
{
    if (!s)
        return 0;
    if (!strpbrk(s, ",\"\r\n"))
        return sb_puts(sb, s);
    sb_putc(sb, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            sb_putc(sb, '"');
        sb_putc(sb, *p);
    }
    return sb_putc(sb, '"');
}

void sb_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

void sb_free(struct strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

const char *sb_str(const struct strbuf *sb) { return sb->data ? sb->data : ""; }

/* ---- strmap: open addressing, linear probing, FNV-1a ---- */

struct strmap_slot {
    char *key;
    size_t keylen;
    uint64_t hash;
    int64_t value;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, size_t keylen,
                                       uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct strmap_slot *s = &m->slots[i];
        if (!s->key)
            return s;
        if (s->hash == h && s->keylen == keylen && memcmp(s->key, key, keylen) == 0)
            return s;
    }
}

int strmap_get(const struct strmap *m, const char *key, size_t keylen, int64_t *value)
{
    if (!m->cap)
        return 0;
    struct strmap_slot *s = strmap_find(m, key, keylen, hash_bytes(key, keylen));
    if (!s->key)
        return 0;
    *value = s->value;
    return 1;
}

static int strmap_rehash(struct strmap *m, size_t cap)
{
    struct strmap_slot *old = m->slots;
    size_t oldcap = m->cap;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        m->slots = old;
        return INSITU_ENOMEM;
    }
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            *strmap_find(m, old[i].key, old[i].keylen, old[i].hash) = old[i];
    free(old);
    return 0;
}

struct strmap_chunk {
    struct strmap_chunk *next;
    char data[];
};

enum { STRMAP_CHUNK = 64 * 1024 };

static char *strmap_chunk(struct strmap *m, size_t size)
{
    struct strmap_chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->next = m->chunks;
    m->chunks = c;
    return c->data;
}

/* A copy of key (NUL-terminated) in the map's chunks: one malloc for many keys, and one
 * free at the end for all of them. A long key has a chunk of its own. */
static char *strmap_copy(struct strmap *m, const char *key, size_t keylen)
{
    size_t size = keylen + 1;
    char *copy;
    if (size > STRMAP_CHUNK / 4) {
        copy = strmap_chunk(m, size);
    } else {
        if (size > m->left) {
            m->left = 0;
            if (!(m->next = strmap_chunk(m, STRMAP_CHUNK)))
                return NULL;
            m->left = STRMAP_CHUNK;
        }
        copy = m->next;
        m->next += size;
        m->left -= size;
    }
    if (copy) {
        memcpy(copy, key, keylen);
        copy[keylen] = '\0';
    }
    return copy;
}

int strmap_put(struct strmap *m, const char *key, size_t keylen, int64_t value)
{
    if ((m->count + 1) * 4 >= m->cap * 3 && strmap_rehash(m, m->cap ? m->cap * 2 : 64))
        return INSITU_ENOMEM;
    uint64_t h = hash_bytes(key, keylen);
    struct strmap_slot *s = strmap_find(m, key, keylen, h);
    if (!s->key) {
        s->key = strmap_copy(m, key, keylen);
        if (!s->key)
            return INSITU_ENOMEM;
        s->keylen = keylen;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return 0;
}

uint64_t hash64(const void *data, size_t n) { return hash_bytes(data, n); }

void hash2_init(struct hash2 *h)
{
    h->h1 = 1469598103934665603ULL;
    h->h2 = 0x9E3779B97F4A7C15ULL;
}

void hash2_bytes(struct hash2 *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        hash2_word(h, w);
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i);
        hash2_word(h, w);
    }
    hash2_word(h, (uint64_t)n ^ 0x1f00000000000000ULL);
}

void hash2_key(struct strbuf *key, char type, const struct hash2 *h)
{
    char buf[1 + 16];
    buf[0] = type;
    memcpy(buf + 1, &h->h1, 8);
    memcpy(buf + 9, &h->h2, 8);
    sb_append(key, buf, sizeof buf);
}

void geom_digest(struct geom_digest *d, const char *geojson, const unsigned char *wkb,
                 size_t wkb_len)
{
    hash2_init(&d->h);
    if (geojson)
        hash2_bytes(&d->h, geojson, strlen(geojson));
    else
        hash2_bytes(&d->h, wkb, wkb_len);
    d->kind = geojson ? 'G' : 'W';
}

void strmap_each(const struct strmap *m,
                 void (*fn)(const char *key, size_t keylen, int64_t value, void *ctx), void *ctx)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            fn(m->slots[i].key, m->slots[i].keylen, m->slots[i].value, ctx);
}

void strmap_free(struct strmap *m)
{
    while (m->chunks) {
        struct strmap_chunk *c = m->chunks;
        m->chunks = c->next;
        free(c);
    }
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- string lists ---- */

int strlist_add(struct strlist *l, const char *s)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->items, cap * sizeof *p);
        if (!p)
            return -1;
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n] = xstrdup(s);
    if (!l->items[l->n])
        return -1;
    l->items[++l->n] = NULL;
    return 0;
}

int strlist_addkv(struct strlist *l, const char *key, const char *value)
{
    struct strbuf sb = {0};
    sb_printf(&sb, "%s=%s", key, value);
    int rc = sb.data ? strlist_add(l, sb.data) : -1;
    sb_free(&sb);
    return rc;
}

void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* ---- SHA-256 ---- */

int sha256_init(struct sha256 *h)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        h->ctx = NULL;
        return INSITU_ENOMEM;
    }
    h->ctx = ctx;
    h->bytes = 0;
    return 0;
}

void sha256_update(struct sha256 *h, const void *data, size_t n)
{
    if (h->ctx && n) {
        EVP_DigestUpdate(h->ctx, data, n);
        h->bytes += n;
    }
}

void sha256_final(struct sha256 *h, char hex[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    hex[0] = '\0';
    if (!h->ctx)
        return;
    EVP_DigestFinal_ex(h->ctx, md, &len);
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int sha256_file(const char *path, char hex[65], uint64_t *bytes, insitu_error *err)
{
    VSILFILE *f = VSIFOpenL(path, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct sha256 h;
    if (sha256_init(&h)) {
        VSIFCloseL(f);
        return insitu_error_set(err, INSITU_ENOMEM, "%s: cannot hash", path);
    }
    enum { BLOCK = 1 << 20 };
    char *buf = malloc(BLOCK);
    if (!buf) {
        sha256_final(&h, hex);
        VSIFCloseL(f);
        return insitu_error_set(err, INSITU_ENOMEM, "%s: out of memory", path);
    }
    uint64_t total = 0;
    size_t n;
    while ((n = VSIFReadL(buf, 1, BLOCK, f)) > 0) {
        sha256_update(&h, buf, n);
        total += n;
    }
    free(buf);
    VSIFCloseL(f);
    sha256_final(&h, hex);
    if (bytes)
        *bytes = total;
    return 0;
}

/* ---- strings and numbers ---- */

char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

int mem_contains(const void *p, size_t n, const char *what)
{
    return memmem(p, n, what, strlen(what)) != NULL;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int str_ieq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

int str_has_suffix_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && str_ieq(s + n - m, suffix);
}

char *str_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs (most data) go eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* Exact powers of ten representable as doubles (Clinger's fast path). */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int parse_double(const char *s, size_t n, double *out)
{
    /* Fast path: [+-]digits[.digits] with at most 15 significant digits is exact with one
     * division, because both operands are exact doubles and IEEE division rounds correctly. */
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    uint64_t mant = 0;
    int digits = 0, frac = 0, seen_dot = 0, any = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = 1;
            if (mant == 0 && c == '0' && !seen_dot)
                continue;
            if (++digits > 15)
                break;
            mant = mant * 10 + (uint64_t)(c - '0');
            frac += seen_dot;
        } else if (c == '.' && !seen_dot) {
            seen_dot = 1;
        } else {
            break;
        }
    }
    if (i == n && any) {
        double v = (double)mant / pow10_exact[frac];
        *out = neg ? -v : v;
        return 0;
    }
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return INSITU_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0' || (errno == ERANGE && isinf(v)))
        return INSITU_EINVAL;
    /* strtod accepts hex floats and "infinity"; only decimal numbers and NaN are data. */
    for (size_t k = 0; k < n; k++)
        if (buf[k] == 'x' || buf[k] == 'X')
            return INSITU_EINVAL;
    if (isinf(v))
        return INSITU_EINVAL;
    *out = v;
    return 0;
}

int parse_int64(const char *s, size_t n, int64_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return INSITU_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || *end != '\0' || errno == ERANGE)
        return INSITU_EINVAL;
    *out = v;
    return 0;
}

static void register_drivers(void)
{
    if (GDALGetDriverCount() == 0)
        GDALAllRegister();
}

/* Once per process, whichever thread (a SWOT reader) comes first. */
void gdal_drivers(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_drivers);
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

size_t str_distance(const char *a, const char *b)
{
    enum { MAX = 63 };
    size_t m = strnlen(a, MAX), n = strnlen(b, MAX);
    /* three rows of the edit table: the one before the previous, the previous, this one */
    size_t rows[3][MAX + 1];
    size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= n; j++)
        prev[j] = j;
    for (size_t i = 1; i <= m; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t d = prev[j - 1] + cost;
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                before[j - 2] + 1 < d)
                d = before[j - 2] + 1;
            cur[j] = d;
        }
        size_t *oldest = before;
        before = prev;
        prev = cur;
        cur = oldest;
    }
    return prev[n];
}

int str_nearest(const char *word, const char *const *candidates, size_t n)
{
    size_t len = strlen(word);
    size_t limit = len <= 3 ? 1 : len / 3 > 2 ? len / 3 : 2;
    int best = -1;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = str_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = (int)i;
        }
    }
    return best;
}
