"""rag: question answering over documents where every answer sentence cites its sources.

``import rag`` is light: heavy libraries load on first use.

    from rag import Rag
    rag = Rag.open(store=".rag-store")
    rag.ingest(["corpus"])
    answer = rag.ask("What did Pistorius warn about?")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.offline import configure_offline

configure_offline()

__all__ = [
    "Answer",
    "AnswerSentence",
    "Citation",
    "Document",
    "IngestReport",
    "Rag",
    "RagError",
    "Settings",
    "SourceInfo",
    "Turn",
    "load_settings",
]

_HOMES = {
    "Rag": "rag.api",
    "Settings": "rag.config",
    "load_settings": "rag.config",
    "RagError": "rag.errors",
    "Answer": "rag.types",
    "AnswerSentence": "rag.types",
    "Citation": "rag.types",
    "Document": "rag.types",
    "IngestReport": "rag.types",
    "SourceInfo": "rag.types",
    "Turn": "rag.types",
}

if TYPE_CHECKING:
    from rag.config import Settings, load_settings
    from rag.errors import RagError
    from rag.api import Rag
    from rag.ask.types import Answer, AnswerSentence, Citation, Turn
    from rag.types import Document, IngestReport, SourceInfo


def __getattr__(name: str):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
