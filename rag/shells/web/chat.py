"""The chat of the web UI without Gradio: the conversation's turns, asking with the history,
the chat messages and the source panel for a clicked citation (HTML from ``rag.shells.web.render``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from rag.shells.web import page as ui_page, render as ui_render
from rag.ingest.formats.pdf_page import page_image
from rag.api import Rag
from rag.parts import ANSWERERS
from rag.ingest.sections import page_of
from rag.shells.terminal import user_message
from rag.ask.types import Answer
from rag.types import IngestReport, SourceInfo


@dataclass(frozen=True)
class ChatTurn:
    """One exchange in the chat: the question and either its answer or a one-line error."""

    question: str
    answer: Answer | None = None
    error: str = ""


def answerer_names() -> tuple[str, ...]:
    """The answerers the pipeline offers."""
    return ANSWERERS


def choose_answerer(rag: Rag, name: str | None) -> str | None:
    """None for the configured answerer, else ``name`` once the core has built it (so a bad
    name or a missing model is reported when it is chosen)."""
    if not name or name == rag.settings.answerer:
        return None
    rag.answerer(name)
    return name


def ask_turn(
    rag: Rag, turns: Sequence[ChatTurn], question: str, answerer_name: str | None, documents: Sequence[str] = ()
) -> list[ChatTurn]:
    """The conversation with one more turn: the answer to ``question`` given the earlier answers,
    asked within ``documents`` (doc ids or names; none: every document)."""
    history = [(t.question, t.answer.answer) for t in turns if t.answer is not None]
    try:
        within = {"documents": list(documents)} if documents else {}
        answer = rag.ask(question, history, answerer=choose_answerer(rag, answerer_name), **within)
    except Exception as exc:
        return [*turns, ChatTurn(question.strip(), error=user_message(exc))]
    return [*turns, ChatTurn(answer.question, answer)]


def render_chat(turns: Sequence[ChatTurn], max_sources: int, pending: str | None = None) -> list[dict]:
    """Chatbot messages for the turns (and a question still being answered)."""
    messages = []
    for number, turn in enumerate(turns):
        messages.append({"role": "user", "content": ui_render.render_question(turn.question)})
        if turn.answer is not None:
            content = ui_render.render_answer(turn.answer, number, max_sources)
        else:
            content = ui_render.render_error(turn.error)
        messages.append({"role": "assistant", "content": content})
    if pending is not None:
        messages.append({"role": "user", "content": ui_render.render_question(pending)})
        messages.append({"role": "assistant", "content": ui_render.render_pending()})
    return messages


def open_source(rag: Rag, turns: Sequence[ChatTurn], kind: str, turn: int, index: int) -> str:
    """The source panel for citation ``index`` (kind "cite") or evidence ``index`` (kind "ev")."""
    if not 0 <= turn < len(turns) or turns[turn].answer is None:
        return ui_render.render_panel_message("That answer is no longer in this chat.")
    answer = turns[turn].answer
    span = None
    if kind == "cite":
        citation = next((c for c in answer.citations if c.label == index), None)
        if citation is None:
            return ui_render.render_panel_message(f"Citation [{index}] is not part of that answer.")
        doc_id, start, end, quote = citation.doc_id, citation.start, citation.end, citation.quote
        section = citation.section
        heading = f"[{citation.label}] cited sentence · characters {start}–{end}"
        short = answer.short_answer
        if short is not None and short.label == citation.label:
            span = (short.start, short.end)
            heading += f" · short answer {short.start}–{short.end}"
    elif kind == "ev" and 0 <= index < len(answer.evidence):
        sentence, section = answer.evidence[index].sentence, answer.evidence[index].section
        doc_id, start, end, quote = sentence.doc_id, sentence.start, sentence.end, sentence.text
        heading = f"Closest evidence {index + 1} (not an answer) · characters {start}–{end}"
    else:
        return ui_render.render_panel_message("That passage is not part of the answer.")
    try:
        document = rag.document(doc_id)
    except Exception as exc:
        return ui_render.render_panel_message(user_message(exc))
    if document is None:
        return ui_render.render_panel_message("That document is no longer in the index; ask again.")
    if document.kind == "pdf" and document.pages:
        return _pdf_panel(document, start, end, heading, quote, span, section)
    return ui_render.render_document(document, start, end, heading=heading, quote=quote, answer_span=span, section=section)


def _pdf_panel(
    document, start: int, end: int, heading: str, quote: str, span: tuple[int, int] | None, section: str = ""
) -> str:
    """A PDF citation: its page as an image with the span's boxes; where the boxes cannot be
    matched (the file changed, a page pdfium cannot draw), the page's text with the span marked."""
    page = page_of(document.pages, start)
    begin = document.pages[page - 1]
    stop = document.pages[page] if page < len(document.pages) else len(document.text)
    if document.text[start:end] == quote:
        image = page_image(document.path, document.content_hash, page, document.text[begin:stop], start - begin, end - begin)
        if image is not None and image.boxes:
            return ui_page.render_page(document, page, image, heading=f"{heading} · p. {page}", quote=quote)
    return ui_render.render_document(
        document, start, end, heading=f"{heading} · p. {page}", quote=quote, answer_span=span, window=(begin, stop),
        section=section,
    )


def document_choices(sources: Sequence[SourceInfo]) -> list[tuple[str, str]]:
    """The document picker's choices: (label shown, doc id), the label the title and file name."""
    choices = []
    for source in sources:
        name = os.path.basename(source.path)
        label = f"{source.title} ({name})" if source.title and source.title != name else name
        choices.append((label, source.doc_id))
    return choices


def uploaded_ids(sources: Sequence[SourceInfo], report: IngestReport) -> list[str]:
    """The doc ids of the files an upload added, updated or found already indexed ("ask this file")."""
    paths = {os.path.abspath(p) for p in (*report.added, *report.updated, *report.unchanged, *report.copies)}
    return [s.doc_id for s in sources if {os.path.abspath(p) for p in (s.path, *s.copies)} & paths]


def api_ask(rag: Rag, question: str, documents: Sequence[str] | None = None) -> str:
    """The JSON text ``rag ask --json`` prints for one question (no conversation, configured
    answerer), asked within ``documents`` (names as ``rag ask --doc`` takes them) when given.

    Text rather than a dict: gradio_client (2.7, Gradio 6 protocol) takes any returned dict with
    a "path" key for a file and tries to download it, which breaks on every citation.
    """
    within = {"documents": list(documents)} if documents else {}
    return rag.ask(question, **within).to_json_text()
