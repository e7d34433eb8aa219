/*
 * matchup.c: temporal matching of an in-situ and a product Datastream of one Thing and the
 * statistics of the pairs (definitions in docs/matchup.md, after pytesmo's where it has
 * them), written as CSV or JSON, with an SVG scatter and time-series plot (libxml2 writer).
 * Series are read through the query cursor; it never writes to the store.
 */
#include "matchup.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/xmlwriter.h>

#include "jsonutil.h"
#include "store.h"
#include "timeutil.h"
#include "util.h"

int matchup_series_add(struct matchup_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        int64_t *pt = realloc(s->t, cap * sizeof *pt);
        if (!pt)
            return -1;
        s->t = pt;
        double *pv = realloc(s->v, cap * sizeof *pv);
        if (!pv)
            return -1;
        s->v = pv;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
    return 0;
}

void matchup_series_free(struct matchup_series *s)
{
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- pairing ---- */

/* The first index with t[i] >= t. */
static size_t lower_bound(const struct matchup_series *s, int64_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->t[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int pair_one(const struct matchup_series *in, int64_t tp, const struct matchup_opts *o,
                    struct matchup_pair *p)
{
    size_t i = lower_bound(in, tp - o->tolerance_us);
    if (o->reduce == MATCHUP_MEAN) {
        double sum = 0;
        int n = 0;
        for (; i < in->n && in->t[i] <= tp + o->tolerance_us; i++) {
            sum += in->v[i];
            n++;
        }
        if (!n)
            return 0;
        p->insitu = sum / n;
        p->insitu_time = INSITU_TIME_NONE;
        p->n_insitu = n;
        return 1;
    }
    /* nearest: the closest in-situ time within the tolerance; the earlier one on a tie */
    size_t best = SIZE_MAX;
    int64_t best_dt = INT64_MAX;
    for (; i < in->n && in->t[i] <= tp + o->tolerance_us; i++) {
        int64_t dt = in->t[i] > tp ? in->t[i] - tp : tp - in->t[i];
        if (dt < best_dt) {
            best_dt = dt;
            best = i;
        }
        if (in->t[i] > tp)
            break;
    }
    if (best == SIZE_MAX)
        return 0;
    p->insitu = in->v[best];
    p->insitu_time = in->t[best];
    p->n_insitu = 1;
    return 1;
}

int matchup_pairs(const struct matchup_series *insitu, const struct matchup_series *product,
                  const struct matchup_opts *o, struct matchup_pair **out, size_t *n,
                  insitu_error *err)
{
    *out = NULL;
    *n = 0;
    if (!product->n)
        return 0;
    struct matchup_pair *pairs = malloc(product->n * sizeof *pairs);
    if (!pairs)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t k = 0; k < product->n; k++) {
        struct matchup_pair p = {.product_time = product->t[k],
                                 .product = product->v[k] * o->scale + o->offset};
        if (pair_one(insitu, product->t[k], o, &p))
            pairs[m++] = p;
    }
    *out = pairs;
    *n = m;
    return 0;
}

/* ---- statistics ---- */

/* Continued fraction of the incomplete beta function (modified Lentz's method). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

double matchup_betainc(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
        return NAN;
    if (x == 0 || x == 1)
        return x;
    double ln_front = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    /* the continued fraction converges fast for x < (a + 1) / (a + b + 2); else use
     * I_x(a, b) = 1 - I_{1-x}(b, a) */
    if (x < (a + 1) / (a + b + 2))
        return exp(ln_front) * betacf(a, b, x) / a;
    return 1 - exp(ln_front) * betacf(b, a, 1 - x) / b;
}

double matchup_pearson_p(double r, size_t n)
{
    if (n < 3 || isnan(r))
        return NAN;
    if (fabs(r) >= 1)
        return 0;
    double df = (double)n - 2;
    double t2 = r * r * df / ((1 - r) * (1 + r));
    return matchup_betainc(df / 2, 0.5, df / (df + t2));
}

void matchup_stats(const struct matchup_pair *p, size_t n, size_t min_n, struct matchup_stats *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->reported = n >= min_n && n > 0;
    if (!s->reported)
        return;
    double mo = 0, mp = 0;
    for (size_t i = 0; i < n; i++) {
        mo += p[i].insitu;
        mp += p[i].product;
    }
    mo /= (double)n;
    mp /= (double)n;
    double vo = 0, vp = 0, cov = 0, sse = 0, ub = 0;
    for (size_t i = 0; i < n; i++) {
        double a = p[i].insitu - mo, b = p[i].product - mp, e = p[i].product - p[i].insitu;
        vo += a * a;
        vp += b * b;
        cov += a * b;
        sse += e * e;
        ub += (b - a) * (b - a);
    }
    s->mean_insitu = mo;
    s->mean_product = mp;
    s->std_insitu = sqrt(vo / (double)n);
    s->std_product = sqrt(vp / (double)n);
    s->bias = mp - mo;
    s->rmse = sqrt(sse / (double)n);
    s->ubrmse = sqrt(ub / (double)n);
    if (vo > 0 && vp > 0) {
        double r = cov / sqrt(vo * vp);
        s->r = r > 1 ? 1 : r < -1 ? -1 : r;
        s->p_value = matchup_pearson_p(s->r, n);
    } else {
        s->r = s->p_value = NAN;
    }
    s->nse = vo > 0 ? 1 - sse / vo : NAN;
    double alpha = s->std_insitu > 0 ? s->std_product / s->std_insitu : NAN;
    double beta = mo != 0 ? mp / mo : NAN;
    s->kge = 1 - sqrt((s->r - 1) * (s->r - 1) + (alpha - 1) * (alpha - 1) +
                      (beta - 1) * (beta - 1));
}

/* ---- resolving datastreams ---- */

static void ref_free(struct matchup_ds_ref *r)
{
    free(r->thing);
    free(r->property);
    free(r->unit);
    free(r->sensor);
}

/* The datastreams a --insitu/--product value names: an id, or an observed property. */
static int resolve(struct store *st, const char *spec, const char *what, struct matchup_ds_ref **out,
                   size_t *n, insitu_error *err)
{
    int64_t id;
    int numeric = parse_int64(spec, strlen(spec), &id) == 0;
    const char *base =
        "SELECT d.id, d.thing_id, t.name, p.name, CASE WHEN d.unit_symbol <> '' THEN "
        "d.unit_symbol ELSE d.unit_name END, s.name FROM datastreams d JOIN things t ON t.id = "
        "d.thing_id JOIN observed_properties p ON p.id = d.observed_property_id JOIN sensors s "
        "ON s.id = d.sensor_id WHERE ";
    struct strbuf sql = {0};
    sb_printf(&sql, "%s%s ORDER BY d.thing_id, d.id", base,
              numeric ? "d.id = ?" : "(lower(p.name) = lower(?) OR p.definition = ?)");
    struct stmt *s;
    int rc = st_prepare(st, sb_str(&sql), &s, err);
    sb_free(&sql);
    if (rc)
        return rc;
    if (numeric) {
        st_bind_int64(s, 1, id);
    } else {
        st_bind_text(s, 1, spec);
        st_bind_text(s, 2, spec);
    }
    *out = NULL;
    *n = 0;
    while ((rc = st_step(s, err)) == 1) {
        struct matchup_ds_ref *p = realloc(*out, (*n + 1) * sizeof *p);
        if (!p) {
            rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            break;
        }
        *out = p;
        struct matchup_ds_ref *r = &p[(*n)++];
        r->id = st_col_int64(s, 0);
        r->thing_id = st_col_int64(s, 1);
        r->thing = xstrdup(st_col_text(s, 2));
        r->property = xstrdup(st_col_text(s, 3));
        r->unit = xstrdup(st_col_text(s, 4));
        r->sensor = xstrdup(st_col_text(s, 5));
    }
    st_finalize(s);
    if (rc < 0)
        return rc;
    if (!*n)
        return insitu_error_set(err, INSITU_ENOTFOUND, "--%s %s: no such datastream%s", what,
                                spec, numeric ? "" : " (neither an id nor an observed property)");
    return 0;
}

/* One pair set per Thing that has one datastream of each side. */
static int build_sets(const struct matchup_request *req, struct matchup_ds_ref *in, size_t n_in,
                      struct matchup_ds_ref *pr, size_t n_pr, struct matchup_set **out, size_t *n_out,
                      insitu_error *err)
{
    *out = calloc(n_in ? n_in : 1, sizeof **out);
    *n_out = 0;
    if (!*out)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_in; i++) {
        if (i + 1 < n_in && in[i + 1].thing_id == in[i].thing_id)
            return insitu_error_set(err, INSITU_EUSAGE, "--insitu %s: thing '%s' has several "
                                    "such datastreams (%lld, %lld): give a datastream id",
                                    req->insitu, in[i].thing, (long long)in[i].id,
                                    (long long)in[i + 1].id);
        size_t found = SIZE_MAX;
        for (size_t k = 0; k < n_pr; k++) {
            if (pr[k].thing_id != in[i].thing_id)
                continue;
            if (found != SIZE_MAX)
                return insitu_error_set(err, INSITU_EUSAGE, "--product %s: thing '%s' has "
                                        "several such datastreams (%lld, %lld): give a "
                                        "datastream id",
                                        req->product, in[i].thing, (long long)pr[found].id,
                                        (long long)pr[k].id);
            found = k;
        }
        if (found == SIZE_MAX)
            continue;
        struct matchup_set *set = &(*out)[(*n_out)++];
        set->insitu = in[i];
        set->product = pr[found];
        memset(&in[i], 0, sizeof in[i]); /* moved */
        memset(&pr[found], 0, sizeof pr[found]);
        pr[found].thing_id = -1;
    }
    if (!*n_out)
        return insitu_error_set(err, INSITU_ENOTFOUND,
                                "--insitu %s and --product %s: no thing has both (a matchup "
                                "pairs datastreams of the same thing)",
                                req->insitu, req->product);
    return 0;
}

