/*
 * store.c: everything about the store that does not depend on the backend: choosing the
 * backend from the URI, statement helpers, entity upserts by natural key. It never names a
 * backend: SQL here is the common dialect, and what differs comes from st->dialect.
 */
#include "store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonutil.h"
#include "util.h"

static const struct store_ops *const backends[] = {
    &store_pg_ops,
    &store_sqlite_ops,
};

int insitu_store_open(const char *uri, unsigned flags, insitu_store **out, insitu_error *err)
{
    *out = NULL;
    if (!uri || !*uri)
        return insitu_error_set(err, INSITU_EUSAGE, "no store given");
    for (size_t i = 0; i < ARRAY_LEN(backends); i++) {
        if (!backends[i]->accepts(uri))
            continue;
        struct store *st = NULL;
        int rc = backends[i]->open(uri, flags, &st, err);
        if (rc)
            return rc;
        if (flags & INSITU_OPEN_CREATE) {
            rc = st->ops->init(st, err);
            if (rc) {
                st->ops->close(st);
                return rc;
            }
        } else if ((rc = st->ops->schema_version(st)) == 0) {
            st->ops->close(st);
            return insitu_error_set(err, INSITU_ENOTFOUND,
                                    "%s: not an insitu store (run 'insitu --store %s init')", uri,
                                    uri);
        } else if (rc < store_schema_newest(st->ops->schema)) {
            /* its SQL would fail on a column or table that is not there yet */
            int newest = store_schema_newest(st->ops->schema);
            st->ops->close(st);
            return insitu_error_set(err, INSITU_EUNSUPPORTED,
                                    "%s: the store has schema version %d, this insitu needs "
                                    "%d: migrate it with 'insitu --store %s init'",
                                    uri, rc, newest, uri);
        }
        *out = (insitu_store *)st;
        return 0;
    }
    return insitu_error_set(err, INSITU_EUSAGE, "%s: no backend takes this store URI", uri);
}

void insitu_store_close(insitu_store *store)
{
    if (!store)
        return;
    if (store->base.readahead)
        store->base.readahead_free(store->base.readahead);
    store->base.ops->close(&store->base);
}

int insitu_store_init(insitu_store *store, insitu_error *err)
{
    return store->base.ops->init(&store->base, err);
}

int insitu_store_schema_version(insitu_store *store)
{
    return store->base.ops->schema_version(&store->base);
}

const char *insitu_store_backend(const insitu_store *store) { return store->base.ops->name; }

int insitu_store_created(const insitu_store *store) { return store->base.created; }

int insitu_store_backup(insitu_store *store, const char *dest, insitu_error *err)
{
    struct stat sb;
    if (!dest || !*dest)
        return insitu_error_set(err, INSITU_EUSAGE, "backup: no destination given");
    if (stat(dest, &sb) == 0)
        return insitu_error_set(err, INSITU_EUSAGE, "%s: exists: the backup goes to a new file",
                                dest);
    if (!store->base.ops->backup)
        return insitu_error_set(err, INSITU_EUNSUPPORTED, "%s: this store cannot be backed up "
                                "by insitu", store->base.uri);
    return store->base.ops->backup(&store->base, dest, err);
}

void dialect_geojson_sql(const struct sql_dialect *d, struct strbuf *sql, const char *alias,
                         const char *text_column)
{
    struct strbuf geom = {0};
    sb_printf(&geom, "%s.geom", alias);
    sb_printf(sql, "coalesce(%s.%s, ", alias, text_column);
    sb_printf(sql, d->geom_as_geojson, geom.data);
    sb_putc(sql, ')');
    sb_free(&geom);
}

void dialect_area_sql(const struct sql_dialect *d, struct strbuf *sql, const char *alias)
{
    struct strbuf c[4] = {{0}};
    static const char *const side[] = {"xmin", "ymin", "xmax", "ymax"};
    for (int k = 0; k < 4; k++)
        sb_printf(&c[k], "%s.area_%s", alias, side[k]);
    sb_printf(sql, d->box_geom, sb_str(&c[0]), sb_str(&c[1]), sb_str(&c[2]), sb_str(&c[3]));
    for (int k = 0; k < 4; k++)
        sb_free(&c[k]);
}

int store_schema_upto;

int store_schema_newest(const char *schema)
{
    static const char marker[] = "-- @version ";
    int newest = 0;
    for (const char *p = strstr(schema, marker); p; p = strstr(p + 1, marker))
        newest = atoi(p + strlen(marker));
    return store_schema_upto && store_schema_upto < newest ? store_schema_upto : newest;
}

int store_apply_schema(struct store *st, const char *schema, int current,
                       int (*exec)(struct store *st, const char *sql, insitu_error *err),
                       int *newest, insitu_error *err)
{
    static const char marker[] = "-- @version ";
    int rc = 0;
    *newest = current;
    for (const char *p = strstr(schema, marker); p && !rc;) {
        int version = atoi(p + strlen(marker));
        const char *next = strstr(p + 1, marker);
        if (store_schema_upto && version > store_schema_upto)
            break;
        if (version > current) {
            char *section = xstrndup(p, next ? (size_t)(next - p) : strlen(p));
            rc = section ? exec(st, section, err)
                         : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            free(section);
            *newest = version;
        }
        p = next;
    }
    if (!rc && *newest != current) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO insitu_meta (key, value) VALUES ('schema_version', '%d') ON "
                 "CONFLICT (key) DO UPDATE SET value = excluded.value",
                 *newest);
        rc = exec(st, sql, err);
    }
    if (!rc && current == 0)
        st->created = 1; /* read under the backend's init lock: one creator says so */
    return rc;
}

void dialect_bbox_sql(const struct sql_dialect *d, struct strbuf *sql, const char *alias,
                      const char *table)
{
    sb_printf(sql, d->bbox_filter, alias, table);
}

void dialect_bbox_bind(const struct sql_dialect *d, struct stmt *s, int *idx, const double bbox[4])
{
    for (int r = 0; r < d->bbox_repeat; r++)
        for (int k = 0; k < 4; k++)
            st_bind_double(s, (*idx)++, bbox[k]);
}

void ds_property_label_sql(const struct sql_dialect *d, struct strbuf *sql)
{
    sb_puts(sql, "CASE WHEN d.multi = 1 THEN (SELECT ");
    sb_printf(sql, d->text_agg, "mp.name");
    sb_puts(sql, " FROM (SELECT op.name FROM multi_datastream_properties m JOIN "
                 "observed_properties op ON op.id = m.observed_property_id WHERE "
                 "m.datastream_id = d.id ORDER BY m.position) mp) ELSE p.name END");
}

void ds_select_sql(const struct sql_dialect *d, const struct ds_select *w, struct strbuf *sql)
{
    if (w->thing_id)
        sb_puts(sql, " AND d.thing_id = ?");
    if (w->property)
        sb_puts(sql, " AND (lower(p.name) = lower(?) OR p.definition = ?)");
    if (w->bbox) {
        sb_puts(sql, " AND d.thing_id IN (SELECT tl.thing_id FROM thing_locations tl JOIN "
                     "locations l ON l.id = tl.location_id WHERE ");
        dialect_bbox_sql(d, sql, "l", "locations");
        sb_putc(sql, ')');
    }
}

void ds_select_bind(const struct sql_dialect *d, const struct ds_select *w, struct stmt *s,
                    int *idx)
{
    if (w->thing_id)
        st_bind_int64(s, (*idx)++, *w->thing_id);
    if (w->property) {
        st_bind_text(s, (*idx)++, w->property);
        st_bind_text(s, (*idx)++, w->property);
    }
    if (w->bbox)
        dialect_bbox_bind(d, s, idx, w->bbox);
}

int ds_select_check_property(struct store *st, const struct ds_select *w, const char *thing,
                             insitu_error *err)
{
    if (!w->property)
        return 0;
    struct ds_select only = {w->thing_id, NULL, NULL};
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT DISTINCT p.name, CASE WHEN lower(p.name) = lower(?) OR p.definition = ? "
                  "THEN 1 ELSE 0 END FROM "
                  "datastreams d JOIN observed_properties p ON p.id = d.observed_property_id "
                  "WHERE 1 = 1");
    ds_select_sql(st->dialect, &only, &sql);
    sb_puts(&sql, " ORDER BY 1");
    struct stmt *s;
    int rc = st_prepare(st, sql.data, &s, err);
    sb_free(&sql);
    if (rc)
        return rc;
    st_bind_text(s, 1, w->property);
    st_bind_text(s, 2, w->property);
    int idx = 3;
    ds_select_bind(st->dialect, &only, s, &idx);
    struct strbuf names = {0};
    int found = 0, n = 0;
    while (!found && (rc = st_step(s, err)) == 1) {
        found = st_col_int64(s, 1) != 0;
        if (n++ < 20)
            sb_printf(&names, "%s%s", n > 1 ? ", " : "", st_col_text(s, 0));
        else if (n == 21)
            sb_puts(&names, ", ...");
    }
    st_finalize(s);
    if (rc >= 0 && !found) {
        const char *what = n ? sb_str(&names) : "none";
        if (thing)
            rc = insitu_error_set(err, INSITU_ENOTFOUND,
                                  "thing '%s': no datastream of property '%s' (its properties: "
                                  "%s)",
                                  thing, w->property, what);
        else
            rc = insitu_error_set(err, INSITU_ENOTFOUND,
                                  "property '%s': no datastream has it (the store's properties: "
                                  "%s)",
                                  w->property, what);
    }
    sb_free(&names);
    return rc < 0 ? rc : 0;
}

