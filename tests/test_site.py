"""`ledger site` writes safely and incrementally: never through a symlink or outside the output
folder, only changed files, shared assets, a CSP and no inline script, JSON that cannot end its
script element."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.pages.site import embed_json
from tests.conftest import Cli

UNSIGNED = ("Note: no --key or --checkpoint: the pages are the publisher's copy, and do not verify "
            "themselves in the reader's browser\n")


@pytest.fixture
def signed_site(cli: Cli, published: Callable[..., str], tmp_path: Path) -> tuple[list[str], Path]:
    published()
    published("SRCH:00000002")
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    return ["--checkpoint", str(checkpoint), "--vkey", str(vkey)], tmp_path / "site"


def test_embedded_json_cannot_end_its_element() -> None:
    text = embed_json({"a": "</script><!--<script>&\u2028\u2029>"})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"a": "</script><!--<script>&\u2028\u2029>"}


def test_pages_have_a_csp_shared_assets_and_no_inline_script(
        cli: Cli, signed_site: tuple[list[str], Path]) -> None:
    args, out = signed_site
    assert cli("site", str(out), *args).exit_code == 0
    assert sorted(p.name for p in (out / "assets").iterdir()) == sorted(
        ["page.css", "site.css", "fold.js", "page.js", "verify.js", "record.js", "index.js"])
    for page in [*out.glob("*.html")]:
        html = page.read_text()
        assert "Content-Security-Policy" in html and "script-src 'self'" in html
        assert "<style" not in html and not re.search(r"\son[a-z]+\s*=", html)
        for tag in re.findall(r"<script[^>]*>", html):
            assert re.fullmatch(r'<script src="(assets/[a-z]+\.js\?v=[0-9a-f]{12}|bundles/[A-Za-z0-9-]+'
                                r'\.[0-9a-f]{16}\.js)">', tag) or \
                tag == '<script type="application/json" id="vkey">', tag
    assert json.loads((out / "index.json").read_text())["rows"][0][0] == "SRCH:00000002"
    key_id = "+".join(Path(args[3]).read_text().split("+")[:2])  # what the record pages' badge names
    assert f"signed by pub.example (key {key_id})." in (out / "index.html").read_text()


def test_a_second_run_rewrites_only_what_changed(cli: Cli, signed_site: tuple[list[str], Path]) -> None:
    _, out = signed_site
    first = cli("site", str(out))
    assert first.exit_code == 0 and "0 already up to date" in first.stdout
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = cli("site", str(out))
    assert "0 file(s) written" in again.stdout
    cli("correct", "SRCH:00000002", "--kind", "retraction", "--reason", "x")
    third = cli("site", str(out))
    changed = {p.name for p in out.rglob("*") if p.is_file() and p.stat().st_mtime_ns != before[p.name]}
    assert changed == {"SRCH-00000002.html", "index.html", "index.json",
                       "ledger-site-state.json"}, (changed, third.stdout)
    assert "4 file(s) written" in third.stdout
    # a page edited in the build folder since is rebuilt; --full rebuilds every page
    page = out / "SRCH-03BE3A05.html"
    page.write_text(page.read_text().replace("Status: CURRENT", "Status: RETRACTED"))
    assert "2 file(s) written" in cli("site", str(out)).stdout  # the page and the state
    assert "Status: CURRENT" in page.read_text()
    # and so is one edited with its size and modification time put back (as anyone who can
    # write the folder can): the inode's change time, which no utime sets, is compared too
    info, text = page.stat(), page.read_bytes()
    forged = text.replace(b"Status: CURRENT", b"Status: RETRACT")  # the same size
    assert len(forged) == len(text) and forged != text
    page.write_bytes(forged)
    os.utime(page, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert page.stat().st_size == info.st_size and page.stat().st_mtime_ns == info.st_mtime_ns
    assert "2 file(s) written" in cli("site", str(out)).stdout
    assert page.read_bytes() == text
    assert "0 file(s) written" in cli("site", str(out), "--full").stdout


def test_a_change_to_the_code_that_makes_pages_rebuilds_them(
        cli: Cli, published: Callable[..., str], tmp_path: Path) -> None:
    """A run's state names the code that made its pages (every module of the package, not
    only the site's): after a change to one (here the words the page module gives an
    unevaluated gate), the next run builds every page again instead of keeping pages of two
    versions side by side. Run from a copy of the package, changed on disk as an upgrade does."""
    import shutil
    import subprocess
    import sys

    import ledger

    published()
    code = tmp_path / "code"
    shutil.copytree(Path(ledger.__file__).parent, code / "ledger",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "site"
    script = ("import sys\nfrom pathlib import Path\nfrom ledger.api import Ledger\n"
              "with Ledger.open(sys.argv[1]) as l:\n    l.site(Path(sys.argv[2]))\n")

    def build() -> None:
        subprocess.run([sys.executable, "-c", script, str(cli.db), str(out)], check=True,
                       env={**os.environ, "PYTHONPATH": str(code)}, cwd=tmp_path)  # not ./ledger

    build()
    page = out / "SRCH-03BE3A05.html"
    assert "<dd>Not evaluated</dd>" in page.read_text()
    render = code / "ledger" / "pages" / "render.py"
    render.write_text(render.read_text().replace('"Not evaluated"', '"Not evaluated yet"'))
    build()
    assert "<dd>Not evaluated yet</dd>" in page.read_text()


def test_a_second_run_reads_only_the_records_that_changed(
        cli: Cli, signed_site: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A run saved the key id it shows readers where its state's fingerprint goes (a variable
    reused), so the next run found no state of its own and built every record again: the same
    files, written as before, but 0.02 s became 1 s at 1,000 records, 11 s at 10,000. Records
    are counted as they are built (the real builder, counted)."""
    from ledger.pages import site as site_module

    _, out = signed_site
    assert cli("site", str(out)).exit_code == 0
    built: list[str] = []
    real = site_module._Builder.build

    def counted(self: Any, rid: str, *args: Any, **kwargs: Any) -> Any:
        built.append(rid)
        return real(self, rid, *args, **kwargs)

    monkeypatch.setattr(site_module._Builder, "build", counted)
    assert cli("site", str(out)).exit_code == 0 and built == []
    cli("correct", "SRCH:00000002", "--kind", "retraction", "--reason", "x")
    assert cli("site", str(out)).exit_code == 0 and built == ["SRCH:00000002"]


