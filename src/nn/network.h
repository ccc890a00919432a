/* network.h — runs a model's layer list over a batch: forward for inference and training, and
   backward for training. Owns the activation arena (grown on demand, reused across calls), so
   one network object serves one thread for its whole life. */
#ifndef CRNN_NETWORK_H
#define CRNN_NETWORK_H

#include "model/model.h"
#include "nn/nn.h"

#define NET_MAX_BATCH 4096

typedef struct network network;

network *network_new(void);
void network_free(network *net);
/* Threads that share each layer of an inference forward pass (default 1: the caller only):
   convolutions split by channel, the two directions of a BiLSTM run side by side, by a
   team of threads (util/team.h) that yields a busy machine. Clamped to
   1..NETWORK_MAX_THREADS; training ignores it (its replicas are the parallelism). */
#define NETWORK_MAX_THREADS 8
void network_set_threads(network *net, int threads);

/* input: the batch's normalised pixels as one input_channels × P map (image b at columns
   off[b], rows of width widths[b], height = model input height). Inference mode needs
   batch-norm folded. Training mode normalises with batch statistics and keeps what backward
   needs. Never writes to m, so any number of networks may share one model. Returns
   CRNN_ERR_ARG, CRNN_ERR_LIMIT (a batch too large to index) or CRNN_ERR_NOMEM with err
   filled; after a failure nothing of an earlier batch can be read. */
crnn_status network_forward(network *net, const crnn_model *m, const float *input,
                            const int *widths, int B, int training, crnn_error *err);

/* After a training forward: blends its batch statistics into the running statistics in
   params (laid out like m->params), running = (1 − momentum)·running + momentum·batch. */
void network_update_running(network *net, const crnn_model *m, float *params, float momentum);

/* After a successful forward: log-probabilities (B, T, C), T = longest output, len[b] frames
   of sample b; NULL when the last forward failed or none ran. */
const float *network_log_probs(const network *net, int *B, int *T, int *C, const int **len);

/* Adds d loss / d params to grads (laid out like m->params), given d loss / d logits (B, T, C),
   the gradient at the input of the final log-softmax. */
crnn_status network_backward(network *net, const crnn_model *m, float *grads,
                             const float *dlogits, crnn_error *err);

/* Bytes currently held by the network's buffers. */
size_t network_memory(const network *net);

#endif
