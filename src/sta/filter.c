/*
 * filter.c: the SensorThings query-option language: a lexer and recursive-descent parser
 * for $filter and $orderby expressions (OData operators and the functions of OGC 18-088),
 * the $select/$expand/$top/$skip/$count options, and the compiler from expressions to SQL
 * conditions with bound values. It must never put a client's text into SQL: names resolve
 * through entities.c, literals become '?' parameters.
 */
#include "filter.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <ogr_api.h>

#include "store.h"
#include "timeutil.h"

/* ==== SQL fragments ==== */

void frag_reset(struct sqlfrag *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->vals[i].s);
    f->n = 0;
    sb_reset(&f->sql);
}

void frag_free(struct sqlfrag *f)
{
    frag_reset(f);
    free(f->vals);
    sb_free(&f->sql);
    memset(f, 0, sizeof *f);
}

int frag_puts(struct sqlfrag *f, const char *s) { return sb_puts(&f->sql, s); }

int frag_printf(struct sqlfrag *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sb_vprintf(&f->sql, fmt, ap);
    va_end(ap);
    return rc;
}

static int frag_push(struct sqlfrag *f, struct sql_value v)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct sql_value *p = realloc(f->vals, cap * sizeof *p);
        if (!p) {
            free(v.s);
            return INSITU_ENOMEM;
        }
        f->vals = p;
        f->cap = cap;
    }
    f->vals[f->n++] = v;
    return sb_putc(&f->sql, '?');
}

int frag_int(struct sqlfrag *f, int64_t v)
{
    return frag_push(f, (struct sql_value){SV_INT, v, 0, NULL});
}

int frag_real(struct sqlfrag *f, double v)
{
    return frag_push(f, (struct sql_value){SV_REAL, 0, v, NULL});
}

int frag_text(struct sqlfrag *f, const char *s)
{
    if (!s)
        return frag_push(f, (struct sql_value){SV_NULL, 0, 0, NULL});
    char *copy = xstrdup(s);
    if (!copy)
        return INSITU_ENOMEM;
    return frag_push(f, (struct sql_value){SV_TEXT, 0, 0, copy});
}

int frag_cat(struct sqlfrag *dst, const struct sqlfrag *src)
{
    /* the text is copied piecewise: each '?' of src brings its value along */
    const char *p = sb_str(&src->sql);
    size_t k = 0;
    int rc = 0;
    for (; *p && !rc; p++) {
        if (*p != '?') {
            rc = sb_putc(&dst->sql, *p);
            continue;
        }
        struct sql_value v = src->vals[k++];
        if (v.type == SV_TEXT && !(v.s = xstrdup(v.s)))
            return INSITU_ENOMEM;
        rc = frag_push(dst, v);
    }
    return rc;
}

void frag_bind(const struct sqlfrag *f, struct stmt *s, int *idx)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct sql_value *v = &f->vals[i];
        switch (v->type) {
        case SV_NULL: st_bind_null(s, (*idx)++); break;
        case SV_INT: st_bind_int64(s, (*idx)++, v->i); break;
        case SV_REAL: st_bind_double(s, (*idx)++, v->d); break;
        case SV_TEXT: st_bind_text(s, (*idx)++, v->s); break;
        }
    }
}

/* Appends the printf format fmt (a dialect fragment) whose %1$s, %2$s, %3$s are the
 * fragments args[0..n), and whose own '?' placeholders take vals[0..nvals) in turn (cycling
 * when the format repeats them). */
static int frag_format(struct sqlfrag *o, const char *fmt, const struct sqlfrag *const *args,
                       int n, const struct sql_value *vals, int nvals)
{
    struct strbuf f = {0};
    int rc = sb_printf(&f, fmt, "\x01", "\x02", "\x03");
    int k = 0;
    for (const char *s = sb_str(&f); *s && !rc; s++) {
        if (*s >= 1 && *s <= 3 && *s <= n) {
            rc = frag_cat(o, args[*s - 1]);
        } else if (*s == '?' && nvals) {
            struct sql_value v = vals[k++ % nvals];
            if (v.type == SV_TEXT && !(v.s = xstrdup(v.s)))
                rc = INSITU_ENOMEM;
            else
                rc = frag_push(o, v);
        } else {
            rc = sb_putc(&o->sql, *s);
        }
    }
    sb_free(&f);
    return rc;
}

static int frag_format1(struct sqlfrag *o, const char *fmt, const struct sqlfrag *arg)
{
    const struct sqlfrag *args[] = {arg};
    return frag_format(o, fmt, args, 1, NULL, 0);
}

/* ==== functions of the expression language ==== */

enum fn {
    F_SUBSTRINGOF, F_CONTAINS, F_ENDSWITH, F_STARTSWITH, F_LENGTH, F_INDEXOF, F_SUBSTRING,
    F_TOLOWER, F_TOUPPER, F_TRIM, F_CONCAT,
    F_YEAR, F_MONTH, F_DAY, F_HOUR, F_MINUTE, F_SECOND, F_FRACSEC, F_DATE, F_TIME,
    F_TOTALOFFSET, F_NOW, F_MINDT, F_MAXDT,
    F_BEFORE, F_AFTER, F_MEETS, F_DURING, F_OVERLAPS, F_STARTS, F_FINISHES,
    F_ROUND, F_FLOOR, F_CEILING,
    F_DISTANCE, F_LENGTH_GEO, F_GEO_INTERSECTS,
    F_ST_EQUALS, F_ST_DISJOINT, F_ST_TOUCHES, F_ST_WITHIN, F_ST_OVERLAPS, F_ST_CROSSES,
    F_ST_INTERSECTS, F_ST_CONTAINS, F_ST_RELATE,
    F_COUNT
};

static const struct fninfo {
    const char *name;
    int min, max;
} fns[F_COUNT] = {
    [F_SUBSTRINGOF] = {"substringof", 2, 2}, [F_CONTAINS] = {"contains", 2, 2},
    [F_ENDSWITH] = {"endswith", 2, 2},       [F_STARTSWITH] = {"startswith", 2, 2},
    [F_LENGTH] = {"length", 1, 1},           [F_INDEXOF] = {"indexof", 2, 2},
    [F_SUBSTRING] = {"substring", 2, 3},     [F_TOLOWER] = {"tolower", 1, 1},
    [F_TOUPPER] = {"toupper", 1, 1},         [F_TRIM] = {"trim", 1, 1},
    [F_CONCAT] = {"concat", 2, 2},           [F_YEAR] = {"year", 1, 1},
    [F_MONTH] = {"month", 1, 1},             [F_DAY] = {"day", 1, 1},
    [F_HOUR] = {"hour", 1, 1},               [F_MINUTE] = {"minute", 1, 1},
    [F_SECOND] = {"second", 1, 1},           [F_FRACSEC] = {"fractionalseconds", 1, 1},
    [F_DATE] = {"date", 1, 1},               [F_TIME] = {"time", 1, 1},
    [F_TOTALOFFSET] = {"totaloffsetminutes", 1, 1},
    [F_NOW] = {"now", 0, 0},                 [F_MINDT] = {"mindatetime", 0, 0},
    [F_MAXDT] = {"maxdatetime", 0, 0},       [F_BEFORE] = {"before", 2, 2},
    [F_AFTER] = {"after", 2, 2},             [F_MEETS] = {"meets", 2, 2},
    [F_DURING] = {"during", 2, 2},           [F_OVERLAPS] = {"overlaps", 2, 2},
    [F_STARTS] = {"starts", 2, 2},           [F_FINISHES] = {"finishes", 2, 2},
    [F_ROUND] = {"round", 1, 1},             [F_FLOOR] = {"floor", 1, 1},
    [F_CEILING] = {"ceiling", 1, 1},         [F_DISTANCE] = {"geo.distance", 2, 2},
    [F_LENGTH_GEO] = {"geo.length", 1, 1},   [F_GEO_INTERSECTS] = {"geo.intersects", 2, 2},
    [F_ST_EQUALS] = {"st_equals", 2, 2},     [F_ST_DISJOINT] = {"st_disjoint", 2, 2},
    [F_ST_TOUCHES] = {"st_touches", 2, 2},   [F_ST_WITHIN] = {"st_within", 2, 2},
    [F_ST_OVERLAPS] = {"st_overlaps", 2, 2}, [F_ST_CROSSES] = {"st_crosses", 2, 2},
    [F_ST_INTERSECTS] = {"st_intersects", 2, 2},
    [F_ST_CONTAINS] = {"st_contains", 2, 2}, [F_ST_RELATE] = {"st_relate", 3, 3},
};

/* ==== lexer ==== */

enum tok {
    TK_EOF, TK_LP, TK_RP, TK_COMMA, TK_SLASH, TK_MINUS, TK_IDENT, TK_NUM, TK_STR, TK_TIME,
    TK_TOD, TK_TYPED
};

struct lexer {
    const char *opt; /* "$filter", for messages */
    const char *src;
    size_t len, i;
    enum tok t;
    size_t start, end; /* the token's bytes */
    char *text;        /* TK_STR, TK_TYPED, TK_TOD: decoded text (owned) */
    char prefix[16];   /* TK_TYPED: geography, geometry, duration */
    int is_int;
    int64_t iv;
    double dv;
    int64_t t0, t1;
    insitu_error *err;
};

/* The character (not byte) number of byte offset `off`, from 1. */
static int char_pos(const char *s, size_t off)
{
    int n = 1;
    for (size_t k = 0; k < off; k++)
        if (((unsigned char)s[k] & 0xC0) != 0x80)
            n++;
    return n;
}

static int lex_fail(struct lexer *lx, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lex_fail(struct lexer *lx, size_t off, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return insitu_error_set(lx->err, INSITU_EINVAL, "%s: at character %d: %s", lx->opt,
                            char_pos(lx->src, off), msg);
}

static int ident_start(int c) { return isalpha(c) || c == '_' || c == '@' || c >= 0x80; }
static int ident_char(int c) { return isalnum(c) || c == '_' || c == '.' || c == '@' || c >= 0x80; }

/* A short quote of the token for messages. */
static const char *tok_text(const struct lexer *lx, char *buf, size_t size)
{
    if (lx->t == TK_EOF)
        return "the end";
    size_t n = lx->end - lx->start;
    if (n > 40)
        n = 40;
    snprintf(buf, size, "'%.*s'", (int)n, lx->src + lx->start);
    return buf;
}

static int lex_string(struct lexer *lx, size_t quote, char **out)
{
    struct strbuf sb = {0};
    size_t k = quote + 1;
    for (;;) {
        if (k >= lx->len) {
            sb_free(&sb);
            return lex_fail(lx, quote, "string not closed (a quote inside a string is "
                                       "written '')");
        }
        if (lx->src[k] == '\'') {
            if (k + 1 < lx->len && lx->src[k + 1] == '\'') {
                sb_putc(&sb, '\'');
                k += 2;
                continue;
            }
            k++;
            break;
        }
        sb_putc(&sb, lx->src[k++]);
    }
    lx->i = k;
    *out = sb.data ? sb.data : xstrdup("");
    return *out ? 0 : INSITU_ENOMEM;
}

static int is_digit_at(const struct lexer *lx, size_t k)
{
    return k < lx->len && isdigit((unsigned char)lx->src[k]);
}

/* A date/time or an interval: 2020-01-01, 2020-01-01T00:00:00Z, start/end. A '+' of a zone
 * offset that reached us as a space (form-encoded query strings) is read back as '+'. */
static int lex_time(struct lexer *lx)
{
    size_t k = lx->i;
    struct strbuf sb = {0};
    while (k < lx->len) {
        char c = lx->src[k];
        if (isalnum((unsigned char)c) || c == ':' || c == '.' || c == '+' || c == '-' ||
            c == '/') {
            sb_putc(&sb, c);
            k++;
            continue;
        }
        if (c == ' ' && k + 5 < lx->len && isdigit((unsigned char)lx->src[k + 1]) &&
            isdigit((unsigned char)lx->src[k + 2]) && lx->src[k + 3] == ':' && sb.len > 10 &&
            strchr(sb_str(&sb), 'T') && !strchr(sb_str(&sb) + 10, '+') &&
            !strchr(sb_str(&sb) + 10, 'Z') && !strchr(sb_str(&sb) + 10, '-')) {
            sb_putc(&sb, '+');
            k++;
            continue;
        }
        break;
    }
    insitu_error terr = {0};
    int rc = interval_parse(sb_str(&sb), sb.len, &lx->t0, &lx->t1, &terr);
    if (rc) {
        lex_fail(lx, lx->i, "bad date/time '%.60s': %s", sb_str(&sb), terr.message);
        sb_free(&sb);
        return INSITU_EINVAL;
    }
    sb_free(&sb);
    lx->i = k;
    lx->t = TK_TIME;
    return 0;
}

/* A time of day: 12:00, 12:00:00, 12:00:00.5 */
static int lex_tod(struct lexer *lx)
{
    size_t k = lx->i;
    while (k < lx->len && (isdigit((unsigned char)lx->src[k]) || lx->src[k] == ':' ||
                           lx->src[k] == '.'))
        k++;
    size_t n = k - lx->i;
    const char *s = lx->src + lx->i;
    int ok = n >= 5 && s[2] == ':' && (n == 5 || (n >= 8 && s[5] == ':'));
    if (!ok)
        return lex_fail(lx, lx->i, "bad time of day '%.*s' (expected hh:mm:ss)", (int)n, s);
    lx->text = xstrndup(s, n == 5 ? 5 : 8);
    if (lx->text && n == 5) {
        char *full = malloc(9);
        if (full)
            snprintf(full, 9, "%s:00", lx->text);
        free(lx->text);
        lx->text = full;
    }
    lx->i = k;
    lx->t = TK_TOD;
    return lx->text ? 0 : INSITU_ENOMEM;
}

static int lex_number(struct lexer *lx)
{
    size_t k = lx->i;
    int real = 0;
    while (is_digit_at(lx, k))
        k++;
    if (k < lx->len && lx->src[k] == '.' && is_digit_at(lx, k + 1)) {
        real = 1;
        k++;
        while (is_digit_at(lx, k))
            k++;
    }
    if (k < lx->len && (lx->src[k] == 'e' || lx->src[k] == 'E')) {
        size_t e = k + 1;
        if (e < lx->len && (lx->src[e] == '+' || lx->src[e] == '-'))
            e++;
        if (is_digit_at(lx, e)) {
            real = 1;
            k = e;
            while (is_digit_at(lx, k))
                k++;
        }
    }
    if (k < lx->len && ident_char((unsigned char)lx->src[k]))
        return lex_fail(lx, lx->i, "bad number '%.*s'", (int)(k - lx->i + 1), lx->src + lx->i);
    char buf[400];
    size_t n = k - lx->i;
    if (n >= sizeof buf)
        return lex_fail(lx, lx->i, "number too long (%zu digits)", n);
    memcpy(buf, lx->src + lx->i, n);
    buf[n] = '\0';
    lx->is_int = 0;
    if (!real) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == 0) {
            lx->is_int = 1;
            lx->iv = v;
        }
    }
    if (!lx->is_int) {
        lx->dv = strtod(buf, NULL);
        if (!isfinite(lx->dv))
            return lex_fail(lx, lx->i, "number out of range: %.40s", buf);
    }
    lx->i = k;
    lx->t = TK_NUM;
    return 0;
}

