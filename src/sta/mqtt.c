/*
 * mqtt.c: the SensorThings MQTT extension over an external broker (see mqtt.h). Three kinds
 * of thread meet here: the writers (HTTP workers, an ingest) only queue jobs; libmosquitto's
 * network thread only queues what arrives; the module's own thread takes the jobs, reads and
 * writes through its own store connection and publishes (QoS 0). It never blocks a writer:
 * a full queue, or a broker that does not keep up, drops messages and counts them.
 */
#include "mqtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "entities.h"
#include "store.h"
#include "util.h"

enum {
    QUEUE_MAX = 100000,    /* jobs waiting; past it a change is dropped (counted) */
    OUTGOING_MAX = 20000,  /* messages handed to libmosquitto but not yet sent */
    SELECTS_MAX = 256,     /* distinct $select topics answered */
    RUN_PAGE = 1000        /* observation ids read at a time from an ingest run */
};

/* The retained topic where the $select topics learnt are kept for the next process. */
#define SELECTS_TOPIC "insitu/mqtt/selects"
#define SUBSCRIBE_LOG_TOPIC "$SYS/broker/log/M/subscribe"

enum job_kind { JOB_CHANGE, JOB_CREATE, JOB_RUN, JOB_SELECTS };

struct job {
    enum job_kind kind;
    enum sta_type type;
    int64_t id;       /* the entity; the run of JOB_RUN */
    int created;
    char *text;       /* JOB_CHANGE: properties changed (NULL: all); JOB_CREATE: topic;
                         JOB_SELECTS: the retained list */
    char *payload;    /* JOB_CREATE */
    size_t payload_len;
    struct job *next;
};

struct mqtt {
    struct mqtt_config cfg;
    char *url, *base, *writer;
    struct mosquitto *mosq;
    insitu_store *st;
    struct sta_service *svc;
    struct sta_conn *conn;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;   /* guards the queue, stop, busy and the selects */
    pthread_cond_t cond;
    struct job *head, *tail;
    size_t queued;
    int stop, busy;
    char *selects[SELECTS_MAX]; /* "v1.1/Observations?$select=result" */
    size_t n_selects;
    atomic_int connected;
    /* the SUBACK of a last subscription made after the retained list's: the broker sends the
     * retained list before it, so once it came, the list was learnt (connect_broker waits) */
    atomic_int sync_mid, synced;
    atomic_long outgoing;
    atomic_ullong published, dropped;
};