def _bundles_named(out: Path) -> dict[str, str]:
    """Return each record page's bundle script, as the page names it."""
    return {page.name: re.findall(r'<script src="(bundles/[^"]+)">', page.read_text())[0]
            for page in sorted(out.glob("SRCH-*.html"))}


def test_a_page_names_its_own_bundle_and_the_last_runs_stay_one_run(
        cli: Cli, signed_site: tuple[list[str], Path], tmp_path: Path) -> None:
    """A page and its bundle were two files at fixed names: a page kept by a cache, or read just
    before a run replaced it, was checked against the next run's bundle and said its served
    text "differs" (and a new page given a bundle a cache kept showed the old state). Each
    bundle is now named by its bytes; the bundles of the run before stay until the next run,
    then go; nothing else in the folder is removed."""
    args, out = signed_site
    key = tmp_path / "k.key"
    assert cli("site", str(out), *args).exit_code == 0
    first = _bundles_named(out)
    kept = {name: (out / name).read_bytes() for name in first.values()}
    for name in first.values():
        digest = name.rsplit(".", 2)[1]
        assert hashlib.sha256(kept[name]).hexdigest().startswith(digest), name
    (out / "bundles" / "notes.txt").write_text("mine")
    outside = tmp_path / "outside.js"
    outside.write_text("keep")
    (out / "bundles" / "link.js").symlink_to(outside)
    checkpoints = []
    for n in (2, 3):
        cli("correct", "SRCH:00000002", "--kind", "correction", "--reason", f"typo {n}")
        checkpoints.append(tmp_path / f"cp{n}.txt")
        assert cli("checkpoint", "--key", str(key), "-o", str(checkpoints[-1])).exit_code == 0
    second = cli("site", str(out), "--checkpoint", str(checkpoints[0]), *args[2:])
    assert second.exit_code == 0 and "removed" not in second.stdout, second.output
    named = _bundles_named(out)
    assert set(named.values()).isdisjoint(first.values())  # a new checkpoint: every bundle anew
    assert {name: (out / name).read_bytes() for name in first.values()} == kept
    third = cli("site", str(out), "--checkpoint", str(checkpoints[1]), *args[2:])
    assert third.exit_code == 0
    assert "2 bundle(s) no page has named for two runs removed" in third.stdout, third.output
    assert not any((out / name).exists() for name in first.values())
    assert all((out / name).is_file() for name in named.values())
    assert sorted(p.name for p in (out / "bundles").iterdir()) == sorted(
        [*(n.split("/")[1] for n in named.values()), *(n.split("/")[1] for n in _bundles_named(out).values()),
         "notes.txt", "link.js"])
    assert outside.read_text() == "keep"
    # a state file edited to name files outside bundles/ removes nothing of them
    state = json.loads((out / "ledger-site-state.json").read_text())
    state["retired"] = ["../ledger.db", "bundles/../cp2.txt", "index.html", "bundles/link.js"]
    (out / "ledger-site-state.json").write_text(json.dumps(state))
    assert cli("site", str(out), "--checkpoint", str(checkpoints[1]), *args[2:]).exit_code == 0
    assert (out / "index.html").is_file() and (out / "bundles" / "link.js").is_symlink()
    assert checkpoints[0].is_file() and outside.read_text() == "keep"


