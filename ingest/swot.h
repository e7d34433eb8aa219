/*
 * swot.h: what the SWOT vector product ingesters (swot_river.c, swot_lake.c) share: the
 * product reader (file name, .shp.xml metadata, features through OGR) and the mapping to
 * the data model described in docs/formats.md. Product specifics are a table, not code.
 */
#ifndef INSITU_SWOT_H
#define INSITU_SWOT_H

#include "ingest.h"

/* One product file type: "L2_HR_RiverSP" + "Reach", ... */
struct swot_kind {
    const char *short_name;  /* L2_HR_RiverSP, L2_HR_LakeSP */
    const char *file_id;     /* Reach, Node, Prior, Obs, Unassigned */
    const char *ns;          /* Thing namespace (docs/formats.md) */
    const char *key_field;   /* the feature's id field */
    const char *alt_key;     /* a second id field tried when key_field is absent, or NULL */
    /* Quality fields that qualify every measurement of a feature (when present). */
    const char *const *summary_flags;
};

/* The name parts of a SWOT product file: SWOT_<short>_<file_id>_<cycle>_<pass>_<tile>_
 * <start>_<end>_<crid>_<counter>. */
struct swot_name {
    char short_name[32], file_id[16], tile[16], start[16], end[16], crid[8], counter[8];
    int cycle, pass;
};

/* Parses a product file name (with or without folder and extension); 0 or -1. */
int swot_parse_name(const char *name, struct swot_name *out);

/* Reads a product's .shp.xml metadata (a VSI path; name for messages) as swot_run does; the
 * number of fields it describes in *n_fields. INSITU_EIO unreadable, INSITU_EINVAL not XML. */
int swot_meta_fields(const char *xml_path, const char *name, size_t *n_fields, insitu_error *err);

/* Probes a source for one of the kinds (NULL-terminated); 0..100. */
int swot_probe(const struct source *src, const struct swot_kind *const *kinds);
/* The identity of a granule: product, file type, cycle, pass and tile; version CRID_counter. */
int swot_identify(const struct source *src, struct source_identity *id, insitu_error *err);
/* Reads one product (zip, folder or .shp) of one of the kinds. */
int swot_run(const struct source *src, struct batch_writer *bw,
             const struct swot_kind *const *kinds, insitu_error *err);
/* The ingesters' read_ahead: opens the product and decodes its features on a thread of its
 * own (NULL when no thread could start); swot_run takes them from src->ahead. */
void *swot_read_ahead(const struct source *src, const struct swot_kind *const *kinds);
void swot_read_ahead_free(void *ahead);
/* What the decoded features a reader holds for the writer may take (32 MiB: a whole
 * RiverSP product, so that one read ahead is decoded before its turn); tests lower it. */
extern size_t swot_queue_bytes;

extern const char *const swot_settings[];

/* What every path that brings SWOT data in (the products, Hydrocron) writes the same way,
 * so that their entities are one (docs/formats.md, "the shared mapping"). */
/* The Sensor of a product (short name "L2_HR_RiverSP" or "L2_HR_LakeSP"). */
int swot_sensor(struct batch_writer *bw, const char *short_name, int64_t *id, insitu_error *err);
/* The Datastream properties of a field (JSON text, caller frees); long_name and
 * quality_flag may be NULL. */
char *swot_datastream_properties(const char *short_name, const char *file_id,
                                 const char *long_name, const char *quality_flag);
/* The FeatureOfInterest key of a feature: "<namespace>:<id>" into buf. */
void swot_feature_key(char *buf, size_t size, const char *ns, const char *code);

#endif
