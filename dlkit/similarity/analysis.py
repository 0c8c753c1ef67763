"""Pairs of notebooks scored, their common fragments found, and the pairs that stand out listed.

A notebook's code becomes copydetect's filtered text (names ``V``/``F``, strings ``S``, no
comments or layout) and the hash of every k-gram of it (window 1: every k-gram is kept, so no
score depends on Python's hash seed). Boilerplate is taken out before any pair is scored:

- *given* code: the starter, its public tests, every ``--template`` file;
- *class-wide* code: k-grams found in more than ``common_share`` of the submissions, and the
  instructor's sources (``--against``), which is how the lab manual and a tutorial half the
  class followed stop raising pairs, with or without a starter (free-form notebooks).

Two notebooks' common k-grams are chained along diagonals into fragments (a run of code that
is the same in both, in order); the longest fragments are kept first and each character of
either notebook belongs to at most one fragment, so a line repeated five times is not counted
five times against one copy of it. A pair gets both shares, its matched tokens, its longest
fragment and its fragment count; it is ranked on the symmetric similarity (the tokens of both
notebooks in fragments over the tokens of both), the longest fragment breaking ties. A pair is
*listed* when it stands out from the experiment's own distribution of pairs, and says why.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dlkit.errors import DlkitError
from dlkit.similarity.cells import normalise_literals

#: copydetect's k: characters of filtered code (``V.V(V,V=S)`` ...) in one k-gram; the
#: report calls these characters tokens, as copydetect does.
K = 20
#: the shortest fragment that counts: shorter common runs are one idiom, no evidence.
MIN_FRAGMENT = 32
#: a pair is listed only when this many tokens of one notebook match (two lines of the most
#: common idiom in an otherwise empty notebook are no evidence; a full answer has 300-450).
MIN_MATCHED = 80
#: a k-gram in more than this share of the submissions is class-wide boilerplate ...
COMMON_SHARE = 0.5
#: ... when at least this many notebooks are compared (in a class of 3, 2 copies are 67 %).
MIN_CLASS_FOR_COMMON = 6
#: a pair is listed this many spreads (1.4826 x the median absolute deviation, a robust
#: standard deviation) above the median pair in similarity, or in longest fragment with a
#: similarity at least half as many spreads above it (one long common cell, little else),
#: when the two are each other's closest notebook; twice as many in similarity otherwise.
OUTLIER = 4.0
#: the spreads are never taken smaller than these (a class of near-identical zeros).
SIMILARITY_SPREAD_FLOOR = 0.06
FRAGMENT_SPREAD_FLOOR = 16.0
#: with fewer pairs there is no distribution to stand out from: the fixed bar applies.
MIN_PAIRS = 10
SMALL_CLASS_BAR = 0.5
#: a student is listed against an instructor's source when this share of their code is in it.
SOURCE_SHARE = 0.6
#: a k-gram repeated more than this in both notebooks is paired in order, not every way.
MAX_REPEATS = 32


_WORD = re.compile(r"\w|\.\d")


class SimilarityError(DlkitError):
    """A similarity report that cannot be made (no starter released, nothing collected)."""


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Notebook:
    """One notebook's own code as compared: a student's submission or an instructor's source."""

    key: str  # the roll number, or the source's path inside the --against folder
    label: str  # the student's name, or "" for a source
    path: Path
    code: str  # the code that counts, as shown side by side
    tokens: int  # tokens fingerprinted once boilerplate is out
    note: str = ""  # e.g. "code cut at 100000 characters"


@dataclass(frozen=True)
class Skipped:
    """A notebook that could not be compared, and why; the rest of the batch goes on."""

    key: str
    label: str
    path: Path
    reason: str


@dataclass(frozen=True)
class Fragment:
    """A run of code the same in both notebooks: ``a``/``b`` are character slices of each
    ``Notebook.code``, ``length`` the tokens (filtered characters) it spans."""

    length: int
    a: tuple[int, int]
    b: tuple[int, int]


