"""A PDF citation in the web UI, in headless Chromium: the source panel shows the cited page
as an image with the sentence's boxes over it (the Costco release of ../shared/pdfs, 4 pages,
the answer on page 2). Needs /usr/bin/chromium (scripts/install_browser.sh)."""

import time

import pytest
from conftest import SHARED
from test_browser import (  # noqa: F401  (browser: the shared Chromium fixture)
    LAPTOP,
    ask,
    browser,
    serving,
    shot,
)

pytestmark = pytest.mark.browser

COSTCO = SHARED / "pdfs" / "COSTCO_2023Q1_EARNINGS.pdf"
INTEL = SHARED / "pdfs" / "INTEL_2022Q4_EARNINGS.pdf"


@pytest.fixture(scope="module")
def served_pdf(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("ui-pdf"), [COSTCO, INTEL]) as (url, _):
        yield url


def test_pdf_citation_opens_its_page_with_the_sentence_boxed(browser, served_pdf):  # noqa: F811
    context = browser.new_context(viewport=LAPTOP)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(served_pdf)
    tab.wait_for_selector("#rag-question textarea")
    # Ask within the Costco release only (the Intel release is indexed too).
    tab.click("#rag-documents input")
    tab.get_by_role("option", name="COSTCO_2023Q1_EARNINGS.pdf").first.click()
    tab.keyboard.press("Escape")
    assert "COSTCO_2023Q1_EARNINGS.pdf" in tab.text_content("#rag-documents")
    answer = ask(tab, "How many warehouses does Costco operate?")
    assert "847 warehouses" in answer.inner_text()
    assert "p. 2" in answer.locator(".rag-cites li").first.inner_text()
    assert "Intel" not in answer.locator(".rag-cites").inner_text()

    started = time.monotonic()
    answer.locator(".rag-text a.rag-cite").first.click()
    tab.wait_for_selector("#rag-panel .rag-page img")
    image = tab.locator("#rag-panel .rag-page img")
    assert image.get_attribute("src").startswith("data:image/png;base64,")
    assert tab.locator("#rag-panel .rag-page").get_attribute("data-page") == "2"
    assert image.evaluate("img => img.complete && img.naturalWidth > 500")
    marks = tab.locator("#rag-panel mark.rag-page-hit")
    assert marks.count() == 3  # the sentence runs over three lines of the page
    page_box = tab.locator("#rag-panel .rag-page").bounding_box()
    first = marks.first.bounding_box()
    assert first["width"] > 0.5 * page_box["width"] and 0 < first["height"] < 0.05 * page_box["height"]
    assert page_box["y"] < first["y"] < page_box["y"] + 0.4 * page_box["height"]  # the top part of page 2
    assert "847 warehouses" in tab.text_content("#rag-panel .rag-page-quote")
    assert "Page2of4" in tab.text_content("#rag-panel .rag-doc-meta").replace(" ", "")
    assert time.monotonic() - started < 60
    shot(tab, "chat-pdf-page-1366x768")
    context.close()
