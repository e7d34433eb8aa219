/*
 * catmatch.c: categorical match-ups (catmatch.h): classes of the pairs matchup.c made, the
 * confusion matrix and its statistics, and their CSV, JSON and SVG (libxml2 writer) output.
 * Definitions in docs/matchup.md; it never touches the store.
 */
#include "catmatch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/xmlwriter.h>

#include "jsonutil.h"
#include "matchup.h"
#include "timeutil.h"
#include "util.h"

/* Class codes are integers that a double holds exactly. */
#define CODE_MAX 9007199254740992.0 /* 2^53 */

void catmatch_opts_free(struct catmatch_opts *o)
{
    free(o->product_map);
    free(o->not_class);
    for (size_t i = 0; i < o->n_names; i++)
        free(o->names[i].name);
    free(o->names);
    o->product_map = NULL;
    o->not_class = NULL;
    o->names = NULL;
    o->n_product_map = o->n_not_class = o->n_names = 0;
}

/* ---- parsing options ---- */

static int parse_code(const char *s, size_t n, int64_t *out)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n ? parse_int64(s, n, out) : -1;
}

/* Calls item(start, length) for each comma-separated item of text. */
static int each_item(const char *text, int (*item)(const char *, size_t, void *), void *ctx)
{
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int rc = item(p, n, ctx);
        if (rc)
            return rc;
        if (!end)
            return 0;
        p = end + 1;
    }
}

struct parse_ctx {
    const char *opt;
    struct catmatch_opts *o;
    insitu_error *err;
};

static int map_item(const char *s, size_t n, void *vctx)
{
    struct parse_ctx *c = vctx;
    const char *eq = memchr(s, '=', n);
    int64_t from, to;
    if (!eq || parse_code(s, (size_t)(eq - s), &from) ||
        parse_code(eq + 1, n - (size_t)(eq - s) - 1, &to))
        return insitu_error_set(c->err, INSITU_EUSAGE,
                                "--%s: '%.*s': expected PRODUCT_CODE=CLASS_CODE (integers), "
                                "such as 100=1,0=0",
                                c->opt, (int)n, s);
    for (size_t i = 0; i < c->o->n_product_map; i++)
        if (c->o->product_map[i].from == from)
            return insitu_error_set(c->err, INSITU_EUSAGE, "--%s: code %lld is mapped twice",
                                    c->opt, (long long)from);
    struct catmatch_code_map *m = realloc(c->o->product_map, (c->o->n_product_map + 1) * sizeof *m);
    if (!m)
        return insitu_error_set(c->err, INSITU_ENOMEM, "out of memory");
    c->o->product_map = m;
    m[c->o->n_product_map++] = (struct catmatch_code_map){from, to};
    return 0;
}

int catmatch_parse_map(const char *opt, const char *text, struct catmatch_opts *o,
                       insitu_error *err)
{
    struct parse_ctx c = {opt, o, err};
    return each_item(text, map_item, &c);
}

static int code_item(const char *s, size_t n, void *vctx)
{
    struct parse_ctx *c = vctx;
    int64_t code;
    if (parse_code(s, n, &code))
        return insitu_error_set(c->err, INSITU_EUSAGE,
                                "--%s: '%.*s': expected a comma list of integer codes, such "
                                "as 205,254",
                                c->opt, (int)n, s);
    int64_t *p = realloc(c->o->not_class, (c->o->n_not_class + 1) * sizeof *p);
    if (!p)
        return insitu_error_set(c->err, INSITU_ENOMEM, "out of memory");
    c->o->not_class = p;
    p[c->o->n_not_class++] = code;
    return 0;
}

int catmatch_parse_codes(const char *opt, const char *text, struct catmatch_opts *o,
                         insitu_error *err)
{
    struct parse_ctx c = {opt, o, err};
    return each_item(text, code_item, &c);
}

static int name_item(const char *s, size_t n, void *vctx)
{
    struct parse_ctx *c = vctx;
    const char *eq = memchr(s, '=', n);
    int64_t code;
    size_t name_len = eq ? n - (size_t)(eq - s) - 1 : 0;
    if (!eq || parse_code(s, (size_t)(eq - s), &code) || !name_len)
        return insitu_error_set(c->err, INSITU_EUSAGE,
                                "--%s: '%.*s': expected CODE=NAME, such as 0=no snow,1=snow",
                                c->opt, (int)n, s);
    for (size_t i = 0; i < c->o->n_names; i++)
        if (c->o->names[i].code == code)
            return insitu_error_set(c->err, INSITU_EUSAGE, "--%s: code %lld is named twice", c->opt,
                                    (long long)code);
    struct catmatch_name *p = realloc(c->o->names, (c->o->n_names + 1) * sizeof *p);
    if (!p)
        return insitu_error_set(c->err, INSITU_ENOMEM, "out of memory");
    c->o->names = p;
    char *name = strndup(eq + 1, name_len);
    if (!name)
        return insitu_error_set(c->err, INSITU_ENOMEM, "out of memory");
    p[c->o->n_names++] = (struct catmatch_name){code, name};
    return 0;
}