static void mlog(struct mqtt *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mlog(struct mqtt *m, const char *fmt, ...)
{
    if (!m->cfg.log)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    m->cfg.log(m->cfg.log_ctx, line);
}

/* ==== topics ==== */

int mqtt_parse_url(const char *url, char *host, size_t size, int *port)
{
    if (strncmp(url, "mqtt://", 7))
        return -1;
    const char *h = url + 7, *end = h + strcspn(h, "/");
    if (*end && end[1])
        return -1;
    const char *colon = memchr(h, ':', (size_t)(end - h));
    *port = 1883;
    if (colon) {
        int64_t p;
        if (parse_int64(colon + 1, (size_t)(end - colon - 1), &p) || p < 1 || p > 65535)
            return -1;
        *port = (int)p;
    } else {
        colon = end;
    }
    if ((size_t)(colon - h) >= size)
        return -1;
    snprintf(host, size, "%.*s", (int)(colon - h), h);
    if (!*host)
        snprintf(host, size, "127.0.0.1");
    return 0;
}

int mqtt_topic_parse(const char *topic, char *path, size_t path_size, char *select,
                     size_t select_size)
{
    if (strncmp(topic, "v1.1/", 5) || strpbrk(topic, "#+"))
        return -1;
    const char *q = strchr(topic, '?');
    size_t n = q ? (size_t)(q - topic) : strlen(topic);
    if (n + 2 > path_size || n <= 5)
        return -1;
    snprintf(path, path_size, "/%.*s", (int)n, topic);
    select[0] = '\0';
    if (!q)
        return 0;
    if (strncmp(q + 1, "$select=", 8) || !q[9] || strchr(q + 9, '&') ||
        strlen(q + 9) >= select_size)
        return -1;
    snprintf(select, select_size, "%s", q + 9);
    return 0;
}

int mqtt_is_create_topic(const char *topic)
{
    if (strcmp(topic, "v1.1/Observations") == 0)
        return 1;
    const char *p = "v1.1/Datastreams(", *mp = "v1.1/MultiDatastreams(";
    if (strncmp(topic, mp, strlen(mp)) == 0)
        p = mp;
    else if (strncmp(topic, p, strlen(p)))
        return 0;
    const char *digits = topic + strlen(p), *close = strchr(digits, ')');
    int64_t id;
    return close && close > digits && !parse_int64(digits, (size_t)(close - digits), &id) &&
           id > 0 && strcmp(close, ")/Observations") == 0;
}

int mqtt_select_from_log(const char *line, size_t len, char *topic, size_t size)
{
    /* "TIME: CLIENT QOS TOPIC": the client id may hold spaces, the topic starts with v1.1/ */
    static const char *const marks[] = {" 0 v1.1/", " 1 v1.1/", " 2 v1.1/"};
    char buf[1024];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    const char *start = NULL;
    for (int i = 0; i < 3; i++) {
        const char *s = strstr(buf, marks[i]);
        if (s && (!start || s < start))
            start = s;
    }
    if (!start)
        return -1;
    start += 3;
    char path[512], select[512];
    if (mqtt_topic_parse(start, path, sizeof path, select, sizeof select) || !select[0] ||
        strlen(start) >= size)
        return -1;
    snprintf(topic, size, "%s", start);
    return 0;
}

/* ==== the queue ==== */

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->text);
    free(j->payload);
    free(j);
}

/* Queues j (taking it); a full queue drops it. */
static void push(struct mqtt *m, struct job *j)
{
    pthread_mutex_lock(&m->lock);
    if (m->queued >= QUEUE_MAX || m->stop) {
        pthread_mutex_unlock(&m->lock);
        atomic_fetch_add(&m->dropped, 1);
        job_free(j);
        return;
    }
    if (m->tail)
        m->tail->next = j;
    else
        m->head = j;
    m->tail = j;
    m->queued++;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

static struct job *job_new(enum job_kind kind)
{
    struct job *j = calloc(1, sizeof *j);
    if (j)
        j->kind = kind;
    return j;
}

void mqtt_on_change(void *ctx, const struct sta_change *ch)
{
    struct mqtt *m = ctx;
    int t = sta_type_by_set(ch->set, strlen(ch->set));
    struct job *j = t >= 0 && ch->id > 0 ? job_new(JOB_CHANGE) : NULL;
    if (!j) {
        atomic_fetch_add(&m->dropped, 1);
        return;
    }
    j->type = (enum sta_type)t;
    j->id = ch->id;
    j->created = ch->created;
    j->text = ch->changed ? strdup(ch->changed) : NULL;
    push(m, j);
}

void mqtt_run_written(struct mqtt *m, int64_t run_id)
{
    struct job *j = m && run_id > 0 ? job_new(JOB_RUN) : NULL;
    if (!j)
        return;
    j->id = run_id;
    push(m, j);
}

/* ==== publishing ==== */

static void publish(struct mqtt *m, const char *topic, const char *payload, size_t len,
                    int retain)
{
    /* the network thread sends; wait a little for it when it is behind, then drop */
    for (int i = 0; atomic_load(&m->outgoing) >= OUTGOING_MAX && i < 200; i++) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&m->outgoing) >= OUTGOING_MAX || !atomic_load(&m->connected)) {
        atomic_fetch_add(&m->dropped, 1);
        return;
    }
    atomic_fetch_add(&m->outgoing, 1);
    int rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, 0, retain, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        atomic_fetch_sub(&m->outgoing, 1);
        atomic_fetch_add(&m->dropped, 1);
    }
}

