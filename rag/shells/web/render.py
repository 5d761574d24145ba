"""HTML for the web UI (app.py): answers with clickable ``[n]`` markers, the source panel.

Pure functions from the core's dataclasses to HTML strings; no Gradio, no I/O. Every piece of
text is HTML-escaped here. A citation link carries its place in the chat in its ``href``
(``#rag-cite-<turn>-<label>`` or ``#rag-ev-<turn>-<index>``): Gradio's chat sanitiser keeps
``href`` and ``class`` but drops ``data-*`` attributes, and ``BRIDGE_JS`` turns a click on
such a link into a ``cite`` event for the server.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

from rag.shells.web.assets import asset
from rag.text import normalize_space
from rag.ask.types import PARTIAL_PREFIX, Answer, Citation, Hit
from rag.types import Document, IngestReport, SourceInfo

QUOTED_TITLE = "quoted verbatim: the sentence is its source, word for word, and the file still holds it at the cited characters (checked now)"
CHECKED_TITLE = "checked against its sources: its names, numbers and negations are in the cited sentences, which the file still holds (checked now)"
UNVERIFIED_TITLE = "not verified"
STRONG_TITLE = "strong: the reader judges that the cited sentence answers the question, and no other sentence comes near it (score {score:.2f})"
PARTIAL_TITLE = "partial: the cited sentence is the closest the documents come; the reader is not sure it answers the question, or another sentence is nearly as likely to (score {score:.2f})"
MARK_ID = "rag-hit"
CITE_PREFIX = "rag-cite"
EVIDENCE_PREFIX = "rag-ev"
COPY_PREFIX = "rag-copy"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def cite_link(turn: int, label: int, *, title: str = "") -> str:
    """The clickable ``[n]`` marker of citation ``label`` in chat turn ``turn``."""
    hint = f"Show [{label}] highlighted in {title}" if title else f"Show [{label}] in its document"
    return f'<a class="rag-cite" href="#{CITE_PREFIX}-{turn}-{label}" title="{_e(hint)}">[{label}]</a>'


def render_question(question: str) -> str:
    """A user's question as shown in the chat (literal text, never markup)."""
    return f'<div class="rag-question">{_e(question)}</div>'


def render_pending() -> str:
    """Placeholder while an answer is being prepared."""
    return '<div class="rag-pending">Searching the documents…</div>'


def render_error(message: str) -> str:
    """A one-line error in place of an answer."""
    return f'<div class="rag-error" role="alert"><strong>Could not answer:</strong> {_e(message)}</div>'


