"""The SQLite store when its file system misbehaves: a small disk that fills, a file
made read-only or immutable, a folder removed or a file replaced under it.

Real file systems: a 2 MB tmpfs mounted for the test (tests run as root, as CI
does), ``chattr +i``, ``shutil.rmtree``. Every test restores what it changed.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_session_guard.stores import SessionRecord, StoreUnavailable
from flask_session_guard.stores.sqlite import WAL_PAGES_MAX, SQLiteSessionStore

NOW = 1_700_000_000.0


def _record(key: str, **data: str) -> SessionRecord:
    return SessionRecord(key, NOW, NOW, NOW + 3600, NOW + 600, "s", True, dict(data))


def _wal(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of this test alone, unmounted at the end."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs needs root (CI runs the tests as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@contextlib.contextmanager
def disk_filled(directory: Path) -> Iterator[Path]:
    """Fill the file system of ``directory`` to the last byte; free it on exit."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 1):
            chunk = b"\0" * size
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    try:
        yield filler
    finally:
        filler.unlink(missing_ok=True)


def test_the_write_ahead_log_stays_small_on_a_small_disk(small_disk: Path) -> None:
    path = small_disk / "s.sqlite3"
    store = SQLiteSessionStore(path)
    # A budget for a 2 MB volume: 64 pages (256 KB), not SQLite's 4 MB.
    assert (store.wal_pages, store.wal_size_limit) == (64, 64 * 4096)
    for n in range(40):
        store.create(_record(f"k{n}"))
    biggest = 0
    for i in range(3000):  # about 6 MB of log frames: three times the disk
        assert store.update(f"k{i % 40}", NOW, {"watchlist": f"{i:0200d}"})
        biggest = max(biggest, _wal(path))
    store.close()
    # The threshold, plus the pages of the commit that crossed it.
    assert biggest <= store.wal_size_limit + 16 * 4096


def test_a_big_disk_keeps_sqlites_checkpoint_threshold(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.sqlite3")
    assert store.wal_pages == WAL_PAGES_MAX
    store.close()


def test_a_write_failing_for_lack_of_space_empties_the_log(small_disk: Path) -> None:
    """The log itself holds the space (sessions being updated): the failed write's
    checkpoint gives it back, and writes succeed though the disk is still full."""
    path = small_disk / "s.sqlite3"
    values = {f"n{i}": f"{0:0500d}" for i in range(50)}
    SQLiteSessionStore(path).create(_record("k", **values))
    store = SQLiteSessionStore(path)  # start-up checkpoints: the rows are in the file
    i = 0
    while _wal(path) < 150_000:  # below the checkpoint threshold (256 KB here)
        i += 1
        assert store.update("k", NOW, {f"n{i % 50}": f"{i:0500d}"})
    with disk_filled(small_disk):
        outcomes = []
        for j in range(1, 100):
            try:
                outcomes.append(store.update("k", NOW, {f"n{j % 50}": f"{-j:0500d}"}))
            except StoreUnavailable as err:
                assert "full" in str(err)
                outcomes.append(False)
        # The log could not grow: that write is refused (503), and the log emptied,
        # so the next ones fit; never two refusals in a row.
        assert outcomes[0] is False
        assert sum(outcomes) >= 80
        assert not any(a is b is False for a, b in itertools.pairwise(outcomes))
    got = store.get("k", NOW)
    store.close()
    assert got is not None
    assert got.data["n49"] == f"{-99:0500d}"


def test_a_full_disk_is_503_then_recovers_once_space_is_freed(small_disk: Path) -> None:
    path = small_disk / "s.sqlite3"
    store = SQLiteSessionStore(path)
    store.create(_record("k"))
    acknowledged: dict[str, str] = {}
    with disk_filled(small_disk):
        failed = 0
        for n in range(300):  # new keys: the database itself must grow
            name, value = f"key{n}", "v" * 2000
            try:
                if store.update("k", NOW, {name: value}):
                    acknowledged[name] = value
            except StoreUnavailable:
                failed += 1
        assert failed > 0
        with pytest.raises(StoreUnavailable):
            store.create(_record("new", big="x" * 200_000))
    # Space is back: writes work again without a restart, and none acknowledged is lost.
    assert store.update("k", NOW, {"after": "ok"})
    store.create(_record("new"))
    got = store.get("k", NOW)
    store.close()
    assert got is not None
    assert {k: got.data[k] for k in acknowledged} == acknowledged
    assert got.data["after"] == "ok"


def test_a_log_left_by_an_earlier_run_is_emptied_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    SQLiteSessionStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)  # keeps the log from being removed
    other.execute("PRAGMA wal_autocheckpoint=0")
    for n in range(100):
        other.execute("INSERT INTO session_data VALUES (?, 'n', ?)", (f"k{n}", "x" * 1000))
    assert _wal(path) > 100_000
    SQLiteSessionStore(path).close()
    assert _wal(path) == 0
    other.close()


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i``: not even root may write the file; always undone."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_connection_opened_read_only_is_reopened_once_writes_are_allowed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLiteSessionStore(path)
    store.create(_record("k", n="1"))
    store.close()  # the next call opens a new connection, as a new worker would
    with immutable(path):
        got = store.get("k", NOW)  # SQLite opens the file read-only: reads work
        assert got is not None and got.data == {"n": "1"}
        for _ in range(3):
            with pytest.raises(StoreUnavailable, match="readonly"):
                store.update("k", NOW, {"n": "2"})
    # Permissions are back: the same store writes again, without a restart.
    assert store.update("k", NOW, {"n": "3"})
    got = store.get("k", NOW)
    store.close()
    assert got is not None and got.data == {"n": "3"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_removed_folder_refuses_the_write_and_is_made_again_owner_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "db"
    path = folder / "s.sqlite3"
    store = SQLiteSessionStore(path)
    store.create(_record("k", n="1"))
    assert store.update("k", NOW, {"n": "2"})
    shutil.rmtree(folder)
    caplog.set_level(logging.ERROR, logger="flask_session_guard")
    # The write went to the deleted file: refused, never acknowledged.
    with pytest.raises(StoreUnavailable, match="removed or replaced"):
        store.update("k", NOW, {"n": "3"})
    assert "was removed or replaced while in use" in caplog.text
    # The path is made again, owner-only: the old session is gone, new ones work.
    assert store.get("k", NOW) is None
    assert store.update("k", NOW, {"n": "4"}) is False
    store.create(_record("new", n="1"))
    assert store.update("new", NOW, {"n": "2"})
    for name in ("s.sqlite3", "s.sqlite3-wal", "s.sqlite3-shm"):
        assert _mode(folder / name) == 0o600, name
    store.close()


def test_a_replaced_file_refuses_the_write_in_flight(tmp_path: Path) -> None:
    """A file moved over the live one (a restore while the server runs): the write that
    went to the old file is refused; later writes are kept."""
    path = tmp_path / "s.sqlite3"
    store = SQLiteSessionStore(path)
    store.create(_record("old"))
    replacement = SQLiteSessionStore(tmp_path / "backup.sqlite3")
    replacement.create(_record("restored", n="1"))
    replacement.close()
    os.replace(tmp_path / "backup.sqlite3", path)
    with pytest.raises(StoreUnavailable, match="removed or replaced"):
        store.create(_record("written-to-the-old-file"))
    store.create(_record("after", n="2"))
    got = store.get("after", NOW)
    store.close()
    assert got is not None and got.data == {"n": "2"}
