/*
 * fuzz_batch.c: SensorThings $batch bodies (src/sta/batch.c): OData multipart/mixed with
 * changesets and the JSON batch format. The input's first line is the Content-Type, the
 * rest the body; the answer writer is run over what parsed.
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    char *ctype = fuzz_text(data, (size_t)(nl - data));
    const char *body = (const char *)nl + 1;
    size_t len = size - (size_t)(nl - data) - 1;
    /* the body is not NUL-terminated: a copy of exactly len bytes shows reads past its end */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, body, len);
    struct batch b = {0};
    insitu_error err;
    if (batch_parse(ctype, copy, len, 100, &b, &err) == 0) {
        struct batch_answer a;
        batch_answer_init(&a, b.format, 1);
        for (size_t i = 0; i < b.n; i++) {
            const struct batch_req *r = &b.reqs[i];
            if (i == 0 || r->group != b.reqs[i - 1].group) {
                if (i && b.reqs[i - 1].group)
                    batch_changeset_close(&a);
                if (r->group)
                    batch_changeset_open(&a);
            }
            const char *group = r->group ? b.groups[r->group - 1] : NULL;
            batch_answer_put(&a, r, group, 200, r->content_type, r->url, r->body, r->body_len);
        }
        if (b.n && b.reqs[b.n - 1].group)
            batch_changeset_close(&a);
        char ct[128];
        batch_answer_end(&a, ct, sizeof ct);
        batch_answer_free(&a);
    }
    batch_free(&b);
    free(copy);
    free(ctype);
    return 0;
}
