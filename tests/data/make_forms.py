"""Write the other forms of an article from its plain-text form, as fixtures for the readers.

    python tests/data/make_forms.py   # rewrites tests/data/forms/

From ``corpus/human_trafficking_in_laos.txt`` (with one page-number mark added: "in 2018.[3]:
12", as {{rp}} renders it) and ``tests/data/lake_atlantis.txt`` (notes, maintenance tags and
pages), it writes what a person gets from Wikipedia: a browser copy (the current skin, and an
older one), a mirror's text, a saved page (.html), the page's wikitext (.wiki) and Markdown.
The content is the same in every form; only the form differs. Deliberately independent of
``qa``: it must not share the readers' mistakes.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "forms"
TOKEN_RE = re.compile(
    r"\[(?P<n>\d+)\](?::\s?(?P<page>[\d–]+))?|\[(?P<note>[a-z])\]"
    r"|\[(?P<tag>citation needed|when\?|clarification needed)\]"
)
_MAINT = {"citation needed": "citation needed", "when?": "when", "clarification needed": "clarify"}


def read_source(text: str) -> dict:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    src = {"title": blocks[0], "body": [], "refs": {}, "notes": {}}
    mode = "body"
    for b in blocks[1:]:
        if b in ("References", "Notes"):
            mode = b
        elif mode == "References":
            for line in b.splitlines():
                m = re.match(r"\s*(\d+)\. \^ (?:(?:[a-e] )+)?(.*)", line)
                src["refs"][int(m.group(1))] = m.group(2).strip()
        elif mode == "Notes":
            for line in b.splitlines():
                m = re.match(r"\s*([a-z])\. \^ (.*)", line)
                src["notes"][m.group(1)] = m.group(2).strip()
        elif "\n" not in b and len(b) < 60 and not re.search(r"[.\]]$", b):
            src["body"].append(("h", b))
        else:
            src["body"].append(("p", b))
    uses = Counter(
        int(m.group("n")) for _, p in src["body"] for m in TOKEN_RE.finditer(p) if m.group("n")
    )
    src["uses"] = uses
    return src


def tokens(paragraph: str):
    """("text", s) / ("ref", n, page) / ("note", label) / ("tag", tag) in order."""
    pos = 0
    for m in TOKEN_RE.finditer(paragraph):
        if m.start() > pos:
            yield ("text", paragraph[pos : m.start()])
        if m.group("n"):
            yield ("ref", int(m.group("n")), m.group("page"))
        elif m.group("note"):
            yield ("note", m.group("note"))
        else:
            yield ("tag", m.group("tag"))
        pos = m.end()
    if pos < len(paragraph):
        yield ("text", paragraph[pos:])


def backlinks(src: dict, n: int, old_skin: bool = False) -> str:
    k = src["uses"][n]
    if k <= 1:
        return "^"
    letters = " ".join("abcdefghij"[:k])
    return f"^ Jump up to: {letters}" if old_skin else f"^ {letters}"


HEADER = """Jump to content
Main menu
Search
Create account
Log in
Personal tools
"""
FOOTER = """Categories: {title} Human rights abuses
This page was last edited on 19 August 2024, at 10:00 (UTC).
Text is available under the Creative Commons Attribution-ShareAlike License 4.0; additional \
terms may apply. By using this site, you agree to the Terms of Use and Privacy Policy.
Privacy policy
About Wikipedia
Disclaimers
Contact Wikipedia
Code of Conduct
Developers
Statistics
Cookie statement
Mobile view
"""


def browser_copy(src: dict, old_skin: bool = False) -> str:
    """Select all, copy, paste: the current skin (one line per block, "[edit]" lines) or an
    older one (blank lines, "Heading[edit]", the contents box after the lead)."""
    headings = [x for k, x in src["body"] if k == "h"]
    out = [HEADER]
    if not old_skin:
        out.append("Contents\nhide\n(Top)\n" + "\n".join(headings) + "\n")
        out.append("Toggle the table of contents\n")
    out.append(f"{src['title']}\n")
    if not old_skin:
        out.append("5 languages\nArticle\nTalk\nRead\nEdit\nView history\nTools\n")
    out.append("From Wikipedia, the free encyclopedia\n")
    sep = "\n" if old_skin else ""
    toc_done = False
    for kind, text in src["body"]:
        if kind == "h":
            if old_skin and not toc_done:
                toc = "\n".join(f"{i}\t{h}" for i, h in enumerate(headings, 1))
                out.append(f"{sep}Contents\nhide\n{toc}\n")
                toc_done = True
            out.append(f"{sep}{text}[edit]\n" if old_skin else f"{text}\n[edit]\n")
        else:
            out.append(f"{sep}{text}\n")
    out.append(f"{sep}See also" + ("[edit]\n" if old_skin else "\n[edit]\n"))
    out.append("Human trafficking in Asia\n")
    for name, entries in (("Notes", src["notes"]), ("References", src["refs"])):
        if not entries:
            continue
        out.append(f"{sep}{name}" + ("[edit]\n" if old_skin else "\n[edit]\n"))
        for key, entry in entries.items():
            link = "^" if name == "Notes" else backlinks(src, key, old_skin)
            out.append(f"{link} {entry}\n")
    out.append(f"{sep}External links" + ("[edit]\n" if old_skin else "\n[edit]\n"))
    out.append("Country page at the UN Office on Drugs and Crime\n")
    out.append("v\nt\ne\nHuman trafficking in Asia\nSovereign states\nAfghanistan\nLaos\n")
    out.append(FOOTER.format(title=src["title"]))
    return "".join(out)


def mirror(src: dict) -> str:
    """A mirror's text: a space before each mark, straight apostrophes, numbered entries."""
    out = [src["title"]]
    for _, text in src["body"]:
        text = TOKEN_RE.sub(lambda m: " " + m.group(0), text).replace("’", "'")
        out.append(text)
    for name, entries in (("Notes", src["notes"]), ("References", src["refs"])):
        if entries:
            out.append(name)
            out.append("\n".join(f"{k}. {e.replace('’', chr(39))}" for k, e in entries.items()))
    return "\n\n".join(out) + "\n"