def test_verify_bundle_takes_the_script_a_page_loads(cli: Cli, signed_site: tuple[list[str], Path],
                                                    tmp_path: Path) -> None:
    """An auditor checks what a site's page shows with the publisher's key, from the bundle
    script the page loads as it is (it was refused: malformed JSON at line 1 column 1)."""
    args, out = signed_site
    assert cli("site", str(out), *args).exit_code == 0
    script = out / _bundles_named(out)["SRCH-00000002.html"]
    ok = cli("verify-bundle", str(script), "--vkey", args[3])
    assert ok.exit_code == 0 and "OK: 1 event(s) of SRCH:00000002 verified" in ok.stdout, ok.output
    # the page says how, with the publisher's key got elsewhere, naming the bundle it loads
    page = (out / "SRCH-00000002.html").read_text()
    key_label = Path(args[3]).read_text().split("+")[:2]
    assert (f'save <a href="{_bundles_named(out)["SRCH-00000002.html"]}">its bundle</a> and run '
            "<code>ledger verify-bundle FILE --vkey KEY</code> with the publisher's verifier key, "
            f"got from the publisher, not from this site (it starts {'+'.join(key_label)}). It "
            "proves each event it holds is in the signed log, not that none of the record's "
            "events was left out: with a copy of the log (the publisher's file, or a mirror "
            "<code>ledger monitor --mirror</code> keeps), add <code>--against LEDGER</code>.") in page
    unsigned = tmp_path / "unsigned"
    assert cli("site", str(unsigned)).exit_code == 0
    assert "verify-bundle" not in (unsigned / "SRCH-00000002.html").read_text()
    edited = tmp_path / "edited.js"
    edited.write_text(script.read_text().replace('"status":"CURRENT"', '"status":"RETRACTED"', 1))
    caught = cli("verify-bundle", str(edited), "--vkey", args[3])
    assert caught.exit_code == 1 and "stated record state differs" in caught.stderr, caught.output


def test_a_site_is_never_rolled_back_to_an_older_checkpoint(
        cli: Cli, signed_site: tuple[list[str], Path], tmp_path: Path) -> None:
    """A site built with a checkpoint is not built again with an older one (its pages would
    show readers less than they were shown: a retraction since, say), nor with another log's:
    exit 2, and nothing in the folder changes. The same checkpoint, or a later one, builds."""
    args, out = signed_site
    old = args[1]
    cli("correct", "SRCH:00000002", "--kind", "retraction", "--reason", "x")
    key = tmp_path / "k.key"
    assert cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "new.txt")).exit_code == 0
    newer = ["--checkpoint", str(tmp_path / "new.txt"), *args[2:]]
    assert cli("site", str(out), *newer).exit_code == 0
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    back = cli("site", str(out), "--checkpoint", old, *args[2:])
    assert back.exit_code == 2 and "would roll the log back" in back.stderr, back.output
    other_key, other_vkey = tmp_path / "o.key", tmp_path / "o.vkey"
    other_vkey.write_text(cli("keygen", "other.example", "-o", str(other_key)).stdout)
    assert cli("checkpoint", "--key", str(other_key), "-o", str(tmp_path / "o.txt")).exit_code == 0
    other = cli("site", str(out), "--checkpoint", str(tmp_path / "o.txt"), "--vkey", str(other_vkey))
    assert other.exit_code == 2 and "serves the log of pub.example" in other.stderr, other.output
    unsigned = cli("site", str(out))  # pages that would no longer verify
    assert unsigned.exit_code == 2 and "would no longer verify" in unsigned.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
    assert cli("site", str(out), *newer).exit_code == 0


