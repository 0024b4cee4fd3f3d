"""fuzz: schemathesis against the running service's OpenAPI document, and hypothesis against
the strategy language and the file loaders.

HTTP: every operation of ``/openapi.json``, with data that fits the schema (positive) and data
that does not (negative), each case sent with a valid admin key, a valid read-only key, a wrong
key or none. A failure is a 5xx, or a body showing a traceback or a server path (``/work/``,
``/tmp/``, ``site-packages``, ``Traceback`` ...).

Library: ``Strategy.from_yaml`` on garbled strategies (characters cut, doubled and changed;
random YAML documents; parts of a valid strategy replaced by random values; deep nesting), and
``read_table`` on garbled CSV and Parquet files (bytes flipped, cut, inserted). A failure is
any exception other than a :class:`creditfactory.exceptions.CreditFactoryError`.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from pathlib import Path
from typing import Any

from drills._common import leaks, populate, result, say, start, strategy_text, workdir

WRONG_KEY = "cf_not-a-key-at-all-000000000000"


# ----------------------------------------------------------------------------- HTTP


def fuzz_http(tmp: Path, per_operation: int, seed: int = 0) -> dict[str, Any]:
    """``per_operation`` cases per operation and mode (positive, negative)."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    # the failed-login throttle off: past 20 wrong keys it would answer every later case of
    # this address with a 429 before the route (and after a fuzzed revocation the admin's too)
    svc = start(f"sqlite:///{tmp / 'fuzz.db'}", tmp, CREDITFACTORY_AUTH_FAILURES="0")
    failures: list[str] = []
    statuses: dict[int, int] = {}
    cases = unsent = 0
    try:
        populate(svc, 1)
        doc = json.loads(requests.get(f"{svc.url}/openapi.json", timeout=30).content)
        schema = schemathesis.openapi.from_dict(doc)
        variants = {
            "admin": svc.keys["admin"],
            "read-only": svc.keys["read-only"],
            "wrong key": WRONG_KEY,
            "no key": None,
        }
        ours = _key_ids(svc)
        session = requests.Session()
        operations = [r.ok() for r in schema.get_all_operations() if hasattr(r, "ok")]
        say(
            f"  {len(operations)} operations in /openapi.json; {per_operation} case(s) per "
            "operation and mode (positive, negative), each with an admin key, a read-only "
            "key, a wrong key or none (CREDITFACTORY_AUTH_FAILURES=0: no case throttled)"
        )
        for op in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = st.tuples(
                    op.as_strategy(generation_mode=mode), st.sampled_from(sorted(variants))
                )

                @settings(
                    max_examples=per_operation,
                    database=None,
                    deadline=None,
                    phases=[Phase.generate],
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(strategy)
                def one(drawn: tuple[Any, str]) -> None:
                    nonlocal cases, unsent
                    case, who = drawn
                    label = f"{case.operation.label} ({who}, {_mode(case)})"
                    if (case.path_parameters or {}).get("key_id") in ours:
                        case.path_parameters["key_id"] = 10**6  # keep the drill's keys alive
                    key = variants[who]
                    headers = {} if key is None else {"X-API-Key": key}
                    try:
                        answer = case.call(
                            base_url=svc.url, session=session, headers=headers, timeout=30
                        )
                    except (requests.exceptions.InvalidHeader, ValueError, UnicodeError):
                        unsent += 1  # the client library refused to send it
                        return
                    except requests.RequestException as exc:
                        cases += 1
                        failures.append(f"{label}: no answer: {exc}"[:300])
                        return
                    cases += 1
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                    body = answer.content
                    leak = leaks(body)
                    if answer.status_code >= 500 or leak:
                        what = f"status {answer.status_code}" + (
                            f", shows {leak!r}" if leak else ""
                        )
                        failures.append(f"{label}: {what}: {_request_text(case)} -> {body[:200]!r}")

                # nothing negative to say about an operation without parameters or a body
                with contextlib.suppress(Unsatisfiable):
                    one()
    finally:
        svc.stop()
    say(
        f"  HTTP: {cases:,} cases sent ({unsent} the client refused to send), statuses "
        f"{dict(sorted(statuses.items()))}, {len(failures)} failure(s)"
    )
    return {"cases": cases, "failures": failures, "statuses": statuses}


def _request_text(case: Any) -> str:
    body = case.body if not _is_unset(case.body) else None
    text = f"{case.method} {case.formatted_path}"
    if case.query:
        text += "?" + "&".join(f"{k}={v}" for k, v in case.query.items())
    if body is not None:
        text += f" body={json.dumps(body, default=str)[:150]}"
    return text


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


def _key_ids(svc: Any) -> set[int]:
    import requests

    rows = requests.get(
        f"{svc.url}/v1/keys", headers={"X-API-Key": svc.keys["admin"]}, timeout=30
    ).json()
    return {int(r["id"]) for r in rows}


# ----------------------------------------------------------------------------- strategies


GARBLINGS = ("characters", "document", "subtree", "deep")


def fuzz_strategies(n: int, garblings: tuple[str, ...] = GARBLINGS) -> dict[str, Any]:
    """``n`` garbled strategies through ``Strategy.from_yaml`` (``garblings``: which kinds)."""
    import yaml
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from creditfactory.decision import Strategy
    from creditfactory.exceptions import CreditFactoryError

    valid = strategy_text()
    doc = yaml.safe_load(valid)
    failures: list[str] = []
    seen = {"cases": 0, "accepted": 0}
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30)
    )
    values = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )

    @st.composite
    def garbled(draw: Any) -> str:
        how = draw(st.sampled_from(garblings))
        if how == "characters":
            text = list(valid)
            for _ in range(draw(st.integers(1, 8))):
                i = draw(st.integers(0, len(text) - 1))
                op = draw(st.sampled_from(["cut", "double", "change"]))
                if op == "cut":
                    del text[i : i + draw(st.integers(1, 40))]
                elif op == "double":
                    text.insert(i, text[i])
                else:
                    text[i] = draw(st.sampled_from([*list(":-{}[]\"'#&*!|>%@`\n\t 0aZ"), "\x00"]))
                if not text:
                    text = [" "]
            return "".join(text)
        if how == "document":
            return yaml.safe_dump(draw(values))
        if how == "subtree":
            mutated = json.loads(json.dumps(doc))
            node, path = mutated, []
            while isinstance(node, dict | list) and node and draw(st.booleans()):
                key = draw(
                    st.sampled_from(
                        sorted(node) if isinstance(node, dict) else list(range(len(node)))
                    )
                )
                path.append(key)
                if not isinstance(node[key], dict | list):
                    break
                node = node[key]
            target = mutated
            for key in path[:-1]:
                target = target[key]
            if path:
                target[path[-1]] = draw(values)
            return yaml.safe_dump(mutated)
        depth = draw(st.sampled_from([50, 500, 5000]))
        return "x: " + "[" * depth + "]" * depth

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(garbled())
    def one(text: str) -> None:
        seen["cases"] += 1
        try:
            Strategy.from_yaml(text)
            seen["accepted"] += 1
        except CreditFactoryError:
            pass
        except BaseException as exc:  # the point: anything else is a failure
            failures.append(
                f"Strategy.from_yaml: {type(exc).__name__}: {str(exc)[:150]} on {text[:120]!r}"
            )

    one()
    say(
        f"  strategies: {seen['cases']} garbled YAML texts, {seen['accepted']} compiled, "
        f"{len(failures)} raised something other than a CreditFactoryError"
    )
    return {"cases": seen["cases"], "failures": failures}