int catmatch_parse_names(const char *opt, const char *text, struct catmatch_opts *o,
                         insitu_error *err)
{
    struct parse_ctx c = {opt, o, err};
    return each_item(text, name_item, &c);
}

int catmatch_check(const struct catmatch_opts *o, double scale, double offset, int reduce_mean,
                   insitu_error *err)
{
    if (scale != 1 || offset != 0)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "--scale/--offset: a categorical match-up compares class codes; "
                                "map product codes with --product-classes instead");
    if (reduce_mean && !o->has_threshold)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "--reduce mean: the mean of class codes is no class; give "
                                "--threshold to classify the in-situ mean, or use --reduce "
                                "nearest");
    return 0;
}

/* ---- classes of a pair ---- */

static int is_code(double v) { return isfinite(v) && v == floor(v) && fabs(v) <= CODE_MAX; }

int catmatch_classify(const struct catmatch_opts *o, double insitu, double product,
                      int64_t *insitu_class, int64_t *product_class, insitu_error *err)
{
    if (!is_code(product))
        return insitu_error_set(err, INSITU_EINVAL,
                                "product value %.10g is not a class code (an integer): is the "
                                "product categorical?",
                                product);
    int64_t code = (int64_t)product;
    for (size_t i = 0; i < o->n_not_class; i++)
        if (o->not_class[i] == code)
            return CATMATCH_DROPPED;
    if (o->product_map) {
        size_t i = 0;
        while (i < o->n_product_map && o->product_map[i].from != code)
            i++;
        if (i == o->n_product_map)
            return CATMATCH_DROPPED;
        code = o->product_map[i].to;
    }
    if (o->has_threshold) {
        *insitu_class = insitu > o->threshold;
    } else {
        if (!is_code(insitu))
            return insitu_error_set(err, INSITU_EINVAL,
                                    "in-situ value %.10g is not a class code (an integer): "
                                    "give --threshold to classify a numeric series",
                                    insitu);
        *insitu_class = (int64_t)insitu;
    }
    *product_class = code;
    return CATMATCH_CLASS;
}

/* ---- the confusion matrix ---- */

int catmatch_stats_init(struct catmatch_stats *s, size_t k, insitu_error *err)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    size_t m = k ? k : 1;
    s->cells = calloc(m * m, sizeof *s->cells);
    s->n_insitu = calloc(m, sizeof *s->n_insitu);
    s->n_product = calloc(m, sizeof *s->n_product);
    s->precision = calloc(m, sizeof *s->precision);
    s->recall = calloc(m, sizeof *s->recall);
    if (!s->cells || !s->n_insitu || !s->n_product || !s->precision || !s->recall) {
        catmatch_stats_free(s);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    return 0;
}

void catmatch_stats_add(struct catmatch_stats *s, size_t insitu, size_t product, size_t count)
{
    s->cells[insitu * s->k + product] += count;
}

void catmatch_stats_finish(struct catmatch_stats *s, size_t min_n)
{
    size_t k = s->k, diag = 0;
    s->n = 0;
    memset(s->n_insitu, 0, k * sizeof *s->n_insitu);
    memset(s->n_product, 0, k * sizeof *s->n_product);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            size_t c = s->cells[i * k + j];
            s->n_insitu[i] += c;
            s->n_product[j] += c;
            s->n += c;
            if (i == j)
                diag += c;
        }
    for (size_t i = 0; i < k; i++) {
        double hit = (double)s->cells[i * k + i];
        s->precision[i] = s->n_product[i] ? hit / (double)s->n_product[i] : NAN;
        s->recall[i] = s->n_insitu[i] ? hit / (double)s->n_insitu[i] : NAN;
    }
    s->reported = s->n > 0 && s->n >= min_n;
    s->oa = s->kappa = NAN;
    if (!s->reported)
        return;
    double n = (double)s->n, chance = 0;
    for (size_t i = 0; i < k; i++)
        chance += (double)s->n_insitu[i] * (double)s->n_product[i];
    chance /= n * n;
    s->oa = (double)diag / n;
    s->kappa = chance < 1 ? (s->oa - chance) / (1 - chance) : NAN;
}

void catmatch_stats_free(struct catmatch_stats *s)
{
    free(s->cells);
    free(s->n_insitu);
    free(s->n_product);
    free(s->precision);
    free(s->recall);
    memset(s, 0, sizeof *s);
}

