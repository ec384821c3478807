"""Data-parallel training on torch.distributed: the process group (`_process`), the collectives
that gather and reduce across ranks (`_collectives`), and the `DistributedTrainer` callback with
`distrib_ctx` (`_trainer`)."""
