"""The scenario trainer as another process loads it: the dashboard's worker, the screenshots.

Callers outside the torch side import this module lazily, inside the process that trains, so
importing them never loads torch.
"""

from __future__ import annotations

from collections.abc import Callable


def load_trainer() -> Callable:
    """``run(spec, emit, should_stop)`` with torch on one thread: these networks are small,
    and the dashboard needs a core of its own (with more threads than free cores, torch's
    worker threads spin and training slows severalfold). Seeds every run alike."""
    import torch

    from gradtui.scenario.loop import run

    torch.set_num_threads(1)
    torch.manual_seed(0)
    return run
