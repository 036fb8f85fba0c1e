"""`ledger tiles` writes the C2SP tlog-tiles layout: checked here from the specification alone
(hashlib, rfc8785): every entry hashes to its level-0 tile hash, every higher tile hash is the
RFC 6962 hash of the 256 below it, the root of all leaves is the checkpoint's, format v2 members
match their commitments; a second run writes no full tile again; a purge changes members only."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.core.merkle import frontier_positions, stored_index
from ledger.errors import CorruptEvent, LedgerError
from ledger.ops import tiles as tiles_module
from tests import attacker
from tests.conftest import Cli, clock, manifest
from tests.test_v1_compat import FIXTURE

WIDTH = 256


def index_path(n: int) -> str:
    digits = str(n).zfill(-(-len(str(n)) // 3) * 3)
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def path(level: Any, n: int, width: int) -> str:
    return f"tile/{level}/{index_path(n)}" + (f".p/{width}" if width < WIDTH else "")


def mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def check_tiles(out: Path, vkey_name: str) -> tuple[int, list[bytes]]:
    """Verify a tiles folder from the spec; return (size, entries)."""
    lines = (out / "checkpoint").read_text().split("\n")
    assert lines[0] == vkey_name
    size, root = int(lines[1]), __import__("base64").b64decode(lines[2])
    entries: list[bytes] = []
    for n in range(-(-size // WIDTH)):
        width = min(WIDTH, size - n * WIDTH)
        data, i = (out / path("entries", n, width)).read_bytes(), 0
        while i < len(data):
            (length,) = struct.unpack(">H", data[i:i + 2])
            entries.append(data[i + 2:i + 2 + length])
            i += 2 + length
        assert len(entries) == n * WIDTH + width
    leaves = [hashlib.sha256(b"\x00" + e).digest() for e in entries]
    level, hashes = 0, leaves
    while len(hashes) >= 1 and size // WIDTH ** level:
        count = size // WIDTH ** level
        for n in range(-(-count // WIDTH)):
            width = min(WIDTH, count - n * WIDTH)
            tile = (out / path(level, n, width)).read_bytes()
            assert tile == b"".join(hashes[n * WIDTH:n * WIDTH + width]), (level, n)
        level += 1
        hashes = [mth(leaves[i * WIDTH ** level:(i + 1) * WIDTH ** level])
                  for i in range(size // WIDTH ** level)]
    assert mth(leaves) == root
    return size, entries


def check_members(out: Path, entries: list[bytes]) -> None:
    for n in range(-(-len(entries) // WIDTH)):
        members = json.loads((out / f"members/{index_path(n)}.json").read_text())
        for item in members:
            envelope = json.loads(entries[item["seq"] - 1])
            for name, value in item["payload"].items():
                if name not in item["salts"]:
                    assert set(value) == {"withheld"}
                    continue
                committed = (b"provenance-ledger/member/v2\n" + bytes.fromhex(item["salts"][name])
                             + rfc8785.dumps(name) + rfc8785.dumps(value))
                assert hashlib.sha256(committed).hexdigest() == envelope["commitments"][name]


def lines(n: int, start: int = 0) -> bytes:
    return b"".join(orjson.dumps({"contract": "paper-manifest-v1.1",
                                  "payload": manifest(f"SRCH:{start + i:08X}")}) + b"\n"
                    for i in range(n))


@pytest.fixture(params=["one process", "helpers"])
def writing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each run writes the entry bundles in this process, or (what a large log gets) in helper
    processes from its first entry on — and then they really did."""
    used: list[int] = []
    if request.param == "helpers":
        real = tiles_module._bundles_in_helpers

        def spy(*args: Any, **kwargs: Any) -> None:
            used.append(1)
            real(*args, **kwargs)

        monkeypatch.setattr(tiles_module, "PARALLEL_FROM", 1)
        monkeypatch.setattr(tiles_module, "_bundles_in_helpers", spy)
    yield str(request.param)
    assert bool(used) == (request.param == "helpers")


