"""Files -> Document: finding files, decoding, header metadata, stable ids and the reasons a file is skipped."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.ingest.formats.html import html_document_text
from rag.ingest.sections import find_headings
from rag.text import normalize_newlines
from rag.types import Document, Heading, SkippedFile, content_id

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
SUFFIXES = TEXT_SUFFIXES | {".html", ".htm", ".docx", ".pdf"}
DEFAULT_EXCLUDES = ("README*", "MANIFEST*", ".*")
_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z ]{0,30}):[ \t]*(.*)")
_HEADER_RULE = re.compile(r"-{3,}[ \t]*$")


class FileRejected(Exception):
    """Raised by ``load_document`` with the one-line reason a file cannot be ingested."""


def find_files(
    paths: Iterable[str | Path], excludes: tuple[str, ...] = DEFAULT_EXCLUDES, follow_outside: bool = False
) -> tuple[list[Path], list[SkippedFile]]:
    """Expand folders recursively into supported files (sorted); report paths that cannot be used.

    Files named explicitly are taken even when a folder walk would exclude them. Files come
    back as absolute, resolved paths. A link met in a folder whose target lies outside every
    path given is skipped unless ``follow_outside``.
    """
    given_paths = [Path(p) for p in paths]
    roots = Roots(given_paths, follow_outside)
    found: dict[str, Path] = {}
    skipped: list[SkippedFile] = []
    for given, path in zip(paths, given_paths):
        if not os.path.lexists(path):
            skipped.append(SkippedFile(str(given), "no such file or folder"))
        elif path.is_dir():
            for file in _walk(path, excludes, skipped, roots):
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


class Roots:
    """The real places of the paths given to one ingest: a link found in a folder may point
    inside them (or anywhere, when following links outside is allowed)."""

    def __init__(self, paths: list[Path], follow_outside: bool):
        self.follow_outside = follow_outside
        self.folders = [os.path.realpath(p) for p in paths if p.is_dir()]
        self.files = {os.path.realpath(p) for p in paths if not p.is_dir()}

    def outside(self, path: Path) -> str | None:
        """The target of ``path`` when it is a link (or lies under one) leading outside the roots."""
        if self.follow_outside:
            return None
        real = os.path.realpath(path)
        inside = real in self.files or any(real == f or real.startswith(f.rstrip(os.sep) + os.sep) for f in self.folders)
        return None if inside else real


def _walk(folder: Path, excludes: tuple[str, ...], skipped: list[SkippedFile], roots: Roots) -> Iterator[Path]:
    seen: set[str] = set()

    def on_error(error: OSError) -> None:
        skipped.append(SkippedFile(str(error.filename or folder), f"cannot read folder: {error.strerror}"))

    def leads_out(path: Path) -> bool:
        target = roots.outside(path) if os.path.islink(path) else None
        if target is not None:
            skipped.append(SkippedFile(str(path), f"link points outside the folders given: {target}"))
        return target is not None

    for root, dirs, files in os.walk(folder, onerror=on_error, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a symlink loop or a folder linked twice
            skipped.append(SkippedFile(root, "symlink loop: folder already visited"))
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not _excluded(d, excludes) and not leads_out(Path(root) / d))
        for name in sorted(files):
            if _excluded(name, excludes):
                continue
            path = Path(root) / name
            if path.suffix.lower() in SUFFIXES and not leads_out(path):
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
    return parse_document(path, read_bounded(path, max_bytes), max_pdf_pages=max_pdf_pages, max_text_chars=max_text_chars)


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; a FIFO, device or socket is rejected
    without blocking, and a file that grows while it is read is cut off past the limit."""
    too_large = "too large ({:.1f} MiB > {:.1f} MiB limit); split it or raise max_file_bytes"
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise FileRejected(f"not a regular file ({_kind(mode)}); only regular files are read")
        # O_NONBLOCK: should the path become a FIFO after the check, opening it cannot hang.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with open(descriptor, "rb") as handle:
            opened = os.fstat(descriptor)
            mode, size = opened.st_mode, opened.st_size
            if not stat.S_ISREG(mode):
                raise FileRejected(f"not a regular file ({_kind(mode)}); only regular files are read")
            if size > max_bytes:
                raise FileRejected(too_large.format(size / 2**20, max_bytes / 2**20))
            raw = handle.read(max_bytes + 1)
    except FileRejected:
        raise
    except PermissionError:
        raise FileRejected("permission denied; make the file readable") from None
    except OSError as exc:
        raise FileRejected(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise FileRejected(f"too large (it grew past the {max_bytes / 2**20:.1f} MiB limit while read); split it or raise max_file_bytes")
    return raw


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def parse_document(path: Path, raw: bytes, *, max_pdf_pages: int = 2000, max_text_chars: int = 16 * 2**20) -> Document:
    """Decode and extract a file's bytes into a Document; raise FileRejected if they cannot be used."""
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
    from rag.ingest.formats.docx import UnreadableDocx, docx_document_text

    try:
        text, headings = docx_document_text(raw)
    except UnreadableDocx as exc:
        raise FileRejected(f"unreadable DOCX ({exc}); re-save it in Word or LibreOffice") from None
    if not text.strip():
        raise FileRejected("DOCX has no text")
    return text, headings


def _pdf_text(raw: bytes, path: Path, max_pages: int, max_chars: int):
    from rag.ingest.formats.pdf import PdfLimits, PdfRejected, extract_pdf

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
