/*
 * fuzz_filter.c: the SensorThings query options (src/sta/filter.c): "$filter=...",
 * "$orderby=...", "$select=...", "$expand=...", "$top=..." and the others, one option per
 * input ("KEY=VALUE"), parsed and, when they parse, compiled to SQL for every entity type.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "fuzz.h"
#include "store.h"

static void compile(const struct sta_query *q, const struct sql_dialect *d)
{
    insitu_error err;
    for (int t = 0; t < STA_NTYPES; t++) {
        struct sqlfrag f = {0};
        if (q->filter)
            (void)filter_sql(q->filter, (enum sta_type)t, "e", d, 0, &f, &err);
        frag_reset(&f);
        int unique;
        if (q->n_orderby)
            (void)orderby_sql(q->orderby, q->n_orderby, (enum sta_type)t, "e", d, 0, &f, &unique,
                              &err);
        frag_free(&f);
    }
    for (int i = 0; i < q->n_expand; i++)
        compile(&q->expand[i].q, d);
    int64_t from, to;
    if (q->filter)
        (void)filter_time_range(q->filter, "phenomenonTime", &from, &to);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_text(data, size);
    char *eq = strchr(s, '=');
    const char *key = "$filter", *value = s;
    if (eq) {
        *eq = '\0';
        key = s;
        value = eq + 1;
    }
    struct sta_query q;
    sq_init(&q);
    insitu_error err;
    if (sq_parse_option(&q, key, value, 0, &err) == 0)
        compile(&q, fuzz_store()->base.dialect);
    sq_free(&q);
    free(s);
    return 0;
}
