"""Batch runners of the decision engine: the local, resumable, chunked credit factory."""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.batch._record import LedgerRecorder, file_sha256
    from creditfactory.batch._runner import BatchReport, decide_file, parts_dir

__all__ = [
    "BatchReport",
    "LedgerRecorder",
    "decide_file",
    "file_sha256",
    "parts_dir",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