/* GET path (with $select when select is not NULL) through the module's connection; the
 * JSON answer in *out (owned by the caller), or NULL when it is not a 200. */
static char *get(struct mqtt *m, const char *path, const char *select, const char *expand)
{
    struct sta_param params[2];
    size_t n = 0;
    if (select)
        params[n++] = (struct sta_param){"$select", select};
    if (expand)
        params[n++] = (struct sta_param){"$expand", expand};
    struct sta_request req = {.method = "GET", .path = path, .params = params, .nparams = n,
                              .base = m->base};
    struct sta_response resp = {0};
    sta_handle(m->conn, &req, &resp);
    if (resp.status != 200) {
        sta_response_free(&resp);
        return NULL;
    }
    return resp.body.data; /* taken from the response */
}

/* Publishes body (the GET answer of path) to topic, and the GET answer of path with the
 * $select of every $select topic learnt for topic to that topic. */
static void publish_to(struct mqtt *m, const char *path, const char *body, const char *topic)
{
    publish(m, topic, body, strlen(body), 0);
    size_t tlen = strlen(topic);
    pthread_mutex_lock(&m->lock);
    size_t n = m->n_selects;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        const char *s = m->selects[i]; /* entries are only ever added, below n stays */
        if (strncmp(s, topic, tlen) || s[tlen] != '?')
            continue;
        char *sel = get(m, path, s + tlen + 9, NULL);
        if (sel)
            publish(m, s, sel, strlen(sel), 0);
        free(sel);
    }
}

/* Publishes the GET answer of path to topic and its $select topics. */
static void publish_get(struct mqtt *m, const char *path, const char *topic)
{
    char *body = get(m, path, NULL, NULL);
    if (body)
        publish_to(m, path, body, topic);
    free(body);
}

/* The type whose navigation property lists entities of type t from a parent of type
 * parent ("Datastreams" of a Thing for a Datastream), or NULL. */
static const struct sta_nav *back_nav(enum sta_type parent, enum sta_type t)
{
    const struct sta_type_def *def = sta_type_def(parent);
    for (int i = 0; i < def->nnavs; i++)
        if (def->navs[i].many && def->navs[i].target == t)
            return &def->navs[i];
    return NULL;
}

/* Publishes a created or updated entity: its entity set (created), the collections of its
 * parents that list it (created), the entity, and the properties changed (updated). */
static void publish_change(struct mqtt *m, const struct job *j)
{
    const struct sta_type_def *def = sta_type_def(j->type);
    char path[512], topic[512];
    snprintf(path, sizeof path, "%s/%s(%lld)", STA_VERSION_PATH, def->set, (long long)j->id);
    /* the entity's answer is the same on every topic that lists it: read it once */
    char *body = get(m, path, NULL, NULL);
    if (!body)
        return;
    if (j->created) {
        /* the parents' ids: $expand of every to-one navigation property, ids only */
        struct strbuf expand = {0};
        for (int i = 0; i < def->nnavs; i++)
            if (!def->navs[i].many && back_nav(def->navs[i].target, j->type))
                sb_printf(&expand, "%s%s($select=id)", expand.len ? "," : "", def->navs[i].name);
        char *ids = expand.len ? get(m, path, "id", sb_str(&expand)) : NULL;
        json_t *o = ids ? json_loads(ids, 0, NULL) : NULL;
        snprintf(topic, sizeof topic, "v1.1/%s", def->set);
        publish_to(m, path, body, topic);
        for (int i = 0; o && i < def->nnavs; i++) {
            const struct sta_nav *nav = &def->navs[i];
            const struct sta_nav *back = nav->many ? NULL : back_nav(nav->target, j->type);
            json_t *parent = back ? json_object_get(o, nav->name) : NULL;
            json_t *pid = parent ? json_object_get(parent, "@iot.id") : NULL;
            if (!json_is_integer(pid))
                continue;
            snprintf(topic, sizeof topic, "v1.1/%s(%lld)/%s", sta_type_def(nav->target)->set,
                     (long long)json_integer_value(pid), back->name);
            publish_to(m, path, body, topic);
        }
        json_decref(o);
        free(ids);
        sb_free(&expand);
    }
    snprintf(topic, sizeof topic, "%s", path + 1);
    publish_to(m, path, body, topic);
    free(body);
    if (j->created)
        return;
    for (int i = 1; i < def->nprops; i++) {
        const char *name = def->props[i].name;
        const char *c = j->text;
        size_t len = strlen(name);
        int changed = !c;
        while (c && !changed) {
            changed = strncmp(c, name, len) == 0 && (c[len] == ',' || !c[len]);
            c = strchr(c, ',');
            c = c ? c + 1 : NULL;
        }
        if (!changed)
            continue;
        char ppath[600], ptopic[600];
        snprintf(ppath, sizeof ppath, "%s/%s", path, name);
        snprintf(ptopic, sizeof ptopic, "%s/%s", topic, name);
        publish_get(m, ppath, ptopic);
    }
}