@dataclass(frozen=True)
class Match:
    """Two notebooks scored. ``tokens_a``/``tokens_b``: tokens of each inside fragments."""

    a: str
    b: str
    share_a: float
    share_b: float
    similarity: float  # (tokens_a + tokens_b) / (all tokens of a + all tokens of b)
    tokens_a: int
    tokens_b: int
    longest: int  # tokens of the longest fragment
    fragments: tuple[Fragment, ...] = ()  # longest first
    listed: bool = False
    reasons: tuple[str, ...] = ()
    #: the two notebooks are identical once outputs, execution counts and metadata are removed
    #: (graded with one execution): listed first, whatever the class looks like
    identical: bool = False

    @property
    def score(self) -> float:
        return self.similarity

    @property
    def tokens(self) -> int:
        return max(self.tokens_a, self.tokens_b)

    def rank_key(self) -> tuple:
        return (not self.identical, -self.similarity, -self.longest, self.a, self.b)


@dataclass(frozen=True)
class Cluster:
    """Three or more students joined by listed pairs."""

    members: tuple[str, ...]
    pairs: int  # listed pairs among them
    top: float  # the highest similarity among those pairs


@dataclass(frozen=True)
class Settings:
    """How boilerplate is found and pairs are listed; every default is written once, here."""

    common_share: float = COMMON_SHARE
    outlier: float = OUTLIER
    threshold: float | None = None  # also list every pair at or above this similarity
    source_share: float = SOURCE_SHARE


@dataclass(frozen=True)
class Baseline:
    """The experiment's distribution of pairs that a listed pair stands out from."""

    pairs: int
    similarity_median: float = 0.0
    similarity_spread: float = 0.0
    fragment_median: float = 0.0
    fragment_spread: float = 0.0

    @property
    def usable(self) -> bool:
        return self.pairs >= MIN_PAIRS


@dataclass
class SimilarityReport:
    experiment: str
    title: str
    settings: Settings
    students: list[Notebook]
    references: list[Notebook]
    pairs: list[Match]  # every pair of students, ranked
    sources: list[Match]  # listed (student, reference) matches
    clusters: list[Cluster]
    baseline: Baseline
    boilerplate: dict[str, int] = field(default_factory=dict)  # where from -> k-grams removed
    templates: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    empty: list[Notebook] = field(default_factory=list)  # nothing of their own to compare

    @property
    def threshold(self) -> float | None:
        return self.settings.threshold

    @property
    def flagged(self) -> list[Match]:
        return [p for p in self.pairs if p.listed]

    def source_of(self, key: str) -> Match | None:
        """The instructor's source a student's code came from (the largest share), if any."""
        return max((m for m in self.sources if m.a == key), key=lambda m: m.share_a, default=None)

    def closest(self, key: str) -> Match | None:
        """The student's first pair in the ranking."""
        return next((p for p in self.pairs if key in (p.a, p.b)), None)

    def summary(self) -> str:
        text = (f"{self.experiment}: {len(self.students)} notebook(s) compared, "
                f"{len(self.flagged)} pair(s) listed of {len(self.pairs)}, "
                f"{len(self.clusters)} cluster(s) of 3 or more")
        if self.references:
            text += (f", {len({m.a for m in self.sources})} student(s) matching "
                     f"{len(self.references)} source(s)")
        lines = [text]
        lines += [f"  listed  {p.a} {p.b}  similarity {p.similarity:.2f}, longest fragment "
                  f"{p.longest}: {'; '.join(p.reasons)}" for p in self.flagged[:20]]
        lines += [f"  not compared  {s.key}: {s.reason}" for s in self.skipped]
        lines += [f"  no own code   {n.key}" for n in self.empty]
        return "\n".join(lines)


# --------------------------------------------------------------------------- fingerprints

