"""``gradtui sweep NAME --lr 0.01,0.1,1``: the same scenario at several learning rates.

Headless, each run trains in turn (one torch thread, as ``gradtui run``) and gives one row:
the largest total gradient norm, the final loss, and the step it went non-finite, if it did.
"""

from __future__ import annotations

import math
from typing import Any

from gradtui.learn.digest import RunDigest
from gradtui.learn.variants import with_lr
from gradtui.scenario.spec import ScenarioError, ScenarioSpec


def parse_lrs(text: str) -> list[float]:
    try:
        lrs = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ScenarioError(f"--lr: expected numbers separated by commas, got {text!r}") from None
    if not lrs or any(not math.isfinite(lr) or lr < 0 for lr in lrs):
        raise ScenarioError(f"--lr: expected non-negative numbers, got {text!r}")
    return lrs


def sweep_specs(spec: ScenarioSpec, lrs: list[float]) -> list[ScenarioSpec]:
    return [with_lr(spec, lr) for lr in lrs]


def run_sweep(specs: list[ScenarioSpec]) -> list[dict[str, Any]]:
    import torch

    from gradtui.scenario.loop import run

    torch.set_num_threads(1)
    rows = []
    for spec in specs:
        digest = RunDigest()
        torch.manual_seed(spec.data.seed)
        run(spec, digest.absorb)
        rows.append(
            {
                "lr": spec.train.lr,
                "steps": digest.steps,
                "max_grad_norm": digest.max_grad_norm,
                "final_loss": digest.final_loss,
                "nonfinite_step": digest.first_nonfinite_step,
                "failed": digest.failure.message if digest.failure else None,
            }
        )
    return rows


def format_sweep(name: str, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{name}: the same run at {len(rows)} learning rates",
        f"{'lr':>10}  {'steps':>5}  {'largest |grad|':>14}  {'final loss':>10}  outcome",
    ]
    for row in rows:
        outcome = (
            "failed" if row["failed"] else
            f"non-finite at step {row['nonfinite_step']}" if row["nonfinite_step"] is not None
            else "trains"
        )  # fmt: skip
        final = row["final_loss"]
        lines.append(
            f"{row['lr']:>10g}  {row['steps']:>5}  {row['max_grad_norm']:>14.3e}  "
            f"{final if final is None else f'{final:.3e}':>10}  {outcome}"
        )
    blown = [row["lr"] for row in rows if row["nonfinite_step"] is not None]
    fine = [row["lr"] for row in rows if row["nonfinite_step"] is None and not row["failed"]]
    if blown and fine:
        lines.append(
            f"it trains at lr {max(fine):g} and blows up at lr {min(blown):g}: the threshold "
            "lies between"
        )
    return "\n".join(lines)


def json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def clean(value: Any) -> Any:
        return value if not isinstance(value, float) or math.isfinite(value) else None

    return [{k: clean(v) for k, v in row.items()} for row in rows]
