"""Portal load: a class logs in and uploads within a minute while the server's workers grade.

    .venv/bin/python benchmarks/portal_load.py [--students 60] [--window 60] [--after 60]
                                                [--workers 2] [--drain]

Loopback only, bounded. A fresh course folder gets the toy experiment (tests/fixtures/course,
released once here), N students with access codes and a real server (`dlkit serve`, its own
grading workers). Each student starts at a random moment of the window: logs in, opens the
experiment page, uploads a notebook, then follows it as the browser would (the status JSON
every 2 s, the page every 6 s) until the run ends. Reported:

- uploads stored and queued, counted in the gradebook (not from the HTTP answers);
- latency (p50/p95/max) of the status page and of the status JSON while grading runs,
  and of the log-in and upload requests;
- runs per submission (nothing graded twice), runs written, the queue left at the end.

With --drain it waits (at most --max-drain seconds) until every upload is graded.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import nbformat

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "tests" / "fixtures" / "course"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<32} no samples"
    return (f"{name:<32} n={len(values):<5} p50 {percentile(values, .5) * 1000:7.0f} ms   "
            f"p95 {percentile(values, .95) * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms")


def prepare(folder: Path, students: int) -> tuple[Path, dict[str, str], list[bytes]]:
    """The toy experiment released, a course with N students and codes; N distinct notebooks."""
    from dlkit.experiments import Experiment
    from dlkit.gradebook import Gradebook, Student
    from dlkit.portal.auth import issue_code
    from dlkit.release import build

    experiments = folder / "experiments"
    shutil.copytree(TOY, experiments)
    build(Experiment(id="toy", number=0, title="Toy", datasets=(), time_limit=120,
                     root=experiments), experiments)
    course = folder / "course"
    course.mkdir()
    (course / "portal.yml").write_text("experiments:\n  toy: {}\nuploads_per_hour: 10\n")
    gradebook = Gradebook.open(course)
    rolls = [f"{60001 + i}" for i in range(students)]
    with gradebook.session() as s:
        for roll in rolls:
            s.add(Student(roll=roll, name=f"Student {roll}", batch="B1"))
    codes = {roll: issue_code(gradebook, roll) for roll in rolls}
    reference = nbformat.read(experiments / "autograder" / "toy" / "toy.ipynb", as_version=4)
    notebooks = []
    for roll in rolls:
        nb = nbformat.from_dict(reference)
        nb.cells[1].source += f"\n\n(copy of {roll})"
        notebooks.append(nbformat.writes(nb).encode())
    return experiments, codes, notebooks


class Samples:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.data.setdefault(name, []).append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def timed(samples: Samples, name: str, call):
    started = time.perf_counter()
    response = call()
    samples.add(name, time.perf_counter() - started)
    return response


def student(url: str, roll: str, code: str, notebook: bytes, start: float, stop: float,
            samples: Samples, grading: threading.Event) -> None:
    time.sleep(max(0.0, start - time.monotonic()))
    with httpx.Client(base_url=url, timeout=120, follow_redirects=True) as http:
        try:
            page = http.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            login = timed(samples, "log in (POST, argon2)", lambda: http.post(
                "/login", data={"roll": roll, "code": code, "csrf": token}))
            if login.url.path != "/s":
                samples.error(f"{roll}: login answered {login.status_code}")
                return
            page = http.get("/s/toy")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            upload = timed(samples, "upload (POST, store, queue)", lambda: http.post(
                "/s/toy/upload", data={"csrf": token},
                files={"notebook": (f"{roll}.ipynb", notebook, "application/x-ipynb+json")}))
            if "stored and queued" not in upload.text:
                samples.error(f"{roll}: upload answered {upload.status_code}")
                return
            status_url = re.search(r'data-poll="([^"]+)"', upload.text)
            ticks = 0
            while status_url and time.monotonic() < stop:
                time.sleep(2.0)
                name = "status JSON (poll.js)" if ticks % 3 else "status page (HTML)"
                response = timed(samples, name + (" [grading]" if grading.is_set() else ""),
                                 lambda n=name: http.get(status_url.group(1) if "JSON" in n
                                                         else "/s/toy"))
                ticks += 1
                if response.status_code != 200:
                    samples.error(f"{roll}: status answered {response.status_code}")
                elif "JSON" in name and response.json()["final"]:
                    break
        except (httpx.HTTPError, AttributeError) as exc:
            samples.error(f"{roll}: {type(exc).__name__}: {exc}")


def watch_grading(course: Path, grading: threading.Event, done: threading.Event) -> None:
    """Set ``grading`` while a worker holds a claim (a run is in progress)."""
    from dlkit.gradebook import Gradebook

    gradebook = Gradebook.open(course)
    while not done.is_set():
        if gradebook.claims():
            grading.set()
        else:
            grading.clear()
        time.sleep(0.5)


def counts(course: Path) -> dict[str, int]:
    from sqlalchemy import func, select

    from dlkit.gradebook import Gradebook, Run, Submission

    gradebook = Gradebook.open(course)
    with gradebook.session() as s:
        stored = s.scalars(select(Submission).where(Submission.status == "stored",
                                                    Submission.source == "portal")).all()
        per_submission = s.execute(select(Run.submission_id, func.count()).group_by(
            Run.submission_id)).all()
    graded_twice = sum(1 for _, n in per_submission if n > 1)
    with_run = {sid for sid, _ in per_submission}
    return {"stored": len(stored),
            "queued or running or graded": sum(1 for sub in stored if sub.queue in
                                               ("queued", "running") or sub.id in with_run),
            "queued now": sum(1 for sub in stored if sub.queue == "queued"),
            "running now": sum(1 for sub in stored if sub.queue == "running"),
            "runs written": sum(n for _, n in per_submission),
            "submissions graded twice": graded_twice}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the uploads spread over")
    parser.add_argument("--after", type=float, default=60.0,
                        help="seconds students keep following their runs after the window")
    parser.add_argument("--workers", type=int, default=2, help="the server's grading workers")
    parser.add_argument("--drain", action="store_true", help="then wait until all are graded")
    parser.add_argument("--max-drain", type=float, default=1800.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    random.seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="dlkit-portal-load-") as tmp:
        folder = Path(tmp)
        print(f"machine: {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} "
              "(shared machine: other work may be running)", flush=True)
        started = time.monotonic()
        experiments, codes, notebooks = prepare(folder, args.students)
        print(f"prepared toy release and {args.students} codes in "
              f"{time.monotonic() - started:.0f} s", flush=True)
        course = folder / "course"
        port = _free_port()
        env = {**os.environ, "DLKIT_EXTRA_EXPERIMENTS": str(experiments)}
        log = (folder / "server.log").open("wb")
        server = subprocess.Popen([sys.executable, "-m", "dlkit.cli", "serve", "--course",
                                   str(course), "--port", str(port), "--workers",
                                   str(args.workers), "--gpus", "none"],
                                  stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        ok = False
        try:
            _wait_up(url, server)
            samples, grading, done = Samples(), threading.Event(), threading.Event()
            watcher = threading.Thread(target=watch_grading, args=(course, grading, done),
                                       daemon=True)
            watcher.start()
            t0 = time.monotonic()
            stop = t0 + args.window + args.after
            starts = sorted(t0 + random.uniform(0, args.window * 0.9) for _ in codes)
            threads = [threading.Thread(target=student, args=(url, roll, code, nb, start, stop,
                                                              samples, grading))
                       for (roll, code), nb, start in zip(codes.items(), notebooks, starts)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            uploads_done = time.monotonic() - t0
            figures = counts(course)
            print(f"\n{args.students} students, uploads spread over {args.window:.0f} s, followed "
                  f"for {uploads_done:.0f} s, {args.workers} grading worker(s)")
            for key, value in figures.items():
                print(f"  {key:<32} {value}")
            print()
            for name in sorted(samples.data):
                print("  " + describe(name, samples.data[name]))
            if samples.errors:
                print(f"\n  {len(samples.errors)} error(s): " + "; ".join(samples.errors[:10]))
            if args.drain:
                deadline = time.monotonic() + args.max_drain
                while time.monotonic() < deadline:
                    figures = counts(course)
                    if figures["runs written"] >= figures["stored"]:
                        break
                    time.sleep(5)
                print(f"\nafter draining ({time.monotonic() - t0:.0f} s since the first upload):")
                for key, value in counts(course).items():
                    print(f"  {key:<32} {value}")
            done.set()
            ok = (figures["stored"] == args.students and figures["queued or running or graded"]
                  == args.students and figures["submissions graded twice"] == 0
                  and not samples.errors)
            print("\nresult:", "OK" if ok else "PROBLEMS (see above)")
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        sys.exit(0 if ok else 1)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before answering")
        try:
            if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer")


if __name__ == "__main__":
    main()