/* ---- statement helpers ---- */

int st_prepare(struct store *st, const char *sql, struct stmt **out, insitu_error *err)
{
    return st->ops->prepare(st, sql, out, err);
}
int st_prepare_cached(struct store *st, enum stmt_slot slot, const char *sql, struct stmt **out,
                      insitu_error *err)
{
    if (!st->slots[slot]) {
        int rc = st_prepare(st, sql, &st->slots[slot], err);
        if (rc)
            return rc;
        st->slots[slot]->cached = 1;
    }
    *out = st->slots[slot];
    return 0;
}

static void sums_free(struct group_sums *g);
static int sums_write(struct store *st, insitu_error *err);
enum { SUMS_MAX = 1 << 20 };

static void texts_read_clear(struct store *st);

void store_release_cache(struct store *st)
{
    strmap_free(&st->cache);
    strmap_free(&st->cache_pending);
    texts_read_clear(st);
    free(st->texts_read);
    st->texts_read = NULL;
    free(st->text_ids_of);
    st->text_ids_of = NULL;
    st->cap_text_ids_of = 0;
    sums_free(&st->sums);
    for (int i = 0; i < SLOT_MAX; i++) {
        if (st->slots[i]) {
            st->slots[i]->cached = 0;
            st_finalize(st->slots[i]);
            st->slots[i] = NULL;
        }
    }
}

/* ---- the parameters of a statement, checked before each execution ---- */

/* How a parameter was bound (struct stmt's kinds). */
enum { BOUND_NULL = 1, BOUND_INT, BOUND_DOUBLE, BOUND_TEXT, BOUND_BLOB };

static const char *kind_name(int kind)
{
    static const char *const names[] = {"not bound", "NULL", "an integer", "a double",
                                        "a text", "a blob"};
    return kind >= 0 && kind < (int)ARRAY_LEN(names) ? names[kind] : "?";
}

int stmt_params_init(struct stmt *s, int n)
{
    s->n_params = n < 0 ? 0 : n;
    s->n_bound = s->misbound = s->running = 0;
    s->misbound_why = NULL;
    s->kinds = s->kinds_inline;
    memset(s->kinds_inline, 0, sizeof s->kinds_inline);
    if ((size_t)s->n_params > sizeof s->kinds_inline) {
        s->kinds = calloc((size_t)s->n_params, 1);
        if (!s->kinds) {
            s->kinds = s->kinds_inline;
            s->n_params = 0;
            return INSITU_ENOMEM;
        }
    }
    return 0;
}

void stmt_params_free(struct stmt *s)
{
    if (s->kinds != s->kinds_inline)
        free(s->kinds);
    s->kinds = s->kinds_inline;
}

int st_param_count(const struct stmt *s) { return s->n_params; }

static void params_clear(struct stmt *s)
{
    memset(s->kinds, 0, (size_t)s->n_params);
    s->n_bound = s->misbound = s->running = 0;
    s->misbound_why = NULL;
}

/* Records that parameter idx is bound as `kind`: 0, or INSITU_EINVAL when the binding is
 * wrong (st_step then says so). The first wrong binding is the one reported. */
static int params_note(struct stmt *s, int idx, int kind)
{
    const char *why = NULL;
    if (idx < 1 || idx > s->n_params)
        why = "out of range";
    else if (s->running)
        why = "while the statement ran (reset it first)";
    else if (s->kinds[idx - 1])
        why = "twice";
    if (!why) {
        s->kinds[idx - 1] = (unsigned char)kind;
        s->n_bound++;
        return 0;
    }
    if (!s->misbound) {
        s->misbound = idx;
        s->misbound_why = why;
    }
    return INSITU_EINVAL;
}

/* The message of a statement whose bound values do not match its placeholders. */
static int params_error(struct stmt *s, insitu_error *err)
{
    const char *sql = s->st->ops->stmt_sql ? s->st->ops->stmt_sql(s) : NULL;
    char what[160];
    if (s->misbound) {
        int idx = s->misbound;
        int kind = idx >= 1 && idx <= s->n_params ? s->kinds[idx - 1] : 0;
        if (kind && s->misbound_why && strcmp(s->misbound_why, "twice") == 0)
            snprintf(what, sizeof what, "parameter %d of %d bound twice (first as %s)", idx,
                     s->n_params, kind_name(kind));
        else
            snprintf(what, sizeof what, "parameter %d of %d bound %s", idx, s->n_params,
                     s->misbound_why ? s->misbound_why : "wrongly");
    } else {
        int first = 1;
        while (first <= s->n_params && s->kinds[first - 1])
            first++;
        snprintf(what, sizeof what, "parameter %d of %d not bound (%d bound)", first,
                 s->n_params, s->n_bound);
    }
    return insitu_error_set(err, INSITU_ESTORE,
                            "bound values do not match the statement: %s: %.400s", what,
                            sql ? sql : "(SQL not known)");
}

int st_step(struct stmt *s, insitu_error *err)
{
    if (s->misbound || (!s->running && s->n_bound != s->n_params))
        return params_error(s, err);
    s->running = 1;
    return s->st->ops->step(s, err);
}
void st_finalize(struct stmt *s)
{
    if (!s)
        return;
    if (s->cached) {
        s->st->ops->reset(s);
        params_clear(s);
    } else {
        s->st->ops->finalize(s);
    }
}
void st_reset(struct stmt *s)
{
    s->st->ops->reset(s);
    params_clear(s);
}
int st_bind_text(struct stmt *s, int idx, const char *v)
{
    int rc = params_note(s, idx, v ? BOUND_TEXT : BOUND_NULL);
    return rc ? rc : s->st->ops->bind_text(s, idx, v);
}
int st_bind_int64(struct stmt *s, int idx, int64_t v)
{
    int rc = params_note(s, idx, BOUND_INT);
    return rc ? rc : s->st->ops->bind_int64(s, idx, v);
}
int st_bind_double(struct stmt *s, int idx, double v)
{
    int rc = params_note(s, idx, BOUND_DOUBLE);
    return rc ? rc : s->st->ops->bind_double(s, idx, v);
}
int st_bind_null(struct stmt *s, int idx)
{
    int rc = params_note(s, idx, BOUND_NULL);
    return rc ? rc : s->st->ops->bind_null(s, idx);
}
int st_bind_blob(struct stmt *s, int idx, const void *data, size_t n)
{
    int rc = params_note(s, idx, BOUND_BLOB);
    return rc ? rc : s->st->ops->bind_blob(s, idx, data, n);
}
int st_bind_time(struct stmt *s, int idx, int64_t us)
{
    return us == INSITU_TIME_NONE ? st_bind_null(s, idx) : st_bind_int64(s, idx, us);
}
int st_col_is_null(struct stmt *s, int col) { return s->st->ops->column_is_null(s, col); }
int64_t st_col_int64(struct stmt *s, int col) { return s->st->ops->column_int64(s, col); }
double st_col_double(struct stmt *s, int col) { return s->st->ops->column_double(s, col); }
const char *st_col_text(struct stmt *s, int col) { return s->st->ops->column_text(s, col); }
int64_t st_col_time(struct stmt *s, int col)
{
    return st_col_is_null(s, col) ? INSITU_TIME_NONE : st_col_int64(s, col);
}

int st_exec(struct store *st, const char *sql, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    while ((rc = st_step(s, err)) == 1)
        ;
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

int st_exec_int64(struct store *st, const char *sql, int64_t param, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, param);
    while ((rc = st_step(s, err)) == 1)
        ;
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

int st_query_int64(struct store *st, const char *sql, int64_t *out, insitu_error *err, ...)
{
    struct stmt *s;
    int rc = st_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, err);
    const char *param;
    for (int i = 1; (param = va_arg(ap, const char *)) != NULL; i++)
        st_bind_text(s, i, param);
    va_end(ap);
    rc = st_step(s, err);
    if (rc == 1) {
        *out = st_col_is_null(s, 0) ? 0 : st_col_int64(s, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = insitu_error_set(err, INSITU_ENOTFOUND, "no row");
    }
    st_finalize(s);
    return rc;
}

static int begin_tx(struct store *st, int bulk, insitu_error *err)
{
    int rc;
    if (st->group && st->group_lost)
        rc = insitu_error_set(err, INSITU_ESTORE,
                              "%s: an earlier error rolled back this group of sources", st->uri);
    else
        rc = st->group ? st->ops->savepoint(st, SP_BEGIN, err) : st->ops->begin(st, bulk, err);
    if (!rc)
        st->in_tx = 1;
    return rc;
}

int st_begin(struct store *st, insitu_error *err) { return begin_tx(st, TX_PLAIN, err); }

int st_begin_bulk(struct store *st, insitu_error *err) { return begin_tx(st, TX_BULK, err); }

static void promote(const char *key, size_t keylen, int64_t value, void *ctx)
{
    strmap_put(ctx, key, keylen, value);
}

int st_commit(struct store *st, insitu_error *err)
{
    int rc = st->group ? st->ops->savepoint(st, SP_RELEASE, err) : st->ops->commit(st, err);
    if (!rc) {
        st->in_tx = 0;
        st->sums.n_undo = 0; /* the source's summaries now belong to the group */
        /* memory stays bounded: past ~1M datastreams (~90 MiB), what the group owes is
         * written now, between two sources, in the group's transaction */
        if (st->group && st->sums.n >= (st->sums.max ? st->sums.max : SUMS_MAX)) {
            rc = sums_write(st, err);
            sums_free(&st->sums);
            if (rc) /* some summaries may be written, others not: the group cannot stand */
                st->group_lost = 1;
        }
        /* in a group, the rows are visible to this connection from now on: cached as if
         * committed, and forgotten if the group is lost */
        strmap_each(&st->cache_pending, promote, &st->cache);
    }
    strmap_free(&st->cache_pending);
    return rc;
}

static void sums_undo(struct group_sums *g);

void st_rollback(struct store *st)
{
    if (st->in_tx) {
        if (st->group) {
            insitu_error ignored;
            if (st->ops->savepoint(st, SP_ROLLBACK, &ignored)) {
                st->group_lost = 1;
                store_cache_clear(st);
                sums_free(&st->sums);
            } else {
                sums_undo(&st->sums);
            }
        } else {
            st->ops->rollback(st);
        }
        texts_read_clear(st);
    }
    st->in_tx = 0;
    strmap_free(&st->cache_pending);
}

/* ---- the summaries a group of sources owes its datastreams ---- */

/* Forgets what the group owes (the bound, a setting, stays). */
static void sums_free(struct group_sums *g)
{
    size_t max = g->max;
    free(g->d);
    free(g->undo);
    free(g->slots);
    memset(g, 0, sizeof *g);
    g->max = max;
}

/* The slot of datastream id: its own, or the empty one where it would go. */
static struct sum_slot *sums_slot(const struct group_sums *g, int64_t id)
{
    size_t mask = g->n_slots - 1;
    for (size_t i = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL >> 20) & mask;;
         i = (i + 1) & mask)
        if (g->slots[i].id == id || g->slots[i].id == 0)
            return &g->slots[i];
}