/* ---- the report ---- */

/* A list of distinct codes with a count each (dropped product codes, classes seen). */
struct code_counts {
    int64_t *code;
    size_t *count;
    size_t n;
};

static int counts_add(struct code_counts *c, int64_t code, size_t count)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->code[i] == code) {
            c->count[i] += count;
            return 0;
        }
    int64_t *pc = realloc(c->code, (c->n + 1) * sizeof *pc);
    if (!pc)
        return -1;
    c->code = pc;
    size_t *pn = realloc(c->count, (c->n + 1) * sizeof *pn);
    if (!pn)
        return -1;
    c->count = pn;
    c->code[c->n] = code;
    c->count[c->n++] = count;
    return 0;
}

/* Sorts by code (a few codes: insertion sort). */
static void counts_sort(struct code_counts *c)
{
    for (size_t i = 1; i < c->n; i++)
        for (size_t j = i; j > 0 && c->code[j - 1] > c->code[j]; j--) {
            int64_t code = c->code[j];
            c->code[j] = c->code[j - 1];
            c->code[j - 1] = code;
            size_t count = c->count[j];
            c->count[j] = c->count[j - 1];
            c->count[j - 1] = count;
        }
}

static void counts_free(struct code_counts *c)
{
    free(c->code);
    free(c->count);
    memset(c, 0, sizeof *c);
}

