"""The web UI end to end in headless Chromium, against `python app.py` in a subprocess.

The app runs on a free loopback port over its own small store (the seed article plus a note
written here). Highlights are compared *exactly*: the panel keeps the document's whitespace
(``white-space: pre-wrap``) and the test reads the mark's ``textContent``, so a quote that
spans a line break must match with its newline. Screenshots go to artifacts/screenshots/.

Needs /usr/bin/chromium: run scripts/install_browser.sh (CI does).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "seed-article.txt"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAPTOP = {"width": 1366, "height": 768}
DESKTOP = {"width": 1920, "height": 1080}
QUOTED_TITLE = (
    "quoted verbatim: the sentence is its source, word for word, and the file still holds it at the cited "
    "characters (checked now)"
)
START_TIMEOUT = 180

# The pier sentence is hard-wrapped on purpose: its quote contains a newline.
NOTE = """Title: Vellmouth harbour notes (test fixture)
Source: written for the rag UI tests
Licence: CC0-1.0
-----
Edda Quill is the harbour master of Vellmouth.
Harbour master Edda Quill warned that the old pier
would collapse in the next winter storm.
The Vellmouth lighthouse keeper logs the weather every four hours.
"""
PIER = "Harbour master Edda Quill warned that the old pier\nwould collapse in the next winter storm."
UPLOAD = """# Brambleford orchard report

