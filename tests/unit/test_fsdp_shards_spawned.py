"""Shard statistics on real FSDP2 grads: gloo ranks on 127.0.0.1."""

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WORKER = textwrap.dedent(
    """
    import os, sys, math, torch, torch.distributed as dist
    from torch import nn
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from gradtui.probe.shards import global_stats

    def main(rank, world, port, out):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        dist.init_process_group("gloo", rank=rank, world_size=world)
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
        if world == 4:
            mesh = init_device_mesh("cpu", (2, 2), mesh_dim_names=("replicate", "shard"))
        else:
            mesh = init_device_mesh("cpu", (world,))
        for m in model:
            if isinstance(m, nn.Linear):
                fully_shard(m, mesh=mesh)
        fully_shard(model, mesh=mesh)
        model(torch.randn(4, 5) + rank).sum().backward()
        grads = [p.grad for p in model.parameters()]
        stats = global_stats(grads)
        for g, s in zip(grads, stats):
            want = float(g.full_tensor().norm())
            assert math.isclose(s.norm, want, rel_tol=1e-6), (rank, s.norm, want)
            assert s.numel == g.numel() and s.nonfinite == 0
        if rank == 0:
            open(out, "w").write("ok")
        dist.destroy_process_group()

    if __name__ == "__main__":
        world = int(sys.argv[1])
        torch.multiprocessing.spawn(main, args=(world, sys.argv[2], sys.argv[3]), nprocs=world)
    """
)


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 4])
def test_shard_norms_equal_full_tensor_norms(world: int, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "ok"
    root = str(Path(__file__).resolve().parents[2])
    cmd = [sys.executable, str(script), str(world), _free_port(), str(out)]
    done = subprocess.run(
        cmd,
        env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.read_text() == "ok"
