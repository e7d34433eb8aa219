/*
 * gen_swot.c: makes a synthetic set of SWOT L2_HR_RiverSP Reach products with the real
 * product's schema, for bench/ingest_swot. Each product repeats the real product's reaches
 * (fields, geometries, values) REPEAT times under new reach ids; products differ by tile
 * (another set of ids) and by cycle (times shifted by 21 days). The .shp.xml is copied.
 * usage: gen_swot REAL_PRODUCT.zip OUT_DIR TILES CYCLES REPEAT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_api.h>

#define FILL (-999999999999.0)

static int write_product(OGRLayerH src, const char *xml, const char *out_dir, int tile,
                         int cycle, int repeat)
{
    char name[256], path[1024];
    snprintf(name, sizeof name,
             "SWOT_L2_HR_RiverSP_Reach_%03d_%03d_AU_20260419T185249_20260419T190852_PID0_01",
             49 + cycle, 58 + tile);
    snprintf(path, sizeof path, "%s/%s.shp", out_dir, name);
    GDALDriverH drv = GDALGetDriverByName("ESRI Shapefile");
    GDALDatasetH ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL);
    if (!ds)
        return -1;
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(src);
    OGRLayerH dst = GDALDatasetCreateLayer(ds, name, OGR_L_GetSpatialRef(src), wkbLineString, NULL);
    for (int i = 0; i < OGR_FD_GetFieldCount(defn); i++)
        if (OGR_L_CreateField(dst, OGR_FD_GetFieldDefn(defn, i), 1) != OGRERR_NONE)
            return -1;
    int id_i = OGR_FD_GetFieldIndex(defn, "reach_id"), t_i = OGR_FD_GetFieldIndex(defn, "time");
    for (int r = 0; r < repeat; r++) {
        OGRFeatureH f;
        int k = 0;
        OGR_L_ResetReading(src);
        while ((f = OGR_L_GetNextFeature(src)) != NULL) {
            OGRFeatureH g = OGR_F_Create(OGR_L_GetLayerDefn(dst));
            OGR_F_SetFrom(g, f, 1);
            char id[32];
            /* 11 digits like real ids: basin prefix 9, tile, repeat, reach */
            snprintf(id, sizeof id, "9%03d%03d%04d", tile, r, k++);
            OGR_F_SetFieldString(g, id_i, id);
            double t = OGR_F_GetFieldAsDouble(f, t_i);
            if (t != FILL)
                OGR_F_SetFieldDouble(g, t_i, t + cycle * 21 * 86400.0);
            if (OGR_L_CreateFeature(dst, g) != OGRERR_NONE)
                return -1;
            OGR_F_Destroy(g);
            OGR_F_Destroy(f);
        }
    }
    GDALClose(ds);
    char xml_out[1100];
    snprintf(xml_out, sizeof xml_out, "%s.xml", path);
    return CPLCopyFile(xml_out, xml) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: gen_swot REAL_PRODUCT.zip OUT_DIR TILES CYCLES REPEAT\n");
        return 2;
    }
    GDALAllRegister();
    const char *zip = argv[1], *out = argv[2];
    int tiles = atoi(argv[3]), cycles = atoi(argv[4]), repeat = atoi(argv[5]);
    char **entries = VSIReadDir(CPLSPrintf("/vsizip/%s", zip));
    const char *shp = NULL;
    for (int i = 0; entries && entries[i]; i++)
        if (strstr(entries[i], ".shp") && !strstr(entries[i], ".xml"))
            shp = entries[i];
    if (!shp) {
        fprintf(stderr, "gen_swot: %s: no .shp\n", zip);
        return 1;
    }
    char src_path[1024], xml[1100];
    snprintf(src_path, sizeof src_path, "/vsizip/%s/%s", zip, shp);
    snprintf(xml, sizeof xml, "%s.xml", src_path);
    GDALDatasetH in = GDALOpenEx(src_path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (!in)
        return 1;
    VSIMkdir(out, 0755);
    int rc = 0;
    for (int t = 0; t < tiles && !rc; t++)
        for (int c = 0; c < cycles && !rc; c++)
            rc = write_product(GDALDatasetGetLayer(in, 0), xml, out, t, c, repeat);
    GDALClose(in);
    CSLDestroy(entries);
    if (rc)
        fprintf(stderr, "gen_swot: cannot write a product\n");
    return rc ? 1 : 0;
}