def render_answer(answer: Answer, turn: int, max_sources: int) -> str:
    """An answer: the short answer first, then the sentences with ``[n]`` links and their marks
    (how strongly the reader says it answers; quoted verbatim or checked against its sources),
    then the cited sentences and a "Copy answer" link (Markdown with footnotes).

    An abstention reads "The documents do not say." followed by the closest evidence. At most
    ``max_sources`` cited sentences (or evidence passages) are listed.
    """
    if answer.abstained:
        return _render_abstention(answer, turn, max_sources)
    titles = {c.label: c.title for c in answer.citations}
    short = ""
    if answer.verdict:
        # A verdict is drawn from the cited sentences together: it links to each of them.
        links = " and ".join(cite_link(turn, c.label, title=c.title) for c in answer.citations)
        label, kind = ("Closest answer", "rag-short rag-short-partial") if answer.partial else ("Answer", "rag-short")
        short = (
            f'<p class="{kind}"><span class="rag-short-label">{label}</span> '
            f'<span class="rag-short-text">{_e(answer.verdict.capitalize())}</span> '
            f'<span class="rag-verdict-from">from {links}{" together" if len(answer.citations) > 1 else ""}</span></p>'
        )
    elif answer.short_answer is not None:
        # A partial answer's span is only the closest words: it follows the "closest" lead, muted.
        label, kind = ("Closest words", "rag-short rag-short-partial") if answer.partial else ("Answer", "rag-short")
        short = (
            f'<p class="{kind}"><span class="rag-short-label">{label}</span> '
            f'<span class="rag-short-text">{_e(normalize_space(answer.short_answer.text))}</span> '
            f"{cite_link(turn, answer.short_answer.label, title=titles.get(answer.short_answer.label, ''))}</p>"
        )
    lead = f'<p class="rag-partial-lead">{_e(PARTIAL_PREFIX)}</p>' if answer.partial else ""
    sentences = []
    for sentence in answer.sentences:
        links = "".join(cite_link(turn, n, title=titles.get(n, "")) for n in sentence.citations)
        sentences.append(f'<span class="rag-sentence">{_e(sentence.text)} {links}{_marks(sentence)}</span>')
    shown = answer.citations[:max_sources]
    said = {normalize_space(sentence.text) for sentence in answer.sentences}
    items = "".join(_citation_item(c, turn, quoted_above=normalize_space(c.quote) in said) for c in shown)
    more = len(answer.citations) - len(shown)
    extra = f'<div class="rag-more">and {more} more (raise “Sources shown” in Settings)</div>' if more > 0 else ""
    warnings = "".join(f'<p class="rag-warning" role="note">Note: {_e(w)}</p>' for w in answer.warnings)
    return (
        f'<div class="rag-answer{" rag-partial-answer" if answer.partial else ""}">'
        f"{lead + short if answer.partial else short}"
        f'<p class="rag-text">{" ".join(sentences)}</p>'
        f"{warnings}"
        '<div class="rag-list"><div class="rag-list-head">Cited sentences</div>'
        f'<ol class="rag-cites">{items}</ol>{extra}</div>'
        f'<div class="rag-tools"><a class="rag-copy" href="#{COPY_PREFIX}-{turn}" '
        'title="Copy the answer as Markdown with numbered footnotes (title, file, characters, quote)">Copy answer</a></div>'
        f'<pre class="rag-markdown">{_e(answer.to_markdown())}</pre>'
        "</div>"
    )


def _marks(sentence) -> str:
    """The marks of one answer sentence; each means something this answer had to earn."""
    marks = []
    if sentence.strength == "strong":
        marks.append(f'<span class="rag-mark rag-strong" title="{_e(STRONG_TITLE.format(score=sentence.score))}">strong</span>')
    elif sentence.strength == "partial":
        marks.append(f'<span class="rag-mark rag-partial" title="{_e(PARTIAL_TITLE.format(score=sentence.score))}">partial</span>')
    if sentence.verbatim:
        marks.append(f'<span class="rag-mark rag-quoted-mark" title="{_e(QUOTED_TITLE)}">quoted</span>')
    elif sentence.supported:
        marks.append(f'<span class="rag-mark rag-checked" title="{_e(CHECKED_TITLE)}">checked</span>')
    else:
        reason = f"{UNVERIFIED_TITLE}: {sentence.reason}" if sentence.reason else UNVERIFIED_TITLE
        marks.append(f'<span class="rag-unverified" title="{_e(reason)}">not verified</span>')
    return "".join(marks)


def _citation_item(citation: Citation, turn: int, *, quoted_above: bool = False) -> str:
    """One cited sentence; when the answer already says it word for word, only its source."""
    note = f'<div class="rag-note">{_e(citation.problem)}</div>' if citation.problem else ""
    if quoted_above:
        quote = '<span class="rag-quoted">quoted in the answer</span> '
    else:
        quote = f'<span class="rag-quote">“{_e(normalize_space(citation.quote))}”</span> '
    return (
        f'<li>{cite_link(turn, citation.label, title=citation.title)} {quote}'
        f'<span class="rag-from">— {_e(citation.title)}{_section_suffix(citation.section)}'
        f'{f", p. {citation.page}" if citation.page else ""}</span>{note}</li>'
    )


def _section_suffix(section: str) -> str:
    """", § Experiments › Datasets" after a source's title (nothing outside any section)."""
    return f'<span class="rag-section">, § {_e(normalize_space(section))}</span>' if section else ""