def html_page(src: dict) -> str:
    """A saved page ("Save page as…", current skin) with its chrome around the article."""
    e = html.escape
    title = src["title"]
    seen: Counter[int] = Counter()

    def inline(text: str) -> str:
        out = []
        for t in tokens(text):
            if t[0] == "text":
                out.append(e(t[1]))
            elif t[0] == "ref":
                n, page = t[1], t[2]
                seen[n] += 1
                out.append(
                    f'<sup id="cite_ref-r{n}_{n}-{seen[n] - 1}" class="reference"><a '
                    f'href="#cite_note-r{n}-{n}"><span class="cite-bracket">&#91;</span>{n}'
                    '<span class="cite-bracket">&#93;</span></a></sup>'
                )
                if page:
                    out.append(
                        f'<sup class="reference nowrap"><span title="Page: {e(page)}">: '
                        f"{e(page)}</span></sup>"
                    )
            elif t[0] == "note":
                out.append(
                    f'<sup id="cite_ref-note{t[1]}" class="reference"><a href="#cite_note-n'
                    f'{t[1]}"><span class="cite-bracket">&#91;</span>{t[1]}<span '
                    'class="cite-bracket">&#93;</span></a></sup>'
                )
            else:
                out.append(
                    '<sup class="noprint Inline-Template Template-Fact" style="white-space:'
                    'nowrap;">&#91;<i><a href="/wiki/Wikipedia:Citation_needed"><span title='
                    f'"This claim needs references.">{e(t[1])}</span></a></i>&#93;</sup>'
                )
        return "".join(out)

    def heading(name: str, legacy: bool) -> str:
        edit = (
            '<span class="mw-editsection"><span class="mw-editsection-bracket">[</span><a '
            'href="/w/index.php?action=edit">edit</a><span class="mw-editsection-bracket">]'
            "</span></span>"
        )
        if legacy:  # older skins: the edit link inside the h2
            return f'<h2><span class="mw-headline" id="{e(name)}">{e(name)}</span>{edit}</h2>'
        return f'<div class="mw-heading mw-heading2"><h2 id="{e(name)}">{e(name)}</h2>{edit}</div>'

    body = [
        '<div class="shortdescription nomobile noexcerpt">Overview of the topic</div>',
        '<div role="note" class="hatnote navigation-not-searchable">For the film, see '
        '<a href="/wiki/X">X (film)</a>.</div>',
        '<table class="sidebar nomobile"><tbody><tr><th>Part of a series on</th></tr><tr><td>'
        "Human trafficking</td></tr></tbody></table>",
    ]
    headings = [x for k, x in src["body"] if k == "h"]
    toc_done = False
    for i, (kind, text) in enumerate(src["body"]):
        if kind == "h":
            if not toc_done:
                items = "".join(f'<li class="toclevel-1"><a>{j} {e(h)}</a></li>' for j, h in
                                enumerate(headings, 1))  # fmt: skip
                body.append(f'<div id="toc" class="toc"><h2>Contents</h2><ul>{items}</ul></div>')
                toc_done = True
            body.append(heading(text, legacy=i % 2 == 1))
        else:
            body.append(f"<p>{inline(text)}\n</p>")
    body.append(heading("See also", False))
    body.append('<ul><li><a href="/wiki/Human_trafficking_in_Asia">Human trafficking in Asia</a>'
                "</li></ul>")  # fmt: skip
    if src["notes"]:
        body.append(heading("Notes", False))
        lis = "".join(
            f'<li id="cite_note-n{k}"><span class="mw-cite-backlink"><b><a href="#cite_ref-note'
            f'{k}">^</a></b></span> <span class="reference-text">{e(v)}</span></li>'
            for k, v in src["notes"].items()
        )
        body.append(f'<div class="reflist reflist-lower-alpha"><div class="mw-references-wrap">'
                    f'<ol class="references">{lis}</ol></div></div>')  # fmt: skip
    body.append(heading("References", False))
    lis = []
    for n, entry in src["refs"].items():
        k = src["uses"][n]
        if k > 1:
            links = " ".join(f'<a href="#cite_ref-r{n}_{n}-{j}"><sup><i><b>{"abcdefghij"[j]}'
                             "</b></i></sup></a>" for j in range(k))  # fmt: skip
            back = f'<span class="mw-cite-backlink">^ {links}</span>'
        else:
            back = (
                f'<span class="mw-cite-backlink"><b><a href="#cite_ref-r{n}_{n}-0">^</a></b></span>'
            )
        lis.append(f'<li id="cite_note-r{n}-{n}">{back} <span class="reference-text"><cite '
                   f'class="citation web cs1">{e(entry)}</cite></span></li>')  # fmt: skip
    body.append(f'<div class="reflist"><div class="mw-references-wrap mw-references-columns">'
                f'<ol class="references">{"".join(lis)}</ol></div></div>')  # fmt: skip
    body.append(heading("External links", False))
    body.append('<ul><li><a class="external text" href="https://www.unodc.org/">Country page '
                "at the UN Office on Drugs and Crime</a></li></ul>")  # fmt: skip
    body.append('<div role="navigation" class="navbox"><table class="nowraplinks"><tr><th>'
                '<div class="navbar plainlinks"><ul><li>v</li><li>t</li><li>e</li></ul></div>'
                "Human trafficking in Asia</th></tr><tr><td>Afghanistan · Laos</td></tr>"
                "</table></div>")  # fmt: skip
    return f"""<!DOCTYPE html>
<html class="client-js vector-feature-toc-pinned-clientpref-1" lang="en" dir="ltr">
<head><meta charset="UTF-8"><title>{e(title)} - Wikipedia</title>
<style>.mw-parser-output .reflist{{margin-bottom:0.5em}}</style>
<script>(RLQ=window.RLQ||[]).push(function(){{}});</script></head>
<body class="skin-vector-2022 mediawiki">
<a class="mw-jump-link" href="#bodyContent">Jump to content</a>
<header class="vector-header mw-header"><nav id="mw-navigation">Main menu Navigation Main page
Contents Current events</nav><div id="p-search">Search</div></header>
<div class="vector-toc" id="vector-toc">Contents hide (Top) {" ".join(e(h) for h in headings)}
</div>
<main id="content" class="mw-body"><header class="mw-body-header vector-page-titlebar">
<h1 id="firstHeading" class="firstHeading mw-first-heading"><span class="mw-page-title-main">
{e(title)}</span></h1><div id="p-lang-btn">5 languages</div></header>
<div class="vector-page-toolbar">Article Talk Read Edit View history Tools</div>
<div id="bodyContent" class="vector-body"><div id="siteSub" class="noprint">From Wikipedia, the
free encyclopedia</div><div id="contentSub"></div>
<div id="mw-content-text" class="mw-body-content"><div class="mw-content-ltr mw-parser-output"
lang="en" dir="ltr">
{chr(10).join(body)}
</div></div>
<div id="catlinks" class="catlinks" data-mw="interface"><div id="mw-normal-catlinks"
class="mw-normal-catlinks"><a href="/wiki/Help:Category">Categories</a>: <ul><li>{e(title)}
</li><li>Human rights abuses</li></ul></div></div>
</div></main>
<footer id="footer" class="mw-footer"><ul id="footer-info"><li id="footer-info-lastmod">This
page was last edited on 19 August 2024, at 10:00 (UTC).</li><li id="footer-info-copyright">Text
is available under the Creative Commons Attribution-ShareAlike License 4.0.</li></ul></footer>
</body></html>
"""


