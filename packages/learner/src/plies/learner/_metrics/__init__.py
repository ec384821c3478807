"""Metrics: the metric API (`_metric`: `Metric`, the averaging metrics, `mk_metric`), functions
averaged over samples (`_functional`), metrics on the whole validation set (`_accumulated`),
segmentation (`_segmentation`), loss components and perplexity (`_loss_metrics`), and the
scikit-learn metrics (`_skmetrics`)."""
