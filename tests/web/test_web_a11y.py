"""The page as people really use it (issue 21), in headless Chromium at desktop (1280×800) and
phone (390×844) sizes: quotes copied as the source writes them, finger-sized controls and one
scrolling surface on a phone, a screen reader's live region, headings and names, axe-core,
links out from the references, the "Check a quote" verdicts, dated export names and the index
version on every page.

The corpus is the article's wikitext (tests/data/forms), whose reference [1] carries the
address of its source. Screenshots go to artifacts/ (git-ignored), for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from helpers import api_call, free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "tests" / "data" / "forms"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
START_TIMEOUT = 240  # seconds: a cold start builds the index with the real model
WAIT_MS = 60_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
RATIFY_Q = "When did Laos ratify the UN TIP Protocol?"
RATIFY = "Laos ratified the 2000 UN TIP Protocol in September 2003.[1]"
TREATIES = "https://treaties.un.org/"
SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """`python app.py` over the article's wikitext, feedback on: a dict."""
    base = tmp_path_factory.mktemp("a11y")
    (base / "corpus").mkdir()
    shutil.copy(FORMS / "Human_trafficking_in_Laos.wiki", base / "corpus")
    port = free_port()
    env = {
        **os.environ,
        "CI": "1",
        "QA_CORPUS_DIR": str(base / "corpus"),
        "QA_INDEX_DIR": str(base / "index"),
        "QA_FEEDBACK_FILE": str(base / "feedback.jsonl"),
        "QA_REBUILD_INTERVAL": "0",
    }
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "app.py", "--port", str(port)]
    with running_server(
        argv, cwd=ROOT, env=env, url=url, log_path=base / "app.log", timeout=START_TIMEOUT
    ):
        yield {"url": url, "base": base}


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
    from playwright.sync_api import expect

    phone = viewport is PHONE
    ctx = browser.new_context(
        viewport=viewport,
        permissions=["clipboard-read", "clipboard-write"],
        is_mobile=phone,
        has_touch=phone,
        accept_downloads=True,
    )
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url, wait_until="load", timeout=WAIT_MS)
    expect(page.locator("#qa-question textarea")).to_be_editable()
    return page