/* Publishes an Observation an ingest created, its parents known (feature 0: none): what
 * publish_change does for a created entity, without asking for them. */
static void publish_observation(struct mqtt *m, int64_t id, const char *ds_set, int64_t ds,
                                int64_t feature)
{
    char path[128], topic[160];
    snprintf(path, sizeof path, "%s/Observations(%lld)", STA_VERSION_PATH, (long long)id);
    char *body = get(m, path, NULL, NULL);
    if (!body)
        return;
    publish_to(m, path, body, "v1.1/Observations");
    snprintf(topic, sizeof topic, "v1.1/%s(%lld)/Observations", ds_set, (long long)ds);
    publish_to(m, path, body, topic);
    if (feature) {
        snprintf(topic, sizeof topic, "v1.1/FeaturesOfInterest(%lld)/Observations",
                 (long long)feature);
        publish_to(m, path, body, topic);
    }
    publish_to(m, path, body, path + 1);
    free(body);
}

/* Publishes the Observations an ingest run wrote, datastream by datastream, in pages. */
static void publish_run(struct mqtt *m, int64_t run_id)
{
    insitu_error err = {0};
    struct stmt *ds_stmt = NULL, *obs = NULL;
    int rc = st_prepare(&m->st->base, "SELECT r.datastream_id, d.multi FROM run_datastreams r "
                               "JOIN datastreams d ON d.id = r.datastream_id WHERE r.run_id = ? "
                               "ORDER BY r.datastream_id",
                        &ds_stmt, &err);
    if (!rc)
        rc = st_prepare(&m->st->base, "SELECT id, phenomenon_start, feature_id FROM observations "
                               "WHERE datastream_id = ? AND run_id = ? AND phenomenon_start > ? "
                               "ORDER BY phenomenon_start LIMIT 1000",
                        &obs, &err);
    /* the page: (id, feature id) pairs */
    int64_t *ids = rc ? NULL : malloc(2 * RUN_PAGE * sizeof *ids);
    if (!rc && !ids)
        rc = INSITU_ENOMEM;
    if (!rc)
        rc = st_bind_int64(ds_stmt, 1, run_id);
    while (!rc && (rc = st_step(ds_stmt, &err)) == 1) {
        int64_t ds = st_col_int64(ds_stmt, 0), after = INT64_MIN + 1, n;
        const char *ds_set = st_col_int64(ds_stmt, 1) ? "MultiDatastreams" : "Datastreams";
        rc = 0;
        do {
            n = 0;
            st_reset(obs);
            st_bind_int64(obs, 1, ds);
            st_bind_int64(obs, 2, run_id);
            st_bind_time(obs, 3, after);
            /* the page is read whole before the entities are: one statement at a time */
            while ((rc = st_step(obs, &err)) == 1 && n < RUN_PAGE) {
                ids[2 * n] = st_col_int64(obs, 0);
                ids[2 * n + 1] = st_col_int64(obs, 2); /* 0 for NULL */
                n++;
                after = st_col_time(obs, 1);
            }
            st_reset(obs);
            if (rc < 0)
                break;
            rc = 0;
            for (int64_t i = 0; i < n; i++)
                publish_observation(m, ids[2 * i], ds_set, ds, ids[2 * i + 1]);
        } while (n == RUN_PAGE);
    }
    if (rc < 0)
        mlog(m, "mqtt: publishing ingest run %lld: %s", (long long)run_id, err.message);
    free(ids);
    st_finalize(obs);
    st_finalize(ds_stmt);
}