def test_tiles_follow_the_spec_grow_and_survive_a_purge(tmp_path: Path, writing: str) -> None:
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(600)), "ed")
    cli = Cli(db, tmp_path)
    key = tmp_path / "log.key"
    cli("keygen", "example.org/log", "-o", str(key))
    out = tmp_path / "log"
    first = cli("tiles", str(out), "--key", str(key))
    assert first.exit_code == 0, first.output
    # what it signed is said, as `site --key` says it (before, nothing said it stored one)
    assert first.stderr == "Signed and stored the checkpoint of size 600 by example.org/log\n"
    again = cli("tiles", str(out), "--key", str(key))
    assert again.stderr == ("Published the checkpoint of size 600 by example.org/log (signed "
                            "before: nothing new stored)\n") and again.exit_code == 0
    size, entries = check_tiles(out, "example.org/log")
    assert size == 600 and (out / "tile/0/002.p/88").exists() and (out / "tile/1/000.p/2").exists()
    check_members(out, entries)
    full = out / "tile/0/000"
    stamp = full.stat().st_mtime_ns
    # the log grows: full tiles stay as they were, new partial ones appear, old ones are kept
    with Ledger.open(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(100, 600)), "ed")
    assert cli("tiles", str(out), "--key", str(key)).exit_code == 0
    size, entries = check_tiles(out, "example.org/log")
    assert size == 700 and full.stat().st_mtime_ns == stamp and (out / "tile/0/002.p/88").exists()
    tiles_before = {p: p.read_bytes() for p in (out / "tile").rglob("*") if p.is_file()}
    # a purge: the members of the purged events change on the host, no tile does
    untouched = (out / "members/001.json").stat().st_mtime_ns  # a full bundle no purge touches
    secret = manifest("SRCH:00000005")["abstract"]
    assert cli("correct", "SRCH:00000005", "--kind", "removal", "--reason", "order",
               "--purge").exit_code == 0
    assert cli("tiles", str(out), "--key", str(key)).exit_code == 0
    size, entries = check_tiles(out, "example.org/log")
    assert size == 702
    check_members(out, entries)
    assert all(p.read_bytes() == data for p, data in tiles_before.items())
    members = json.loads((out / "members/000.json").read_text())
    assert set(members[5]["payload"]["abstract"]) == {"withheld"}  # seq 6: SRCH:00000005
    assert members[4]["payload"]["abstract"] == secret
    assert (out / "members/001.json").stat().st_mtime_ns == untouched


def test_tiles_of_an_earlier_checkpoint_serve_no_content_purged_since(tmp_path: Path,
                                                                      writing: str) -> None:
    """`tiles --checkpoint` with a checkpoint older than the head (the log grew since it was
    signed, or cosigned) writes the log at that size: it was refused, as if a stored hash had
    been edited. A purge after that checkpoint of an event it covers reaches the host at once:
    a run with the same checkpoint rewrites that bundle's members (it served the purged value)."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(300)), "ed")
    cli = Cli(db, tmp_path)
    key = tmp_path / "log.key"
    cli("keygen", "example.org/log", "-o", str(key))
    assert cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp.txt")).exit_code == 0
    with Ledger.open(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(20, 300)), "ed")
    out = tmp_path / "log"
    first = cli("tiles", str(out), "--checkpoint", str(tmp_path / "cp.txt"))
    assert first.exit_code == 0, first.output
    size, entries = check_tiles(out, "example.org/log")
    assert size == 300 and len(entries) == 300
    check_members(out, entries)
    secret = manifest("SRCH:00000005")["abstract"]
    assert json.loads((out / "members/000.json").read_text())[5]["payload"]["abstract"] == secret
    assert cli("correct", "SRCH:00000005", "--kind", "removal", "--reason", "order",
               "--purge").exit_code == 0  # seq 321, 322: after the checkpoint
    again = cli("tiles", str(out), "--checkpoint", str(tmp_path / "cp.txt"))
    assert again.exit_code == 0, again.output
    assert check_tiles(out, "example.org/log")[0] == 300
    check_members(out, entries)
    served = json.loads((out / "members/000.json").read_text())[5]  # seq 6: SRCH:00000005
    assert served["seq"] == 6 and secret not in json.dumps(served)
    assert set(served["payload"]["abstract"]) == {"withheld"}


def test_tiles_never_roll_a_folder_back(tmp_path: Path) -> None:
    """A folder that serves a checkpoint is not given an older one (every monitor that followed
    it would refuse the rollback), another root at its size, or another log's: exit 2, and the
    folder is left as it was."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(30)), "ed")
    cli = Cli(db, tmp_path)
    key = tmp_path / "log.key"
    cli("keygen", "example.org/log", "-o", str(key))
    assert cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "old.txt")).exit_code == 0
    with Ledger.open(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(5, 30)), "ed")
    out = tmp_path / "log"
    assert cli("tiles", str(out), "--key", str(key)).exit_code == 0
    served = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    back = cli("tiles", str(out), "--checkpoint", str(tmp_path / "old.txt"))
    assert back.exit_code == 2 and "would roll the log back" in back.stderr, back.output
    other_db = tmp_path / "other.db"
    with Ledger.create(other_db, clock) as ledger:  # another history, the same key and size
        ledger.append_jsonl(io.BytesIO(lines(35, 100)), "ed")
    other = Cli(other_db, tmp_path)
    fork = other("tiles", str(out), "--key", str(key))
    assert fork.exit_code == 2 and "another root at size 35" in fork.stderr, fork.output
    key2 = tmp_path / "other.key"
    other("keygen", "example.org/other", "-o", str(key2))
    elsewhere = other("tiles", str(out), "--key", str(key2))
    assert elsewhere.exit_code == 2 and "serves the log of example.org/log" in elsewhere.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == served


