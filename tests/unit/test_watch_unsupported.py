"""FSDP2's fully_shard is watched, monitor.clip_grad_norm_ included; a model gradtui cannot
watch (FSDP1's wrapper) gets one warning line, no traceback, and trains on unwatched."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.distributed.fsdp import FullyShardedDataParallel, fully_shard

    import gradtui

    dist.init_process_group("gloo", init_method=f"file://{sys.argv[1]}", rank=0, world_size=1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    if sys.argv[2] == "fsdp1":
        model = FullyShardedDataParallel(model, device_id=torch.device("cpu"))
    else:
        fully_shard(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradtui.watch(model, opt) as monitor:
        for _ in range(3):
            opt.zero_grad()
            loss = model(torch.randn(5, 4)).square().mean()
            loss.backward()
            monitor.step(loss)
            monitor.clip_grad_norm_(1.0)
            opt.step()
    print("trained, watched:", type(monitor).__name__ == "Monitor")
    from gradtui.probe.private_torch import fsdp_unsharded

    print("unsharded copies found:", len(fsdp_unsharded(model)))
    dist.destroy_process_group()
    """
)


def run(tmp_path: Path, wrapper: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "store"), wrapper],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_model_under_fully_shard_is_watched(tmp_path: Path):
    done = run(tmp_path, "fsdp2")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained, watched: True" in done.stdout
    # The private names the graph lint needs under FSDP2 (see private_torch) are there.
    assert "unsharded copies found: 4" in done.stdout
    assert "gradtui" not in done.stderr and "Traceback" not in done.stderr


def test_fsdp1_is_refused_in_one_line_that_names_fully_shard(tmp_path: Path):
    done = run(tmp_path, "fsdp1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained, watched: False" in done.stdout
    refusals = [line for line in done.stderr.splitlines() if "gradtui.watch cannot watch" in line]
    assert len(refusals) == 1 and "fully_shard" in refusals[0]
    assert "Traceback" not in done.stderr
