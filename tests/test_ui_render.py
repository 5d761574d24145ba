"""The web UI's HTML: exact highlight offsets, escaping, citation links, abstentions."""

import html
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from rag.shells.web import render as ui_render
from rag.ask.types import Answer, AnswerSentence, Citation, Hit, ShortAnswer
from rag.types import Document, IngestReport, Sentence, SkippedFile, SourceInfo

HEADER = "Title: Risky <b>markup</b> & more\nSource: https://example.org/a?b=1&c=2\nLicence: CC0-1.0\n-----\n"
BODY = 'First line with <tags> & "quotes".\nThe cited\nsentence has <em>fake</em> & real text.\nLast line </mark> here.\n'
TEXT = HEADER + BODY
CITED = 'The cited\nsentence has <em>fake</em> & real text.'
START = TEXT.index(CITED)
END = START + len(CITED)


def make_document(text: str = TEXT) -> Document:
    return Document(
        doc_id="d1",
        path="/data/docs/risky.txt",
        title="Risky <b>markup</b> & more",
        text=text,
        content_hash="h",
        body_start=len(HEADER),
        source="https://example.org/a?b=1&c=2",
        licence="CC0-1.0",
    )


def make_citation(label: int = 1, quote: str = CITED, start: int = START, end: int = END, **extra) -> Citation:
    return Citation(
        label=label, sentence_id=f"s{label}", doc_id="d1", path="/data/docs/risky.txt",
        title="Risky <b>markup</b> & more", start=start, end=end, quote=quote, verified=True, **extra,
    )


def make_answer(citations=None, sentences=None) -> Answer:
    citations = citations or (make_citation(),)
    sentences = sentences or (AnswerSentence(text="A <script>alert(1)</script> claim.", citations=(1,), supported=True),)
    return Answer(question="q?", answer="A claim. [1]", abstained=False, sentences=sentences, citations=citations)


def make_hit(index: int, text: str, title: str = "Doc <i>T</i>") -> Hit:
    sentence = Sentence(sentence_id=f"s{index}", doc_id="d1", index=index, start=0, end=len(text), text=text)
    return Hit(sentence=sentence, score=1.0, title=title, path="/p")


class _Collector(HTMLParser):
    """Collects the text inside the element with a given id, and the text before/after it."""

    def __init__(self, element_id: str):
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0
        self.inside = ""
        self.found = 0
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id") == self.element_id:
            self.found += 1
            self.depth = 1
        elif self.depth:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.inside += data


def parse(html_text: str, element_id: str = ui_render.MARK_ID) -> _Collector:
    collector = _Collector(element_id)
    collector.feed(html_text)
    collector.close()
    return collector


def body_text(html_text: str) -> str:
    """The text content of the document body div."""
    start = html_text.index('<div class="rag-doc-body">')
    texts = []

    class Body(HTMLParser):
        def handle_data(self, data):
            texts.append(data)

    body = Body(convert_charrefs=True)
    body.feed(html_text[start:])
    body.close()
    return "".join(texts)


def test_document_mark_covers_exactly_the_cited_offsets():
    page = ui_render.render_document(make_document(), START, END, heading="[1] cited", quote=CITED)
    parsed = parse(page)
    assert parsed.found == 1
    assert parsed.inside == TEXT[START:END] == CITED
    # Before and after are rendered verbatim too (escaped separately), from the body start.
    assert body_text(page) == BODY
    assert "rag-warning" not in page


def test_document_parts_are_escaped_separately():
    page = ui_render.render_document(make_document(), START, END, heading="<h>", quote=CITED)
    assert "<tags>" not in page and "&lt;tags&gt;" in page
    assert "<em>" not in page and "&lt;em&gt;fake&lt;/em&gt;" in page
    assert page.count("</mark>") == 1  # the literal "</mark>" in the text is escaped
    assert "<b>markup</b>" not in page and "Risky &lt;b&gt;markup&lt;/b&gt; &amp; more" in page
    assert "&lt;h&gt;" in page