static int cmp_code(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The classes of the report: sorted codes and their names. */
struct class_list {
    int64_t *code;
    char **name;
    size_t n;
};

static size_t class_index(const struct class_list *cl, int64_t code)
{
    const int64_t *p = bsearch(&code, cl->code, cl->n, sizeof code, cmp_code);
    return p ? (size_t)(p - cl->code) : SIZE_MAX;
}

/* The classified pairs of one set: their class codes, CATMATCH_DROPPED in status. */
struct set_classes {
    int64_t *insitu, *product;
    int *status;
    struct code_counts dropped;
    struct catmatch_stats stats;
};

struct report {
    const struct matchup_request *req;
    const struct matchup_set *sets;
    size_t n_sets;
    struct set_classes *sc;
    struct class_list classes;
    struct code_counts dropped_all;
    struct catmatch_stats all;
};

static int classify_sets(struct report *r, struct code_counts *seen, insitu_error *err)
{
    const struct catmatch_opts *o = &r->req->cat;
    char t[40];
    for (size_t k = 0; k < r->n_sets; k++) {
        const struct matchup_set *s = &r->sets[k];
        struct set_classes *c = &r->sc[k];
        size_t m = s->n_pairs ? s->n_pairs : 1;
        c->insitu = calloc(m, sizeof *c->insitu);
        c->product = calloc(m, sizeof *c->product);
        c->status = calloc(m, sizeof *c->status);
        if (!c->insitu || !c->product || !c->status)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        for (size_t i = 0; i < s->n_pairs; i++) {
            const struct matchup_pair *p = &s->pairs[i];
            int rc =
                catmatch_classify(o, p->insitu, p->product, &c->insitu[i], &c->product[i], err);
            if (rc < 0) {
                char why[sizeof err->message];
                snprintf(why, sizeof why, "%s", err->message);
                return insitu_error_set(err, rc, "thing '%s', product time %s: %s", s->insitu.thing,
                                        time_format_iso(p->product_time, t, sizeof t), why);
            }
            c->status[i] = rc;
            int fail =
                rc == CATMATCH_DROPPED
                    ? counts_add(&c->dropped, (int64_t)p->product, 1) ||
                          counts_add(&r->dropped_all, (int64_t)p->product, 1)
                    : counts_add(seen, c->insitu[i], 1) || counts_add(seen, c->product[i], 1);
            if (fail)
                return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Every class that can occur: seen, mapped onto, named, and 0/1 with a threshold. */
static int collect_classes(struct report *r, struct code_counts *seen)
{
    const struct catmatch_opts *o = &r->req->cat;
    int fail = 0;
    for (size_t i = 0; i < o->n_product_map; i++)
        fail |= counts_add(seen, o->product_map[i].to, 0);
    for (size_t i = 0; i < o->n_names; i++)
        fail |= counts_add(seen, o->names[i].code, 0);
    if (o->has_threshold)
        fail |= counts_add(seen, 0, 0) | counts_add(seen, 1, 0);
    if (fail)
        return -1;
    struct class_list *cl = &r->classes;
    cl->code = malloc((seen->n ? seen->n : 1) * sizeof *cl->code);
    cl->name = calloc(seen->n ? seen->n : 1, sizeof *cl->name);
    if (!cl->code || !cl->name)
        return -1;
    memcpy(cl->code, seen->code, seen->n * sizeof *cl->code);
    cl->n = seen->n;
    qsort(cl->code, cl->n, sizeof *cl->code, cmp_code);
    return 0;
}

/* A class's name: the user's; else the product's own name of the one product code mapped
 * onto it (the code itself without a map); else "> T" / "<= T" with a threshold; else the
 * code. */
static char *class_name(const struct catmatch_opts *o, int64_t code, const struct catmatch_name *pn,
                        size_t n_pn)
{
    for (size_t i = 0; i < o->n_names; i++)
        if (o->names[i].code == code)
            return xstrdup(o->names[i].name);
    int64_t from = code;
    size_t sources = o->product_map ? 0 : 1;
    for (size_t i = 0; i < o->n_product_map; i++)
        if (o->product_map[i].to == code) {
            from = o->product_map[i].from;
            sources++;
        }
    if (sources == 1)
        for (size_t i = 0; i < n_pn; i++)
            if (pn[i].code == from)
                return xstrdup(pn[i].name);
    char buf[64];
    if (o->has_threshold && (code == 0 || code == 1))
        snprintf(buf, sizeof buf, "%s %.10g", code ? ">" : "<=", o->threshold);
    else
        snprintf(buf, sizeof buf, "%lld", (long long)code);
    return xstrdup(buf);
}

static int fill_stats(struct report *r, insitu_error *err)
{
    size_t k = r->classes.n, min_n = r->req->opts.min_n;
    if (catmatch_stats_init(&r->all, k, err))
        return INSITU_ENOMEM;
    for (size_t s = 0; s < r->n_sets; s++) {
        struct set_classes *c = &r->sc[s];
        if (catmatch_stats_init(&c->stats, k, err))
            return INSITU_ENOMEM;
        for (size_t i = 0; i < r->sets[s].n_pairs; i++) {
            if (c->status[i] != CATMATCH_CLASS)
                continue;
            size_t a = class_index(&r->classes, c->insitu[i]);
            size_t b = class_index(&r->classes, c->product[i]);
            catmatch_stats_add(&c->stats, a, b, 1);
            catmatch_stats_add(&r->all, a, b, 1);
        }
        catmatch_stats_finish(&c->stats, min_n);
    }
    catmatch_stats_finish(&r->all, min_n);
    return 0;
}

/* ---- CSV ---- */

static void put_num(struct strbuf *sb, double v)
{
    if (isfinite(v))
        sb_printf(sb, ",%.10g", v);
    else
        sb_puts(sb, ",");
}

static void put_dropped(struct strbuf *sb, const struct code_counts *d)
{
    size_t total = 0;
    for (size_t i = 0; i < d->n; i++)
        total += d->count[i];
    sb_printf(sb, ",%zu,", total);
    for (size_t i = 0; i < d->n; i++) /* "205:3 254:1" (sorted by code) */
        sb_printf(sb, "%s%lld:%zu", i ? " " : "", (long long)d->code[i], d->count[i]);
}

static const char *cat_note(const struct catmatch_stats *s, size_t min_n)
{
    static char note[80];
    if (!s->reported) {
        snprintf(note, sizeof note, "n < min-n (%zu): not reported", min_n);
        return note;
    }
    return isnan(s->kappa) ? "one class on both sides: kappa undefined" : "";
}

static void csv_matrix_rows(struct strbuf *sb, const struct report *r, const char *thing,
                            const struct catmatch_stats *s)
{
    size_t k = r->classes.n;
    for (size_t i = 0; i < k; i++) {
        sb_put_csv_field(sb, thing);
        sb_putc(sb, ',');
        sb_put_csv_field(sb, r->classes.name[i]);
        for (size_t j = 0; j < k; j++)
            sb_printf(sb, ",%zu", s->cells[i * k + j]);
        sb_printf(sb, ",%zu\n", s->n_insitu[i]);
    }
    sb_put_csv_field(sb, thing);
    sb_puts(sb, ",total");
    for (size_t j = 0; j < k; j++)
        sb_printf(sb, ",%zu", s->n_product[j]);
    sb_printf(sb, ",%zu\n", s->n);
}

static void csv_class_rows(struct strbuf *sb, const struct report *r, const char *thing,
                           const struct catmatch_stats *s)
{
    for (size_t i = 0; i < r->classes.n; i++) {
        sb_put_csv_field(sb, thing);
        sb_printf(sb, ",%lld,", (long long)r->classes.code[i]);
        sb_put_csv_field(sb, r->classes.name[i]);
        sb_printf(sb, ",%zu,%zu,%zu", s->n_insitu[i], s->n_product[i], s->cells[i * s->k + i]);
        put_num(sb, s->precision[i]);
        put_num(sb, s->recall[i]);
        sb_putc(sb, '\n');
    }
}

static void csv_summary_row(struct strbuf *sb, const char *thing, const struct matchup_set *set,
                            const struct catmatch_stats *s, const struct code_counts *dropped,
                            size_t min_n)
{
    sb_put_csv_field(sb, thing);
    if (set)
        sb_printf(sb, ",%lld,%lld,%zu", (long long)set->insitu.id, (long long)set->product.id,
                  s->n);
    else
        sb_printf(sb, ",,,%zu", s->n);
    put_num(sb, s->oa);
    put_num(sb, s->kappa);
    put_dropped(sb, dropped);
    sb_putc(sb, ',');
    sb_put_csv_field(sb, cat_note(s, min_n));
    sb_putc(sb, '\n');
}

static void write_csv(struct strbuf *sb, const struct report *r)
{
    char t1[40], t2[40], a[40], b[40];
    sb_puts(sb, "thing,insitu_datastream,product_datastream,product_time,insitu_time,product,"
                "insitu,n_insitu,insitu_class,product_class\n");
    for (size_t k = 0; k < r->n_sets; k++) {
        const struct matchup_set *s = &r->sets[k];
        for (size_t i = 0; i < s->n_pairs; i++) {
            const struct matchup_pair *p = &s->pairs[i];
            fmt_double(p->product, a, sizeof a);
            fmt_double(p->insitu, b, sizeof b);
            sb_put_csv_field(sb, s->insitu.thing);
            sb_printf(sb, ",%lld,%lld,%s,%s,%s,%s,%d,", (long long)s->insitu.id,
                      (long long)s->product.id, time_format_iso(p->product_time, t1, sizeof t1),
                      p->insitu_time == INSITU_TIME_NONE
                          ? ""
                          : time_format_iso(p->insitu_time, t2, sizeof t2),
                      a, b, p->n_insitu);
            if (r->sc[k].status[i] == CATMATCH_CLASS)
                sb_printf(sb, "%lld,%lld", (long long)r->sc[k].insitu[i],
                          (long long)r->sc[k].product[i]);
            else
                sb_putc(sb, ',');
            sb_putc(sb, '\n');
        }
    }
    /* the matrix: one row per in-situ class, one column per product class */
    sb_puts(sb, "\nthing,insitu_class");
    for (size_t j = 0; j < r->classes.n; j++) {
        sb_putc(sb, ',');
        sb_put_csv_field(sb, r->classes.name[j]);
    }
    sb_puts(sb, ",total\n");
    for (size_t k = 0; k < r->n_sets; k++)
        csv_matrix_rows(sb, r, r->sets[k].insitu.thing, &r->sc[k].stats);
    if (r->n_sets > 1)
        csv_matrix_rows(sb, r, "(all)", &r->all);
    sb_puts(sb, "\nthing,class,name,n_insitu,n_product,n_agree,precision,recall\n");
    for (size_t k = 0; k < r->n_sets; k++)
        csv_class_rows(sb, r, r->sets[k].insitu.thing, &r->sc[k].stats);
    if (r->n_sets > 1)
        csv_class_rows(sb, r, "(all)", &r->all);
    sb_puts(sb, "\nthing,insitu_datastream,product_datastream,n,overall_accuracy,kappa,"
                "n_dropped,dropped_codes,note\n");
    size_t min_n = r->req->opts.min_n;
    for (size_t k = 0; k < r->n_sets; k++)
        csv_summary_row(sb, r->sets[k].insitu.thing, &r->sets[k], &r->sc[k].stats,
                        &r->sc[k].dropped, min_n);
    if (r->n_sets > 1)
        csv_summary_row(sb, "(all)", NULL, &r->all, &r->dropped_all, min_n);
}

/* ---- JSON ---- */

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *stats_json(const struct report *r, const struct catmatch_stats *s,
                          const struct code_counts *dropped)
{
    json_t *o = json_object();
    size_t k = s->k;
    json_object_set_new(o, "n", json_integer((json_int_t)s->n));
    json_object_set_new(o, "overall_accuracy", num_or_null(s->oa));
    json_object_set_new(o, "kappa", num_or_null(s->kappa));
    json_t *matrix = json_array();
    for (size_t i = 0; i < k; i++) {
        json_t *row = json_array();
        for (size_t j = 0; j < k; j++)
            json_array_append_new(row, json_integer((json_int_t)s->cells[i * k + j]));
        json_array_append_new(matrix, row);
    }
    json_object_set_new(o, "matrix", matrix);
    json_t *classes = json_array();
    for (size_t i = 0; i < k; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "code", json_integer(r->classes.code[i]));
        json_object_set_new(c, "name", json_string(r->classes.name[i]));
        json_object_set_new(c, "n_insitu", json_integer((json_int_t)s->n_insitu[i]));
        json_object_set_new(c, "n_product", json_integer((json_int_t)s->n_product[i]));
        json_object_set_new(c, "n_agree", json_integer((json_int_t)s->cells[i * k + i]));
        json_object_set_new(c, "precision", num_or_null(s->precision[i]));
        json_object_set_new(c, "recall", num_or_null(s->recall[i]));
        json_array_append_new(classes, c);
    }
    json_object_set_new(o, "classes", classes);
    json_t *d = json_object();
    size_t total = 0;
    char code[32];
    for (size_t i = 0; i < dropped->n; i++) {
        snprintf(code, sizeof code, "%lld", (long long)dropped->code[i]);
        json_object_set_new(d, code, json_integer((json_int_t)dropped->count[i]));
        total += dropped->count[i];
    }
    json_object_set_new(o, "n_dropped", json_integer((json_int_t)total));
    json_object_set_new(o, "dropped", d);
    const char *note = cat_note(s, r->req->opts.min_n);
    if (*note)
        json_object_set_new(o, "note", json_string(note));
    return o;
}

static json_t *pairs_json(const struct matchup_set *s, const struct set_classes *c)
{
    json_t *pairs = json_array();
    for (size_t i = 0; i < s->n_pairs; i++) {
        json_t *jp = matchup_pair_json(&s->pairs[i]);
        int ok = c->status[i] == CATMATCH_CLASS;
        json_object_set_new(jp, "insitu_class", ok ? json_integer(c->insitu[i]) : json_null());
        json_object_set_new(jp, "product_class", ok ? json_integer(c->product[i]) : json_null());
        json_array_append_new(pairs, jp);
    }
    return pairs;
}

static json_t *options_json(const struct matchup_request *req)
{
    const struct catmatch_opts *o = &req->cat;
    json_t *root = json_object();
    json_object_set_new(root, "categorical", json_true());
    json_object_set_new(root, "tolerance_s", json_integer(req->opts.tolerance_us / US_PER_SEC));
    json_object_set_new(root, "reduce",
                        json_string(req->opts.reduce == MATCHUP_MEAN ? "mean" : "nearest"));
    json_object_set_new(root, "threshold",
                        o->has_threshold ? json_real(o->threshold) : json_null());
    json_t *map = json_null();
    if (o->product_map) {
        map = json_object();
        char code[32];
        for (size_t i = 0; i < o->n_product_map; i++) {
            snprintf(code, sizeof code, "%lld", (long long)o->product_map[i].from);
            json_object_set_new(map, code, json_integer(o->product_map[i].to));
        }
    }
    json_object_set_new(root, "product_classes", map);
    json_t *nc = json_array();
    for (size_t i = 0; i < o->n_not_class; i++)
        json_array_append_new(nc, json_integer(o->not_class[i]));
    json_object_set_new(root, "not_class", nc);
    json_object_set_new(root, "min_n", json_integer((json_int_t)req->opts.min_n));
    return root;
}

static void write_json(struct strbuf *sb, const struct report *r)
{
    json_t *root = options_json(r->req);
    json_t *classes = json_array();
    for (size_t i = 0; i < r->classes.n; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "code", json_integer(r->classes.code[i]));
        json_object_set_new(c, "name", json_string(r->classes.name[i]));
        json_array_append_new(classes, c);
    }
    json_object_set_new(root, "classes", classes);
    json_t *arr = json_array();
    for (size_t k = 0; k < r->n_sets; k++) {
        const struct matchup_set *s = &r->sets[k];
        json_t *set = json_object();
        json_object_set_new(set, "thing", json_string(s->insitu.thing));
        json_object_set_new(set, "insitu", matchup_ref_json(&s->insitu));
        json_object_set_new(set, "product", matchup_ref_json(&s->product));
        json_object_set_new(set, "pairs", pairs_json(s, &r->sc[k]));
        json_object_set_new(set, "statistics", stats_json(r, &r->sc[k].stats, &r->sc[k].dropped));
        json_array_append_new(arr, set);
    }
    json_object_set_new(root, "sets", arr);
    json_object_set_new(root, "all", stats_json(r, &r->all, &r->dropped_all));
    json_append(sb, root);
    sb_putc(sb, '\n');
    json_decref(root);
}

/* ---- SVG heat map ---- */

/* The layout: cells of `cell` units, names on the left (in situ) and below (product,
 * turned), recall in a column on the right, precision in a row below. */
struct heat {
    double x, y, cell;
};

static void draw_cell(xmlTextWriterPtr w, const struct heat *h, size_t i, size_t j, size_t count,
                      double share)
{
    double x = h->x + (double)j * h->cell, y = h->y + (double)i * h->cell;
    xmlTextWriterStartElement(w, BAD_CAST "rect");
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "x", "%.1f", x);
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "y", "%.1f", y);
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "width", "%.1f", h->cell);
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "height", "%.1f", h->cell);
    /* white to dark blue by the share of the in-situ class's pairs */
    double f = isfinite(share) ? share : 0;
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "fill", "rgb(%d,%d,%d)",
                                      (int)(255 - 247 * f + 0.5), (int)(255 - 207 * f + 0.5),
                                      (int)(255 - 148 * f + 0.5));
    xmlTextWriterWriteAttribute(w, BAD_CAST "class", BAD_CAST(i == j ? "cell diag" : "cell"));
    xmlTextWriterEndElement(w);
    char text[32];
    snprintf(text, sizeof text, "%zu", count);
    matchup_svg_text(w, x + h->cell / 2, y + h->cell / 2 + 4, "middle",
             share > 0.5 ? "count dark" : "count", text);
}

