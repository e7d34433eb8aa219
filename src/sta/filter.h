/*
 * filter.h: SensorThings query options ($filter, $orderby, $select, $expand, $top, $skip,
 * $count) parsed into an AST, and expressions compiled into SQL text with '?' placeholders
 * plus the list of values to bind. Nothing a client sends is ever pasted into SQL: names are
 * looked up in the entity model and literals become bound values.
 */
#ifndef INSITU_FILTER_H
#define INSITU_FILTER_H

#include <stdint.h>

#include "insitu.h"
#include "entities.h"
#include "util.h"

struct sql_dialect;
struct stmt;

/* Limits on what a client may send: larger input is refused with a message. */
enum {
    FILTER_MAX_TEXT = 16384, /* characters of one $filter or $orderby */
    FILTER_MAX_DEPTH = 48,   /* nesting of parentheses, operators and calls */
    /* nodes of one expression: a chain of ANDs or ORs is as deep as it is long in the
     * database's expression tree, and SQLite takes 1000 levels at most */
    FILTER_MAX_NODES = 1500,
    EXPAND_MAX_DEPTH = 6     /* nesting of $expand */
};

/* ---- SQL fragments ---- */

enum sql_vtype { SV_NULL, SV_INT, SV_REAL, SV_TEXT };

struct sql_value {
    enum sql_vtype type;
    int64_t i;
    double d;
    char *s; /* owned */
};

/* SQL text with '?' placeholders and the values they take, in the order they appear.
 * Zero-initialise; frag_free() releases. */
struct sqlfrag {
    struct strbuf sql;
    struct sql_value *vals;
    size_t n, cap;
};

void frag_free(struct sqlfrag *f);
void frag_reset(struct sqlfrag *f);
int frag_puts(struct sqlfrag *f, const char *s);
int frag_printf(struct sqlfrag *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends "?" and the value it stands for (text is copied). */
int frag_int(struct sqlfrag *f, int64_t v);
int frag_real(struct sqlfrag *f, double v);
int frag_text(struct sqlfrag *f, const char *s);
/* Appends src's text and values to dst. */
int frag_cat(struct sqlfrag *dst, const struct sqlfrag *src);
/* Binds f's values to s from parameter index *idx on (advancing *idx). */
void frag_bind(const struct sqlfrag *f, struct stmt *s, int *idx);

/* ---- expressions ---- */

enum fx_kind {
    FX_OR, FX_AND, FX_NOT,
    FX_EQ, FX_NE, FX_GT, FX_GE, FX_LT, FX_LE,
    FX_ADD, FX_SUB, FX_MUL, FX_DIV, FX_MOD, FX_NEG,
    FX_INT, FX_REAL, FX_STR, FX_BOOL, FX_NULL, FX_TIME, FX_DURATION, FX_GEOM,
    FX_PATH, FX_CALL
};

struct fexpr {
    enum fx_kind kind;
    int pos;                /* character of the source where it starts, from 1 */
    struct fexpr *a, *b;    /* operands */
    int64_t i;              /* FX_INT, FX_BOOL, FX_DURATION (microseconds) */
    double d;               /* FX_REAL */
    char *s;                /* FX_STR; FX_GEOM: normalised WKT */
    int64_t t0, t1;         /* FX_TIME: start, end (INSITU_TIME_NONE for an instant) */
    double env[4];          /* FX_GEOM: envelope west, south, east, north */
    char **segs;            /* FX_PATH: "Datastream", "Thing", "name" */
    int nsegs;
    int fn;                 /* FX_CALL: function number */
    struct fexpr **args;    /* FX_CALL */
    int nargs;
};

void fexpr_free(struct fexpr *e);

/* Parses a $filter expression. Errors (INSITU_EINVAL) name the option, the character and
 * what was expected: "$filter: at character 12: expected ')' to close '(' at character 3". */
int filter_parse(const char *text, struct fexpr **out, insitu_error *err);

/* ---- query options ---- */

struct sta_orderkey {
    struct fexpr *expr;
    int desc;
};

struct sta_expand;

/* The options of a request, or of one $expand item. */
struct sta_query {
    struct fexpr *filter;
    struct sta_orderkey *orderby;
    int n_orderby;
    char **select;           /* property and navigation names */
    int n_select;
    struct sta_expand *expand;
    int n_expand;
    int64_t top, skip;       /* -1: not given */
    int count;               /* -1: not given, else 0/1 */
    char *text[4];           /* as given, for links: $filter, $orderby, $select, $expand */
};

enum { SQ_FILTER, SQ_ORDERBY, SQ_SELECT, SQ_EXPAND };

struct sta_expand {
    char *nav;               /* one navigation property name */
    int pos;                 /* character in $expand where it is named */
    struct sta_query q;
};

/* Parses one option into q ("$filter", "$orderby", "$select", "$expand", "$top", "$skip",
 * "$count"); depth is the $expand nesting of q. An option given twice, an unknown $ option
 * inside $expand, or a malformed value is INSITU_EINVAL with a message. */
int sq_parse_option(struct sta_query *q, const char *key, const char *value, int depth,
                    insitu_error *err);
void sq_init(struct sta_query *q);
void sq_free(struct sta_query *q);

/* ---- compiling to SQL ---- */

/* Appends to out an SQL condition for e on rows of type `type` under alias (an identifier
 * the caller chose, such as "e"). Paths through to-many navigation properties are true when
 * any related entity satisfies the comparison they appear in. now_us is the time now() and
 * an Observation's missing phenomenonTime stand for. */
int filter_sql(const struct fexpr *e, enum sta_type type, const char *alias,
               const struct sql_dialect *d, int64_t now_us, struct sqlfrag *out,
               insitu_error *err);

/* Appends "expr ASC NULLS FIRST, ..." for the keys; *unique is set when the keys order the
 * rows of type completely (id is among them), so that no tie-breaker is needed. */
int orderby_sql(const struct sta_orderkey *keys, int n, enum sta_type type, const char *alias,
                const struct sql_dialect *d, int64_t now_us, struct sqlfrag *out, int *unique,
                insitu_error *err);

/* 1 when e restricts a time property `name` only with comparisons of literals joined by
 * 'and'; fills [*from, *to) (INSITU_TIME_NONE when open). Used by the aggregation
 * extension, which reads a time range. */
int filter_time_range(const struct fexpr *e, const char *name, int64_t *from, int64_t *to);

#endif
