"""The tamper-evident audit ledger: hash-chained entries, their verification, and anchors.

Pure functions, apart from appending to and reading an anchor file.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.audit._anchor import (
        Anchor,
        anchor_line,
        append_anchor,
        parse_anchor_line,
        read_anchor_file,
    )
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
    "Anchor",
    "Entry",
    "Problem",
    "Verdict",
    "anchor_line",
    "append_anchor",
    "canonical_json",
    "digest",
    "entry_hash",
    "entry_hash_text",
    "make_entry",
    "parse_anchor_line",
    "read_anchor_file",
    "utc_now",
    "verify_chain",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