def test_document_header_fields_shown_and_header_block_not_repeated():
    page = ui_render.render_document(make_document(), START, END, heading="h")
    assert "<dt>Source</dt><dd>https://example.org/a?b=1&amp;c=2</dd>" in page
    assert "<dt>Licence</dt><dd>CC0-1.0</dd>" in page
    assert "<dt>File</dt><dd>risky.txt</dd>" in page
    assert "-----" not in body_text(page)


def test_document_span_inside_header_renders_whole_text():
    page = ui_render.render_document(make_document(), 0, 5, heading="h")
    assert parse(page).inside == "Title"
    assert body_text(page) == TEXT


def test_document_changed_since_answer_is_flagged_not_searched():
    page = ui_render.render_document(make_document(), START, END, heading="h", quote="something else")
    assert "rag-warning" in page
    assert parse(page).inside == CITED  # still the offsets, never a search for the quote


@pytest.mark.parametrize("start,end", [(-1, 3), (5, 4), (0, len(TEXT) + 1)])
def test_document_offsets_outside_text_give_a_message(start, end):
    page = ui_render.render_document(make_document(), start, end, heading="h")
    assert ui_render.MARK_ID not in page
    assert "outside" in page and "re-ingest" in page


def test_answer_has_clickable_markers_and_marks_that_were_earned():
    answer = make_answer()
    page = ui_render.render_answer(answer, turn=3, max_sources=3)
    parsed = parse(page, "none")
    links = [a for tag, a in parsed.tags if tag == "a" and "rag-cite" in a.get("class", "")]
    assert [a["href"] for a in links] == ["#rag-cite-3-1", "#rag-cite-3-1"]  # in the sentence and in the list
    checked = [a for tag, a in parsed.tags if "rag-checked" in a.get("class", "")]
    assert len(checked) == 1 and checked[0]["title"] == ui_render.CHECKED_TITLE  # supported, not verbatim
    assert "rag-quoted-mark" not in page and "rag-strong" not in page and "rag-partial" not in page  # not earned
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Cited sentences" in page
    assert "“The cited sentence has &lt;em&gt;fake&lt;/em&gt; &amp; real text.”" in page  # whitespace collapsed


def test_strong_and_partial_answers_carry_different_marks_and_words():
    def answer_with(score: float, strength: str, partial: bool) -> str:
        sentence = AnswerSentence(
            text=CITED, citations=(1,), supported=True, reason="verbatim", score=score, strength=strength
        )
        return ui_render.render_answer(
            replace(make_answer(sentences=(sentence,)), partial=partial), turn=0, max_sources=3
        )

    strong, partial = answer_with(0.97, "strong", False), answer_with(0.41, "partial", True)
    assert 'class="rag-mark rag-strong"' in strong and "rag-partial" not in strong
    assert 'class="rag-mark rag-partial"' in partial and "rag-strong" not in partial
    assert "score 0.97" in strong and "score 0.41" in partial
    assert "The closest the documents come:" in partial and "The closest the documents come" not in strong
    assert 'class="rag-mark rag-quoted-mark"' in strong  # the sentence is its verified source, word for word


def test_a_partial_answer_never_presents_its_span_as_the_answer():
    citation = make_citation()
    where = TEXT.index("real text")
    short = ShortAnswer(text="real text", label=1, path=citation.path, start=where, end=where + len("real text"))
    sentence = AnswerSentence(text=CITED, citations=(1,), supported=True, reason="verbatim", score=0.4, strength="partial")
    answer = replace(make_answer(citations=(citation,), sentences=(sentence,)), short_answer=short, partial=True)
    page = ui_render.render_answer(answer, turn=0, max_sources=3)
    assert ">Closest words<" in page and ">Answer<" not in page
    assert page.index("The closest the documents come:") < page.index("rag-short-text")
    assert not answer.to_markdown().startswith("**")