/* Keeps the table at most half full (the entries of d are never removed, only dropped). */
static int sums_reserve(struct group_sums *g)
{
    if ((g->n + 1) * 2 <= g->n_slots)
        return 0;
    struct group_sums bigger = *g;
    bigger.n_slots = g->n_slots ? g->n_slots * 2 : 4096;
    bigger.slots = calloc(bigger.n_slots, sizeof *bigger.slots);
    if (!bigger.slots)
        return INSITU_ENOMEM;
    for (size_t i = 0; i < g->n_slots; i++)
        if (g->slots[i].id)
            *sums_slot(&bigger, g->slots[i].id) = g->slots[i];
    free(g->slots);
    g->slots = bigger.slots;
    g->n_slots = bigger.n_slots;
    return 0;
}

static int grow(void **p, size_t *cap, size_t size)
{
    size_t n = *cap ? *cap * 2 : 1024;
    void *q = realloc(*p, n * size);
    if (!q)
        return INSITU_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* Remembers entry pos as it is, before the open source changes it. */
static int sums_log(struct group_sums *g, size_t pos, int was_new)
{
    if (g->n_undo == g->cap_undo && grow((void **)&g->undo, &g->cap_undo, sizeof *g->undo))
        return INSITU_ENOMEM;
    g->undo[g->n_undo++] = (struct sum_undo){.pos = pos, .was = g->d[pos], .was_new = was_new};
    return 0;
}

/* The group's entry for datastream id, logged for undo; made (dropped, i.e. empty) when
 * absent and create is set. NULL: absent, or out of memory (*rc). */
static struct summary_delta *sums_entry(struct group_sums *g, int64_t id, int create, int *rc)
{
    *rc = 0;
    struct sum_slot *slot = g->n_slots ? sums_slot(g, id) : NULL;
    if (slot && slot->id) {
        *rc = sums_log(g, slot->pos, 0);
        return *rc ? NULL : &g->d[slot->pos];
    }
    if (!create)
        return NULL;
    if ((g->n == g->cap && grow((void **)&g->d, &g->cap, sizeof *g->d)) || sums_reserve(g)) {
        *rc = INSITU_ENOMEM;
        return NULL;
    }
    *sums_slot(g, id) = (struct sum_slot){.id = id, .pos = g->n};
    g->d[g->n] = (struct summary_delta){.id = id, .dropped = 1};
    *rc = sums_log(g, g->n, 1);
    return *rc ? NULL : &g->d[g->n++];
}

/* Takes back what the rolled back source did to the group's summaries, newest first. */
static void sums_undo(struct group_sums *g)
{
    while (g->n_undo > 0) {
        const struct sum_undo *u = &g->undo[--g->n_undo];
        if (u->was_new)
            g->d[u->pos].dropped = 1;
        else
            g->d[u->pos] = u->was;
    }
}

static void delta_add(struct summary_delta *e, const struct summary_delta *d)
{
    if (e->dropped) {
        *e = *d;
        e->dropped = 0;
        return;
    }
    e->n += d->n;
    e->one_feature = e->one_feature && d->one_feature && e->feature_id == d->feature_id;
    if (d->start < e->start)
        e->start = d->start;
    if (d->end > e->end)
        e->end = d->end;
    if (d->rt0 != INSITU_TIME_NONE && (e->rt0 == INSITU_TIME_NONE || d->rt0 < e->rt0))
        e->rt0 = d->rt0;
    if (d->rt1 != INSITU_TIME_NONE && (e->rt1 == INSITU_TIME_NONE || d->rt1 > e->rt1))
        e->rt1 = d->rt1;
}

/* "SELECT west, south, east, north FROM features WHERE id IN (<ids>)": the bounds of the
 * features <ids> (SQL of one column of feature ids) together. */
static void area_select(const struct sql_dialect *d, struct strbuf *sql, const char *ids)
{
    static const char *const agg[] = {"min", "min", "max", "max"};
    sb_puts(sql, "SELECT ");
    for (int k = 0; k < 4; k++) {
        sb_printf(sql, "%s%s(", k ? ", " : "", agg[k]);
        sb_printf(sql, d->geom_bounds[k], "geom");
        sb_printf(sql, ") AS b%d", k);
    }
    sb_printf(sql, " FROM features WHERE id IN (%s)", ids);
}

/* "UPDATE datastreams SET observed_area = <GeoJSON of its box> WHERE id = ?": the text the
 * API shows, made when the box changes (made when read, it took half a page's time). */
static int area_text_update(struct store *st, struct stmt **out, insitu_error *err)
{
    struct strbuf sql = {0}, box = {0};
    dialect_area_sql(st->dialect, &box, "datastreams");
    sb_puts(&sql, "UPDATE datastreams SET observed_area = ");
    sb_printf(&sql, st->dialect->geom_as_geojson, sb_str(&box));
    sb_puts(&sql, " WHERE id = ?");
    int rc = sql.data ? st_prepare_cached(st, SLOT_AREA_TEXT, sql.data, out, err)
                      : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    sb_free(&sql);
    sb_free(&box);
    return rc;
}

static int area_text(struct store *st, int64_t ds, insitu_error *err)
{
    struct stmt *s = NULL;
    int rc = area_text_update(st, &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, ds);
    rc = st_step(s, err);
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

/* Widens each delta's datastream's observedArea by the features of the rows it added: its
 * one feature when it says so (an ingested station's series), else those of its series in
 * [start, end], a range of the key (rows already there are inside the area already). */
static int add_areas(struct store *st, const struct summary_delta *d, size_t n,
                     insitu_error *err)
{
    static const char *const added[2] = {
        "SELECT feature_id FROM observations WHERE datastream_id = ? AND phenomenon_start >= "
        "? AND phenomenon_start <= ?",
        "?"};
    struct stmt *s[2] = {NULL, NULL};
    int rc = 0;
    for (int one = 0; one < 2 && !rc; one++) {
        struct strbuf sql = {0};
        sb_puts(&sql, "UPDATE datastreams SET (area_xmin, area_ymin, area_xmax, area_ymax) = "
                      "(SELECT min(b0), min(b1), max(b2), max(b3) FROM (SELECT area_xmin AS "
                      "b0, area_ymin AS b1, area_xmax AS b2, area_ymax AS b3 FROM datastreams "
                      "WHERE id = ? UNION ALL ");
        area_select(st->dialect, &sql, added[one]);
        sb_puts(&sql, ") b) WHERE id = ?");
        rc = sql.data ? st_prepare_cached(st, one ? SLOT_ADD_AREA_ONE : SLOT_ADD_AREA, sql.data,
                                          &s[one], err)
                      : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        sb_free(&sql);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (d[i].dropped || d[i].n <= 0)
            continue;
        struct stmt *u = s[d[i].one_feature != 0];
        int k = 1;
        st_bind_int64(u, k++, d[i].id);
        if (d[i].one_feature) {
            st_bind_int64(u, k++, d[i].feature_id);
        } else {
            st_bind_int64(u, k++, d[i].id);
            st_bind_int64(u, k++, d[i].start);
            st_bind_int64(u, k++, d[i].end);
        }
        st_bind_int64(u, k, d[i].id);
        rc = st_step(u, err);
        st_reset(u);
        rc = rc < 0 ? rc : area_text(st, d[i].id, err);
    }
    for (int one = 0; one < 2; one++)
        if (s[one])
            st_finalize(s[one]);
    return rc;
}

/* Adds each delta to its datastream's row: one prepared UPDATE per datastream. */
static int write_summaries(struct store *st, const struct summary_delta *d, size_t n,
                           insitu_error *err)
{
    struct strbuf sql = {0};
    sb_printf(&sql,
              "UPDATE%s datastreams SET n_obs = n_obs + ?, "
              "phenomenon_start = CASE WHEN phenomenon_start IS NULL OR phenomenon_start > ? "
              "THEN ? ELSE phenomenon_start END, "
              "phenomenon_end = CASE WHEN phenomenon_end IS NULL OR phenomenon_end < ? "
              "THEN ? ELSE phenomenon_end END, "
              "result_time_start = CASE WHEN ? IS NOT NULL AND (result_time_start IS NULL OR "
              "result_time_start > ?) THEN ? ELSE result_time_start END, "
              "result_time_end = CASE WHEN ? IS NOT NULL AND (result_time_end IS NULL OR "
              "result_time_end < ?) THEN ? ELSE result_time_end END WHERE id = ?",
              st->dialect->no_abort);
    struct stmt *s = NULL;
    int rc = st_prepare_cached(st, SLOT_ADD_SUMMARY, sql.data, &s, err);
    sb_free(&sql);
    for (size_t i = 0; !rc && i < n; i++) {
        if (d[i].dropped)
            continue;
        st_bind_int64(s, 1, d[i].n);
        st_bind_int64(s, 2, d[i].start);
        st_bind_int64(s, 3, d[i].start);
        st_bind_int64(s, 4, d[i].end);
        st_bind_int64(s, 5, d[i].end);
        for (int k = 0; k < 3; k++) {
            st_bind_time(s, 6 + k, d[i].rt0);
            st_bind_time(s, 9 + k, d[i].rt1);
        }
        st_bind_int64(s, 12, d[i].id);
        rc = st_step(s, err);
        st_reset(s);
        rc = rc < 0 ? rc : 0;
    }
    if (s)
        st_finalize(s);
    return rc ? rc : add_areas(st, d, n, err);
}

static int cmp_delta(const void *a, const void *b)
{
    int64_t x = ((const struct summary_delta *)a)->id, y = ((const struct summary_delta *)b)->id;
    return (x > y) - (x < y);
}

/* Writes what the group owes, in datastream order (neighbouring rows share pages). */
static int sums_write(struct store *st, insitu_error *err)
{
    struct group_sums *g = &st->sums;
    if (!g->n)
        return 0;
    qsort(g->d, g->n, sizeof *g->d, cmp_delta);
    return write_summaries(st, g->d, g->n, err);
}

int store_add_summaries(struct store *st, const struct summary_delta *d, size_t n,
                        insitu_error *err)
{
    if (!st->group)
        return write_summaries(st, d, n, err);
    for (size_t i = 0; i < n; i++) {
        int rc;
        struct summary_delta *e = sums_entry(&st->sums, d[i].id, 1, &rc);
        if (!e)
            return insitu_error_set(err, rc, "out of memory");
        delta_add(e, &d[i]);
    }
    return 0;
}

int st_group_begin(struct store *st, insitu_error *err)
{
    if (!st->ops->savepoint)
        return 0;
    if (st->group)
        return 1;
    int rc = st->ops->begin(st, TX_GROUP, err);
    if (rc)
        return rc;
    sums_free(&st->sums);
    st->group = 1;
    st->group_lost = 0;
    return 1;
}

int st_group_commit(struct store *st, insitu_error *err)
{
    if (!st->group)
        return 0;
    int lost = st->group_lost;
    st->group = st->group_lost = 0;
    int rc = lost ? insitu_error_set(err, INSITU_ESTORE,
                                     "%s: an error rolled back this group of sources", st->uri)
                  : sums_write(st, err);
    sums_free(&st->sums);
    if (!rc)
        rc = st->ops->commit(st, err);
    if (rc) {
        st->ops->rollback(st);
        store_cache_clear(st);
    }
    return rc;
}

/* ---- the entity cache ---- */

void store_cache_clear(struct store *st)
{
    strmap_free(&st->cache);
    strmap_free(&st->cache_pending);
    st->n_texts = 0;
    texts_read_clear(st);
}

/* Builds a content key: a type letter and two 64-bit hashes of the integers ids (n_ids)
 * and the text parts (NULL as ""), short whatever the entity's size; a false match needs
 * two 64-bit hashes to collide at once. */
static void cache_key_ids(struct strbuf *key, char type, const int64_t *ids, int n_ids, int n,
                          const char *const *parts)
{
    struct hash2 h;
    hash2_init(&h);
    for (int i = 0; i < n_ids; i++)
        hash2_word(&h, (uint64_t)ids[i]);
    for (int i = 0; i < n; i++) {
        const char *p = parts[i] ? parts[i] : "";
        hash2_bytes(&h, p, strlen(p));
    }
    hash2_key(key, type, &h);
}

static void cache_key(struct strbuf *key, char type, int n, const char *const *parts)
{
    cache_key_ids(key, type, NULL, 0, n, parts);
}

static int cache_get(struct store *st, const struct strbuf *key, int64_t *id)
{
    return strmap_get(&st->cache_pending, key->data, key->len, id) ||
           strmap_get(&st->cache, key->data, key->len, id);
}

static void cache_put(struct store *st, const struct strbuf *key, int64_t id)
{
    strmap_put(st->in_tx ? &st->cache_pending : &st->cache, key->data, key->len, id);
}

/* ---- the texts of observations, kept once ---- */

enum { TEXTS_CACHED = 1 << 16 }; /* texts whose ids the entity cache keeps, at most */

static int text_find(struct store *st, const char *text, int64_t *id, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_TEXT_FIND, st->dialect->text_find, &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, text);
    rc = st_step(s, err);
    *id = rc == 1 ? st_col_int64(s, 0) : 0;
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

static int step_insert_id(struct store *st, struct stmt *s, int64_t known, int64_t *id,
                          insitu_error *err);

/* The id of text in obs_texts, added when new; the cache (key: text_key's) remembers it. */
static int text_intern(struct store *st, const char *text, const struct strbuf *key,
                       int64_t *id, insitu_error *err)
{
    /* a text the cache lacks is more often new than known: the INSERT comes first, and
     * gives the id when it adds the row */
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_TEXT_INSERT, st->dialect->text_insert, &s, err);
    if (!rc) {
        st_bind_text(s, 1, text);
        rc = step_insert_id(st, s, 0, id, err);
        rc = rc < 0 ? rc : rc == 0 ? text_find(st, text, id, err) : 0;
    }
    if (!rc && !*id)
        rc = insitu_error_set(err, INSITU_ESTORE, "%s: cannot keep the text '%.60s'", st->uri,
                              text);
    /* the cache stays bounded when every row brings a text of its own */
    if (!rc && st->n_texts < TEXTS_CACHED) {
        cache_put(st, key, *id);
        st->n_texts++;
    }
    return rc;
}

static void text_key(struct strbuf *key, const char *text)
{
    const char *parts[] = {text};
    sb_reset(key);
    cache_key(key, 'Q', 1, parts);
}

enum { TEXTS_READ = 1 << 12 }; /* texts store_text_of keeps, at most */

/* Forgets the texts read: at a rollback, whose rows (and so ids) may be given again. */
static void texts_read_clear(struct store *st)
{
    for (size_t i = 0; i < st->n_texts_read; i++)
        free(st->texts_read[i]);
    st->n_texts_read = 0;
    strmap_free(&st->text_ids);
}

int store_text_of(struct store *st, int64_t id, const char **text, insitu_error *err)
{
    *text = NULL;
    int64_t at;
    if (!id)
        return 0;
    /* a page's rows often share their texts: the last one read first */
    if (st->n_texts_read && st->last_text_id == id) {
        *text = st->texts_read[st->last_text_at];
        return 0;
    }
    if (strmap_get(&st->text_ids, (const char *)&id, sizeof id, &at)) {
        st->last_text_id = id;
        st->last_text_at = (size_t)at;
        *text = st->texts_read[at];
        return 0;
    }
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_TEXT_OF, "SELECT text FROM obs_texts WHERE id = ?", &s,
                               err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    rc = st_step(s, err);
    char *copy = rc == 1 ? xstrdup(st_col_text(s, 0)) : NULL;
    st_finalize(s);
    if (rc < 0)
        return rc;
    if (!copy)
        return rc ? insitu_error_set(err, INSITU_ENOMEM, "out of memory")
                  : insitu_error_set(err, INSITU_ESTORE, "%s: no observation text %lld",
                                     st->uri, (long long)id);
    if (!st->texts_read && !(st->texts_read = malloc(TEXTS_READ * sizeof *st->texts_read))) {
        free(copy);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    if (st->n_texts_read == TEXTS_READ)
        texts_read_clear(st);
    if (strmap_put(&st->text_ids, (const char *)&id, sizeof id, (int64_t)st->n_texts_read)) {
        free(copy);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    st->last_text_id = id;
    st->last_text_at = st->n_texts_read;
    st->texts_read[st->n_texts_read++] = copy;
    *text = copy;
    return 0;
}

/* A row's quality (k 0) or parameters (k 1) text. */
static const char *obs_text(const struct obs_row *r, int k)
{
    return k ? r->parameters : r->quality;
}

int store_text_ids(struct store *st, const struct obs_row *rows, size_t n, const int64_t **out,
                   insitu_error *err)
{
    if (n > st->cap_text_ids_of) {
        int64_t *p = realloc(st->text_ids_of, 2 * n * sizeof *p);
        if (!p)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        st->text_ids_of = p;
        st->cap_text_ids_of = n;
    }
    int64_t *ids = st->text_ids_of;
    *out = ids;
    struct strmap seen = {0}; /* texts met once in these rows, not kept (yet) */
    struct strbuf key = {0};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        for (size_t i = 0; i < n && !rc; i++) {
            const char *t = obs_text(&rows[i], k);
            const char *prev = i ? obs_text(&rows[i - 1], k) : NULL;
            const char *next = i + 1 < n ? obs_text(&rows[i + 1], k) : NULL;
            int64_t *id = &ids[2 * i + (size_t)k], v;
            *id = 0;
            if (!t)
                continue;
            /* rows in a row often share their texts (a SWOT product's parameters, a
             * reach's flags): the previous row's id serves again */
            int same_prev = prev && (prev == t || strcmp(prev, t) == 0);
            if (same_prev && ids[2 * (i - 1) + (size_t)k]) {
                *id = ids[2 * (i - 1) + (size_t)k];
                continue;
            }
            text_key(&key, t);
            if (cache_get(st, &key, id))
                continue;
            /* kept once when it repeats; a text of one row stays in the row */
            if (same_prev || (next && (next == t || strcmp(next, t) == 0)) ||
                strmap_get(&seen, key.data, key.len, &v))
                rc = text_intern(st, t, &key, id, err);
            else if (strmap_put(&seen, key.data, key.len, 1))
                rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        }
        strmap_free(&seen);
    }
    sb_free(&key);
    return rc;
}

/* ---- upserts ---- */

static int upsert_thing_row(struct store *st, const struct thing_in *t, int64_t known,
                            int64_t *id, insitu_error *err);
static int upsert_datastream_row(struct store *st, const struct datastream_in *d, int64_t known,
                                 int64_t *id, insitu_error *err);

/* Prepares into `slot` an INSERT (`sql` without its end) that gives the new row's id: the
 * dialect's returning_id clause is added when the slot is first prepared. */
static int prepare_insert_id(struct store *st, enum stmt_slot slot, const char *sql,
                             struct stmt **out, insitu_error *err)
{
    if (st->slots[slot])
        return st_prepare_cached(st, slot, sql, out, err);
    struct strbuf full = {0};
    sb_puts(&full, sql);
    sb_puts(&full, st->dialect->returning_id);
    int rc = st_prepare_cached(st, slot, full.data, out, err);
    sb_free(&full);
    return rc;
}

/* Steps an INSERT prepared by prepare_insert_id: 1 with *id, the id of the row it wrote
 * (from its result row or from the connection); 0 when it wrote none (an INSERT ... SELECT
 * that selected nothing); < 0 on error. `known` is the id of the row an upsert updates
 * instead of inserting, 0 when the caller found none in its write transaction (the row is
 * then new). The statement is finalized. */
static int step_insert_id(struct store *st, struct stmt *s, int64_t known, int64_t *id,
                          insitu_error *err)
{
    int rc = st_step(s, err);
    if (rc == 1) {
        *id = st_col_int64(s, 0);
    } else if (rc == 0 && !st->dialect->returning_id[0] && st->ops->changes(st) > 0) {
        *id = known ? known : st->ops->last_insert_id(st);
        rc = 1;
    }
    st_finalize(s);
    return rc;
}

/* step_insert_id for an upsert, which always writes a row: 0 with *id, or an error. An
 * upsert that cannot tell whether it inserted (sensors, properties: no lookup first) ends
 * with RETURNING id on every backend, and its result row gives the id. */
static int run_insert_id(struct store *st, struct stmt *s, int64_t known, int64_t *id,
                         const char *what, insitu_error *err)
{
    int rc = step_insert_id(st, s, known, id, err);
    if (rc == 0)
        rc = insitu_error_set(err, INSITU_ESTORE, "%s: upsert returned no id", what);
    return rc < 0 ? rc : 0;
}

static const char *nz(const char *s) { return s ? s : ""; }

static int same_text(const char *stored, const char *given)
{
    return strcmp(stored ? stored : "", given ? given : "") == 0;
}

/* What a write leaves of a stored text field: the given value, or the stored one when the
 * source gives none (a source that does not know a field does not erase it). Borrowed. */
static const char *kept_text(const char *stored, const char *given)
{
    return given && *given ? given : stored;
}

/* What a write leaves of stored properties: the stored JSON object updated with the given
 * one's keys, so that two sources describing one entity (a SWOT product and Hydrocron, the
 * two Hydroweb formats) add up instead of overwriting each other. Caller frees. */
static char *merge_properties(const char *stored, const char *given)
{
    if (!given || !*given)
        return xstrdup(stored);
    if (!stored || !*stored || strcmp(stored, given) == 0)
        return xstrdup(given); /* the same text: nothing to merge (the common re-read) */
    json_t *a = json_loads(stored, 0, NULL), *b = json_loads(given, 0, NULL);
    char *out;
    if (json_is_object(a) && json_is_object(b) && json_object_update(a, b) == 0)
        out = json_text(a);
    else
        out = xstrdup(given);
    json_decref(a);
    json_decref(b);
    return out;
}

/* Looks up an existing thing: 0 when there is none; 1 when it already holds what writing t
 * would leave (*id set); 2 when a write is needed, with the merged values in *merged
 * (description and properties to be freed by the caller). */
static int thing_existing(struct store *st, const struct thing_in *t, int64_t *id,
                          struct thing_in *merged, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_FIND_THING,
                               "SELECT id, name, description, properties FROM things WHERE "
                               "namespace = ? AND code = ?",
                               &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, t->ns);
    st_bind_text(s, 2, t->code);
    rc = st_step(s, err);
    if (rc == 1) {
        *merged = *t;
        merged->description = xstrdup(kept_text(st_col_text(s, 2), t->description));
        merged->properties = merge_properties(st_col_text(s, 3), t->properties);
        int same = same_text(st_col_text(s, 1), t->name ? t->name : t->code) &&
                   same_text(st_col_text(s, 2), merged->description) &&
                   same_text(st_col_text(s, 3), merged->properties);
        *id = st_col_int64(s, 0);
        rc = same ? 1 : 2;
    }
    st_finalize(s);
    return rc;
}

int store_upsert_thing(struct store *st, const struct thing_in *t, int64_t *id, insitu_error *err)
{
    struct strbuf key = {0};
    const char *parts[] = {t->ns, t->code, t->name ? t->name : t->code, t->description,
                           t->properties};
    cache_key(&key, 'T', 5, parts);
    struct thing_in merged = {0};
    int cached = cache_get(st, &key, id);
    int rc = cached ? 1 : thing_existing(st, t, id, &merged, err);
    if (rc == 0)
        rc = upsert_thing_row(st, t, 0, id, err);
    else if (rc == 2)
        rc = upsert_thing_row(st, &merged, *id, id, err);
    else if (rc > 0)
        rc = 0;
    if (!rc && !cached)
        cache_put(st, &key, *id);
    free((char *)merged.description);
    free((char *)merged.properties);
    sb_free(&key);
    return rc;
}

/* known: the id of the existing row (0: none, the row is new) */
static int upsert_thing_row(struct store *st, const struct thing_in *t, int64_t known,
                            int64_t *id, insitu_error *err)
{
    int rc;
    struct stmt *s;
    rc = prepare_insert_id(st, SLOT_THING,
                        "INSERT INTO things (namespace, code, name, description, properties) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, code) DO UPDATE SET "
                        "name = excluded.name, description = excluded.description, "
                        "properties = excluded.properties",
                        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, t->ns);
    st_bind_text(s, 2, t->code);
    st_bind_text(s, 3, t->name ? t->name : t->code);
    st_bind_text(s, 4, nz(t->description));
    st_bind_text(s, 5, t->properties);
    return run_insert_id(st, s, known, id, "thing", err);
}

int store_upsert_sensor(struct store *st, const struct sensor_in *v, int64_t *id,
                        insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_SENSOR,
                        "INSERT INTO sensors (namespace, code, name, description, encoding_type, "
                        "metadata, properties) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (namespace, code) DO UPDATE SET name = excluded.name, "
                        "description = excluded.description, encoding_type = "
                        "excluded.encoding_type, metadata = excluded.metadata, properties = "
                        "excluded.properties RETURNING id",
                        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, v->ns);
    st_bind_text(s, 2, v->code);
    st_bind_text(s, 3, v->name ? v->name : v->code);
    st_bind_text(s, 4, nz(v->description));
    st_bind_text(s, 5, v->encoding_type ? v->encoding_type : "text/plain");
    st_bind_text(s, 6, nz(v->metadata));
    st_bind_text(s, 7, v->properties);
    return run_insert_id(st, s, 0, id, "sensor", err);
}