static void draw_margins(xmlTextWriterPtr w, const struct heat *h, const struct report *r)
{
    size_t k = r->classes.n;
    const struct catmatch_stats *s = &r->all;
    double right = h->x + (double)k * h->cell, bottom = h->y + (double)k * h->cell;
    char text[64];
    matchup_svg_text(w, right + 8, h->y - 8, NULL, "label", "recall");
    matchup_svg_text(w, h->x - 8, bottom + 18, "end", "label", "precision");
    for (size_t i = 0; i < k; i++) {
        double mid = (double)i * h->cell + h->cell / 2;
        matchup_svg_text(w, h->x - 8, h->y + mid + 4, "end", NULL, r->classes.name[i]);
        if (isfinite(s->recall[i]))
            snprintf(text, sizeof text, "%.3f (n %zu)", s->recall[i], s->n_insitu[i]);
        else
            snprintf(text, sizeof text, "- (n %zu)", s->n_insitu[i]);
        matchup_svg_text(w, right + 8, h->y + mid + 4, NULL, NULL, text);
        if (isfinite(s->precision[i]))
            snprintf(text, sizeof text, "%.3f", s->precision[i]);
        else
            snprintf(text, sizeof text, "-");
        matchup_svg_text(w, h->x + mid, bottom + 18, "middle", NULL, text);
        /* product class names below, turned */
        xmlTextWriterStartElement(w, BAD_CAST "text");
        xmlTextWriterWriteFormatAttribute(w, BAD_CAST "transform",
                                          "translate(%.1f,%.1f) rotate(-45)", h->x + mid + 4,
                                          bottom + 34);
        xmlTextWriterWriteAttribute(w, BAD_CAST "text-anchor", BAD_CAST "end");
        xmlTextWriterWriteString(w, BAD_CAST r->classes.name[i]);
        xmlTextWriterEndElement(w);
    }
}

