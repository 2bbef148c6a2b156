"""What tells side-by-side runs apart: the words their titles do not share.

Compare's headers are narrow; a title cut at its end loses the part that differs ("lr 0.…",
"Deep sig…"). Dropping the words every title shares, at the start and at the end, leaves the
difference; a shared lead word just before it is kept ("lr 0.05"), since a bare number says
little. Where a title has no words of its own, its scenario name stands for it.
"""

from __future__ import annotations

from collections.abc import Sequence


def distinct_titles(titles: Sequence[str], names: Sequence[str]) -> list[str]:
    """One short label per run, in order; ``names`` are the runs' scenario names."""
    if len(titles) < 2:
        return list(titles)
    words = [title.split() for title in titles]
    lead = _shared(words)
    tail = _shared([list(reversed(w[lead:])) for w in words])
    unique_names = len(set(names)) == len(names)
    out = []
    for title_words, name, title in zip(words, names, titles, strict=True):
        own = title_words[lead : len(title_words) - tail]
        if not own or not (lead or tail):  # nothing of its own, or nothing shared to drop
            out.append(name if unique_names else title)
            continue
        context = title_words[lead - 1 : lead] if lead and title_words[lead - 1].isalpha() else []
        out.append(" ".join(context + own).strip(" ·,:;"))
    return out


def _shared(words: Sequence[Sequence[str]]) -> int:
    """How many leading words every list shares (punctuation at a word's end aside)."""
    count = 0
    while all(count < len(w) for w in words) and len({w[count].rstrip(",;:") for w in words}) == 1:
        count += 1
    return count
