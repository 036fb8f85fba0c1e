"""``ledger tiles OUT_DIR``: the log in the C2SP ``tlog-tiles`` layout, for any static host.

    checkpoint                      the signed checkpoint (written last)
    tile/<L>/<N>[.p/<W>]            Merkle tree tiles: 256 hashes of the tree at height 8·L
    tile/entries/<N>[.p/<W>]        entry bundles: the Merkle leaves (the events' envelopes),
                                    each a big-endian uint16 length and the bytes
    members/<N>.json                format v2: the payload members and salts of the events of
                                    entry bundle N (mutable: a purge rewrites them)

Tiles and entry bundles are immutable: a full one that exists is never written again; partial
ones are written for the checkpoint's size and kept (a signed checkpoint may need them).
Members files are rewritten when their content changed, so a run after a purge takes the purged
values off the host while every tile stays as it was. Every file is written to a temporary name
and renamed (``FolderWriter``), the checkpoint last: a reader never sees a checkpoint whose tiles
are missing.

What a run writes is what a reader will check, and the stored tree below the last checkpoint a
key signed is not verified again when it signs the next (``Ledger.checkpoint``): so every entry
is checked against its stored leaf, every hash of a tile written against the 256 stored hashes
below it, and the root a reader makes from the tiles against the checkpoint's, before the
checkpoint is written.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import struct
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ledger.core.checkpoint import Checkpoint, check_successor, parse_checkpoint
from ledger.core.events import canonical_of
from ledger.core.merkle import (
    EMPTY_ROOT,
    complete_root,
    frontier_positions,
    leaf_hash,
    node_hash,
    stored_index,
)
from ledger.core.progress import Progress
from ledger.errors import CorruptEvent, LedgerError, RefusedInput
from ledger.model.purge import PURGE_TYPE
from ledger.ops.files import FolderWriter, folder_held, ledger_kept
from ledger.ops.helpers import HELPERS, Helper, HelperStopped, send
from ledger.storage import proofstore, store

WIDTH = 256  # hashes per full tile, entries per full bundle
_LEAF_OFFSETS = [2 * j - j.bit_count() for j in range(WIDTH)]  # in a full subtree's stored range
MAX_ENTRY = 0xFFFF  # an entry's length is a uint16


def tile_index(n: int) -> str:
    """Return tile index ``n`` as path elements: 1234067 → ``x001/x234/067``."""
    digits = str(n)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int | str, n: int, width: int = WIDTH) -> str:
    """Return the path of tile ``n`` at ``level`` (``entries`` for entry bundles), partial when
    ``width`` < 256."""
    return f"tile/{level}/{tile_index(n)}" + (f".p/{width}" if width < WIDTH else "")


@dataclass
class TilesResult:
    size: int
    written: int
    unchanged: int
    stored: bool = False  # a checkpoint signed now (--key) was new, and stored in the ledger


def write_tiles(conn: sqlite3.Connection, out: Path, note: str, checkpoint: Checkpoint,
                progress: Progress | None = None) -> TilesResult:
    """Write the tiles, entry bundles and members of the log at the checkpoint's size, then the
    checkpoint (its root must be the stored root at that size: the caller verified the log)."""
    with folder_held(out, "ledger tiles"):
        return _write_tiles(conn, out, note, checkpoint, progress)


def _write_tiles(conn: sqlite3.Connection, out: Path, note: str, checkpoint: Checkpoint,
                 progress: Progress | None) -> TilesResult:
    size = checkpoint.size
    if proofstore.stored_root(conn, size, head=False) != checkpoint.root:
        raise CorruptEvent(f"table tree_hashes: the stored tree's root at size {size} is not the "
                           "checkpoint's (run `ledger verify`)")
    writer = FolderWriter(out, keep=ledger_kept(store.file_path(conn)))
    v2 = store.event_format(conn) >= 2
    published = check_published(out, checkpoint)
    # Bundles whose members a purge since the folder's checkpoint withholds: every purge after
    # it, up to the head (one after this checkpoint withheld members of events it covers, and
    # the folder must no longer serve them)
    purged = {(int(entry["seq"]) - 1) // WIDTH
              for event in store.iter_events(conn, published, None) if event.type == PURGE_TYPE
              for entry in event.payload.get("purged", [])} if published else set()  # else all
    bundles = -(-size // WIDTH)
    path = store.file_path(conn)
    done = False
    if (path is not None and size - min(published, size) >= PARALLEL_FROM
            and not store.pending_writes(conn)):
        with contextlib.suppress(HelperStopped):  # then every bundle is written here
            _bundles_in_helpers(path, writer, size, published, purged, v2, progress)
            done = True
    if not done:
        _write_bundles(conn, writer, size, published, purged, v2, 0, bundles, progress)
    level = 1  # level 0 is written with the entry bundles, from the same leaves
    while count := size // WIDTH ** level:  # hashes at this level: full subtrees of 256^level
        for n in range(count // WIDTH):
            _tile(conn, writer, level, n, WIDTH)
        if count % WIDTH:
            _tile(conn, writer, level, count // WIDTH, count % WIDTH)
        level += 1
    if _root_from_tiles(conn, size) != checkpoint.root:
        raise CorruptEvent(f"table tree_hashes: the root a reader makes from the tiles at size "
                           f"{size} is not the checkpoint's: a stored hash was edited behind the "
                           "ledger's back (run `ledger verify`)")
    writer.write("checkpoint", note.encode("utf-8"))
    return TilesResult(size, writer.written, writer.unchanged)


PARALLEL_FROM = 20_000  # entries to write: from here, helper processes write the bundles


def _write_bundles(conn: sqlite3.Connection, writer: FolderWriter, size: int, published: int,
                   purged: Collection[int], v2: bool, lo: int, hi: int,
                   progress: Progress | None) -> None:
    """Write the entry bundles (and members) lo..hi-1 that the folder does not already serve,
    and the level-0 hash tiles of the same leaves."""
    for n in range(lo, hi):
        first, width = n * WIDTH, min(WIDTH, size - n * WIDTH)
        if (first + width <= published and width == WIDTH and n not in purged
                and writer.exists(tile_path("entries", n, width))
                and (not v2 or writer.exists(f"members/{tile_index(n)}.json"))):
            writer.unchanged += 2 if v2 else 1  # published before, and no purge since
            _tile(conn, writer, 0, n, width)
            if not writer.exists(tile_path(1, n // WIDTH, WIDTH)):  # its hash will be written
                _check_node(conn, 8, n)
        else:
            _entries(conn, writer, n, first, width, v2)
        if progress is not None:
            progress(width)


def _bundles_in_helpers(path: Path, writer: FolderWriter, size: int, published: int,
                        purged: Collection[int], v2: bool, progress: Progress | None) -> None:
    """Write the entry bundles in HELPERS processes, each a contiguous range of bundles, read
    in range order: the first refusal (an entry too large, an event that is not its stored
    leaf) is the one a single process meets first. Raises HelperStopped if a helper stops
    without a word (the caller then writes every bundle itself)."""
    bundles = -(-size // WIDTH)
    cuts = [bundles * i // HELPERS for i in range(HELPERS + 1)]
    running = [Helper(bundles_worker, str(path), str(writer.out), str(size), str(published),
                      ",".join(map(str, sorted(purged))), str(int(v2)), str(lo), str(hi))
               for lo, hi in itertools.pairwise(cuts)]
    try:
        for helper in running:  # in range order
            for message in helper.messages():
                if message[0] == "progress" and progress is not None:
                    progress(message[1])
                elif message[0] == "counts":
                    writer.written += message[1]
                    writer.unchanged += message[2]
                elif message[0] == "error":
                    kind = {"CorruptEvent": CorruptEvent, "RefusedInput": RefusedInput}
                    raise kind.get(message[1], LedgerError)(message[2])
    finally:
        for helper in running:
            helper.close()


def bundles_worker(path: str, out: str, size: str, published: str, purged: str, v2: str,
                   lo: str, hi: str) -> None:
    """The helper of ``_bundles_in_helpers``: write bundles lo..hi-1; send ("progress",
    entries)…, ("counts", written, unchanged) and ("done",), or ("error", kind, text)."""
    writer = FolderWriter(Path(out), keep=ledger_kept(Path(path)))
    sent = [0]

    def count(n: int) -> None:
        sent[0] += n
        if sent[0] >= 8 * WIDTH:
            send(("progress", sent[0]))
            sent[0] = 0

    conn = store.open_ledger(Path(path))
    try:
        with store.read_snapshot(conn):
            _write_bundles(conn, writer, int(size), int(published),
                           {int(n) for n in purged.split(",") if n}, v2 == "1", int(lo), int(hi),
                           count)
    except (CorruptEvent, RefusedInput) as exc:
        send(("error", type(exc).__name__, str(exc)))
        return
    except OSError as exc:  # as ``Ledger.tiles`` says it of the one process
        send(("error", "RefusedInput", f"cannot write the tiles to {out}: {exc.strerror or exc}"))
        return
    except LedgerError as exc:
        send(("error", "LedgerError", str(exc)))
        return
    finally:
        conn.close()
    send(("progress", sent[0]))
    send(("counts", writer.written, writer.unchanged))
    send(("done",))


def check_published(out: Path, checkpoint: Checkpoint) -> int:
    """Return the size of the checkpoint this folder already serves (0 if none or unreadable):
    entry bundles fully below it were written then, and only a purge since can change their
    members. Refuse a checkpoint that would roll the folder back (smaller than the one it
    serves), fork it (another root at its size) or replace another log's: every monitor that
    followed the folder would refuse it, and readers would be shown less than they were."""
    try:
        text = (out / "checkpoint").read_text(encoding="utf-8")
        served = parse_checkpoint(text.split("\n\n", 1)[0] + "\n")
    except (OSError, UnicodeDecodeError, LedgerError):
        return 0
    check_successor(str(out), served, checkpoint)
    return served.size


def _tile(conn: sqlite3.Connection, writer: FolderWriter, level: int, n: int, width: int,
          hashes: list[bytes] | None = None) -> None:
    """Write hash tile ``n`` of ``level`` unless it is a full tile the folder already has
    (``hashes``: its stored hashes, already read and checked); above level 1, each hash is
    checked against the 256 below it first (level 1's are, with the entry bundles)."""
    path = tile_path(level, n, width)
    if width == WIDTH and writer.exists(path):  # full tiles are immutable
        writer.unchanged += 1
        return
    if hashes is None:
        positions = [stored_index(8 * level, n * WIDTH + i) for i in range(width)]
        hashes = proofstore.read_hashes(conn, positions)
        if level >= 2:
            for i, found in enumerate(hashes):
                _check_node(conn, 8 * level, n * WIDTH + i, found)
    writer.write(path, b"".join(hashes))


def _check_node(conn: sqlite3.Connection, height: int, index: int, found: bytes | None = None,
                below: list[bytes] | None = None) -> None:
    """Raise CorruptEvent unless the stored hash number ``index`` at ``height`` (a multiple of 8;
    ``found``: it, already read) is the root of the 256 stored hashes 8 levels below it
    (``below``: those, already read)."""
    if found is None:
        found = proofstore.read_hashes(conn, [stored_index(height, index)])[0]
    if below is None:
        below = proofstore.read_hashes(conn, [stored_index(height - 8, index * WIDTH + i)
                                              for i in range(WIDTH)])
    if complete_root(below) != found:
        span = 1 << height
        raise CorruptEvent(f"table tree_hashes: the stored hash of seq {index * span + 1}.."
                           f"{(index + 1) * span} (height {height}) is not the hash of the "
                           f"{WIDTH} below it: it was edited behind the ledger's back (run "
                           "`ledger verify`)")


def _root_from_tiles(conn: sqlite3.Connection, size: int) -> bytes:
    """Return the root of the tree at ``size`` made as a reader of the tiles makes it: each
    complete subtree of its frontier from the stored hashes the tiles hold (heights that are
    multiples of 8) below it."""
    root = b""
    for level, index in reversed(frontier_positions(size)):  # right to left
        base = level - level % 8
        count = 1 << (level - base)
        h = complete_root(proofstore.read_hashes(conn, [stored_index(base, index * count + i)
                                                        for i in range(count)]))
        root = node_hash(h, root) if root else h
    return root or EMPTY_ROOT  # the empty tree's (RFC 6962): a log of no events has one too


def _entries(conn: sqlite3.Connection, writer: FolderWriter, n: int, first: int, width: int,
             v2: bool) -> None:
    path = tile_path("entries", n, width)
    members: list[str] = []
    chunks = []
    full = width == WIDTH
    if full:  # its subtree's 511 stored hashes are one range: leaf j at 2j − popcount(j), its root last
        subtree = proofstore.read_range(conn, stored_index(0, first), stored_index(8, n) + 1)
        leaves, top = [subtree[offset] for offset in _LEAF_OFFSETS], subtree[-1]
    else:
        leaves = proofstore.read_hashes(conn, [stored_index(0, i) for i in range(first, first + width)])
    for event in store.iter_events(conn, first, first + width):
        canonical = canonical_of(event)
        if len(canonical) > MAX_ENTRY:
            raise RefusedInput(f"seq {event.seq}: the event's envelope is {len(canonical):,} bytes; "
                               f"a tile entry holds at most {MAX_ENTRY:,} (a format v1 ledger with "
                               "large payloads cannot be served as tiles; format v2 envelopes hold "
                               "only commitments)")
        if leaves[event.seq - 1 - first] != leaf_hash(canonical):
            raise CorruptEvent(f"seq {event.seq}: the stored Merkle leaf does not match the event: "
                               "run `ledger verify`")
        chunks.append(struct.pack(">H", len(canonical)) + canonical)
        if v2:  # the stored texts are canonical JSON already: no parse and dump per event
            members.append(f'{{"seq":{event.seq},"payload":{event.payload_json},'
                           f'"salts":{event.salts or "{}"}}}')
    if len(chunks) != width:
        raise CorruptEvent(f"table events: seq {first + 1}..{first + width} are not all stored "
                           "(run `ledger verify`)")
    if full:
        _check_node(conn, 8, n, top, leaves)
    if width < WIDTH or not writer.exists(path):
        writer.write(path, b"".join(chunks))
    else:
        writer.unchanged += 1
    if v2:
        writer.write(f"members/{tile_index(n)}.json", ("[" + ",".join(members) + "]").encode())
    _tile(conn, writer, 0, n, width, leaves)
