"""The picker's pure helpers: matching a filter, the course order, a scenario in one line."""

from __future__ import annotations

from gradtui.scenario.spec import ScenarioSpec

TOPIC = 10  # an `order` that is a multiple of this starts a topic; the ones after are its fixes


def matches(words: list[str], *fields: str) -> bool:
    haystack = " ".join(fields).lower()
    return all(word in haystack for word in words)


def match_rank(words: list[str], *fields: str) -> int | None:
    """How early ``fields`` match: 0 when the first field alone holds every word, 1 when the
    first two do, and so on; None when even all of them together do not."""
    return next((i for i in range(len(fields)) if matches(words, *fields[: i + 1])), None)


def course_key(spec: ScenarioSpec) -> tuple[int, int]:
    """(topic, place in it): the problem first (place 0), then its fixes."""
    return divmod(spec.order, TOPIC)


def summary_phrases(spec: ScenarioSpec) -> list[tuple[str, str]]:
    """The scenario in short phrases, each with the separator after it (a line may break
    only between two): model; training; extras."""
    m, t = spec.model, spec.train
    extras = [f"clip {t.clip_grad_norm:g}" if t.clip_grad_norm else "", "residual" * m.residual]
    extras += [f"norm {m.norm}" if m.norm != "none" else "", f"init {m.init}"]
    shown = [e for e in extras if e and e != "init default"]
    groups = [
        [f"{m.depth} blocks × {m.width} wide", m.activation],
        [f"{t.optimizer} lr {t.lr:g}", f"{t.steps} steps", f"batch {t.batch}"],
        shown,
    ]
    phrases = []
    for group in (g for g in groups if g):
        phrases += [(phrase, ", ") for phrase in group]
        phrases[-1] = (phrases[-1][0], "; ")
    return phrases


def spec_summary(spec: ScenarioSpec) -> str:
    return "".join(p + sep for p, sep in summary_phrases(spec)).removesuffix("; ")
