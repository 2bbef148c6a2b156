"""Mutated real recordings: every reader skips what is bad, keeps what is good, never crashes.

Each case takes a committed recording, breaks it in one of the ways files break (a field of the
wrong type or length, an unknown severity or event type, invalid UTF-8, NULs, a cut, a
duplicated or swapped line, random bytes), and reads it with read_recording, the follower (in
random chunk sizes) and the report. Asserted: no exception but RecordingError, every warning is
one terminal-safe line naming the file, every event before the first damaged line is kept, and
the follower reads what the whole-file reader reads.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtui.recording import RecordingError, read_recording
from gradtui.recording.follow import Follower
from gradtui.recording.paths import expand
from gradtui.report.recorded import format_run_report, report_files
from gradtui.text import safe_line, safe_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDINGS = ["v1_scenario_relu_deep.jsonl", "v1_watch_mlp.jsonl", "v2_scenario_small.jsonl"]
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["NaN", "Infinity", "-Infinity", "error", "\x1b[2J", "\x1b]52;c;aGk=\x07"])
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _field_mutation(line: bytes, rng: random.Random, value: object) -> bytes:
    data = json.loads(line)
    if not isinstance(data, dict) or not data:
        return line
    key = rng.choice(sorted(data))
    action = rng.choice(["set", "delete", "shorten", "lengthen", "type"])
    if action == "set":
        data[key] = value
    elif action == "delete":
        del data[key]
    elif action == "shorten" and isinstance(data[key], list) and data[key]:
        data[key] = data[key][:-1]
    elif action == "lengthen" and isinstance(data[key], list):
        data[key] = data[key] + [value]
    elif action == "type":
        data["type"] = rng.choice(["step", "diagnosis", "run_started", "future_event", 3])
    return json.dumps(data).encode()


MUTATIONS = [
    "field",
    "field",
    "field",
    "severity",
    "bytes",
    "utf8",
    "nuls",
    "cut",
    "duplicate",
    "swap",
    "blank",
    "deep",
]


def mutate(lines: list[bytes], rng: random.Random, value: object, kind: str) -> tuple[bytes, int]:
    """The mutated file, and the index of the first line that may no longer be valid."""
    index = rng.randrange(1, len(lines))
    out = list(lines)
    if kind == "field":
        out[index] = _field_mutation(out[index], rng, value)
    elif kind == "severity":
        out[index] = (
            b'{"type":"diagnosis","kind":"x","severity":"fatal","step":0,"layers":[],'
            b'"message":"m","why":"w","fix":"f"}'
        )
    elif kind == "bytes":
        out[index] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
    elif kind == "utf8":
        out[index] = out[index][:20] + b"\xff\xfe\xc3" + out[index][20:]
    elif kind == "nuls":
        out[index] = b"\x00" * rng.randrange(1, 50) + out[index]
    elif kind == "duplicate":
        out.insert(index, out[index])
    elif kind == "swap" and index + 1 < len(out):
        out[index], out[index + 1] = out[index + 1], out[index]
    elif kind == "blank":
        out[index] = b"   "
    elif kind == "deep":
        out[index] = b"[" * 100_000 + b"]" * 100_000
    text = b"\n".join(out) + b"\n"
    if kind == "cut":
        offset = sum(len(line) + 1 for line in lines[:index])
        text = text[: offset + rng.randrange(len(lines[index]) + 1)]
    return text, index


def _lines(name: str) -> list[bytes]:
    return (FIXTURES / name).read_bytes().rstrip(b"\n").split(b"\n")


def _assert_safe_one_line(warning: str, path: Path) -> None:
    assert "\n" not in warning and safe_line(str(path), 300) in warning
    assert all(ch.isprintable() for ch in warning), warning


def _follow_all(path: Path, rng: random.Random) -> list:
    """The follower's events, the file handed over in random pieces."""
    import gradtui.recording.follow as follow

    follower = Follower(path)
    events = []
    saved = follow.READ_CHUNK
    try:
        for _ in range(10_000):
            follow.READ_CHUNK = rng.randrange(1, 4096)
            before = follower._offset
            events += follower.poll()
            if follower._offset == before:
                break
    finally:
        follow.READ_CHUNK = saved
    return events


@SETTINGS
@given(
    name=st.sampled_from(RECORDINGS),
    kind=st.sampled_from(MUTATIONS),
    seed=st.integers(0, 2**32 - 1),
    value=json_values,
)
def test_a_mutated_recording_is_read_without_a_crash(tmp_path, name, kind, seed, value):
    rng = random.Random(seed)
    lines = _lines(name)
    text, first_bad = mutate(lines, rng, value, kind)
    path = tmp_path / f"m\x1b[2J{seed}.jsonl"
    path.write_bytes(text)
    original = read_recording(FIXTURES / name).events
    kept_before = sum(1 for line in lines[1:first_bad] if line.strip())
    try:
        loaded = read_recording(path)
    except RecordingError as exc:
        pytest.fail(f"only a broken header may fail, got {exc}")
    assert loaded.events[:kept_before] == original[:kept_before]
    for warning in loaded.warnings:
        _assert_safe_one_line(warning, path)
    assert _follow_all(path, rng) == loaded.events
    try:
        reports = [report_files(group).report for group in expand([path])]
    except RecordingError as exc:
        _assert_safe_one_line(str(exc), path)
        return
    text = format_run_report(reports[0])
    assert safe_text(text) == text
    json.dumps(reports[0], allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(header=st.binary(max_size=80), rest=st.binary(max_size=200))
def test_random_bytes_are_one_clear_error_or_nothing(tmp_path_factory, header, rest):
    path = tmp_path_factory.mktemp("r") / "random.jsonl"
    path.write_bytes(header + b"\n" + rest)
    try:
        loaded = read_recording(path)
    except RecordingError as exc:
        _assert_safe_one_line(str(exc), path)
        return
    for warning in loaded.warnings:
        _assert_safe_one_line(warning, path)