static void draw_legend(xmlTextWriterPtr w, double x, double y, const struct report *r)
{
    char line[160];
    const struct catmatch_stats *s = &r->all;
    size_t dropped = 0;
    for (size_t i = 0; i < r->dropped_all.n; i++)
        dropped += r->dropped_all.count[i];
    snprintf(line, sizeof line, "n = %zu pairs (%zu dropped: product code not a class)", s->n,
             dropped);
    matchup_svg_text(w, x, y, NULL, "legend", line);
    if (s->reported) {
        snprintf(line, sizeof line, "overall accuracy = %.4f", s->oa);
        matchup_svg_text(w, x, y + 16, NULL, "legend", line);
        if (isfinite(s->kappa))
            snprintf(line, sizeof line, "kappa = %.4f", s->kappa);
        else
            snprintf(line, sizeof line, "kappa undefined (one class on both sides)");
        matchup_svg_text(w, x, y + 32, NULL, "legend", line);
    } else {
        snprintf(line, sizeof line, "n < min-n (%zu): no statistics", r->req->opts.min_n);
        matchup_svg_text(w, x, y + 16, NULL, "legend", line);
    }
    matchup_svg_text(w, x, y + 48, NULL, "legend",
             "rows: in situ; columns: product; shade: share "
             "of the in-situ class");
}

