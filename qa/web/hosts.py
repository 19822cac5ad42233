"""Host and Origin allow-list for the web app, its API and the MCP endpoint (DNS rebinding).

A web page the user visits can make the browser send requests to ``127.0.0.1:7860`` under a
name it controls (DNS rebinding: ``Host: rebind.evil.example``), or from its own origin
(``Origin: https://evil.example``). Gradio's CORS middleware only decides which answers a page
may read, and answers anyway. This ASGI middleware refuses (403) every HTTP or websocket request
whose ``Host`` is not 127.0.0.1, localhost, [::1] or the host the app was started on, or whose
``Origin`` (when sent) names another host. The MCP specification asks servers to validate
``Origin``. Written by hand: Starlette's TrustedHostMiddleware checks Host only, not Origin.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_ANY = ("0.0.0.0", "::", "")


def allowed_hosts(host: str) -> frozenset[str]:
    """The host names the app answers to when it listens on ``host``."""
    names = {*LOOPBACK_NAMES, host.strip("[]").lower()}
    return frozenset(n for n in names if n not in _ANY)


def _host_name(value: str) -> str | None:
    """The host of a ``Host`` header (``name[:port]``, ``[v6]:port``), lowercased."""
    value = value.strip().lower()
    try:
        parsed = urlsplit(f"//{value}")
        name = parsed.hostname
        _ = parsed.port  # a bad port is a bad header
    except ValueError:
        return None
    return name


def _origin_name(value: str) -> str | None:
    try:
        parsed = urlsplit(value.strip().lower())
        _ = parsed.port
    except ValueError:
        return None
    return parsed.hostname if parsed.scheme in ("http", "https") else None


class HostGuard:
    """ASGI middleware: 403 for a request addressed to a host not in ``hosts``.

    ``any_host``: the app listens on every interface (0.0.0.0), so any ``Host`` is accepted,
    but an ``Origin`` must still be the same host as ``Host`` or a loopback name.
    """

    def __init__(self, app: ASGIApp, hosts: frozenset[str], any_host: bool = False):
        self.app = app
        self.hosts = hosts
        self.any_host = any_host

    def _refusal(self, headers: dict[bytes, bytes]) -> str | None:
        raw_host = headers.get(b"host", b"").decode("latin-1")
        host = _host_name(raw_host)
        if host is None or (not self.any_host and host not in self.hosts):
            return "this server answers only requests addressed to " + ", ".join(sorted(self.hosts))
        origin = headers.get(b"origin")
        if origin is None or origin == b"null":
            return None
        name = _origin_name(origin.decode("latin-1"))
        if name is not None and (name in self.hosts or name == host):
            return None
        return "requests from other web sites are refused"

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        why = self._refusal(headers)
        if why is None:
            await self.app(scope, receive, send)
            return
        body = f"qa: {why} (403)\n".encode()
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def middleware_for(host: str) -> Any:
    """The Starlette ``Middleware`` entry for an app listening on ``host``."""
    from starlette.middleware import Middleware  # deferred with the rest of the web stack

    wildcard = host.strip("[]") in _ANY
    with_ip = allowed_hosts(host)
    try:  # an IPv6 address given without brackets is also matched in its short form
        with_ip |= {str(ipaddress.ip_address(host.strip("[]")))}
    except ValueError:
        pass
    return Middleware(HostGuard, hosts=with_ip, any_host=wildcard)
