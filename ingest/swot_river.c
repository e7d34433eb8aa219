/*
 * swot_river.c: SWOT L2_HR_RiverSP Reach and Node products (zipped or unzipped shapefiles
 * with their .shp.xml). A reach or node is a Thing; each measurement a Datastream; one
 * Observation per pass. The reading is swot.c's; this file only says what a RiverSP is.
 */
#include "swot.h"

static const char *const reach_flags[] = {"reach_q", "reach_q_b", "ice_clim_f", "ice_dyn_f",
                                          "partial_f", "xovr_cal_q", NULL};
static const char *const node_flags[] = {"node_q", "node_q_b", "ice_clim_f", "ice_dyn_f",
                                         "partial_f", "xovr_cal_q", NULL};

static const struct swot_kind reach = {"L2_HR_RiverSP", "Reach", "swot:reach", "reach_id",
                                       NULL, reach_flags};
static const struct swot_kind node = {"L2_HR_RiverSP", "Node", "swot:node", "node_id", NULL,
                                      node_flags};
static const struct swot_kind *const river_kinds[] = {&reach, &node, NULL};

static int river_probe(const struct source *src) { return swot_probe(src, river_kinds); }

static void *river_read_ahead(const struct source *src)
{
    return swot_read_ahead(src, river_kinds);
}

static int river_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    return swot_run(src, bw, river_kinds, err);
}

const struct ingester ingester_swot_river = {
    .name = "swot-river",
    .description = "SWOT L2_HR_RiverSP Reach and Node products: zipped or unzipped shapefiles "
                   "with their .shp.xml metadata",
    .probe = river_probe,
    .identify = swot_identify,
    .run = river_run,
    .read_ahead = river_read_ahead,
    .read_ahead_free = swot_read_ahead_free,
    .settings = swot_settings,
};
