"""Loaders for the knowledge-search evaluation sets (read at run time, never copied).

The data live outside the repository in ``shared/data/kb/`` (UnionPay 95516 FAQ and ATEC
question pairs; evaluation use only, see their PROVENANCE.md). Nothing here ships in the product.
Set ``KEFU_KB_DATA`` to the folder when it is not at ``../shared/data/kb`` from the repository.
"""

from __future__ import annotations

import csv
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Faq", "Query", "atec_distractors", "data_dir", "split", "unionpay"]

_ENTRY = re.compile(r"entry \{(.*?)\n\}", re.S)
_FIELD = re.compile(
    r"(question ID|question|answer ID|answer|label ID|label|subject ID|subject)\s*:(.*)"
)


def data_dir() -> Path:
    env = os.environ.get("KEFU_KB_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent.parent
    candidates += [here.parent / "shared" / "data" / "kb", Path("/work/shared/data/kb")]
    for path in candidates:
        if (path / "unionpay95516" / "data.txt").exists():
            return path
    raise SystemExit("UnionPay/ATEC data not found: set KEFU_KB_DATA to shared/data/kb")


@dataclass(frozen=True)
class Faq:
    key: int  # position among the standard questions
    title: str  # 标准问
    answer: str
    answer_id: str
    subject: str


@dataclass(frozen=True)
class Query:
    text: str
    relevant: frozenset[int]  # Faq keys that answer it (same answer id)


def unionpay() -> tuple[list[Faq], list[Query]]:
    """745 standard questions with their answers, and 3,353 real user phrasings (set up745)."""
    text = (data_dir() / "unionpay95516" / "data.txt").read_text(encoding="utf-8")
    records = []
    for block in _ENTRY.findall(text):
        fields: dict[str, str] = {}
        for line in block.strip().split("\n"):
            match = _FIELD.match(line.strip())
            if match:
                fields[match.group(1)] = match.group(2).strip().lstrip("\ufeff")
        records.append(fields)
    faqs: dict[str, Faq] = {}
    for r in records:
        if r["label"] not in faqs:
            faqs[r["label"]] = Faq(len(faqs), r["label"], r["answer"], r["answer ID"], r["subject"])
    by_answer: dict[str, set[int]] = {}
    for r in records:
        by_answer.setdefault(r["answer ID"], set()).add(faqs[r["label"]].key)
    relevant: dict[str, set[int]] = {}
    for r in records:
        if r["question"] != r["label"] and r["question"] not in faqs:
            relevant.setdefault(r["question"], set()).update(by_answer[r["answer ID"]])
    queries = [Query(text, frozenset(keys)) for text, keys in relevant.items()]
    return list(faqs.values()), queries


def split(queries: list[Query], dev: int = 1000, seed: int = 9) -> tuple[list[Query], list[Query]]:
    """A fixed dev split (for tuning) and the test split (for reporting)."""
    order = list(range(len(queries)))
    random.Random(seed).shuffle(order)
    return [queries[i] for i in order[:dev]], [queries[i] for i in order[dev:]]


def atec_distractors(count: int) -> list[str]:
    """The first ``count`` unique ATEC sentences (花呗/借呗 questions) in file order."""
    faqs, queries = unionpay()
    taken = {f.title for f in faqs} | {q.text for q in queries}
    out: list[str] = []
    seen: set[str] = set()
    path = data_dir() / "atec" / "atec_nlp_sim_train.csv"
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            for sentence in row[1:3]:
                sentence = sentence.strip()
                if sentence and sentence not in seen and sentence not in taken:
                    seen.add(sentence)
                    out.append(sentence)
                    if len(out) >= count:
                        return out
    return out