_DATE = r"(?:[A-Z][a-z]+ \d{1,2}, \d{4}|\d{4}-\d\d-\d\d)"


def cite_template(entry: str) -> str | None:
    """A citation template for an entry written the way CS1 renders one, else None."""
    m = re.match(r'^"(?P<title>[^"]+)"(?: \((?P<format>PDF)\))?\. (?P<rest>.*)$', entry)
    if not m:
        return None
    params = [f"title={m.group('title')}"]
    if m.group("format"):
        params.append("format=PDF")
    rest = m.group("rest")
    checks = [
        (rf"Retrieved ({_DATE})\.$", "access-date"),
        (rf"Archived from the original on ({_DATE})\.$", "archive-date"),
        (rf"({_DATE})\.$", "date"),
        (r"([^.]+(?:\.[a-z]+/?)?)\.$", "work"),
    ]
    found = {}
    for pattern, key in checks:
        mm = re.search(r"(?:^| )" + pattern, rest)
        if mm:
            found[key] = mm.group(1)
            rest = rest[: mm.start()].strip()
    if rest:
        return None
    if "archive-date" in found:
        params.append("archive-url=https://web.archive.org/web/2021/https://example.org/")
    order = ("work", "date", "archive-date", "access-date")
    params += [f"{k}={found[k]}" for k in order if k in found]
    kind = "cite news" if "date" in found else "cite web"
    return "{{" + kind + " |" + " |".join(params) + "}}"


