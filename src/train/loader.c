/* loader.c — the background batch producer. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "image/image.h"
#include "train/loader.h"
#include "train/train.h"

#define QUEUE_CAP 64

typedef struct {
    uint8_t *pixels; /* w × h × the model's channels, interleaved */
    int w, h;
    char text[DATASET_MAX_LABEL + 1];
    int labels[LOADER_MAX_LABEL];
    int n_labels;
    int width; /* at model height */
} sample;

struct loader {
    const crnn_model *m;
    loader_config cfg;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_space;
    train_batch *queue[QUEUE_CAP];
    long q_head, q_tail; /* indices into an unbounded sequence; queue slot = i % CAP */
    int stop;
    crnn_status fatal;
    crnn_error fatal_err;
    float weight_total;
};

void train_batch_free(train_batch *b) {
    if (!b) return;
    if (b->texts)
        for (int i = 0; i < b->B; i++) free(b->texts[i]);
    free(b->texts);
    free(b->input);
    free(b->widths);
    free(b->labels);
    free(b->label_off);
    free(b->label_len);
    free(b);
}

static uint64_t mix64(uint64_t x) { /* splitmix64 finaliser: decorrelates nearby seeds */
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Augmentation for real crops: trims or pads each side a little (detector boxes are never
   exact), now and then much more (hand crops and loose detector boxes leave up to a text height
   and more around the word: the padding fades from the crop's edge into the mean colour of its
   border, with a little noise, or for a third of them starts at the edge, as a crop pasted on a
   canvas of its colour has it — a hard edge that a model never shown one reads as a letter),
   and jitters contrast and brightness. Works on a fresh copy of c-channel pixels. */
static void augment(sample *s, int c, rng_t *r) {
    int w = s->w, h = s->h;
    int dx0 = (int)(rng_range(r, -0.04f, 0.06f) * h), dx1 = (int)(rng_range(r, -0.04f, 0.06f) * h);
    int dy0 = (int)(rng_range(r, -0.04f, 0.08f) * h), dy1 = (int)(rng_range(r, -0.04f, 0.08f) * h);
    float fade_len = 0.3f * (float)h;
    if (rng_chance(r, 0.15f)) { /* loose: negative offsets pad */
        dx0 = -(int)(rng_range(r, 0.2f, 1.2f) * h), dx1 = -(int)(rng_range(r, 0.2f, 1.2f) * h);
        dy0 = -(int)(rng_range(r, 0.05f, 0.35f) * h), dy1 = -(int)(rng_range(r, 0.05f, 0.35f) * h);
        if (rng_chance(r, 0.33f)) fade_len = 1.f; /* the border colour from the first pixel */
    }
    int nw = w - dx0 - dx1, nh = h - dy0 - dy1;
    if (nw < 4 || nh < 4 || (size_t)nw * (size_t)nh > (16u << 20)) return;
    uint8_t *out = malloc((size_t)nw * nh * (size_t)c);
    if (!out) return;
    float border[3] = {0, 0, 0};
    for (int x = 0; x < w; x++)
        for (int k = 0; k < c; k++)
            border[k] += (float)(s->pixels[(size_t)x * (size_t)c + (size_t)k] +
                                 s->pixels[((size_t)(h - 1) * w + x) * (size_t)c + (size_t)k]) / (2.f * (float)w);
    float contrast = rng_range(r, 0.7f, 1.2f), bright = rng_range(r, -20.f, 20.f);
    for (int y = 0; y < nh; y++) {
        int sy = y + dy0;
        int dist_y = sy < 0 ? -sy : sy >= h ? sy - h + 1 : 0;
        sy = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
        for (int x = 0; x < nw; x++) {
            int sx = x + dx0;
            int dist = dist_y + (sx < 0 ? -sx : sx >= w ? sx - w + 1 : 0);
            sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
            float fade = dist ? fminf(1.f, (float)dist / fade_len) : 0.f;
            float noise = dist ? rng_range(r, -6.f, 6.f) : 0.f;
            for (int k = 0; k < c; k++) {
                float edge = s->pixels[((size_t)sy * w + sx) * (size_t)c + (size_t)k];
                float v = (edge + fade * (border[k] - edge) - 128.f) * contrast + 128.f + bright + noise;
                out[((size_t)y * nw + x) * (size_t)c + (size_t)k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    free(s->pixels);
    s->pixels = out;
    s->w = nw;
    s->h = nh;
}

/* Draws one usable sample; returns 0 on a fatal error (in l->fatal_err). */
static int draw_sample(loader *l, rng_t *r, sample *s, float p_clean, train_batch *stats) {
    const crnn_model *m = l->m;
    for (int attempt = 0; attempt < 1000; attempt++) {
        float pick = rng_uniform(r) * l->weight_total;
        int si = 0;
        while (si < l->cfg.n_sources - 1 && pick >= l->cfg.sources[si].weight) {
            pick -= l->cfg.sources[si].weight;
            si++;
        }
        loader_source *src = &l->cfg.sources[si];
        crnn_error err;
        s->pixels = NULL;
        if (src->syn) {
            synth_sample ss;
            /* Drawn only when mixing, so that runs without it keep their samples. */
            if (l->cfg.clean > 0 || l->cfg.clean_fade > 0)
                synth_set_clean(src->syn, p_clean >= 1 || (p_clean > 0 && rng_chance(r, p_clean)));
            if (synth_next(src->syn, &ss) != CRNN_OK) continue;
            s->w = ss.width;
            s->h = ss.height;
            const size_t row = (size_t)ss.width * (size_t)m->input_channels;
            if ((ss.channels == 3 ? 3 : 1) != m->input_channels) {
                set_error(&l->fatal_err, CRNN_ERR_ARG, "the generator draws %d channels, the model "
                          "reads %d", ss.channels, m->input_channels);
                return 0;
            }
            s->pixels = malloc(row * (size_t)ss.height);
            if (!s->pixels) break;
            for (int y = 0; y < ss.height; y++)
                memcpy(s->pixels + (size_t)y * row, ss.pixels + (size_t)y * ss.stride, row);
            snprintf(s->text, sizeof s->text, "%s", ss.label);
        } else {
            long i = (long)(rng_u32(r) % (uint32_t)dataset_size(src->ds));
            const char *label = dataset_label(src->ds, i, &err);
            if (!label || dataset_image(src->ds, i, m->input_channels, &s->pixels, &s->w, &s->h, &err) != CRNN_OK) {
                stats->skipped_unreadable++;
                continue;
            }
            snprintf(s->text, sizeof s->text, "%s", label);
            if (src->augment) augment(s, m->input_channels, r);
        }
        uint32_t missing;
        s->n_labels = charset_encode(m, s->text, s->labels, LOADER_MAX_LABEL, &missing);
        /* An empty label is a crop with no text (the CTC target is all blank); a label whose
           characters are all missing from the charset is not. */
        if (s->n_labels < 0 || (s->n_labels == 0 && s->text[0])) {
            stats->skipped_charset++;
            free(s->pixels);
            continue;
        }
        s->width = image_input_width(s->w, s->h, m->input_height, m->min_width);
        if (s->width > l->cfg.max_width) s->width = l->cfg.max_width;
        if (s->width < m->min_width) s->width = m->min_width;
        int T = model_output_width(m, s->width);
        if (ctc_min_frames(s->labels, s->n_labels) > T) {
            stats->skipped_unalignable++;
            free(s->pixels);
            continue;
        }
        return 1;
    }
    set_error(&l->fatal_err, CRNN_ERR_FORMAT, "no usable training sample in 1000 draws: check "
              "that the data's labels fit the charset");
    return 0;
}

static int cmp_width(const void *a, const void *b) {
    return ((const sample *)a)->width - ((const sample *)b)->width;
}

static train_batch *assemble(const crnn_model *m, sample *s, int n, long index) {
    train_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->index = index;
    b->B = n;
    size_t total = 0, nl = 0;
    for (int i = 0; i < n; i++) {
        total += (size_t)m->input_height * s[i].width;
        nl += (size_t)s[i].n_labels;
    }
    const int C = m->input_channels;
    const size_t n1 = n > 0 ? (size_t)n : 1; /* a rank's share may be empty */
    b->input = malloc(sizeof(float) * (total ? total : 1) * (size_t)C);
    b->widths = malloc(sizeof(int) * n1);
    b->labels = malloc(sizeof(int) * (nl ? nl : 1));
    b->label_off = malloc(sizeof(int) * n1);
    b->label_len = malloc(sizeof(int) * n1);
    b->texts = calloc(n1, sizeof(char *));
    size_t scratch_n = 0;
    for (int i = 0; i < n; i++)
        if ((size_t)s[i].h * s[i].width > scratch_n) scratch_n = (size_t)s[i].h * s[i].width;
    float *scratch = malloc(sizeof(float) * (scratch_n ? scratch_n : 1));
    if (!b->input || !b->widths || !b->labels || !b->label_off || !b->label_len || !b->texts ||
        !scratch) {
        free(scratch);
        train_batch_free(b);
        return NULL;
    }
    size_t off = 0, lo = 0;
    for (int i = 0; i < n; i++) {
        crnn_image im = {s[i].w, s[i].h, s[i].w * C, s[i].pixels, C};
        image_to_input(b->input + off, total, scratch, &im, m->input_height, s[i].width,
                       m->norm_mean, m->norm_std);
        off += (size_t)m->input_height * s[i].width;
        b->widths[i] = s[i].width;
        b->label_off[i] = (int)lo;
        b->label_len[i] = s[i].n_labels;
        memcpy(b->labels + lo, s[i].labels, sizeof(int) * (size_t)s[i].n_labels);
        lo += (size_t)s[i].n_labels;
        b->texts[i] = strdup(s[i].text);
        if (!b->texts[i]) {
            free(scratch);
            train_batch_free(b);
            return NULL;
        }
    }
    free(scratch);
    return b;
}

static void push_batch(loader *l, train_batch *b) {
    pthread_mutex_lock(&l->mu);
    while (!l->stop && l->q_tail - l->q_head >= QUEUE_CAP) pthread_cond_wait(&l->cv_space, &l->mu);
    if (l->stop) {
        pthread_mutex_unlock(&l->mu);
        train_batch_free(b);
        return;
    }
    l->queue[l->q_tail % QUEUE_CAP] = b;
    l->q_tail++;
    pthread_cond_broadcast(&l->cv_ready);
    pthread_mutex_unlock(&l->mu);
}

static void *producer(void *arg) {
    loader *l = arg;
    const loader_config *c = &l->cfg;
    int K = c->bucket, B = c->batch_size;
    sample *samples = calloc((size_t)K * B, sizeof(sample));
    if (!samples) {
        set_error(&l->fatal_err, CRNN_ERR_NOMEM, "out of memory in the data loader");
        l->fatal = CRNN_ERR_NOMEM;
    }
    for (long chunk = c->first_batch / K; samples && !l->stop; chunk++) {
        rng_t r;
        rng_seed(&r, mix64(c->seed ^ mix64((uint64_t)chunk)), 7);
        for (int si = 0; si < c->n_sources; si++)
            if (c->sources[si].syn) synth_reseed(c->sources[si].syn, mix64(c->seed + 31 * (uint64_t)chunk + (uint64_t)si));
        train_batch stats;
        memset(&stats, 0, sizeof stats);
        float p_clean = c->clean;
        if (c->clean_fade > 0 && chunk * K < c->clean_fade)
            p_clean += (1 - c->clean) * (1 - (float)(chunk * K) / (float)c->clean_fade);
        int n = 0, ok = 1;
        for (; n < K * B && !l->stop; n++)
            if (!draw_sample(l, &r, &samples[n], p_clean, &stats)) { ok = 0; break; }
        if (!ok) {
            l->fatal = CRNN_ERR_FORMAT;
            for (int i = 0; i < n; i++) free(samples[i].pixels);
            break;
        }
        /* Similar widths together: less padding in the recurrent layers. The order of the
           resulting batches is then shuffled so the width does not drift with the step. */
        qsort(samples, (size_t)n, sizeof(sample), cmp_width);
        int order[256];
        for (int k = 0; k < K; k++) order[k] = k;
        for (int k = K - 1; k > 0; k--) {
            int j = rng_int(&r, 0, k), t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < K && n == K * B; k++) {
            long index = chunk * K + k;
            if (index < c->first_batch) continue;
            /* this process's share only: the others are other ranks' to assemble */
            int first = 0, count = B;
            if (c->share_end > 0) {
                first = c->share_first;
                count = c->share_end - c->share_first;
            }
            train_batch *b = assemble(l->m, samples + (size_t)order[k] * B + first, count, index);
            if (b && count != B) b->global_B = B;
            if (!b) {
                set_error(&l->fatal_err, CRNN_ERR_NOMEM, "out of memory assembling a batch");
                l->fatal = CRNN_ERR_NOMEM;
                break;
            }
            b->skipped_unalignable = stats.skipped_unalignable;
            b->skipped_unreadable = stats.skipped_unreadable;
            b->skipped_charset = stats.skipped_charset;
            memset(&stats, 0, sizeof stats);
            push_batch(l, b);
        }
        for (int i = 0; i < n; i++) free(samples[i].pixels);
        if (l->fatal) break;
    }
    free(samples);
    pthread_mutex_lock(&l->mu);
    if (!l->fatal) l->fatal = CRNN_ERR_ARG; /* stopped: nothing more will come */
    pthread_cond_broadcast(&l->cv_ready);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

loader *loader_start(const crnn_model *m, const loader_config *cfg, crnn_error *err) {
    if (cfg->n_sources < 1 || cfg->n_sources > LOADER_MAX_SOURCES || cfg->batch_size < 1 ||
        cfg->bucket < 1 || cfg->bucket > 256 || cfg->share_first < 0 ||
        cfg->share_first > cfg->share_end || cfg->share_end > cfg->batch_size) {
        set_error(err, CRNN_ERR_ARG, "loader: bad configuration");
        return NULL;
    }
    loader *l = calloc(1, sizeof *l);
    if (!l) {
        set_error(err, CRNN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    l->m = m;
    l->cfg = *cfg;
    if (l->cfg.max_width <= 0 || l->cfg.max_width > CRNN_MAX_INPUT_WIDTH)
        l->cfg.max_width = CRNN_MAX_INPUT_WIDTH;
    for (int i = 0; i < cfg->n_sources; i++) l->weight_total += cfg->sources[i].weight;
    if (!(l->weight_total > 0)) {
        free(l);
        set_error(err, CRNN_ERR_ARG, "loader: source weights must add up to more than 0");
        return NULL;
    }
    l->q_head = l->q_tail = 0;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_ready, NULL);
    pthread_cond_init(&l->cv_space, NULL);
    if (pthread_create(&l->thread, NULL, producer, l) != 0) {
        free(l);
        set_error(err, CRNN_ERR_NOMEM, "cannot start the loader thread");
        return NULL;
    }
    l->started = 1;
    return l;
}

train_batch *loader_next(loader *l, crnn_error *err) {
    pthread_mutex_lock(&l->mu);
    while (l->q_head == l->q_tail && !l->fatal) pthread_cond_wait(&l->cv_ready, &l->mu);
    if (l->q_head == l->q_tail) {
        pthread_mutex_unlock(&l->mu);
        *err = l->fatal_err;
        if (err->code == CRNN_OK) set_error(err, CRNN_ERR_ARG, "loader stopped");
        return NULL;
    }
    train_batch *b = l->queue[l->q_head % QUEUE_CAP];
    l->q_head++;
    pthread_cond_broadcast(&l->cv_space);
    pthread_mutex_unlock(&l->mu);
    return b;
}

void loader_stop(loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv_space);
    pthread_mutex_unlock(&l->mu);
    if (l->started) pthread_join(l->thread, NULL);
    while (l->q_head < l->q_tail) train_batch_free(l->queue[l->q_head++ % QUEUE_CAP]);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_ready);
    pthread_cond_destroy(&l->cv_space);
    free(l);
}

train_batch *batch_from_images(const crnn_model *m, const crnn_image *images,
                               const char *const *texts, int n, crnn_error *err) {
    sample *s = calloc((size_t)n, sizeof(sample));
    if (!s) {
        set_error(err, CRNN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        /* read only; stride must be width × the model's channels */
        s[i].pixels = (uint8_t *)images[i].pixels;
        s[i].w = images[i].width;
        s[i].h = images[i].height;
        s[i].width = image_input_width(s[i].w, s[i].h, m->input_height, m->min_width);
        snprintf(s[i].text, sizeof s[i].text, "%s", texts && texts[i] ? texts[i] : "");
        uint32_t missing;
        s[i].n_labels = texts && texts[i] ? charset_encode(m, texts[i], s[i].labels, LOADER_MAX_LABEL, &missing) : 0;
        if (s[i].n_labels < 0) s[i].n_labels = 0;
    }
    train_batch *b = assemble(m, s, n, 0);
    free(s);
    if (!b) set_error(err, CRNN_ERR_NOMEM, "out of memory assembling a batch");
    return b;
}