/* The class names a categorical product's Observations carry (parameters "class"). */
struct class_names {
    struct catmatch_name *v;
    size_t n;
};

static void class_names_free(struct class_names *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
}

/* Records the name of an integer code once (the first Observation that names it). */
static int note_class_name(struct class_names *c, double result, const char *parameters)
{
    if (!parameters || !strstr(parameters, "\"class\"") || result != floor(result) ||
        fabs(result) > 9007199254740992.0)
        return 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].code == (int64_t)result)
            return 0;
    json_t *j = json_loads(parameters, 0, NULL);
    const char *name = json_string_value(json_object_get(j, "class"));
    int rc = 0;
    if (name) {
        struct catmatch_name *p = realloc(c->v, (c->n + 1) * sizeof *p);
        char *copy = xstrdup(name);
        if (p)
            c->v = p;
        if (p && copy)
            c->v[c->n++] = (struct catmatch_name){(int64_t)result, copy};
        else
            free(copy), rc = -1;
    }
    json_decref(j);
    return rc;
}

/* Reads the numeric results of datastream ds; with names, also the class names. */
static int read_series(insitu_store *store, int64_t ds, struct matchup_series *s,
                       struct class_names *names, insitu_error *err)
{
    insitu_query q = {0};
    q.datastreams = &ds;
    q.n_datastreams = 1;
    q.from_us = q.to_us = INSITU_TIME_NONE;
    insitu_cursor *cur;
    int rc = insitu_query_open(store, &q, &cur, err);
    if (rc)
        return rc;
    insitu_obs row;
    while ((rc = insitu_cursor_next(cur, &row, err)) == 1) {
        if (!row.has_result || !isfinite(row.result))
            continue;
        /* an interval (a daily mean) stands at its middle */
        int64_t t = row.phenomenon_end_us == INSITU_TIME_NONE
                        ? row.phenomenon_start_us
                        : row.phenomenon_start_us +
                              (row.phenomenon_end_us - row.phenomenon_start_us) / 2;
        if (matchup_series_add(s, t, row.result) ||
            (names && note_class_name(names, row.result, row.parameters))) {
            rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            break;
        }
    }
    insitu_cursor_close(cur);
    return rc < 0 ? rc : 0;
}

