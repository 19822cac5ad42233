"""Extract articles from gensim's shortened English Wikipedia dump into eval/articles/.

The dump (``gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-
shortened.bz2`` in github.com/RaRe-Technologies/gensim) holds real articles in wikitext. Each
chosen article is cut after whole top-level sections once it has enough prose (so that a person
can write questions about all of it), and written as ``<slug>/<Title>.wiki`` with its source and
licence line appended to SOURCES.md.

Usage: python eval/tools/extract_wiki_dump.py DUMP.bz2 COMMIT OUT_DIR
"""

from __future__ import annotations

import bz2
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

#: Chosen for variety: places, science, biology, people, events, technology, organisations, culture.
TITLES = [
    "Andorra", "Aruba", "Alberta", "Angola", "Atlantic Ocean",
    "Albedo", "Alkane", "International Atomic Time", "Ampere", "Asphalt", "Alkali metal",
    "Aardvark", "Aardwolf", "Algae", "Amphibian", "Actinopterygii", "Autism",
    "Abraham Lincoln", "Aristotle", "Andre Agassi", "Aldous Huxley", "Andrei Tarkovsky",
    "Albert Einstein", "Apollo 11", "Apollo 8", "American Revolutionary War",
    "ASCII", "Abacus", "Android (robot)", "Assistive technology",
    "American National Standards Institute", "Academy Awards", "Animal Farm",
    "A Modest Proposal", "Aikido", "Arraignment", "Articles of Confederation", "Adobe",
]  # fmt: skip
MIN_WORDS = 1600
MAX_WORDS = 3200
_H2 = re.compile(r"^==[^=].*[^=]==\s*$", re.M)


def prose_words(text: str) -> int:
    text = re.sub(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>", " ", text, flags=re.S)
    text = re.sub(r"\{\{[^{}]*\}\}", " ", text)
    return len(text.split())


def cut(text: str) -> str:
    starts = [m.start() for m in _H2.finditer(text)] + [len(text)]
    out = text[: starts[0]]
    for a, b in zip(starts, starts[1:], strict=False):
        if prose_words(out) >= MIN_WORDS:
            break
        heading = text[a : text.index("\n", a)].strip("= \n").lower()
        if heading in {"see also", "references", "notes", "external links", "further reading"}:
            break
        section = text[a:b]
        if prose_words(out + section) > MAX_WORDS:  # a long section: whole paragraphs of it
            for para in re.split(r"(?<=\n)\n", section):
                if prose_words(out) >= MIN_WORDS:
                    break
                out += para + "\n"
            break
        out += section
    return out.rstrip() + "\n\n== References ==\n{{Reflist}}\n"


def main(dump: str, commit: str, out_dir: str) -> None:
    root = ET.fromstring(bz2.open(dump).read().decode("utf-8"))
    ns = root.tag.split("}")[0] + "}"
    out = Path(out_dir)
    lines = []
    for page in root.iter(ns + "page"):
        title = page.findtext(ns + "title")
        if title not in TITLES:
            continue
        rev = page.findtext(f"{ns}revision/{ns}id")
        text = cut(page.findtext(f"{ns}revision/{ns}text") or "")
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
        name = title.replace(" ", "_").replace("(", "").replace(")", "")
        (out / slug).mkdir(parents=True, exist_ok=True)
        (out / slug / f"{name}.wiki").write_text(text, encoding="utf-8")
        lines.append(
            f'- {slug}/{name}.wiki: "{title}", English Wikipedia, revision {rev} '
            f"(https://en.wikipedia.org/w/index.php?oldid={rev}), from gensim's test data "
            f"(github.com/RaRe-Technologies/gensim at {commit}), cut after {prose_words(text)} "
            "words of prose; licence CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)"
        )
        print(slug, prose_words(text), len(re.findall(r"<ref[ >]", text)))
    with (out / "SOURCES_wiki.md").open("w", encoding="utf-8") as f:
        f.write("\n".join(sorted(lines)) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
