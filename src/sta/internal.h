/*
 * internal.h: what the parts of the SensorThings server in src/sta/ share: the service and
 * connection structs, resolved resource paths and the statement cache (conn.c), the read
 * side's entry and entity answer (read.c), the write side's entry and changesets
 * (write.c). Private to src/sta/. The layers, each calling only those below it:
 * service.c (sta_handle) -> batch.c, read.c, write.c (-> patch.c, read.c) -> conn.c.
 */
#ifndef INSITU_STA_PRIV_H
#define INSITU_STA_PRIV_H

#include <pthread.h>

#include "filter.h"
#include "sta.h"
#include "entities.h"
#include "store.h"

struct sta_service {
    struct sta_config cfg;
    char *source;
    pthread_mutex_t lock;   /* guards run_id, and is held while the run is made */
    int64_t run_id;         /* provenance run of this service's writes, 0 until the first */
    int64_t started;        /* when the service started (µs): tells its run apart */
};

enum { STA_CACHE_SLOTS = 48 };

struct sta_cached {
    char *sql;
    struct stmt *s;
    uint64_t used;
    int busy;
};

struct sta_conn {
    struct sta_service *svc;
    struct store *st;
    struct sta_cached cache[STA_CACHE_SLOTS];
    uint64_t tick;
    int64_t now_us; /* the time of the request being handled */
    int changeset;  /* a $batch changeset holds the store transaction (sta_changeset_begin) */
    /* The changes a changeset's requests made, told to sta_config.on_change when it commits
     * (and forgotten when it rolls back): nobody hears of an entity that was rolled back. */
    struct sta_held_change {
        const char *set; /* static */
        int64_t id;
        int created;
        char *changed; /* NULL: all */
    } *held;
    size_t n_held, cap_held;
};

/* A resource path, resolved. */
enum sta_target_kind { TG_ROOT, TG_COLLECTION, TG_ENTITY, TG_PROPERTY, TG_CREATE_OBS };

struct sta_target {
    enum sta_target_kind kind;
    enum sta_type type;
    int64_t id;                  /* TG_ENTITY, TG_PROPERTY */
    int has_parent;              /* TG_COLLECTION reached through a navigation property */
    enum sta_type ptype;
    int64_t pid;
    const struct sta_nav *pnav;
    const struct sta_prop *prop; /* TG_PROPERTY */
    char sub[128];               /* unitOfMeasurement/<sub>, properties/<sub> */
    int value;                   /* .../$value */
    int ref;                     /* .../$ref */
    char path[512];              /* the path after the version, for links */
};

/* ---- conn.c ---- */

/* Prepares sql once per connection and hands it out again; release it with sta_release(). */
int sta_prepare(struct sta_conn *c, const char *sql, struct stmt **out, insitu_error *err);
void sta_release(struct sta_conn *c, struct stmt *s);

/* Resolves a path (after the version) into t, checking that the entities it goes through
 * exist; on failure fills resp (400/404) and returns nonzero. */
int sta_resolve(struct sta_conn *c, const char *path, struct sta_target *t,
                struct sta_response *resp);

/* The HTTP status for an insitu error code. */
int sta_status_of(int code);

/* ---- read.c ---- */

/* GET or HEAD of a resolved target; base is the links' start ("<base>/v1.1"). */
void sta_read(struct sta_conn *c, const struct sta_request *req, const struct sta_target *t,
              const char *base, struct sta_response *resp);

/* Appends the links' start: the request's base and the version path. */
void sta_base_of(struct strbuf *sb, const char *base);

/* Writes entity (type, id) as JSON (all properties, navigation links) into resp with
 * status; 404 when it does not exist. */
void sta_write_entity_response(struct sta_conn *c, enum sta_type type, int64_t id,
                               const char *base, int status, struct sta_response *resp);

/* ---- write.c ---- */

/* The write side: POST, PATCH, PUT, DELETE on a resolved target. */
void sta_write(struct sta_conn *c, const struct sta_request *req, const struct sta_target *t,
               struct sta_response *resp);

/* A $batch changeset (batch.c): opens one transaction on c that the writes up to
 * sta_changeset_end() share (sta_write neither begins nor ends it); the provenance run is made
 * first, outside it. sta_changeset_end commits when commit is not 0 (on failure, it rolls
 * back and returns the error), else rolls back. */
int sta_changeset_begin(struct sta_conn *c, insitu_error *err);
int sta_changeset_end(struct sta_conn *c, int commit, insitu_error *err);

#endif
