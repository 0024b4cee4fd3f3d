"""Batch runners of the decision engine: the local, resumable, chunked credit factory."""

from creditfactory.batch._record import LedgerRecorder, file_sha256
from creditfactory.batch._runner import BatchReport, decide_file, parts_dir

__all__ = [
    "BatchReport",
    "LedgerRecorder",
    "decide_file",
    "file_sha256",
    "parts_dir",
]