/* ---- output ---- */

static void put_stat(struct strbuf *sb, double v)
{
    if (isfinite(v))
        sb_printf(sb, ",%.10g", v);
    else
        sb_puts(sb, ",");
}

static const char *stats_note(const struct matchup_stats *s, size_t min_n)
{
    static char note[64];
    if (!s->reported) {
        snprintf(note, sizeof note, "n < min-n (%zu): not reported", min_n);
        return note;
    }
    return isnan(s->r) ? "a series is constant: R, p-value and KGE undefined" : "";
}

static void csv_stats_row(struct strbuf *sb, const char *thing, int64_t in_ds, int64_t pr_ds,
                          const struct matchup_stats *s, size_t min_n)
{
    sb_put_csv_field(sb, thing);
    if (in_ds)
        sb_printf(sb, ",%lld,%lld,%zu", (long long)in_ds, (long long)pr_ds, s->n);
    else
        sb_printf(sb, ",,,%zu", s->n);
    if (s->reported) {
        double v[] = {s->bias, s->rmse, s->ubrmse, s->r, s->p_value, s->nse, s->kge};
        for (size_t i = 0; i < ARRAY_LEN(v); i++)
            put_stat(sb, v[i]);
    } else {
        sb_puts(sb, ",,,,,,,");
    }
    sb_putc(sb, ',');
    sb_put_csv_field(sb, stats_note(s, min_n));
    sb_putc(sb, '\n');
}

