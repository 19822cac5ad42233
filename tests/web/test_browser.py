"""The web app in headless Chromium: ask, click an example, abstain, and show HTML as text."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers import free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
START_TIMEOUT = 240  # seconds: a cold start builds the index with the real model
WAIT_MS = 60_000  # for one answer to appear in the page
XSS = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`python app.py` over a copy of the corpus and a fresh index, on a free port."""
    base = tmp_path_factory.mktemp("browser")
    shutil.copytree(ROOT / "corpus", base / "corpus")
    port = free_port()
    env = {
        **os.environ,
        "CI": "1",
        "QA_CORPUS_DIR": str(base / "corpus"),
        "QA_INDEX_DIR": str(base / "index"),
    }
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "app.py", "--port", str(port)]
    log_path = base / "app.log"
    with running_server(argv, cwd=ROOT, env=env, url=url, log_path=log_path, timeout=START_TIMEOUT):
        yield url


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


def _ask(page, question: str) -> None:
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")


def _last_bot(page):
    return page.locator("#qa-chat .bot .message-content").last


def test_page_asks_quotes_abstains_and_escapes(app_url, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.set_default_timeout(WAIT_MS)
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(app_url, wait_until="load", timeout=WAIT_MS)
    expect(page.locator("#qa-question textarea")).to_be_editable()

    # A question the article answers: the verbatim quote, its [2] and the full reference.
    _ask(page, "Who runs the long-term shelter for victims?")
    bot = _last_bot(page)
    expect(bot).to_contain_text("Trafficking in Persons Report 2008")
    expect(bot.locator("blockquote").first).to_contain_text(
        "Victims not wanting to return home are referred to a long-term shelter run by the "
        "Lao Women’s Union or to a local NGO."
    )
    expect(bot.locator("blockquote").first).to_contain_text("[2]")
    expect(bot).to_contain_text("References")
    # The sources panel marks the quoted sentence inside its passage.
    expect(page.locator("#qa-sources mark").first).to_contain_text("long-term shelter")

    # An example question, by click.
    page.locator(".qa-example", has_text="How many trafficking cases").click()
    expect(page.locator("#qa-chat .user").last).to_contain_text("How many trafficking cases")
    expect(_last_bot(page)).to_contain_text("38 cases of trafficking")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshot.png"), full_page=True)

    # The passage in its context.
    page.get_by_role("tab", name="In context").click()
    expect(page.locator("#qa-context .qa-here")).to_contain_text("38 cases")

    # A question the article does not answer.
    _ask(page, "What is the capital of France?")
    expect(page.locator("#qa-chat .user").last).to_contain_text("capital of France")
    expect(_last_bot(page)).to_contain_text("The text does not say.")

    # HTML typed as a question is shown as text and never run.
    _ask(page, XSS)
    expect(page.locator("#qa-chat .user").last).to_have_text(XSS)
    expect(_last_bot(page)).to_contain_text("The text does not say.")
    page.wait_for_timeout(500)
    assert page.locator("#qa-chat img[src='x']").count() == 0
    assert dialogs == []

    # An empty question gets a prompt, not an error.
    _ask(page, "   ")
    expect(_last_bot(page)).to_contain_text("Type a question about the text")

    # Clear empties the conversation.
    page.locator("#qa-clear").click()
    expect(page.locator("#qa-chat .user")).to_have_count(0)

    # Rebuild from the Index tab (nothing changed: a quick rebuild that keeps serving).
    page.get_by_role("tab", name="Index").click()
    expect(page.locator("#qa-status")).to_contain_text("chunks")
    expect(page.locator("#qa-status")).to_contain_text("all-MiniLM-L6-v2")
    page.locator("#qa-rebuild").click()
    expect(page.get_by_text("Rebuilt: 1 document, nothing changed.")).to_be_visible()
    assert dialogs == []
    page.close()
