"""The tiles of `ledger tiles`, checked by Go's own implementation (golang.org/x/mod/sumdb/note and
sumdb/tlog from Debian's golang-golang-x-mod-dev, through ``tests/go/tlogcheck``), from a folder
and over HTTP from Debian's nginx: the checkpoint's signature, every tile through its tile
reader, the tree hash, every entry against its level-0 hash, every inclusion proof, and the
consistency of an older signed checkpoint with a newer one. A changed tile, entry or checkpoint
is refused by Go too (so the check is not vacuous).

x/mod 0.7.0's TileHashReader does not check every full tile against its parent: this proves
interoperability, not integrity — ``ledger monitor`` checks every tile itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.test_monitor import Log

GO = shutil.which("go")
X_MOD = Path("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog")
SOURCE = Path(__file__).parent / "go" / "tlogcheck"


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go checker, built offline against Debian's x/mod (GOPATH mode)."""
    if GO is None or not X_MOD.is_dir():
        pytest.skip("Go or Debian's golang-golang-x-mod-dev is not installed (.ci/run installs them)")
    out = tmp_path_factory.mktemp("go")
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode",
           "GOCACHE": str(out / "cache"), "GOFLAGS": ""}
    subprocess.run([GO, "build", "-o", str(out / "tlogcheck"), "."], cwd=SOURCE, env=env,
                   check=True, capture_output=True)
    return out / "tlogcheck"


def go_check(binary: Path, base: str, vkey: str, old: Path | None = None) -> tuple[int, str]:
    args = [str(binary), *(["-old", str(old)] if old else []), base, vkey]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def test_go_reads_and_verifies_the_tiles_from_a_folder(tmp_path: Path, tlogcheck: Path) -> None:
    log = Log(tmp_path)  # 300 events: one full tile and a partial one at each size below
    log.publish()
    old = tmp_path / "old-checkpoint"
    old.write_bytes((log.out / "checkpoint").read_bytes())
    assert go_check(tlogcheck, str(log.out), log.vkey) == (0, "ok 300\n")
    for n, start in ((212, 300), (1, 512), (66, 513)):  # 512 (full), 513, 579 events
        log.grow(n, start)
        log.publish()
        size = int((log.out / "checkpoint").read_text().split("\n")[1])
        assert go_check(tlogcheck, str(log.out), log.vkey, old) == (0, f"ok {size}\n")
    purged = Cli(log.db, tmp_path)("correct", "SRCH:00000003", "--kind", "removal",
                                   "--reason", "Court order", "--purge")
    assert purged.exit_code == 0, purged.output
    log.publish()  # the tiles stay immutable, the log grows by the notice and the purge
    code, said = go_check(tlogcheck, str(log.out), log.vkey, old)
    assert code == 0, said


def test_go_over_http_from_nginx(tmp_path: Path, tlogcheck: Path, nginx: tuple[str, Path]) -> None:
    url, served = nginx
    log = Log(tmp_path)
    log.out = served
    log.grow(300, 300)
    log.publish()
    assert go_check(tlogcheck, url, log.vkey) == (0, "ok 600\n")


def test_go_refuses_what_was_changed(tmp_path: Path, tlogcheck: Path) -> None:
    log = Log(tmp_path)
    log.grow(300, 300)
    log.publish()
    base = str(log.out)
    assert go_check(tlogcheck, base, log.vkey)[0] == 0
    checkpoint = (log.out / "checkpoint").read_bytes()
    (log.out / "checkpoint").write_bytes(checkpoint.replace(b"\n600\n", b"\n599\n"))
    code, said = go_check(tlogcheck, base, log.vkey)
    assert code == 1 and "checkpoint signature" in said, said
    (log.out / "checkpoint").write_bytes(checkpoint)
    tile = log.out / "tile" / "0" / "001"
    data = bytearray(tile.read_bytes())
    data[40] ^= 1
    tile.write_bytes(bytes(data))
    code, said = go_check(tlogcheck, base, log.vkey)
    assert code == 1, said
    data[40] ^= 1
    tile.write_bytes(bytes(data))
    entries = log.out / "tile" / "entries" / "000"
    data = bytearray(entries.read_bytes())
    data[100] ^= 1
    entries.write_bytes(bytes(data))
    code, said = go_check(tlogcheck, base, log.vkey)
    assert code == 1 and "does not hash to its level-0 tile hash" in said, said