def test_short_answer_comes_first_and_copy_gives_footnoted_markdown():
    citation = make_citation()
    where = TEXT.index("real text")
    short = ShortAnswer(text="real text", label=1, path=citation.path, start=where, end=where + len("real text"))
    answer = replace(make_answer(citations=(citation,)), short_answer=short)
    page = ui_render.render_answer(answer, turn=2, max_sources=3)
    assert page.index("rag-short-text") < page.index("rag-text")
    assert '<span class="rag-short-text">real text</span>' in page
    assert 'href="#rag-copy-2"' in page
    markdown = html.unescape(re.search(r'<pre class="rag-markdown">(.*?)</pre>', page, re.S).group(1))
    assert markdown == answer.to_markdown()
    assert markdown.startswith("**real text**\n\n")
    assert f"[^1]: Risky <b>markup</b> & more, `/data/docs/risky.txt`, characters {START}–{END}: “" in markdown


def test_document_highlights_the_short_answer_inside_the_sentence():
    document = make_document()
    span = (START + 4, START + 10)
    page = ui_render.render_document(document, START, END, heading="h", quote=CITED, answer_span=span)
    inner = re.search(r'<mark class="rag-answer-span"[^>]*>(.*?)</mark>', page, re.S).group(1)
    assert html.unescape(inner) == document.text[span[0] : span[1]]
    assert html.unescape(parse(page, ui_render.MARK_ID).inside) == document.text[START:END]


def test_cited_sentence_the_answer_already_quotes_is_not_repeated():
    quote = "The cited sentence has\nreal text."
    citations = (make_citation(label=1, quote=quote), make_citation(label=2, quote="Another sentence."))
    sentences = (
        AnswerSentence(text="The cited sentence has real text.", citations=(1,), supported=True),  # extractive
        AnswerSentence(text="A paraphrase of it.", citations=(2,), supported=True),  # generated
    )
    page = ui_render.render_answer(make_answer(citations, sentences), 0, max_sources=3)
    items = re.findall(r"<li>.*?</li>", page)
    assert len(items) == 2
    assert "quoted in the answer" in items[0] and "“" not in items[0]
    assert "“Another sentence.”" in items[1] and "quoted in the answer" not in items[1]


def test_unsupported_sentence_says_why():
    sentence = AnswerSentence(text="Claim.", citations=(1,), supported=False, reason="number not in evidence: 7")
    page = ui_render.render_answer(make_answer(sentences=(sentence,)), 0, 3)
    assert "rag-verified" not in page
    assert 'title="not verified: number not in evidence: 7"' in page


def test_cited_list_respects_max_sources():
    citations = tuple(make_citation(label=n) for n in (1, 2, 3))
    sentences = (AnswerSentence(text="Claim.", citations=(1, 2, 3), supported=True),)
    page = ui_render.render_answer(make_answer(citations, sentences), 0, max_sources=2)
    items = re.findall(r"<li>", page)
    assert len(items) == 2
    assert "and 1 more" in page
    assert "#rag-cite-0-3" in page  # the sentence's own marker stays clickable


def test_citation_problem_is_shown():
    citation = make_citation(problem="file changed since ingest; this quote is still exact")
    page = ui_render.render_answer(make_answer(citations=(citation,)), 0, 3)
    assert "file changed since ingest" in page


def test_abstention_reads_plainly_with_closest_evidence():
    hits = tuple(make_hit(k, f"Passage {k} <x>.") for k in range(3))
    answer = Answer(
        question="q", answer="The documents do not say.", abstained=True,
        sentences=(AnswerSentence(text="The documents do not say.", reason="abstained"),), evidence=hits,
    )
    page = ui_render.render_answer(answer, turn=1, max_sources=2)
    assert "The documents do not say." in page
    assert "Closest evidence (not an answer)" in page
    assert re.findall(r'href="(#rag-ev-[^"]+)"', page) == ["#rag-ev-1-0", "#rag-ev-1-1"]
    assert "Passage 0 &lt;x&gt;." in page and "Doc &lt;i&gt;T&lt;/i&gt;" in page
    assert "rag-verified" not in page and "rag-cite" not in page


def test_abstention_without_evidence_has_no_empty_list():
    answer = Answer(question="q", answer="The documents do not say.", abstained=True)
    page = ui_render.render_answer(answer, 0, 3)
    assert "Closest evidence" not in page


