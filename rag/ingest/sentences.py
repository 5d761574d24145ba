"""Document -> Sentence spans with exact character offsets into ``document.text``.

Rules, in order:
1. Only the body (after the header block) is split.
2. Blocks: a blank line, a Markdown hard break (two trailing spaces), a heading, a table row
   or a list item ends the block before it. Single newlines inside a paragraph (hard-wrapped
   text) do not end anything: they are whitespace inside a sentence.
3. Inside a block a sentence ends after ``.``, ``!``, ``?`` or ``…`` (plus closing quotes,
   brackets and reference markers such as ``[50]``) followed by whitespace and a character that can start a sentence, unless the
   word before the stop is a known abbreviation ("U.S.", "Dr.", "No. 5", initials) and the
   next word is not a typical sentence opener ("... from the U.S. The package ...").
4. A sentence that does not fit ``fits`` (the embedding window) is cut at the latest clause
   boundary (``;``, ``:``, ``,``, then a space) that fits, so no unit ever exceeds the window.
5. A block that holds one of the document's headings (``Document.headings``) gives no sentence:
   a heading is context, never an answer.
Offsets come from the scan itself, never from searching the text afterwards.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator

from rag.types import Document, Sentence, content_id

ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt no nos art arts sec secs para paras cf vs v etc al
    gen lt col capt sgt maj adm gov sen rep hon rev fig figs vol vols ch chap pt pp
    approx inc ltd co corp bros dept est jan feb mar apr jun jul aug sep sept oct nov dec
    e.g i.e u.s u.k u.n e.u d.c ph.d a.m p.m u.s.a u.s.s.r
    """.split()
)
# Abbreviations that stand before a name or number and so never end a sentence.
TITLES = frozenset(
    """
    mr mrs ms dr prof sr jr st mt no nos art arts sec secs para paras cf vs v gen lt col capt
    sgt maj adm gov sen rep hon rev fig figs vol vols ch chap pt pp approx
    """.split()
)
# Words that, capitalised after an abbreviation such as "U.S." or an initial, start a new
# sentence rather than continue a name ("... aid from the U.S. The package ...").
SENTENCE_OPENERS = frozenset(
    """
    The He She It They We This These Those That There But And In On At As After Before When
    While However Its His Her Their Our Such Since Although Yet
    """.split()
)

_BLANK = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]*$")
_BLOCK_START = re.compile(
    r"""[ \t\u00a0]*(?:
        \#{1,6}                       # heading
      | \|                            # table row
      | [-*+•‣◦▪]\s                   # bullet
      | \(?[0-9]{1,3}[.)]\s           # 1. or 1) or (1)
      | \([a-zA-Z]{1,4}\)\s           # (a) (iv) (A)
      | [A-Za-z][.)]\s(?=\S)          # a. b)
      | §
    )""",
    re.X,
)
_HEADING = re.compile(r"[ \t\u00a0]*\#{1,6}")
_STOP = re.compile(r"""(?:[.!?]+|…)(?:["'”’»)\]]|\[[0-9a-z ]{1,12}\])*(?=\s)""")  # ."[12] too
_STARTER = re.compile(r"""\s+["'“‘«(\[]*[A-Z0-9§À-ÖØ-Þ]""")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_NEXT_WORD = re.compile(r"""\s+["'“‘«(\[]*([A-Za-z]+)""")
_LIST_MARKER_ONLY = re.compile(r"""\s*(?:\(?[0-9]{1,3}[.)]|\(?[a-zA-Z]{1,4}[.)]|[-*+•]|§+\s*[0-9a-z.]*)\s*$""")
_LEADING_MARKUP = re.compile(r"""[\s\u00a0]*(?:\#{1,6}[\s\u00a0]*|[-*+•‣◦▪][\s\u00a0]+)?""")
_TRAILING_SPACE = re.compile(r"""[\s\u00a0\u200b]+$""")
_CLAUSE_SEPARATORS = ("; ", ": ", ", ", " ")
_WORDS = re.compile(r"\w+")

Fits = Callable[[str], bool]


def default_fits(max_chars: int = 600) -> Fits:
    """A length test for when no tokenizer is at hand (tests, fakes)."""
    return lambda text: len(text) <= max_chars


