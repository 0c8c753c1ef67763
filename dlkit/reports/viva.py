"""Viva question sets: the question bank and one set of questions per student of a batch.

The bank is ``reports/questions/<experiment id>.yml``. :func:`viva_sets` deals every student
``per_student`` questions from the experiments they performed, the same for the same (batch rolls,
date, bank version, ``per_student``): all choices are ordered by SHA-256 digests of those, never by
Python's ``hash()``. What it returns always holds (:func:`set_problems` checks it, and dealing is
retried with the next seed until it does):

1. a set has ``per_student`` distinct questions, all from the student's performed experiments;
2. within a set, the numbers of questions from the performed experiments differ by at most one
   (each experiment is covered when ``per_student`` >= their number, otherwise ``per_student``
   different ones are), except that an experiment never gives more questions than it has;
3. with ``per_student`` >= 3, a set has at least one easy and one medium-or-hard question;
4. no two students of the batch get the same set (as sets of question ids);
5. within every experiment and difficulty, the numbers of times the questions are used in the batch
   differ by at most one (they are dealt in rounds: none is used again before all others of its
   experiment and difficulty have been).

and it seeks, without promising:

6. within every experiment, over all difficulties, use counts that differ by at most one: picks
   prefer the questions of the experiment's current round, and of up to ``ATTEMPTS`` seeded
   dealings the first that meets 6 is returned (else the first that meets 1-5). 5 and 6 are not
   both promised because 3 can force them apart: with 3 questions a set needs exactly one easy
   when a third of the bank is easy.

Which experiments a set draws its extra questions from (beyond an equal share, or when it has
fewer questions than experiments) is the one used least per question so far; so when every student
performed the same experiments of nearly equal size, the whole bank's counts stay within one of each
other too (60 students x 6 questions over the six experiments' 145: 2 or 3 uses each).

Impossible requests (more questions than the performed experiments have, nothing easy or nothing
harder to mix, more students than distinct sets) raise :class:`VivaError` before any dealing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from dlkit.errors import DlkitError
from dlkit.experiments import ROOT

if TYPE_CHECKING:  # course.py pulls in the gradebook (SQLAlchemy); only its types are needed
    from dlkit.reports.course import Course, StudentRecord

DIFFICULTIES = ("easy", "medium", "hard")
#: Seeds tried before giving up on a batch whose constraints are tight (see :func:`viva_sets`).
ATTEMPTS = 32


class VivaError(DlkitError):
    """A question bank that cannot be read, or viva sets that cannot be made as asked."""


@dataclass(frozen=True)
class Question:
    id: str
    experiment: str
    difficulty: str
    tags: tuple[str, ...]
    question: str
    answer: str

    @property
    def easy(self) -> bool:
        return self.difficulty == "easy"


@dataclass(frozen=True)
class Bank:
    """Every question of ``reports/questions/``, in file order; ``version`` names the content."""

    questions: tuple[Question, ...]
    version: str

    def experiment(self, experiment_id: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.experiment == experiment_id)

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(q.experiment for q in self.questions))

    def get(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)


def load_bank(root: Path = ROOT) -> Bank:
    """Read and check every ``reports/questions/*.yml``.

    The version is ``<the files' versions, joined by dots>+<10 hex digits of a SHA-256 of the
    parsed content>``: editing a question (not merely its line wrapping) changes the version, and
    with it every set dealt from the bank.
    """
    folder = root / "reports" / "questions"
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise VivaError("no question bank", where=str(folder),
                        fix="add reports/questions/<experiment id>.yml files")
    questions: list[Question] = []
    versions: list[str] = []
    canonical: list[object] = []
    for path in files:
        data, file_questions = _read_bank_file(path)
        versions.append(str(data.get("version", 0)))
        canonical.append(data)
        questions.extend(file_questions)
    seen: dict[str, str] = {}
    for q in questions:
        if q.id in seen:
            raise VivaError(f"question id {q.id!r} is used twice", where=f"{seen[q.id]}",
                            fix="give every question a unique id")
        seen[q.id] = q.experiment
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str,
                                       ensure_ascii=False).encode()).hexdigest()
    return Bank(tuple(questions), f"{'.'.join(versions)}+{digest[:10]}")


def _read_bank_file(path: Path) -> tuple[dict, list[Question]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise VivaError(f"invalid YAML: {exc}", where=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise VivaError("not a question bank file", where=str(path),
                        fix="it needs `experiment`, `version` and a list of `questions`")
    experiment = str(data.get("experiment", ""))
    if experiment != path.stem:
        raise VivaError(f"experiment {experiment!r} does not match the file name", where=str(path),
                        fix=f"set `experiment: {path.stem}`")
    questions = []
    for number, item in enumerate(data["questions"], start=1):
        where = f"{path}, question {number}"
        if not isinstance(item, dict):
            raise VivaError("a question must be a mapping", where=where)
        missing = [k for k in ("id", "difficulty", "question", "answer") if not item.get(k)]
        if missing:
            raise VivaError(f"missing {', '.join(missing)}", where=where)
        if item["difficulty"] not in DIFFICULTIES:
            raise VivaError(f"difficulty {item['difficulty']!r}", where=where,
                            fix=f"use one of {', '.join(DIFFICULTIES)}")
        questions.append(Question(str(item["id"]), experiment, item["difficulty"],
                                  tuple(str(t) for t in item.get("tags") or ()),
                                  " ".join(str(item["question"]).split()),
                                  " ".join(str(item["answer"]).split())))
    return data, questions


# --------------------------------------------------------------------------- dealing

def viva_sets(students: Sequence[tuple[str, Sequence[str]]], date: dt.date, bank: Bank,
              per_student: int = 6) -> dict[str, list[Question]]:
    """Each student's questions, by roll: ``students`` are (roll, performed experiment ids).

    Deterministic (SHA-256 of the rolls, date, bank version and ``per_student``; no Python
    ``hash()``), and checked against the guarantees of the module docstring. A set lists its
    questions in the bank's experiment order, easy before medium before hard.
    """
    pools = _pools(students, bank, per_student)
    if not pools:
        return {}
    base = _digest("viva", *sorted(pools), date.isoformat(), bank.version, str(per_student))
    problems: list[str] = []
    fallback: dict[str, list[Question]] | None = None
    for attempt in range(ATTEMPTS):
        sets = _deal(pools, bank, per_student, _digest(base, str(attempt)))
        problems = ["a set could not be completed without repeating another"] if sets is None \
            else set_problems(sets, students, bank, per_student)
        if not problems:
            if not uneven_experiments(sets, bank):
                break
            fallback = fallback or sets
    else:
        if fallback is None:
            raise VivaError(f"could not deal viva sets meeting every rule in {ATTEMPTS} tries: "
                            f"{problems[0]}", where=f"{len(pools)} students, {per_student} each",
                            fix="change --per-student")
        sets = fallback
    return {roll: _ordered(sets[roll], bank) for roll in sorted(sets, key=roll_key)}


def _pools(students: Sequence[tuple[str, Sequence[str]]], bank: Bank,
           per_student: int) -> dict[str, tuple[str, ...]]:
    """roll -> performed experiments (bank order), after the checks that need no dealing."""
    if per_student < 1:
        raise VivaError(f"--per-student must be at least 1, not {per_student}")
    known = bank.experiments
    pools: dict[str, tuple[str, ...]] = {}
    for roll, performed in students:
        if roll in pools:
            raise VivaError(f"roll {roll} appears twice", fix="list each student once")
        unknown = sorted(set(performed) - set(known))
        if unknown:
            raise VivaError(f"no viva questions for {', '.join(unknown)}", where=f"roll {roll}",
                            fix=f"the bank has {', '.join(known)}")
        pools[roll] = tuple(e for e in known if e in set(performed))
        if not pools[roll]:
            raise VivaError("no performed experiment to ask about", where=f"roll {roll}",
                            fix="leave students who performed nothing out of the viva")
    groups: dict[tuple[str, ...], list[str]] = {}
    for roll, pool in pools.items():
        groups.setdefault(pool, []).append(roll)
    for pool, rolls in groups.items():
        questions = [q for e in pool for q in bank.experiment(e)]
        where = f"roll {rolls[0]}" + (f" and {len(rolls) - 1} more" if len(rolls) > 1 else "")
        if per_student > len(questions):
            raise VivaError(f"{per_student} questions per student, but the experiments performed "
                            f"({', '.join(pool)}) have only {len(questions)}", where=where,
                            fix=f"use --per-student {len(questions)} or fewer")
        if per_student >= 3 and (all(q.easy for q in questions)
                                 or not any(q.easy for q in questions)):
            raise VivaError("cannot mix difficulties: the experiments performed have "
                            f"{'only easy' if questions[0].easy else 'no easy'} questions",
                            where=where, fix="add questions of the missing difficulty to the bank")
        if len(rolls) > math.comb(len(questions), per_student):
            raise VivaError(f"{len(rolls)} students but only "
                            f"{math.comb(len(questions), per_student)} different sets of "
                            f"{per_student} from {len(questions)} questions", where=where,
                            fix="change --per-student")
    return pools


def _deal(pools: Mapping[str, tuple[str, ...]], bank: Bank, per_student: int,
          seed: str) -> dict[str, list[Question]] | None:
    """One dealing in a seeded student order; None when a last pick could only repeat a set."""
    by_experiment = {e: bank.experiment(e) for e in bank.experiments}
    uses: Counter[str] = Counter()
    experiment_uses: Counter[str] = Counter()
    dealt: set[frozenset[str]] = set()
    sets: dict[str, list[Question]] = {}
    for roll in sorted(pools, key=lambda r: _digest(seed, "order", r)):
        chosen: list[Question] = []
        for step in range(per_student):
            candidates = _candidates(pools[roll], by_experiment, uses, chosen)
            if step == per_student - 1:
                ids = {q.id for q in chosen}
                candidates = [q for q in candidates if frozenset(ids | {q.id}) not in dealt]
                if not candidates:
                    return None
            pick = _pick(candidates, chosen, per_student, by_experiment, uses, experiment_uses,
                         _digest(seed, roll))
            chosen.append(pick)
            uses[pick.id] += 1
            experiment_uses[pick.experiment] += 1
        dealt.add(frozenset(q.id for q in chosen))
        sets[roll] = chosen
    return sets


def _candidates(pool: tuple[str, ...], by_experiment: Mapping[str, tuple[Question, ...]],
                uses: Counter[str], chosen: list[Question]) -> list[Question]:
    """The questions a set may take next: from the experiments it has taken fewest from (so a set
    covers its experiments evenly), and of those only the ones left in the current round of their
    experiment and difficulty."""
    taken = Counter(q.experiment for q in chosen)
    open_ = [e for e in pool if taken[e] < len(by_experiment[e])]
    level = min(taken[e] for e in open_)
    ids = {q.id for q in chosen}
    candidates = []
    for experiment in (e for e in open_ if taken[e] == level):
        for difficulty in DIFFICULTIES:
            free = [q for q in by_experiment[experiment]
                    if q.difficulty == difficulty and q.id not in ids]
            if free:
                low = min(uses[q.id] for q in free)
                candidates += [q for q in free if uses[q.id] == low]
    return candidates


def _pick(candidates: list[Question], chosen: list[Question], per_student: int,
          by_experiment: Mapping[str, tuple[Question, ...]], uses: Counter[str],
          experiment_uses: Counter[str], seed: str) -> Question:
    """The next question of a set.

    While the set lacks an easy or a harder question (``per_student`` >= 3), one of that kind;
    otherwise from the experiment used least per question. Then the difficulty of that experiment
    used least per question (so its difficulties keep pace). Ties: seeded.
    """
    def group_fill(q: Question) -> float:
        group = [x for x in by_experiment[q.experiment] if x.difficulty == q.difficulty]
        return sum(uses[x.id] for x in group) / len(group)

    def fill(q: Question) -> float:
        return experiment_uses[q.experiment] / len(by_experiment[q.experiment])

    def ahead(q: Question) -> int:
        """1 when q was used more than the least-used question of its experiment."""
        return int(uses[q.id] > min(uses[x.id] for x in by_experiment[q.experiment]))

    needs = []
    if per_student >= 3:
        needs = [need for need, met in ((True, any(q.easy for q in chosen)),
                                        (False, not all(q.easy for q in chosen))) if not met]
    servers = {need: {q.experiment for q in candidates if q.easy == need} for need in needs}
    urgent = min((n for n in needs if servers[n]), key=lambda n: len(servers[n]), default=None)
    if urgent is None:
        return min(candidates, key=lambda q: (fill(q), ahead(q), group_fill(q),
                                              _digest(seed, q.id)))
    # an experiment that alone could give the other missing kind is kept for it
    sole = {e for n in needs if n != urgent and len(servers[n]) == 1 for e in servers[n]}
    return min((q for q in candidates if q.easy == urgent),
               key=lambda q: (q.experiment in sole, ahead(q), group_fill(q) - fill(q), fill(q),
                              _digest(seed, q.id)))


def set_problems(sets: Mapping[str, Sequence[Question]],
                 students: Sequence[tuple[str, Sequence[str]]], bank: Bank,
                 per_student: int) -> list[str]:
    """Every way ``sets`` break the guarantees 1-5 of the module docstring (empty: none)."""
    problems = []
    pools = {roll: set(performed) for roll, performed in students}
    for roll, questions in sets.items():
        ids = [q.id for q in questions]
        if len(ids) != per_student or len(set(ids)) != per_student:
            problems.append(f"roll {roll}: {len(set(ids))} distinct questions, not {per_student}")
        if any(q.experiment not in pools[roll] for q in questions):
            problems.append(f"roll {roll}: a question from an experiment not performed")
        counts = Counter(q.experiment for q in questions)
        sizes = {e: len(bank.experiment(e)) for e in pools[roll]}
        short = [counts[e] for e in pools[roll] if counts[e] < sizes[e]]
        if short and max(counts.values()) > min(short) + 1:
            problems.append(f"roll {roll}: experiments unevenly covered {dict(counts)}")
        if per_student >= 3 and (all(q.easy for q in questions)
                                 or not any(q.easy for q in questions)):
            problems.append(f"roll {roll}: difficulties not mixed")
    repeated = [s for s, n in Counter(frozenset(q.id for q in qs) for qs in sets.values()).items()
                if n > 1]
    if repeated:
        problems.append(f"{len(repeated)} set(s) given to more than one student")
    uses = usage(sets)
    for experiment in sorted({e for pool in pools.values() for e in pool}):
        for difficulty in DIFFICULTIES:
            counts = [uses.get(q.id, 0) for q in bank.experiment(experiment)
                      if q.difficulty == difficulty]
            if counts and max(counts) - min(counts) > 1:
                problems.append(f"{experiment}, {difficulty}: questions used {min(counts)} to "
                                f"{max(counts)} times")
    return problems


def uneven_experiments(sets: Mapping[str, Sequence[Question]], bank: Bank) -> list[str]:
    """The experiments whose questions' use counts (over all difficulties) differ by more than one.

    Rule 6 of the module docstring, which :func:`viva_sets` seeks but does not promise."""
    uses = usage(sets)
    asked = {q.experiment for questions in sets.values() for q in questions}
    return [e for e in bank.experiments if e in asked
            and max(c := [uses.get(q.id, 0) for q in bank.experiment(e)]) - min(c) > 1]


def usage(sets: Mapping[str, Sequence[Question]]) -> Counter[str]:
    """How many students of the batch get each question (question id -> count)."""
    return Counter(q.id for questions in sets.values() for q in questions)


def performed(record: StudentRecord) -> list[str]:
    """The experiments a student performed: those with a submission (graded or not)."""
    return [e.id for e in record.experiments if e.submitted is not None]


def roll_key(roll: str) -> tuple:
    """Roll numbers in natural order (B1-9 before B1-10)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.findall(r"\d+|\D+", roll))


def _ordered(questions: Sequence[Question], bank: Bank) -> list[Question]:
    order = {e: i for i, e in enumerate(bank.experiments)}
    return sorted(questions, key=lambda q: (order[q.experiment], DIFFICULTIES.index(q.difficulty),
                                            roll_key(q.id)))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- papers

def write_viva(sets: Mapping[str, Sequence[Question]], names: Mapping[str, str],
               date: dt.date, out: Path, *, batch: str, bank: Bank, course: Course | None = None,
               marks_per_question: float | None = None, pdf: bool = True) -> list[Path]:
    """The student copy (questions) and examiner copy (with model answers and marks boxes).

    Written as ``out/viva/<date>/student-<batch>`` and ``examiner-<batch>`` (.html, and .pdf with
    ``pdf``): one document per batch, one student per page, in roll order. ``names`` maps roll to
    name; ``course`` (default: the course file) gives the experiments' numbers and titles.
    """
    from dlkit.reports.render import render

    context = viva_context(sets, names, date, batch=batch, bank=bank, course=course,
                           marks_per_question=marks_per_question)
    folder = Path(out) / "viva" / date.isoformat()
    slug = batch_slug(batch)
    return (render("viva_student.html", context, folder / f"student-{slug}", pdf=pdf)
            + render("viva_examiner.html", context, folder / f"examiner-{slug}", pdf=pdf))


def viva_context(sets: Mapping[str, Sequence[Question]], names: Mapping[str, str],
                 date: dt.date, *, batch: str, bank: Bank, course: Course | None = None,
                 marks_per_question: float | None = None) -> dict:
    """What the viva templates print (plain data; the templates escape it)."""
    course = _course(course)
    students = [{"roll": roll, "name": names.get(roll, ""),
                 "questions": question_rows(sets[roll], course)}
                for roll in sorted(sets, key=roll_key)]
    per_student = max((len(s["questions"]) for s in students), default=0)
    return {"batch": batch, "date": date.isoformat(), "bank_version": bank.version,
            "course": course, "students": students, "marks": marks_per_question,
            "total_marks": marks_per_question * per_student if marks_per_question else None}


def question_rows(questions: Sequence[Question], course: Course | None) -> list[dict]:
    labels = experiment_labels(course)
    return [{"number": i, "id": q.id, "difficulty": q.difficulty, "question": q.question,
             "answer": q.answer, "experiment": labels.get(q.experiment, q.experiment)}
            for i, q in enumerate(questions, start=1)]


def experiment_labels(course: Course | None) -> dict[str, str]:
    return {e.id: f"Experiment {e.number}" for e in course.experiments} if course else {}


def batch_slug(batch: str) -> str:
    """A batch name that is safe in a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", batch).strip("-.") or "all"


def _course(course: Course | None) -> Course:
    if course is not None:
        return course
    from dlkit.reports.course import load_course

    return load_course()


__all__ = ["ATTEMPTS", "DIFFICULTIES", "Bank", "Question", "VivaError", "batch_slug", "load_bank",
           "performed", "roll_key", "set_problems", "uneven_experiments", "usage", "viva_context",
           "viva_sets", "write_viva"]
