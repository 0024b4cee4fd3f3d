"""The tamper-evident audit ledger: hash-chained entries and their verification (pure, no I/O)."""

from creditfactory.audit._ledger import (
    GENESIS,
    Entry,
    Problem,
    Verdict,
    canonical_json,
    digest,
    entry_hash,
    entry_hash_text,
    make_entry,
    utc_now,
    verify_chain,
)

__all__ = [
    "GENESIS",
    "Entry",
    "Problem",
    "Verdict",
    "canonical_json",
    "digest",
    "entry_hash",
    "entry_hash_text",
    "make_entry",
    "utc_now",
    "verify_chain",
]