LINKS = {"Thailand": "[[Thailand]]", "Vientiane": "[[Vientiane]]",
         "UN TIP Protocol": "[[Protocol to Prevent, Suppress and Punish Trafficking in Persons, "
                            "Especially Women and Children|UN TIP Protocol]]",
         '"Tier 3 Watchlist"': "\"''Tier 3 Watchlist''\"", "Lake Atlantis is": "'''Lake "
         "Atlantis''' is", "fish": "[[fish]]"}  # fmt: skip


def wikitext(src: dict) -> str:
    """The page's source: named refs reused, {{rp}}, citation templates, links and templates."""
    out = ["{{Short description|Overview of the topic}}", "{{Human trafficking sidebar}}"]
    defined: set[int] = set()
    linked: set[str] = set()
    for kind, text in src["body"]:
        if kind == "h":
            out.append(f"== {text} ==")
            continue
        parts = []
        for t in tokens(text):
            if t[0] == "text":
                s = t[1]
                for word, link in LINKS.items():
                    if word in s and word not in linked:
                        s = s.replace(word, link, 1)
                        linked.add(word)
                parts.append(s)
            elif t[0] == "ref":
                n, page = t[1], t[2]
                if n in defined:
                    parts.append(f'<ref name="r{n}" />')
                else:
                    defined.add(n)
                    entry = src["refs"][n]
                    if entry.startswith("United Nations Treaty Collection website"):
                        entry = entry.replace(
                            "United Nations Treaty Collection website",
                            "[https://treaties.un.org/ United Nations Treaty Collection website]",
                        )
                    parts.append(f'<ref name="r{n}">{cite_template(entry) or entry}</ref>')
                if page:
                    parts.append(f"{{{{rp|{page}}}}}")
            elif t[0] == "note":
                parts.append(f"{{{{efn|{src['notes'][t[1]]}}}}}")
            else:
                parts.append(f"{{{{{_MAINT[t[1]]}|date=May 2024}}}}")
        out.append("".join(parts))
    out += ["== See also ==", "* [[Human trafficking in Asia]]"]
    if src["notes"]:
        out += ["== Notes ==", "{{Notelist}}"]
    out += ["== References ==", "{{Reflist}}", "== External links ==",
            "* [https://www.unodc.org/ Country page at the UN Office on Drugs and Crime]",
            "{{Human trafficking in Asia}}", f"[[Category:{src['title']}]]",
            "[[Category:Human rights abuses]]"]  # fmt: skip
    return "\n\n".join(out) + "\n"


def markdown(src: dict) -> str:
    out = [f"# {src['title']}"]
    for kind, text in src["body"]:
        out.append(f"## {text}" if kind == "h" else text)
    if src["notes"]:
        out.append("## Notes")
        out.append("\n".join(f"{i}. ^ {v}" for i, v in enumerate(src["notes"].values(), 1)))
    out.append("## References")
    out.append("\n".join(f"{n}. {backlinks(src, n)} {e}" for n, e in src["refs"].items()))
    return "\n\n".join(out) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    laos = (ROOT / "corpus" / "human_trafficking_in_laos.txt").read_text(encoding="utf-8")
    laos = laos.replace("in 2018.[3] In 2023", "in 2018.[3]: 12 In 2023")
    lake = (HERE / "lake_atlantis.txt").read_text(encoding="utf-8")
    for stem, text in (("Human_trafficking_in_Laos", laos), ("Lake_Atlantis", lake)):
        src = read_source(text)
        forms = {
            ".browser.txt": browser_copy(src),
            ".browser_old_skin.txt": browser_copy(src, old_skin=True),
            ".mirror.txt": mirror(src),
            ".html": html_page(src),
            ".wiki": wikitext(src),
            ".md": markdown(src),
        }
        for suffix, content in forms.items():
            (OUT / f"{stem}{suffix}").write_text(content, encoding="utf-8")


if __name__ == "__main__":
    main()
