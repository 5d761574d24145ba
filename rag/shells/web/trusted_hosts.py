"""The web app answers only requests addressed to this machine by a name it serves under: a
page elsewhere that rebinds its own domain name to 127.0.0.1 (DNS rebinding) sends its own
name in ``Host`` and is refused, so it can read neither answers nor the document list, and
cannot fill the upload cache."""

from __future__ import annotations

from collections.abc import Iterable

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def host_name(header: str) -> str:
    """The name in a ``Host`` header without its port: ``[::1]:7860`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed_hosts(configured: str) -> frozenset[str]:
    """Loopback names plus the host the app was told to listen on (``0.0.0.0`` or ``::``
    listens everywhere and names no host: only loopback names are then trusted)."""
    names = set(LOOPBACK_NAMES)
    configured = host_name(configured)
    if configured and configured not in ("0.0.0.0", "::"):
        names.add(configured)
    return frozenset(names)


class TrustedHostMiddleware:
    """ASGI middleware: HTTP and websocket requests whose ``Host`` is not allowed get 400."""

    def __init__(self, app, hosts: Iterable[str]):
        self.app = app
        self.hosts = frozenset(hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        if host_name(headers.get(b"host", b"").decode("latin-1")) in self.hosts:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        body = b"invalid Host header: this app answers only requests addressed to it by its own name\n"
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