int store_upsert_property(struct store *st, const struct property_in *p, int64_t *id,
                          insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_PROPERTY,
                        "INSERT INTO observed_properties (name, definition, description, "
                        "properties) VALUES (?, ?, ?, ?) ON CONFLICT (definition, name, key) DO "
                        "UPDATE SET description = CASE WHEN excluded.description = '' THEN "
                        "observed_properties.description ELSE excluded.description END, "
                        "properties = coalesce(excluded.properties, "
                        "observed_properties.properties) RETURNING id",
                        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, p->name);
    st_bind_text(s, 2, p->definition);
    st_bind_text(s, 3, nz(p->description));
    st_bind_text(s, 4, p->properties);
    return run_insert_id(st, s, 0, id, "observed property", err);
}

/* Looks up an existing datastream, as thing_existing does (merged: description, units and
 * properties, which the caller frees). */
static int datastream_existing(struct store *st, const struct datastream_in *d, int64_t *id,
                               struct datastream_in *merged, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_FIND_DATASTREAM,
                               "SELECT id, name, description, observation_type, unit_name, "
                               "unit_symbol, unit_definition, properties FROM datastreams WHERE "
                               "thing_id = ? AND observed_property_id = ? AND sensor_id = ? AND "
                               "qualifier = ?",
                               &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, d->thing_id);
    st_bind_int64(s, 2, d->property_id);
    st_bind_int64(s, 3, d->sensor_id);
    st_bind_text(s, 4, nz(d->qualifier));
    rc = st_step(s, err);
    if (rc == 1) {
        const char *type = d->observation_type ? d->observation_type : OBSERVATION_TYPE_MEASUREMENT;
        *merged = *d;
        merged->description = xstrdup(kept_text(st_col_text(s, 2), d->description));
        merged->unit_name = xstrdup(kept_text(st_col_text(s, 4), d->unit_name));
        merged->unit_symbol = xstrdup(kept_text(st_col_text(s, 5), d->unit_symbol));
        merged->unit_definition = xstrdup(kept_text(st_col_text(s, 6), d->unit_definition));
        merged->properties = merge_properties(st_col_text(s, 7), d->properties);
        int same = same_text(st_col_text(s, 1), d->name) &&
                   same_text(st_col_text(s, 2), merged->description) &&
                   same_text(st_col_text(s, 3), type) &&
                   same_text(st_col_text(s, 4), merged->unit_name) &&
                   same_text(st_col_text(s, 5), merged->unit_symbol) &&
                   same_text(st_col_text(s, 6), merged->unit_definition) &&
                   same_text(st_col_text(s, 7), merged->properties);
        *id = st_col_int64(s, 0);
        rc = same ? 1 : 2;
    }
    st_finalize(s);
    return rc;
}