static void write_csv(struct strbuf *sb, const struct matchup_set *sets, size_t n_sets,
                      const struct matchup_stats *all, size_t min_n)
{
    sb_puts(sb, "thing,insitu_datastream,product_datastream,product_time,insitu_time,product,"
                "insitu,n_insitu\n");
    char t1[40], t2[40], a[40], b[40];
    for (size_t k = 0; k < n_sets; k++) {
        const struct matchup_set *s = &sets[k];
        for (size_t i = 0; i < s->n_pairs; i++) {
            const struct matchup_pair *p = &s->pairs[i];
            fmt_double(p->product, a, sizeof a);
            fmt_double(p->insitu, b, sizeof b);
            sb_put_csv_field(sb, s->insitu.thing);
            sb_printf(sb, ",%lld,%lld,%s,%s,%s,%s,%d\n", (long long)s->insitu.id,
                      (long long)s->product.id, time_format_iso(p->product_time, t1, sizeof t1),
                      p->insitu_time == INSITU_TIME_NONE
                          ? ""
                          : time_format_iso(p->insitu_time, t2, sizeof t2),
                      a, b, p->n_insitu);
        }
    }
    sb_puts(sb, "\nthing,insitu_datastream,product_datastream,n,bias,rmse,ubrmse,r,p_value,nse,"
                "kge,note\n");
    for (size_t k = 0; k < n_sets; k++)
        csv_stats_row(sb, sets[k].insitu.thing, sets[k].insitu.id, sets[k].product.id,
                      &sets[k].stats, min_n);
    if (n_sets > 1)
        csv_stats_row(sb, "(all)", 0, 0, all, min_n);
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *stats_json(const struct matchup_stats *s, size_t min_n)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)s->n));
    const char *names[] = {"bias", "rmse", "ubrmse", "r", "p_value", "nse", "kge"};
    double v[] = {s->bias, s->rmse, s->ubrmse, s->r, s->p_value, s->nse, s->kge};
    for (size_t i = 0; i < ARRAY_LEN(v); i++)
        json_object_set_new(o, names[i], s->reported ? num_or_null(v[i]) : json_null());
    const char *note = stats_note(s, min_n);
    if (*note)
        json_object_set_new(o, "note", json_string(note));
    return o;
}

json_t *matchup_pair_json(const struct matchup_pair *p)
{
    char t[40];
    json_t *jp = json_object();
    json_object_set_new(jp, "product_time",
                        json_string(time_format_iso(p->product_time, t, sizeof t)));
    json_object_set_new(jp, "insitu_time",
                        p->insitu_time == INSITU_TIME_NONE
                            ? json_null()
                            : json_string(time_format_iso(p->insitu_time, t, sizeof t)));
    json_object_set_new(jp, "product", json_real(p->product));
    json_object_set_new(jp, "insitu", json_real(p->insitu));
    json_object_set_new(jp, "n_insitu", json_integer(p->n_insitu));
    return jp;
}

json_t *matchup_ref_json(const struct matchup_ds_ref *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "datastream", json_integer(r->id));
    json_object_set_new(o, "property", json_string(r->property ? r->property : ""));
    json_object_set_new(o, "unit", json_string(r->unit ? r->unit : ""));
    json_object_set_new(o, "sensor", json_string(r->sensor ? r->sensor : ""));
    return o;
}

static void write_json(struct strbuf *sb, const struct matchup_request *req,
                       const struct matchup_set *sets, size_t n_sets,
                       const struct matchup_stats *all)
{
    const struct matchup_opts *o = &req->opts;
    json_t *root = json_object();
    json_object_set_new(root, "tolerance_s", json_integer(o->tolerance_us / US_PER_SEC));
    json_object_set_new(root, "reduce",
                        json_string(o->reduce == MATCHUP_MEAN ? "mean" : "nearest"));
    json_object_set_new(root, "scale", json_real(o->scale));
    json_object_set_new(root, "offset", json_real(o->offset));
    json_object_set_new(root, "min_n", json_integer((json_int_t)o->min_n));
    json_t *arr = json_array();
    for (size_t k = 0; k < n_sets; k++) {
        const struct matchup_set *s = &sets[k];
        json_t *set = json_object();
        json_object_set_new(set, "thing", json_string(s->insitu.thing));
        json_object_set_new(set, "insitu", matchup_ref_json(&s->insitu));
        json_object_set_new(set, "product", matchup_ref_json(&s->product));
        json_t *pairs = json_array();
        for (size_t i = 0; i < s->n_pairs; i++) {
            json_array_append_new(pairs, matchup_pair_json(&s->pairs[i]));
        }
        json_object_set_new(set, "pairs", pairs);
        json_object_set_new(set, "statistics", stats_json(&s->stats, o->min_n));
        json_array_append_new(arr, set);
    }
    json_object_set_new(root, "sets", arr);
    if (n_sets > 1)
        json_object_set_new(root, "all", stats_json(all, o->min_n));
    json_append(sb, root);
    sb_putc(sb, '\n');
    json_decref(root);
}