def _render_abstention(answer: Answer, turn: int, max_sources: int) -> str:
    items = "".join(_evidence_item(hit, turn, k) for k, hit in enumerate(answer.evidence[:max_sources]))
    evidence = (
        '<div class="rag-list"><div class="rag-list-head">Closest evidence (not an answer)</div>'
        f'<ol class="rag-evidence">{items}</ol></div>'
        if items
        else ""
    )
    return (
        '<div class="rag-answer rag-abstained">'
        f'<p class="rag-abstain">{_e(answer.answer)}</p>{evidence}'
        "</div>"
    )


def _evidence_item(hit: Hit, turn: int, index: int) -> str:
    return (
        f'<li><a class="rag-ev" href="#{EVIDENCE_PREFIX}-{turn}-{index}" title="Show this passage in its document">'
        f"“{_e(normalize_space(hit.sentence.text))}”</a> "
        f'<span class="rag-from">— {_e(hit.title)}{_section_suffix(hit.section)}</span></li>'
    )


def render_panel_empty() -> str:
    """The source panel before any citation is opened: what it is for and what the marks mean."""
    return (
        '<div class="rag-doc rag-doc-empty"><div class="rag-doc-kicker">Source</div>'
        "<p>Every answer sentence cites the exact source sentence it rests on. Click a citation such "
        "as <strong>[1]</strong> to open that document here, scrolled to the cited sentence "
        '(<mark class="rag-hit">highlighted</mark>), with the short answer inside it '
        '<mark class="rag-answer-span">highlighted more strongly</mark>.</p>'
        '<dl class="rag-legend">'
        '<dt><span class="rag-mark rag-strong">strong</span></dt><dd>the reader judges that the cited sentence answers the question</dd>'
        '<dt><span class="rag-mark rag-partial">partial</span></dt><dd>the closest the documents come; it may not answer the question</dd>'
        '<dt><span class="rag-mark rag-quoted-mark">quoted</span></dt><dd>word for word from the source file, checked at the cited characters</dd>'
        '<dt><span class="rag-mark rag-checked">checked</span></dt><dd>a generated sentence whose names, numbers and negations were checked against its sources</dd>'
        "</dl>"
        "<p>“Copy answer” under an answer copies it as Markdown with numbered footnotes.</p></div>"
    )


def render_panel_message(message: str) -> str:
    """The source panel showing a short notice instead of a document."""
    return f'<div class="rag-doc rag-doc-empty"><div class="rag-doc-kicker">Source</div><p>{_e(message)}</p></div>'


def render_document(
    document: Document,
    start: int,
    end: int,
    *,
    heading: str,
    quote: str | None = None,
    answer_span: tuple[int, int] | None = None,
    section: str = "",
    window: tuple[int, int] | None = None,
) -> str:
    """The document's header fields (with the ``section`` the span lies in) and its text with ``text[start:end]`` in ``<mark id="rag-hit">``
    and, inside it, the short answer ``answer_span`` in ``<mark class="rag-answer-span">``.

    The parts are escaped separately, so each mark covers exactly its characters. The header
    block is shown as fields, the body from ``body_start`` (only ``text[window[0]:window[1]]``
    when a window is given: a PDF page). ``quote``, when given, is compared with the span: a
    mismatch means the document changed.
    """
    text = document.text
    if not 0 <= start <= end <= len(text):
        return render_panel_message(f"The cited span {start}–{end} is outside “{document.title}”; re-ingest it.")
    begin = document.body_start if document.body_start <= start else 0
    stop = len(text)
    if window is not None and window[0] <= start <= end <= window[1]:
        begin, stop = window
    warning = ""
    if quote is not None and text[start:end] != quote:
        warning = '<p class="rag-warning">The document changed since this answer; the highlight may be off.</p>'
    meta = "".join(
        f"<dt>{name}</dt><dd>{_e(value)}</dd>"
        for name, value in (
            ("Source", document.source),
            ("Licence", document.licence),
            ("File", os.path.basename(document.path)),
        )
        if value
    )
    section_line = f'<div class="rag-doc-section">§ {_e(normalize_space(section))}</div>' if section else ""
    return (
        '<div class="rag-doc">'
        '<div class="rag-doc-head">'
        f'<div class="rag-doc-kicker">{_e(heading)}</div>'
        f'<div class="rag-doc-title">{_e(document.title)}</div>{section_line}'
        f'<dl class="rag-doc-meta">{meta}</dl>{warning}'
        "</div>"
        '<div class="rag-doc-body">'
        f"{_e(text[begin:start])}"
        f'<mark id="{MARK_ID}" class="rag-hit">{_inner(text, start, end, answer_span)}</mark>'
        f"{_e(text[end:stop])}"
        "</div></div>"
    )


