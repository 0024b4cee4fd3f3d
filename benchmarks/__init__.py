"""Benchmarks: ``python benchmarks/run.py`` (``make bench``); see ``benchmarks/run.py``."""