/* ---- SVG plot ---- */

struct axis {
    double lo, hi;
};

static void axis_fit(struct axis *a, double lo, double hi)
{
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double pad = (hi - lo) * 0.05;
    a->lo = lo - pad;
    a->hi = hi + pad;
}

static double nice_step(double range)
{
    double raw = range / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void svg_attr(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void svg_attr(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST buf);
}

void matchup_svg_text(xmlTextWriterPtr w, double x, double y, const char *anchor,
                      const char *cls, const char *text)
{
    xmlTextWriterStartElement(w, BAD_CAST "text");
    svg_attr(w, "x", "%.1f", x);
    svg_attr(w, "y", "%.1f", y);
    if (anchor)
        svg_attr(w, "text-anchor", "%s", anchor);
    if (cls)
        svg_attr(w, "class", "%s", cls);
    xmlTextWriterWriteString(w, BAD_CAST text);
    xmlTextWriterEndElement(w);
}

static void svg_line(xmlTextWriterPtr w, double x1, double y1, double x2, double y2,
                     const char *cls)
{
    xmlTextWriterStartElement(w, BAD_CAST "line");
    svg_attr(w, "x1", "%.1f", x1);
    svg_attr(w, "y1", "%.1f", y1);
    svg_attr(w, "x2", "%.1f", x2);
    svg_attr(w, "y2", "%.1f", y2);
    svg_attr(w, "class", "%s", cls);
    xmlTextWriterEndElement(w);
}

struct panel {
    double x, y, w, h;      /* plot area in SVG units */
    struct axis ax, ay;
    int time_x;
};

static double px_x(const struct panel *p, double v)
{
    return p->x + (v - p->ax.lo) / (p->ax.hi - p->ax.lo) * p->w;
}
static double px_y(const struct panel *p, double v)
{
    return p->y + p->h - (v - p->ay.lo) / (p->ay.hi - p->ay.lo) * p->h;
}

static void draw_axes(xmlTextWriterPtr w, const struct panel *p, const char *xlabel,
                      const char *ylabel)
{
    xmlTextWriterStartElement(w, BAD_CAST "rect");
    svg_attr(w, "x", "%.1f", p->x);
    svg_attr(w, "y", "%.1f", p->y);
    svg_attr(w, "width", "%.1f", p->w);
    svg_attr(w, "height", "%.1f", p->h);
    svg_attr(w, "class", "frame");
    xmlTextWriterEndElement(w);
    char label[64];
    double sy = nice_step(p->ay.hi - p->ay.lo);
    for (double v = ceil(p->ay.lo / sy) * sy; v <= p->ay.hi; v += sy) {
        svg_line(w, p->x - 4, px_y(p, v), p->x + p->w, px_y(p, v), "grid");
        snprintf(label, sizeof label, "%g", fabs(v) < sy * 1e-9 ? 0 : v);
        matchup_svg_text(w, p->x - 6, px_y(p, v) + 4, "end", NULL, label);
    }
    if (p->time_x) {
        static const double steps_d[] = {1.0 / 24, 0.25, 1, 2, 7, 14, 30, 91, 182, 365, 730,
                                         1826};
        double range_d = (p->ax.hi - p->ax.lo) / 86400e6, step_d = steps_d[0];
        for (size_t i = 0; i < ARRAY_LEN(steps_d) && range_d / steps_d[i] > 6; i++)
            step_d = i + 1 < ARRAY_LEN(steps_d) ? steps_d[i + 1] : steps_d[i];
        double step = step_d * 86400e6;
        for (double v = ceil(p->ax.lo / step) * step; v <= p->ax.hi; v += step) {
            svg_line(w, px_x(p, v), p->y, px_x(p, v), p->y + p->h + 4, "grid");
            char iso[40];
            time_format_iso((int64_t)v, iso, sizeof iso);
            iso[step_d < 1 ? 16 : 10] = '\0';
            matchup_svg_text(w, px_x(p, v), p->y + p->h + 18, "middle", NULL, iso);
        }
    } else {
        double sx = nice_step(p->ax.hi - p->ax.lo);
        for (double v = ceil(p->ax.lo / sx) * sx; v <= p->ax.hi; v += sx) {
            svg_line(w, px_x(p, v), p->y, px_x(p, v), p->y + p->h + 4, "grid");
            snprintf(label, sizeof label, "%g", fabs(v) < sx * 1e-9 ? 0 : v);
            matchup_svg_text(w, px_x(p, v), p->y + p->h + 18, "middle", NULL, label);
        }
    }
    matchup_svg_text(w, p->x + p->w / 2, p->y + p->h + 38, "middle", "label", xlabel);
    xmlTextWriterStartElement(w, BAD_CAST "text");
    svg_attr(w, "transform", "translate(%.1f,%.1f) rotate(-90)", p->x - 50, p->y + p->h / 2);
    svg_attr(w, "text-anchor", "middle");
    svg_attr(w, "class", "label");
    xmlTextWriterWriteString(w, BAD_CAST ylabel);
    xmlTextWriterEndElement(w);
}

static void draw_circle(xmlTextWriterPtr w, double x, double y, double r, const char *color)
{
    xmlTextWriterStartElement(w, BAD_CAST "circle");
    svg_attr(w, "cx", "%.1f", x);
    svg_attr(w, "cy", "%.1f", y);
    svg_attr(w, "r", "%.1f", r);
    svg_attr(w, "fill", "%s", color);
    xmlTextWriterEndElement(w);
}

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

static void draw_scatter(xmlTextWriterPtr w, const struct matchup_set *sets, size_t n_sets,
                         const struct matchup_stats *all, size_t min_n)
{
    double lo = DBL_MAX, hi = -DBL_MAX;
    for (size_t k = 0; k < n_sets; k++)
        for (size_t i = 0; i < sets[k].n_pairs; i++) {
            const struct matchup_pair *p = &sets[k].pairs[i];
            lo = fmin(lo, fmin(p->insitu, p->product));
            hi = fmax(hi, fmax(p->insitu, p->product));
        }
    if (lo > hi)
        lo = 0, hi = 1;
    struct panel p = {.x = 80, .y = 40, .w = 360, .h = 360};
    axis_fit(&p.ax, lo, hi);
    p.ay = p.ax; /* same scale on both axes: the 1:1 line is the diagonal */
    char xl[256], yl[256];
    snprintf(xl, sizeof xl, "in situ (%s)", sets[0].insitu.unit ? sets[0].insitu.unit : "");
    snprintf(yl, sizeof yl, "product: %s", sets[0].product.sensor ? sets[0].product.sensor : "");
    draw_axes(w, &p, xl, yl);
    svg_line(w, px_x(&p, p.ax.lo), px_y(&p, p.ay.lo), px_x(&p, p.ax.hi), px_y(&p, p.ay.hi),
             "one");
    for (size_t k = 0; k < n_sets; k++)
        for (size_t i = 0; i < sets[k].n_pairs; i++)
            draw_circle(w, px_x(&p, sets[k].pairs[i].insitu),
                        px_y(&p, sets[k].pairs[i].product), 3.5,
                        palette[k % ARRAY_LEN(palette)]);
    /* the legend: the statistics of all pairs */
    char line[128];
    double ly = p.y + 16;
    matchup_svg_text(w, p.x + 8, ly, NULL, "legend", "1:1 line dashed");
    snprintf(line, sizeof line, "n = %zu", all->n);
    matchup_svg_text(w, p.x + 8, ly += 15, NULL, "legend", line);
    if (all->reported) {
        const char *names[] = {"bias", "RMSE", "ubRMSE", "R", "p", "NSE", "KGE"};
        double v[] = {all->bias, all->rmse, all->ubrmse, all->r, all->p_value, all->nse,
                      all->kge};
        for (size_t i = 0; i < ARRAY_LEN(v); i++) {
            snprintf(line, sizeof line, "%s = %.4g", names[i], v[i]);
            matchup_svg_text(w, p.x + 8, ly += 15, NULL, "legend", line);
        }
    } else {
        snprintf(line, sizeof line, "n < min-n (%zu): no statistics", min_n);
        matchup_svg_text(w, p.x + 8, ly += 15, NULL, "legend", line);
    }
}

static void draw_series(xmlTextWriterPtr w, const struct matchup_set *sets, size_t n_sets,
                        int64_t tol)
{
    double t0 = DBL_MAX, t1 = -DBL_MAX, lo = DBL_MAX, hi = -DBL_MAX;
    for (size_t k = 0; k < n_sets; k++) {
        const struct matchup_series *ps = &sets[k].prod_series;
        for (size_t i = 0; i < ps->n; i++) {
            t0 = fmin(t0, (double)ps->t[i]);
            t1 = fmax(t1, (double)ps->t[i]);
        }
    }
    if (t0 > t1)
        return;
    t0 -= (double)tol;
    t1 += (double)tol;
    for (size_t k = 0; k < n_sets; k++) {
        const struct matchup_set *s = &sets[k];
        for (size_t i = 0; i < s->in_series.n; i++)
            if (s->in_series.t[i] >= t0 && s->in_series.t[i] <= t1) {
                lo = fmin(lo, s->in_series.v[i]);
                hi = fmax(hi, s->in_series.v[i]);
            }
        for (size_t i = 0; i < s->n_pairs; i++) {
            lo = fmin(lo, s->pairs[i].product);
            hi = fmax(hi, s->pairs[i].product);
        }
    }
    if (lo > hi)
        lo = 0, hi = 1;
    struct panel p = {.x = 560, .y = 40, .w = 560, .h = 360, .time_x = 1};
    axis_fit(&p.ax, t0, t1);
    axis_fit(&p.ay, lo, hi);
    draw_axes(w, &p, "time (UTC)", "value (in-situ unit)");
    for (size_t k = 0; k < n_sets; k++) {
        const struct matchup_set *s = &sets[k];
        const char *color = palette[k % ARRAY_LEN(palette)];
        struct strbuf pts = {0};
        for (size_t i = 0; i < s->in_series.n; i++)
            if (s->in_series.t[i] >= t0 && s->in_series.t[i] <= t1)
                sb_printf(&pts, "%s%.1f,%.1f", pts.len ? " " : "",
                          px_x(&p, (double)s->in_series.t[i]), px_y(&p, s->in_series.v[i]));
        xmlTextWriterStartElement(w, BAD_CAST "polyline");
        svg_attr(w, "points", "%s", sb_str(&pts));
        svg_attr(w, "class", "insitu");
        svg_attr(w, "stroke", "%s", color);
        xmlTextWriterEndElement(w);
        sb_free(&pts);
        for (size_t i = 0; i < s->n_pairs; i++) {
            xmlTextWriterStartElement(w, BAD_CAST "rect");
            svg_attr(w, "x", "%.1f", px_x(&p, (double)s->pairs[i].product_time) - 3.5);
            svg_attr(w, "y", "%.1f", px_y(&p, s->pairs[i].product) - 3.5);
            svg_attr(w, "width", "7");
            svg_attr(w, "height", "7");
            svg_attr(w, "fill", "%s", color);
            xmlTextWriterEndElement(w);
        }
        char legend[256];
        snprintf(legend, sizeof legend, "%s: in situ (line), product (squares)", s->insitu.thing);
        xmlTextWriterStartElement(w, BAD_CAST "text");
        svg_attr(w, "x", "%.1f", p.x + 8);
        svg_attr(w, "y", "%.1f", p.y + 16 + 15 * (double)k);
        svg_attr(w, "class", "legend");
        svg_attr(w, "fill", "%s", color);
        xmlTextWriterWriteString(w, BAD_CAST legend);
        xmlTextWriterEndElement(w);
    }
}

static int write_svg(const char *path, const struct matchup_request *req,
                     const struct matchup_set *sets, size_t n_sets, const struct matchup_stats *all,
                     insitu_error *err)
{
    xmlTextWriterPtr w = xmlNewTextWriterFilename(path, 0);
    if (!w)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot write the plot", path);
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "svg");
    svg_attr(w, "xmlns", "http://www.w3.org/2000/svg");
    svg_attr(w, "width", "1160");
    svg_attr(w, "height", "460");
    svg_attr(w, "viewBox", "0 0 1160 460");
    xmlTextWriterWriteElement(
        w, BAD_CAST "style",
        BAD_CAST "text{font-family:sans-serif;font-size:11px}.label{font-size:13px}"
                 ".legend{font-size:12px}.frame{fill:none;stroke:#333}"
                 ".grid{stroke:#ddd;stroke-width:1}.one{stroke:#555;stroke-dasharray:6 4}"
                 ".insitu{fill:none;stroke-width:1.5}.title{font-size:14px;font-weight:bold}");
    char title[512];
    snprintf(title, sizeof title, "matchup: in situ %s vs product %s (tolerance %llds, %s)",
             req->insitu, req->product, (long long)(req->opts.tolerance_us / US_PER_SEC),
             req->opts.reduce == MATCHUP_MEAN ? "in-situ mean" : "nearest");
    matchup_svg_text(w, 20, 22, NULL, "title", title);
    draw_scatter(w, sets, n_sets, all, req->opts.min_n);
    draw_series(w, sets, n_sets, req->opts.tolerance_us);
    xmlTextWriterEndElement(w);
    int rc = xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    if (rc < 0)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot write the plot", path);
    return 0;
}

