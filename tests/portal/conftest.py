"""Fixtures for the portal: the toy experiment released once, a course with three students who
have access codes and an instructor password, HTTP clients, and a real server process."""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nbformat
import pytest

from dlkit.experiments import EXTRA_EXPERIMENTS_ENV, Experiment
from dlkit.gradebook import Gradebook, Student
from dlkit.portal.auth import issue_code, set_password
from dlkit.portal.config import Settings, State

PASSWORD = "correct horse battery staple"
STUDENTS = {"101": ("Asha Kulkarni", "B1"), "102": ("Rohan Deshmukh", "B1"),
            "103": ("Meera <Joshi>", "B2")}


@pytest.fixture(scope="session")
def toy_root(built_toy, tmp_path_factory) -> Path:
    """The toy experiment's folder with release/ and autograder/ built: the portal tests' own
    copy of the session's build."""
    root = tmp_path_factory.mktemp("toy") / "experiments"
    shutil.copytree(built_toy, root)
    return root


@dataclass
class Course:
    folder: Path
    experiment: Experiment
    gradebook: Gradebook
    codes: dict[str, str] = field(default_factory=dict)

    def notebook(self, solution: bool = True, edit: tuple[str, str] | None = None) -> bytes:
        """The toy's reference (or starter) notebook, optionally with one text replaced."""
        kind = "autograder" if solution else "release"
        nb = nbformat.read(self.experiment.root / kind / "toy" / "toy.ipynb", as_version=4)
        if edit:
            for cell in nb.cells:
                cell.source = cell.source.replace(*edit)
        return nbformat.writes(nb).encode()


@pytest.fixture
def course(toy_root, tmp_path, monkeypatch) -> Course:
    """A course folder: the toy experiment open (no deadline), students 101-103 with codes,
    an instructor password. The toy is registered here and for processes started from here."""
    import dlkit.experiments as registry

    toy = Experiment(id="toy", number=0, title="Toy experiment", datasets=(), time_limit=120,
                     root=toy_root)
    monkeypatch.setitem(registry.EXPERIMENTS, "toy", toy)
    monkeypatch.setenv(EXTRA_EXPERIMENTS_ENV, str(toy_root))
    folder = tmp_path / "course"
    (folder).mkdir()
    (folder / "portal.yml").write_text("experiments:\n  toy: {}\nuploads_per_hour: 10\n")
    gradebook = Gradebook.open(folder)
    with gradebook.session() as s:
        for roll, (name, batch) in STUDENTS.items():
            s.add(Student(roll=roll, name=name, batch=batch, email=f"{roll}@example.edu"))
    set_password(State.of(folder), PASSWORD)
    return Course(folder, toy, gradebook, {roll: issue_code(gradebook, roll) for roll in STUDENTS})


# --------------------------------------------------------------------------- HTTP helpers

def csrf(response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.text).group(1)


def main_text(response) -> str:
    """The words of the page's body (messages, then <main>) as a reader sees them."""
    body = response.text.split("<body>", 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


class Client:
    """A browser-like client of one portal: keeps cookies, fetches the CSRF token of a page."""

    def __init__(self, http) -> None:
        self.http = http

    def get(self, url: str, **kw):
        return self.http.get(url, **kw)

    def post(self, url: str, form_page: str | None = None, data: dict | None = None, **kw):
        token = csrf(self.http.get(form_page or url))
        return self.http.post(url, data={"csrf": token, **(data or {})}, **kw)

    def login(self, roll: str, code: str, **kw):
        return self.post("/login", data={"roll": roll, "code": code}, **kw)

    def login_instructor(self, name: str = "Prof. Rao", password: str = PASSWORD, **kw):
        return self.post("/instructor/login", data={"name": name, "password": password}, **kw)

    def upload(self, experiment: str, filename: str, data: bytes):
        return self.post(f"/s/{experiment}/upload", form_page=f"/s/{experiment}",
                         files={"notebook": (filename, data, "application/octet-stream")})


@pytest.fixture
def portal(course):
    """``portal(address="127.0.0.1", **settings)`` -> a new Client of an in-process app without
    grading workers, connecting from ``address`` (each call a new app: a server restart)."""
    from starlette.testclient import TestClient

    from dlkit.portal.app import create_app

    clients = []

    def make(address: str = "127.0.0.1", **settings) -> Client:
        app = create_app(Settings(course=course.folder, workers=0, **settings))
        client = TestClient(app, follow_redirects=True, client=(address, 50000))
        clients.append(client)
        return Client(client)

    yield make
    for client in clients:
        client.close()


# --------------------------------------------------------------------------- a real server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``dlkit serve`` in its own process (and its grading workers), on a free loopback port."""

    def __init__(self, course: Path, workers: int = 1, extra: list[str] | None = None) -> None:
        self.course, self.workers, self.extra = course, workers, extra or []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = course / "server.log"

    def start(self, timeout: float = 120) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dlkit.cli", "serve", "--course", str(self.course),
                 "--port", str(self.port), "--workers", str(self.workers), "--gpus", "none",
                 *self.extra], stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"the server did not start: {self.log.read_text()[-3000:]}")

    def client(self, address: str | None = None) -> Client:
        """A client of the server, sending from ``address`` (another loopback address, e.g.
        127.0.0.2, is another machine to the server's throttles)."""
        transport = httpx.HTTPTransport(local_address=address) if address else None
        return Client(httpx.Client(base_url=self.url, follow_redirects=True, timeout=60,
                                   transport=transport))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(course):
    """``server(workers=1)`` -> a started Server of the course; stopped after the test."""
    started = []

    def start(**kw) -> Server:
        started.append(Server(course.folder, **kw).start())
        return started[-1]

    yield start
    for one in started:
        one.stop()


def wait_for(condition, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