def _inner(text: str, start: int, end: int, span: tuple[int, int] | None) -> str:
    if span is None or not start <= span[0] < span[1] <= end:
        return _e(text[start:end])
    return (
        f"{_e(text[start:span[0]])}"
        f'<mark class="rag-answer-span" title="the short answer">{_e(text[span[0]:span[1]])}</mark>'
        f"{_e(text[span[1]:end])}"
    )


def source_rows(sources: Sequence[SourceInfo]) -> list[list]:
    """Rows of the corpus table: title, sentences, chunks, file name (sorted by title)."""
    ordered = sorted(sources, key=lambda s: (s.title.lower(), s.path))
    return [
        [s.title, s.sentences, s.chunks, os.path.basename(s.path) + (" (file missing)" if s.missing else "")]
        for s in ordered
    ]


def render_corpus_summary(sources: Sequence[SourceInfo]) -> str:
    """One line: how many documents, sentences and chunks are indexed."""
    if not sources:
        return '<p class="rag-summary">Nothing is indexed yet; add files below.</p>'
    sentences = sum(s.sentences for s in sources)
    chunks = sum(s.chunks for s in sources)
    summary = f'<p class="rag-summary">{len(sources)} documents, {sentences:,} sentences, {chunks:,} chunks indexed.</p>'
    missing = [s for s in sources if s.missing]
    if not missing:
        return summary
    names = ", ".join(_e(s.path) for s in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return summary + (
        f'<p class="rag-bad" role="status">{len(missing)} document(s) have no file any more: {names}. '
        "Their passages are never cited; if they moved, add them again from their new place, or remove them.</p>"
    )


def render_ingest_report(report: IngestReport) -> str:
    """What an upload did, file by file."""

    def name(path: str) -> str:
        return _e(os.path.basename(path))

    lines = [f'<li class="rag-ok">Added {name(p)}</li>' for p in report.added]
    lines += [f'<li class="rag-ok">Updated {name(p)}</li>' for p in report.updated]
    lines += [f"<li>Already indexed, unchanged: {name(p)}</li>" for p in report.unchanged]
    lines += [f"<li>Already indexed from another file: {name(p)}</li>" for p in report.copies]
    lines += [f'<li class="rag-bad">Not added: {name(s.path)}: {_e(s.reason)}</li>' for s in report.skipped]
    saved_as = [pair.split(" -> ", 1) for pair in report.renamed]
    lines += [f"<li>Saved {_e(original)} as {_e(stored)}</li>" for original, stored in saved_as]
    return f'<ul class="rag-report">{"".join(lines)}</ul>'


def render_status(message: str, *, bad: bool = False) -> str:
    """A one-line status under the upload box."""
    return f'<p class="{"rag-bad" if bad else "rag-ok"}">{_e(message)}</p>'


# The scripts and the stylesheet live in static/: bridge.js (one document-level listener that
# turns clicks on citation links into the bridge's ``cite`` event and copies an answer's
# Markdown), panel.js (scrolls the source panel to the highlighted sentence), chat.css.
BRIDGE_JS = asset("bridge.js")
PANEL_JS = asset("panel.js")
CSS = asset("chat.css")

