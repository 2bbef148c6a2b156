"""Scenario files: their pydantic models, loading, and discovery. No torch here."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gradtui.recording.limits import MAX_INT
from gradtui.scenario.budget import too_big
from gradtui.scenario.files import ScenarioError, fail, read_toml
from gradtui.text import safe_line

SCENARIOS_ENV = "GRADTUI_SCENARIOS"  # extra scenario folders, separated by os.pathsep
MAX_SEED = 2**32 - 1

Activation = Literal["sigmoid", "tanh", "relu", "leaky_relu", "gelu", "identity"]


class _Strict(BaseModel):
    # strict: ``depth = true`` and ``zero_grad = "yes"`` are errors, not a depth of 1 and True.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class ModelSpec(_Strict):
    depth: int = Field(8, ge=1, le=64, description="hidden blocks, each one Linear + activation")
    width: int = Field(64, ge=1, le=1024)
    activation: Activation = "relu"
    residual: bool = False  # blocks after the first compute x + linear(act(norm(x)))
    norm: Literal["none", "batch", "layer"] = "none"
    init: Literal["default", "kaiming", "xavier", "small_uniform"] = "default"
    init_scale: float = Field(0.01, gt=0, le=10, description="half-width for small_uniform")


class DataSpec(_Strict):
    task: Literal["regression", "classification"] = "regression"
    samples: int = Field(512, ge=1, le=100_000)
    inputs: int = Field(16, ge=1, le=4096)
    outputs: int = Field(1, ge=1, le=1000)
    input_scale: float = Field(1.0, gt=0, le=1e6, description="inputs are N(0, scale^2)")
    seed: int = Field(0, ge=0, le=MAX_SEED)


class TrainSpec(_Strict):
    steps: int = Field(200, ge=1, le=1_000_000)
    batch: int = Field(64, ge=1, le=100_000)
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(0.01, gt=0, le=1e6)
    momentum: float = Field(0.0, ge=0, lt=1)
    clip_grad_norm: float = Field(0.0, ge=0, description="0 = off")
    zero_grad: bool = True
    heavy_every: int = Field(
        10, ge=1, le=MAX_INT, description="steps between the heavier statistics"
    )


class FaultSpec(_Strict):
    """Deliberate bugs, each one lesson of the notes."""

    detach_at: int | None = Field(None, ge=1, description="block whose input is detached")
    inplace_at: int | None = Field(
        None, ge=0, description="block whose activation output is then changed in place"
    )
    loss: Literal["log_softmax_manual"] | None = None
    untrained_at: int | None = Field(
        None, ge=0, description="block whose parameters the optimizer is never given"
    )


class ScenarioSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1, max_length=200)
    lesson: str = Field(max_length=8000)
    order: int = Field(
        1000,
        ge=0,
        le=1_000_000,
        description="place in the picker: 10, 20, ... start a "
        "topic (a problem); 11, 12, ... after it are its fixes",
    )
    model: ModelSpec = ModelSpec()
    data: DataSpec = DataSpec()
    train: TrainSpec = TrainSpec()
    fault: FaultSpec = FaultSpec()

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        depth = self.model.depth
        if self.fault.detach_at is not None and self.fault.detach_at >= depth:
            raise ValueError(f"fault.detach_at must be below model.depth ({depth})")
        if self.fault.inplace_at is not None and self.fault.inplace_at >= depth:
            raise ValueError(f"fault.inplace_at must be below model.depth ({depth})")
        if self.fault.untrained_at is not None and self.fault.untrained_at >= depth:
            raise ValueError(f"fault.untrained_at must be below model.depth ({depth})")
        if self.data.task == "classification" and self.data.outputs < 2:
            raise ValueError("data.outputs must be at least 2 for classification")
        if self.fault.loss == "log_softmax_manual" and self.data.task != "classification":
            raise ValueError("fault.loss 'log_softmax_manual' needs data.task = 'classification'")
        if (reason := too_big(self.model, self.data, self.train)) is not None:
            raise ValueError(reason)
        return self

    def with_overrides(self, steps: int | None = None, seed: int | None = None) -> ScenarioSpec:
        """A copy with the command line's --steps / --seed, validated like the file was."""
        data = self.model_dump()
        if steps is not None:
            data["train"]["steps"] = steps
        if seed is not None:
            data["data"]["seed"] = seed
        try:
            return ScenarioSpec.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            option = {"train.steps": "--steps", "data.seed": "--seed"}.get(
                ".".join(str(part) for part in first["loc"]), "option"
            )
            raise ScenarioError(safe_line(f"{option}: {_message(first)}", 300)) from None


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