/* ---- the whole job ---- */

static void sets_free(struct matchup_set *sets, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        ref_free(&sets[k].insitu);
        ref_free(&sets[k].product);
        matchup_series_free(&sets[k].in_series);
        matchup_series_free(&sets[k].prod_series);
        free(sets[k].pairs);
    }
    free(sets);
}

static void refs_free(struct matchup_ds_ref *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ref_free(&r[i]);
    free(r);
}

/* Reads the series of every set and pairs them; the statistics too unless categorical. */
static int pair_sets(insitu_store *store, const struct matchup_request *req,
                     struct matchup_set *sets, size_t n_sets, struct class_names *names,
                     size_t *total, insitu_error *err)
{
    int rc = 0;
    *total = 0;
    for (size_t k = 0; !rc && k < n_sets; k++) {
        struct matchup_set *s = &sets[k];
        rc = read_series(store, s->insitu.id, &s->in_series, NULL, err);
        if (!rc)
            rc = read_series(store, s->product.id, &s->prod_series,
                             req->cat.enabled ? names : NULL, err);
        if (!rc)
            rc = matchup_pairs(&s->in_series, &s->prod_series, &req->opts, &s->pairs,
                               &s->n_pairs, err);
        if (!rc && !req->cat.enabled)
            matchup_stats(s->pairs, s->n_pairs, req->opts.min_n, &s->stats);
        *total += s->n_pairs;
    }
    return rc;
}