def test_bridge_script_understands_every_link_the_renderer_makes():
    pattern = re.search(r"match\(/(.+?)/\)", ui_render.BRIDGE_JS).group(1).replace("\\\\", "\\")
    assert re.fullmatch(pattern, "#" + ui_render.cite_link(12, 7).split('href="#')[1].split('"')[0])
    for href in ("#rag-cite-0-1", "#rag-ev-4-2"):
        assert re.fullmatch(pattern, href)
    for href in ("#rag-cite-x-1", "#other-0-1", "#rag-cite-0-1-2"):
        assert not re.fullmatch(pattern, href)


def test_question_and_error_are_literal_text():
    assert ui_render.render_question("<b>x</b> & y") == '<div class="rag-question">&lt;b&gt;x&lt;/b&gt; &amp; y</div>'
    assert "&lt;oops&gt;" in ui_render.render_error("<oops>")


def test_no_external_resources_in_ui_assets():
    rendered = [
        ui_render.CSS,
        ui_render.BRIDGE_JS,
        ui_render.PANEL_JS,
        ui_render.render_panel_empty(),
        ui_render.render_answer(make_answer(), 0, 3),
    ]
    for text in rendered:
        assert not re.search(r"(https?:)?//[\w.-]+\.\w", text.replace("https://example.org", "")), text[:80]
        assert "@import" not in text and "url(" not in text


def test_source_rows_sorted_by_title():
    sources = [
        SourceInfo("b", "/x/zeta.txt", "Zeta", "", "", 3, 1, "h"),
        SourceInfo("a", "/x/alpha.md", "alpha", "", "", 10, 2, "h"),
    ]
    assert ui_render.source_rows(sources) == [["alpha", 10, 2, "alpha.md"], ["Zeta", 3, 1, "zeta.txt"]]
    assert "2 documents, 13 sentences, 3 chunks" in ui_render.render_corpus_summary(sources)
    assert "Nothing is indexed" in ui_render.render_corpus_summary([])


def test_ingest_report_names_each_file_and_reason():
    report = IngestReport(
        added=("/u/new.md",), unchanged=("/u/same.txt",),
        skipped=(SkippedFile("/u/bad.txt", "not UTF-8 (bad byte at offset 0; latin-1?)"),),
    )
    page = ui_render.render_ingest_report(report)
    assert "Added new.md" in page
    assert "unchanged: same.txt" in page
    assert "Not added: bad.txt: not UTF-8 (bad byte at offset 0; latin-1?)" in page


def test_citation_list_and_source_panel_show_the_section():
    answer = make_answer(citations=(make_citation(section="Experiments › <Datasets>"),))
    rendered = ui_render.render_answer(answer, 0, 5)
    assert "§ Experiments › &lt;Datasets&gt;" in rendered and "<Datasets>" not in rendered
    panel = ui_render.render_document(make_document(), START, END, heading="[1]", section="Experiments ›  Datasets")
    assert '<div class="rag-doc-section">§ Experiments › Datasets</div>' in panel
    assert "rag-doc-section" not in ui_render.render_document(make_document(), START, END, heading="[1]")
    assert "§" not in ui_render.render_answer(make_answer(), 0, 5)


def test_the_stylesheets_and_scripts_are_static_files_shipped_as_package_data():
    import tomllib
    from pathlib import Path

    from rag.shells.web import page as ui_page

    static = Path(ui_render.__file__).with_name("static")
    files = sorted(p.name for p in static.iterdir())
    assert files == ["bridge.js", "chat.css", "page.css", "panel.js"]
    patterns = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["rag.shells.web"]
    assert all(any((static / name).relative_to(static.parent).match(p) for p in patterns) for name in files)
    shipped = {"bridge.js": ui_render.BRIDGE_JS, "panel.js": ui_render.PANEL_JS, "chat.css": ui_render.CSS, "page.css": ui_page.PAGE_CSS}
    assert all(text == (static / name).read_text("utf-8") and text.strip() for name, text in shipped.items())
