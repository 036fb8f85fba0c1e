"""Writing a folder of files for a static host (``ledger site``, ``ledger tiles``): each file to a
temporary name in its folder, then renamed over the old one, so that a reader never sees half a
file and a symlink planted at a file's name is replaced, never followed; never through a symlinked
folder, never outside the output folder, and only when the bytes changed. And reading what a
command is given, never more than its format can hold."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

from ledger.errors import RefusedInput
from ledger.storage.store import no_folder_for, unexpanded_home

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


@dataclass
class FolderWriter:
    """Writes files into one output folder: atomically, never through a symlink, never outside
    it, and only when the bytes changed."""

    out: Path
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    records: int = 0  # what the folder's pages cover, for the caller's report (``ledger site``)
    keep: frozenset[tuple[int, int]] = frozenset()  # (device, inode) of files never written over
    _dirs: set[Path] = field(default_factory=set)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.out = self.out.resolve()  # the folder the user named, wherever it is

    def _folder(self, relative: str) -> Path:
        folder = self.out
        for part in relative.split("/")[:-1]:
            folder = folder / part
            if folder in self._dirs:
                continue
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                folder.mkdir(exist_ok=True)  # another process writing this folder may just have
                mode = os.lstat(folder).st_mode
            if not stat.S_ISDIR(mode):  # a symlink (or file) planted where a folder should be
                raise RefusedInput(f"{folder} is not a plain folder (a symlink?): refusing to "
                                   "write through it")
            self._dirs.add(folder)
        return folder

    def write(self, relative: str, data: bytes) -> bool:
        """Write ``data`` to ``out/relative`` unless it already holds exactly that; return whether
        it was written."""
        if not _NAME.fullmatch(relative) or ".." in relative:
            raise RefusedInput(f"refusing to write {relative!r}: not a plain name in the folder")
        folder = self._folder(relative)
        target = folder / relative.rsplit("/", 1)[-1]
        try:
            info = os.lstat(target)
        except OSError:
            info = None
        if info is not None and (info.st_dev, info.st_ino) in self.keep:
            raise RefusedInput(f"refusing to write {target}: it is the ledger file (or one SQLite "
                               "keeps beside it); write into another folder")
        with contextlib.suppress(OSError):
            if info is not None and stat.S_ISREG(info.st_mode) and target.read_bytes() == data:
                self.unchanged += 1
                return False
        handle, temporary = self._temporary(folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                os.fchmod(out.fileno(), 0o644)  # the file opened, not whatever the path now names
            os.replace(temporary, target)  # replaces a symlink itself, never what it points to
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self.written += 1
        return True

    def _temporary(self, folder: Path) -> tuple[int, Path]:
        """Return (descriptor, path) of a new temporary file in ``folder``: created exclusively
        and never through a symlink (a stale one from a run that was killed is removed)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        while True:
            temporary = folder / f".tmp-{os.getpid()}-{next(self._names)}.part"
            try:
                return os.open(temporary, flags, 0o644), temporary
            except FileExistsError:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def remove(self, relative: str) -> bool:
        """Remove the plain file ``out/relative`` (never a symlink, a folder, the ledger, or a
        file outside the folder or behind a symlinked folder); return whether one was removed."""
        if not _NAME.fullmatch(relative) or ".." in relative:
            return False
        folder = self.out
        for part in relative.split("/")[:-1]:
            folder = folder / part
            try:
                if not stat.S_ISDIR(os.lstat(folder).st_mode):
                    return False
            except OSError:
                return False
        target = folder / relative.rsplit("/", 1)[-1]
        try:
            info = os.lstat(target)
            if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) in self.keep:
                return False
            os.unlink(target)
        except OSError:
            return False
        self.removed += 1
        return True

    def exists(self, relative: str) -> bool:
        """Return whether ``out/relative`` is a plain file (never following a symlink)."""
        try:
            return stat.S_ISREG(os.lstat(self.out / relative).st_mode)
        except OSError:
            return False


def ledger_kept(path: Path | None) -> frozenset[tuple[int, int]]:
    """Return (device, inode) of the ledger file at ``path`` and of each file SQLite keeps beside
    it, for a ``FolderWriter`` to never write over: `ledger tiles .` beside a ledger named
    `checkpoint` renamed its checkpoint over the ledger itself."""
    found = set()
    for suffix in ("", "-wal", "-shm", "-journal") if path is not None else ():
        with contextlib.suppress(OSError):
            info = os.stat(f"{path}{suffix}")
            found.add((info.st_dev, info.st_ino))
    return frozenset(found)


@contextlib.contextmanager
def folder_held(out: Path, command: str) -> Iterator[None]:
    """Hold the output folder ``out`` (created if missing) for one run of ``command``: another
    run into the same folder meanwhile is refused. Two runs at once could each read what the
    folder serves, both find their checkpoint a successor of it, and the older one rename its
    checkpoint in last: a rollback every monitor of the folder refuses. The hold is a lock on the
    folder itself, let go when the run ends or its process dies."""
    out.mkdir(parents=True, exist_ok=True)
    with _folder_lock(out, wait=False) as held:
        if not held:
            raise RefusedInput(f"another `{command}` is writing into {out.resolve()}: run this "
                               "one again when it has finished")
        yield