def test_a_second_run_into_the_folder_while_one_writes_it_is_refused(
        cli: Cli, signed_site: tuple[list[str], Path], tmp_path: Path) -> None:
    """Two runs at once, the older checkpoint's still writing when the newer's had finished, left
    the folder's state and pages at the older one: a rollback its readers and the next run never
    saw. While one run writes a folder, another into it is refused (exit 2, nothing written)."""
    from ledger.api import Ledger

    args, out = signed_site
    cli("correct", "SRCH:00000002", "--kind", "retraction", "--reason", "x")
    key = tmp_path / "k.key"
    assert cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "new.txt")).exit_code == 0
    newer = ["--checkpoint", str(tmp_path / "new.txt"), *args[2:]]
    meanwhile: list[object] = []

    def during(n: int) -> None:
        if not meanwhile:
            meanwhile.append(cli("site", str(out), *newer))

    with Ledger.open(cli.db) as ledger:
        ledger.site(out, Path(args[1]).read_text(), Path(args[3]).read_text(), progress=during)
    (second,) = meanwhile
    assert second.exit_code == 2 and second.stderr == (  # type: ignore[attr-defined]
        f"Error: another `ledger site` is writing into {out.resolve()}: run this one again when "
        "it has finished\n")
    served = json.loads((out / "ledger-site-state.json").read_text())["checkpoint"]
    assert served == Path(args[1]).read_text().split("\n\n")[0] + "\n"  # the first run's
    assert cli("site", str(out), *newer).exit_code == 0  # once the first is done


def test_a_folder_that_cannot_be_locked_is_written_as_before(
        cli: Cli, signed_site: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """On a file system that cannot lock a folder (NFS emulates `flock` with locks that a folder
    opened to read cannot take: EBADF; or ENOLCK), the site and the tiles are written unheld, as
    before the hold: not refused."""
    import errno
    import fcntl

    def cannot(fd: int, operation: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(fcntl, "flock", cannot)
    args, out = signed_site
    assert cli("site", str(out), *args).exit_code == 0
    assert (out / "index.html").exists()


def test_a_site_or_tiles_never_write_over_the_ledger_file(tmp_path: Path) -> None:
    """`ledger tiles .` beside a ledger named `checkpoint` (or `site .` beside one named
    `index.json`) renamed its output over the ledger file itself: every command then said `…
    is not a ledger: file is not a database`. A file that is the ledger, or one SQLite keeps
    beside it, is never written over (a hard link to it neither): exit 2, the ledger intact."""
    import os

    from tests.conftest import Cli, manifest

    for name, command in (("checkpoint", "tiles"), ("index.json", "site"),
                          ("linked.db", "site")):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        db = folder / name
        cli = Cli(db, folder)
        assert cli("init").exit_code == 0
        assert cli("publish", cli.file(manifest())).exit_code == 0
        if name == "linked.db":  # a hard link to the ledger where the site writes its index
            os.link(db, folder / "index.html")
        key = tmp_path / f"{command}-{name}.key"
        cli("keygen", "example.org/log", "-o", str(key))
        args = ["--key", str(key)] if command == "tiles" else []
        done = cli(command, str(folder), *args)
        assert done.exit_code == 2, done.output
        assert "it is the ledger file (or one SQLite keeps beside it)" in done.stderr
        assert cli("verify").exit_code == 0


def test_a_folder_that_holds_the_ledger_or_a_key_is_said_to(cli: Cli, tmp_path: Path) -> None:
    """`ledger site .` (or `tiles .`) where the ledger and the keys live: the command writes only
    its own files, but a static host serves the whole folder, the signing key with it. It says
    so, naming them (an encrypted key too); a folder holding only the site says nothing."""
    from tests.conftest import manifest

    assert cli("publish", cli.file(manifest())).exit_code == 0
    folder = cli.db.parent
    cli("keygen", "example.org/log", "-o", str(folder / "publisher.key"))
    (folder / "old.key").write_text("provenance-ledger encrypted key v1\nAAAA\n")
    done = cli("site", str(folder))
    assert done.exit_code == 0
    assert done.stderr == UNSIGNED + (
        f"Warning: {folder} also holds {cli.db.name} (the ledger file, or one SQLite keeps beside "
        "it), old.key (a private key), publisher.key (a private key): a static host serves "
        "everything in the folder, not only what this command wrote; move it out before "
        "publishing\n")
    tiles = cli("tiles", str(folder / "log"), "--key", str(folder / "publisher.key"))
    # a folder of its own: no warning, only what it signed
    assert tiles.exit_code == 0 and tiles.stderr == (
        "Signed and stored the checkpoint of size 1 by example.org/log\n")
    clean = cli("site", str(tmp_path / "public"))
    assert clean.exit_code == 0 and clean.stderr == UNSIGNED


def test_a_planted_symlink_is_replaced_never_followed(cli: Cli, signed_site: tuple[list[str], Path],
                                                      tmp_path: Path) -> None:
    args, out = signed_site
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "SRCH-03BE3A05.html").symlink_to(victim)
    (out / "index.json").symlink_to(victim)
    assert cli("site", str(out), *args).exit_code == 0
    assert victim.read_text() == "precious"
    assert not (out / "SRCH-03BE3A05.html").is_symlink() and not (out / "index.json").is_symlink()
    assert "SRCH:03BE3A05" in (out / "SRCH-03BE3A05.html").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_a_symlinked_assets_folder_is_refused(cli: Cli, signed_site: tuple[list[str], Path],
                                              tmp_path: Path) -> None:
    args, out = signed_site
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "assets").symlink_to(elsewhere)
    result = cli("site", str(out), *args)
    assert result.exit_code == 2 and "not a plain folder" in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert os.path.islink(out / "assets")