/* ==== creates, and the $select topics learnt ==== */

static void do_create(struct mqtt *m, const struct job *j)
{
    char path[512], select[8];
    if (mqtt_topic_parse(j->text, path, sizeof path, select, sizeof select))
        return;
    struct sta_request req = {.method = "POST", .path = path, .body = j->payload,
                              .body_len = j->payload_len, .base = m->base, .user = m->writer,
                              .content_type = "application/json"};
    struct sta_response resp = {0};
    sta_handle(m->conn, &req, &resp);
    if (resp.status != 201)
        mlog(m, "mqtt: create on %s refused (%d): %s", j->text, resp.status,
             sb_str(&resp.body));
    sta_response_free(&resp);
}

/* Adds a $select topic (copied); 1 when it was new. */
static int add_select(struct mqtt *m, const char *topic)
{
    int added = 0;
    pthread_mutex_lock(&m->lock);
    size_t i = 0;
    while (i < m->n_selects && strcmp(m->selects[i], topic))
        i++;
    if (i == m->n_selects && i < SELECTS_MAX) {
        m->selects[m->n_selects++] = xstrdup(topic);
        added = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return added;
}

/* Publishes the list of $select topics known, retained, for the next process. */
static void publish_selects(struct mqtt *m)
{
    json_t *a = json_array();
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_selects; i++)
        json_array_append_new(a, json_string(m->selects[i]));
    pthread_mutex_unlock(&m->lock);
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (text)
        publish(m, SELECTS_TOPIC, text, strlen(text), 1);
    free(text);
}

static void learn_selects(struct mqtt *m, const char *list)
{
    json_t *a = json_loads(list, 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char path[512], select[512];
        if (json_is_string(v) &&
            !mqtt_topic_parse(json_string_value(v), path, sizeof path, select, sizeof select) &&
            select[0])
            add_select(m, json_string_value(v));
    }
    json_decref(a);
}

static void *worker(void *arg)
{
    struct mqtt *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        while (!m->head && !m->stop)
            pthread_cond_wait(&m->cond, &m->lock);
        struct job *j = m->head;
        if (!j) {
            pthread_mutex_unlock(&m->lock);
            break;
        }
        m->head = j->next;
        if (!m->head)
            m->tail = NULL;
        m->queued--;
        m->busy = 1;
        pthread_mutex_unlock(&m->lock);
        switch (j->kind) {
        case JOB_CHANGE: publish_change(m, j); break;
        case JOB_CREATE: do_create(m, j); break;
        case JOB_RUN: publish_run(m, j->id); break;
        case JOB_SELECTS:
            if (add_select(m, j->text))
                publish_selects(m);
            break;
        }
        job_free(j);
        pthread_mutex_lock(&m->lock);
        m->busy = 0;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
    }
    return NULL;
}

/* ==== libmosquitto's callbacks (its network thread) ==== */

