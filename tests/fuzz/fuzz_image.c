/* fuzz_image.c — image bytes from anywhere: crnn_image_decode_memory (format checks, limits,
   stb_image), then the decoded picture through preprocessing and a tiny network and the
   decoders (greedy, beam), as `ocr-crnn` does with a file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static crnn_model *model;
    static crnn_recognizer *rec;
    if (!model) {
        crnn_error err;
        model = fuzz_tiny_model("ascii", 0);
        rec = crnn_recognizer_new(model, &err);
        if (!rec) abort();
    }
    uint8_t *px;
    int w, h;
    crnn_error err;
    crnn_status s = crnn_image_decode_memory(data, size, "fuzz", &px, &w, &h, &err);
    if (s != CRNN_OK) {
        /* The contract: an error always explains itself and names the input. */
        if (!err.message[0] || !strstr(err.message, "fuzz")) abort();
        return 0;
    }
    if (!px || w < 1 || h < 1 || w > CRNN_MAX_IMAGE_SIDE || h > CRNN_MAX_IMAGE_SIDE ||
        (uint64_t)w * (uint64_t)h > CRNN_MAX_IMAGE_PIXELS)
        abort();
    crnn_image im = {w, h, w, px, 1};
    crnn_params p = crnn_default_params();
    if (size & 1) { /* both decoders, chosen by something the fuzzer controls */
        p.decoder = CRNN_DECODE_BEAM;
        p.beam_width = 4;
    }
    crnn_result res;
    if (crnn_recognize_image(rec, &im, &p, &res) == CRNN_OK) {
        if (!res.text || (res.num_chars > 0 && !res.char_confidence)) abort();
        crnn_result_free(&res);
    }
    free(px);
    return 0;
}
