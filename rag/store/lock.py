"""The folder lock of an embedded store: readers share it, a writer has it alone."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from rag.errors import StoreError

LOCK_FILE = ".rag-lock"


class FolderLock:
    """Who may use an embedded store folder: readers share it, a writer has it alone.

    Chroma's PersistentClient is single-process: a process that opened the folder before
    another one wrote to it reads a stale cache and fails ("Error finding id"). So every
    process holds a shared ``flock`` on ``<folder>/.rag-lock`` while it has the store open and
    converts it to an exclusive one while it writes; a conflict is a one-line StoreError that
    names the fix (a Chroma server) instead of a failure later. One lock per folder per
    process (flock locks belong to the open file, and threads of one process share Chroma's
    client safely); the kernel drops it when the process ends, even on kill -9.
    """

    _by_folder: dict[str, FolderLock] = {}
    _registry = threading.Lock()

    def __init__(self, folder: Path):
        self.folder = folder
        self._fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        self._mutex = threading.Lock()
        self._writers = 0
        self._users = 0

    @classmethod
    def shared(cls, folder: Path) -> FolderLock:
        """This process's lock on ``folder``, held shared (error if another process writes).

        Each call must be paired with ``release``; the last release unlocks the folder.
        """
        key = os.path.realpath(folder)
        with cls._registry:
            lock = cls._by_folder.get(key)
            if lock is None:
                lock = cls(Path(key))
                try:
                    lock._take(fcntl.LOCK_SH)
                except BaseException:
                    os.close(lock._fd)
                    raise
                cls._by_folder[key] = lock
            lock._users += 1
            return lock

    def release(self) -> None:
        """One user fewer; the last one closes the lock file, which unlocks the folder."""
        with self._registry:
            self._users -= 1
            if self._users == 0:
                del self._by_folder[str(self.folder)]
                os.close(self._fd)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the folder alone for the block (re-entrant within this process)."""
        with self._mutex:
            if self._writers == 0:
                self._take(fcntl.LOCK_EX)
            self._writers += 1
        try:
            yield
        finally:
            with self._mutex:
                self._writers -= 1
                if self._writers == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_SH)

    def _take(self, mode: int) -> None:
        try:
            fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if mode == fcntl.LOCK_EX:
                with contextlib.suppress(OSError):  # a failed conversion may have dropped our shared lock
                    fcntl.flock(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                raise StoreError(
                    f"the store {self.folder} is open in another process (app.py, rag chat, ...), and an "
                    "embedded store takes writes from one process only; ingest there (the app's Corpus "
                    "tab), stop it first, or share the store through a Chroma server (--store-url)"
                ) from None
            raise StoreError(
                f"another process is writing to the store {self.folder}; wait for it to finish, or share "
                "the store through a Chroma server (--store-url)"
            ) from None
