"""Which links of the chain carry a collapse or a growth, and why, in words: the sentences
the vanishing and exploding findings quote."""

from __future__ import annotations

import math

from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.chain import ChainTracker
from gradtui.diagnosis.words import geometric_mean, link_span, readable, runs, times


def dead_owner(j: int, dead: dict[int, float]) -> int | None:
    """The mostly-dead block that explains link j: block j itself (its activation inside it,
    as in the scenarios' blocks), else block j-1 (an activation defined after its block, as in
    Sequential(Linear, ReLU, Linear, ...), whose gradient shows up in the next link)."""
    if j in dead:
        return j
    if j - 1 in dead:
        return j - 1
    return None


def _dead_words(j: int, dead: dict[int, float], names: tuple[str, ...]) -> str:
    owner = dead_owner(j, dead)
    assert owner is not None
    share = dead[owner]
    amount = "every unit" if share >= T.DEAD_ERROR_FRAC else f"{share:.0%} of the units"
    where = "there" if owner == j else f"of {readable(names[owner])}, right before it,"
    verb = "is" if share >= T.DEAD_ERROR_FRAC else "are"
    return f"{amount} {where} {verb} dead"


def culprit_links(
    chain: ChainTracker,
    shrinking: bool,
    dead: dict[int, float] | None = None,
    skip_zero: bool = False,
) -> str:
    """Name the links that contribute most to the product, from their median gains. A link
    explained by a mostly dead block (``dead``: block -> share of dead units; see
    ``dead_owner``) says so, else a link that cuts to exactly zero is float32 underflow."""
    dead = dead or {}
    names = chain.names
    medians = {j: chain.gain_median(j) for j in range(1, len(names))}
    known = {j: m for j, m in medians.items() if m is not None}
    if shrinking:
        strong = [j for j, m in known.items() if m <= T.LINK_SHRINK]
        mild = [j for j, m in known.items() if m < 1]
    else:
        strong = [j for j, m in known.items() if m >= T.LINK_GROW]
        mild = [j for j, m in known.items() if m > 1]
    verb = "shrink" if shrinking else "grow"
    chosen = strong or mild
    if skip_zero:
        chosen = [j for j in chosen if known[j] > 0]
    zero = [j for j in chosen if known[j] == 0]
    by_dead = [j for j in chosen if known[j] > 0 and shrinking and dead_owner(j, dead) is not None]
    plain = [j for j in chosen if known[j] > 0 and j not in by_dead]
    spans = [(span, "plain") for span in _largest_runs(plain, known)]
    spans += [((j, j), "dead") for j in by_dead] + [((j, j), "zero") for j in zero]
    parts = []
    for (first, last), how in sorted(spans):
        span = link_span(first, last, names)
        if how == "zero":
            if dead_owner(first, dead) is not None:
                words = _dead_words(first, dead, names)
                parts.append(f"{span} cut it to zero on most recent steps: {words}")
            else:
                parts.append(f"{span} cut it to zero on most recent steps (float32 underflow)")
            continue
        factor = geometric_mean([known[j] for j in range(first, last + 1)])
        factor = 1 / factor if shrinking else factor
        each = f"each {verb}" if last > first else f"{verb}s"
        text = f"{span} {each} the gradient about {times(factor)}"
        if how == "dead":
            text += f": {_dead_words(first, dead, names)}"
        parts.append(text)
    if not parts:
        return ""
    sentence = "; ".join(parts)
    if not strong:
        sentence = f"no single link is to blame: {sentence}, and the small factors multiply"
    unknown = [j for j, m in medians.items() if m is None]
    if shrinking and unknown and min(unknown) < min(chosen, default=len(names)):
        below = readable(names[max(unknown)])
        sentence += f"; below {below} the gradient is exactly zero (it underflowed)"
    return sentence[0].upper() + sentence[1:] + "."


def zero_cut_links(chain: ChainTracker, dead: dict[int, float]) -> str:
    """This step's links that turn a non-zero gradient into exactly zero, and why: the story
    of a gradient that arrives as exactly zero (no shrink factors beside it)."""
    names = chain.names
    parts = []
    for j in sorted(_zero_cuts(chain)):
        if dead_owner(j, dead) is not None:
            parts.append(f"{link_span(j, j, names)} cuts it to zero: {_dead_words(j, dead, names)}")
        else:
            parts.append(f"{link_span(j, j, names)} cuts it to zero (float32 underflow)")
    if not parts:
        return ""
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def explained_by_dead(chain: ChainTracker, d: float, dead: dict[int, float]) -> bool:
    """The collapse is the dead units' story: every link that cuts the gradient (to zero, when
    it arrives as zero; else every strongly shrinking link) belongs to a mostly dead block."""
    if not dead:
        return False
    if d == 0:
        cuts = _zero_cuts(chain)
    else:
        medians = {j: chain.gain_median(j) for j in range(1, len(chain.names))}
        cuts = frozenset(j for j, m in medians.items() if m is not None and m <= T.LINK_SHRINK)
    return bool(cuts) and all(dead_owner(j, dead) is not None for j in cuts)


def _zero_cuts(chain: ChainTracker) -> frozenset[int]:
    """Links that turn a non-zero gradient into exactly zero this step."""
    return frozenset(j for j, gain in enumerate(chain.gain) if gain == 0)


def _largest_runs(indices: list[int], gains: dict[int, float]) -> list[tuple[int, int]]:
    """The three runs of consecutive links that move the product the most, in link order."""

    def weight(span: tuple[int, int]) -> float:
        return sum(abs(math.log(max(gains[j], 1e-300))) for j in range(span[0], span[1] + 1))

    best = sorted(runs(indices), key=weight, reverse=True)[:3]
    return sorted(best)