/* The content key of a datastream: what it would hold, so that the key of a stored row and
 * the key of an upsert that would leave it unchanged are the same. */
static void datastream_key(struct strbuf *key, int64_t thing_id, int64_t property_id,
                           int64_t sensor_id, const char *qualifier, const char *name,
                           const char *description, const char *observation_type,
                           const char *unit_name, const char *unit_symbol,
                           const char *unit_definition, const char *properties)
{
    const int64_t ids[] = {thing_id, property_id, sensor_id};
    const char *parts[] = {qualifier,
                           name,
                           description,
                           observation_type ? observation_type : OBSERVATION_TYPE_MEASUREMENT,
                           unit_name,
                           unit_symbol,
                           unit_definition,
                           properties};
    cache_key_ids(key, 'D', ids, 3, 8, parts);
}

/* Caches every datastream of a Thing under its content key, once per Thing and process:
 * one query where a new product of known reaches made one per (reach, variable). An
 * upsert that would change a row misses the cache and reads it as before. */
static int prefetch_datastreams(struct store *st, int64_t thing_id, insitu_error *err)
{
    struct strbuf mark = {0};
    const int64_t ids[] = {thing_id};
    cache_key_ids(&mark, 'P', ids, 1, 0, NULL);
    int64_t seen;
    if (cache_get(st, &mark, &seen)) {
        sb_free(&mark);
        return 0;
    }
    struct stmt *s;
    int rc = st_prepare_cached(st, SLOT_THING_DATASTREAMS,
                               "SELECT id, observed_property_id, sensor_id, qualifier, name, "
                               "description, observation_type, unit_name, unit_symbol, "
                               "unit_definition, properties FROM datastreams WHERE thing_id = ?",
                               &s, err);
    if (rc) {
        sb_free(&mark);
        return rc;
    }
    st_bind_int64(s, 1, thing_id);
    struct strbuf key = {0};
    while ((rc = st_step(s, err)) == 1) {
        sb_reset(&key);
        datastream_key(&key, thing_id, st_col_int64(s, 1), st_col_int64(s, 2),
                       st_col_text(s, 3), st_col_text(s, 4), st_col_text(s, 5),
                       st_col_text(s, 6), st_col_text(s, 7), st_col_text(s, 8),
                       st_col_text(s, 9), st_col_text(s, 10));
        cache_put(st, &key, st_col_int64(s, 0));
    }
    st_finalize(s);
    if (rc == 0)
        cache_put(st, &mark, 1);
    sb_free(&key);
    sb_free(&mark);
    return rc < 0 ? rc : 0;
}