/* Reads the next token into lx. */
static int lex_next(struct lexer *lx)
{
    free(lx->text);
    lx->text = NULL;
    while (lx->i < lx->len && (lx->src[lx->i] == ' ' || lx->src[lx->i] == '\t' ||
                               lx->src[lx->i] == '\n' || lx->src[lx->i] == '\r'))
        lx->i++;
    lx->start = lx->i;
    int rc = 0;
    if (lx->i >= lx->len) {
        lx->t = TK_EOF;
    } else {
        unsigned char c = (unsigned char)lx->src[lx->i];
        switch (c) {
        case '(': lx->t = TK_LP; lx->i++; break;
        case ')': lx->t = TK_RP; lx->i++; break;
        case ',': lx->t = TK_COMMA; lx->i++; break;
        case '/': lx->t = TK_SLASH; lx->i++; break;
        case '-': lx->t = TK_MINUS; lx->i++; break;
        case '\'':
            lx->t = TK_STR;
            rc = lex_string(lx, lx->i, &lx->text);
            break;
        default:
            if (isdigit(c)) {
                if (lx->i + 4 < lx->len && is_digit_at(lx, lx->i + 3) &&
                    lx->src[lx->i + 4] == '-')
                    rc = lex_time(lx);
                else if (is_digit_at(lx, lx->i + 1) && lx->i + 2 < lx->len &&
                         lx->src[lx->i + 2] == ':')
                    rc = lex_tod(lx);
                else
                    rc = lex_number(lx);
            } else if (ident_start(c)) {
                size_t k = lx->i;
                while (k < lx->len && ident_char((unsigned char)lx->src[k]))
                    k++;
                if (k < lx->len && lx->src[k] == '\'') {
                    size_t n = k - lx->i;
                    snprintf(lx->prefix, sizeof lx->prefix, "%.*s", (int)(n < 15 ? n : 15),
                             lx->src + lx->i);
                    lx->t = TK_TYPED;
                    rc = lex_string(lx, k, &lx->text);
                } else {
                    lx->t = TK_IDENT;
                    lx->i = k;
                }
            } else {
                rc = lex_fail(lx, lx->i, "unexpected character '%c'", isprint(c) ? c : '?');
            }
        }
    }
    lx->end = lx->i;
    return rc;
}

/* 1 when the token is the keyword `word`. OData 4.01 keywords are case-insensitive (its
 * ABNF quotes them as "and", "asc", "true"...: RFC 7405 case-insensitive strings), except
 * null (%s"null"): see tok_is_exact. */
static int tok_is(const struct lexer *lx, const char *word)
{
    size_t n = strlen(word);
    return lx->t == TK_IDENT && lx->end - lx->start == n &&
           strncasecmp(lx->src + lx->start, word, n) == 0;
}

static int tok_is_exact(const struct lexer *lx, const char *word)
{
    size_t n = strlen(word);
    return lx->t == TK_IDENT && lx->end - lx->start == n &&
           strncmp(lx->src + lx->start, word, n) == 0;
}

/* ==== parser ==== */

struct parser {
    struct lexer lx;
    int depth, nodes;
};

static int pfail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pfail(struct parser *p, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lex_fail(&p->lx, p->lx.start, "%s", msg);
}

static struct fexpr *node(struct parser *p, enum fx_kind kind, size_t off)
{
    if (++p->nodes > FILTER_MAX_NODES) {
        pfail(p, "expression too large (more than %d operators, names and values)",
              FILTER_MAX_NODES);
        return NULL;
    }
    struct fexpr *e = calloc(1, sizeof *e);
    if (!e) {
        insitu_error_set(p->lx.err, INSITU_ENOMEM, "out of memory");
        return NULL;
    }
    e->kind = kind;
    e->pos = char_pos(p->lx.src, off);
    e->t1 = INSITU_TIME_NONE;
    return e;
}

void fexpr_free(struct fexpr *e)
{
    if (!e)
        return;
    fexpr_free(e->a);
    fexpr_free(e->b);
    free(e->s);
    for (int i = 0; i < e->nsegs; i++)
        free(e->segs[i]);
    free(e->segs);
    for (int i = 0; i < e->nargs; i++)
        fexpr_free(e->args[i]);
    free(e->args);
    free(e);
}

static struct fexpr *parse_or(struct parser *p);

static int enter(struct parser *p)
{
    if (++p->depth > FILTER_MAX_DEPTH) {
        pfail(p, "expression nested too deeply (more than %d levels)", FILTER_MAX_DEPTH);
        return -1;
    }
    return 0;
}

/* WKT of a geography'...' literal: checked and normalised by OGR, with its envelope. */
static int geom_literal(struct parser *p, struct fexpr *e, const char *text)
{
    const char *wkt = text;
    if (strncasecmp(wkt, "SRID=", 5) == 0) {
        const char *semi = strchr(wkt, ';');
        if (!semi || strncmp(wkt + 5, "4326;", 5) != 0)
            return pfail(p, "geometry literal: only SRID=4326 (WGS 84 longitude, latitude) "
                            "is supported");
        wkt = semi + 1;
    }
    char *cursor = (char *)wkt;
    OGRGeometryH g = NULL;
    if (OGR_G_CreateFromWkt(&cursor, NULL, &g) != OGRERR_NONE || !g) {
        if (g)
            OGR_G_DestroyGeometry(g);
        return pfail(p, "geometry literal: not valid WKT: '%.60s'", wkt);
    }
    while (*cursor == ' ')
        cursor++;
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    char *out = NULL;
    int bad = *cursor != '\0' || OGR_G_IsEmpty(g) || OGR_G_ExportToWkt(g, &out) != OGRERR_NONE;
    OGR_G_DestroyGeometry(g);
    if (bad) {
        CPLFree(out);
        return pfail(p, "geometry literal: not valid WKT (or empty): '%.60s'", wkt);
    }
    e->s = xstrdup(out);
    CPLFree(out);
    e->env[0] = env.MinX;
    e->env[1] = env.MinY;
    e->env[2] = env.MaxX;
    e->env[3] = env.MaxY;
    return e->s ? 0 : INSITU_ENOMEM;
}

static struct fexpr *parse_literal_typed(struct parser *p)
{
    struct lexer *lx = &p->lx;
    struct fexpr *e = NULL;
    if (strcasecmp(lx->prefix, "geography") == 0 || strcasecmp(lx->prefix, "geometry") == 0) {
        e = node(p, FX_GEOM, lx->start);
        if (e && geom_literal(p, e, lx->text)) {
            fexpr_free(e);
            return NULL;
        }
    } else if (strcasecmp(lx->prefix, "duration") == 0) {
        int64_t seconds;
        int months;
        insitu_error derr = {0};
        if (duration_parse(lx->text, strlen(lx->text), &seconds, &months, &derr) || months) {
            pfail(p, "bad duration '%.40s' (expected days, hours, minutes, seconds: P1DT2H)",
                  lx->text);
            return NULL;
        }
        e = node(p, FX_DURATION, lx->start);
        if (e)
            e->i = seconds * US_PER_SEC;
    } else {
        pfail(p, "unknown literal type '%s' (expected geography, geometry or duration)",
              lx->prefix);
        return NULL;
    }
    return e;
}

static struct fexpr *parse_call(struct parser *p, size_t off, const char *name, size_t n)
{
    int fn = -1;
    for (int k = 0; k < F_COUNT; k++)
        if (strlen(fns[k].name) == n && strncasecmp(fns[k].name, name, n) == 0)
            fn = k;
    if (fn < 0) {
        lex_fail(&p->lx, off, "unknown function '%.*s'", (int)(n > 40 ? 40 : n), name);
        return NULL;
    }
    struct fexpr *e = node(p, FX_CALL, off);
    if (!e)
        return NULL;
    e->fn = fn;
    if (lex_next(&p->lx)) /* past '(' */
        goto fail;
    while (p->lx.t != TK_RP) {
        if (e->nargs == 3) {
            pfail(p, "too many arguments to %s", fns[fn].name);
            goto fail;
        }
        if (!e->args && !(e->args = calloc(3, sizeof *e->args)))
            goto fail;
        struct fexpr *arg = parse_or(p);
        if (!arg)
            goto fail;
        e->args[e->nargs++] = arg;
        if (p->lx.t == TK_COMMA) {
            if (lex_next(&p->lx))
                goto fail;
            continue;
        }
        if (p->lx.t != TK_RP) {
            char b[64];
            pfail(p, "expected ',' or ')' in the arguments of %s, found %s", fns[fn].name,
                  tok_text(&p->lx, b, sizeof b));
            goto fail;
        }
    }
    if (e->nargs < fns[fn].min || e->nargs > fns[fn].max) {
        lex_fail(&p->lx, off, "%s takes %d%s argument%s, not %d", fns[fn].name, fns[fn].min,
                 fns[fn].max > fns[fn].min ? " or more" : "", fns[fn].max == 1 ? "" : "s",
                 e->nargs);
        goto fail;
    }
    if (lex_next(&p->lx))
        goto fail;
    return e;
fail:
    fexpr_free(e);
    return NULL;
}

/* A path segment after '/': an identifier, which inside JSON objects may hold '-'. */
static int path_segment(struct parser *p, char **out)
{
    struct lexer *lx = &p->lx;
    size_t k = lx->i;
    while (k < lx->len && (ident_char((unsigned char)lx->src[k]) || lx->src[k] == '-'))
        k++;
    if (k == lx->i)
        return lex_fail(lx, lx->i, "expected a property name after '/'");
    *out = xstrndup(lx->src + lx->i, k - lx->i);
    lx->i = k;
    return *out ? 0 : INSITU_ENOMEM;
}

/* An index into a JSON array, "[n]" (properties/arr[1], result[0]): kept as a segment of its
 * own, brackets included, that json_path_param writes as an array step. */
static int path_index(struct parser *p, char **out)
{
    struct lexer *lx = &p->lx;
    size_t k = lx->i + 1;
    while (k < lx->len && k - lx->i <= 9 && isdigit((unsigned char)lx->src[k]))
        k++;
    if (k == lx->i + 1 || k >= lx->len || lx->src[k] != ']')
        return lex_fail(lx, lx->i, "expected an array index ([0], [1]...) after '['");
    *out = xstrndup(lx->src + lx->i, k + 1 - lx->i);
    lx->i = k + 1;
    return *out ? 0 : INSITU_ENOMEM;
}

static struct fexpr *parse_path(struct parser *p)
{
    struct lexer *lx = &p->lx;
    struct fexpr *e = node(p, FX_PATH, lx->start);
    if (!e)
        return NULL;
    e->segs = calloc(1, sizeof *e->segs);
    if (!e->segs || !(e->segs[0] = xstrndup(lx->src + lx->start, lx->end - lx->start)))
        goto fail;
    e->nsegs = 1;
    while (lx->i < lx->len && (lx->src[lx->i] == '/' || lx->src[lx->i] == '[')) {
        if (e->nsegs >= 16) {
            pfail(p, "path too long");
            goto fail;
        }
        char **segs = realloc(e->segs, (size_t)(e->nsegs + 1) * sizeof *segs);
        if (!segs)
            goto fail;
        e->segs = segs;
        if (lx->src[lx->i] == '[' ? path_index(p, &e->segs[e->nsegs])
                                  : (lx->i++, path_segment(p, &e->segs[e->nsegs])))
            goto fail;
        e->nsegs++;
    }
    if (lex_next(lx))
        goto fail;
    return e;
fail:
    fexpr_free(e);
    return NULL;
}

