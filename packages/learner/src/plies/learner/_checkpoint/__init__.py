"""Checkpoints that resume a run exactly: the file format (`_file`), `CheckpointCallback` that writes
them (`_save`), and `fit(resume_from=...)` that reads them back (`_resume`)."""