@dataclass
class Fingerprint:
    """copydetect's filtered text of a notebook's code and the hash of every k-gram of it."""

    code: str
    filtered: str
    offsets: np.ndarray  # copydetect's map from filtered positions back to ``code``
    hashes: list[int]
    index: dict[int, list[int]] = field(default_factory=dict)  # kept hash -> positions
    covered: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per k-gram position

    @classmethod
    def of(cls, code: str) -> Fingerprint:
        from copydetect.utils import filter_code

        filtered, offsets = filter_code(normalise_literals(code), "answer.py", "python")
        hashes = [hash(filtered[i:i + K]) for i in range(len(filtered) - K + 1)]
        fingerprint = cls(code, filtered, offsets, hashes)
        fingerprint.keep(frozenset())
        return fingerprint

    def keep(self, boilerplate: frozenset[int] | set[int]) -> Fingerprint:
        """This fingerprint, its index rebuilt without the ``boilerplate`` hashes (all weighing 1)."""
        index: dict[int, list[int]] = {}
        for position, value in enumerate(self.hashes):
            if value not in boilerplate:
                index.setdefault(value, []).append(position)
        covered = np.zeros(len(self.filtered), bool)
        kept = np.fromiter((p for ps in index.values() for p in ps), int)
        for offset in range(K):
            covered[kept + offset] = True
        weights = np.zeros(len(self.hashes))
        weights[kept] = 1.0
        self.index, self.covered, self.weights = index, covered, weights
        return self

    def weigh(self, notebooks_with: Counter, notebooks: int) -> Fingerprint:
        """Each kept k-gram weighed by its rarity in the class: ``log(n / df) / log(n)``, 1
        for code no classmate has, less the more of them have it."""
        if notebooks < MIN_CLASS_FOR_COMMON:
            return self
        for value, positions in self.index.items():
            self.weights[positions] = max(math.log(notebooks / notebooks_with[value]), 0.0) \
                / math.log(notebooks)
        return self

    @property
    def tokens(self) -> int:
        return int(self.covered.sum())

    def to_code(self, start: int, end: int) -> tuple[int, int]:
        """A ``[start, end)`` slice of the filtered text as a slice of ``code``: from the first
        token's first character to the last token's last (no comment or blank line after it)."""
        if len(self.offsets) == 0 or end <= start:
            return start, end
        where = np.clip(np.searchsorted(self.offsets[:, 0], [start, end - 1]), 0,
                        len(self.offsets) - 1)
        first, last = (int(v) for v in np.array([start, end - 1]) + self.offsets[where, 1])
        last += 1
        while last < len(self.code) and _WORD.match(self.code, last):
            last += 1  # the rest of a name or number that copydetect wrote as one letter
        return min(first, len(self.code)), min(last, len(self.code))


def runs(a: Fingerprint, b: Fingerprint) -> list[tuple[int, int, int]]:
    """Every maximal run of k-grams common to ``a`` and ``b`` in the same order, as
    ``(start in a, start in b, tokens)``, the runs' characters contiguous in both."""
    common = a.index.keys() & b.index.keys()
    if not common:
        return []
    starts: list[tuple[int, int]] = []
    for value in common:
        left, right = a.index[value], b.index[value]
        if len(left) * len(right) > MAX_REPEATS:
            starts += [(i - j, i) for i, j in zip(left, right)]  # noqa: B905 (shorter wins)
        else:
            starts += [(i - j, i) for i in left for j in right]
    starts.sort()
    found, (diagonal, first), last = [], starts[0], starts[0][1]
    for d, i in starts[1:]:
        if d == diagonal and i - last <= K:  # characters touch: one run
            last = i
            continue
        found.append((first, first - diagonal, last - first + K))
        diagonal, first, last = d, i, i
    found.append((first, first - diagonal, last - first + K))
    return found