# ----------------------------------------------------------------------------- loaders


def fuzz_loaders(n: int, tmp: Path, seed: int = 0) -> dict[str, Any]:
    """``n`` garbled CSV and ``n`` garbled Parquet files through ``read_table``."""
    import pandas as pd

    from creditfactory.data import Column, Schema, read_table
    from creditfactory.exceptions import CreditFactoryError

    rng = random.Random(seed)
    schema = Schema(
        [
            Column("id", "int", nullable=False),
            Column("amount", "float", min=0),
            Column("name", "string"),
            Column("day", "date"),
            Column("flag", "bool"),
        ]
    )
    frame = pd.DataFrame(
        {
            "id": range(40),
            "amount": [i * 1.5 for i in range(40)],
            "name": [f"n{i}" for i in range(40)],
            "day": pd.to_datetime(["2024-01-02"] * 40).date,
            "flag": [i % 2 == 0 for i in range(40)],
        }
    )
    csv_path, pq_path = tmp / "good.csv", tmp / "good.parquet"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(pq_path, index=False)
    read_table(csv_path, schema)  # both read when intact
    read_table(pq_path, schema)
    failures: list[str] = []
    cases = 0
    for source in (csv_path, pq_path):
        good = source.read_bytes()
        for i in range(n):
            data = bytearray(good)
            how = rng.choice(["flip", "cut", "insert", "truncate", "empty", "swap"])
            if how == "flip":
                for _ in range(rng.randint(1, 20)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
            elif how == "cut":
                at = rng.randrange(len(data))
                del data[at : at + rng.randint(1, 200)]
            elif how == "insert":
                at = rng.randrange(len(data))
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
            elif how == "truncate":
                data = data[: rng.randrange(len(data))]
            elif how == "empty":
                data = bytearray()
            else:  # the other format's bytes under this name
                other = pq_path if source == csv_path else csv_path
                data = bytearray(other.read_bytes())
            path = tmp / f"garbled-{i}{source.suffix}"
            path.write_bytes(bytes(data))
            cases += 1
            try:
                read_table(path, schema)
            except CreditFactoryError:
                pass
            except BaseException as exc:
                failures.append(
                    f"read_table({source.suffix}, {how}): {type(exc).__name__}: {str(exc)[:150]}"
                )
            path.unlink()
    say(
        f"  loaders: {cases} garbled CSV and Parquet files, {len(failures)} raised something "
        "other than a CreditFactoryError"
    )
    return {"cases": cases, "failures": failures}


def _distinct(failures: list[str]) -> list[str]:
    """One line per kind of failure (the text before the first ':' of the detail), with a
    count."""
    groups: dict[str, list[str]] = {}
    for f in failures:
        groups.setdefault(f.split(": ", 2)[0] + ": " + f.split(": ", 2)[1][:40], []).append(f)
    return [
        f"{v[0]}" + (f"  (and {len(v) - 1} more like it)" if len(v) > 1 else "")
        for v in groups.values()
    ]


def run(
    quick: bool = False,
    per_operation: int | None = None,
    library: int | None = None,
    garblings: tuple[str, ...] = GARBLINGS,
) -> dict[str, Any]:
    """``per_operation``: HTTP cases per operation and mode; ``library``: garbled strategies
    (and half as many garbled files of each format); ``garblings``: kinds of garbled YAML."""
    per_operation = per_operation or (1 if quick else 10)
    library = library or (20 if quick else 200)
    say(
        "fuzz drill: schemathesis over every operation of the service's OpenAPI document "
        "(positive and negative data; admin, read-only, wrong and no key), hypothesis over "
        "the strategy language and the CSV/Parquet loaders"
    )
    t0 = time.perf_counter()
    with workdir("fuzz") as tmp:
        h = fuzz_http(tmp, per_operation)
        s = fuzz_strategies(library, garblings)
        lo = fuzz_loaders(library // 2, tmp)
    failures = h["failures"] + s["failures"] + lo["failures"]
    cases = h["cases"] + s["cases"] + lo["cases"]
    findings = _distinct(failures)
    for f in findings:
        say(f"  FAILURE {f}")
    return result(
        "fuzz",
        not failures,
        fuzz_cases=cases,
        fuzz_failures=len(failures),
        findings=findings,
        figures={
            "http_cases": h["cases"],
            "http_statuses": h["statuses"],
            "strategy_cases": s["cases"],
            "loader_cases": lo["cases"],
            "seconds": round(time.perf_counter() - t0, 1),
        },
    )


def _mode(case: Any) -> str:
    """``positive`` or ``negative``: how schemathesis generated ``case``."""
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return str(getattr(mode, "value", mode))