def ask(page, question: str):
    from playwright.sync_api import expect

    before = page.locator("#qa-chat .qa-turn").count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(page.locator("#qa-chat .qa-turn")).to_have_count(before + 1)
    page.wait_for_timeout(400)  # the scroll after the new reply
    return page.locator("#qa-chat .qa-turn").nth(before)


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def shot(page, name: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is (axe.min.js ships with
    axe-playwright-python: nothing is fetched)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]} {v['nodes'][0]['failureSummary']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


# ------------------------------------------------------------------------- 3. as written


def test_copies_give_the_quote_as_the_source_writes_it(app, browser):
    page = open_page(browser, app["url"])
    turn = ask(page, RATIFY_Q)
    quote = turn.locator(".qa-quote-block").first
    assert quote.locator("blockquote").inner_text() == RATIFY  # shown as written, too
    page.get_by_role("button", name="Copy quote 1 of answer 1", exact=True).click()
    assert clipboard(page) == RATIFY  # the quote and its marker, no References block
    page.get_by_role("button", name="Copy quote 1 of answer 1 with its references").click()
    with_refs = clipboard(page)
    assert with_refs.startswith(f"{RATIFY}\n\nReferences\n[1] United Nations Treaty Collection")
    page.get_by_role("button", name="Copy quote 1 of answer 1 as Markdown").click()
    assert clipboard(page) == f"> {RATIFY}"
    page.get_by_role("button", name="Copy answer 1", exact=True).click()
    assert clipboard(page).startswith(RATIFY + "\n")
    page.get_by_role("button", name="Copy answer 1 as Markdown").click()
    assert clipboard(page).startswith(f"> {RATIFY}\n")

    # 12. the export files carry the article's name and the date, and the quote as written
    today = dt.date.today().isoformat()
    for name, suffix in (("Markdown", ".md"), ("text", ".txt")):
        with page.expect_download() as info:
            page.get_by_role("button", name=f"Save {suffix}: the conversation as {name}").click()
        download = info.value
        assert download.suggested_filename == f"human-trafficking-in-laos-{today}{suffix}"
        text = Path(download.path()).read_text(encoding="utf-8")
        assert RATIFY in text and "2003. [1]" not in text
    page.context.close()


# --------------------------------------------------------------------- 5. a phone's size


_CONTROLS = """() => [...document.querySelectorAll(
    'button, a[href], input, textarea, select, [role=button], [role=tab]')]
  .filter((el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })
          && el.type !== 'range' && !el.closest('.qa-sr'))
  .map((el) => { const r = el.getBoundingClientRect();
    return [el.id || el.className.toString().slice(0, 30),
            el.getAttribute('aria-label') || el.textContent.trim().slice(0, 30),
            Math.round(r.width), Math.round(r.height)]; })
  .filter(([, , w, h]) => w > 2 && h > 2)"""  # Gradio keeps 1 px copies of its tabs to measure


def test_phone_controls_fit_a_finger_and_the_page_is_the_one_scrolling_surface(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"], PHONE)
    for tab in ("Sources", "In context", "Index", "Check a quote"):  # none in an overflow menu
        expect(page.get_by_role("tab", name=tab)).to_be_visible()
    # the placeholder is not cut: its text fits the box
    fits = page.evaluate(
        """() => { const box = document.querySelector('#qa-question textarea');
        const s = getComputedStyle(box);
        const c = document.createElement('canvas').getContext('2d');
        c.font = `${s.fontSize} ${s.fontFamily}`;
        const room = box.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        return [c.measureText(box.placeholder).width, room]; }"""
    )
    assert fits[0] <= fits[1], fits
    for q in (RATIFY_Q, "Who runs the long-term shelter for victims?", RATIFY_Q):
        turn = ask(page, q)
    small = [c for c in page.evaluate(_CONTROLS) if c[2] < 24 or c[3] < 24]
    assert small == [], small
    main = (
        "#qa-question textarea, #qa-ask, #qa-clear, .qa-example, #qa-tabs [role=tab], "
        "#qa-chat button:not(.qa-ref)"
    )
    heights = page.locator(main).evaluate_all(
        "els => els.filter(e => e.checkVisibility()).map(e => [e.textContent.trim().slice(0, 20),"
        " e.getBoundingClientRect().height])"
    )
    assert len(heights) > 20 and [h for h in heights if h[1] < 44] == []
    # one scrolling surface: the conversation grows with the page, no box scrolls inside it
    scroller = page.locator("#qa-chat .qa-scroll")
    assert scroller.evaluate("e => e.scrollHeight <= e.clientHeight + 1")
    top = turn.locator(".message.bot").bounding_box()
    assert top is not None and 0 <= top["y"] <= PHONE["height"] * 0.6  # the newest answer shows
    shot(page, "phone-answers")
    # tapping a quote shows it in its context where the person is looking
    turn.locator("blockquote.qa-quote").first.tap()
    target = page.locator("#qa-context mark.qa-target")
    expect(target).to_contain_text("September 2003")
    expect(target).to_be_in_viewport()
    shot(page, "phone-quote-in-context")
    page.context.close()


# ------------------------------------------------------------------ 6. accessibility


@SIZES
def test_axe_finds_nothing_serious_and_a_screen_reader_hears_each_answer(app, browser, viewport):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"], viewport)
    name = "desktop" if viewport is DESKTOP else "phone"
    page.wait_for_timeout(500)
    assert serious(page) == []  # the empty page
    turn = ask(page, RATIFY_Q)
    expect(page.locator("#qa-announce")).to_have_text(f"Answer 1: {RATIFY}")
    ask(page, "What is the capital of France?")
    expect(page.locator("#qa-announce")).to_contain_text("Answer 2: The text does not say.")
    assert page.locator("#qa-chat h2").count() == 2  # a heading per turn
    expect(
        page.get_by_role("heading", name="Question 2: What is the capital of France?")
    ).to_be_attached()
    chip = turn.locator("blockquote button.qa-ref").first
    expect(chip).to_have_attribute("aria-expanded", "false")
    chip.click()
    expect(chip).to_have_attribute("aria-expanded", "true")
    assert serious(page) == []  # answers, a reference open
    shot(page, f"{name}-a11y-answer")
    page.keyboard.press("Escape")
    expect(chip).to_have_attribute("aria-expanded", "false")
    expect(turn.locator(".qa-pop")).to_have_count(0)
    for tab in ("In context", "Index", "Check a quote", "Sources"):
        page.get_by_role("tab", name=tab).click()
        if tab == "Check a quote":
            page.locator("#qa-check-text textarea").fill("Laos ratified it in October 2003.")
            page.locator("#qa-check").click()
            expect(page.locator("#qa-check-result")).to_contain_text("Not in the text.")
        page.wait_for_timeout(300)
        assert serious(page) == [], tab  # each side panel open
    page.context.close()


# --------------------------------------------------------------- 8. references link out


def test_reference_entries_link_to_their_source_in_a_new_tab(app, browser):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"])
    turn = ask(page, RATIFY_Q)
    link = turn.locator(f'.qa-refs a[href="{TREATIES}"]')
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert turn.locator(".qa-refs a").count() == 1  # "crsreports.congress.gov/" is no link
    turn.locator("blockquote button.qa-ref").first.click()
    pop = turn.locator(".qa-pop")
    expect(pop).to_contain_text("United Nations Treaty Collection")
    expect(pop.locator(f'a[href="{TREATIES}"]')).to_have_attribute("rel", "noopener noreferrer")
    shot(page, "desktop-reference-link")
    page.context.close()


# --------------------------------------------------------------------- 9. check a quote


@SIZES
def test_check_a_quote_says_its_verdict_in_words_and_colour(app, browser, viewport):
    from playwright.sync_api import expect

    page = open_page(browser, app["url"], viewport)
    page.get_by_role("tab", name="Check a quote").click()
    box, out = page.locator("#qa-check-text textarea"), page.locator("#qa-check-result")
    colours = {}
    for text, words in (
        (RATIFY, "Verbatim, with the source's references."),
        (RATIFY.replace("[1]", " [2]"), "Verbatim, but with the wrong references."),
        (RATIFY.replace("September", "October"), "Not in the text."),
    ):
        box.fill(text)
        page.locator("#qa-check").click()
        verdict = out.locator(".qa-check-verdict")
        expect(verdict).to_have_text(words)
        colours[words] = verdict.evaluate("e => getComputedStyle(e).backgroundColor")
    assert len(set(colours.values())) == 3, colours
    expect(out.locator("blockquote del")).to_have_text("September")
    expect(out.locator("blockquote ins")).to_have_text("October")
    assert "characters" not in out.inner_text() and "[-" not in out.inner_text()
    shot(page, f"{'desktop' if viewport is DESKTOP else 'phone'}-check-a-quote")
    page.context.close()


# ---------------------------------------------------------------------- 7. index version


def test_every_page_shows_the_version_it_answers_from(app, browser):
    from playwright.sync_api import expect

    before = api_call(app["url"], "status")["version"]
    opened = open_page(browser, app["url"])
    line = opened.locator("#qa-statusline")
    expect(line).to_contain_text(f"Answers come from the index {before}")
    assert api_call(app["url"], "rebuild")["ok"]  # nothing changed: the version stays
    assert api_call(app["url"], "status")["version"] == before
    wiki = app["base"] / "corpus" / "Human_trafficking_in_Laos.wiki"
    text = wiki.read_text(encoding="utf-8")
    wiki.write_text(text.replace("in September 2003.", "in September 2003. Okapi.", 1), "utf-8")
    assert api_call(app["url"], "rebuild")["ok"]
    after = api_call(app["url"], "status")["version"]
    assert after != before
    expect(line).to_contain_text(after, timeout=30_000)  # the page opened before updates
    later = open_page(browser, app["url"])
    expect(later.locator("#qa-statusline")).to_contain_text(after)  # and one opened later
    later.get_by_role("tab", name="Index").click()
    expect(later.locator("#qa-status")).to_contain_text(after)
    assert re.search(r"content [0-9a-f]{12}", after)
    opened.context.close()
    later.context.close()
