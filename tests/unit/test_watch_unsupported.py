"""A model gradtui cannot watch yet (sharded parameters) gets one warning line, no traceback,
and trains on unwatched."""

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
    from torch.distributed.fsdp import fully_shard

    import gradtui

    dist.init_process_group("gloo", init_method=f"file://{sys.argv[1]}", rank=0, world_size=1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
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
    print("trained, watched:", not monitor.closed)
    dist.destroy_process_group()
    """
)


def test_a_sharded_model_is_refused_in_one_line_and_trains_on(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained, watched: False" in done.stdout
    refusals = [line for line in done.stderr.splitlines() if "gradtui.watch cannot watch" in line]
    assert len(refusals) == 1 and "DTensor" in refusals[0]
    assert "Traceback" not in done.stderr
