"""Which files a strategy may read (``file:`` lists, ``path:`` models), and reading them safely.

A strategy uploaded to the service may read none (:meth:`FileAccess.none`): its references are
refused before the disk is touched, so the answer is the same whatever the path names. A
strategy file on the operator's disk reads regular files only, at most ``max_bytes`` each, and,
when ``root`` is set, only inside that folder (``..`` and symbolic links resolved first). Errors
name the reference as written in the YAML, never the resolved path.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from creditfactory.exceptions import StrategyError

DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class FileRefusedError(StrategyError):
    """A file reference cannot be read; ``reason`` says why without naming a resolved path."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FileAccess:
    """What a strategy's ``file:`` and ``path:`` references may read.

    Parameters
    ----------
    allowed : bool
        False: no file at all (a strategy uploaded to the service).
    base : Path
        Where relative references resolve.
    root : Path or None
        When set, every reference must resolve (symbolic links followed) inside this folder.
    max_bytes : int
        The largest file read (default 16 MiB).

    Examples
    --------
    >>> FileAccess.none().allowed
    False
    >>> FileAccess.under("/srv/strategies").root
    PosixPath('/srv/strategies')
    """

    DEFAULT_MAX_BYTES: ClassVar[int] = DEFAULT_MAX_BYTES

    allowed: bool = True
    base: Path = Path(".")
    root: Path | None = None
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def none(cls) -> FileAccess:
        """No file may be read (an uploaded strategy)."""
        return cls(allowed=False, max_bytes=0)

    @classmethod
    def under(cls, folder: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> FileAccess:
        """Files inside ``folder`` only; relative references resolve against it."""
        return cls(True, Path(folder), Path(folder), max_bytes)

    @classmethod
    def anywhere(cls, base: str | Path = ".", max_bytes: int = DEFAULT_MAX_BYTES) -> FileAccess:
        """Any regular file the process may read (the operator's own command line)."""
        return cls(True, Path(base), None, max_bytes)

    def locate(self, ref: str) -> Path:
        """The real path ``ref`` names; :class:`FileRefusedError` if outside ``root``."""
        if not self.allowed:
            raise FileRefusedError("this strategy may not read files")
        if not ref or "\x00" in ref:
            raise FileRefusedError("not a file name")
        real = Path(os.path.realpath(self.base / ref))
        if self.root is not None:
            root = Path(os.path.realpath(self.root))
            if real != root and root not in real.parents:
                raise FileRefusedError("outside the strategy's folder")
        return real

    def check(self, real: Path) -> os.stat_result:
        """Stat ``real`` (a located path): a regular file within the size limit, or a folder."""
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise FileRefusedError("no such file") from None
        except OSError:
            raise FileRefusedError("cannot be read") from None
        if stat.S_ISDIR(st.st_mode):
            return st
        if not stat.S_ISREG(st.st_mode):
            raise FileRefusedError("not a regular file")
        if st.st_size > self.max_bytes:
            raise FileRefusedError(f"larger than {self.max_bytes:,} bytes")
        return st

    def read_bytes(self, ref: str) -> bytes:
        """The content of the regular file ``ref`` names (at most ``max_bytes``)."""
        real = self.locate(ref)
        if stat.S_ISDIR(self.check(real).st_mode):
            raise FileRefusedError("a folder, not a file")
        return read_regular(real, self.max_bytes)

    def read_text(self, ref: str) -> str:
        """:meth:`read_bytes` decoded as UTF-8."""
        try:
            return self.read_bytes(ref).decode("utf-8")
        except UnicodeDecodeError:
            raise FileRefusedError("not UTF-8 text") from None


def read_regular(path: str | Path, max_bytes: int) -> bytes:
    """Read a regular file of at most ``max_bytes``; :class:`FileRefusedError` otherwise.

    The file is checked before it is opened (a FIFO or a device is never opened), opened
    without blocking and checked again (it may have been replaced meanwhile), and at most
    ``max_bytes + 1`` bytes are read (a ``/proc`` file reports size 0).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileRefusedError("no such file") from None
    except OSError:
        raise FileRefusedError("cannot be read") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileRefusedError("not a regular file")
    if st.st_size > max_bytes:
        raise FileRefusedError(f"larger than {max_bytes:,} bytes")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise FileRefusedError("cannot be read") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise FileRefusedError("not a regular file")
        try:
            data = f.read(max_bytes + 1)
        except OSError:
            raise FileRefusedError("cannot be read") from None
    if len(data) > max_bytes:
        raise FileRefusedError(f"larger than {max_bytes:,} bytes")
    return data
