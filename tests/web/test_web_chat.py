"""The web chat keeps its promise, in headless Chromium at desktop and phone sizes: exact copy,
one conversation state, clickable citations, the newest answer shown from its start, resolved
markers, guarded rebuilds, export, feedback and shareable links (issue 13).

Screenshots go to artifacts/ (git-ignored), for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
import urllib.parse
from pathlib import Path

import pytest
from helpers import api_call, free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
START_TIMEOUT = 240  # seconds: a cold start builds the index with the real model
WAIT_MS = 60_000  # for one answer to appear in the page
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}
# answered with "A number of citizens, primarily women and girls, … in Laos." [7][8][9]
MANY_REFS_Q = "Which groups of people have been victims of sex trafficking in Laos?"
TIER_Q = "What tier was Laos placed in in 2023?"
NOT_FOUND_Q = "What is the capital of France?"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """`python app.py` over a copy of the corpus, feedback to a temporary file: a dict."""
    base = tmp_path_factory.mktemp("webchat")
    shutil.copytree(ROOT / "corpus", base / "corpus")
    port = free_port()
    feedback = base / "feedback" / "feedback.jsonl"
    resume = base / "resume"  # a rebuild waits at "locked" while this file is missing
    resume.touch()
    env = {
        **os.environ,
        "CI": "1",
        "QA_CORPUS_DIR": str(base / "corpus"),
        "QA_INDEX_DIR": str(base / "index"),
        "QA_FEEDBACK_FILE": str(feedback),
        "QA_TEST_PAUSE_AT": "locked",
        "QA_TEST_RESUME_FILE": str(resume),
    }
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "app.py", "--port", str(port)]
    with running_server(
        argv, cwd=ROOT, env=env, url=url, log_path=base / "app.log", timeout=START_TIMEOUT
    ):
        yield {"url": url, "feedback": feedback, "base": base, "resume": resume}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def open_page(browser, url: str, viewport=DESKTOP):
    ctx = browser.new_context(
        viewport=viewport,
        permissions=["clipboard-read", "clipboard-write"],
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
        accept_downloads=True,
    )
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url, wait_until="load", timeout=WAIT_MS)
    from playwright.sync_api import expect

    expect(page.locator("#qa-question textarea")).to_be_editable()
    return page


def ask(page, question: str):
    """Ask, wait for the reply; returns the newest bot message."""
    from playwright.sync_api import expect

    before = page.locator("#qa-chat .qa-turn").count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(page.locator("#qa-chat .qa-turn")).to_have_count(before + 1)
    page.wait_for_timeout(400)  # the scroll after the new reply
    return page.locator("#qa-chat .qa-turn").last.locator(".message.bot")


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def expected_quote_line(q: dict) -> str:
    """The quote and its markers as the article writes them: right after the last word."""
    missing = [r for r in q["refs"] if f"[{r}]" not in q["text"]]
    return q["text"] + "".join(f"[{r}]" for r in missing)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# ------------------------------------------------------------------------ 1. exact copy


def test_copy_puts_the_exact_quotes_and_references_on_the_clipboard(app, browser, article_text):
    ans = api_call(app["url"], "answer", MANY_REFS_Q, 5, None)
    refs = {r["number"]: r["text"] for r in ans["references"]}
    multi = next(q for q in ans["quotes"] if len(q["refs"]) > 1)  # "… in Laos." [7][8][9]
    page = open_page(browser, app["url"])
    bot = ask(page, MANY_REFS_Q)

    j = ans["quotes"].index(multi)
    block = bot.locator(".qa-quote-block").nth(j)
    block.get_by_role("button", name=f"Copy quote {j + 1} of answer 1", exact=True).click()
    assert clipboard(page) == expected_quote_line(multi)  # "… in Laos.[7][8][9]", as written
    block.get_by_role("button", name="with its references").click()
    got = clipboard(page)
    entries = "\n".join(f"[{n}] {refs[n]}" for n in multi["refs"])
    assert got == f"{expected_quote_line(multi)}\n\nReferences\n{entries}"
    assert multi["text"] in article_text and "\\" not in got and "**" not in got
    for n in multi["refs"]:
        assert refs[n] in article_text  # the entry as the source gives it

    bot.get_by_role("button", name="Copy answer 1", exact=True).click()
    lines = [expected_quote_line(q) for q in ans["quotes"]]
    entries = "\n".join(f"[{r['number']}] {r['text']}" for r in ans["references"])
    assert clipboard(page) == "\n".join(lines) + f"\n\nReferences\n{entries}"

    bot.get_by_role("button", name="Copy answer 1 as Markdown").click()
    md = clipboard(page)
    assert md.startswith("> " + expected_quote_line(ans["quotes"][0]))
    assert "\\[" not in md and f"- [{multi['refs'][0]}] " in md
    shot(page, "desktop-answer")
    page.context.close()


# -------------------------------------------------------------- 2. one conversation state


def test_clear_forgets_the_conversation_sources_and_context_together(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"])
    ask(page, TIER_Q)
    expect(page.locator("#qa-sources")).to_contain_text("Tier 2")
    page.locator("#qa-clear").click()
    expect(page.locator("#qa-chat .qa-turn")).to_have_count(0)
    expect(page.locator("#qa-sources")).to_contain_text("Ask a question")
    page.get_by_role("tab", name="In context").click()
    expect(page.locator("#qa-context")).to_contain_text("Click a quote or a source")
    page.get_by_role("tab", name="Sources").click()

    ask(page, "and how many arrests?")
    expect(page.locator("#qa-chat .user")).to_have_count(1)  # the old turns stay gone
    head = page.locator("#qa-sources .qa-sources-head")
    expect(head).to_contain_text("for and how many arrests?")
    expect(head).not_to_contain_text("Searched for")  # not read as a follow-up of TIER_Q
    page.context.close()


# ------------------------------------------------------------ 3. clickable citations


def test_quotes_refs_and_sources_open_what_they_cite(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"])
    bot = ask(page, "Who runs the long-term shelter for victims?")
    quote = bot.locator("blockquote.qa-quote").first
    sentence = "referred to a long-term shelter run by the Lao Women’s Union"
    quote.click()
    expect(page.get_by_role("tab", name="In context")).to_have_attribute("aria-selected", "true")
    target = page.locator("#qa-context mark.qa-target")
    expect(target).to_contain_text(sentence)
    expect(target).to_be_in_viewport()

    chip = quote.locator("button.qa-ref").first
    chip.click()
    pop = bot.locator(".qa-pop")
    expect(pop).to_contain_text("Trafficking in Persons Report 2008")
    expect(chip).to_have_attribute("aria-expanded", "true")
    chip.click()  # a second click closes it
    expect(pop).to_have_count(0)

    page.get_by_role("tab", name="Sources").click()
    card = page.locator("#qa-sources .qa-passage").nth(2)
    first_words = card.locator(".qa-text").inner_text()[:40]
    card.click()
    expect(page.get_by_role("tab", name="In context")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#qa-context .qa-here")).to_contain_text(first_words)
    page.context.close()


# ------------------------------------------------ 4. the newest answer from its start


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_newest_answer_is_shown_from_its_start(app, browser, viewport):
    page = open_page(browser, app["url"], viewport)
    for q in (MANY_REFS_Q, "Who mainly carries out human trafficking in Laos?", MANY_REFS_Q):
        bot = ask(page, q)
    box = bot.bounding_box()
    scroller = page.locator("#qa-chat .qa-scroll").bounding_box()
    assert box is not None and scroller is not None
    if viewport is DESKTOP:  # in its box; on a phone the page is the one scrolling surface
        assert scroller["y"] - 1 <= box["y"] <= scroller["y"] + scroller["height"] * 0.5
    assert 0 <= box["y"] <= viewport["height"] * 0.6, box
    # Nothing covers the first line of the answer.
    x, y = box["x"] + 30, box["y"] + 12
    covered = page.evaluate(
        "([x, y]) => !document.elementFromPoint(x, y).closest('#qa-chat .qa-turn:last-child')",
        [x, y],
    )
    assert not covered
    name = "desktop" if viewport is DESKTOP else "phone"
    shot(page, f"{name}-newest-answer")
    if viewport is PHONE:  # the sources are not far below the conversation
        gap = page.locator("#qa-tabs").bounding_box()["y"] - (scroller["y"] + scroller["height"])
        assert gap < 700, gap
        page.screenshot(path=str(ARTIFACTS / "phone-full.png"), full_page=True)
    page.context.close()


# ---------------------------------------------- 5. markers resolved, the same everywhere


def test_not_found_resolves_the_markers_of_the_closest_passages(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"])
    bot = ask(page, NOT_FOUND_Q)
    expect(bot).to_contain_text("The text does not say.")
    closest = bot.locator("blockquote.qa-quote")
    assert closest.count() >= 1
    texts = closest.all_inner_texts()
    chips = bot.locator("blockquote button.qa-ref")
    numbers = {int(n) for n in chips.evaluate_all("cs => cs.map(c => c.dataset.ref)")}
    # Every [n] in the quoted text is a button, with its entry in the References list.
    assert sum(len(re.findall(r"\[\d+\]", t)) for t in texts) == chips.count() > 0
    listed = bot.locator(".qa-refs li").evaluate_all("ls => ls.map(l => +l.dataset.ref)")
    assert numbers == set(listed)
    styles = chips.evaluate_all(
        "cs => cs.map(c => getComputedStyle(c).fontWeight + '/' + getComputedStyle(c).color)"
    )
    assert len(set(styles)) == 1, styles  # inner and trailing markers look the same
    page.context.close()


# ---------------------------------------------------------------------------- 6. rebuild


def test_rebuild_is_disabled_while_it_runs_and_limited(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"])
    page.get_by_role("tab", name="Index").click()
    button = page.locator("#qa-rebuild")
    assert "/" not in page.locator("#qa-status").inner_text().split("Index folder:")[-1]
    app["resume"].unlink()  # the rebuild holds at its first stage until told to go on
    try:
        button.dblclick()
        expect(button).to_be_disabled()
        expect(page.locator("#qa-rebuild-msg")).to_contain_text("Rebuilding")
        busy = api_call(app["url"], "rebuild")
        assert busy["ok"] is False and "already running" in busy["message"]
    finally:
        app["resume"].touch()
    expect(page.locator("#qa-rebuild-msg")).to_contain_text(
        "Rebuilt: 1 document, nothing changed.", timeout=180_000
    )
    expect(button).to_be_enabled()
    assert api_call(app["url"], "status")["rebuilds"] == 1  # the double click ran one
    button.click()
    expect(page.locator("#qa-rebuild-msg")).to_contain_text("try again in")
    refused = api_call(app["url"], "rebuild")
    assert refused["ok"] is False and "no corpus file has changed" in refused["message"]
    status = api_call(app["url"], "status")
    assert status["rebuilds"] == 1
    assert not status["corpus_dir"].startswith("/") and not status["index_dir"].startswith("/")
    page.context.close()


# ------------------------------------------------------------------ 7. export, 8. feedback


def test_export_downloads_every_quote_verbatim(app, browser):
    page = open_page(browser, app["url"])
    ask(page, MANY_REFS_Q)
    ask(page, NOT_FOUND_Q)
    ans = api_call(app["url"], "answer", MANY_REFS_Q, 5, None)
    for label, suffix in (("Save .txt", ".txt"), ("Save .md", ".md")):
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        download = info.value
        name = f"human-trafficking-in-laos-{dt.date.today().isoformat()}{suffix}"
        assert download.suggested_filename == name
        text = Path(download.path()).read_text(encoding="utf-8")
        for q in ans["quotes"]:
            assert expected_quote_line(q) in text
        for r in ans["references"]:
            assert f"[{r['number']}] {r['text']}" in text
        assert "The text does not say." in text and "\\[" not in text
    page.context.close()


def test_feedback_is_appended_to_the_local_file(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"])
    bot = ask(page, "Who runs the long-term shelter for victims?")
    bot.get_by_role("button", name="Good answer").click()
    expect(bot.locator(".qa-thanks")).to_contain_text("saved on this machine")
    bot.get_by_role("button", name="Bad answer").click()
    bot.get_by_role("button", name="missing part").click()
    version = api_call(app["url"], "status")["version"]
    page.wait_for_timeout(1500)
    entries = [json.loads(line) for line in app["feedback"].read_text().splitlines()]
    assert [(e["vote"], e["reason"]) for e in entries[-2:]] == [
        ("up", ""),
        ("down", "missing_part"),
    ]
    last = entries[-1]
    assert last["question"] == "Who runs the long-term shelter for victims?"
    assert last["index_version"] == version and last["answer"]["quotes"]
    page.context.close()


# -------------------------------------------------------------------- 9. shareable link


def test_a_shared_link_asks_its_question(app, browser):
    from playwright.sync_api import expect

    url = app["url"] + "?q=" + urllib.parse.quote(TIER_Q)
    page = open_page(browser, url, PHONE)
    expect(page.locator("#qa-chat .user")).to_have_text(TIER_Q)
    bot = page.locator("#qa-chat .message.bot").last
    expect(bot).to_contain_text("Tier 2")
    bot.get_by_role("button", name="Copy link").click()
    assert clipboard(page) == url
    shot(page, "phone-shared-link")
    page.context.close()


# ------------------------------------------------------------------ 10. smaller things


def test_phone_opens_at_the_title_and_the_limit_shows_before_asking(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"], PHONE)
    page.wait_for_timeout(500)
    assert page.evaluate("window.scrollY") == 0  # the title is not scrolled away on a phone
    expect(page.locator("#qa-header h1")).to_be_in_viewport()
    shot(page, "phone-open")
    box = page.get_by_role("textbox", name="Question")  # its accessible name, not "Textbox"
    box.fill("why " * 260)
    expect(page.locator("#qa-count")).to_contain_text("1039 / 1000 characters: 39 too many")
    page.context.close()


def test_k_changes_and_clamping_are_said_on_the_page(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"])
    expect(page.locator("#qa-statusline")).to_contain_text("Answers come from the index content")
    ask(page, TIER_Q)
    slider = page.locator("#qa-k input[type=number]")
    slider.fill("8")
    slider.press("Enter")
    note = page.locator("#qa-sources .qa-note")
    expect(note).to_contain_text("These are the passages for k = 5. Ask again to search 8.")
    slider.fill("99")
    slider.press("Tab")  # Gradio clamps 99 to 20: the page says so
    expect(page.locator("#qa-k-note")).to_have_text(
        "k goes from 1 to 20 in whole numbers: 99 became 20."
    )
    expect(note).to_contain_text("Ask again to search 20", timeout=20_000)
    ask(page, "Who runs the long-term shelter for victims?")  # the clamped k is the one used
    expect(page.locator("#qa-sources .qa-sources-head")).to_contain_text("20 passages")
    page.context.close()


def test_the_question_box_and_the_slider_show_keyboard_focus(app, browser):
    page = open_page(browser, app["url"])
    for selector in ("#qa-question textarea", "#qa-k input[type=range]"):
        page.locator(selector).focus()
        page.keyboard.press("Shift")  # a key press: focus is shown as for keyboard users
        style = page.evaluate(
            "s => { const c = getComputedStyle(document.querySelector(s));"
            " return [c.outlineStyle, c.outlineWidth]; }",
            selector,
        )
        assert style == ["solid", "3px"], (selector, style)
    page.context.close()