static void on_connect(struct mosquitto *mosq, void *ctx, int rc)
{
    struct mqtt *m = ctx;
    if (rc) {
        mlog(m, "mqtt: %s refused the connection: %s", m->url, mosquitto_connack_string(rc));
        return;
    }
    atomic_store(&m->connected, 1);
    /* no-local: the server's own publications on the create topics are not creates */
    int opts = MQTT_SUB_OPT_NO_LOCAL;
    if (m->cfg.creates) {
        mosquitto_subscribe_v5(mosq, NULL, "v1.1/Observations", 0, opts, NULL);
        /* "+" takes a whole level: on_message keeps Datastreams(N) */
        mosquitto_subscribe_v5(mosq, NULL, "v1.1/+/Observations", 0, opts, NULL);
    }
    mosquitto_subscribe_v5(mosq, NULL, SUBSCRIBE_LOG_TOPIC, 0, opts, NULL);
    mosquitto_subscribe_v5(mosq, NULL, SELECTS_TOPIC, 0, opts, NULL);
    char sync[128];
    int mid = 0;
    snprintf(sync, sizeof sync, "insitu/mqtt/sync/%ld", (long)getpid());
    atomic_store(&m->synced, 0);
    if (mosquitto_subscribe_v5(mosq, &mid, sync, 0, opts, NULL) == MOSQ_ERR_SUCCESS)
        atomic_store(&m->sync_mid, mid);
}

