"""Declared contacts (紧急联系人): the phones an applicant names, screened against the lists and
against earlier applicants.

Only the contacts an applicant **declares** are used — one or two emergency contacts, with the
applicant's consent, as Chinese lending applications collect them — never a harvested address
book or call log (PIPL: a contact list is other people's personal information). An application
declares them as ``emergency_contact_phone`` (one phone) and/or ``emergency_contacts`` (a list
of at most :data:`MAX_DECLARED_CONTACTS` contacts, each a phone or an object with a ``phone``
and, say, a ``name`` and ``relation``); their distinct phones are its contacts.

- ``contacts_known_applicants`` (a fraud feature, ``fraud:contacts_known_applicants``): how many
  of the contacts are the phone of an application by another customer that arrived earlier
  (point in time; a retro-scan counts any other customer's). Rings name each other; honest
  applicants mostly name family who never applied.
- ``contacts_listed_share`` (a feature of the lists, ``list:contacts_listed_share``): the share
  of the contacts whose phone is on the blacklist or the greylist (keyed hashes, as every list
  look-up), 0 when none is declared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from creditfactory.exceptions import DataError

CONTACT_FIELDS: tuple[str, ...] = ("emergency_contact_phone", "emergency_contacts")
"""The fields an application declares its contacts in (a phone; a list of phones)."""
MAX_DECLARED_CONTACTS = 5
"""The most phones ``emergency_contacts`` may list (applications ask for one or two)."""
_MOBILE = re.compile(r"1[3-9]\d{9}")


_NOT_MOBILE = "not a mobile number (11 digits starting 13-19)"


def contact_problems(value: Any) -> list[tuple[tuple[int | str, ...], str]]:
    """What is wrong with an ``emergency_contacts`` value (``(where in it, message)``; empty
    when it is fine): a list of at most :data:`MAX_DECLARED_CONTACTS` contacts, each a mainland
    mobile number (11 digits, ``1[3-9]``) or an object whose ``phone`` is one; or null.

    >>> contact_problems(["13800138000", "1380013", {"name": "李雷", "phone": "13900001111"}])
    [((1,), 'not a mobile number (11 digits starting 13-19)')]
    >>> contact_problems([{"name": "李雷"}])
    [((0, 'phone'), 'not a mobile number (11 digits starting 13-19)')]
    >>> contact_problems("13800138000")
    [((), 'must be a list of contacts (mobile numbers, or objects with a phone)')]
    """
    if value is None:
        return []
    if not isinstance(value, list):
        return [((), "must be a list of contacts (mobile numbers, or objects with a phone)")]
    if len(value) > MAX_DECLARED_CONTACTS:
        return [((), f"at most {MAX_DECLARED_CONTACTS} contacts (got {len(value)})")]
    out: list[tuple[tuple[int | str, ...], str]] = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            phone = item.get("phone")
            if not isinstance(phone, str) or not _MOBILE.fullmatch(phone):
                out.append(((i, "phone"), _NOT_MOBILE))
        elif not isinstance(item, str) or not _MOBILE.fullmatch(item):
            out.append(((i,), _NOT_MOBILE))
    return out


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return list(value)
    if isinstance(value, float) and np.isnan(value):
        return []
    raise DataError(f"emergency_contacts: expected a list of phones, got {type(value).__name__}")


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def declared_contacts(application: Mapping[str, Any]) -> list[str]:
    """The distinct contact phones an application declares, in the order given.

    >>> declared_contacts({"emergency_contact_phone": "13800000001",
    ...                    "emergency_contacts": ["13900000002", {"phone": "13800000001"}]})
    ['13800000001', '13900000002']
    """
    out: list[str] = []
    single = _text(application.get("emergency_contact_phone"))
    if single is not None:
        out.append(single)
    for item in _items(application.get("emergency_contacts")):
        text = _text(item.get("phone") if isinstance(item, Mapping) else item)
        if text is not None and text not in out:
            out.append(text)
    return out


def _customers(frame: pd.DataFrame) -> np.ndarray:
    ids = frame["application_id"].astype(str).to_numpy(dtype=object)
    if "customer_id" not in frame.columns:
        return ids
    cust = frame["customer_id"]
    return np.where(cust.isna().to_numpy(), ids, cust.astype(str).to_numpy(dtype=object))


def _contacts_long(frame: pd.DataFrame) -> pd.DataFrame:
    """``(row, contact)`` of every declared contact (distinct per row)."""
    rows: list[int] = []
    contacts: list[str] = []
    has = [c for c in CONTACT_FIELDS if c in frame.columns]
    if not has:
        return pd.DataFrame({"row": np.array([], dtype=np.int64), "contact": []})
    if has == ["emergency_contact_phone"]:  # the usual case: one scalar column, vectorised
        col = frame["emergency_contact_phone"]
        text = col.astype("string").str.strip()
        keep = (col.notna() & (text != "")).to_numpy(dtype=bool)
        return pd.DataFrame(
            {"row": np.flatnonzero(keep), "contact": text[keep].astype(object).to_numpy()}
        )
    records = frame[has].to_dict("records")
    for r, app in enumerate(records):
        for c in declared_contacts(app):
            rows.append(r)
            contacts.append(c)
    return pd.DataFrame({"row": np.array(rows, dtype=np.int64), "contact": contacts})


def contacts_known_batch(frame: pd.DataFrame, *, point_in_time: bool) -> np.ndarray:
    """``contacts_known_applicants`` of every row of ``frame``, whose rows are in arrival order
    (a contact is known when another customer's application used it as its phone before this
    row; a retro-scan: in any other row)."""
    n = len(frame)
    out = np.zeros(n, dtype=np.int64)
    if n == 0 or "phone" not in frame.columns:
        return out
    long = _contacts_long(frame)
    if long.empty:
        return out
    cust = _customers(frame)
    phone = frame["phone"].astype("string").str.strip()
    phones = pd.DataFrame({"row": np.arange(n), "phone": phone.to_numpy(dtype=object),
                           "cust": cust})  # fmt: skip
    phones = phones[phone.notna().to_numpy() & (phone != "").to_numpy(dtype=bool)]
    firsts = phones.drop_duplicates("phone", keep="first").set_index("phone")
    hits = long.join(firsts.rename(columns={"row": "first", "cust": "first_cust"}), on="contact")
    hits = hits[hits["first"].notna()]
    if hits.empty:
        return out
    mine = cust[hits["row"].to_numpy()]
    same_as_first = mine == hits["first_cust"].to_numpy(dtype=object)
    other = phones[phones["cust"].to_numpy() != firsts.loc[phones["phone"], "cust"].to_numpy()]
    # the first row of each phone used by a customer other than its first user
    second = other.drop_duplicates("phone", keep="first").set_index("phone")["row"]
    second_row = hits["contact"].map(second).to_numpy(dtype=float)  # NaN: no such row
    first_row = hits["first"].to_numpy(dtype=float)
    row = hits["row"].to_numpy()
    if point_in_time:
        known = np.where(same_as_first, second_row < row, first_row < row)
    else:
        known = np.where(same_as_first, ~np.isnan(second_row), True)
    np.add.at(out, row[known], 1)
    return out


class ContactState:
    """The online form of ``contacts_known_applicants``: feed applications in arrival order."""

    def __init__(self) -> None:
        self.phones: dict[str, set[str]] = {}  # phone -> customers who applied with it

    def update(self, application: Mapping[str, Any]) -> int:
        """How many of ``application``'s contacts earlier applicants used as their phone; then
        its own phone is remembered."""
        app_id = application.get("application_id")
        customer = _text(application.get("customer_id")) or str(app_id)
        known = 0
        for contact in declared_contacts(application):
            users = self.phones.get(contact)
            if users and (len(users) > 1 or customer not in users):
                known += 1
        phone = _text(application.get("phone"))
        if phone is not None:
            self.phones.setdefault(phone, set()).add(customer)
        return known


__all__ = [
    "CONTACT_FIELDS",
    "MAX_DECLARED_CONTACTS",
    "ContactState",
    "contact_problems",
    "contacts_known_batch",
    "declared_contacts",
]
