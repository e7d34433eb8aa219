/*
 * batch.h: SensorThings batch requests (POST /v1.1/$batch, OGC 18-088
 * section 11): the OData 4.0 multipart/mixed body with its changesets, and the
 * OData 4.01 JSON batch body with its atomicity groups, parsed into requests;
 * their answers written in the same format; and the run of a batch, each
 * request through sta_handle(), each changeset one transaction. It never runs a
 * request itself: sta_handle() does, with every rule of a single request.
 */
#ifndef INSITU_STA_BATCH_H
#define INSITU_STA_BATCH_H

#include <stddef.h>

#include "insitu.h"
#include "sta.h"
#include "util.h"

/* The most requests one batch may hold (changesets' requests counted one by
 * one). */
#define STA_BATCH_MAX_REQUESTS 10000

enum batch_format { BATCH_NONE = -1, BATCH_MULTIPART = 0, BATCH_JSON = 1 };

/* One request of a batch. Its strings are owned by the batch. */
struct batch_req {
    char method[8];     /* upper case: GET, HEAD, POST, PATCH, PUT, DELETE */
    char *url;          /* as sent: absolute URL, absolute path, relative path or $id/... */
    char *id;           /* Content-ID (multipart) or id (JSON); NULL when none */
    char *content_type; /* of the body; NULL when none */
    char *body;         /* NULL when none */
    size_t body_len;
    size_t group;   /* 0: alone; else 1 + its changeset's (atomicity group's) index */
    char *where;    /* for messages: "part 2.1" (multipart) or "requests[3]" (JSON) */
    char **depends; /* JSON dependsOn: ids or atomicity groups of earlier requests */
    size_t n_depends;
};

struct batch {
    enum batch_format format;
    struct batch_req *reqs;
    size_t n, cap;
    char **groups; /* each group's name: JSON atomicityGroup, or "changeset N" */
    size_t n_groups;
};

/* The format a batch body of this Content-Type is read in, or BATCH_NONE. */
enum batch_format batch_format_of(const char *content_type);

/* Parses a batch body (not copied; the batch owns what it keeps) into b
 * (zero-initialised; free with batch_free even on failure). More than
 * max_requests requests is an error. On failure: INSITU_EINVAL, with a message
 * naming the part or the request ("part 3: ..."). */
int batch_parse(const char *content_type, const char *body, size_t len, size_t max_requests,
                struct batch *b, insitu_error *err);
void batch_free(struct batch *b);

/* The answer to a batch, written as the requests are answered. */
struct batch_answer {
    enum batch_format format;
    struct strbuf out;
    char boundary[48];    /* multipart: the answer's boundary */
    char cs_boundary[48]; /* multipart: the open changeset's */
    size_t n_changesets;
    size_t n_written; /* JSON: the responses written */
};

/* Starts an answer; seed makes the boundaries (any number that differs between
 * answers). */
void batch_answer_init(struct batch_answer *a, enum batch_format format, unsigned long seed);
/* Appends the response to request r: status, the Content-Type of the body
 * (NULL: none), Location ("" or NULL: none), body (may be NULL); group: its
 * atomicity group (JSON), or NULL. */
void batch_answer_put(struct batch_answer *a, const struct batch_req *r, const char *group,
                      int status, const char *content_type, const char *location, const char *body,
                      size_t body_len);
/* A changeset's responses go between these (multipart: one part holding them).
 */
void batch_changeset_open(struct batch_answer *a);
void batch_changeset_close(struct batch_answer *a);
/* Where the answer stands, and going back there (what a failed changeset wrote
 * is undone). */
struct batch_mark {
    size_t len, n_written;
};
struct batch_mark batch_answer_mark(const struct batch_answer *a);
void batch_answer_rewind(struct batch_answer *a, struct batch_mark m);
/* Ends the answer and gives its Content-Type (in *content_type, size bytes). */
void batch_answer_end(struct batch_answer *a, char *content_type, size_t size);
void batch_answer_free(struct batch_answer *a);

struct sta_conn;
/* Answers POST /v1.1/$batch (req->path is the batch's): runs its requests in
 * order through sta_handle(), each changeset (atomicity group) as one
 * transaction, and answers 200 with their responses in the batch's format; a
 * malformed batch is a 400 naming the part, a body of another type a 415, more
 * than STA_BATCH_MAX_REQUESTS requests a 413. */
void sta_batch(struct sta_conn *c, const struct sta_request *req, struct sta_response *resp,
               void (*handle)(struct sta_conn *, const struct sta_request *,
                              struct sta_response *));

#endif
