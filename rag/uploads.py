"""Uploaded files: copied next to the index (so citations can be verified later), ingested, and
rolled back when they cannot be ingested, so a bad upload changes nothing."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

UPLOAD_FOLDER = "uploads"


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


def stage_upload(source: Path, folder: Path, display_name: str | None = None) -> StagedUpload:
    """Copy ``source`` into ``folder`` under its (cleaned) name, keeping any older file aside."""
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_name(display_name or source.name)
    target = folder / name
    backup = None
    if target.exists():
        if target.read_bytes() == source.read_bytes():
            return StagedUpload(name, target, None, written=False)
        backup = folder / f".{name}.previous"
        os.replace(target, backup)
    shutil.copyfile(source, target)
    return StagedUpload(name, target, backup, written=True)
