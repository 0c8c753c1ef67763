"""The similarity ranking on a class whose independent answers share most lines (the corpus of
``fixtures/similarity_corpus.py``): copies rank above every independent pair, a pasted cell
points back to its source, shared template code raises no pair, for free-form notebooks and
for answers in the released starter alike."""

from __future__ import annotations

import json
import random
import statistics
import textwrap
from pathlib import Path

import pytest

from dlkit.similarity import Entry, Settings, code_cells, compare_notebooks
from dlkit.similarity.analysis import IDENTICAL

from .fixtures import similarity_corpus as made
from .test_similarity import STARTER, fill

#: corpus steps answered in the starter's cells q1..q6
STARTER_STEPS = {"q1": "prepare", "q2": "model", "q3": "compile", "q4": "train",
                 "q5": "evaluate", "q6": "plot"}


def write_free_form(corpus: made.Corpus, folder: Path) -> list[Entry]:
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, cells in sorted(corpus.notebooks.items()):
        path = folder / f"{name}.ipynb"
        path.write_text(json.dumps(made.notebook_json(cells)), encoding="utf-8")
        entries.append(Entry(name, "", path))
    return entries


def write_in_starter(corpus: made.Corpus, folder: Path) -> list[Entry]:
    """Each notebook's steps as the answers of the released Experiment 2 starter."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, cells in sorted(corpus.notebooks.items()):
        answers = {q: cells.get(step) or "pass" for q, step in STARTER_STEPS.items()}
        answers["q5"] = "model.evaluate(x_test, y_test)"  # the starter's q5 is one expression
        path = folder / f"{name}.ipynb"
        path.write_text(json.dumps(fill(answers)), encoding="utf-8")
        entries.append(Entry(name, "", path))
    return entries


@pytest.fixture(scope="module")
def corpus() -> made.Corpus:
    return made.corpus(independents=25, seed=7)


@pytest.fixture(scope="module", params=["free-form", "starter"])
def ranked(request, corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "free-form":
        return compare_notebooks(write_free_form(corpus, folder))
    return compare_notebooks(write_in_starter(corpus, folder), starter=code_cells(STARTER))


def is_independent(pair) -> bool:
    return pair.a.startswith("s") and pair.b.startswith("s")


def test_independent_answers_share_most_lines(corpus):
    """The corpus is a hard one: most of an independent notebook's lines are in another's."""
    independents = {k: v for k, v in corpus.notebooks.items() if k.startswith("s")}
    lines = {k: {line.strip() for cell in v.values() for line in cell.splitlines()
                 if line.strip()} for k, v in independents.items()}
    shared = [len(mine & set().union(*(o for k2, o in lines.items() if k2 != k))) / len(mine)
              for k, mine in lines.items()]
    assert statistics.median(shared) > 0.7


def test_renamed_and_reordered_copies_rank_above_every_independent_pair(ranked, corpus):
    position = {frozenset((p.a, p.b)): i for i, p in enumerate(ranked.pairs)}
    first_independent = next(i for i, p in enumerate(ranked.pairs) if is_independent(p))
    for pair, kind in corpus.kinds.items():
        if kind in ("renamed", "reordered"):
            assert position[pair] < first_independent, (kind, sorted(pair))
            match = ranked.pairs[position[pair]]
            assert match.listed and match.similarity > 0.7, match
    # and the naive measure (the larger share) would not tell them apart
    assert sum(max(p.share_a, p.share_b) > 0.5 for p in ranked.pairs if is_independent(p)) >= 5


def test_a_pasted_model_cell_lists_its_source_first(ranked, corpus):
    for pair, kind in corpus.kinds.items():
        if kind == "pasted":
            copy = next(k for k in pair if k.startswith("c"))
            source = next(k for k in pair if k.startswith("s"))
            closest = ranked.closest(copy)
            assert {closest.a, closest.b} == {copy, source}, (copy, closest)
            code = next(n.code for n in ranked.students if n.key == copy)
            fragment = closest.fragments[0]
            where = fragment.a if closest.a == copy else fragment.b
            assert "keras" in code[where[0]:where[1]]  # the longest fragment is the model cell


def test_copies_come_first_and_each_listed_pair_says_why(ranked, corpus):
    top = ranked.pairs[:len(corpus.truth)]
    assert sum(frozenset((p.a, p.b)) in corpus.truth for p in top) >= 6
    for pair in ranked.flagged:  # an identical pair says so first, then why it stands out
        why = pair.reasons[1:] if pair.identical else pair.reasons
        assert why and "spreads above" in why[0]
        assert pair.identical == (pair.reasons[0] == IDENTICAL)
    assert [p.identical for p in ranked.pairs] == sorted((p.identical for p in ranked.pairs),
                                                         reverse=True)
    listed = {frozenset((p.a, p.b)) for p in ranked.flagged}
    assert listed >= {pair for pair, kind in corpus.kinds.items()
                      if kind in ("renamed", "reordered")}
    assert len(listed & corpus.truth) >= 6 and len(listed - corpus.truth) <= 2


def template_class(folder: Path, students: int = 12, template: bool = True) -> list[Entry]:
    """A class where 10 of 12 notebooks are the tutorial template with code of their own
    (``template=False``: the same notebooks with their own code alone)."""
    rng = random.Random(3)
    entries = []
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(students):
        cells = {"prepare": made._prepare(rng), "model": made._model(rng),
                 "extra": made._extra(rng)}
        if number < students - 2 and template:
            cells.update(made.TEMPLATE_CELLS)
            cells["train"] = cells["train"].format(epochs=number, batch=32)
        elif number >= students - 2:
            cells.update(train=made._train(rng), plot=made._plot(rng))
        path = folder / f"t{number:02d}.ipynb"
        path.write_text(json.dumps(made.notebook_json(cells)), encoding="utf-8")
        entries.append(Entry(path.stem, "", path))
    return entries


def scores(report) -> dict[frozenset, float]:
    return {frozenset((p.a, p.b)): p.similarity for p in report.pairs}


def assert_template_changes_nothing(with_template, own_code_only) -> None:
    """Each pair scores as it does on the students' own code alone, and is listed only if it
    is listed there (two students whose own code happens to agree may be: that is not the
    template's doing)."""
    alone = scores(own_code_only)
    for pair, similarity in scores(with_template).items():
        assert abs(similarity - alone[pair]) < 0.12, (sorted(pair), similarity, alone[pair])
    listed = {frozenset((p.a, p.b)) for p in with_template.flagged}
    assert listed <= {frozenset((p.a, p.b)) for p in own_code_only.flagged}


def test_template_code_in_most_notebooks_raises_no_pair(tmp_path):
    entries = template_class(tmp_path / "class")
    none = frozenset()  # the class-wide share alone (the lab manual's digests: next test)
    kept = compare_notebooks(entries, settings=Settings(common_share=1.0), manual=none)
    template_pairs = [p for p in kept.pairs if p.a < "t10" and p.b < "t10"]
    assert statistics.median(max(p.share_a, p.share_b) for p in template_pairs) > 0.5
    removed = compare_notebooks(entries, manual=none)
    assert removed.boilerplate["in more than 50% of the notebooks"] > 100
    assert_template_changes_nothing(
        removed, compare_notebooks(template_class(tmp_path / "own", template=False), manual=none))


def test_code_from_the_lab_manual_is_boilerplate_between_students(tmp_path):
    """The manual's listings, kept as k-gram digests, are removed like a template file: here a
    manual whose listing is the tutorial the class copied (written for this test). A class of
    3 is too small for class-wide boilerplate, so only the manual's digests take it out."""
    from dlkit.similarity.manual import kit_digests, listings, manual_digests

    code = "\n".join(made.TEMPLATE_CELLS.values()).format(epochs=10, batch=64)
    text = ("Experiment 2. Aim: a feed-forward network.\nTheory: layers learn features.\n\n"
            f"{code}\n\nConclusion: the network learns the digits.\n")
    assert listings(text) and "Conclusion" not in "\n".join(listings(text))
    entries = template_class(tmp_path / "class")[:3]
    assert min(p.similarity for p in compare_notebooks(entries, manual=frozenset()).pairs) > 0.4
    digests = manual_digests(text)
    given = compare_notebooks(entries, manual=digests)
    assert given.boilerplate["from the lab manual"] > 100
    assert_template_changes_nothing(given, compare_notebooks(
        template_class(tmp_path / "own", template=False)[:3], manual=digests))
    assert len(kit_digests()) > 1000  # the kit ships the real manual's digests, not its code


def test_template_in_the_starter_raises_no_pair(tmp_path):
    """The same class answering in the released starter: its q2..q6 cells hold the template."""
    rng = random.Random(5)
    entries, own = [], []
    for number in range(12):
        template = number < 10
        answers = {"q1": made._prepare(rng), "q2": made._model(rng),
                   "q3": made._compile(rng, template),
                   "q4": made.TEMPLATE_CELLS["train"].format(epochs=5, batch=32) if template
                   else made._train(rng), "q5": "model.evaluate(x_test, y_test)",
                   "q6": made.TEMPLATE_CELLS["plot"] if template else made._plot(rng)}
        path = tmp_path / f"t{number:02d}.ipynb"
        path.write_text(json.dumps(fill(answers)), encoding="utf-8")
        entries.append(Entry(path.stem, "", path))
        if template:
            answers.update(q4="pass", q6="pass")
        path = tmp_path / f"own{number:02d}.ipynb"
        path.write_text(json.dumps(fill(answers)), encoding="utf-8")
        own.append(Entry(f"t{number:02d}", "", path))
    starter = code_cells(STARTER)
    report = compare_notebooks(entries, starter=starter)
    assert report.boilerplate["in more than 50% of the notebooks"] > 50
    assert_template_changes_nothing(report, compare_notebooks(own, starter=starter))


def test_a_template_file_is_boilerplate_in_a_small_class(tmp_path):
    """Three students are too few for class-wide boilerplate: --template still removes it."""
    entries = template_class(tmp_path / "class")[:3]
    template = tmp_path / "tutorial.py"
    template.write_text("\n".join(made.TEMPLATE_CELLS.values()).format(epochs=10, batch=64),
                        encoding="utf-8")  # the tutorial as handed out
    plain = compare_notebooks(entries)
    assert min(p.similarity for p in plain.pairs) > 0.4 and plain.flagged
    given = compare_notebooks(entries, templates=[template])
    assert given.boilerplate["template tutorial.py"] > 100
    assert_template_changes_nothing(
        given, compare_notebooks(template_class(tmp_path / "own", template=False)[:3]))


def test_a_small_class_uses_the_fixed_bar_and_says_so(tmp_path, corpus):
    pair = next(p for p, kind in corpus.kinds.items() if kind == "renamed")
    entries = [e for e in write_free_form(corpus, tmp_path / "all") if e.key in pair]
    report = compare_notebooks(entries)
    [match] = report.pairs
    assert match.listed and "too few to stand out from" in match.reasons[0]
    assert not report.baseline.usable


def test_fragments_pair_each_token_once():
    """A line repeated five times in one notebook and once in the other is one fragment."""
    from dlkit.similarity import Fingerprint, compare

    line = ("model.add(keras.layers.Dense(units, activation='relu'))\n"
            "model.add(keras.layers.Dropout(rate))\n")
    other = textwrap.dedent("""
        def something_else(values):
            return sorted(values)[::2]
        """)
    five = Fingerprint.of(line * 5 + other)
    once = Fingerprint.of(line)
    match = compare("five", five, "once", once)
    assert len(match.fragments) == 1 and match.share_b == 1.0 and match.share_a < 0.3
    start, end = match.fragments[0].a
    assert (line * 5 + other)[start:end].strip() == line.strip()


# --------------------------------------------------------------------------- the listing rules

def pair(a: str, b: str, similarity: float, longest: int = 40, tokens: int = 200):
    from dlkit.similarity import Match

    return Match(a, b, similarity, similarity, similarity, tokens, tokens, longest)


def test_baseline_is_the_median_and_a_floored_robust_spread():
    from dlkit.similarity import baseline

    pairs = [pair("a", str(n), 0.10 + 0.01 * (n % 5), longest=50 + n % 3) for n in range(20)]
    base = baseline(pairs)
    assert base.usable and base.pairs == 20
    assert base.similarity_median == pytest.approx(0.12)
    assert base.similarity_spread == 0.06  # 1.4826 x MAD (0.01) is under the floor
    assert base.fragment_median == 51 and base.fragment_spread == 16
    assert not baseline(pairs[:9]).usable


def test_reasons_name_each_rule_met():
    from dlkit.similarity import Baseline, reasons

    base = Baseline(100, 0.10, 0.05, 40.0, 20.0)
    settings = Settings()
    assert reasons(pair("a", "b", 0.25), base, settings) == ()  # 3 spreads: not out
    why = reasons(pair("a", "b", 0.35), base, settings, mutual=True)
    assert why == ("similarity 35% is 5.0 spreads above the median pair (10%, spread 5%, 100 "
                   "pairs)", "each is the other's closest notebook")
    assert reasons(pair("a", "b", 0.35), base, settings, mutual=False) == ()
    [why] = reasons(pair("a", "b", 0.55), base, settings, mutual=False)  # 9 spreads: always
    assert why.startswith("similarity 55% is 9.0 spreads")
    why = reasons(pair("a", "b", 0.22, longest=160), base, settings)  # one long fragment
    assert why == ("its longest common fragment (160 tokens) is 6.0 spreads above the median "
                   "pair's (40 tokens), its similarity 2.4 spreads",
                   "each is the other's closest notebook")
    assert reasons(pair("a", "b", 0.15, longest=160), base, settings) == ()  # 1 spread: no
    assert reasons(pair("a", "b", 0.9, tokens=50), base, settings) == ()  # too few tokens
    assert reasons(pair("a", "b", 0.2), base, Settings(threshold=0.2)) == (
        "similarity 20% reaches the bar of 20% asked for (--threshold)",)
    [why] = reasons(pair("a", "b", 0.6), Baseline(3), settings)
    assert "a class of only 3 pair(s)" in why
    assert reasons(pair("a", "b", 0.4), Baseline(3), settings) == ()