static int write_svg(const char *path, const struct report *r, insitu_error *err)
{
    size_t k = r->classes.n, longest = 4;
    for (size_t i = 0; i < k; i++)
        longest = strlen(r->classes.name[i]) > longest ? strlen(r->classes.name[i]) : longest;
    struct heat h = {.cell = k > 10 ? fmax(28, 600.0 / (double)k) : 60};
    h.x = 40 + 7.0 * (double)(longest > 40 ? 40 : longest);
    h.y = 60;
    double grid = (double)k * h.cell;
    double width = h.x + grid + 160, height = h.y + grid + 40 + 5.0 * (double)longest + 90;
    width = width < 560 ? 560 : width;
    xmlTextWriterPtr w = xmlNewTextWriterFilename(path, 0);
    if (!w)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot write the plot", path);
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "svg");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns", BAD_CAST "http://www.w3.org/2000/svg");
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "width", "%.0f", width);
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "height", "%.0f", height);
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "viewBox", "0 0 %.0f %.0f", width, height);
    xmlTextWriterWriteElement(w, BAD_CAST "style",
                              BAD_CAST
                              "text{font-family:sans-serif;font-size:11px}.label{font-size:13px}"
                              ".legend{font-size:12px}.title{font-size:14px;font-weight:bold}"
                              ".cell{stroke:#fff}.diag{stroke:#333;stroke-width:1.5}"
                              ".count{font-size:12px}.dark{fill:#fff}");
    char title[512];
    snprintf(title, sizeof title, "categorical matchup: in situ %s vs product %s (%zu thing%s)",
             r->req->insitu, r->req->product, r->n_sets, r->n_sets == 1 ? "" : "s");
    matchup_svg_text(w, 20, 22, NULL, "title", title);
    matchup_svg_text(w, h.x + grid / 2, h.y - 24, "middle", "label", "product");
    xmlTextWriterStartElement(w, BAD_CAST "text");
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "transform", "translate(16,%.1f) rotate(-90)",
                                      h.y + grid / 2);
    xmlTextWriterWriteAttribute(w, BAD_CAST "text-anchor", BAD_CAST "middle");
    xmlTextWriterWriteAttribute(w, BAD_CAST "class", BAD_CAST "label");
    xmlTextWriterWriteString(w, BAD_CAST "in situ");
    xmlTextWriterEndElement(w);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            size_t c = r->all.cells[i * k + j];
            double share = r->all.n_insitu[i] ? (double)c / (double)r->all.n_insitu[i] : 0;
            draw_cell(w, &h, i, j, c, share);
        }
    draw_margins(w, &h, r);
    draw_legend(w, 20, height - 70, r);
    xmlTextWriterEndElement(w);
    int rc = xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    if (rc < 0)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot write the plot", path);
    return 0;
}

