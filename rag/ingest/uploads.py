"""Uploaded files: copied next to the index (so citations can be verified later), ingested, and
rolled back when they cannot be ingested, so a bad upload changes nothing. Names that clean to
the same file name are kept apart (``minutes-1.txt``, ``minutes-1-2.txt``); the upload folder
remembers (in a file beside it) which original name each file came from, so a changed file uploaded again under its
own name replaces its earlier version and nothing else."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

UPLOAD_FOLDER = "uploads"
NAMES_FILE = "upload-names.json"  # beside the upload folder: stored name -> the name it was uploaded under


def upload_folder(store_dir: Path) -> Path:
    """Where uploaded files are kept: beside the store."""
    return Path(store_dir).resolve() / UPLOAD_FOLDER


def safe_name(name: str) -> str:
    """A plain file name for an upload: no folders, no hidden files, no odd characters."""
    base = re.sub(r"[^\w.\-]+", "-", os.path.basename(name)).strip(".-")
    return base or "upload"


@dataclass(frozen=True)
class StagedUpload:
    """An uploaded file copied into the upload folder, with what it replaced (to roll back)."""

    name: str
    target: Path
    backup: Path | None
    written: bool
    original: str = ""  # the name it was uploaded under

    def undo(self) -> None:
        """Remove the copy and put back the file it replaced."""
        if self.written:
            self.target.unlink(missing_ok=True)
        if self.backup is not None:
            os.replace(self.backup, self.target)

    def commit(self) -> None:
        """Keep the copy; drop the replaced file."""
        if self.backup is not None:
            self.backup.unlink(missing_ok=True)


def stored_names(folder: Path) -> dict[str, str]:
    """Each stored upload's original name (a file uploaded before names were kept: its own)."""
    try:
        names = json.loads((folder.parent / NAMES_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}


def free_name(original: str, folder: Path, names: dict[str, str], taken: Iterable[str] = ()) -> str:
    """The stored name for an upload called ``original``: its cleaned name, unless a file of
    another original name (or another upload of this batch, ``taken``) has it; then the first
    free ``STEM-N.SUFFIX``."""
    base = safe_name(original)
    stem, suffix = os.path.splitext(base)
    taken = set(taken)
    for n in range(1, 10_000):
        name = base if n == 1 else f"{stem}-{n}{suffix}"
        if name in taken:
            continue
        if not os.path.lexists(folder / name) or names.get(name, name) == os.path.basename(original):
            return name
    raise FileExistsError(f"no free name for {original} in {folder}")


def stage_upload(source: Path, folder: Path, display_name: str | None = None, taken: Iterable[str] = ()) -> StagedUpload:
    """Copy ``source`` into ``folder`` under a name of its own, keeping any older file aside."""
    folder.mkdir(parents=True, exist_ok=True)
    original = os.path.basename(display_name or source.name)
    name = free_name(original, folder, stored_names(folder), taken)
    target = folder / name
    backup = None
    if target.exists():
        if target.read_bytes() == source.read_bytes():
            return StagedUpload(name, target, None, written=False, original=original)
        backup = folder / f".{name}.previous"
        os.replace(target, backup)
    shutil.copyfile(source, target)
    return StagedUpload(name, target, backup, written=True, original=original)


def stage_uploads(sources: Sequence[Path], folder: Path) -> list[StagedUpload]:
    """Stage a batch of uploads, no two under one name."""
    staged: list[StagedUpload] = []
    try:
        for source in sources:
            staged.append(stage_upload(Path(source), folder, taken=[s.name for s in staged]))
    except BaseException:
        for upload in staged:
            upload.undo()
        raise
    return staged


def settle_uploads(staged: Sequence[StagedUpload], rejected: set[str]) -> tuple[str, ...]:
    """Keep the uploads that were ingested, undo those in ``rejected`` (their target paths) and
    remember the original names; returns ``"ORIGINAL -> STORED"`` for each kept upload stored
    under another name."""
    kept = []
    for upload in staged:
        if str(upload.target) in rejected:
            upload.undo()
        else:
            upload.commit()
            kept.append(upload)
    if kept:
        folder = kept[0].target.parent
        names = {**stored_names(folder), **{u.name: u.original for u in kept}}
        temporary = folder.parent / f"{NAMES_FILE}.tmp"
        temporary.write_text(json.dumps(names, ensure_ascii=False, indent=0, sort_keys=True), "utf-8")
        os.replace(temporary, folder.parent / NAMES_FILE)
    return tuple(f"{u.original} -> {u.name}" for u in kept if u.name != u.original)