def fragments(a: Fingerprint, b: Fingerprint) -> list[tuple[int, int, int]]:
    """The runs of ``a`` and ``b`` longest first, each character of either in one at most
    (a run that overlaps a longer one keeps the rest), none under MIN_FRAGMENT tokens."""
    taken_a, taken_b = bytearray(len(a.filtered)), bytearray(len(b.filtered))
    kept = []
    for i, j, length in sorted(runs(a, b), key=lambda r: (-r[2], r[0], r[1])):
        if length < MIN_FRAGMENT:
            break
        start, end = 0, length
        while start < end and (taken_a[i + start] or taken_b[j + start]):
            start += 1
        while end > start and (taken_a[i + end - 1] or taken_b[j + end - 1]):
            end -= 1
        if end - start < MIN_FRAGMENT or taken_a.find(1, i + start, i + end) >= 0 \
                or taken_b.find(1, j + start, j + end) >= 0:
            continue
        taken_a[i + start:i + end] = b"\1" * (end - start)
        taken_b[j + start:j + end] = b"\1" * (end - start)
        kept.append((i + start, j + start, end - start))
    return kept


def compare(key_a: str, a: Fingerprint, key_b: str, b: Fingerprint) -> Match:
    """Two fingerprints scored on their fragments (boilerplate already out of both)."""
    found = fragments(a, b)
    if not found:
        return Match(key_a, key_b, 0.0, 0.0, 0.0, 0, 0, 0)
    in_a, in_b = np.zeros(len(a.filtered), bool), np.zeros(len(b.filtered), bool)
    for i, j, length in found:
        in_a[i:i + length] = True
        in_b[j:j + length] = True
    tokens_a, tokens_b = int((in_a & a.covered).sum()), int((in_b & b.covered).sum())
    all_a, all_b = a.tokens, b.tokens
    weight = sum(float(a.weights[i:i + n - K + 1].sum() + b.weights[j:j + n - K + 1].sum())
                 for i, j, n in found)
    total = float(a.weights.sum() + b.weights.sum())
    return Match(
        key_a, key_b, share_a=tokens_a / all_a if all_a else 0.0,
        share_b=tokens_b / all_b if all_b else 0.0,
        similarity=min(weight / total, 1.0) if total else 0.0,
        tokens_a=tokens_a, tokens_b=tokens_b, longest=found[0][2],
        fragments=tuple(Fragment(length, a.to_code(i, i + length), b.to_code(j, j + length))
                        for i, j, length in found))


# --------------------------------------------------------------------------- boilerplate

def notebooks_with(fingerprints: Sequence[Fingerprint]) -> Counter:
    """For each k-gram, the number of notebooks that have it."""
    return Counter(value for f in fingerprints for value in f.index)


def common_hashes(fingerprints: Sequence[Fingerprint], share: float) -> set[int]:
    """The k-grams found in more than ``share`` of the notebooks (none in a small class)."""
    if len(fingerprints) < MIN_CLASS_FOR_COMMON or share >= 1:
        return set()
    counts = notebooks_with(fingerprints)
    return {value for value, count in counts.items() if count > share * len(fingerprints)}


# --------------------------------------------------------------------------- listing

def baseline(pairs: Sequence[Match]) -> Baseline:
    """Median and robust spread (1.4826 x MAD) of the pairs' similarity and longest fragment."""
    if len(pairs) < MIN_PAIRS:
        return Baseline(len(pairs))

    def centre(values: list[float], floor: float) -> tuple[float, float]:
        median = statistics.median(values)
        spread = 1.4826 * statistics.median(abs(v - median) for v in values)
        return median, max(spread, floor)

    s_median, s_spread = centre([p.similarity for p in pairs], SIMILARITY_SPREAD_FLOOR)
    f_median, f_spread = centre([float(p.longest) for p in pairs], FRAGMENT_SPREAD_FLOOR)
    return Baseline(len(pairs), s_median, s_spread, f_median, f_spread)


