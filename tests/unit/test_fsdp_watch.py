"""gradtui.watch on FSDP2 models (1-D and 2x2 hybrid meshes, gloo ranks on 127.0.0.1): every
step's per-layer statistics equal those of an unsharded twin fed all ranks' batches at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradtui.events import Diagnosis, RunStarted
from gradtui.recording import read_recording
from gradtui.report.recorded import report_files
from tests.unit import fsdp_watched
from tests.unit.rank_spawn import free_port, run_ranks_script

# Gradient statistics are sums of squares over the same entries in another order: float32
# rounding only. An update is the difference of two float32 weights about 100x its size, so
# its norm keeps about 1e-5 of relative precision (more than the twin's own rounding).
EXACT = 1e-6
# The largest entry is one entry, not a sum over many: its rounding is that of one sum over
# the batch in another order (twin: 12 samples at once; ranks: 6 each, then added), a few
# float32 ulps; measured up to 3e-6 on the transformer block.
ENTRY = 1e-5
UPDATE = 1e-3
GRADIENT_FIELDS = ("grad_norm", "grad_mean_abs", "grad_max_abs", "grad_zero_frac")


def run_ranks(tmp_path: Path, world: int, kind: str, opt: str, *extra: str) -> Path:
    out = tmp_path / "ranks"
    out.mkdir()
    script = Path(fsdp_watched.__file__)
    run_ranks_script(script, str(world), free_port(), str(out), kind, opt, *extra)
    return out


def steps(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def close(got: list | None, want: list | None, rel: float) -> bool:
    if got is None or want is None:
        return got == want
    return all(
        (a is None and b is None) or abs(a - b) <= rel * max(abs(b), 1e-12)
        for a, b in zip(got, want, strict=True)
    )


def findings(path: Path) -> list[Diagnosis]:
    events = read_recording(path).events
    return [e for e in events if isinstance(e, Diagnosis) and e.severity != "info"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("world", "kind", "opt", "extra"),
    [
        (2, "mlp", "adam", ()),
        (4, "mlp", "adam", ()),
        (2, "block", "adam", ()),
        (4, "block", "sgd", ()),
        # Three micro-batches a step, gradient sync off for the first two: .grad stays None
        # until the last, which must not read as a missing gradient or a missing zero_grad.
        (2, "mlp", "adam", ("--accumulate", "3")),
        # Ranks that disagree on which steps are slow (written at once) must not disagree
        # on the collectives they call: before, this one hung.
        (2, "mlp", "adam", ("--slow-rank", "0")),
        # CPUOffloadPolicy: the shards and their gradients on the CPU (here the mesh's
        # device too; on GPUs the probe moves its few values to the mesh's device to reduce).
        (2, "block", "adam", ("--offload", "cpu")),
    ],
)
def test_sharded_statistics_equal_the_unsharded_twins(tmp_path, world, kind, opt, extra) -> None:
    out = run_ranks(tmp_path, world, kind, opt, *extra)
    fsdp_watched.train_twin(kind, opt, world, str(tmp_path / "twin.jsonl"))
    twin = steps(tmp_path / "twin.jsonl.steps.json")
    assert len(twin) == fsdp_watched.STEPS
    for rank in range(world):
        got = steps(out / f"rank{rank}.steps.json")
        assert [s["step"] for s in got] == [s["step"] for s in twin]
        for mine, theirs in zip(got, twin, strict=True):
            where = f"rank {rank} step {mine['step']}"
            total = [mine["grad_norm_total"]], [theirs["grad_norm_total"]]
            assert close(*total, EXACT), where
            for field in GRADIENT_FIELDS:
                rel = ENTRY if field == "grad_max_abs" else EXACT
                assert close(mine[field], theirs[field], rel), (where, field)
            assert mine["nonfinite"] == theirs["nonfinite"]
            assert close(mine["update_ratio"], theirs["update_ratio"], UPDATE), where
            if opt == "adam":  # plain SGD's twin reads its weights only now and then
                assert close(mine["weight_norm"], theirs["weight_norm"], EXACT), where
        assert findings(out / f"run.rank{rank}.jsonl") == []
    assert [d for d in merged_findings(out, world) if d["severity"] != "info"] == []


def merged_findings(out: Path, world: int) -> list[dict]:
    files = [out / f"run.rank{r}.jsonl" for r in range(world)]
    return report_files(files).report["diagnoses"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("world", "nan", "layers", "cause"),
    [
        (2, "input:3:1", [], "the loss of rank 1 was non-finite"),
        (4, "input:2:3", [], "the loss of rank 3 was non-finite"),
        (2, "grad:3:1", ["0"], "were all in the shard held by rank 1"),
        # Hybrid: rank 1 holds a copy of rank 3's shard; a NaN put into one copy after the
        # reduction is still seen, and skipped, by every rank.
        (4, "grad:4:1", ["0"], "were all in the shard held by rank 1"),
    ],
)
def test_a_nan_is_told_by_rank_and_every_rank_skips_the_step(
    tmp_path, world, nan, layers, cause
) -> None:
    out = run_ranks(tmp_path, world, "mlp", "adam", "--nan", nan)
    where, step, _ = nan.split(":")
    for r in range(world):
        assert json.loads((out / f"rank{r}.skipped.json").read_text()) == [int(step)]
    found = merged_findings(out, world)
    first = found[0]
    assert (first["kind"], first["severity"]) == ("nonfinite_rank", "error")
    assert first["step"] == int(step)
    assert first["layers"] == layers
    assert cause in first["message"]
    if where == "input":
        assert "batch" in first["fix"]
    else:
        assert "set_detect_anomaly" in first["fix"] and "whose batch" not in first["fix"]
    # Each rank's own guess gives way to the finding that names the rank.
    others = [d for d in found[1:] if d["kind"] == "nonfinite"]
    assert others and all(d["severity"] == "info" for d in others)
    assert all(d["severity"] == "info" for d in found[1:])


@pytest.mark.slow
def test_under_a_bfloat16_policy_it_records_what_the_optimizer_sees(tmp_path) -> None:
    """MixedPrecisionPolicy computes in bfloat16 and keeps float32 shards: the gradients the
    optimizer steps with are float32, reduced in float32, and those are what is recorded."""
    out = run_ranks(tmp_path, 2, "mlp", "adam", "--precision", "bf16")
    fsdp_watched.train_twin("mlp", "adam", 2, str(tmp_path / "twin.jsonl"))
    twin = steps(tmp_path / "twin.jsonl.steps.json")
    for rank in range(2):
        events = read_recording(out / f"run.rank{rank}.jsonl").events
        started = next(e for e in events if isinstance(e, RunStarted))
        assert started.param_dtype == "float32"
        got = steps(out / f"rank{rank}.steps.json")
        for mine, theirs in zip(got, twin, strict=True):  # bfloat16 keeps 8 bits of mantissa
            assert close(mine["grad_norm"], theirs["grad_norm"], 0.05), mine["step"]
        assert findings(out / f"run.rank{rank}.jsonl") == []