@contextlib.contextmanager
def folder_moment(folder: Path) -> Iterator[None]:
    """Hold ``folder`` for a moment (waiting for another holder to let go): to read a file in it
    and replace it with no other run doing the same in between."""
    with _folder_lock(folder, wait=True):
        yield


@contextlib.contextmanager
def _folder_lock(folder: Path, wait: bool) -> Iterator[bool]:
    """Lock ``folder`` itself (``flock`` on it, let go on leaving or when the process dies); yield
    False if another process holds it (without ``wait``), else True — also on a file system that
    cannot lock a folder (NFS emulates ``flock`` with locks a folder opened to read cannot take),
    where the run goes on unheld, as before."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        except OSError:  # EBADF, ENOLCK, EOPNOTSUPP: no lock to be had here
            pass
        yield True
    finally:
        os.close(handle)


def no_folder(name: str | Path) -> RefusedInput:
    """The refusal of a file to write whose folder does not exist (``-o out/x.json``)."""
    return RefusedInput(f"cannot write {name}: {no_folder_for(name)}")


def file_name_problem(name: str, what: str = "the file") -> str | None:
    """Return why ``name`` cannot name a file (None if it can): it is empty, or it names a
    folder: it ends with "/", or in "." or ".." (``Path`` drops a trailing slash, so `-o out/`
    and `--db new/ init` wrote a file called out, or new)."""
    if not name:
        return f"{what} name is empty"
    if name.endswith(os.sep) or os.path.basename(name) in (".", ".."):
        return f"{name} names a folder, not a file: give a file name"
    return None


def _refuse_file_name(name: str) -> None:
    """Raise RefusedInput if ``name`` cannot name a file to write (``file_name_problem``)."""
    problem = file_name_problem(name, "the output file")
    if problem is not None:
        raise RefusedInput(f"cannot write: {problem}")


def check_output(name: str) -> None:
    """Refuse, before any work, a file to write (``-o``) that ``output_file`` could not write: a
    name that is empty or names a folder, a new file's folder missing or not writable here (a
    device or a pipe is written as it is)."""
    _refuse_file_name(name)
    try:
        if not stat.S_ISREG(os.stat(name).st_mode):
            return
    except FileNotFoundError:
        pass
    except OSError as exc:  # a folder on the way that may not be looked into here
        raise RefusedInput(f"cannot write {name}: {exc.strerror or exc}") from None
    folder = Path(name).absolute().parent
    if not folder.is_dir():
        raise no_folder(name)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RefusedInput(f"cannot write {name}: the folder {folder} is not writable here")


def check_folder(out: str | Path, what: str) -> None:
    """Refuse, before any work, a folder to write ``what`` into that could not be made or
    written here: the nearest part of its path that exists is not a folder, or not writable."""
    path = Path(out).absolute()
    try:
        existing = next(p for p in (path, *path.parents) if p.exists())
    except OSError as exc:  # a folder on the way that may not be looked into here
        raise RefusedInput(f"cannot write {what} to {out}: {exc.strerror or exc}") from None
    if not existing.is_dir():
        raise RefusedInput(f"cannot write {what} to {out}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RefusedInput(f"cannot write {what} to {out}: the folder {existing} is not writable "
                           "here")


@contextlib.contextmanager
def output_file(name: str) -> Iterator[BinaryIO]:
    """Yield a handle writing the file ``name`` (``-o``): a regular file, or a new one, is
    written to a temporary file beside it and renamed over it once complete, so a reader never
    sees half of it and a failed run leaves the old one (through a symlink, the file it points
    to is the one replaced); a device or a pipe (``/dev/stdout``, a FIFO) is written as it is —
    renaming over it replaced the device node or the pipe with a plain file."""
    _refuse_file_name(name)
    try:
        kind = os.stat(name).st_mode
    except FileNotFoundError:
        kind = None
    except OSError as exc:
        raise RefusedInput(f"cannot write {name}: {exc.strerror}") from None
    if kind is not None and not stat.S_ISREG(kind):
        try:
            with open(name, "wb") as handle:
                yield handle
        except OSError as exc:
            raise RefusedInput(f"cannot write {name}: {exc.strerror}") from None
        return
    target = Path(os.path.realpath(name)) if kind is not None else Path(name)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # as any new file
    except FileNotFoundError:
        raise no_folder(name) from None
    except OSError as exc:
        raise RefusedInput(f"cannot write {name}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


# One document a command reads whole (a manifest, a notice, a record page, a bundle, a
# checkpoint, a policy) or one line of JSON Lines: 64 times the largest payload an event may
# hold (MAX_PAYLOAD_BYTES), so room for any layout of one, and a bound on what /dev/zero, a
# runaway producer or a wrong file can make a process hold.
DOCUMENT_MOST = 64 << 20


UTF8_BOM = b"\xef\xbb\xbf"  # a reader of UTF-8 text may ignore it (RFC 8259 section 8.1)


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # little- and big-endian
UTF16_TEXT = ("it is UTF-16 text, not UTF-8 (it starts with a UTF-16 byte order mark, as Windows "
              "PowerShell's `>` writes files): save it as UTF-8")


def without_bom(data: bytes, name: str = "") -> bytes:
    """Return a text file's bytes without the byte order mark editors on Windows put first;
    refuse UTF-16 text, naming the file ``name``."""
    if data.startswith(UTF16_BOMS):
        raise RefusedInput(f"{name}: {UTF16_TEXT}" if name else UTF16_TEXT)
    return data.removeprefix(UTF8_BOM)


def unreadable(name: str | Path, exc: OSError) -> RefusedInput:
    """Return the refusal of an input file that cannot be read; a folder is said to be one,
    with its files as what to give (`ledger import pages/` → `pages/*`)."""
    if isinstance(exc, IsADirectoryError):
        return RefusedInput(f"cannot read {name}: it is a folder, not a file (its files: "
                            f"{str(exc.filename or name).rstrip('/')}/*)")
    missing = ""
    if isinstance(exc, FileNotFoundError):
        missing = unexpanded_home(exc.filename or "") or _unexpanded_pattern(str(exc.filename or ""))
    return RefusedInput(f"cannot read {name}: {exc.strerror or exc}{missing}")


def _unexpanded_pattern(path: str) -> str:
    """Return a note for a missing file whose name is a shell pattern (else ""): the shell
    expands `pages/*.txt` only unquoted, and only when something matches."""
    if not any(c in Path(path).name for c in "*?["):
        return ""
    return (" (a name with a pattern: only a shell expands it into file names, when it is not "
            "quoted and some file matches)")


def read_bounded(source: str, most: int = DOCUMENT_MOST, what: str = "") -> bytes:
    """Return the bytes of file ``source`` (standard input for ``-``); refuse one that cannot
    be read, or that holds more than ``most`` bytes (the rest is not read). ``what`` names the
    kind of file in the refusal."""
    name = _named(source, what)
    try:
        if source == "-":
            data = at_most(_blocks(sys.stdin.buffer), most)
        else:
            with open(source, "rb") as handle:
                data = at_most(_blocks(handle), most)
    except OSError as exc:
        raise unreadable(name, exc) from None
    if data is None:
        raise too_large(name, most)
    return data


def _named(source: str, what: str) -> str:
    """Return how a refusal names the file ``source`` (a ``what`` first, if given); refuse an
    empty name, which is not the current folder as ``Path("")`` would read it."""
    if not source:
        raise RefusedInput(f"cannot read{' ' + what if what else ''}: the file name is empty")
    return "stdin" if source == "-" else f"{what} {source}".lstrip()


def too_large(name: str, most: int) -> RefusedInput:
    """Return the refusal of an input file that holds more than ``most`` bytes."""
    size = f"{most >> 20} MiB" if most >= 1 << 20 else f"{most >> 10} KiB"
    return RefusedInput(f"{name} holds more than {size}, more than this command reads (the "
                        "rest was not read)")


def check_readable(source: str, most: int = DOCUMENT_MOST, what: str = "") -> None:
    """Refuse, as ``read_bounded`` would, a file that cannot be opened for reading or whose
    size is over ``most``, without reading it (standard input, ``-``, is not checked): what
    reads many files one at a time refuses a bad one before it writes anything."""
    if source == "-":
        return
    name = _named(source, what)
    try:
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise unreadable(name, exc) from None
    if size > most:
        raise too_large(name, most)


_BLOCK = 1 << 20


def _blocks(handle: IO[bytes]) -> Iterator[bytes]:
    """Yield the handle's bytes in blocks up to its end: a short block is its end. On a terminal
    one Ctrl-D ends the input; asking for another block after it waited for a second one."""
    while True:
        block = handle.read(_BLOCK)
        if block:
            yield block
        if len(block) < _BLOCK:
            return


def lines_at_most(handle: IO[bytes], most: int = DOCUMENT_MOST) -> Iterator[bytes | None]:
    """Yield each line of ``handle`` with its line feed; for a line of more than ``most`` bytes,
    yield None and stop (its rest is not read: it may never end)."""
    while line := handle.readline(most + 1):
        if len(line) > most:
            yield None
            return
        yield line


LINE_TOO_LONG = (f"the line holds more than {DOCUMENT_MOST >> 20} MiB, more than an event's line "
                 "can (the rest was not read)")


def at_most(chunks: Iterable[bytes], most: int) -> bytes | None:
    """Return the bytes of a body read in ``chunks``, or None as soon as they pass ``most``
    (the rest is not read: whoever sends it cannot make this process hold more)."""
    kept: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > most:
            return None
        kept.append(chunk)
    return b"".join(kept)


class TooSlow(Exception):
    """A peer did not send its whole answer in the time allowed (``within``)."""


def within(chunks: Iterable[bytes], seconds: float) -> Iterator[bytes]:
    """Yield ``chunks`` for at most ``seconds``; then raise TooSlow. Each wait for a chunk has its
    own timeout, but a peer sending a byte every few seconds would otherwise never be done."""
    deadline = time.monotonic() + seconds
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise TooSlow
        yield chunk