def test_tiles_need_a_key_or_a_checkpoint(cli: Cli, tmp_path: Path) -> None:
    result = cli("tiles", str(tmp_path / "t"))
    assert result.exit_code == 2 and "--key" in result.stderr


def test_tiles_where_they_cannot_be_written_sign_nothing(cli: Cli, tmp_path: Path) -> None:
    """`tiles OUT --key K` with OUT under a file (or a folder not writable here) signed and
    stored a checkpoint, then was refused (exit 2). It is refused first now."""
    import sqlite3

    assert cli("publish", cli.file(manifest())).exit_code == 0
    key = tmp_path / "k.key"
    assert cli("keygen", "k.example", "-o", str(key)).exit_code == 0
    afile = tmp_path / "afile"
    afile.write_text("not a folder\n")
    before = cli.snapshot(), sqlite3.connect(cli.db).execute(
        "SELECT count(*) FROM checkpoints").fetchone()
    result = cli("tiles", str(afile / "tiles"), "--key", str(key))
    assert result.exit_code == 2 and result.stderr == (
        f"Error: cannot write the tiles to {afile / 'tiles'}: {afile} is not a folder\n")
    assert (cli.snapshot(), sqlite3.connect(cli.db).execute(
        "SELECT count(*) FROM checkpoints").fetchone()) == before
    assert cli("tiles", str(tmp_path / "new" / "tiles"), "--key", str(key)).exit_code == 0


def test_tiles_under_a_folder_that_may_not_be_looked_into_sign_nothing(cli: Cli,
                                                                        tmp_path: Path) -> None:
    """The same under a folder of mode 000 (as a user who may not look into it: root runs
    without the capabilities that pass file modes by): a refusal naming why, not a traceback
    (`Path.exists` raises PermissionError there), and no checkpoint stored."""
    import os
    import sqlite3
    import subprocess
    import sys

    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
            pytest.skip("setpriv cannot drop the capabilities that pass file modes by")
    assert cli("publish", cli.file(manifest())).exit_code == 0
    key = tmp_path / "k.key"
    assert cli("keygen", "k.example", "-o", str(key)).exit_code == 0
    locked = tmp_path / "locked"
    (locked / "inner").mkdir(parents=True)
    locked.chmod(0o000)
    try:
        for args in (["tiles", str(locked / "inner" / "t"), "--key", str(key)],
                     ["checkpoint", "--key", str(key), "-o", str(locked / "inner" / "cp.txt")]):
            done = subprocess.run([*prefix, sys.executable, "-c", "from cli.main import main; main()",
                                   "--db", str(cli.db), *args], capture_output=True, text=True,
                                  timeout=120, cwd=Path(__file__).resolve().parents[1])
            assert done.returncode == 2 and done.stderr.startswith("Error: cannot write "), done.stderr
            assert done.stderr.endswith(": Permission denied\n") and "Traceback" not in done.stderr
    finally:
        locked.chmod(0o755)
    assert sqlite3.connect(cli.db).execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)


def test_helpers_write_the_bytes_one_process_writes(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The same checkpoint published by one process and by helper processes: the same files,
    byte for byte; and a format v1 entry too large for a tile is refused with the same words."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(1_000)), "ed")
    cli = Cli(db, tmp_path)
    key, note = tmp_path / "log.key", tmp_path / "checkpoint.txt"
    cli("keygen", "example.org/log", "-o", str(key))
    assert cli("checkpoint", "--key", str(key), "-o", str(note)).exit_code == 0
    trees = []
    for name, threshold in [("one", 10**9), ("helpers", 1)]:
        monkeypatch.setattr(tiles_module, "PARALLEL_FROM", threshold)
        out = tmp_path / name
        result = cli("tiles", str(out), "--checkpoint", str(note))
        assert result.exit_code == 0, result.output
        trees.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert trees[0] == trees[1] and len(trees[0]) == 2 * 4 + 4 + 1 + 1  # bundles, tiles, note


    shutil.copy(FIXTURE / "ledger.db", tmp_path / "v1.db")
    old = Cli(tmp_path / "v1.db", tmp_path)
    big = old.file(manifest("SRCH:0000BEEF", abstract="x" * 70_000))
    assert old("publish", big).exit_code == 0
    said = []
    for name, threshold in [("v1-one", 10**9), ("v1-helpers", 1)]:
        monkeypatch.setattr(tiles_module, "PARALLEL_FROM", threshold)
        refused = old("tiles", str(tmp_path / name), "--key", str(key))
        assert refused.exit_code == 2, refused.output
        said.append(refused.stderr)
    assert said[0] == said[1] and "a tile entry holds at most" in said[0]


@pytest.fixture(scope="module")
def signed_600(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, bytes]:
    """A ledger of 600 events with a checkpoint its key signed (verifying the whole log then);
    (path, the key, the true root)."""
    from ledger.core.note import parse_signer
    from ledger.ops.keys import generate

    db = tmp_path_factory.mktemp("signed") / "l.db"
    skey, _ = generate("example.org/log")
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(600)), "ed")
        ledger.checkpoint(parse_signer(skey))
        root = ledger.verify().root
    assert root is not None
    return db, skey, root


