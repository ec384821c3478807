"""Hyper-parameter schedules (`_scheds`), the `ParamScheduler` callback that applies them
(`_param_scheduler`), and the LR finder with its suggestions (`_lr_finder`)."""
