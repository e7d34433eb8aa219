/*
 * mqtt.h: the SensorThings MQTT extension (OGC 18-088 section 14) over an existing broker
 * (mosquitto): after a write commits, the entity is published, as a GET answers it, to every
 * topic that names it; Observations published by clients to the create topics are written
 * through the same code as a POST. It never runs inside a write's transaction and never makes
 * a caller wait for the broker: changes are queued (bounded) and handled on a thread of its
 * own, with a store connection of its own.
 */
#ifndef INSITU_MQTT_H
#define INSITU_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include "insitu.h"
#include "sta.h"

struct mqtt_config {
    const char *url;       /* mqtt://HOST[:PORT] (1883) of the broker */
    const char *store_uri; /* the store, opened once more for the module's own thread */
    const char *client_id; /* prefix of the client id ("insitu-serve") */
    const char *user;      /* broker account (NULL: anonymous) and its password */
    const char *password;
    int creates;           /* subscribe to the create topics and write what arrives */
    const char *writer;    /* who writes those creates (provenance), e.g. "mqtt" */
    /* Logs one line (errors of MQTT creates, connection changes); may be NULL. */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
};

struct mqtt;

/* Connects to the broker (failing, with the URL named, when it cannot) and opens the
 * module's store connection. What arrives waits in the queue until mqtt_begin. */
int mqtt_start(const struct mqtt_config *cfg, struct mqtt **out, insitu_error *err);
/* Starts the module's thread; links in messages start with base (NULL: "", relative). */
int mqtt_begin(struct mqtt *m, const char *base, insitu_error *err);

/* An sta_config.on_change callback (ctx: the struct mqtt): queues the publication of a
 * change; never blocks (a full queue drops it and counts it). */
void mqtt_on_change(void *ctx, const struct sta_change *ch);

/* Queues the publication of the Observations ingest run run_id wrote (after its commit). */
void mqtt_run_written(struct mqtt *m, int64_t run_id);

/* Waits at most grace_seconds for the queue to empty and the messages to be sent, then
 * disconnects and frees. *published and *dropped (may be NULL) receive the counts. NULL is a
 * no-op. */
void mqtt_stop(struct mqtt *m, double grace_seconds, uint64_t *published, uint64_t *dropped);

/* ---- topics (exposed for the tests) ---- */

/* Parses a SensorThings topic ("v1.1/Things(1)/properties", "v1.1/Observations?$select=a,b")
 * into the request path ("/v1.1/Things(1)/properties") and the $select value ("" when none).
 * Returns 0, or -1 when it is not such a topic (another version, wildcards, another query
 * option, too long). */
int mqtt_topic_parse(const char *topic, char *path, size_t path_size, char *select,
                     size_t select_size);

/* 1 when topic is a create topic: "v1.1/Observations" or "v1.1/Datastreams(N)/Observations". */
int mqtt_is_create_topic(const char *topic);

/* Reads a subscribe line of mosquitto's log ("1700000000: CLIENT 0 TOPIC", published on
 * $SYS/broker/log/M/subscribe with `log_dest topic`): the SensorThings topic subscribed to
 * with a $select, copied into topic. Returns 0, or -1 when the line is not one. */
int mqtt_select_from_log(const char *line, size_t len, char *topic, size_t size);

/* Splits mqtt://[HOST][:PORT] into host and port. Returns 0, or -1. */
int mqtt_parse_url(const char *url, char *host, size_t size, int *port);

#endif