# Half the draws among the hashes the tiles publish above level 0 and the frontier at 600.
_ONE_TILE_UP = [stored_index(8, 0), stored_index(8, 1)]
_FRONTIER = [stored_index(level, index) for level, index in frontier_positions(600)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.sampled_from(_ONE_TILE_UP + _FRONTIER) | st.integers(0, 2 * 600 - 4 - 1),
       zero=st.booleans(), helpers=st.booleans())
def test_tiles_never_publish_an_edited_tree_hash(signed_600: tuple[Path, str, bytes],
                                                  tmp_path: Path, position: int, zero: bool,
                                                  helpers: bool) -> None:
    """Signing again after a checkpoint the key signed verifies only what follows it, so the
    tiles check what they publish: with any one stored hash edited (plain sqlite3), a first
    `tiles --key` into a new folder refuses naming the table, or every tile, entry and the
    root a reader makes from them are the true log's (checked from the specification)."""
    from ledger.core.note import parse_signer

    source, skey, root = signed_600
    db = tmp_path / f"e{position}-{zero}-{helpers}.db"
    with sqlite3.connect(source) as original, sqlite3.connect(db) as target:
        original.backup(target)
    with attacker.unguarded(db) as conn:
        value = bytes(32) if zero else hashlib.sha256(str(position).encode()).digest()
        conn.execute("UPDATE tree_hashes SET hash = ? WHERE pos = ?", (value, position))
    out = tmp_path / f"t{position}-{zero}-{helpers}"
    threshold = tiles_module.PARALLEL_FROM
    tiles_module.PARALLEL_FROM = 1 if helpers else 10**9
    try:
        with Ledger.open(db, clock) as ledger:
            ledger.tiles(out, parse_signer(skey))
    except LedgerError as exc:
        assert "tree_hashes" in str(exc) or "Merkle leaf" in str(exc) or "refusing" in str(exc)
        assert not (out / "checkpoint").exists()
        return
    finally:
        tiles_module.PARALLEL_FROM = threshold
    size, _ = check_tiles(out, "example.org/log")
    assert size == 600
    assert __import__("base64").b64decode((out / "checkpoint").read_text().split("\n")[2]) == root


def test_an_edited_hash_one_tile_up_is_refused(signed_600: tuple[Path, str, bytes],
                                               tmp_path: Path, writing: str) -> None:
    """The hash of a full entry bundle's 256 leaves (level-1 tile) edited with its leaves left
    alone: refused by name, in one process and in the helpers, with nothing published."""
    from ledger.core.merkle import stored_index
    from ledger.core.note import parse_signer

    source, skey, _ = signed_600
    db = tmp_path / "l.db"
    shutil.copy(source, db)
    with attacker.unguarded(db) as conn:
        conn.execute("UPDATE tree_hashes SET hash = zeroblob(32) WHERE pos = ?",
                     (stored_index(8, 1),))
    with Ledger.open(db, clock) as ledger, pytest.raises(CorruptEvent) as refused:
        ledger.tiles(tmp_path / "out", parse_signer(skey))
    assert str(refused.value).startswith("table tree_hashes: the stored hash of seq 257..512 "
                                         "(height 8) is not the hash of the 256 below it")
    assert not (tmp_path / "out" / "checkpoint").exists()


@pytest.mark.parametrize("edit", ["DELETE FROM tree_hashes WHERE pos = 7",
                                  "UPDATE tree_hashes SET hash = 'not a hash' WHERE pos = 7"])
