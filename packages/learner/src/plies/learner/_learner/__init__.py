"""The `Learner` itself: the class and its batch loop (`_learner`), the callbacks it holds (`_cbs`),
scheduled fits and freezing (`_fit`), validation, prediction and saving (`_infer`, `_preds`), the
checks of its arguments (`_args`) and the default loss (`_loss`)."""
