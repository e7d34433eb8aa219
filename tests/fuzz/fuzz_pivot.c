/*
 * fuzz_pivot.c: THEIA/OZCAR pivot packages (ingest/theia_pivot.c): the producer document
 * and its ';'-terminated data files. The package is tests/data/theia/CATC (a document and
 * two data files, written loose in the scratch folder); the input's first byte says which
 * file it replaces: '1' or '2' a data file, anything else the JSON document (the input
 * after that byte). Run as a dry run on a store.
 */
#include <cpl_vsi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static const char *const names[3] = {"CATC_en.json", "CATC_OBS_CE.WChem_Od_1.txt",
                                     "CATC_OBS_CE.WChem_Od_2.txt"};
static GByte *original[3];
static vsi_l_offset original_size[3];

static void load(int i, const char *vsi)
{
    if (!VSIIngestFile(NULL, vsi, &original[i], &original_size[i], 1 << 20)) {
        fprintf(stderr, "fuzz_pivot: cannot read %s\n", vsi);
        abort();
    }
}

static void put(int i, const void *data, size_t size)
{
    if (!fuzz_write(names[i], data, size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!original[0]) {
        fuzz_dir();
        load(0, FUZZ_HOME "/../data/theia/CATC/CATC_en.json");
        load(1, "/vsizip/" FUZZ_HOME "/../data/theia/CATC/CATC_DAT_CE.WChem_Od.zip/"
                "CATC_OBS_CE.WChem_Od_1.txt");
        load(2, "/vsizip/" FUZZ_HOME "/../data/theia/CATC/CATC_DAT_CE.WChem_Od.zip/"
                "CATC_OBS_CE.WChem_Od_2.txt");
        for (int i = 0; i < 3; i++)
            put(i, original[i], original_size[i]);
    }
    if (!size)
        return 0;
    int which = data[0] == '1' ? 1 : data[0] == '2' ? 2 : 0;
    put(which, data + 1, size - 1);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), names[0]);
    insitu_ingest_options opts = {
        .format = "theia-pivot", .dry_run = 1, .force = 1, .batch_rows = 64};
    insitu_ingest_report rep;
    insitu_error err;
    fuzz_report(insitu_ingest(fuzz_store(), path, &opts, &rep, &err), &rep, &err);
    put(which, original[which], original_size[which]);
    return 0;
}
