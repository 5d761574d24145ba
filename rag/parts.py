"""The composition of parts: which reranker, answerer and support checker the settings name,
built from their modules (heavy imports happen here, on first use)."""

from __future__ import annotations

from rag.config import Settings
from rag.errors import InputError

ANSWERERS = ("extractive", "llm")


def make_reranker(settings: Settings):
    """The reranker named in settings."""
    from rag.ask.rerank import CombinedReranker, FeatureReranker, ReaderReranker

    if settings.reranker == "features":
        return FeatureReranker()
    if settings.reranker in ("reader", "combined"):
        from rag.models.reader import MANIFEST, Reader

        reader = Reader(settings.reader_manifest or MANIFEST, threads=settings.threads, precision=settings.precision)
        if settings.reranker == "reader":
            preselect = FeatureReranker() if settings.reader_preselect == "features" else None
            return ReaderReranker(reader, settings.rerank_k, preselect)
        return CombinedReranker(
            reader,
            FeatureReranker(),
            settings.rerank_k,
            settings.combine_weight,
            settings.gate_weight,
            first=settings.reader_first,
        )
    raise InputError(f"unknown reranker {settings.reranker!r}; use features, reader or combined")


def make_answerer(settings: Settings, name: str | None = None):
    """The composer named in settings (or ``name``)."""
    from rag.ask.answering import ExtractiveAnswerer

    chosen = name or settings.answerer
    if chosen == "extractive":
        if settings.reranker != "features":  # relevance is a probability: a further sentence needs its own
            return ExtractiveAnswerer(floor=settings.reader_extra_threshold, margin=1.0)
        return ExtractiveAnswerer(floor=settings.abstain_threshold)
    if chosen == "llm":
        from rag.ask.generate import LLMAnswerer
        from rag.models.llm import make_llm

        return LLMAnswerer(make_llm(settings), settings.llm_prompt_tokens)
    raise InputError(f"unknown answerer {chosen!r}; use extractive or llm")


def make_checker(settings: Settings, answerer: str):
    """The support checker for answers of ``answerer``: settings ``verifier``; ``auto`` lets the
    LLM judge answers the LLM wrote and checks extractive ones deterministically."""
    from rag.ask.support import JudgedSupportChecker, SupportChecker

    judged = settings.verifier == "judged" or (settings.verifier == "auto" and answerer == "llm")
    if not judged:
        return SupportChecker()
    from rag.models.llm import make_llm

    return JudgedSupportChecker(make_llm(settings).model_copy(update={"max_tokens": 4}))
