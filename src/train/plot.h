/* plot.h — a PNG of training loss and validation accuracy over steps, redrawn at each
   validation so a person can glance at a run's health. */
#ifndef CRNN_PLOT_H
#define CRNN_PLOT_H

#include "crnn.h"

typedef struct {
    long *loss_step, *val_step;
    double *loss, *val;
    int n_loss, n_val, cap_loss, cap_val;
} plot_series;

/* Adds a point; NAN for a missing value. */
void plot_add(plot_series *p, long step, double loss, double val_accuracy);
/* Restores the series from a run's log.csv (rows up to max_step), if it exists. */
void plot_load_csv(plot_series *p, const char *csv_path, long max_step);
crnn_status plot_write(const plot_series *p, const char *png_path, crnn_error *err);
void plot_free(plot_series *p);

#endif