def load_scenario(path: Path) -> ScenarioSpec:
    """Read and validate one scenario file, or raise ScenarioError with a one-line reason."""
    raw = read_toml(path)
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise fail(path, _first_error(exc)) from None
    except RecursionError:
        raise fail(path, "nested too deeply") from None
    if spec.name != path.stem:
        raise fail(path, f"name: '{spec.name}' must match the file name '{path.stem}'")
    return spec


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key" + _did_you_mean(error["loc"])
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _first_error(exc: ValidationError) -> str:
    """Every error of the file on one line, each naming its field: ``a: ...; b: ...``."""
    errors = exc.errors()
    shown = [_one_error(error) for error in errors[:MAX_ERRORS_SHOWN]]
    more = len(errors) - len(shown)
    return "; ".join(shown) + (f" (and {more} more)" if more else "")


MAX_ERRORS_SHOWN = 4


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    """``; did you mean 'depth'?`` for ``model.depht``, or nothing when no key is close."""
    model: Any = ScenarioSpec
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return ""
    if not loc or not isinstance(loc[-1], str):
        return ""
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _one_error(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    got = error.get("input")
    shown = ""
    if error["type"] not in ("missing", "extra_forbidden") and not isinstance(got, dict | list):
        shown = f", got {safe_line(repr(got), 40)}"
    if not error["loc"] and error["type"] == "value_error":  # the message names its fields
        return _message(error)
    return f"{safe_line(where, 60)}: {_message(error)}{shown}"


def builtin_scenario_dir() -> Path:
    """The shipped scenarios: inside the installed package, or at the top of a checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "scenarios"
    return installed if installed.is_dir() else package.parent / "scenarios"


def scenario_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    dirs = [builtin_scenario_dir()]
    from_env = os.environ.get(SCENARIOS_ENV, "")
    dirs += [Path(p) for p in from_env.split(os.pathsep) if p]
    dirs += list(extra)
    return dirs


@dataclass(frozen=True)
class Catalog:
    scenarios: dict[str, tuple[ScenarioSpec, Path]]
    skipped: list[Skipped]


def discover(extra: Iterable[Path] = ()) -> Catalog:
    """Every valid scenario in the shipped and user folders; later folders override earlier."""
    found: dict[str, tuple[ScenarioSpec, Path]] = {}
    skipped: list[Skipped] = []
    for folder in scenario_dirs(extra):
        if not folder.is_dir():
            skipped.append(Skipped(folder, f"{safe_line(str(folder))}: not a folder"))
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                spec = load_scenario(path)
            except ScenarioError as exc:
                skipped.append(Skipped(path, str(exc)))
                continue
            found[spec.name] = (spec, path)
    return Catalog(found, skipped)


def resolve(name_or_path: str, extra: Iterable[Path] = ()) -> ScenarioSpec:
    """A scenario by name (from discovery) or by the path of a .toml file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.is_file():
        return load_scenario(candidate)
    catalog = discover(extra)
    if name_or_path in catalog.scenarios:
        return catalog.scenarios[name_or_path][0]
    for skipped in catalog.skipped:
        if skipped.path.stem == name_or_path:
            raise ScenarioError(skipped.reason)
    close = difflib.get_close_matches(name_or_path, list(catalog.scenarios), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(f"'{name}'" for name in close) + "?"
    else:
        hint = "known: " + (", ".join(sorted(catalog.scenarios)) or "none")
    raise ScenarioError(safe_line(f"unknown scenario '{name_or_path}'; {hint}", 300))


def spec_as_data(spec: ScenarioSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json")
