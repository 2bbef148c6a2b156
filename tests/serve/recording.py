"""A small recording made by hand, for the served dashboard to replay."""

from __future__ import annotations

import math
from pathlib import Path

from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording import Recorder

LAYERS = ("fc1", "fc2", "head")


def write_recording(path: Path, steps: int = 24) -> Path:
    started = RunStarted(
        scenario="served",
        title="served · MLP",
        lesson="",
        spec={"watch": {"model": "MLP", "rank": 0, "world_size": 1}},
        layers=tuple(LayerInfo(name, "Linear", i, 64) for i, name in enumerate(LAYERS)),
        blocks=LAYERS,
        total_steps=steps,
        heavy_every=4,
    )
    recorder = Recorder(path)
    recorder(started)
    for i in range(steps):
        grads = tuple(0.5 * math.exp(-0.05 * i) * (k + 1) for k in range(len(LAYERS)))
        recorder(
            StepStats(
                step=i,
                loss=1.0 / (1 + 0.2 * i),
                grad_norm_total=math.sqrt(sum(g * g for g in grads)),
                grad_norm_clipped=None,
                grad_norm=grads,
                nonfinite=(0, 0, 0),
                weight_norm=(3.0, 4.0, 2.0),
                update_ratio=(1e-3, 1e-3, 1e-3),
                block_grad_norm=tuple(g / 2 for g in grads),
            )
        )
    recorder(RunFinished(steps_run=steps))
    recorder.close()
    return path