The Brambleford orchard harvested 412 crates of quince in 2023.
Most of the quince went to the jam kitchen in Lowmere.
"""


@dataclass
class Served:
    url: str
    folder: Path
    startup_seconds: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "GRADIO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    pytest.fail(f"app.py did not answer on {url} within {START_TIMEOUT} s:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def serving(folder: Path, documents):
    """Ingest ``documents`` into a store in ``folder`` and serve app.py on it; yields (its URL,
    when the app was started). After the block the app is stopped and its log holds no traceback."""
    store = folder / "store"
    env = _clean_env()
    built = subprocess.run(
        [sys.executable, "-m", "rag.shells.cli", "ingest", *map(str, documents), "--store", str(store)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr
    log = folder / "app.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--store", str(store)],
            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        yield url, started
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui")
    note = folder / "vellmouth.txt"
    note.write_text(NOTE, encoding="utf-8")
    with serving(folder, [SEED, note]) as (url, started):
        yield Served(url, folder, time.monotonic() - started)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install it with: scripts/install_browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, served):
    """A fresh page on the app; fails the test if anything outside the app's origin is requested."""
    context = browser.new_context(viewport=LAPTOP)
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(served.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(served.url)
    tab.wait_for_selector("#rag-question textarea")
    yield tab
    context.close()
    assert outside == [], f"requests left the machine: {outside}"


def shot(tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def answers(tab):
    return tab.locator("#rag-chat .rag-answer, #rag-chat .rag-error")


def ask(tab, question: str):
    """Type a question, press Enter, return the new answer's locator."""
    before = answers(tab).count()
    tab.fill("#rag-question textarea", question)
    tab.press("#rag-question textarea", "Enter")
    tab.wait_for_function(
        "n => document.querySelectorAll('#rag-chat .rag-answer, #rag-chat .rag-error').length > n", arg=before
    )
    return answers(tab).nth(before)


def open_link(tab, link) -> str:
    """Click a citation/evidence link; return the highlighted text once the panel shows it."""
    before = tab.inner_html("#rag-panel")
    link.click()
    tab.wait_for_function(
        "old => { const p = document.querySelector('#rag-panel'); return p.innerHTML !== old && p.querySelector('#rag-hit'); }",
        arg=before,
    )
    return tab.eval_on_selector("#rag-panel #rag-hit", "mark => mark.textContent")


def mark_is_in_view(tab) -> bool:
    return tab.eval_on_selector(
        "#rag-panel #rag-hit",
        """mark => { const body = mark.closest('.rag-doc-body').getBoundingClientRect();
                     const box = mark.getBoundingClientRect();
                     return box.top >= body.top - 1 && box.top < body.bottom && box.bottom <= window.innerHeight; }""",
    )


def test_citation_opens_its_sentence_highlighted(page, served):
    from gradio_client import Client

    question = "What did Pistorius warn about?"
    expected = json.loads(Client(served.url, verbose=False).predict(question, api_name="/ask"))
    assert not expected["abstained"] and expected["citations"]
    first = expected["citations"][0]

    answer = ask(page, question)
    text = answer.inner_text()
    assert "[1]" in text and "He warned that guarantees" in text
    assert answer.locator(".rag-quoted-mark").first.get_attribute("title") == QUOTED_TITLE
    listed = answer.locator(".rag-cites li")
    assert listed.count() == len(expected["citations"])
    # The extractive answer says the quote itself: the list names its source instead of repeating it.
    assert " ".join(first["quote"].split()) in " ".join(text.split())
    assert "quoted in the answer" in listed.first.inner_text()
    assert first["title"] in listed.first.inner_text()

    highlighted = open_link(page, answer.locator(".rag-text a.rag-cite").first)
    assert highlighted == first["quote"]  # exact: the panel keeps the document's whitespace
    assert highlighted == SEED.read_text(encoding="utf-8")[first["start"] : first["end"]]
    panel = page.text_content("#rag-panel")
    assert "Ukraine signals readiness to drop NATO bid" in panel
    assert "project seed article (shared/seed/article.txt)" in panel  # Source: from the header
    assert "provided to the project as its seed document" in panel  # Licence: from the header
    assert mark_is_in_view(page)
    shot(page, "chat-citation-1366x768")
    page.set_viewport_size(DESKTOP)
    page.wait_for_timeout(300)
    assert mark_is_in_view(page)
    shot(page, "chat-citation-1920x1080")


def test_follow_up_questions_use_the_conversation(page):
    ask(page, "Who is Boris Pistorius?")
    follow_up = ask(page, "What did he warn about?")
    assert "He warned that guarantees without strong U.S. participation" in follow_up.inner_text()
    shot(page, "chat-follow-up-1366x768")

    page.click("#rag-clear")
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-answer')")
    assert "Click a citation" in page.text_content("#rag-panel")  # the panel says what it is for

    # The examples are back in the empty chat; one click asks.
    page.get_by_role("button", name="What did Pistorius warn about?").click()
    page.wait_for_selector("#rag-chat .rag-answer")
    page.click("#rag-clear")
    page.wait_for_function("() => !document.querySelector('#rag-chat .rag-answer')")

    ask(page, "Who is Edda Quill?")
    follow_up = ask(page, "What did she warn about?")
    assert "old pier would collapse" in follow_up.inner_text()
    highlighted = open_link(page, follow_up.locator(".rag-text a.rag-cite").first)
    assert highlighted == PIER  # the line break inside the sentence is kept
    assert "CC0-1.0" in page.text_content("#rag-panel")


def test_short_answer_is_shown_first_and_highlighted_inside_its_sentence(page, served):
    from gradio_client import Client

    question = "How long did the Berlin talks last?"
    expected = json.loads(Client(served.url, verbose=False).predict(question, api_name="/ask"))
    short = expected["short_answer"]
    assert short is not None and "five hours" in short["text"]
    answer = ask(page, question)
    assert answer.locator(".rag-short-text").inner_text() == " ".join(short["text"].split())
    text = answer.inner_text()
    assert text.index(answer.locator(".rag-short-text").inner_text()) < text.index("[1]")
    open_link(page, answer.locator(".rag-short a.rag-cite"))
    span = page.eval_on_selector("#rag-panel mark.rag-answer-span", "mark => mark.textContent")
    file_text = Path(short["path"]).read_text(encoding="utf-8")
    assert span == short["text"] == file_text[short["start"] : short["end"]]
    sentence = page.eval_on_selector("#rag-panel #rag-hit", "mark => mark.textContent")
    citation = next(c for c in expected["citations"] if c["label"] == short["label"])
    assert sentence == file_text[citation["start"] : citation["end"]] and span in sentence
    shot(page, "chat-short-answer-1366x768")
    page.set_viewport_size(DESKTOP)
    page.wait_for_timeout(300)
    shot(page, "chat-short-answer-1920x1080")


def test_strong_and_partial_answers_carry_different_marks(page, served):
    from gradio_client import Client

    client = Client(served.url, verbose=False)
    strong_question, partial_question = "How long did the Berlin talks last?", "How often does the harbour master inspect the pier?"
    assert not json.loads(client.predict(strong_question, api_name="/ask"))["partial"]
    partial = json.loads(client.predict(partial_question, api_name="/ask"))
    assert partial["partial"] and not partial["abstained"], partial
    strong_answer = ask(page, strong_question)
    partial_answer = ask(page, partial_question)
    assert strong_answer.locator(".rag-strong").count() >= 1 and strong_answer.locator(".rag-partial").count() == 0
    assert partial_answer.locator(".rag-partial").count() >= 1 and partial_answer.locator(".rag-strong").count() == 0
    assert "The closest the documents come:" in partial_answer.inner_text()
    assert "The closest the documents come" not in strong_answer.inner_text()
    assert "answers the question" in strong_answer.locator(".rag-strong").first.get_attribute("title")
    shot(page, "chat-strong-and-partial-1366x768")


def test_copy_answer_gives_markdown_with_footnotes(page, served):
    from gradio_client import Client

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url.rstrip("/"))
    question = "What did Pistorius warn about?"
    expected = json.loads(Client(served.url, verbose=False).predict(question, api_name="/ask"))
    answer = ask(page, question)
    answer.locator("a.rag-copy").click()
    page.wait_for_function("() => document.querySelector('a.rag-copy').textContent === 'Copied'")
    markdown = page.evaluate("() => navigator.clipboard.readText()")
    first = expected["citations"][0]
    assert "He warned that guarantees without strong U.S. participation" in markdown
    assert "[^1]" in markdown.split("\n\n")[-2]  # the sentence carries its footnote marker
    footnote = f"[^1]: {first['title']}, `{first['path']}`, characters {first['start']}–{first['end']}: “"
    assert footnote in markdown
    assert " ".join(first["quote"].split()) in markdown


def test_a_follow_up_that_changes_the_subject_is_answered_about_the_new_one(page):
    ask(page, "Who is Edda Quill?")
    follow_up = ask(page, "What about the Vellmouth lighthouse keeper?")
    text = follow_up.inner_text()
    assert "lighthouse keeper logs the weather" in text
    assert "Edda Quill" not in follow_up.locator(".rag-text").inner_text()
    shot(page, "chat-subject-change-1366x768")


def test_abstention_offers_closest_evidence(page):
    answer = ask(page, "What is the airspeed of an unladen swallow?")
    text = answer.text_content()  # (inner_text would apply the headings' text-transform)
    assert text.startswith("The documents do not say.")
    assert "Closest evidence (not an answer)" in text
    assert answer.locator("a.rag-cite").count() == 0
    evidence = answer.locator("a.rag-ev")
    assert 1 <= evidence.count() <= 3
    highlighted = open_link(page, evidence.first)
    assert " ".join(highlighted.split()) in " ".join(evidence.first.inner_text().split())
    assert "Closest evidence 1 (not an answer)" in page.text_content("#rag-panel")
    shot(page, "chat-abstention-1366x768")


def test_upload_a_file_then_ask_about_it(page, served):
    good = served.folder / "orchard.md"
    good.write_text(UPLOAD, encoding="utf-8")
    bad = served.folder / "broken.txt"
    bad.write_bytes(b"\xff\xfe\x00\x00not utf-8")

    page.get_by_role("tab", name="Corpus").click()
    page.wait_for_selector("#rag-corpus-info .rag-summary")
    assert "2 documents" in page.text_content("#rag-corpus-info")
    assert "Vellmouth harbour notes (test fixture)" in page.inner_text("#rag-sources")

    page.set_input_files("#rag-upload input[type=file]", [str(good), str(bad)])
    page.wait_for_selector("#rag-corpus-info .rag-report")
    report = page.text_content("#rag-corpus-info")
    assert "Added orchard.md" in report
    assert "Not added: broken.txt: UTF-16 text; convert it" in report
    assert "3 documents" in report
    page.wait_for_function("() => document.querySelector('#rag-sources').innerText.includes('Brambleford orchard report')")
    shot(page, "corpus-upload-1366x768")
    page.set_viewport_size(DESKTOP)
    shot(page, "corpus-upload-1920x1080")
    page.set_viewport_size(LAPTOP)

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "How many crates of quince did the Brambleford orchard harvest?")
    assert "412 crates of quince" in answer.inner_text()
    highlighted = open_link(page, answer.locator(".rag-text a.rag-cite").first)
    assert highlighted == "The Brambleford orchard harvested 412 crates of quince in 2023."
    assert "Brambleford orchard report" in page.text_content("#rag-panel")
    shot(page, "chat-uploaded-1366x768")


def test_app_started_in_seconds_on_an_existing_store(served):
    assert served.startup_seconds < 60, f"app.py took {served.startup_seconds:.0f} s to answer"