static struct fexpr *parse_primary(struct parser *p)
{
    struct lexer *lx = &p->lx;
    struct fexpr *e = NULL;
    char b[64];
    switch (lx->t) {
    case TK_LP: {
        size_t open = lx->start;
        if (lex_next(lx) || !(e = parse_or(p)))
            return NULL;
        if (lx->t != TK_RP) {
            pfail(p, "expected ')' to close the '(' at character %d, found %s",
                  char_pos(lx->src, open), tok_text(lx, b, sizeof b));
            fexpr_free(e);
            return NULL;
        }
        break;
    }
    case TK_NUM:
        e = node(p, lx->is_int ? FX_INT : FX_REAL, lx->start);
        if (e) {
            e->i = lx->iv;
            e->d = lx->dv;
        }
        break;
    case TK_STR:
    case TK_TOD:
        e = node(p, FX_STR, lx->start);
        if (e) {
            e->s = lx->text;
            lx->text = NULL;
        }
        break;
    case TK_TIME:
        e = node(p, FX_TIME, lx->start);
        if (e) {
            e->t0 = lx->t0;
            e->t1 = lx->t1;
        }
        break;
    case TK_TYPED: e = parse_literal_typed(p); break;
    case TK_IDENT: {
        size_t start = lx->start, n = lx->end - lx->start;
        const char *name = lx->src + start;
        if (lx->i < lx->len && lx->src[lx->i] == '(') {
            lx->i++;
            lx->t = TK_LP;
            return parse_call(p, start, name, n);
        }
        if (tok_is(lx, "true") || tok_is(lx, "false")) {
            e = node(p, FX_BOOL, start);
            if (e)
                e->i = tok_is(lx, "true");
        } else if (tok_is_exact(lx, "null")) {
            e = node(p, FX_NULL, start);
        } else if (tok_is(lx, "null")) {
            pfail(p, "'%.*s': null is written in lower case", (int)n, name);
            return NULL;
        } else {
            static const char *const ops[] = {"and", "or", "not", "eq", "ne", "gt", "ge", "lt",
                                              "le", "add", "sub", "mul", "div", "mod"};
            for (size_t k = 0; k < ARRAY_LEN(ops); k++)
                if (tok_is(lx, ops[k])) {
                    pfail(p, "expected a value before '%s'", ops[k]);
                    return NULL;
                }
            return parse_path(p);
        }
        break;
    }
    default:
        pfail(p, "expected a value, found %s", tok_text(lx, b, sizeof b));
        return NULL;
    }
    if (!e)
        return NULL;
    if (lex_next(lx)) {
        fexpr_free(e);
        return NULL;
    }
    return e;
}

static struct fexpr *binary(struct parser *p, enum fx_kind kind, struct fexpr *a,
                            struct fexpr *b, size_t off)
{
    if (!b) {
        fexpr_free(a);
        return NULL;
    }
    struct fexpr *e = node(p, kind, off);
    if (!e) {
        fexpr_free(a);
        fexpr_free(b);
        return NULL;
    }
    e->pos = a->pos;
    e->a = a;
    e->b = b;
    return e;
}

static struct fexpr *parse_unary(struct parser *p)
{
    if (enter(p))
        return NULL;
    struct fexpr *e;
    if (p->lx.t == TK_MINUS) {
        size_t off = p->lx.start;
        if (lex_next(&p->lx) || !(e = parse_unary(p)))
            return NULL;
        if (e->kind == FX_INT && e->i != INT64_MIN) {
            e->i = -e->i;
        } else if (e->kind == FX_REAL) {
            e->d = -e->d;
        } else {
            struct fexpr *neg = node(p, FX_NEG, off);
            if (!neg) {
                fexpr_free(e);
                return NULL;
            }
            neg->a = e;
            e = neg;
        }
    } else {
        e = parse_primary(p);
    }
    p->depth--;
    return e;
}

static struct fexpr *parse_mul(struct parser *p)
{
    struct fexpr *e = parse_unary(p);
    while (e) {
        enum fx_kind k = tok_is(&p->lx, "mul") ? FX_MUL
                         : tok_is(&p->lx, "div") ? FX_DIV
                         : tok_is(&p->lx, "mod") ? FX_MOD
                                                 : FX_OR;
        if (k == FX_OR)
            break;
        size_t off = p->lx.start;
        if (lex_next(&p->lx)) {
            fexpr_free(e);
            return NULL;
        }
        e = binary(p, k, e, parse_unary(p), off);
    }
    return e;
}

static struct fexpr *parse_add(struct parser *p)
{
    struct fexpr *e = parse_mul(p);
    while (e) {
        enum fx_kind k = tok_is(&p->lx, "add") ? FX_ADD : tok_is(&p->lx, "sub") ? FX_SUB : FX_OR;
        if (k == FX_OR)
            break;
        size_t off = p->lx.start;
        if (lex_next(&p->lx)) {
            fexpr_free(e);
            return NULL;
        }
        e = binary(p, k, e, parse_mul(p), off);
    }
    return e;
}

static struct fexpr *parse_cmp(struct parser *p)
{
    struct fexpr *e = parse_add(p);
    if (!e)
        return NULL;
    static const struct {
        const char *w;
        enum fx_kind k;
    } ops[] = {{"eq", FX_EQ}, {"ne", FX_NE}, {"gt", FX_GT},
               {"ge", FX_GE}, {"lt", FX_LT}, {"le", FX_LE}};
    for (size_t k = 0; k < ARRAY_LEN(ops); k++) {
        if (!tok_is(&p->lx, ops[k].w))
            continue;
        size_t off = p->lx.start;
        if (lex_next(&p->lx)) {
            fexpr_free(e);
            return NULL;
        }
        return binary(p, ops[k].k, e, parse_add(p), off);
    }
    return e;
}

static struct fexpr *parse_not(struct parser *p)
{
    if (!tok_is(&p->lx, "not"))
        return parse_cmp(p);
    size_t off = p->lx.start;
    if (enter(p) || lex_next(&p->lx))
        return NULL;
    struct fexpr *a = parse_not(p);
    p->depth--;
    if (!a)
        return NULL;
    struct fexpr *e = node(p, FX_NOT, off);
    if (!e) {
        fexpr_free(a);
        return NULL;
    }
    e->a = a;
    return e;
}

static struct fexpr *parse_and(struct parser *p)
{
    struct fexpr *e = parse_not(p);
    while (e && tok_is(&p->lx, "and")) {
        size_t off = p->lx.start;
        if (lex_next(&p->lx)) {
            fexpr_free(e);
            return NULL;
        }
        e = binary(p, FX_AND, e, parse_not(p), off);
    }
    return e;
}

static struct fexpr *parse_or(struct parser *p)
{
    if (enter(p))
        return NULL;
    struct fexpr *e = parse_and(p);
    while (e && tok_is(&p->lx, "or")) {
        size_t off = p->lx.start;
        if (lex_next(&p->lx)) {
            fexpr_free(e);
            return NULL;
        }
        e = binary(p, FX_OR, e, parse_and(p), off);
    }
    p->depth--;
    return e;
}

static int parser_open(struct parser *p, const char *opt, const char *text, insitu_error *err)
{
    memset(p, 0, sizeof *p);
    p->lx.opt = opt;
    p->lx.src = text;
    p->lx.len = strlen(text);
    p->lx.err = err;
    if (p->lx.len > FILTER_MAX_TEXT)
        return insitu_error_set(err, INSITU_EINVAL, "%s: too long (%zu characters, at most %d)",
                                opt, p->lx.len, FILTER_MAX_TEXT);
    if (!utf8_valid(text, p->lx.len))
        return insitu_error_set(err, INSITU_EINVAL, "%s: not valid UTF-8", opt);
    return lex_next(&p->lx);
}

int filter_parse(const char *text, struct fexpr **out, insitu_error *err)
{
    *out = NULL;
    struct parser p;
    int rc = parser_open(&p, "$filter", text, err);
    if (rc)
        return rc;
    if (p.lx.t == TK_EOF) {
        free(p.lx.text);
        return insitu_error_set(err, INSITU_EINVAL, "$filter: empty expression");
    }
    struct fexpr *e = parse_or(&p);
    if (e && p.lx.t != TK_EOF) {
        char b[64];
        pfail(&p, "unexpected %s (expected 'and', 'or' or the end)",
              tok_text(&p.lx, b, sizeof b));
        fexpr_free(e);
        e = NULL;
    }
    free(p.lx.text);
    if (!e)
        return err && err->code ? err->code : INSITU_EINVAL;
    *out = e;
    return 0;
}

/* ==== query options ==== */

void sq_init(struct sta_query *q)
{
    memset(q, 0, sizeof *q);
    q->top = q->skip = -1;
    q->count = -1;
}

void sq_free(struct sta_query *q)
{
    if (!q)
        return;
    fexpr_free(q->filter);
    for (int i = 0; i < q->n_orderby; i++)
        fexpr_free(q->orderby[i].expr);
    free(q->orderby);
    for (int i = 0; i < q->n_select; i++)
        free(q->select[i]);
    free(q->select);
    for (int i = 0; i < q->n_expand; i++) {
        free(q->expand[i].nav);
        sq_free(&q->expand[i].q);
    }
    free(q->expand);
    for (int i = 0; i < 4; i++)
        free(q->text[i]);
    sq_init(q);
}

/* Splits text at `sep` outside quotes and parentheses: *n pieces, each [start, end). */
static int split_top(const char *text, char sep, size_t (*spans)[2], int max, int *n)
{
    int depth = 0, quoted = 0;
    size_t start = 0, i = 0;
    *n = 0;
    for (;; i++) {
        char c = text[i];
        if (c == '\'' )
            quoted = !quoted;
        else if (!quoted && c == '(')
            depth++;
        else if (!quoted && c == ')')
            depth--;
        if (c == '\0' || (c == sep && !quoted && depth == 0)) {
            if (*n == max)
                return -1;
            spans[*n][0] = start;
            spans[*n][1] = i;
            (*n)++;
            start = i + 1;
            if (c == '\0')
                return 0;
        }
    }
}

static int parse_count_value(const char *opt, const char *v, int64_t *out, insitu_error *err)
{
    int64_t x;
    if (!*v || parse_int64(v, strlen(v), &x) || x < 0 || v[0] == '+' || v[0] == '-')
        return insitu_error_set(err, INSITU_EINVAL,
                                "%s: expected a non-negative integer, not '%.40s'", opt, v);
    *out = x;
    return 0;
}

static int parse_orderby(struct sta_query *q, const char *text, insitu_error *err)
{
    size_t spans[64][2];
    int n;
    if (!*text)
        return insitu_error_set(err, INSITU_EINVAL, "$orderby: empty");
    if (strlen(text) > FILTER_MAX_TEXT)
        return insitu_error_set(err, INSITU_EINVAL, "$orderby: too long (%zu characters)",
                                strlen(text));
    if (split_top(text, ',', spans, 64, &n))
        return insitu_error_set(err, INSITU_EINVAL, "$orderby: more than 64 keys");
    q->orderby = calloc((size_t)n, sizeof *q->orderby);
    if (!q->orderby)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    for (int k = 0; k < n; k++) {
        /* each key is parsed alone, but positions are reported in the whole option */
        struct parser p;
        char *item = xstrndup(text, spans[k][1]);
        if (!item)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        int rc = parser_open(&p, "$orderby", item, err);
        if (!rc) {
            p.lx.i = p.lx.start = spans[k][0];
            rc = lex_next(&p.lx);
        }
        struct fexpr *e = NULL;
        if (!rc && p.lx.t == TK_EOF)
            rc = pfail(&p, "empty sort key");
        if (!rc && !(e = parse_or(&p)))
            rc = INSITU_EINVAL;
        int desc = 0;
        if (!rc && (tok_is(&p.lx, "asc") || tok_is(&p.lx, "desc"))) {
            desc = tok_is(&p.lx, "desc");
            rc = lex_next(&p.lx);
        }
        if (!rc && p.lx.t != TK_EOF) {
            char b[64];
            rc = pfail(&p, "unexpected %s (expected 'asc', 'desc' or ',')",
                       tok_text(&p.lx, b, sizeof b));
        }
        free(p.lx.text);
        free(item);
        if (rc) {
            fexpr_free(e);
            return err && err->code ? err->code : INSITU_EINVAL;
        }
        q->orderby[q->n_orderby].expr = e;
        q->orderby[q->n_orderby++].desc = desc;
    }
    return 0;
}

