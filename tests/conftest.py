"""Shared fixtures: a real local HTTP server and real wheels for the data-registry tests."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class FileServer:
    """Serves ``files`` (path -> bytes) on 127.0.0.1; ``truncate`` paths send half, then hang up."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.close()
                else:
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.httpd.shutdown()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def wheelhouse(tmp_path, monkeypatch):
    """A local package index: ``add(name, version, members)`` writes a real wheel into it, and
    pip (run by the registry) is pointed at it alone. Returns the wheel's sha256."""
    folder = tmp_path / "wheelhouse"
    folder.mkdir()
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")

    def add(name: str, version: str, members: dict[str, bytes]) -> str:
        dist = f"{name.replace('-', '_')}-{version}"
        path = folder / f"{dist}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as wheel:
            for member, data in members.items():
                wheel.writestr(member, data)
            wheel.writestr(f"{dist}.dist-info/METADATA",
                           f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
            wheel.writestr(f"{dist}.dist-info/WHEEL",
                           "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            wheel.writestr(f"{dist}.dist-info/RECORD", "")
        return sha256(path.read_bytes())

    return add


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty dlkit cache folder (DLKIT_DATA) for this test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("DLKIT_DATA", str(root))
    return root


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true",
                     help="rewrite tests/goldens from the current output instead of comparing")


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


FIXTURE_COURSE = Path(__file__).parent / "fixtures" / "course"


def toy_experiment(root: Path):
    """The toy experiment (tests/fixtures/course) with its course folder at ``root``."""
    from dlkit.experiments import Experiment

    return Experiment(id="toy", number=0, title="Toy", datasets=(), time_limit=120, root=root)


@pytest.fixture
def toy(tmp_path):
    """The toy experiment in a private copy of its course folder, not released yet."""
    import shutil

    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    return toy_experiment(root)


@pytest.fixture(scope="session")
def built_toy(tmp_path_factory) -> Path:
    """The toy's course folder with release/ and autograder/ built, once a session (otter
    assign takes 10-30 s); tests take copies of it."""
    import shutil

    from dlkit.release import build

    root = tmp_path_factory.mktemp("toy-built") / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    build(toy_experiment(root), root)
    return root


@pytest.fixture
def toy_course(built_toy, tmp_path):
    """The toy experiment, released (release/ and autograder/), in a private copy of its course
    folder (a copy of the session's one build)."""
    import shutil

    root = tmp_path / "course"
    shutil.copytree(built_toy, root)
    return toy_experiment(root)


@pytest.fixture(autouse=True)
def _sandboxed_runs_only_when_marked(request, monkeypatch):
    """A test that starts a sandboxed run in this process carries the ``sandbox`` marker, so
    that ``-m "not sandbox"`` starts none: an unmarked one fails, naming itself."""
    if request.node.get_closest_marker("sandbox") is not None:
        return
    from dlkit.sandbox import Sandbox

    def refused(*_args, **_kwargs):
        raise AssertionError(f"{request.node.nodeid} starts a sandboxed run: mark it "
                             "@pytest.mark.sandbox")

    monkeypatch.setattr(Sandbox, "start", refused)


@pytest.fixture(autouse=True)
def _course_masters_restored():
    """What ``use_course`` changes for the rest of its process (the registry's entries and
    ``DLKIT_COURSE_MASTERS``, which the processes it starts inherit) ends with the test: a
    ``dlkit grade --course`` run through CliRunner must not hand its course's edited toy
    master to the portal workers a later test starts."""
    import os

    import dlkit.experiments as registry

    known = dict(registry.EXPERIMENTS)
    masters = os.environ.get(registry.COURSE_MASTERS_ENV)
    yield
    registry.EXPERIMENTS.clear()
    registry.EXPERIMENTS.update(known)
    if masters is None:
        os.environ.pop(registry.COURSE_MASTERS_ENV, None)
    else:
        os.environ[registry.COURSE_MASTERS_ENV] = masters


#: the browser the end-to-end tests drive: Debian's chromium, never `playwright install`'s
CHROMIUM = Path("/usr/bin/chromium")


@contextlib.contextmanager
def launched_chromium():
    """Debian's chromium driven by Playwright (`make setup` as root installs it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(`make setup` as root installs it; never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}