def test_helper_processes_build_the_same_site(cli: Cli, signed_site: tuple[list[str], Path],
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.pages import site

    args, out = signed_site
    for n in range(3, 9):
        cli("publish", cli.file({**_doc(), "record_id": f"SRCH:0000000{n}"}))
    cli("correct", "SRCH:00000005", "--kind", "retraction", "--reason", "late")
    assert cli("site", str(out), *args).exit_code == 0
    monkeypatch.setattr(site, "PARALLEL_RECORDS", 1)

    def not_here(*_: object) -> None:
        raise AssertionError("built in this process, not by the helpers")
    monkeypatch.setattr(site, "_build_range", not_here)  # the helpers import their own copy
    parallel = tmp_path / "parallel"
    result = cli("site", str(parallel), *args)
    assert result.exit_code == 0 and "8 record page(s)" in result.stdout
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(parallel) for p in parallel.rglob("*") if p.is_file())
    for name in files:
        if name.name != "ledger-site-state.json":
            assert (out / name).read_bytes() == (parallel / name).read_bytes(), name


def _doc() -> dict[str, object]:
    from tests.conftest import manifest

    return manifest()


def test_only_the_index_pages_that_changed_are_rewritten(
        cli: Cli, signed_site: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Three index pages of two rows: a correction of a record on the last page rewrites that
    page and the first (which states the head seq), not the middle one; an edited index page
    is rebuilt."""
    from ledger.pages import site

    monkeypatch.setattr(site, "INDEX_PAGE_ROWS", 2)
    _, out = signed_site
    for n in range(3, 7):
        cli("publish", cli.file({**_doc(), "record_id": f"SRCH:0000000{n}"}))
    assert cli("site", str(out)).exit_code == 0
    pages = {name: (out / name).stat().st_mtime_ns for name in ("index.html", "index-2.html", "index-3.html")}
    assert cli("correct", "SRCH:00000006", "--kind", "retraction", "--reason", "x").exit_code == 0
    assert cli("site", str(out)).exit_code == 0
    changed = {name for name, stamp in pages.items() if (out / name).stat().st_mtime_ns != stamp}
    assert changed == {"index.html", "index-3.html"}
    assert "RETRACTED" in (out / "index-3.html").read_text()
    middle = out / "index-2.html"
    middle.write_text("edited")
    assert cli("site", str(out)).exit_code == 0 and middle.read_text().startswith("<!doctype html>")


def test_a_checkpoint_of_the_empty_log_covers_nothing_and_is_no_alarm(cli: Cli,
                                                                     tmp_path: Path) -> None:
    """A checkpoint signed before the first event (size 0): every later log extends it, but
    `site --checkpoint` asked for a consistency proof from size 0, which RFC 6962 does not
    define, and reported `the stored Merkle tree does not agree with itself … edited behind
    the ledger's back` (exit 1). Now the pages say the record is not yet covered."""
    from tests.conftest import manifest

    key, vkey, note = tmp_path / "k.key", tmp_path / "k.vkey", tmp_path / "cp0.txt"
    vkey.write_text(cli("keygen", "empty.example", "-o", str(key)).stdout)
    assert cli("checkpoint", "--key", str(key), "-o", str(note)).exit_code == 0
    assert cli("publish", cli.file(manifest())).exit_code == 0
    out = tmp_path / "site"
    done = cli("site", str(out), "--checkpoint", str(note), "--vkey", str(vkey))
    assert done.exit_code == 0, done.output
    assert "Not yet verifiable" in (out / "SRCH-03BE3A05.html").read_text()
    # its index row says that none of its events is covered, not that "later" ones are
    row = (out / "index.html").read_text().split("SRCH-03BE3A05.html", 1)[1].split("</tr>", 1)[0]
    assert "published after the checkpoint, not yet covered" in row, row
    assert "later events" not in row
    assert orjson.loads((out / "index.json").read_bytes())["new"] == ["SRCH:03BE3A05"]
    for args in (["verify", "--checkpoint", str(note), "--vkey", str(vkey)], ["audit"],
                 ["tiles", str(tmp_path / "tiles"), "--checkpoint", str(note)],
                 ["checkpoint", "--key", str(key)]):
        assert cli(*args).exit_code == 0, (args, cli(*args).output)


def test_a_record_id_too_long_for_a_file_name(cli: Cli, tmp_path: Path) -> None:
    """A record id's prefix is not bounded; one of 300 characters made a page name no file
    system takes, and `site` stopped (`cannot write the site to …: File name too long`) for
    every record. Such a record's files get a shortened name with a digest of the whole id, the
    index links to it, and index.json says so for the browser's search."""
    from ledger.pages.site import NAME_MOST, page_name
    from tests.conftest import manifest

    long_a, long_b = "A" * 300 + ":00000001", "A" * 300 + "B:00000001"
    for rid in (long_a, long_b, "SRCH:00000001"):
        assert cli("publish", cli.file(manifest(rid))).exit_code == 0
    key, vkey, note = tmp_path / "k.key", tmp_path / "k.vkey", tmp_path / "cp.txt"
    vkey.write_text(cli("keygen", "long.example", "-o", str(key)).stdout)
    assert cli("checkpoint", "--key", str(key), "-o", str(note)).exit_code == 0
    out = tmp_path / "site"
    done = cli("site", str(out), "--checkpoint", str(note), "--vkey", str(vkey))
    assert done.exit_code == 0, done.output
    names = {rid: page_name(rid) for rid in (long_a, long_b)}
    assert len(set(names.values())) == 2 and all(len(n) < NAME_MOST for n in names.values())
    assert page_name("SRCH:00000001") == "SRCH-00000001.html"
    index = (out / "index.html").read_text()
    for name in names.values():
        assert (out / name).is_file() and f'href="{name}"' in index
    assert json.loads((out / "index.json").read_text())["named"] == names


def test_a_retraction_forged_after_the_checkpoint_is_said_as_not_verified(cli: Cli,
                                                                          tmp_path: Path) -> None:
    """Someone who can write the file but holds no key adds, with plain sqlite3, a well-formed
    retraction after the checkpoint (hash, link and tree right: an unsigned ledger cannot tell
    it from the publisher's). The site's new `Since the checkpoint, this record's status is
    RETRACTED` is said as not yet verified, in the note outside the record the browser checks
    and replaces, and the page still states, and its bundle proves, only the checkpoint's
    events; once a checkpoint covers the forged event, it is the log's, as any append is."""
    from tests import attacker
    from tests.conftest import manifest

    rid = "SRCH:0000000A"
    assert cli("publish", cli.file(manifest(rid))).exit_code == 0
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    with attacker.unguarded(cli.db) as conn:
        attacker.forge_next(conn, "notice.issued", rid, "correction-record-v1", {
            "record_id": rid, "kind": "retraction", "reason": "forged", "notice_id": "F1",
            "issued_by": "x", "effective_date": "2026-11-26", "target_version": 1})
        attacker.rebuild_tree(conn)
    out = tmp_path / "site"
    assert cli("site", str(out), "--checkpoint", str(checkpoint), "--vkey", str(vkey)).exit_code == 0
    page = (out / "SRCH-0000000A.html").read_text()
    note = page.split('<p class="later">', 1)[1].split("</p>", 1)[0]
    assert "status is RETRACTED</strong>, not yet verified" in note and "retraction F1" in note
    record = page.split('id="record"', 1)[1]
    assert "Since the checkpoint" not in record and "Status: CURRENT" not in record
    # the pill says whose status it is, in a neutral colour: not a green CURRENT under the note
    assert '<p class="status status-stale">Status at the checkpoint: CURRENT</p>' in record
    assert '<main data-record-id="SRCH:0000000A" data-since="RETRACTED">' in page
    row = (out / "index.html").read_text().split('data-key="SRCH:0000000A"', 1)[1]
    assert '<span class="status status-stale">CURRENT</span><small class="pending"> · since: ' \
           "RETRACTED, not yet covered" in row.split("</tr>", 1)[0]
    bundle = re.search(r'<script src="(bundles/[^"]+)"></script>', page)
    assert bundle is not None and "forged" not in (out / bundle[1]).read_text()


def test_a_site_signed_now_with_the_publishers_key(cli: Cli, published: Callable[..., str],
                                                    tmp_path: Path) -> None:
    """``site --key`` signs and stores a checkpoint of the whole log, as ``ledger checkpoint``
    does, and every page embeds its bundle against it with the key's own verifier key. Before,
    ``--key`` was refused with a hint to give it before the command, where it signs appends:
    the site was then written with no checkpoint, pages that verify nothing, and not a word."""
    published()
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    out = tmp_path / "site"
    first = cli("site", str(out), "--key", str(key))
    assert first.exit_code == 0, first.output
    assert "Signed and stored the checkpoint of size 1 by pub.example" in first.stderr
    assert cli.json("status")["last_checkpoint"]["size"] == 1
    script = out / _bundles_named(out)["SRCH-03BE3A05.html"]
    ok = cli("verify-bundle", str(script), "--vkey", str(vkey))
    assert ok.exit_code == 0 and "against checkpoint of size 1 by pub.example" in ok.stdout, ok.output
    again = cli("site", str(out), "--key", str(key), "--vkey", str(vkey))  # the key's own: taken
    assert again.exit_code == 0 and "signed before: nothing new stored" in again.stderr
    assert "0 file(s) written" in again.stdout
    published("SRCH:00000002")
    later = cli("site", str(out), "--key", str(key))
    assert later.exit_code == 0 and "checkpoint of size 2" in later.stderr, later.output
    ok = cli("verify-bundle", str(out / _bundles_named(out)["SRCH-00000002.html"]), "--vkey", str(vkey))
    assert ok.exit_code == 0 and "against checkpoint of size 2" in ok.stdout, ok.output

    other_key, other_vkey = tmp_path / "o.key", tmp_path / "o.vkey"
    other_vkey.write_text(cli("keygen", "other.example", "-o", str(other_key)).stdout)
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    stored = cli.json("status")["last_checkpoint"]["size"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args, says in (
            (("--key", str(key), "--checkpoint", str(tmp_path / "cp.txt")), "give --key FILE"),
            (("--key", str(key), "--vkey", str(other_vkey)), "--vkey is other.example+"),
            (("--policy", str(tmp_path / "w.policy")), "--policy needs --key, or --checkpoint"),
            (("--vkey", str(vkey)), "--checkpoint and --vkey go together")):
        refused = cli("site", str(out), *args)
        assert refused.exit_code == 2 and refused.stderr.startswith(f"Error: {says}"), (args, refused.output)
    # a folder that serves another log, or one that cannot be made: refused before a
    # checkpoint is signed, so none is stored (the other key's was stored, then refused)
    assert cli("tiles", str(tmp_path / "log"), "--key", str(key)).exit_code == 0
    for folder, what in ((out, "site"), (tmp_path / "log", "tiles")):
        refused = cli(what, str(folder), "--key", str(other_key))
        assert refused.exit_code == 2 and refused.stderr == (
            f"Error: {folder} serves the log of pub.example, not of other.example\n"), refused.output
    with sqlite3.connect(cli.db) as conn:
        assert conn.execute("SELECT DISTINCT origin FROM checkpoints").fetchall() == [("pub.example",)]
    published("SRCH:00000003")
    refused = cli("site", str(blocker / "site"), "--key", str(key))
    assert refused.exit_code == 2 and refused.stderr.startswith("Error: "), refused.output
    assert cli.json("status")["last_checkpoint"]["size"] == stored == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files

    unsigned = cli("site", str(tmp_path / "unsigned"))
    assert unsigned.exit_code == 0 and unsigned.stderr == UNSIGNED