static int parse_select(struct sta_query *q, const char *text, insitu_error *err)
{
    size_t spans[64][2];
    int n;
    if (split_top(text, ',', spans, 64, &n))
        return insitu_error_set(err, INSITU_EINVAL, "$select: more than 64 names");
    q->select = calloc((size_t)n, sizeof *q->select);
    if (!q->select)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    for (int k = 0; k < n; k++) {
        const char *s = text + spans[k][0];
        size_t len = spans[k][1] - spans[k][0];
        while (len && *s == ' ') {
            s++;
            len--;
        }
        while (len && s[len - 1] == ' ')
            len--;
        int ok = len > 0 && ident_start((unsigned char)s[0]);
        for (size_t i = 0; ok && i < len; i++)
            ok = ident_char((unsigned char)s[i]);
        if (!ok)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$select: at character %d: expected a property name, "
                                    "found '%.*s'",
                                    char_pos(text, spans[k][0]), (int)(len > 40 ? 40 : len), s);
        if (!(q->select[q->n_select++] = xstrndup(s, len)))
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    return 0;
}

/* The expand item for navigation `name` in q, added when missing. */
static struct sta_expand *expand_item(struct sta_query *q, const char *name, size_t n, int pos)
{
    for (int i = 0; i < q->n_expand; i++)
        if (strlen(q->expand[i].nav) == n && strncmp(q->expand[i].nav, name, n) == 0)
            return &q->expand[i];
    struct sta_expand *p = realloc(q->expand, (size_t)(q->n_expand + 1) * sizeof *p);
    if (!p)
        return NULL;
    q->expand = p;
    struct sta_expand *x = &q->expand[q->n_expand];
    if (!(x->nav = xstrndup(name, n)))
        return NULL;
    x->pos = pos;
    sq_init(&x->q);
    q->n_expand++;
    return x;
}

static int parse_expand(struct sta_query *q, const char *text, int depth, insitu_error *err);

