"""Writing a folder of files for a static host (``ledger site``, ``ledger tiles``): each file to a
temporary name in its folder, then renamed over the old one, so that a reader never sees half a
file and a symlink planted at a file's name is replaced, never followed; never through a symlinked
folder, never outside the output folder, and only when the bytes changed."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ledger.errors import RefusedInput

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


@dataclass
class FolderWriter:
    """Writes files into one output folder: atomically, never through a symlink, never outside
    it, and only when the bytes changed."""

    out: Path
    written: int = 0
    unchanged: int = 0
    records: int = 0  # what the folder's pages cover, for the caller's report (``ledger site``)
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
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(target).st_mode) and target.read_bytes() == data:
                self.unchanged += 1
                return False
        handle, temporary = self._temporary(folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o644)
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

    def exists(self, relative: str) -> bool:
        """Return whether ``out/relative`` is a plain file (never following a symlink)."""
        try:
            return stat.S_ISREG(os.lstat(self.out / relative).st_mode)
        except OSError:
            return False


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
