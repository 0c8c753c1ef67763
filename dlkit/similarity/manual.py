"""The lab manual's code as boilerplate, kept as k-gram digests only (never its code).

Students of this course copy the lab manual's listings (its Keras models, its training loops)
into their notebooks, so code that comes from the manual says nothing about who copied whom.
The kit keeps a digest of every k-gram of the manual's code (``lab_manual.kgrams``, made by
``python -m dlkit.similarity.manual MANUAL.txt``); a notebook's k-grams with those digests are
boilerplate, like the starter's. Digests are stable across processes (unlike ``hash``), so
the file is made once and shipped; the manual's text stays the college's.
"""

from __future__ import annotations

import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path

from dlkit.similarity.analysis import Fingerprint, K

KGRAMS = Path(__file__).with_name("lab_manual.kgrams")
#: a line that starts a listing in the manual's text
STARTS = re.compile(r"^(import |from \w[\w.]* import |def |class |@|\w[\w, ]* = |\w+(\.\w+)+\(|print\(|"
                    r"for |while |if |with |return )")


def digest(kgram: str) -> int:
    """A k-gram's digest, the same in every process."""
    return int.from_bytes(hashlib.blake2b(kgram.encode(), digest_size=8).digest(), "big")


def listings(text: str) -> list[str]:
    """The code listings of a manual's plain text: runs of lines that start like Python and go
    on indented, blank, closing a bracket or code-like."""
    found, block = [], []
    for line in text.splitlines():
        stripped = line.strip()
        goes_on = bool(block) and (line.startswith((" ", "\t")) or not stripped
                                   or stripped[:1] in ")]}")
        if STARTS.match(stripped) and (block or STARTS.match(line)) or goes_on:
            block.append(line)
        elif block:
            found.append("\n".join(block).strip())
            block = []
    if block:
        found.append("\n".join(block).strip())
    return [b for b in found if "\n" in b]


def manual_digests(text: str) -> frozenset[int]:
    """The digest of every k-gram of a manual's listings, cut as the similarity report cuts
    notebooks' code."""
    out: set[int] = set()
    for listing in listings(text):
        filtered = Fingerprint.of(listing).filtered
        out.update(digest(filtered[i:i + K]) for i in range(len(filtered) - K + 1))
    return frozenset(out)


@lru_cache(maxsize=1)
def kit_digests() -> frozenset[int]:
    """The digests the kit ships (none when the file is missing)."""
    try:
        return frozenset(int(line, 16) for line in KGRAMS.read_text().split())
    except (OSError, ValueError):
        return frozenset()


def from_manual(fingerprint: Fingerprint, digests: frozenset[int]) -> set[int]:
    """The hashes of ``fingerprint``'s k-grams whose digests are among ``digests``."""
    if not digests:
        return set()
    filtered = fingerprint.filtered
    return {value for i, value in enumerate(fingerprint.hashes)
            if digest(filtered[i:i + K]) in digests}


def main(manual: Path, out: Path = KGRAMS) -> None:
    text = manual.read_text(encoding="utf-8", errors="replace")
    digests = manual_digests(text)
    out.write_text("".join(f"{d:016x}\n" for d in sorted(digests)))
    print(f"{len(digests):,} k-gram digests of {len(listings(text))} listings -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
