"""Files -> Document: finding files, decoding, header metadata, stable ids and the reasons a file is skipped."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.formats.html import html_document_text
from rag.sections import find_headings
from rag.text import normalize_newlines
from rag.types import Document, Heading, SkippedFile, content_id

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
SUFFIXES = TEXT_SUFFIXES | {".html", ".htm", ".docx", ".pdf"}
DEFAULT_EXCLUDES = ("README*", "MANIFEST*", ".*")
_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z ]{0,30}):[ \t]*(.*)")
_HEADER_RULE = re.compile(r"-{3,}[ \t]*$")


class FileRejected(Exception):
    """Raised by ``load_document`` with the one-line reason a file cannot be ingested."""


def find_files(paths: Iterable[str | Path], excludes: tuple[str, ...] = DEFAULT_EXCLUDES) -> tuple[
    list[Path], list[SkippedFile]
]:
    """Expand folders recursively into supported files (sorted); report paths that cannot be used.

    Files named explicitly are taken even when a folder walk would exclude them. Files come
    back as absolute, resolved paths.
    """
    found: dict[str, Path] = {}
    skipped: list[SkippedFile] = []
    for given in paths:
        path = Path(given)
        if not os.path.lexists(path):
            skipped.append(SkippedFile(str(given), "no such file or folder"))
        elif path.is_dir():
            for file in _walk(path, excludes, skipped):
                try:
                    found.setdefault(str(file.resolve()), file)
                except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
                    skipped.append(SkippedFile(str(file), "symlink loop: the link never reaches a file"))
        elif path.is_file():
            if path.suffix.lower() in SUFFIXES:
                found.setdefault(str(path.resolve()), path)
            else:
                skipped.append(SkippedFile(str(given), f"unsupported type {path.suffix or '(none)'}; use .txt, .md, .html, .docx or .pdf"))
        else:
            skipped.append(SkippedFile(str(given), "not a regular file (broken link or special file)"))
    return [Path(k) for k in sorted(found)], skipped


def _walk(folder: Path, excludes: tuple[str, ...], skipped: list[SkippedFile]) -> Iterator[Path]:
    seen: set[str] = set()

    def on_error(error: OSError) -> None:
        skipped.append(SkippedFile(str(error.filename or folder), f"cannot read folder: {error.strerror}"))

    for root, dirs, files in os.walk(folder, onerror=on_error, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a symlink loop or a folder linked twice
            skipped.append(SkippedFile(root, "symlink loop: folder already visited"))
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not _excluded(d, excludes))
        for name in sorted(files):
            if _excluded(name, excludes):
                continue
            path = Path(root) / name
            if path.suffix.lower() in SUFFIXES:
                yield path


def _excluded(name: str, excludes: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in excludes)


def document_id(content_hash: str) -> str:
    """A document's id: a hash of its content, so a moved or renamed file is the same document
    (stores built before this keep their older path-derived ids; documents are found by content)."""
    return content_id("doc", content_hash)


def load_document(path: Path, max_bytes: int, *, max_pdf_pages: int = 2000, max_text_chars: int = 16 * 2**20) -> Document:
    """Read and decode one file; raise FileRejected with a one-line reason if it cannot be used
    (a PDF also when it has more pages or extracted characters than allowed)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise FileRejected(
                    f"too large ({size / 2**20:.1f} MiB > {max_bytes / 2**20:.1f} MiB limit); split it or raise max_file_bytes"
                )
            raw = handle.read()
    except FileRejected:
        raise
    except PermissionError:
        raise FileRejected("permission denied; make the file readable") from None
    except OSError as exc:
        raise FileRejected(f"cannot read: {exc.strerror or exc}") from None
    if not raw.strip():
        raise FileRejected("empty file")
    suffix = path.suffix.lower()
    content_hash = hashlib.sha256(raw).hexdigest()
    pages: tuple[int, ...] = ()
    headings: tuple[Heading, ...] | None = None  # None: found in the text below
    if suffix == ".pdf":
        pdf = _pdf_text(raw, path, max_pdf_pages, max_text_chars)
        text, kind, pages, headings = pdf.text, "pdf", pdf.pages, pdf.headings
    elif suffix in (".html", ".htm"):
        (text, headings), kind = html_document_text(_decode(raw, path)), "html"
    elif suffix == ".docx":
        (text, headings), kind = _docx_text(raw), "docx"
    else:
        # The same newline translation as Path.read_text, so offsets index read_text("utf-8").
        text = normalize_newlines(_decode(raw, path))
        kind = "txt" if suffix == ".txt" else "md"
    meta, body_start = parse_header(text)
    if headings is None:
        headings = find_headings(text, body_start)
    if not text[body_start:].strip():
        raise FileRejected("no text after the header" if body_start else "no extractable text")
    return Document(
        doc_id=document_id(content_hash),
        path=str(path.resolve()),
        title=meta.get("title") or _fallback_title(text, body_start, path),
        text=text,
        content_hash=content_hash,
        body_start=body_start,
        source=meta.get("source") or meta.get("original url") or "",
        licence=meta.get("licence") or meta.get("license") or "",
        kind=kind,
        pages=pages,
        headings=headings,
    )


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("UTF-16 text; convert it: iconv -f UTF-16 -t UTF-8 IN > OUT")
    if b"\x00" in raw[:8192]:
        raise FileRejected("binary file (contains NUL bytes), not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"not UTF-8 (bad byte at offset {exc.start}; latin-1?); convert it: iconv -f LATIN1 -t UTF-8 IN > OUT"
        ) from None


def _docx_text(raw: bytes) -> tuple[str, tuple[Heading, ...]]:
    from rag.formats.docx import UnreadableDocx, docx_document_text

    try:
        text, headings = docx_document_text(raw)
    except UnreadableDocx as exc:
        raise FileRejected(f"unreadable DOCX ({exc}); re-save it in Word or LibreOffice") from None
    if not text.strip():
        raise FileRejected("DOCX has no text")
    return text, headings


def _pdf_text(raw: bytes, path: Path, max_pages: int, max_chars: int):
    from rag.formats.pdf import PdfLimits, PdfRejected, extract_pdf

    try:
        return extract_pdf(raw, path.stem.replace("_", " "), PdfLimits(max_pages, max_chars))
    except PdfRejected as reason:
        raise FileRejected(str(reason)) from None


def parse_header(text: str) -> tuple[dict[str, str], int]:
    """A leading ``Key: value`` block closed by a ``-----`` line -> (lower-case keys, body offset).

    Lines inside the block that are not ``Key: value`` continue the previous value.
    """
    meta: dict[str, str] = {}
    key = ""
    pos = 0
    for line in text.splitlines(keepends=True)[:80]:
        stripped = line.strip()
        pos += len(line)
        if _HEADER_RULE.fullmatch(stripped) and meta:
            return meta, pos
        match = _HEADER_LINE.fullmatch(stripped)
        if match:
            key = match.group(1).strip().lower()
            meta[key] = match.group(2).strip()
        elif key and stripped:
            meta[key] = f"{meta[key]} {stripped}".strip()
        elif not key:
            return {}, 0
    return {}, 0


def _fallback_title(text: str, body_start: int, path: Path) -> str:
    for line in text[body_start:].splitlines():
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped[:120] if line.lstrip().startswith("#") else path.stem.replace("-", " ").replace("_", " ")
    return path.stem