def reasons(pair: Match, base: Baseline, settings: Settings, mutual: bool = True
            ) -> tuple[str, ...]:
    """Why ``pair`` is listed (nothing when it is not): each rule it meets, in words.

    ``mutual``: neither notebook has a pair of higher similarity with anyone else. A copy and
    its source nearly always are; a classmate who resembles the source (and so the copy too)
    is not, and is listed only when the pair is twice as far out."""
    if pair.tokens < MIN_MATCHED:
        return ()
    found = []
    if base.usable:
        z_similarity = (pair.similarity - base.similarity_median) / base.similarity_spread
        z_fragment = (pair.longest - base.fragment_median) / base.fragment_spread
        where = (f"the median pair ({base.similarity_median:.0%}, spread "
                 f"{base.similarity_spread:.0%}, {base.pairs} pairs)")
        if z_similarity >= 2 * settings.outlier or (z_similarity >= settings.outlier
                                                     and mutual):
            found.append(f"similarity {pair.similarity:.0%} is {z_similarity:.1f} spreads above "
                         f"{where}")
        if z_fragment >= settings.outlier and z_similarity >= settings.outlier / 2 and mutual:
            found.append(f"its longest common fragment ({pair.longest} tokens) is "
                         f"{z_fragment:.1f} spreads above the median pair's "
                         f"({base.fragment_median:.0f} tokens), its similarity "
                         f"{z_similarity:.1f} spreads")
        if found and mutual:
            found.append("each is the other's closest notebook")
    elif pair.similarity >= SMALL_CLASS_BAR:
        found.append(f"similarity {pair.similarity:.0%} reaches {SMALL_CLASS_BAR:.0%}, the bar "
                     f"for a class of only {base.pairs} pair(s), too few to stand out from")
    if settings.threshold is not None and pair.similarity >= settings.threshold:
        found.append(f"similarity {pair.similarity:.0%} reaches the bar of "
                     f"{settings.threshold:.0%} asked for (--threshold)")
    return tuple(found)


#: why an identical pair is listed
IDENTICAL = ("identical notebooks: the same cells byte for byte once outputs, execution counts "
             "and metadata are removed (graded with one execution)")


def list_pairs(pairs: Iterable[Match], settings: Settings) -> tuple[list[Match], Baseline]:
    """The pairs ranked (identical ones first, then similarity, then longest fragment),
    those that stand out listed, identical ones always."""
    ranked = sorted(pairs, key=Match.rank_key)
    base = baseline([p for p in ranked if not p.identical])
    best: dict[str, float] = {}
    for pair in ranked:  # best first
        best.setdefault(pair.a, pair.similarity)
        best.setdefault(pair.b, pair.similarity)
    out = []
    for pair in ranked:
        mutual = pair.similarity >= max(best[pair.a], best[pair.b])
        why = ((IDENTICAL,) if pair.identical else ()) + reasons(pair, base, settings, mutual)
        out.append(replace(pair, listed=bool(why), reasons=why) if why else pair)
    return out, base


def list_sources(matches: Iterable[Match], settings: Settings) -> list[Match]:
    """(student, source) matches where the share of the student's code reaches the bar."""
    found = [replace(m, listed=True, reasons=(
        f"{m.share_a:.0%} of the student's code is in this source (bar "
        f"{settings.source_share:.0%})",)) for m in matches
        if m.share_a >= settings.source_share and m.tokens_a >= MIN_MATCHED]
    return sorted(found, key=lambda m: (-m.share_a, m.a, m.b))


def clusters(pairs: Iterable[Match], smallest: int = 3) -> list[Cluster]:
    """Connected components of the pairs' graph with at least ``smallest`` members."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    pairs = list(pairs)
    for pair in pairs:
        parent[root(pair.a)] = root(pair.b)
    groups: dict[str, list[str]] = {}
    for key in parent:
        groups.setdefault(root(key), []).append(key)
    found = []
    for members in groups.values():
        if len(members) >= smallest:
            inside = [p for p in pairs if p.a in members]
            found.append(Cluster(tuple(sorted(members)), len(inside),
                                 max(p.score for p in inside)))
    return sorted(found, key=lambda c: (-len(c.members), -c.top, c.members))