int store_upsert_datastream(struct store *st, const struct datastream_in *d, int64_t *id,
                            insitu_error *err)
{
    /* most upserts of a re-read source change nothing: find those without a write, and
     * without SQL when this process wrote or read them before */
    struct strbuf key = {0};
    datastream_key(&key, d->thing_id, d->property_id, d->sensor_id, d->qualifier, d->name,
                   d->description, d->observation_type, d->unit_name, d->unit_symbol,
                   d->unit_definition, d->properties);
    struct datastream_in merged = {0};
    int cached = cache_get(st, &key, id);
    int rc = 0;
    if (!cached) {
        /* the first datastream of a Thing this process has not seen reads all of them */
        rc = prefetch_datastreams(st, d->thing_id, err);
        cached = !rc && cache_get(st, &key, id);
    }
    if (!rc)
        rc = cached ? 1 : datastream_existing(st, d, id, &merged, err);
    if (rc == 0)
        rc = upsert_datastream_row(st, d, 0, id, err);
    else if (rc == 2)
        rc = upsert_datastream_row(st, &merged, *id, id, err);
    else if (rc > 0)
        rc = 0;
    /* a hit is already cached (in the store's cache or this transaction's) */
    if (!rc && !cached)
        cache_put(st, &key, *id);
    free((char *)merged.description);
    free((char *)merged.unit_name);
    free((char *)merged.unit_symbol);
    free((char *)merged.unit_definition);
    free((char *)merged.properties);
    sb_free(&key);
    return rc;
}

