"""The memory estimate of a scenario (scenario/budget.py) against the peak a run really takes.

Each case trains a data-heavy scenario for a few steps in a fresh process and reads the peak
of its resident memory (VmHWM, reset once torch has loaded and a tiny run has warmed it up).
The estimate must be within ``FACTOR`` of that peak: it was about 2x low before (the inputs
were held twice while the data was made, and the estimate counted them once).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradtui.scenario.budget import estimate
from gradtui.scenario.spec import ScenarioSpec

ROOT = Path(__file__).resolve().parents[2]
LOW, HIGH = 0.9, 1.6  # estimate / measured peak: at most 10% low, at most 60% high

MEASURE = r"""
import json, sys
from pathlib import Path

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

import torch
from gradtui.scenario.headless import run_headless
from gradtui.scenario.spec import ScenarioSpec

def spec(fields):
    return ScenarioSpec.model_validate({"name": "m", "title": "m", "lesson": "", **fields})

run_headless(spec({"model": {"depth": 2, "width": 8}, "data": {"samples": 8, "inputs": 4},
                   "train": {"steps": 12, "batch": 4}}))
base = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from here
run_headless(spec(json.loads(sys.argv[1])))
print(status("VmHWM") - base)
"""

CASES = {
    "regression, 50k x 1024 inputs": {
        "model": {"depth": 4, "width": 64},
        "data": {"samples": 50_000, "inputs": 1024},
        "train": {"steps": 12, "batch": 64},
    },
    "inputs scaled by 3": {
        "model": {"depth": 4, "width": 64},
        "data": {"samples": 25_000, "inputs": 1024, "input_scale": 3.0},
        "train": {"steps": 12, "batch": 64},
    },
    "classification, 100 classes": {
        "model": {"depth": 4, "width": 64},
        "data": {"samples": 50_000, "inputs": 512, "outputs": 100, "task": "classification"},
        "train": {"steps": 12, "batch": 64},
    },
    "many outputs, full batch": {
        "model": {"depth": 2, "width": 64},
        "data": {"samples": 20_000, "inputs": 256, "outputs": 512},
        "train": {"steps": 3, "batch": 20_000},
    },
}


def measured_peak(fields: dict) -> int:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(fields)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads Linux's VmHWM")
@pytest.mark.parametrize("case", list(CASES))
def test_the_estimate_is_near_the_measured_peak(case: str):
    fields = CASES[case]
    spec = ScenarioSpec.model_validate({"name": "m", "title": "m", "lesson": "", **fields})
    parts = estimate(spec.model, spec.data, spec.train)
    peak = measured_peak(fields)
    assert parts["data"] > parts["weights"] + parts["activations"]  # data-heavy, as meant
    assert LOW <= sum(parts.values()) / peak <= HIGH, (parts, peak)


def test_inputs_scaled_back_are_counted_twice():
    fields = {"name": "m", "title": "m", "lesson": "", **CASES["inputs scaled by 3"]}
    spec = ScenarioSpec.model_validate(fields)
    plain = spec.data.model_copy(update={"input_scale": 1.0})
    scaled = estimate(spec.model, spec.data, spec.train)["data"]
    assert scaled > 1.8 * estimate(spec.model, plain, spec.train)["data"]
