"""Who may use the portal: students' access codes, the instructor's password, login throttling.

Codes and the password are kept only as argon2 hashes (the gradebook's ``access_codes`` table;
``<course>/portal/instructor.argon2``). Checks cost the same whether or not the roll number
exists (a dummy hash is verified instead), and argon2's verification is constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dlkit.errors import DlkitError
from dlkit.gradebook import Gradebook, Student
from dlkit.portal.config import State, write_private

#: Codes are read off a paper slip: no 0/O, 1/I/L look-alikes. 10 symbols of 31: ~49 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
MIN_PASSWORD = 10

#: OWASP's argon2id settings (19 MiB, 2 passes, 1 lane): a login costs tens of milliseconds on
#: an idle core, so a class logging in at once does not queue, and a stolen table stays costly.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY = _hasher.hash("not a real code: equalises the time of unknown roll numbers")


def new_code() -> str:
    """A fresh access code, printed as ``XXXX-XXXX-XX``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(text: str) -> str:
    """What a student typed, without spaces and dashes, in upper case."""
    return "".join(text.split()).replace("-", "").upper()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when ``secret`` matches; with no hash, a dummy is verified so the time is the same."""
    try:
        return _hasher.verify(stored_hash or _DUMMY, secret) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --------------------------------------------------------------------------- students

def issue_code(gradebook: Gradebook, roll: str) -> str:
    """Make ``roll`` a new code (revoking the old one) and return it in plain text: the only
    time it exists outside the student's slip."""
    code = new_code()
    gradebook.issue_access_code(roll, hash_secret(normalise_code(code)))
    return code


def check_student(gradebook: Gradebook, roll: str, code: str) -> int | None:
    """The id of the student's active code when ``code`` is it, else None."""
    active = gradebook.active_access_code(roll.strip()) if roll.strip() else None
    ok = verify_secret(active.code_hash if active else None, normalise_code(code))
    return active.id if ok and active else None


def token_hash(token: str) -> str:
    """What the gradebook keeps of a session's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def code_is_active(gradebook: Gradebook, roll: str, code_id: int) -> bool:
    """A session stays valid only while the code it logged in with is not revoked."""
    code = gradebook.access_code(code_id)
    return code is not None and code.student_roll == roll and code.revoked_at is None


def student_name(gradebook: Gradebook, roll: str) -> str:
    with gradebook.session() as s:
        student = s.get(Student, roll)
        return student.name if student else roll


# --------------------------------------------------------------------------- the instructor

def set_password(state: State, password: str) -> None:
    """Store the instructor password's argon2 hash (mode 0600); every open instructor session
    ends, since sessions carry a fingerprint of the hash."""
    if len(password) < MIN_PASSWORD:
        raise DlkitError(f"password too short ({len(password)} characters)",
                         fix=f"use at least {MIN_PASSWORD}")
    write_private(state.password_file, hash_secret(password))


def password_hash(state: State) -> str | None:
    try:
        return state.password_file.read_text().strip() or None
    except OSError:
        return None


def check_password(state: State, password: str) -> str | None:
    """The fingerprint of the password hash when ``password`` is right, else None."""
    stored = password_hash(state)
    return fingerprint(stored) if verify_secret(stored, password) and stored else None


def fingerprint(stored_hash: str | None) -> str:
    return hashlib.sha256((stored_hash or "").encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- throttling

#: Failures of one key allowed without a delay (typing slips), and the delays after them.
FREE_FAILURES = 3
FIRST_DELAY = 10.0  # seconds, after the first failure over the free ones; doubles each time
LONGEST_DELAY = 15 * 60.0
FORGET_AFTER = dt.timedelta(hours=1)  # a key quiet this long starts afresh


def delay_after(failures: int) -> float:
    """Seconds a key must wait after ``failures`` failures: 0 for the first few, then 10 s,
    20 s, 40 s, ... at most 15 min. A delay, never a lock: the right code works once it ends."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(LONGEST_DELAY, FIRST_DELAY * 2 ** (failures - FREE_FAILURES - 1))


def student_key(roll: str, address: str, known: bool) -> str:
    """Failures count per (roll, address): a classmate failing for your roll elsewhere, or a
    class behind one NAT, never delays you. Unknown rolls from one address share a key, so
    typing made-up rolls makes no rows."""
    return f"student\0{roll.casefold() if known else '?'}\0{address}"


def instructor_key(address: str) -> str:
    """The instructor's failures count apart: students' failures never delay the instructor."""
    return f"instructor\0{address}"


@dataclass(frozen=True)
class Throttle:
    """Growing delays per key (see :func:`delay_after`), kept in the gradebook: every web
    process sees the same counts and a restart keeps them."""

    gradebook: Gradebook

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        failures, last = self.gradebook.login_failures(key, FORGET_AFTER)
        if last is None:
            return 0.0
        elapsed = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - last).total_seconds()
        return max(0.0, delay_after(failures) - elapsed)

    def fail(self, key: str) -> float:
        """Count a failure; the delay it earns (0: none yet)."""
        return delay_after(self.gradebook.note_login_failure(key, FORGET_AFTER))

    def clear(self, key: str) -> None:
        self.gradebook.clear_login_failures(key)


def roll_exists(gradebook: Gradebook, roll: str) -> bool:
    with gradebook.session() as s:
        return bool(roll) and s.get(Student, roll) is not None


def client_address(peer: str, forwarded_for: str | None, trusted: frozenset[str]) -> str:
    """The address a request came from: the connecting peer, unless that is a proxy the
    course trusts (``forwarded_allow_ips`` in portal.yml), whose ``X-Forwarded-For`` then
    names it (the right-most address that is not itself a trusted proxy)."""
    if peer not in trusted or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))
