/*
 * swot_lake.c: SWOT L2_HR_LakeSP Prior, Obs and Unassigned products. A prior lake (lake_id)
 * or an observed feature (obs_id) is a Thing with its polygon; each measurement a
 * Datastream. The reading is swot.c's; this file only says what a LakeSP is.
 */
#include "swot.h"

static const char *const lake_flags[] = {"quality_f", "qual_f_b", "ice_clim_f", "ice_dyn_f",
                                         "partial_f", "xovr_cal_q", NULL};

static const struct swot_kind prior = {"L2_HR_LakeSP", "Prior", "swot:lake", "lake_id", NULL,
                                       lake_flags};
static const struct swot_kind obs = {"L2_HR_LakeSP", "Obs", "swot:lake-obs", "obs_id", NULL,
                                     lake_flags};
static const struct swot_kind unassigned = {"L2_HR_LakeSP", "Unassigned", "swot:lake-obs",
                                            "obs_id", NULL, lake_flags};
static const struct swot_kind *const lake_kinds[] = {&prior, &obs, &unassigned, NULL};

static int lake_probe(const struct source *src) { return swot_probe(src, lake_kinds); }

static void *lake_read_ahead(const struct source *src)
{
    return swot_read_ahead(src, lake_kinds);
}

static int lake_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    return swot_run(src, bw, lake_kinds, err);
}

const struct ingester ingester_swot_lake = {
    .name = "swot-lake",
    .description = "SWOT L2_HR_LakeSP Prior, Obs and Unassigned products: zipped or unzipped "
                   "shapefiles with their .shp.xml metadata",
    .probe = lake_probe,
    .identify = swot_identify,
    .run = lake_run,
    .read_ahead = lake_read_ahead,
    .read_ahead_free = swot_read_ahead_free,
    .settings = swot_settings,
};
