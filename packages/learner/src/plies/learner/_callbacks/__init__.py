"""The callbacks plies ships (the `Callback` base and the events are in `.._callback`): the default
`Recorder` and progress bar, training utilities (`_training`: gradient accumulation and clipping,
NaN stop, short epochs, BatchNorm freeze), trackers (early stopping, saving the best model, lr on
plateau), loggers, MixUp / CutMix, mixed precision, channels-last and hook callbacks."""