/* ---- the whole report ---- */

static void report_free(struct report *r)
{
    for (size_t k = 0; r->sc && k < r->n_sets; k++) {
        free(r->sc[k].insitu);
        free(r->sc[k].product);
        free(r->sc[k].status);
        counts_free(&r->sc[k].dropped);
        catmatch_stats_free(&r->sc[k].stats);
    }
    free(r->sc);
    for (size_t i = 0; r->classes.name && i < r->classes.n; i++)
        free(r->classes.name[i]);
    free(r->classes.name);
    free(r->classes.code);
    counts_free(&r->dropped_all);
    catmatch_stats_free(&r->all);
}

static int prepare(struct report *r, const struct catmatch_name *pn, size_t n_pn, insitu_error *err)
{
    struct code_counts seen = {0};
    int rc = classify_sets(r, &seen, err);
    if (!rc && collect_classes(r, &seen))
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    counts_free(&seen);
    for (size_t i = 0; !rc && i < r->classes.n; i++)
        if (!(r->classes.name[i] = class_name(&r->req->cat, r->classes.code[i], pn, n_pn)))
            rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (rc)
        return rc;
    for (size_t k = 0; k < r->n_sets; k++)
        counts_sort(&r->sc[k].dropped);
    counts_sort(&r->dropped_all);
    return fill_stats(r, err);
}

int catmatch_report(const struct matchup_request *req, const struct matchup_set *sets,
                    size_t n_sets, const struct catmatch_name *product_names,
                    size_t n_product_names, int json, FILE *out, const char *plot_path,
                    insitu_error *err)
{
    struct report r = {.req = req, .sets = sets, .n_sets = n_sets};
    r.sc = calloc(n_sets ? n_sets : 1, sizeof *r.sc);
    int rc = r.sc ? 0 : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (!rc)
        rc = prepare(&r, product_names, n_product_names, err);
    if (!rc) {
        struct strbuf sb = {0};
        if (json)
            write_json(&sb, &r);
        else
            write_csv(&sb, &r);
        if (fwrite(sb.data, 1, sb.len, out) != sb.len)
            rc = insitu_error_set(err, INSITU_EIO, "cannot write the matchup output");
        sb_free(&sb);
    }
    if (!rc && plot_path)
        rc = write_svg(plot_path, &r, err);
    report_free(&r);
    return rc;
}
