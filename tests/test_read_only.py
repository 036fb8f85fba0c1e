"""A ledger file on read-only media (an auditor's copy, an archive, a read-only volume).

SQLite opens a write-ahead-log ledger for writing, and needs a `-shm` file beside it to read
one: on a read-only folder every command said `… is not a ledger: unable to open database
file`, so the copy an auditor was handed could not be verified at all. The folder is made
read-only by a read-only bind mount (root's tool; as root, file modes do not stop a write).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import Cli, manifest

LEDGER = [sys.executable, "-c", "from cli.main import main; main()"]


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """Yield a read-only view of ``folder`` (a read-only bind mount)."""
    view = Path(tempfile.mkdtemp(prefix="ro-view-"))
    bound = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True)
    if bound.returncode != 0:
        view.rmdir()
        pytest.skip(f"a read-only bind mount needs root: {bound.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        with pytest.raises(OSError):
            (view / "probe").write_text("x")
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True)
        view.rmdir()


def run(db: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*LEDGER, "--db", str(db), *args], capture_output=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def test_every_read_works_on_a_read_only_copy(cli: Cli, tmp_path: Path) -> None:
    for i in range(3):
        assert cli("publish", cli.file(manifest(f"SRCH:0000000{i}", title=f"Routing {i}"))
                   ).exit_code == 0
    assert cli("correct", "SRCH:00000001", "--kind", "retraction", "--reason", "fabricated"
               ).exit_code == 0
    key = tmp_path / "k.key"
    (tmp_path / "k.vkey").write_text(cli("keygen", "ro.example", "-o", str(key)).stdout)
    note = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(note)).exit_code == 0
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(cli.db, folder / "ledger.db")  # never searched: no index in it
    reads = [["verify", "--json"], ["audit", "--json"], ["show", "SRCH:00000001", "--json"],
             ["export"], ["search", "routing", "--json"], ["list", "--json"], ["log", "--json"],
             ["history", "SRCH:00000001", "--json"], ["status", "--json"], ["prove", "2"],
             ["verify", "--checkpoint", str(note), "--vkey", str(tmp_path / "k.vkey"), "--json"],
             ["bundle", "SRCH:00000001", "--checkpoint", str(note)], ["feed"]]
    with read_only(folder) as view:
        for args in reads:
            there, here = run(view / "ledger.db", *args), run(cli.db, *args)
            assert there.returncode == 0, (args, there.stderr)
            if args[0] == "status":  # it names the file
                mine, theirs = orjson.loads(here.stdout), orjson.loads(there.stdout)
                assert {**theirs, "path": None} == {**mine, "path": None}
            else:
                assert there.stdout == here.stdout, args
        site = run(view / "ledger.db", "site", str(tmp_path / "site"), "--checkpoint", str(note),
                   "--vkey", str(tmp_path / "k.vkey"))
        assert site.returncode == 0 and (tmp_path / "site" / "index.html").exists()
        write = run(view / "ledger.db", "correct", "SRCH:00000002", "--kind", "addendum",
                    "--reason", "x")
        assert write.returncode == 2
        assert write.stderr.decode().splitlines() == [
            f"Error: the ledger file {view / 'ledger.db'} is read-only here: nothing was written"]


def test_a_write_ahead_log_it_cannot_read_is_said(cli: Cli, tmp_path: Path) -> None:
    """Events still in the write-ahead log are read from a read-only folder when its `-shm`
    file is there; without one, SQLite could read the file only without them, so the command
    refuses, saying why, instead of verifying an older log."""
    assert cli("publish", cli.file(manifest("SRCH:0000000A"))).exit_code == 0
    holder = sqlite3.connect(cli.db)  # a reader keeps the log from being checkpointed
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM events").fetchone()
    try:
        assert cli("publish", cli.file(manifest("SRCH:0000000B"))).exit_code == 0
        assert Path(f"{cli.db}-wal").stat().st_size > 0
        with read_only(cli.db.parent) as view:
            found = run(view / cli.db.name, "verify", "--json")
            assert found.returncode == 0 and orjson.loads(found.stdout)["events"] == 2
        bare = tmp_path / "bare"
        bare.mkdir()
        for suffix in ("", "-wal"):
            shutil.copy(f"{cli.db}{suffix}", bare / f"ledger.db{suffix}")
        with read_only(bare) as view:
            refused = run(view / "ledger.db", "verify")
            assert refused.returncode == 2
            assert "only with a -shm file beside it" in refused.stderr.decode()
    finally:
        holder.close()


def test_a_read_only_copy_in_a_folder_this_user_may_not_write(cli: Cli, tmp_path: Path) -> None:
    """The other read-only case: the file and its folder on an ordinary disk, neither writable
    by this user (an auditor's copy, mode 444 in a folder of mode 555). SQLite says
    SQLITE_READONLY_DIRECTORY there, not CANTOPEN: every command said `… is not a ledger:
    attempt to write a readonly database`. Root passes file modes by, so root runs the commands
    without the capabilities that do (`setpriv`)."""
    import os

    assert cli("publish", cli.file(manifest("SRCH:00000001", title="Routing"))).exit_code == 0
    assert cli("correct", "SRCH:00000001", "--kind", "retraction", "--reason", "r").exit_code == 0
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(cli.db, folder / "ledger.db")
    (folder / "ledger.db").chmod(0o444)
    folder.chmod(0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
            pytest.skip("setpriv cannot drop the capabilities that pass file modes by")
    try:
        for args in (["verify", "--json"], ["audit", "--json"], ["show", "SRCH:00000001", "--json"],
                     ["export"], ["search", "routing", "--json"]):
            there = subprocess.run([*prefix, *LEDGER, "--db", str(folder / "ledger.db"), *args],
                                   capture_output=True, timeout=120,
                                   cwd=Path(__file__).resolve().parents[1])
            here = run(cli.db, *args)
            assert there.returncode == 0, (args, there.stderr)
            assert there.stdout == here.stdout, args
        refused = subprocess.run([*prefix, *LEDGER, "--db", str(folder / "ledger.db"), "correct",
                                  "SRCH:00000001", "--kind", "addendum", "--reason", "x"],
                                 capture_output=True, timeout=120,
                                 cwd=Path(__file__).resolve().parents[1])
        assert refused.returncode == 2 and b"is read-only here" in refused.stderr, refused.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["ledger.db"]
    finally:
        folder.chmod(0o755)


def test_a_writable_ledger_in_a_folder_this_user_may_not_write(cli: Cli, tmp_path: Path) -> None:
    """The file may be written but not its folder, where SQLite must make the `-wal` and `-shm`
    files: reads work, and a write is refused naming the folder (it said `the ledger file is
    read-only`, of a file anyone could write)."""
    import os

    assert cli("publish", cli.file(manifest("SRCH:00000001"))).exit_code == 0
    folder = tmp_path / "shared"
    folder.mkdir()
    shutil.copy(cli.db, folder / "ledger.db")
    (folder / "ledger.db").chmod(0o666)
    folder.chmod(0o555)
    prefix = (["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
              if os.geteuid() == 0 else [])
    if prefix and subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("setpriv cannot drop the capabilities that pass file modes by")
    try:
        def there(*args: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run([*prefix, *LEDGER, "--db", str(folder / "ledger.db"), *args],
                                  capture_output=True, timeout=120,
                                  cwd=Path(__file__).resolve().parents[1])

        assert there("verify").returncode == 0
        write = there("correct", "SRCH:00000001", "--kind", "addendum", "--reason", "x")
        assert write.returncode == 2
        assert write.stderr.decode().splitlines() == [
            f"Error: the ledger's folder {folder} is not writable here, and SQLite keeps the "
            "ledger's -wal and -shm files beside it: nothing was written"]
    finally:
        folder.chmod(0o755)