def split_sentences(document: Document, fits: Fits | None = None) -> tuple[Sentence, ...]:
    """All sentences of the document body, in order, with exact offsets into ``document.text``."""
    fits = fits or default_fits()
    text = document.text
    headings = [(h.start, h.end) for h in document.headings]
    spans: list[tuple[int, int]] = []
    for block_start, block_end in blocks(text, document.body_start):
        if _holds_heading(headings, block_start, block_end):
            continue
        for start, end in _sentence_spans(text, block_start, block_end):
            spans.extend(_fit(text, start, end, fits))
    return tuple(
        Sentence(
            sentence_id=content_id(document.content_hash, start, end),
            doc_id=document.doc_id,
            index=index,
            start=start,
            end=end,
            text=text[start:end],
        )
        for index, (start, end) in enumerate(spans)
    )


def sentence_texts(text: str) -> list[str]:
    """The sentences of a plain text (a model's answer, say) by the same rules, as strings."""
    return [text[a:b] for start, end in blocks(text, 0) for a, b in _sentence_spans(text, start, end)]


def _holds_heading(headings: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether a heading lies in the block: a heading is context, never a sentence."""
    at = bisect.bisect_left(headings, (start, start))
    return at < len(headings) and headings[at][0] < end


def blocks(text: str, offset: int) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of paragraph-like blocks; single newlines stay inside a block."""
    block_start: int | None = None
    pos = offset
    for line in text[offset:].splitlines(keepends=True):
        line_start, pos = pos, pos + len(line)
        body = line.rstrip("\r\n")
        if _BLANK.match(body):
            if block_start is not None:
                yield block_start, line_start
                block_start = None
            continue
        if block_start is not None and _BLOCK_START.match(body):
            yield block_start, line_start
            block_start = None
        if block_start is None:
            block_start = line_start
        hard_break = body.endswith(("  ", "\u00a0 ", " \u00a0"))
        if hard_break or _HEADING.match(body) or body.lstrip().startswith("|"):
            yield block_start, pos
            block_start = None
    if block_start is not None:
        yield block_start, pos


def _sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split one block into trimmed sentence spans."""
    sentence_start = start
    for stop in _STOP.finditer(text, start, end):
        boundary = stop.end()
        if not _STARTER.match(text, boundary, end):
            continue
        if _is_abbreviation(text, sentence_start, stop.start(), stop.group(), boundary, end):
            continue
        if _LIST_MARKER_ONLY.fullmatch(text, sentence_start, boundary):
            continue
        span = _trim(text, sentence_start, boundary)
        if span:
            yield span
        sentence_start = boundary
    span = _trim(text, sentence_start, end)
    if span:
        yield span


def _is_abbreviation(text: str, sentence_start: int, stop_start: int, stop: str, boundary: int, end: int) -> bool:
    """Whether the stop belongs to an abbreviation inside the sentence, not to its end.

    A title ("Dr.", "No.") always continues; another abbreviation ("U.S.", an initial) does
    unless a typical sentence opener follows ("... from the U.S. The package ...").
    """
    if not stop.startswith(".") or stop.startswith(".."):
        return False
    match = _WORD_BEFORE.search(text, max(sentence_start, stop_start - 12), stop_start)
    if not match:
        return False
    word = match.group(1)
    lowered = word.lower().rstrip(".")
    if lowered in TITLES:
        return True
    abbreviation = (
        (len(word) == 1 and word.isupper())  # an initial: "J. Smith", "U." inside "U.S."
        or lowered in ABBREVIATIONS
        or bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word))  # dotted acronyms: U.S, e.g
    )
    if not abbreviation:
        return False
    following = _NEXT_WORD.match(text, boundary, end)
    return not following or following.group(1) not in SENTENCE_OPENERS


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Drop surrounding whitespace and a leading heading/bullet marker; None if nothing is left."""
    lead = _LEADING_MARKUP.match(text, start, end)
    if lead:
        start = lead.end()
    trail = _TRAILING_SPACE.search(text, start, end)
    if trail:
        end = trail.start()
    if start >= end or not _WORDS.search(text, start, end):
        return None
    return start, end


def _fit(text: str, start: int, end: int, fits: Fits) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence at the latest clause boundary that fits, repeatedly."""
    while not fits(text[start:end]):
        cut = _best_cut(text, start, end, fits)
        head = _trim(text, start, cut)
        if head:
            yield head
        rest = _trim(text, cut, end)
        if not rest:
            return
        start, end = rest
    yield start, end


def _best_cut(text: str, start: int, end: int, fits: Fits) -> int:
    for separator in _CLAUSE_SEPARATORS:
        cuts = [m.end() for m in re.finditer(re.escape(separator), text[start:end])]
        for cut in reversed(cuts):
            if cut < end - start and fits(text[start : start + cut]):
                return start + cut
    low, high = start + 1, end - 1  # a single unbreakable run: largest prefix that fits
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[start:middle]):
            low = middle
        else:
            high = middle - 1
    return low
