"""Batch runners of the decision engine: the local, resumable, chunked credit factory."""

from creditfactory.batch._runner import BatchReport, decide_file, parts_dir

__all__ = ["BatchReport", "decide_file", "parts_dir"]
