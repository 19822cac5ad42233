"""Check every question file under eval/articles/: answers verbatim, refs as the source has them.

For each answerable question, every answer string must occur in the article's rendered text,
and the question's refs must be those the source attaches to some occurrence of one of its
answers (``span_refs``; for a compound question, the union over its parts). Prints one line
per problem and a count per article; exit 1 if any.

Usage: python eval/tools/check_questions.py [eval/articles]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qa.index.sources import read_document
from qa.readers import SUFFIXES
from qa.readers.document import span_refs


def occurrences(text: str, s: str) -> list[int]:
    out, i = [], text.find(s)
    while i >= 0:
        out.append(i)
        i = text.find(s, i + 1)
    return out


def check(folder: Path) -> list[str]:
    src = [f for f in folder.iterdir() if f.suffix in SUFFIXES]
    doc = read_document(src[0], folder.parent)
    problems = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if not q["answerable"]:
            if q["answers"] or q["refs"]:
                problems.append(f"{q['id']}: unanswerable with answers or refs")
            continue
        possible: list[set[int]] = []
        for a in q["answers"]:
            at = occurrences(doc.text, a)
            if not at:
                problems.append(f"{q['id']}: answer not in the text: {a!r}")
            possible.append({r for i in at for r in span_refs(doc, i, i + len(a))})
        want = set(q["refs"])
        if possible and not want <= set().union(*possible):
            problems.append(f"{q['id']}: refs {sorted(want)} not given by the source there")
    return problems


def main(root: str = "eval/articles") -> int:
    bad = 0
    for folder in sorted(Path(root).iterdir()):
        if (folder / "questions.jsonl").is_file():
            problems = check(folder)
            bad += len(problems)
            for p in problems:
                print(f"{folder.name}: {p}")
    print(f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
