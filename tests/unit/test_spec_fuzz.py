"""Generated scenario files: each loads, or is one short terminal-safe line naming the file.

Three sources of documents: scenario-shaped tables with values of any TOML type (huge integers,
nan, booleans where numbers go, control characters in strings and keys), the shipped scenario
files with random edits, and random bytes. Any exception but ScenarioError fails the test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtui.scenario.spec import ScenarioError, ScenarioSpec, builtin_scenario_dir, load_scenario

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KNOWN = {
    "model": ["depth", "width", "activation", "residual", "norm", "init", "init_scale"],
    "data": ["task", "samples", "inputs", "outputs", "input_scale", "seed"],
    "train": ["steps", "batch", "optimizer", "lr", "momentum", "clip_grad_norm", "zero_grad"],
    "fault": ["detach_at", "inplace_at", "loss", "untrained_at"],
}
WORDS = ["relu", "sigmoid", "adam", "sgd", "batch", "kaiming", "classification", "yes", "true"]

scalars = (
    st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.integers(min_value=0, max_value=40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.sampled_from(WORDS)
    | st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


@st.composite
def scenario_documents(draw) -> str:
    lines = [f"name = {toml_value(draw(st.sampled_from(['fuzz', 'fuzz', 'other', 'Fuzz!'])))}"]
    for key in ("title", "lesson"):
        if draw(st.integers(0, 9)):
            text = st.text(min_size=1, max_size=40)
            lines.append(f"{key} = {toml_value(draw(text | text | scalars))}")
    for table, keys in KNOWN.items():
        if not draw(st.booleans()):
            continue
        lines.append(f"[{table}]")
        for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
            lines.append(f"{key} = {toml_value(draw(values))}")
        if draw(st.integers(0, 5)) == 0:
            lines.append(f"{toml_string(draw(st.text(max_size=8)))} = {toml_value(draw(values))}")
    return "\n".join(lines) + "\n"


def assert_loads_or_one_line(path: Path) -> ScenarioSpec | None:
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        message = str(exc)
        assert "\n" not in message and message.isprintable(), repr(message)
        assert len(message) <= 300
        assert message.startswith(str(path)), message
        return None


@SETTINGS
@given(document=scenario_documents())
def test_generated_scenario_tables(tmp_path, document):
    path = tmp_path / "fuzz.toml"
    path.write_text(document, encoding="utf-8", errors="surrogatepass")
    spec = assert_loads_or_one_line(path)
    if spec is not None:
        assert spec.name == "fuzz"


SHIPPED = sorted(p.read_text() for p in builtin_scenario_dir().glob("*.toml"))


@SETTINGS
@given(
    text=st.sampled_from(SHIPPED),
    edits=st.lists(
        st.tuples(st.integers(0, 2000), st.integers(0, 20), st.text(max_size=12)), max_size=4
    ),
)
def test_shipped_scenarios_with_random_edits(tmp_path, text, edits):
    for at, cut, insert in edits:
        at = at % (len(text) + 1)
        text = text[:at] + insert + text[at + cut :]
    path = tmp_path / "edited.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    assert_loads_or_one_line(path)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("s") / "bytes.toml"
    path.write_bytes(data)
    assert_loads_or_one_line(path)