/* The continuous statistics of all pairs, written as CSV or JSON, and the plot. */
static int report(const struct matchup_request *req, struct matchup_set *sets, size_t n_sets,
                  size_t total, enum matchup_format format, FILE *out, const char *plot_path,
                  insitu_error *err)
{
    struct matchup_stats all = {0};
    struct matchup_pair *pooled = malloc((total ? total : 1) * sizeof *pooled);
    if (!pooled)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t k = 0; k < n_sets; k++)
        for (size_t i = 0; i < sets[k].n_pairs; i++)
            pooled[m++] = sets[k].pairs[i];
    matchup_stats(pooled, m, req->opts.min_n, &all);
    struct strbuf sb = {0};
    if (format == MATCHUP_JSON)
        write_json(&sb, req, sets, n_sets, &all);
    else
        write_csv(&sb, sets, n_sets, &all, req->opts.min_n);
    int rc = 0;
    if (fwrite(sb.data, 1, sb.len, out) != sb.len)
        rc = insitu_error_set(err, INSITU_EIO, "cannot write the matchup output");
    sb_free(&sb);
    if (!rc && plot_path)
        rc = write_svg(plot_path, req, sets, n_sets, &all, err);
    free(pooled);
    return rc;
}

int matchup_run(insitu_store *store, const struct matchup_request *req,
                enum matchup_format format, FILE *out, const char *plot_path,
                insitu_error *err)
{
    struct store *st = &store->base;
    struct matchup_ds_ref *in = NULL, *pr = NULL;
    size_t n_in = 0, n_pr = 0, n_sets = 0, total = 0;
    struct matchup_set *sets = NULL;
    struct class_names names = {0};
    int rc = req->cat.enabled ? catmatch_check(&req->cat, req->opts.scale, req->opts.offset,
                                               req->opts.reduce == MATCHUP_MEAN, err)
                              : 0;
    if (!rc)
        rc = resolve(st, req->insitu, "insitu", &in, &n_in, err);
    if (!rc)
        rc = resolve(st, req->product, "product", &pr, &n_pr, err);
    if (!rc)
        rc = build_sets(req, in, n_in, pr, n_pr, &sets, &n_sets, err);
    if (!rc)
        rc = pair_sets(store, req, sets, n_sets, &names, &total, err);
    if (!rc && req->cat.enabled)
        rc = catmatch_report(req, sets, n_sets, names.v, names.n, format == MATCHUP_JSON, out,
                             plot_path, err);
    else if (!rc)
        rc = report(req, sets, n_sets, total, format, out, plot_path, err);
    class_names_free(&names);
    sets_free(sets, n_sets);
    refs_free(in, n_in);
    refs_free(pr, n_pr);
    return rc;
}
