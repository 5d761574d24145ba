"""Opening Chroma: an embedded folder or a server (probed first, every request time-limited),
turning a server's transport failures into one-line StoreErrors, and counting the calls that
use a client so it can be replaced while none runs."""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

from rag.config import Settings
from rag.errors import StoreError

_CONNECT_TIMEOUT = 5.0  # seconds to wait for a Chroma server's heartbeat


def open_client(settings: Settings, create: bool = True):
    """PersistentClient on ``store_dir`` or HttpClient on ``store_url``; fails fast with the fix."""
    from rag.offline import configure_offline

    configure_offline()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.store_url:
        url = urlparse(settings.store_url)
        host = url.hostname or "127.0.0.1"
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            # chromadb's HTTP session has no timeout and sends its first request while being
            # built, so a server that accepts but never answers would hang us: probe it first.
            probe = f"{url.scheme}://{f'[{host}]' if ':' in host else host}:{port}/api/v2/heartbeat"
            with urllib.request.urlopen(probe, timeout=_CONNECT_TIMEOUT) as response:
                response.read()
            client = chromadb.HttpClient(
                host=host,
                port=port,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises several transport errors
            raise StoreError(
                f"cannot reach the Chroma server at {settings.store_url} ({type(exc).__name__}); "
                "start it with: chroma run --path DIR --host 127.0.0.1 --port PORT"
            ) from None
        limit_wait(client, settings.store_timeout)
        return client
    folder = Path(settings.store_dir)
    if not folder.exists() and not create:
        raise StoreError(f"no store at {folder}; build it first: rag ingest PATH --store {folder}")
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"store path {folder} is a file; pass a folder with --store")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(folder), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(f"cannot open the store at {folder}: {exc}; check permissions or pass another --store") from None


def limit_wait(client, seconds: float) -> None:
    """Give chromadb's HTTP session (built with ``timeout=None``) a limit per request, so a
    server that stops answering mid-command fails the command instead of hanging it."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise StoreError("this chromadb version hides its HTTP session; pin chromadb==1.5.9")
    session.timeout = httpx.Timeout(seconds, connect=_CONNECT_TIMEOUT)


def server_errors(method: Callable) -> Callable:
    """Turn a transport failure of the Chroma server (timeout, refused, dropped) into a StoreError."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] != "httpx":
                raise
            raise StoreError(
                f"the Chroma server at {self.settings.store_url} stopped answering ({type(exc).__name__} after "
                f"at most {self.settings.store_timeout:g} s); check that it runs, then retry "
                "(an interrupted ingest resumes cleanly)"
            ) from None

    return guarded


class ClientUse:
    """The calls using a store's client, counted, so the client can be closed and replaced
    (``alone``) only while none runs: a call on a closed client fails. New calls wait while it
    is replaced; a call made inside another on the same thread never waits."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._depth = threading.local()

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._depth, "n", 0)
        if depth == 0:
            with self._changed:
                self._running += 1
        self._depth.n = depth + 1
        try:
            yield
        finally:
            self._depth.n = depth
            if depth == 0:
                with self._changed:
                    self._running -= 1
                    self._changed.notify_all()

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        if getattr(self._depth, "n", 0):
            raise RuntimeError("the store's client cannot be replaced from inside a call that uses it")
        with self._changed:
            self._changed.wait_for(lambda: self._running == 0)
            yield


def uses_client(method: Callable) -> Callable:
    """Count a store method's calls (generators: while they are iterated) in ``self._client_use``."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def iterating(self, *args, **kwargs):
            with self._client_use.shared():
                yield from method(self, *args, **kwargs)

        return iterating

    @functools.wraps(method)
    def calling(self, *args, **kwargs):
        with self._client_use.shared():
            return method(self, *args, **kwargs)

    return calling
