/* fuzz_dataset.c — labelled-data records. The first byte picks what the rest is:
     0  a labels.tsv file: dataset_open, every item's name and label, and each label through
        the charset encoder and the CTC alignability check the training loader applies;
     1  a file name for the MJSynth label parser (mjsynth_label), with several buffer sizes;
     2  the value of 'label-000000001' in an LMDB dataset (dataset_label);
     3  the value of 'image-000000001' in an LMDB dataset (dataset_image: the image decoder
        reached through LMDB, as training reads it);
     4  the value of 'num-samples' (the count the reader trusts);
   LMDB records are written with liblmdb into a scratch environment, closed, then read through
   the dataset API exactly as training opens a folder holding data.mdb. */
#include <lmdb.h>
#include <sys/stat.h>

#include "ctc/ctc.h"
#include "fuzz_common.h"
#include "image/image.h"
#include "train/dataset.h"

static crnn_model *model;

static void labels_through_charset(const char *label) {
    int labels[DATASET_MAX_LABEL];
    uint32_t missing;
    int n = charset_encode(model, label, labels, DATASET_MAX_LABEL, &missing);
    if (n > 0) {
        int T = model_output_width(model, image_input_width(200, 16, model->input_height,
                                                            model->min_width));
        (void)(ctc_min_frames(labels, n) <= T);
    }
}

static void read_all(dataset *d, int images) {
    long n = dataset_size(d);
    if (n < 1) abort();
    for (long i = 0; i < n && i < 64; i++) {
        char name[700];
        dataset_item_name(d, i, name, sizeof name);
        crnn_error err;
        const char *label = dataset_label(d, i, &err);
        if (label) {
            if (strlen(label) > DATASET_MAX_LABEL) abort();
            labels_through_charset(label);
        }
        if (images) {
            uint8_t *px;
            int w, h;
            if (dataset_image(d, i, 1, &px, &w, &h, &err) == CRNN_OK) free(px);
        }
    }
    crnn_error err;
    (void)dataset_label(d, -1, &err);
    (void)dataset_label(d, n, &err);
}

static void put_lmdb(const char *dir, const char *which, const uint8_t *data, size_t size) {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 64u << 20) ||
        mdb_env_open(env, dir, MDB_NOSYNC | MDB_NOLOCK, 0644) ||
        mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi))
        abort();
    mdb_drop(txn, dbi, 0); /* empty it: each input stands alone */
    const char *keys[3] = {"num-samples", "label-000000001", "image-000000001"};
    /* defaults: one sample with a plain label and a 2×1 PGM */
    const char *vals[3] = {"1", "ab", "P5 2 1 255\n\x10\x20"};
    size_t lens[3] = {1, 2, 13};
    for (int k = 0; k < 3; k++) {
        MDB_val key = {strlen(keys[k]), (void *)keys[k]};
        MDB_val val = {lens[k], (void *)vals[k]};
        if (!strcmp(keys[k], which)) {
            val.mv_size = size;
            val.mv_data = (void *)data;
        }
        if (mdb_put(txn, dbi, &key, &val, 0)) abort();
    }
    if (mdb_txn_commit(txn)) abort();
    mdb_env_close(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char dir[300], tsv[320], lmdb_dir[320];
    if (!model) {
        model = fuzz_tiny_model("ascii", 1);
        snprintf(dir, sizeof dir, "%s", fuzz_scratch_dir());
        snprintf(tsv, sizeof tsv, "%s/labels.tsv", dir);
        snprintf(lmdb_dir, sizeof lmdb_dir, "%s/lmdb", dir);
        mkdir(lmdb_dir, 0755);
    }
    if (size < 1) return 0;
    int mode = data[0] % 5;
    data++, size--;
    crnn_error err;
    if (mode == 0) {
        fuzz_write(tsv, data, size);
        dataset *d = dataset_open(tsv, &err);
        if (d) {
            read_all(d, 0); /* paths point anywhere on this machine: names and labels only */
            dataset_close(d);
        } else if (!strstr(err.message, "labels.tsv")) {
            abort();
        }
    } else if (mode == 1) {
        char *name = malloc(size + 1);
        if (!name) return 0;
        memcpy(name, data, size);
        name[size] = 0;
        size_t sizes[4] = {1, 4, 16, DATASET_MAX_LABEL + 1};
        for (int k = 0; k < 4; k++) {
            char *out = malloc(sizes[k]); /* exact size: ASan sees any overrun */
            if (out && mjsynth_label(name, out, sizes[k]) && strlen(out) >= sizes[k]) abort();
            free(out);
        }
        free(name);
    } else {
        const char *which = mode == 2 ? "label-000000001" : mode == 3 ? "image-000000001"
                                                                      : "num-samples";
        put_lmdb(lmdb_dir, which, data, size);
        dataset *d = dataset_open(lmdb_dir, &err);
        if (d) {
            /* num-samples may claim millions: reading stops at the first 64 */
            read_all(d, 1);
            dataset_close(d);
        }
    }
    return 0;
}