static void on_subscribe(struct mosquitto *mosq, void *ctx, int mid, int qos_count,
                         const int *granted_qos)
{
    (void)mosq;
    (void)qos_count;
    (void)granted_qos;
    struct mqtt *m = ctx;
    if (mid == atomic_load(&m->sync_mid))
        atomic_store(&m->synced, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *ctx, int rc)
{
    (void)mosq;
    struct mqtt *m = ctx;
    atomic_store(&m->connected, 0);
    if (rc)
        mlog(m, "mqtt: lost the connection to %s; reconnecting", m->url);
}

static void on_publish(struct mosquitto *mosq, void *ctx, int mid)
{
    (void)mosq;
    (void)mid;
    struct mqtt *m = ctx;
    atomic_fetch_sub(&m->outgoing, 1);
    atomic_fetch_add(&m->published, 1);
}

static void on_message(struct mosquitto *mosq, void *ctx, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct mqtt *m = ctx;
    char topic[512];
    struct job *j = NULL;
    if (strcmp(msg->topic, SUBSCRIBE_LOG_TOPIC) == 0) {
        if (!mqtt_select_from_log(msg->payload, (size_t)msg->payloadlen, topic, sizeof topic) &&
            (j = job_new(JOB_SELECTS)))
            j->text = xstrdup(topic);
    } else if (strcmp(msg->topic, SELECTS_TOPIC) == 0) {
        char *list = malloc((size_t)msg->payloadlen + 1);
        if (list) {
            memcpy(list, msg->payload, (size_t)msg->payloadlen);
            list[msg->payloadlen] = '\0';
            learn_selects(m, list);
        }
        free(list);
    } else if (m->cfg.creates && mqtt_is_create_topic(msg->topic) &&
               (j = job_new(JOB_CREATE))) {
        j->text = xstrdup(msg->topic);
        j->payload = malloc((size_t)msg->payloadlen + 1);
        if (j->payload) {
            memcpy(j->payload, msg->payload, (size_t)msg->payloadlen);
            j->payload[msg->payloadlen] = '\0';
            j->payload_len = (size_t)msg->payloadlen;
        }
    }
    if (j)
        push(m, j);
}

/* ==== starting and stopping ==== */

static void mqtt_free(struct mqtt *m)
{
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    sta_conn_free(m->conn);
    sta_service_free(m->svc, m->st);
    insitu_store_close(m->st);
    for (struct job *j = m->head, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    for (size_t i = 0; i < m->n_selects; i++)
        free(m->selects[i]);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m->url);
    free(m->base);
    free(m->writer);
    free(m);
}

static int connect_broker(struct mqtt *m, insitu_error *err)
{
    char host[256], id[64];
    int port;
    if (mqtt_parse_url(m->url, host, sizeof host, &port))
        return insitu_error_set(err, INSITU_EUSAGE, "--mqtt %s: expected mqtt://HOST[:PORT]",
                                m->url);
    snprintf(id, sizeof id, "%s-%ld", m->cfg.client_id ? m->cfg.client_id : "insitu",
             (long)getpid());
    m->mosq = mosquitto_new(id, true, m);
    if (!m->mosq)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_message_callback_set(m->mosq, on_message);
    mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
    mosquitto_reconnect_delay_set(m->mosq, 1, 30, true);
    if (m->cfg.user)
        mosquitto_username_pw_set(m->mosq, m->cfg.user, m->cfg.password);
    int rc = mosquitto_connect(m->mosq, host, port, 30);
    if (rc != MOSQ_ERR_SUCCESS)
        return insitu_error_set(err, INSITU_EIO, "cannot connect to the MQTT broker %s: %s",
                                m->url,
                                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    rc = mosquitto_loop_start(m->mosq);
    if (rc != MOSQ_ERR_SUCCESS)
        return insitu_error_set(err, INSITU_EIO, "%s: %s", m->url, mosquitto_strerror(rc));
    /* the CONNACK: a broker that refuses (bad password) is an error at start too */
    for (int i = 0; i < 100 && !atomic_load(&m->connected); i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!atomic_load(&m->connected)) {
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_stop(m->mosq, true);
        return insitu_error_set(err, INSITU_EIO, "the MQTT broker %s did not accept the "
                                                 "connection (see its log: credentials?)",
                                m->url);
    }
    /* the $select topics a server learnt before this process started (retained) */
    for (int i = 0; i < 100 && !atomic_load(&m->synced); i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void lib_init(void) { mosquitto_lib_init(); }

int mqtt_start(const struct mqtt_config *cfg, struct mqtt **out, insitu_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, lib_init);
    *out = NULL;
    struct mqtt *m = calloc(1, sizeof *m);
    if (!m)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    m->cfg = *cfg;
    m->url = xstrdup(cfg->url);
    m->base = xstrdup("");
    m->writer = xstrdup(cfg->writer ? cfg->writer : "mqtt");
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    int rc = insitu_store_open(cfg->store_uri, cfg->creates ? 0 : INSITU_OPEN_READONLY, &m->st,
                               err);
    if (!rc) {
        struct sta_config sc = {0};
        sc.source = cfg->url; /* creates through MQTT are a run of their own */
        sc.on_change = mqtt_on_change;
        sc.on_change_ctx = m;
        rc = sta_service_new(&sc, &m->svc, err);
    }
    if (!rc)
        rc = sta_conn_new(m->svc, m->st, &m->conn, err);
    if (!rc)
        rc = connect_broker(m, err);
    if (rc) {
        if (m->mosq && atomic_load(&m->connected)) {
            mosquitto_disconnect(m->mosq);
            mosquitto_loop_stop(m->mosq, true);
        }
        mqtt_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int mqtt_begin(struct mqtt *m, const char *base, insitu_error *err)
{
    free(m->base);
    m->base = xstrdup(base ? base : "");
    if (pthread_create(&m->thread, NULL, worker, m))
        return insitu_error_set(err, INSITU_EIO, "cannot start the MQTT thread");
    m->thread_started = 1;
    return 0;
}

void mqtt_stop(struct mqtt *m, double grace_seconds, uint64_t *published, uint64_t *dropped)
{
    if (!m)
        return;
    double until = now_seconds() + grace_seconds;
    pthread_mutex_lock(&m->lock);
    while ((m->head || m->busy) && now_seconds() < until) {
        pthread_mutex_unlock(&m->lock);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&m->lock);
    }
    m->stop = 1;
    for (struct job *j = m->head, *next; j; j = next) {
        next = j->next;
        job_free(j);
        atomic_fetch_add(&m->dropped, 1);
    }
    m->head = m->tail = NULL;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    if (m->thread_started)
        pthread_join(m->thread, NULL);
    while (atomic_load(&m->outgoing) > 0 && atomic_load(&m->connected) &&
           now_seconds() < until + 1) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    mosquitto_disconnect(m->mosq);
    mosquitto_loop_stop(m->mosq, true);
    if (published)
        *published = atomic_load(&m->published);
    if (dropped)
        *dropped = atomic_load(&m->dropped) + (uint64_t)atomic_load(&m->outgoing);
    mqtt_free(m);
}
