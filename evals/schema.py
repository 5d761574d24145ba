"""One schema for the evaluation datasets: the rows of our sets (``evals/data``), of QASPER and of
HotpotQA. ``rag eval`` loads rows through these models and ``evals/check_datasets.py`` checks
them through the same ones (adding the rules that need the documents and the whole file); a bad
row is one line naming ``file:line``, the field and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from rag.errors import InputError


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("is empty; write the text")
    return text


Text = Annotated[str, AfterValidator(_not_blank)]
MAX_SHORT = 3
SUPPORTED_KINDS = frozenset({"paraphrase", "entailed_summary"})
UNSUPPORTED_KINDS = frozenset(
    {"swapped_name", "changed_number", "changed_date", "negation", "beyond_evidence", "wrong_entity_role", "unrelated"}
)
GOLD_KEYS = ("doc", "gold", "facts", "short")


class Row(BaseModel):
    """A dataset row: strict JSON types (``true``, not ``1``), unknown keys ignored."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    FORMAT: ClassVar[str] = "evals/data/README.md"


class Turn(Row):
    """A question; the scored one carries its document, gold sentences, key facts and short answers."""

    question: Text
    doc: str = ""
    gold: tuple[Text, ...] = ()
    facts: tuple[Text, ...] = ()
    short: tuple[Text, ...] = Field(default=(), max_length=MAX_SHORT)
    within: str | tuple[str, ...] = ()

    @model_validator(mode="after")
    def _short_answers_lie_in_the_gold(self) -> Turn:
        if len(set(self.short)) != len(self.short):
            raise ValueError("short has duplicate items; list each short answer once")
        for span in self.short:
            if not any(span in sentence for sentence in self.gold):
                raise ValueError(f"short {span[:70]!r} is not an exact substring of a gold sentence; copy it from one")
        return self

    def carries_gold(self) -> tuple[str, ...]:
        """The gold keys this turn was given (an earlier turn or an unanswerable row may give none)."""
        return tuple(key for key in GOLD_KEYS if key in self.model_fields_set)

    def scope(self) -> tuple[str, ...]:
        """The documents the question is asked within (``within``: one name or a list)."""
        return (self.within,) if isinstance(self.within, str) else self.within


class QARow(Turn):
    """A single-turn question (seed, corpus, unanswerable and user sets)."""

    id: Text
    answerable: bool = True
    near: bool | None = None  # unanswerable rows: on the corpus's topics (true) or general knowledge

    @model_validator(mode="after")
    def _unanswerable_rows_carry_no_gold(self) -> QARow:
        if not self.answerable and self.carries_gold():
            raise ValueError(f"an unanswerable row must not carry {', '.join(self.carries_gold())}; drop them")
        return self


class MultiturnRow(Row):
    """A conversation: only its last turn is scored and carries gold."""

    id: Text
    turns: tuple[Turn, ...] = Field(min_length=1)
    within: str | tuple[str, ...] = ()

    @model_validator(mode="after")
    def _only_the_last_turn_carries_gold(self) -> MultiturnRow:
        for number, turn in enumerate(self.turns[:-1], 1):
            if turn.carries_gold():
                raise ValueError(f"turn {number} carries {', '.join(turn.carries_gold())}; only the last turn does")
        return self


class PairRow(Row):
    """A labelled (claim, evidence) pair for the support verifier."""

    id: Text
    claim: Text
    evidence: tuple[Text, ...] = Field(min_length=1)
    doc: str = ""
    supported: bool
    kind: str = ""

    @model_validator(mode="after")
    def _kind_agrees_with_the_label(self) -> PairRow:
        if (self.kind in SUPPORTED_KINDS and not self.supported) or (self.kind in UNSUPPORTED_KINDS and self.supported):
            raise ValueError(f"kind {self.kind!r} disagrees with supported={str(self.supported).lower()}; fix one")
        return self


class QasperRow(Row):
    """A question of ``../shared/benchmarks/qasper/questions.jsonl``."""

    FORMAT: ClassVar[str] = "evals/qasper.py"
    id: Text
    question: Text
    doc: Text
    answerable: bool
    answers: tuple[str, ...]
    answer_types: tuple[str, ...]
    evidence_spans: tuple[tuple[int, int], ...]
    gold_sentences: tuple[str, ...]


class HotpotContext(Row):
    """One paragraph of a HotpotQA question: its title and sentences."""

    title: Text
    sentences: tuple[str, ...]


class HotpotRow(Row):
    """A question of a HotpotQA JSON Lines file (the format of the shared dev397.jsonl)."""

    FORMAT: ClassVar[str] = "evals/hotpotqa.py"
    id: Text
    question: Text
    answers: tuple[str, ...] = Field(min_length=1)
    supporting_titles: tuple[str, ...]
    contexts: tuple[HotpotContext, ...]


def row_problems(model: type[Row], line: str) -> tuple[Row | None, list[str]]:
    """The row ``line`` holds, or None and what is wrong with it, one line per problem (the
    field, the fix)."""
    try:
        return model.model_validate_json(line), []
    except ValidationError as exc:
        return None, [_problem(model, error) for error in exc.errors(include_url=False)]


def parse_row(model: type[Row], obj: Any) -> Row:
    """``obj`` (a JSON-like Python value) validated exactly as its JSON line would be."""
    row, problems = row_problems(model, json.dumps(obj))
    if row is None:
        raise InputError(problems[0])
    return row


def _problem(model: type[Row], error: dict) -> str:
    if error["type"] == "json_invalid":
        return f"is not valid JSON ({error['msg'].removeprefix('Invalid JSON: ')}); fix the line"
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is missing; add it"
    elif error["type"] == "model_type" and not where:
        return "is not a JSON object; write one object per line"
    return f"{where + ': ' if where else ''}{message} (see {model.FORMAT} for the format)"


def numbered_lines(path: Path, unreadable: str = "pass a readable .jsonl file") -> Iterator[tuple[int, str]]:
    """The non-blank lines of a UTF-8 file with their 1-based numbers; an unreadable file is an
    ``InputError`` ending in ``unreadable``."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}; {unreadable}") from None
    return ((number, line) for number, line in enumerate(lines, 1) if line.strip())


def read_rows(path: Path, model: type[Row], unreadable: str = "pass a readable .jsonl file") -> list[Row]:
    """Every row of a JSON Lines file as ``model``; the first bad row is an ``InputError``
    naming ``path:line`` (``unreadable``: the fix when the file cannot be read)."""
    rows = []
    for number, line in numbered_lines(path, unreadable):
        row, problems = row_problems(model, line)
        if row is None:
            raise InputError(f"{path}:{number}: {problems[0]}")
        rows.append(row)
    return rows