def test_a_missing_or_retyped_hash_in_a_bundle_is_named(signed_600: tuple[Path, str, bytes],
                                                        tmp_path: Path, edit: str) -> None:
    """A full bundle's stored hashes are read as one range: a hash missing from it or stored as
    TEXT is named by its position, as a read of each would name it; nothing is published."""
    from ledger.core.note import parse_signer

    source, skey, _ = signed_600
    db = tmp_path / "l.db"
    shutil.copy(source, db)
    with attacker.unguarded(db) as conn:
        conn.execute(edit)
    with Ledger.open(db, clock) as ledger, pytest.raises(LedgerError) as refused:
        ledger.tiles(tmp_path / "out", parse_signer(skey))
    assert str(refused.value).startswith("table tree_hashes:") and "#7" in str(refused.value)
    assert not (tmp_path / "out" / "checkpoint").exists()


def test_the_tiles_of_a_log_of_no_events(cli: Cli, tmp_path: Path) -> None:
    """A new ledger's log is the empty tree (RFC 6962: the root is SHA-256 of nothing): `tiles
    --key` said `table tree_hashes: the root a reader makes from the tiles at size 0 is not the
    checkpoint's: a stored hash was edited` (exit 1), a false alarm of tampering. It publishes a
    checkpoint of size 0, which the monitor follows as the log grows."""
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "empty.example", "-o", str(key)).stdout)
    out, state = tmp_path / "public", str(tmp_path / "seen.json")
    done = cli("tiles", str(out), "--key", str(key))
    assert done.exit_code == 0, done.output
    assert (out / "checkpoint").read_text().splitlines()[1:3] == [
        "0", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
    assert cli("monitor", str(out), "--vkey", str(vkey), "--state", state).exit_code == 0
    assert cli("publish", cli.file(manifest())).exit_code == 0
    assert cli("tiles", str(out), "--key", str(key)).exit_code == 0
    followed = cli("monitor", str(out), "--vkey", str(vkey), "--state", state, "--json")
    assert followed.exit_code == 0 and orjson.loads(followed.stdout)["new_events"] == 1


def test_the_progress_of_tiles_reaches_its_true_totals(tmp_path: Path, writing: str) -> None:
    """`tiles` shows two bars, verifying (the log's events) and writing (the checkpoint's):
    each reaches exactly its total — on a first run, a run from a checkpoint the key signed
    before (the events that checkpoint fixes count as verified) and a run with an older
    checkpoint given. Before, the writing was not counted at all: the bar stood still while
    the tiles of 10⁶ events took 14 s."""
    from ledger.core.note import parse_signer
    from ledger.ops.keys import generate

    skey, _ = generate("example.org/log")
    signer = parse_signer(skey)
    with Ledger.create(tmp_path / "l.db", clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(600)), "ed")
        older, _ = ledger.checkpoint(signer)
        ledger.append_jsonl(io.BytesIO(lines(300, start=600)), "ed")
        for out, key, note, size in (("a", signer, None, 900), ("b", signer, None, 900),
                                     ("c", None, older, 600)):
            verified: list[int] = []
            written: list[int] = []
            ledger.tiles(tmp_path / out, key, note, verified.append, written.append)
            assert (sum(verified), sum(written)) == (900, size), out


def test_two_runs_into_one_folder_at_once_never_roll_it_back(tmp_path: Path) -> None:
    """A run with an older checkpoint still writing when a run with a newer one finished renamed
    its older checkpoint in last: the folder served a rollback that every monitor refuses. While
    one run writes a folder, another run into it is refused (exit 2), and the first completes."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(300)), "ed")
    cli = Cli(db, tmp_path)
    key = tmp_path / "log.key"
    cli("keygen", "example.org/log", "-o", str(key))
    old = tmp_path / "old.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(old)).exit_code == 0
    with Ledger.open(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(5, 300)), "ed")
    out = tmp_path / "log"
    meanwhile: list[Any] = []

    def during(n: int) -> None:  # the newer run, while the older one writes its first bundle
        if not meanwhile:
            meanwhile.append(cli("tiles", str(out), "--key", str(key)))

    with Ledger.open(db, clock) as ledger:
        ledger.tiles(out, note=old.read_text(), writing=during)
    (newer,) = meanwhile
    assert newer.exit_code == 2, newer.output
    assert f"another `ledger tiles` is writing into {out.resolve()}" in newer.stderr
    assert newer.stderr.count("\n") == 1 and "Traceback" not in newer.output
    assert check_tiles(out, "example.org/log")[0] == 300
    assert cli("tiles", str(out), "--key", str(key)).exit_code == 0  # once the first is done
    assert check_tiles(out, "example.org/log")[0] == 305