int store_set_multi(struct store *st, int64_t id, const char *types_json, const char *units_json,
                    const int64_t *properties, size_t n, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare(st, "SELECT multi, multi_types, unit_json FROM datastreams WHERE id = ?",
                        &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    int same = 0;
    rc = st_step(s, err);
    if (rc == 1)
        same = st_col_int64(s, 0) == 1 && same_text(st_col_text(s, 1), types_json) &&
               same_text(st_col_text(s, 2), units_json);
    st_finalize(s);
    if (rc == 0)
        return insitu_error_set(err, INSITU_ENOTFOUND, "datastream %lld: not found",
                                (long long)id);
    if (rc < 0)
        return rc;
    if (!same) {
        rc = st_prepare(st, "UPDATE datastreams SET multi = 1, multi_types = ?, unit_json = ? "
                            "WHERE id = ?",
                        &s, err);
        if (rc)
            return rc;
        st_bind_text(s, 1, types_json);
        st_bind_text(s, 2, units_json);
        st_bind_int64(s, 3, id);
        rc = st_step(s, err);
        st_finalize(s);
        if (rc < 0)
            return rc;
    }
    /* the members, compared position by position */
    rc = st_prepare(st, "SELECT position, observed_property_id FROM multi_datastream_properties "
                        "WHERE datastream_id = ? ORDER BY position",
                    &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    size_t k = 0;
    same = 1;
    for (; (rc = st_step(s, err)) == 1; k++)
        if (k >= n || st_col_int64(s, 0) != (int64_t)k || st_col_int64(s, 1) != properties[k])
            same = 0;
    st_finalize(s);
    if (rc < 0 || (same && k == n))
        return rc < 0 ? rc : 0;
    rc = st_prepare(st, "DELETE FROM multi_datastream_properties WHERE datastream_id = ?", &s,
                    err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, id);
    rc = st_step(s, err);
    st_finalize(s);
    if (rc < 0)
        return rc;
    rc = st_prepare(st, "INSERT INTO multi_datastream_properties (datastream_id, position, "
                        "observed_property_id) VALUES (?, ?, ?)",
                    &s, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        st_reset(s);
        st_bind_int64(s, 1, id);
        st_bind_int64(s, 2, (int64_t)i);
        st_bind_int64(s, 3, properties[i]);
        rc = st_step(s, err);
    }
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

static int upsert_datastream_row(struct store *st, const struct datastream_in *d, int64_t known,
                                 int64_t *id, insitu_error *err)
{
    int rc;
    struct stmt *s;
    rc = prepare_insert_id(
        st, SLOT_DATASTREAM,
        "INSERT INTO datastreams (thing_id, observed_property_id, sensor_id, qualifier, name, "
        "description, observation_type, unit_name, unit_symbol, unit_definition, properties) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (thing_id, observed_property_id, "
        "sensor_id, qualifier) DO UPDATE SET name = excluded.name, description = "
        "excluded.description, observation_type = excluded.observation_type, unit_name = "
        "excluded.unit_name, unit_symbol = excluded.unit_symbol, unit_definition = "
        "excluded.unit_definition, properties = excluded.properties",
        &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, d->thing_id);
    st_bind_int64(s, 2, d->property_id);
    st_bind_int64(s, 3, d->sensor_id);
    st_bind_text(s, 4, nz(d->qualifier));
    st_bind_text(s, 5, nz(d->name));
    st_bind_text(s, 6, nz(d->description));
    st_bind_text(s, 7, d->observation_type ? d->observation_type : OBSERVATION_TYPE_MEASUREMENT);
    st_bind_text(s, 8, nz(d->unit_name));
    st_bind_text(s, 9, nz(d->unit_symbol));
    st_bind_text(s, 10, nz(d->unit_definition));
    st_bind_text(s, 11, d->properties);
    return run_insert_id(st, s, known, id, "datastream", err);
}

/* The id of the row of `table` with `key` (1), or 0 when there is none. */
static int find_by_key(struct store *st, enum stmt_slot slot, const char *table,
                       const char *key, int64_t *id, insitu_error *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE key = ?", table);
    struct stmt *s;
    int rc = st_prepare_cached(st, slot, sql, &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, key);
    rc = st_step(s, err);
    if (rc == 1)
        *id = st_col_int64(s, 0);
    st_finalize(s);
    return rc;
}

/* Inserts a geometry row (locations or features) keyed by `key`, or finds it: a key names
 * one geometry, so an existing row is not rewritten. The 2-D geometry is parsed from the WKB
 * when given, else from the GeoJSON; without GeoJSON, the store writes the WKB's. */
static int upsert_geometry_row(struct store *st, enum stmt_slot slot, const char *table,
                               const char *geo_col, const char *key, const char *name,
                               const char *description, const char *geojson,
                               const unsigned char *wkb, size_t wkb_len, const char *properties,
                               int64_t *id, insitu_error *err)
{
    struct strbuf ckey = {0};
    const char *parts[] = {key};
    cache_key(&ckey, table[0] == 'l' ? 'L' : 'F', 1, parts);
    int found = cache_get(st, &ckey, id);
    int rc = found ? 1
                   : find_by_key(st, slot == SLOT_LOCATION ? SLOT_FIND_LOCATION : SLOT_FIND_FEATURE,
                                 table, key, id, err);
    if (rc) {
        if (rc > 0 && !found)
            cache_put(st, &ckey, *id);
        sb_free(&ckey);
        return rc < 0 ? rc : 0;
    }
    struct strbuf sql = {0};
    /* an unreadable geometry selects no row, so nothing is written and no id returned; a
     * geometry given as WKB only keeps no GeoJSON text: readers derive it from geom */
    sb_printf(&sql,
              "INSERT INTO %s (key, name, description, %s, properties, geom) "
              "SELECT ?, ?, ?, ?, ?, g FROM (SELECT %s AS g) AS parsed "
              "WHERE g IS NOT NULL%s",
              table, geo_col, wkb ? st->dialect->geom_from_wkb : st->dialect->geom_from_geojson,
              st->dialect->returning_id);
    if (wkb)
        slot = slot == SLOT_LOCATION ? SLOT_LOCATION_WKB : SLOT_FEATURE_WKB;
    struct stmt *s;
    rc = st_prepare_cached(st, slot, sql.data, &s, err);
    sb_free(&sql);
    if (rc) {
        sb_free(&ckey);
        return rc;
    }
    st_bind_text(s, 1, key);
    st_bind_text(s, 2, name);
    st_bind_text(s, 3, nz(description));
    st_bind_text(s, 4, geojson);
    st_bind_text(s, 5, properties);
    if (wkb)
        st_bind_blob(s, 6, wkb, wkb_len);
    else
        st_bind_text(s, 6, geojson);
    rc = step_insert_id(st, s, 0, id, err);
    if (rc < 0 && !wkb) {
        /* PostGIS raises an error where SpatiaLite returns NULL: the same message for both
         * (the cause copied first: it is in the buffer being written) */
        char cause[304];
        snprintf(cause, sizeof cause, "%.300s", err ? err->message : "");
        rc = insitu_error_set(err, INSITU_EINVAL, "invalid GeoJSON geometry: %.200s (%s)",
                              geojson, cause);
    } else if (rc == 1) {
        cache_put(st, &ckey, *id);
        rc = 0;
    } else if (rc == 0) {
        rc = wkb ? insitu_error_set(err, INSITU_EINVAL, "invalid WKB geometry")
                 : insitu_error_set(err, INSITU_EINVAL, "invalid GeoJSON geometry: %.200s",
                                    geojson);
    }
    sb_free(&ckey);
    return rc;
}

int store_upsert_feature(struct store *st, const struct feature_in *f, int64_t *id,
                         insitu_error *err)
{
    return upsert_geometry_row(st, SLOT_FEATURE, "features", "feature", f->key ? f->key : f->geojson,
                               f->name ? f->name : "", f->description, f->geojson, f->wkb,
                               f->wkb_len, f->properties, id, err);
}

void location_key(struct strbuf *key, int64_t thing_id, const char *geojson,
                  const unsigned char *wkb, size_t wkb_len)
{
    size_t n = geojson ? strlen(geojson) : 0;
    if (geojson && n <= 200) {
        sb_printf(key, "%lld|%s", (long long)thing_id, geojson);
        return;
    }
    /* long geometries (lake polygons) are keyed by their hash */
    struct sha256 h;
    char hex[65];
    sha256_init(&h);
    if (geojson)
        sha256_update(&h, geojson, n);
    else
        sha256_update(&h, wkb, wkb_len);
    sha256_final(&h, hex);
    sb_printf(key, "%lld|sha256:%s%s", (long long)thing_id, geojson ? "" : "wkb:", hex);
}

void location_cache_key(struct strbuf *key, int64_t thing_id, const struct geom_digest *d)
{
    struct hash2 h = d->h;
    hash2_word(&h, (uint64_t)thing_id);
    hash2_key(key, d->kind, &h);
}

int store_thing_location(struct store *st, int64_t thing_id, const char *name,
                         const char *geojson, int64_t when, insitu_error *err)
{
    struct geom_digest digest;
    geom_digest(&digest, geojson, NULL, 0);
    return store_thing_location_wkb(st, thing_id, name, geojson, NULL, 0, &digest, when, err);
}

int store_thing_location_wkb(struct store *st, int64_t thing_id, const char *name,
                             const char *geojson, const unsigned char *wkb, size_t wkb_len,
                             const struct geom_digest *digest, int64_t when, insitu_error *err)
{
    /* a geometry this process saw for this Thing is found by a cheap hash of its text or
     * WKB, without the SHA-256 of its natural key (a long one's) nor that key's lookup */
    struct strbuf quick = {0};
    location_cache_key(&quick, thing_id, digest);
    int64_t loc_id = 0;
    int rc = 0;
    if (!cache_get(st, &quick, &loc_id)) {
        struct strbuf key = {0};
        location_key(&key, thing_id, geojson, wkb, wkb_len);
        rc = upsert_geometry_row(st, SLOT_LOCATION, "locations", "location", sb_str(&key),
                                 name, NULL, geojson, wkb, wkb_len, NULL, &loc_id, err);
        sb_free(&key);
        if (!rc)
            cache_put(st, &quick, loc_id);
    }
    sb_free(&quick);
    if (rc)
        return rc;
    /* the Thing's current location, as this process last saw it */
    char tkey[32];
    snprintf(tkey, sizeof tkey, "C%lld", (long long)thing_id);
    struct strbuf current = {0};
    sb_puts(&current, tkey);
    int64_t loc_hash = (int64_t)hash64(&loc_id, sizeof loc_id), cached;
    int known = cache_get(st, &current, &cached) && cached == loc_hash;
    if (known) {
        sb_free(&current);
        return 0;
    }
    cache_put(st, &current, loc_hash);
    sb_free(&current);
    struct stmt *s;
    rc = st_prepare_cached(st, SLOT_THING_LOCATION,
                    "INSERT INTO thing_locations (thing_id, location_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, thing_id);
    st_bind_int64(s, 2, loc_id);
    rc = st_step(s, err);
    st_finalize(s);
    if (rc < 0 || st->ops->changes(st) == 0)
        return rc < 0 ? rc : 0;
    /* A new current location: the others become history, and the move is recorded. */
    rc = st_prepare_cached(st, SLOT_LOCATION_HISTORY_CLEAR,
                           "DELETE FROM thing_locations WHERE thing_id = ? AND location_id <> ?",
                           &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, thing_id);
    st_bind_int64(s, 2, loc_id);
    rc = st_step(s, err);
    st_finalize(s);
    if (rc < 0)
        return rc;
    rc = prepare_insert_id(st, SLOT_HISTORICAL_LOCATION,
                           "INSERT INTO historical_locations (thing_id, time) VALUES (?, ?)", &s,
                           err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, thing_id);
    st_bind_int64(s, 2, when);
    int64_t hl_id;
    rc = run_insert_id(st, s, 0, &hl_id, "historical location", err);
    if (rc)
        return rc;
    rc = st_prepare_cached(st, SLOT_HISTORICAL_LOCATION_LOCATION,
                           "INSERT INTO historical_location_locations (historical_location_id, "
                           "location_id) VALUES (?, ?)",
                           &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, hl_id);
    st_bind_int64(s, 2, loc_id);
    rc = st_step(s, err);
    st_finalize(s);
    return rc < 0 ? rc : 0;
}

int store_thing_has_location(struct store *st, int64_t thing_id, insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare(st, "SELECT 1 FROM thing_locations WHERE thing_id = ? LIMIT 1", &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, thing_id);
    rc = st_step(s, err);
    st_finalize(s);
    return rc;
}

int store_recompute_summary(struct store *st, int64_t ds, insitu_error *err)
{
    /* the count includes the rows whose summary the group still owes: that debt is paid */
    if (st->group) {
        int rc;
        struct summary_delta *e = sums_entry(&st->sums, ds, 0, &rc);
        if (rc)
            return insitu_error_set(err, rc, "out of memory");
        if (e)
            e->dropped = 1;
    }
    struct stmt *s;
    /* prepared once per connection: ingests call it per rewritten datastream */
    int rc = st_prepare_cached(st, SLOT_RECOMPUTE_SUMMARY,
                        "UPDATE datastreams SET (n_obs, phenomenon_start, phenomenon_end, "
                        "result_time_start, result_time_end) = (SELECT count(*), "
                        "min(phenomenon_start), max(coalesce(phenomenon_end, phenomenon_start)), "
                        "min(result_time), max(result_time) FROM observations WHERE "
                        "datastream_id = ?) WHERE id = ?",
                        &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, ds);
    st_bind_int64(s, 2, ds);
    rc = st_step(s, err);
    st_finalize(s);
    return rc < 0 ? rc : store_recompute_area(st, ds, err);
}

int store_recompute_area(struct store *st, int64_t ds, insitu_error *err)
{
    struct strbuf sql = {0};
    sb_puts(&sql, "UPDATE datastreams SET (area_xmin, area_ymin, area_xmax, area_ymax) = (");
    area_select(st->dialect, &sql, "SELECT feature_id FROM observations WHERE datastream_id = ?");
    sb_puts(&sql, ") WHERE id = ?");
    struct stmt *s = NULL;
    int rc = sql.data ? st_prepare_cached(st, SLOT_RECOMPUTE_AREA, sql.data, &s, err)
                      : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    sb_free(&sql);
    if (rc)
        return rc;
    st_bind_int64(s, 1, ds);
    st_bind_int64(s, 2, ds);
    rc = st_step(s, err);
    st_finalize(s);
    return rc < 0 ? rc : area_text(st, ds, err);
}

/* Recomputes the areas of the datastreams that sql (one int64 parameter) names. */
static int recompute_areas_of(struct store *st, const char *sql, int64_t param,
                              insitu_error *err)
{
    struct stmt *s;
    int rc = st_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, param);
    size_t n = 0, cap = 0;
    int64_t *ids = NULL;
    while ((rc = st_step(s, err)) == 1) {
        if (n == cap) {
            int64_t *p = realloc(ids, (cap = cap ? 2 * cap : 8) * sizeof *p);
            if (!p) {
                rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
                break;
            }
            ids = p;
        }
        ids[n++] = st_col_int64(s, 0);
    }
    st_finalize(s);
    for (size_t i = 0; rc >= 0 && i < n; i++)
        rc = store_recompute_area(st, ids[i], err);
    free(ids);
    return rc < 0 ? rc : 0;
}

int store_recompute_area_of_observation(struct store *st, int64_t obs_id, insitu_error *err)
{
    return recompute_areas_of(st, "SELECT datastream_id FROM observations WHERE id = ?", obs_id,
                              err);
}

int store_recompute_areas_of_feature(struct store *st, int64_t feature_id, insitu_error *err)
{
    return recompute_areas_of(st, "SELECT DISTINCT datastream_id FROM observations WHERE "
                                  "feature_id = ?",
                              feature_id, err);
}

/* Times a create is tried again when a concurrent one took the seq it read (PostgreSQL:
 * another transaction inserted at the same start and committed first). */
enum { CREATE_TRIES = 64 };

/* The INSERT of one new observation: seq is the next free one at its (datastream, start),
 * read in the same statement; the id is the backend's (given here, or the table's default
 * and returned). */
static int prepare_create(struct store *st, int numbered, struct stmt **out, insitu_error *err)
{
    char sql[640];
    snprintf(sql, sizeof sql,
             "INSERT INTO observations (datastream_id, phenomenon_start, seq, phenomenon_end, "
             "result_time, result, result_json, result_quality, quality_id, parameters, "
             "parameters_id, feature_id, run_id%s) VALUES (?, ?, (SELECT coalesce(max(seq) + "
             "1, 0) FROM observations WHERE datastream_id = ? AND phenomenon_start = ?), ?, ?, "
             "?, ?, ?, ?, ?, ?, ?, ?%s) ON CONFLICT DO NOTHING RETURNING id",
             numbered ? ", id" : "", numbered ? ", ?" : "");
    return st_prepare_cached(st, SLOT_CREATE_OBSERVATION, sql, out, err);
}

/* Binds an id, or NULL for 0 (none). */
static void bind_id(struct stmt *s, int idx, int64_t id)
{
    if (id)
        st_bind_int64(s, idx, id);
    else
        st_bind_null(s, idx);
}

static void bind_create(struct stmt *s, const struct obs_row *r, const int64_t *tid,
                        int64_t run_id, int64_t id)
{
    int i = 1;
    st_bind_int64(s, i++, r->datastream_id);
    st_bind_int64(s, i++, r->phenomenon_start);
    st_bind_int64(s, i++, r->datastream_id);
    st_bind_int64(s, i++, r->phenomenon_start);
    st_bind_time(s, i++, r->phenomenon_end);
    st_bind_time(s, i++, r->result_time);
    if (r->has_result)
        st_bind_double(s, i++, r->result);
    else
        st_bind_null(s, i++);
    st_bind_text(s, i++, r->result_json);
    st_bind_text(s, i++, tid[0] ? NULL : r->quality);
    bind_id(s, i++, tid[0]);
    st_bind_text(s, i++, tid[1] ? NULL : r->parameters);
    bind_id(s, i++, tid[1]);
    bind_id(s, i++, r->feature_id);
    st_bind_int64(s, i++, run_id);
    if (id)
        st_bind_int64(s, i, id);
}

int store_create_observations(struct store *st, const struct obs_row *rows, size_t n,
                              int64_t run_id, int64_t *ids, insitu_error *err)
{
    if (!n)
        return 0;
    int rc = 0;
    if (st->ops->reserve_times) { /* PostgreSQL: the years' partitions */
        int64_t *starts = malloc(n * sizeof *starts);
        if (!starts)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            starts[i] = rows[i].phenomenon_start;
        rc = st->ops->reserve_times(st, starts, n, err);
        free(starts);
    }
    const int64_t *tids = NULL;
    if (!rc)
        rc = store_text_ids(st, rows, n, &tids, err);
    int64_t first = 0;
    if (!rc && st->ops->observation_ids)
        rc = st->ops->observation_ids(st, n, &first, err);
    struct stmt *s = NULL;
    if (!rc)
        rc = prepare_create(st, first != 0, &s, err);
    for (size_t i = 0; !rc && i < n; i++) {
        int step = 0;
        for (int tries = 0; step == 0 && tries < CREATE_TRIES; tries++) {
            st_reset(s);
            bind_create(s, &rows[i], tids + 2 * i, run_id, first ? first + (int64_t)i : 0);
            step = st_step(s, err);
        }
        if (step == 1)
            ids[i] = st_col_int64(s, 0);
        else
            rc = step < 0 ? step
                          : insitu_error_set(err, INSITU_EBUSY,
                                             "observation of datastream %lld at %lld: other "
                                             "writers took %d places in turn; try again",
                                             (long long)rows[i].datastream_id,
                                             (long long)rows[i].phenomenon_start, CREATE_TRIES);
    }
    st_finalize(s);
    return rc;
}

int store_find_thing(struct store *st, const char *id_or_name, int64_t *id, insitu_error *err)
{
    int64_t numeric;
    struct stmt *s;
    int rc;
    if (parse_int64(id_or_name, strlen(id_or_name), &numeric) == 0) {
        rc = st_prepare_cached(st, SLOT_FIND_THING_ID, "SELECT id FROM things WHERE id = ?", &s,
                               err);
        if (rc)
            return rc;
        st_bind_int64(s, 1, numeric);
        rc = st_step(s, err);
        if (rc == 1)
            *id = st_col_int64(s, 0);
        st_finalize(s);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
        /* a numeric code (a SWOT reach_id) falls through to the name lookup */
    }
    rc = st_prepare_cached(st, SLOT_FIND_THING_NAME,
                           "SELECT id FROM things WHERE code = ? OR name = ? ORDER BY id LIMIT 2",
                           &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, id_or_name);
    st_bind_text(s, 2, id_or_name);
    int n = 0;
    while ((rc = st_step(s, err)) == 1) {
        if (n++ == 0)
            *id = st_col_int64(s, 0);
    }
    st_finalize(s);
    if (rc < 0)
        return rc;
    if (n == 0)
        return insitu_error_set(err, INSITU_ENOTFOUND, "thing '%s': no such thing", id_or_name);
    if (n > 1)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "thing '%s': several things have this name; give its id",
                                id_or_name);
    return 0;
}

int store_series_latest(struct store *st, const char *ns, const char *code,
                        const char *qualifier, int64_t *latest, insitu_error *err)
{
    *latest = INSITU_TIME_NONE;
    struct stmt *s;
    int rc = st_prepare(st,
                        "SELECT d.id FROM datastreams d JOIN things t ON t.id = d.thing_id WHERE "
                        "t.namespace = ? AND t.code = ? AND d.qualifier = ?",
                        &s, err);
    if (rc)
        return rc;
    st_bind_text(s, 1, ns);
    st_bind_text(s, 2, code);
    st_bind_text(s, 3, qualifier);
    int64_t ds = 0;
    rc = st_step(s, err);
    if (rc == 1)
        ds = st_col_int64(s, 0);
    st_finalize(s);
    if (rc <= 0)
        return rc;
    /* the last row of the series' range of the key: one seek */
    rc = st_prepare(st,
                    "SELECT phenomenon_start FROM observations WHERE datastream_id = ? ORDER BY "
                    "phenomenon_start DESC LIMIT 1",
                    &s, err);
    if (rc)
        return rc;
    st_bind_int64(s, 1, ds);
    rc = st_step(s, err);
    if (rc == 1)
        *latest = st_col_int64(s, 0);
    st_finalize(s);
    return rc < 0 ? rc : 0;
}
