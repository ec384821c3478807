import torch

# These models are tiny: on a busy 2-core machine torch's intra-op thread pool costs far more in
# wake-ups than it saves (see docs/tabular.md, "Speed"), so the tests run on one thread.
torch.set_num_threads(1)
