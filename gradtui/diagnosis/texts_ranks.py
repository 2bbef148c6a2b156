"""The why and the fix of the rank-skew findings (diagnosis/rank_skew)."""

STRAGGLER_WHY = (
    "The ranks meet at every step's collectives (DDP's all-reduce of the gradients, FSDP's "
    "all-gathers and reduce-scatters), so no rank's step ends before the slowest rank's does. "
    "Inside the step that wait is spread over everyone; the time between steps is each rank's "
    "own, so the rank with the most of it is the one the others wait for."
)
STRAGGLER_FIX = (
    "Look at what rank {rank} does between steps. Its DataLoader: more num_workers, "
    "pin_memory=True, persistent_workers=True, a shard on slower storage or with larger "
    "samples. Code that runs on it alone (logging, checkpoints, evaluation under "
    "`if rank == {rank}`): do it less often, asynchronously, or at a point where every rank "
    "pauses anyway."
)
SAME_WHY = (
    "Data-parallel training gains from each rank computing the gradient of a different batch; "
    "the all-reduce then averages them into the gradient of one batch N times as large. Ranks "
    "given the same batches compute the same loss and the same gradient, and the average "
    "of N equal gradients is one of them: the extra ranks add cost and nothing else."
)
SAME_FIX = (
    "Give each rank its own part of the data: a DataLoader with "
    "sampler=DistributedSampler(dataset) (and sampler.set_epoch(epoch) at each epoch), or "
    "index the dataset by rank (dataset[rank::world_size]). A random sampler seeded alike on "
    "every rank draws the same batches too. If every rank should see the same batch (a test), "
    "ignore this."
)
DIFFERS_WHY = (
    "Ranks that draw their batches the same way from the same data see losses that differ "
    "only by chance, above one another in turn. A rank whose loss stays above (or below) all "
    "the others' on nearly every step is being fed something else: its shard of the data, its "
    "preprocessing or its labels."
)
DIFFERS_FIX = (
    "Compare rank {rank}'s batches with another rank's: the files its shard reads, their "
    "normalisation and label mapping, the sampler's split (a shard holding one class, or the "
    "padding a DistributedSampler adds to the last rank). Printing each rank's first batch "
    "statistics (mean, std, label counts) usually shows it."
)