/* Options of an expand item: "$top=2;$select=name" */
static int parse_expand_options(struct sta_query *q, const char *text, int depth,
                                insitu_error *err)
{
    size_t spans[16][2];
    int n;
    if (split_top(text, ';', spans, 16, &n))
        return insitu_error_set(err, INSITU_EINVAL, "$expand: too many options");
    for (int k = 0; k < n; k++) {
        char *opt = xstrndup(text + spans[k][0], spans[k][1] - spans[k][0]);
        if (!opt)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        char *eq = strchr(opt, '=');
        int rc;
        if (!eq) {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "$expand: expected $option=value, found '%.40s'", opt);
        } else {
            *eq = '\0';
            char *key = str_trim(opt);
            rc = sq_parse_option(q, key, eq + 1, depth, err);
            if (rc)
                insitu_error_prefix(err, "$expand");
        }
        free(opt);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_expand(struct sta_query *q, const char *text, int depth, insitu_error *err)
{
    if (depth >= EXPAND_MAX_DEPTH)
        return insitu_error_set(err, INSITU_EINVAL, "$expand: nested more than %d levels",
                                EXPAND_MAX_DEPTH);
    size_t spans[32][2];
    int n;
    if (split_top(text, ',', spans, 32, &n))
        return insitu_error_set(err, INSITU_EINVAL, "$expand: more than 32 items");
    for (int k = 0; k < n; k++) {
        const char *s = text + spans[k][0], *end = text + spans[k][1];
        while (s < end && *s == ' ')
            s++;
        const char *paren = memchr(s, '(', (size_t)(end - s));
        const char *path_end = paren ? paren : end;
        while (path_end > s && path_end[-1] == ' ')
            path_end--;
        if (path_end == s)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$expand: at character %d: expected a navigation property",
                                    char_pos(text, (size_t)(s - text)));
        /* Datastreams/Observations: each step nests in the one before */
        struct sta_query *level = q;
        const char *seg = s;
        struct sta_expand *x = NULL;
        for (int d = depth;; d++) {
            const char *slash = memchr(seg, '/', (size_t)(path_end - seg));
            const char *seg_end = slash ? slash : path_end;
            int ok = seg_end > seg && ident_start((unsigned char)*seg);
            for (const char *c = seg; ok && c < seg_end; c++)
                ok = ident_char((unsigned char)*c);
            if (!ok)
                return insitu_error_set(err, INSITU_EINVAL,
                                        "$expand: at character %d: expected a navigation "
                                        "property name, found '%.*s'",
                                        char_pos(text, (size_t)(seg - text)),
                                        (int)(seg_end - seg > 40 ? 40 : seg_end - seg), seg);
            if (d >= EXPAND_MAX_DEPTH)
                return insitu_error_set(err, INSITU_EINVAL,
                                        "$expand: nested more than %d levels", EXPAND_MAX_DEPTH);
            x = expand_item(level, seg, (size_t)(seg_end - seg),
                            char_pos(text, (size_t)(seg - text)));
            if (!x)
                return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            if (!slash)
                break;
            level = &x->q;
            seg = slash + 1;
        }
        if (paren) {
            const char *close = end;
            while (close > paren && close[-1] == ' ')
                close--;
            if (close == paren + 1 || close[-1] != ')')
                return insitu_error_set(err, INSITU_EINVAL,
                                        "$expand: at character %d: expected ')' to close the "
                                        "options of '%s'",
                                        char_pos(text, (size_t)(end - text)), x->nav);
            char *inner = xstrndup(paren + 1, (size_t)(close - 1 - (paren + 1)));
            if (!inner)
                return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            int nest = 0;
            for (const char *c = s; c < path_end; c++)
                nest += *c == '/';
            int rc = parse_expand_options(&x->q, inner, depth + nest + 1, err);
            free(inner);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int sq_option(struct sta_query *q, const char *key, const char *value, int depth,
                     insitu_error *err);

int sq_parse_option(struct sta_query *q, const char *key, const char *value, int depth,
                    insitu_error *err)
{
    static const char *const names[] = {"$filter", "$orderby", "$select", "$expand"};
    int rc = sq_option(q, key, value, depth, err);
    for (int i = 0; !rc && i < 4; i++)
        if (strcmp(key, names[i]) == 0 && !q->text[i] && !(q->text[i] = xstrdup(value)))
            rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    return rc;
}

static int sq_option(struct sta_query *q, const char *key, const char *value, int depth,
                     insitu_error *err)
{
    if (strcmp(key, "$filter") == 0) {
        if (q->filter)
            return insitu_error_set(err, INSITU_EINVAL, "$filter given twice");
        return filter_parse(value, &q->filter, err);
    }
    if (strcmp(key, "$orderby") == 0) {
        if (q->orderby)
            return insitu_error_set(err, INSITU_EINVAL, "$orderby given twice");
        return parse_orderby(q, value, err);
    }
    if (strcmp(key, "$select") == 0) {
        if (q->select)
            return insitu_error_set(err, INSITU_EINVAL, "$select given twice");
        return parse_select(q, value, err);
    }
    if (strcmp(key, "$expand") == 0) {
        if (!*value)
            return insitu_error_set(err, INSITU_EINVAL, "$expand: empty");
        if (strlen(value) > FILTER_MAX_TEXT)
            return insitu_error_set(err, INSITU_EINVAL, "$expand: too long");
        return parse_expand(q, value, depth, err);
    }
    if (strcmp(key, "$top") == 0 || strcmp(key, "$skip") == 0) {
        int64_t *slot = key[1] == 't' ? &q->top : &q->skip;
        if (*slot >= 0)
            return insitu_error_set(err, INSITU_EINVAL, "%s given twice", key);
        return parse_count_value(key, value, slot, err);
    }
    if (strcmp(key, "$count") == 0) {
        if (q->count >= 0)
            return insitu_error_set(err, INSITU_EINVAL, "$count given twice");
        /* an OData boolean: case-insensitive */
        if (strcasecmp(value, "true") && strcasecmp(value, "false"))
            return insitu_error_set(err, INSITU_EINVAL,
                                    "$count: expected true or false, not '%.40s'", value);
        q->count = strcasecmp(value, "true") == 0;
        return 0;
    }
    return insitu_error_set(err, INSITU_EUNSUPPORTED, "%.40s: not a supported query option",
                            key);
}

/* ==== the compiler ==== */

enum vt { VT_NUM, VT_STR, VT_BOOL, VT_TIME, VT_DUR, VT_GEOM, VT_ANY, VT_RESULT, VT_NULL };
enum tkind { TKI_INST, TKI_INTV, TKI_MAYBE };

/* A compiled value. A JSON value (ANY) and a result (RESULT) have no one SQL type: they are
 * read through the dialect's json_number, json_text or json_bool, chosen by what they are
 * compared with or used as, so that both backends answer alike (a value of another type
 * never matches). */
struct cv {
    enum vt t;
    struct sqlfrag a;     /* the value; TIME: start; RESULT: the number; BOOL: a condition;
                           * ANY: the JSON text holding it */
    struct sqlfrag b;     /* TIME: end (not for TKI_INST); RESULT: the JSON text */
    struct sqlfrag path;  /* ANY: the path parameter inside a */
    enum tkind tk;
    const struct fexpr *lit; /* the literal it came from, or NULL */
    const char *galias, *gtable; /* GEOM: a geometry column of this row */
};

static void cv_free(struct cv *v)
{
    frag_free(&v->a);
    frag_free(&v->b);
    frag_free(&v->path);
}

struct hoist {
    const struct fexpr *path;
    int split;            /* segs[0..split] are navigations, hoisted into EXISTS */
    enum sta_type type;   /* type after the split */
    char alias[8];        /* alias of that type's row */
};

struct fctx {
    const char *opt;
    const struct sql_dialect *d;
    int64_t now_us;
    int next_alias;
    struct hoist hoists[8];
    int nhoists;
    insitu_error *err;
};

static int cfail(struct fctx *c, const struct fexpr *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfail(struct fctx *c, const struct fexpr *e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return insitu_error_set(c->err, INSITU_EINVAL, "%s: at character %d: %s", c->opt,
                            e ? e->pos : 1, msg);
}

static const char *vt_name(enum vt t)
{
    static const char *const names[] = {"a number", "text", "a condition", "a time",
                                        "a duration", "a geometry", "a value", "a result",
                                        "null"};
    return names[t];
}

static void new_alias(struct fctx *c, char *buf)
{
    snprintf(buf, 8, "j%d", ++c->next_alias % 100000);
}

static int cval(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                struct cv *out);
static int cbool(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                 int hoist, struct sqlfrag *out);

/* The JSON path parameter for keys segs[from..n). */
static int json_path_param(struct fctx *c, char *const *segs, int from, int n,
                           struct sqlfrag *out)
{
    struct strbuf path = {0};
    if (c->d->json_path_style == JSON_PATH_DOLLAR) {
        sb_putc(&path, '$');
        for (int k = from; k < n; k++) {
            if (segs[k][0] == '[') { /* an array index, as it is: $."arr"[1] */
                sb_puts(&path, segs[k]);
                continue;
            }
            sb_puts(&path, ".\"");
            for (const char *s = segs[k]; *s; s++) {
                if (*s == '"' || *s == '\\')
                    sb_putc(&path, '\\');
                sb_putc(&path, *s);
            }
            sb_putc(&path, '"');
        }
    } else {
        sb_putc(&path, '{');
        for (int k = from; k < n; k++) {
            sb_puts(&path, k > from ? ",\"" : "\"");
            /* an array index: its number, which #> reads as a position in an array */
            const char *step = segs[k];
            char num[16];
            if (step[0] == '[') {
                snprintf(num, sizeof num, "%.*s", (int)strlen(step) - 2, step + 1);
                step = num;
            }
            for (const char *s = step; *s; s++) {
                if (*s == '"' || *s == '\\')
                    sb_putc(&path, '\\');
                sb_putc(&path, *s);
            }
            sb_putc(&path, '"');
        }
        sb_putc(&path, '}');
    }
    int rc = frag_text(out, sb_str(&path));
    sb_free(&path);
    return rc;
}

/* A JSON value: the text of column col and the path of segs[from..n) in it. */
static int json_value(struct fctx *c, const char *alias, const char *col, char *const *segs,
                      int from, int n, struct cv *out)
{
    out->t = VT_ANY;
    frag_printf(&out->a, "%s.%s", alias, col);
    return json_path_param(c, segs, from, n, &out->path);
}

/* Wraps every fragment of v as a scalar subquery over a to-one navigation. */
static int wrap_subquery(const struct sta_type_def *target, const char *talias,
                         const struct sta_nav *nav, const char *alias, struct sqlfrag *f)
{
    if (!f->sql.len)
        return 0;
    struct sqlfrag w = {0};
    frag_puts(&w, "(SELECT ");
    frag_cat(&w, f);
    frag_printf(&w, " FROM %s %s WHERE ", target->table, talias);
    frag_printf(&w, nav->cond, alias, talias);
    frag_puts(&w, ")");
    frag_free(f);
    *f = w;
    return 0;
}

static const struct hoist *hoist_of(const struct fctx *c, const struct fexpr *path)
{
    for (int i = 0; i < c->nhoists; i++)
        if (c->hoists[i].path == path)
            return &c->hoists[i];
    return NULL;
}

/* Resolves path segs[i..] on a row of `type` under `alias`. */
static int resolve_path(struct fctx *c, const struct fexpr *e, int i, enum sta_type type,
                        const char *alias, struct cv *out)
{
    const struct sta_type_def *def = sta_type_def(type);
    if (i >= e->nsegs)
        return cfail(c, e, "'%s' is an entity: name one of its properties (%s/id)",
                     e->segs[e->nsegs - 1], e->segs[e->nsegs - 1]);
    const char *seg = e->segs[i];
    int last = i == e->nsegs - 1;
    const struct sta_prop *prop = sta_prop_find(type, seg, strlen(seg));
    if (prop) {
        int more = !last;
        switch (prop->kind) {
        case SP_OBJECT:
        case SP_ANYJSON: {
            struct strbuf v = {0};
            sta_prop_sql(&v, alias, prop);
            out->t = more ? VT_ANY : VT_STR;
            /* text kept bare (a quality flag "good", a URL) holds no members: only an object
             * or array is read as JSON (else both engines would fail the query) */
            int rc = more && prop->kind == SP_ANYJSON
                         ? frag_printf(&out->a, "(CASE WHEN substr(ltrim(%1$s), 1, 1) IN ('{', "
                                                "'[') THEN %1$s END)",
                                       sb_str(&v))
                         : frag_puts(&out->a, sb_str(&v));
            sb_free(&v);
            return rc || !more ? rc : json_path_param(c, e->segs, i + 1, e->nsegs, &out->path);
        }
        case SP_RESULT:
            if (more)
                return json_value(c, alias, prop->col2, e->segs, i + 1, e->nsegs, out);
            out->t = VT_RESULT;
            frag_printf(&out->a, "%s.%s", alias, prop->col);
            return frag_printf(&out->b, "%s.%s", alias, prop->col2);
        case SP_UOM: {
            const char *col = NULL;
            if (more && i + 2 == e->nsegs) {
                const char *sub = e->segs[i + 1];
                col = strcmp(sub, "name") == 0       ? prop->col
                      : strcmp(sub, "symbol") == 0     ? prop->col2
                      : strcmp(sub, "definition") == 0 ? prop->col3
                                                       : NULL;
            }
            if (!col)
                return cfail(c, e, "unitOfMeasurement: give name, symbol or definition "
                                   "(unitOfMeasurement/name)");
            out->t = VT_STR;
            return frag_printf(&out->a, "%s.%s", alias, col);
        }
        default: break;
        }
        if (more)
            return cfail(c, e, "%s of %s has no property '%s'", prop->name, def->name,
                         e->segs[i + 1]);
        switch (prop->kind) {
        case SP_ID: out->t = VT_NUM; return frag_printf(&out->a, "%s.%s", alias, prop->col);
        case SP_TEXT: out->t = VT_STR; return frag_printf(&out->a, "%s.%s", alias, prop->col);
        case SP_GEO:
            out->t = VT_GEOM;
            if (prop->flags & SPF_AREA) { /* a box kept in the row: no spatial index */
                dialect_area_sql(c->d, &out->a.sql, alias);
                return frag_printf(&out->b, "%s.%s", alias, prop->col);
            }
            out->galias = alias;
            out->gtable = def->table;
            dialect_geojson_sql(c->d, &out->b.sql, alias, prop->col); /* the GeoJSON text */
            return frag_printf(&out->a, "%s.%s", alias, prop->col2);
        case SP_TIME:
            out->t = VT_TIME;
            out->tk = TKI_INST;
            return frag_printf(&out->a, "%s.%s", alias, prop->col);
        case SP_PERIOD:
            out->t = VT_TIME;
            out->tk = TKI_MAYBE;
            frag_printf(&out->a, "%s.%s", alias, prop->col);
            return frag_printf(&out->b, "%s.%s", alias, prop->col2);
        default: return cfail(c, e, "cannot use %s here", prop->name);
        }
    }
    const struct sta_nav *nav = sta_nav_find(type, seg, strlen(seg));
    if (!nav)
        return cfail(c, e, "%s has no property '%.60s'", def->name, seg);
    if (last)
        return cfail(c, e, "'%s' is an entity: name one of its properties (%s/id)", seg, seg);
    if (nav->many)
        return cfail(c, e, "'%s' leads to many entities: it cannot be used here", seg);
    if (nav->fk && i + 2 == e->nsegs &&
        (strcmp(e->segs[i + 1], "id") == 0 || strcmp(e->segs[i + 1], "@iot.id") == 0)) {
        out->t = VT_NUM;
        return frag_printf(&out->a, "%s.%s", alias, nav->fk);
    }
    char talias[8];
    new_alias(c, talias);
    int rc = resolve_path(c, e, i + 1, nav->target, talias, out);
    if (rc)
        return rc;
    const struct sta_type_def *target = sta_type_def(nav->target);
    out->galias = NULL; /* no longer a column of this row */
    wrap_subquery(target, talias, nav, alias, &out->a);
    wrap_subquery(target, talias, nav, alias, &out->b);
    return 0;
}

static int literal(struct fctx *c, const struct fexpr *e, struct cv *out)
{
    out->lit = e;
    switch (e->kind) {
    case FX_INT: out->t = VT_NUM; return frag_int(&out->a, e->i);
    case FX_REAL: out->t = VT_NUM; return frag_real(&out->a, e->d);
    case FX_STR: out->t = VT_STR; return frag_text(&out->a, e->s);
    case FX_BOOL: out->t = VT_BOOL; return frag_puts(&out->a, e->i ? "1 = 1" : "1 = 0");
    case FX_NULL: out->t = VT_NULL; return frag_puts(&out->a, "NULL");
    case FX_DURATION: out->t = VT_DUR; return frag_int(&out->a, e->i);
    case FX_TIME:
        out->t = VT_TIME;
        out->tk = e->t1 == INSITU_TIME_NONE ? TKI_INST : TKI_INTV;
        frag_int(&out->a, e->t0);
        return out->tk == TKI_INTV ? frag_int(&out->b, e->t1) : 0;
    case FX_GEOM: {
        out->t = VT_GEOM;
        struct sql_value wkt = {SV_TEXT, 0, 0, e->s};
        return frag_format(&out->a, c->d->geom_from_wkt, NULL, 0, &wkt, 1);
    }
    default: return cfail(c, e, "not a literal");
    }
}

/* Text that a time may be compared with becomes a time. */
static int coerce_time(struct fctx *c, struct cv *v)
{
    if (v->t == VT_TIME)
        return 0;
    if (v->t == VT_STR && v->lit) {
        int64_t t0, t1;
        insitu_error terr = {0};
        if (interval_parse(v->lit->s, strlen(v->lit->s), &t0, &t1, &terr))
            return cfail(c, v->lit, "'%.60s' is not a time: %s", v->lit->s, terr.message);
        frag_free(&v->a);
        v->t = VT_TIME;
        v->tk = t1 == INSITU_TIME_NONE ? TKI_INST : TKI_INTV;
        frag_int(&v->a, t0);
        if (v->tk == TKI_INTV)
            frag_int(&v->b, t1);
        return 0;
    }
    return cfail(c, v->lit, "expected a time, found %s", vt_name(v->t));
}

static void put_start(struct sqlfrag *o, const struct cv *x)
{
    frag_puts(o, "(");
    frag_cat(o, &x->a);
    frag_puts(o, ")");
}

/* The end of a time, an instant's end being its start. */
static void put_end(struct sqlfrag *o, const struct cv *x)
{
    if (x->tk == TKI_INST) {
        put_start(o, x);
    } else if (x->tk == TKI_INTV) {
        frag_puts(o, "(");
        frag_cat(o, &x->b);
        frag_puts(o, ")");
    } else {
        frag_puts(o, "coalesce(");
        frag_cat(o, &x->b);
        frag_puts(o, ", ");
        frag_cat(o, &x->a);
        frag_puts(o, ")");
    }
}

/* The raw end (MAYBE kinds only): NULL for an instant row. */
static void put_raw_end(struct sqlfrag *o, const struct cv *x)
{
    frag_puts(o, "(");
    frag_cat(o, &x->b);
    frag_puts(o, ")");
}

static void put3(struct sqlfrag *o, void (*a)(struct sqlfrag *, const struct cv *),
                 const struct cv *x, const char *op,
                 void (*b)(struct sqlfrag *, const struct cv *), const struct cv *y)
{
    a(o, x);
    frag_printf(o, " %s ", op);
    b(o, y);
}

/* before(x, y), also x lt y: x an instant: x < y.start; x an interval: x.end <= y.start. */
static void time_before(struct sqlfrag *o, const struct cv *x, const struct cv *y)
{
    if (x->tk == TKI_INST) {
        put3(o, put_start, x, "<", put_start, y);
    } else if (x->tk == TKI_INTV) {
        put3(o, put_end, x, "<=", put_start, y);
    } else {
        /* the first term is implied by the rest; it lets an index on the start be used */
        frag_puts(o, "(");
        put3(o, put_start, x, "<=", put_start, y);
        frag_puts(o, " AND ((");
        put_raw_end(o, x);
        frag_puts(o, " IS NULL AND ");
        put3(o, put_start, x, "<", put_start, y);
        frag_puts(o, ") OR ");
        put3(o, put_raw_end, x, "<=", put_start, y);
        frag_puts(o, "))");
    }
}

/* after(x, y), also x gt y: y an instant: x.start > y; y an interval: x.start >= y.end. */
static void time_after(struct sqlfrag *o, const struct cv *x, const struct cv *y)
{
    if (y->tk == TKI_INST) {
        put3(o, put_start, x, ">", put_start, y);
    } else if (y->tk == TKI_INTV) {
        put3(o, put_start, x, ">=", put_end, y);
    } else {
        frag_puts(o, "(");
        put3(o, put_start, x, ">=", put_start, y);
        frag_puts(o, " AND ((");
        put_raw_end(o, y);
        frag_puts(o, " IS NULL AND ");
        put3(o, put_start, x, ">", put_start, y);
        frag_puts(o, ") OR ");
        put3(o, put_start, x, ">=", put_raw_end, y);
        frag_puts(o, "))");
    }
}

/* "1 = 1" / "1 = 0" / "(end IS NULL)": whether x is an instant. */
static void put_is_instant(struct sqlfrag *o, const struct cv *x, int want)
{
    if (x->tk == TKI_MAYBE) {
        put_raw_end(o, x);
        frag_puts(o, want ? " IS NULL" : " IS NOT NULL");
    } else {
        frag_puts(o, (x->tk == TKI_INST) == want ? "1 = 1" : "1 = 0");
    }
}

/* overlaps(x, y): a common point, intervals being half-open [start, end). */
static void time_overlaps(struct sqlfrag *o, const struct cv *x, const struct cv *y)
{
    frag_puts(o, "((");
    put_is_instant(o, x, 1);
    frag_puts(o, " AND ");
    put_is_instant(o, y, 1);
    frag_puts(o, " AND ");
    put3(o, put_start, x, "=", put_start, y);
    frag_puts(o, ") OR (");
    put_is_instant(o, x, 1);
    frag_puts(o, " AND ");
    put_is_instant(o, y, 0);
    frag_puts(o, " AND ");
    put3(o, put_start, y, "<=", put_start, x);
    frag_puts(o, " AND ");
    put3(o, put_start, x, "<", put_end, y);
    frag_puts(o, ") OR (");
    put_is_instant(o, x, 0);
    frag_puts(o, " AND ");
    put_is_instant(o, y, 1);
    frag_puts(o, " AND ");
    put3(o, put_start, x, "<=", put_start, y);
    frag_puts(o, " AND ");
    put3(o, put_start, y, "<", put_end, x);
    frag_puts(o, ") OR (");
    put_is_instant(o, x, 0);
    frag_puts(o, " AND ");
    put_is_instant(o, y, 0);
    frag_puts(o, " AND ");
    put3(o, put_start, x, "<", put_end, y);
    frag_puts(o, " AND ");
    put3(o, put_start, y, "<", put_end, x);
    frag_puts(o, "))");
}

/* Comparison of two times (OGC 18-088: lt/gt are before/after; le/ge compare both ends). */
static int time_compare(struct fctx *c, enum fx_kind op, struct cv *x, struct cv *y,
                        struct sqlfrag *o)
{
    if (coerce_time(c, x) || coerce_time(c, y))
        return INSITU_EINVAL;
    frag_puts(o, "(");
    switch (op) {
    case FX_LT: time_before(o, x, y); break;
    case FX_GT: time_after(o, x, y); break;
    case FX_EQ:
    case FX_NE:
        if (op == FX_NE)
            frag_puts(o, "NOT (");
        put3(o, put_start, x, "=", put_start, y);
        frag_puts(o, " AND ");
        put3(o, put_end, x, "=", put_end, y);
        if (op == FX_NE)
            frag_puts(o, ")");
        break;
    case FX_GE:
    case FX_LE: {
        const char *rel = op == FX_GE ? ">=" : "<=";
        put3(o, put_start, x, rel, put_start, y);
        frag_puts(o, " AND ");
        put3(o, put_end, x, rel, put_end, y);
        break;
    }
    default: break;
    }
    return frag_puts(o, ")");
}

static const char *sql_op(enum fx_kind k)
{
    switch (k) {
    case FX_EQ: return "=";
    case FX_NE: return "<>";
    case FX_GT: return ">";
    case FX_GE: return ">=";
    case FX_LT: return "<";
    case FX_LE: return "<=";
    case FX_ADD: return "+";
    case FX_SUB: return "-";
    case FX_MUL: return "*";
    case FX_DIV: return "/";
    case FX_MOD: return "%";
    default: return "?";
    }
}

/* How a JSON value or a result is read. */
enum acc { AC_NUM, AC_TEXT, AC_BOOL, AC_NULL };

static int is_dyn(const struct cv *v) { return v->t == VT_ANY || v->t == VT_RESULT; }

/* A JSON value, or a result kept as JSON, read through the dialect's accessor for how. */
static int json_as(struct fctx *c, const struct cv *v, enum acc how, struct sqlfrag *o)
{
    const char *tpl = how == AC_NUM    ? c->d->json_number
                      : how == AC_TEXT ? c->d->json_text
                      : how == AC_BOOL ? c->d->json_bool
                                       : c->d->json_null;
    struct sqlfrag root = {0};
    const struct sqlfrag *doc = &v->a, *path = &v->path;
    if (v->t == VT_RESULT) {
        /* any other result is JSON text: its root */
        json_path_param(c, NULL, 0, 0, &root);
        doc = &v->b;
        path = &root;
    }
    const struct sqlfrag *args[] = {doc};
    int rc = frag_format(o, tpl, args, 1, path->vals, (int)path->n);
    frag_free(&root);
    return rc;
}

/* A JSON value or a result read as a number, text, 1/0 for true/false (NULL when it is of
 * another type), or as the condition that it is null or absent. */
static int dyn_as(struct fctx *c, const struct cv *v, enum acc how, struct sqlfrag *o)
{
    if (v->t == VT_RESULT && how == AC_NUM)
        return frag_cat(o, &v->a); /* numbers are kept in the REAL column */
    if (v->t != VT_RESULT || how != AC_TEXT)
        return json_as(c, v, how, o);
    /* a result read as text is its text: a number as the API writes it in JSON (as OGC's
     * test suite and FROST compare it), a string as it is */
    frag_puts(o, "coalesce(");
    frag_format1(o, c->d->number_text, &v->a);
    frag_puts(o, ", ");
    int rc = json_as(c, v, AC_TEXT, o);
    frag_puts(o, ")");
    return rc;
}

/* The accessor for a JSON value or result used where a value of type t is. */
static enum acc acc_for(enum vt t)
{
    return t == VT_STR ? AC_TEXT : t == VT_BOOL ? AC_BOOL : AC_NUM;
}

/* v, in parentheses, as an operand beside a value of other's type. */
static void put_operand(struct fctx *c, struct sqlfrag *o, const struct cv *v,
                        const struct cv *other)
{
    frag_puts(o, "(");
    if (is_dyn(v))
        dyn_as(c, v, acc_for(other->t), o);
    else
        frag_cat(o, &v->a);
    frag_puts(o, ")");
}

static void num_operand(struct fctx *c, struct sqlfrag *o, const struct cv *v)
{
    static const struct cv number = {.t = VT_NUM};
    put_operand(c, o, v, &number);
}

/* A literal number written as text ('1') becomes a number when compared with a number. */
static void coerce_number(struct cv *v, const struct cv *other)
{
    if (v->t != VT_STR || !v->lit || (other->t != VT_NUM && other->t != VT_RESULT))
        return;
    int64_t i;
    double d;
    const char *s = v->lit->s;
    if (parse_int64(s, strlen(s), &i) == 0) {
        frag_free(&v->a);
        frag_int(&v->a, i);
        v->t = VT_NUM;
    } else if (other->t == VT_NUM && parse_double(s, strlen(s), &d) == 0) {
        frag_free(&v->a);
        frag_real(&v->a, d);
        v->t = VT_NUM;
    }
}

/* x op y with null: IS NULL / IS NOT NULL; ordering a null is never true. */
static int compare_null(struct fctx *c, enum fx_kind op, const struct cv *v, struct sqlfrag *o)
{
    if (v->t == VT_NULL)
        return frag_puts(o, op == FX_EQ ? "1 = 1" : "1 = 0");
    if (op != FX_EQ && op != FX_NE)
        return frag_puts(o, "1 = 0");
    frag_puts(o, op == FX_EQ ? "(" : "NOT (");
    if (v->t == VT_RESULT) {
        frag_cat(o, &v->a);
        frag_puts(o, " IS NULL AND ");
        frag_cat(o, &v->b);
        frag_puts(o, " IS NULL");
    } else if (v->t == VT_ANY) {
        dyn_as(c, v, AC_NULL, o); /* JSON null and a missing member alike */
    } else if (v->t == VT_BOOL) {
        frag_puts(o, "1 = 0");
    } else {
        frag_puts(o, "(");
        frag_cat(o, &v->a);
        frag_puts(o, ") IS NULL");
    }
    return frag_puts(o, ")");
}

/* A condition as 1/0: a literal true/false as a bound value, else CASE. */
static void put_flag(struct sqlfrag *o, const struct cv *b)
{
    if (b->lit) {
        frag_int(o, b->lit->i ? 1 : 0);
        return;
    }
    frag_puts(o, "(CASE WHEN ");
    frag_cat(o, &b->a);
    frag_puts(o, " THEN 1 ELSE 0 END)");
}

/* Comparisons with true/false (eq, ne): conditions, JSON values, results and numbers. */
static int compare_bool(struct fctx *c, const struct fexpr *e, struct cv *x, struct cv *y,
                        struct sqlfrag *o)
{
    enum fx_kind op = e->kind;
    if (op != FX_EQ && op != FX_NE)
        return cfail(c, e, "true and false can only be compared with eq or ne");
    if (x->t == VT_BOOL && y->t == VT_BOOL) {
        struct cv *cond = !x->lit ? x : y, *other = cond == x ? y : x;
        if (other->lit) {
            int positive = (op == FX_EQ) == (other->lit->i != 0);
            frag_puts(o, positive ? "(" : "NOT (");
            frag_cat(o, &cond->a);
            return frag_puts(o, ")");
        }
        put_flag(o, x);
        frag_printf(o, " %s ", sql_op(op));
        put_flag(o, y);
        return 0;
    }
    struct cv *b = x->t == VT_BOOL ? x : y, *other = b == x ? y : x;
    if (other->t == VT_STR)
        return cfail(c, e, "cannot compare a condition with text");
    if (other->t != VT_NUM && !is_dyn(other))
        return cfail(c, e, "cannot compare a condition with %s", vt_name(other->t));
    /* a JSON value or result is compared when it is true or false; a number as 1/0 */
    put_operand(c, o, other, b);
    frag_printf(o, " %s ", sql_op(op));
    put_flag(o, b);
    return 0;
}

/* Two JSON values or results: compared when both are numbers, both text or both true or
 * false; values of different types never match. */
static void compare_dyn(struct fctx *c, enum fx_kind op, const struct cv *x, const struct cv *y,
                        struct sqlfrag *o)
{
    static const enum acc hows[] = {AC_NUM, AC_TEXT, AC_BOOL};
    frag_puts(o, "(");
    for (int k = 0; k < 3; k++) {
        frag_puts(o, k ? " OR (" : "(");
        dyn_as(c, x, hows[k], o);
        frag_printf(o, ") %s (", sql_op(op));
        dyn_as(c, y, hows[k], o);
        frag_puts(o, ")");
    }
    frag_puts(o, ")");
}

static int compare(struct fctx *c, const struct fexpr *e, struct cv *x, struct cv *y,
                   struct sqlfrag *o)
{
    enum fx_kind op = e->kind;
    if (x->t == VT_NULL || y->t == VT_NULL) {
        frag_puts(o, "(");
        compare_null(c, op, x->t == VT_NULL ? y : x, o);
        return frag_puts(o, ")");
    }
    if (x->t == VT_TIME || y->t == VT_TIME)
        return time_compare(c, op, x, y, o);
    if (x->t == VT_GEOM || y->t == VT_GEOM)
        return cfail(c, e, "geometries are compared with the geo.* and st_* functions");
    /* text compared with a result stays text: the result is read as its text (dyn_as) */
    if (x->t != VT_RESULT)
        coerce_number(y, x);
    if (y->t != VT_RESULT)
        coerce_number(x, y);
    if (x->t == VT_BOOL || y->t == VT_BOOL)
        return compare_bool(c, e, x, y, o);
    /* text and numbers are not compared (SQLite would order them by type, PostgreSQL
     * refuses): the same error on both */
    int x_num = x->t == VT_NUM || x->t == VT_DUR, y_num = y->t == VT_NUM || y->t == VT_DUR;
    if ((x->t == VT_STR && y_num) || (y->t == VT_STR && x_num)) {
        const struct cv *lit = x->lit ? x : y->lit ? y : NULL;
        return cfail(c, lit ? lit->lit : e, "cannot compare text with a number");
    }
    if (is_dyn(x) && is_dyn(y)) {
        compare_dyn(c, op, x, y, o);
        return 0;
    }
    put_operand(c, o, x, y);
    frag_printf(o, " %s ", sql_op(op));
    put_operand(c, o, y, x);
    return 0;
}

static int arith(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                 struct cv *out)
{
    struct cv x = {0}, y = {0};
    int rc = cval(c, e->a, type, alias, &x);
    if (!rc && e->b)
        rc = cval(c, e->b, type, alias, &y);
    if (rc)
        goto done;
    if (e->kind == FX_NEG) {
        if (x.t != VT_NUM && x.t != VT_ANY && x.t != VT_RESULT && x.t != VT_DUR) {
            rc = cfail(c, e, "'-' needs a number, not %s", vt_name(x.t));
            goto done;
        }
        out->t = x.t == VT_DUR ? VT_DUR : VT_NUM;
        frag_puts(&out->a, "(- ");
        num_operand(c, &out->a, &x);
        frag_puts(&out->a, ")");
        goto done;
    }
    coerce_number(&x, &y);
    coerce_number(&y, &x);
    if (x.t == VT_TIME && (y.t == VT_DUR) && (e->kind == FX_ADD || e->kind == FX_SUB)) {
        /* a time shifted by a duration */
        out->t = VT_TIME;
        out->tk = x.tk;
        const char *op = sql_op(e->kind);
        frag_puts(&out->a, "(");
        frag_cat(&out->a, &x.a);
        frag_printf(&out->a, " %s ", op);
        frag_cat(&out->a, &y.a);
        frag_puts(&out->a, ")");
        if (x.tk != TKI_INST) {
            frag_puts(&out->b, "(");
            frag_cat(&out->b, &x.b);
            frag_printf(&out->b, " %s ", op);
            frag_cat(&out->b, &y.a);
            frag_puts(&out->b, ")");
        }
        goto done;
    }
    if (x.t == VT_TIME && y.t == VT_TIME && e->kind == FX_SUB) {
        out->t = VT_DUR;
        frag_puts(&out->a, "(");
        frag_cat(&out->a, &x.a);
        frag_puts(&out->a, " - ");
        frag_cat(&out->a, &y.a);
        frag_puts(&out->a, ")");
        goto done;
    }
    const struct cv *bad = NULL;
    for (const struct cv *v = &x; v; v = v == &x ? &y : NULL)
        if (v->t != VT_NUM && v->t != VT_ANY && v->t != VT_RESULT &&
            !(v->t == VT_DUR && (e->kind == FX_ADD || e->kind == FX_SUB || e->kind == FX_MUL ||
                                 e->kind == FX_DIV)))
            bad = bad ? bad : v;
    if (bad) {
        rc = cfail(c, bad == &x ? e->a : e->b, "'%s' needs numbers, not %s",
                   e->kind == FX_ADD   ? "add"
                   : e->kind == FX_SUB ? "sub"
                   : e->kind == FX_MUL ? "mul"
                   : e->kind == FX_DIV ? "div"
                                       : "mod",
                   vt_name(bad->t));
        goto done;
    }
    out->t = (x.t == VT_DUR || y.t == VT_DUR) ? VT_DUR : VT_NUM;
    frag_puts(&out->a, "(");
    /* a division by zero is null (SQLite's answer; PostgreSQL would fail the statement) */
    if (e->kind == FX_MOD) {
        /* OData mod: the remainder of the truncated division, decimals too (SQL's % is
         * integer-only in SQLite): a - b * trunc(a / b) */
        num_operand(c, &out->a, &x);
        frag_puts(&out->a, " - ");
        num_operand(c, &out->a, &y);
        frag_puts(&out->a, " * trunc(");
        num_operand(c, &out->a, &x);
        frag_puts(&out->a, " / NULLIF(");
        num_operand(c, &out->a, &y);
        frag_puts(&out->a, ", 0))");
    } else if (e->kind == FX_DIV) {
        num_operand(c, &out->a, &x);
        frag_puts(&out->a, " / NULLIF(");
        num_operand(c, &out->a, &y);
        frag_puts(&out->a, ", 0)");
    } else {
        num_operand(c, &out->a, &x);
        frag_printf(&out->a, " %s ", sql_op(e->kind));
        num_operand(c, &out->a, &y);
    }
    frag_puts(&out->a, ")");
done:
    cv_free(&x);
    cv_free(&y);
    return rc;
}

/* Checks that argument v is text (a JSON value or a result may be). */
static int want_text(struct fctx *c, const struct fexpr *e, int k, struct cv *v, struct cv *as)
{
    if (v->t == VT_STR) {
        *as = *v;
        memset(v, 0, sizeof *v);
        return 0;
    }
    if (is_dyn(v)) {
        memset(as, 0, sizeof *as);
        as->t = VT_STR;
        return dyn_as(c, v, AC_TEXT, &as->a);
    }
    return cfail(c, e->args[k], "%s: argument %d: expected text, found %s", fns[e->fn].name,
                 k + 1, vt_name(v->t));
}

static int want_number(struct fctx *c, const struct fexpr *e, int k, const struct cv *v)
{
    if (v->t == VT_NUM || v->t == VT_ANY || v->t == VT_RESULT)
        return 0;
    return cfail(c, e->args[k], "%s: argument %d: expected a number, found %s",
                 fns[e->fn].name, k + 1, vt_name(v->t));
}

static int want_geom(struct fctx *c, const struct fexpr *e, int k, const struct cv *v)
{
    if (v->t == VT_GEOM)
        return 0;
    return cfail(c, e->args[k], "%s: argument %d: expected a geometry (a location or "
                                "geography'...'), found %s",
                 fns[e->fn].name, k + 1, vt_name(v->t));
}

/* ST_<rel>(a, b) as a condition, with a spatial-index prefilter when one side is a geometry
 * column of a row and the other a literal (the relation implies that their boxes meet). */
static int spatial_relation(struct fctx *c, const struct fexpr *e, struct cv *v, int prefilter,
                            struct sqlfrag *o)
{
    static const char *const names[] = {
        [F_GEO_INTERSECTS] = "ST_Intersects", [F_ST_EQUALS] = "ST_Equals",
        [F_ST_DISJOINT] = "ST_Disjoint",      [F_ST_TOUCHES] = "ST_Touches",
        [F_ST_WITHIN] = "ST_Within",          [F_ST_OVERLAPS] = "ST_Overlaps",
        [F_ST_CROSSES] = "ST_Crosses",        [F_ST_INTERSECTS] = "ST_Intersects",
        [F_ST_CONTAINS] = "ST_Contains",      [F_ST_RELATE] = "ST_Relate",
    };
    frag_puts(o, "(");
    const struct cv *col = v[0].galias ? &v[0] : v[1].galias ? &v[1] : NULL;
    const struct cv *lit = v[0].lit ? &v[0] : v[1].lit ? &v[1] : NULL;
    if (prefilter && col && lit && col != lit) {
        /* the format's placeholders are west, south, east, north (bbox_repeat times) */
        struct sql_value box[4];
        for (int k = 0; k < 4; k++)
            box[k] = (struct sql_value){SV_REAL, 0, lit->lit->env[k], NULL};
        struct sqlfrag a = {0}, t = {0};
        frag_puts(&a, col->galias);
        frag_puts(&t, col->gtable);
        const struct sqlfrag *args[] = {&a, &t};
        frag_format(o, c->d->bbox_filter, args, 2, box, 4);
        frag_free(&a);
        frag_free(&t);
        frag_puts(o, " AND ");
    }
    struct sqlfrag fcall = {0};
    frag_printf(&fcall, "%s(", names[e->fn]);
    frag_cat(&fcall, &v[0].a);
    frag_puts(&fcall, ", ");
    frag_cat(&fcall, &v[1].a);
    if (e->fn == F_ST_RELATE) {
        frag_puts(&fcall, ", ");
        frag_cat(&fcall, &v[2].a);
    }
    frag_puts(&fcall, ")");
    int rc = frag_format1(o, c->d->spatial_true, &fcall);
    frag_free(&fcall);
    frag_puts(o, ")");
    return rc;
}

/* Appends template tpl (printf, %1$s.. the fragments) to out. */
static int tpl2(struct sqlfrag *out, const char *tpl, const struct sqlfrag *a,
                const struct sqlfrag *b)
{
    const struct sqlfrag *args[] = {a, b};
    return frag_format(out, tpl, args, b ? 2 : 1, NULL, 0);
}

/* An integer argument of substr: truncated toward zero, at least 0, and small enough for
 * PostgreSQL's integer. */
#define SUBSTR_INT(x)                                                                         \
    "CAST(CASE WHEN " x " < 0 THEN 0 WHEN " x " > 1000000000 THEN 1000000000 ELSE trunc(" x \
    ") END AS INTEGER)"

/* substringof, contains, startswith, endswith, indexof, concat, length, tolower, toupper,
 * trim, substring */
static int call_text(struct fctx *c, const struct fexpr *e, struct cv *v, struct cv *out)
{
    enum fn fn = (enum fn)e->fn;
    struct cv s0 = {0}, s1 = {0};
    struct sqlfrag *o = &out->a;
    int rc = want_text(c, e, 0, &v[0], &s0);
    if (rc)
        return rc;
    switch (fn) {
    case F_LENGTH: out->t = VT_NUM; rc = tpl2(o, "length(%1$s)", &s0.a, NULL); break;
    case F_TOLOWER: out->t = VT_STR; rc = tpl2(o, c->d->lower, &s0.a, NULL); break;
    case F_TOUPPER: out->t = VT_STR; rc = tpl2(o, c->d->upper, &s0.a, NULL); break;
    case F_TRIM: out->t = VT_STR; rc = tpl2(o, "trim(%1$s)", &s0.a, NULL); break;
    case F_SUBSTRING: {
        /* OData counts from 0, SQL from 1 */
        if ((rc = want_number(c, e, 1, &v[1])) || (e->nargs == 3 && (rc = want_number(c, e, 2,
                                                                                  &v[2]))))
            break;
        struct sqlfrag from = {0}, len = {0};
        num_operand(c, &from, &v[1]);
        if (e->nargs == 3)
            num_operand(c, &len, &v[2]);
        const struct sqlfrag *args[] = {&s0.a, &from, &len};
        out->t = VT_STR;
        /* whole numbers from 0 (a negative start or length counts as 0): SQLite would count
         * a negative start from the end, PostgreSQL refuses a negative length */
        rc = frag_format(o,
                         e->nargs == 3
                             ? "substr(%1$s, " SUBSTR_INT("%2$s") " + 1, " SUBSTR_INT("%3$s") ")"
                             : "substr(%1$s, " SUBSTR_INT("%2$s") " + 1)",
                         args, 3, NULL, 0);
        frag_free(&from);
        frag_free(&len);
        break;
    }
    default: {
        if ((rc = want_text(c, e, 1, &v[1], &s1)))
            break;
        /* substringof(needle, haystack); the others (haystack, needle) */
        const struct sqlfrag *hay = fn == F_SUBSTRINGOF ? &s1.a : &s0.a;
        const struct sqlfrag *needle = fn == F_SUBSTRINGOF ? &s0.a : &s1.a;
        out->t = fn == F_INDEXOF ? VT_NUM : fn == F_CONCAT ? VT_STR : VT_BOOL;
        if (fn == F_CONCAT) {
            rc = tpl2(o, "(%1$s || %2$s)", hay, needle);
        } else if (fn == F_STARTSWITH) {
            rc = tpl2(o, "(substr(%1$s, 1, length(%2$s)) = %2$s)", hay, needle);
        } else if (fn == F_ENDSWITH) {
            rc = tpl2(o, "(length(%1$s) >= length(%2$s) AND substr(%1$s, length(%1$s) - "
                         "length(%2$s) + 1) = %2$s)",
                      hay, needle);
        } else { /* the dialect's strpos: 1-based, 0 when absent */
            struct sqlfrag pos = {0};
            rc = tpl2(&pos, c->d->strpos, hay, needle);
            if (!rc)
                rc = tpl2(o, fn == F_INDEXOF ? "(%1$s - 1)" : "(%1$s > 0)", &pos, NULL);
            frag_free(&pos);
        }
    }
    }
    cv_free(&s0);
    cv_free(&s1);
    return rc;
}

/* year ... second, fractionalseconds, date, time, totaloffsetminutes: on a time's start */
static int call_time_part(struct fctx *c, const struct fexpr *e, struct cv *v, struct cv *out)
{
    enum fn fn = (enum fn)e->fn;
    int rc = coerce_time(c, &v[0]);
    if (rc)
        return rc;
    struct sqlfrag st = {0};
    put_start(&st, &v[0]);
    struct sqlfrag *o = &out->a;
    out->t = VT_NUM;
    if (fn <= F_SECOND) {
        rc = frag_format1(o, c->d->time_part[fn - F_YEAR], &st);
    } else if (fn == F_TIME) {
        out->t = VT_STR;
        rc = frag_format1(o, c->d->time_of_day, &st);
    } else if (fn == F_FRACSEC) {
        rc = tpl2(o, "((((%1$s %% 1000000) + 1000000) %% 1000000) / 1000000.0)", &st, NULL);
    } else if (fn == F_DATE) {
        /* the start of the UTC day, as a time (floor, also before 1970) */
        out->t = VT_TIME;
        out->tk = TKI_INST;
        rc = tpl2(o, "(%1$s - (((%1$s %% 86400000000) + 86400000000) %% 86400000000))", &st,
                  NULL);
    } else { /* totaloffsetminutes: every time here is UTC */
        rc = tpl2(o, "(CASE WHEN %1$s IS NULL THEN NULL ELSE 0 END)", &st, NULL);
    }
    frag_free(&st);
    return rc;
}

/* before, after, meets, during, overlaps, starts, finishes */
static int call_interval(struct fctx *c, const struct fexpr *e, struct cv *v, struct cv *out)
{
    enum fn fn = (enum fn)e->fn;
    int rc = coerce_time(c, &v[0]);
    if (!rc)
        rc = coerce_time(c, &v[1]);
    if (rc)
        return rc;
    if (fn == F_DURING && v[1].tk == TKI_INST) /* as Fraunhofer's ets-sta10 DateTimeTests */
        return cfail(c, e->args[1],
                     "during: the second argument must be an interval, "
                     "nothing lies during an instant");
    struct sqlfrag *o = &out->a;
    out->t = VT_BOOL;
    frag_puts(o, "(");
    switch (fn) {
    case F_BEFORE: time_before(o, &v[0], &v[1]); break;
    case F_AFTER: time_after(o, &v[0], &v[1]); break;
    case F_MEETS:
        put3(o, put_end, &v[0], "=", put_start, &v[1]);
        frag_puts(o, " OR ");
        put3(o, put_end, &v[1], "=", put_start, &v[0]);
        break;
    case F_DURING:
        put3(o, put_start, &v[0], ">=", put_start, &v[1]);
        frag_puts(o, " AND ");
        put3(o, put_start, &v[0], "<", put_end, &v[1]);
        frag_puts(o, " AND ");
        put3(o, put_end, &v[0], "<=", put_end, &v[1]);
        break;
    case F_OVERLAPS: time_overlaps(o, &v[0], &v[1]); break;
    case F_STARTS: put3(o, put_start, &v[0], "=", put_start, &v[1]); break;
    default: put3(o, put_end, &v[0], "=", put_end, &v[1]); break;
    }
    return frag_puts(o, ")");
}

/* geo.distance, geo.length and the spatial relations */
static int call_geo(struct fctx *c, const struct fexpr *e, struct cv *v, struct cv *out)
{
    enum fn fn = (enum fn)e->fn;
    int rc = want_geom(c, e, 0, &v[0]);
    if (!rc && e->nargs > 1)
        rc = want_geom(c, e, 1, &v[1]);
    if (rc)
        return rc;
    if (fn == F_DISTANCE || fn == F_LENGTH_GEO) {
        out->t = VT_NUM;
        return fn == F_DISTANCE ? tpl2(&out->a, "ST_Distance(%1$s, %2$s)", &v[0].a, &v[1].a)
                                : tpl2(&out->a, "ST_Length(%1$s)", &v[0].a, NULL);
    }
    if (fn == F_ST_RELATE) {
        const char *pat = v[2].lit && v[2].t == VT_STR ? v[2].lit->s : NULL;
        if (!pat || strlen(pat) != 9 || strspn(pat, "TF*012") != 9)
            return cfail(c, e->args[2], "st_relate: the pattern must be 9 characters of T, F, "
                                        "*, 0, 1, 2 in quotes ('T********')");
    }
    out->t = VT_BOOL;
    return spatial_relation(c, e, v, fn != F_ST_DISJOINT && fn != F_ST_RELATE, &out->a);
}

static int call(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                struct cv *out)
{
    struct cv v[3];
    memset(v, 0, sizeof v);
    int rc = 0;
    for (int k = 0; k < e->nargs && !rc; k++)
        rc = cval(c, e->args[k], type, alias, &v[k]);
    enum fn fn = (enum fn)e->fn;
    if (rc) {
        /* nothing */
    } else if (fn <= F_CONCAT) {
        rc = call_text(c, e, v, out);
    } else if (fn <= F_TOTALOFFSET) {
        rc = call_time_part(c, e, v, out);
    } else if (fn <= F_MAXDT) {
        out->t = VT_TIME;
        out->tk = TKI_INST;
        rc = frag_int(&out->a, fn == F_NOW     ? c->now_us
                               : fn == F_MINDT ? days_from_civil(1, 1, 1) * US_PER_DAY
                                               : days_from_civil(10000, 1, 1) * US_PER_DAY - 1);
    } else if (fn <= F_FINISHES) {
        rc = call_interval(c, e, v, out);
    } else if (fn <= F_CEILING) {
        const char *const tpl[] = {c->d->round, "floor(%1$s)", "ceiling(%1$s)"};
        if (!(rc = want_number(c, e, 0, &v[0]))) {
            struct sqlfrag x = {0};
            num_operand(c, &x, &v[0]);
            out->t = VT_NUM;
            rc = tpl2(&out->a, tpl[fn - F_ROUND], &x, NULL);
            frag_free(&x);
        }
    } else {
        rc = call_geo(c, e, v, out);
    }
    for (int k = 0; k < 3; k++)
        cv_free(&v[k]);
    return rc;
}

static int cval(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                struct cv *out)
{
    switch (e->kind) {
    case FX_INT:
    case FX_REAL:
    case FX_STR:
    case FX_BOOL:
    case FX_NULL:
    case FX_TIME:
    case FX_DURATION:
    case FX_GEOM: return literal(c, e, out);
    case FX_PATH: {
        const struct hoist *h = hoist_of(c, e);
        if (h)
            return resolve_path(c, e, h->split + 1, h->type, h->alias, out);
        return resolve_path(c, e, 0, type, alias, out);
    }
    case FX_ADD:
    case FX_SUB:
    case FX_MUL:
    case FX_DIV:
    case FX_MOD:
    case FX_NEG: return arith(c, e, type, alias, out);
    case FX_CALL: return call(c, e, type, alias, out);
    default:
        /* a condition used as a value ("startswith(a, b) eq true") */
        out->t = VT_BOOL;
        return cbool(c, e, type, alias, 0, &out->a);
    }
}

/* ---- to-many paths: hoisted into EXISTS around the comparison they are in ---- */

static void collect_paths(const struct fexpr *e, const struct fexpr **paths, int *n, int max)
{
    if (!e)
        return;
    if (e->kind == FX_PATH && *n < max)
        paths[(*n)++] = e;
    collect_paths(e->a, paths, n, max);
    collect_paths(e->b, paths, n, max);
    for (int k = 0; k < e->nargs; k++)
        collect_paths(e->args[k], paths, n, max);
}

/* The index of the last to-many navigation of path p from `type`, or -1. */
static int last_many(const struct fexpr *p, enum sta_type type)
{
    int split = -1;
    /* a path ending at a navigation property names no value: resolve_path says so */
    for (int i = 0; i < p->nsegs - 1; i++) {
        const struct sta_nav *nav = sta_nav_find(type, p->segs[i], strlen(p->segs[i]));
        if (!nav)
            break;
        if (nav->many)
            split = i;
        type = nav->target;
    }
    return split;
}

static int same_prefix(const struct fexpr *a, const struct fexpr *b, int split)
{
    for (int i = 0; i <= split; i++)
        if (strcmp(a->segs[i], b->segs[i]) != 0)
            return 0;
    return 1;
}

/* A comparison or boolean call, wrapped in EXISTS when it goes through to-many paths. */
static int cleaf(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                 struct sqlfrag *out)
{
    const struct fexpr *paths[64];
    int npaths = 0;
    collect_paths(e, paths, &npaths, 64);
    struct sqlfrag from = {0}, where = {0};
    int saved = c->nhoists;
    for (int k = 0; k < npaths; k++) {
        int split = last_many(paths[k], type);
        if (split < 0)
            continue;
        const struct hoist *same = NULL;
        for (int h = saved; h < c->nhoists && !same; h++)
            if (c->hoists[h].split == split && same_prefix(c->hoists[h].path, paths[k], split))
                same = &c->hoists[h];
        if (c->nhoists == (int)ARRAY_LEN(c->hoists)) {
            frag_free(&from);
            frag_free(&where);
            return cfail(c, paths[k], "too many paths through collections in one comparison");
        }
        struct hoist *h = &c->hoists[c->nhoists++];
        h->path = paths[k];
        h->split = split;
        if (same) {
            h->type = same->type;
            memcpy(h->alias, same->alias, sizeof h->alias);
            continue;
        }
        /* one alias per navigation step of the prefix */
        const char *prev = alias;
        char prev_buf[8];
        enum sta_type t = type;
        for (int i = 0; i <= split; i++) {
            const struct sta_nav *nav = sta_nav_find(t, paths[k]->segs[i],
                                                     strlen(paths[k]->segs[i]));
            char a[8];
            new_alias(c, a);
            frag_printf(&from, "%s%s %s", from.sql.len ? ", " : "",
                        sta_type_def(nav->target)->table, a);
            if (where.sql.len)
                frag_puts(&where, " AND ");
            frag_printf(&where, nav->cond, prev, a);
            memcpy(prev_buf, a, sizeof a);
            prev = prev_buf;
            t = nav->target;
        }
        h->type = t;
        memcpy(h->alias, prev_buf, sizeof h->alias);
    }
    int rc = 0;
    struct sqlfrag body = {0};
    if (e->kind >= FX_EQ && e->kind <= FX_LE) {
        struct cv x = {0}, y = {0};
        rc = cval(c, e->a, type, alias, &x);
        if (!rc)
            rc = cval(c, e->b, type, alias, &y);
        if (!rc)
            rc = compare(c, e, &x, &y, &body);
        cv_free(&x);
        cv_free(&y);
    } else {
        struct cv v = {0};
        rc = cval(c, e, type, alias, &v);
        if (!rc && v.t == VT_BOOL) {
            frag_cat(&body, &v.a);
        } else if (!rc && (v.t == VT_ANY) && e->kind == FX_PATH) {
            /* a JSON property standing alone: true when it is true */
            frag_puts(&body, "(");
            dyn_as(c, &v, AC_BOOL, &body);
            frag_puts(&body, ") = 1");
        } else if (!rc) {
            rc = cfail(c, e, "expected a condition, found %s", vt_name(v.t));
        }
        cv_free(&v);
    }
    if (!rc) {
        if (from.sql.len) {
            frag_puts(out, "EXISTS (SELECT 1 FROM ");
            frag_cat(out, &from);
            frag_puts(out, " WHERE ");
            frag_cat(out, &where);
            frag_puts(out, " AND ");
            frag_cat(out, &body);
            frag_puts(out, ")");
        } else {
            frag_cat(out, &body);
        }
    }
    c->nhoists = saved;
    frag_free(&from);
    frag_free(&where);
    frag_free(&body);
    return rc;
}

static int cbool(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                 int hoist, struct sqlfrag *out);

/* The left operands of an AND (an OR) that are ANDs (ORs) too, written as one flat chain:
 * "(a AND b AND c)", not "((a AND b) AND c)", so that a long chain does not nest the SQL as
 * deep as it is long (SQLite's parser stack holds 100 levels). */
static int cbool_chain(struct fctx *c, const struct fexpr *e, enum fx_kind kind,
                       enum sta_type type, const char *alias, int hoist, struct sqlfrag *out)
{
    if (e->kind != kind)
        return cbool(c, e, type, alias, hoist, out);
    int rc = cbool_chain(c, e->a, kind, type, alias, hoist, out);
    if (rc)
        return rc;
    frag_puts(out, kind == FX_OR ? " OR " : " AND ");
    return cbool(c, e->b, type, alias, hoist, out);
}

static int cbool(struct fctx *c, const struct fexpr *e, enum sta_type type, const char *alias,
                 int hoist, struct sqlfrag *out)
{
    switch (e->kind) {
    case FX_OR:
    case FX_AND: {
        frag_puts(out, "(");
        int rc = cbool_chain(c, e->a, e->kind, type, alias, hoist, out);
        if (rc)
            return rc;
        frag_puts(out, e->kind == FX_OR ? " OR " : " AND ");
        rc = cbool(c, e->b, type, alias, hoist, out);
        frag_puts(out, ")");
        return rc;
    }
    case FX_NOT: {
        frag_puts(out, "NOT (");
        int rc = cbool(c, e->a, type, alias, hoist, out);
        frag_puts(out, ")");
        return rc;
    }
    case FX_BOOL: return frag_puts(out, e->i ? "1 = 1" : "1 = 0");
    default:
        if (hoist)
            return cleaf(c, e, type, alias, out);
        if (e->kind >= FX_EQ && e->kind <= FX_LE) {
            struct cv x = {0}, y = {0};
            int rc = cval(c, e->a, type, alias, &x);
            if (!rc)
                rc = cval(c, e->b, type, alias, &y);
            if (!rc) {
                frag_puts(out, "(");
                rc = compare(c, e, &x, &y, out);
                frag_puts(out, ")");
            }
            cv_free(&x);
            cv_free(&y);
            return rc;
        }
        struct cv v = {0};
        int rc = cval(c, e, type, alias, &v);
        if (!rc && v.t != VT_BOOL)
            rc = cfail(c, e, "expected a condition, found %s", vt_name(v.t));
        if (!rc)
            frag_cat(out, &v.a);
        cv_free(&v);
        return rc;
    }
}

int filter_sql(const struct fexpr *e, enum sta_type type, const char *alias,
               const struct sql_dialect *d, int64_t now_us, struct sqlfrag *out,
               insitu_error *err)
{
    struct fctx c = {"$filter", d, now_us, 0, {{0}}, 0, err};
    frag_puts(out, "(");
    int rc = cbool(&c, e, type, alias, 1, out);
    frag_puts(out, ")");
    return rc;
}

int orderby_sql(const struct sta_orderkey *keys, int n, enum sta_type type, const char *alias,
                const struct sql_dialect *d, int64_t now_us, struct sqlfrag *out, int *unique,
                insitu_error *err)
{
    struct fctx c = {"$orderby", d, now_us, 0, {{0}}, 0, err};
    *unique = 0;
    for (int k = 0; k < n; k++) {
        const struct fexpr *e = keys[k].expr;
        const char *dir = keys[k].desc ? " DESC NULLS LAST" : " ASC NULLS FIRST";
        if (e->kind == FX_PATH && e->nsegs == 1 &&
            (strcmp(e->segs[0], "id") == 0 || strcmp(e->segs[0], "@iot.id") == 0))
            *unique = 1;
        /* a column never null needs no NULLS clause: without one, PostgreSQL follows its
         * index (ascending = NULLS LAST there, NULLS FIRST on SQLite) instead of sorting */
        const struct sta_prop *prop =
            e->kind == FX_PATH && e->nsegs == 1
                ? sta_prop_find(type, e->segs[0], strlen(e->segs[0]))
                : NULL;
        if (prop && (prop->flags & SPF_NOTNULL))
            dir = keys[k].desc ? " DESC" : " ASC";
        struct cv v = {0};
        int rc = cval(&c, e, type, alias, &v);
        if (!rc && (v.t == VT_NULL || (v.t == VT_GEOM && !v.b.sql.len)))
            rc = cfail(&c, e, "cannot order by %s", vt_name(v.t));
        if (rc) {
            cv_free(&v);
            return rc;
        }
        if (k)
            frag_puts(out, ", ");
        if (v.t == VT_GEOM) {
            /* a location orders by its GeoJSON text: stable, if not meaningful */
            frag_cat(out, &v.b);
        } else if (v.t == VT_RESULT) {
            /* numbers first, then the other results by their JSON text */
            frag_cat(out, &v.a);
            frag_puts(out, dir);
            frag_puts(out, ", ");
            frag_cat(out, &v.b);
        } else if (v.t == VT_ANY) {
            /* by number, then text, then true/false: no one SQL type holds them all */
            dyn_as(&c, &v, AC_NUM, out);
            frag_puts(out, dir);
            frag_puts(out, ", ");
            dyn_as(&c, &v, AC_TEXT, out);
            frag_puts(out, dir);
            frag_puts(out, ", ");
            dyn_as(&c, &v, AC_BOOL, out);
        } else if (v.t == VT_BOOL) {
            frag_puts(out, "(CASE WHEN ");
            frag_cat(out, &v.a);
            frag_puts(out, " THEN 1 ELSE 0 END)");
        } else {
            /* a time orders by its start (an interval's end only breaks no ties, and ordering
             * by the start alone keeps a (series, start) index usable) */
            frag_cat(out, &v.a);
        }
        frag_puts(out, dir);
        cv_free(&v);
    }
    return 0;
}

/* ---- time range of a filter (for the aggregation extension) ---- */

static int range_of(const struct fexpr *e, const char *name, int64_t *from, int64_t *to)
{
    if (e->kind == FX_AND)
        return range_of(e->a, name, from, to) && range_of(e->b, name, from, to);
    if (e->kind < FX_GT || e->kind > FX_LE)
        return 0;
    const struct fexpr *path = e->a, *lit = e->b;
    enum fx_kind op = e->kind;
    if (path->kind != FX_PATH) {
        path = e->b;
        lit = e->a;
        op = op == FX_GT ? FX_LT : op == FX_GE ? FX_LE : op == FX_LT ? FX_GT : FX_GE;
    }
    if (path->kind != FX_PATH || path->nsegs != 1 || strcmp(path->segs[0], name) != 0 ||
        lit->kind != FX_TIME || lit->t1 != INSITU_TIME_NONE)
        return 0;
    int64_t t = lit->t0;
    switch (op) {
    case FX_GT: t++; /* fall through */
    case FX_GE:
        if (*from == INSITU_TIME_NONE || t > *from)
            *from = t;
        break;
    case FX_LE: t++; /* fall through */
    case FX_LT:
        if (*to == INSITU_TIME_NONE || t < *to)
            *to = t;
        break;
    default: return 0;
    }
    return 1;
}

int filter_time_range(const struct fexpr *e, const char *name, int64_t *from, int64_t *to)
{
    *from = *to = INSITU_TIME_NONE;
    return !e || range_of(e, name, from, to);
}
