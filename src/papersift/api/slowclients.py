"""A deadline on reading a request's headers, which uvicorn does not have.

uvicorn's keep-alive timeout only starts after a response: a client that connects and sends
nothing, or half a request line, holds its connection (a file descriptor) forever, and a few
hundred such clients (slowloris) leave the server unable to accept anyone. This protocol
answers 408 and closes a connection whose request headers are not complete within
`header_timeout` seconds of its first byte (or of the connection, for the first request).
A request that arrives slowly but in time is served as usual.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config

_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                     b"content-length: 32\r\nconnection: close\r\n\r\n"
                     b"request headers took too long.\r\n")


def _base() -> type:
    """The HTTP protocol uvicorn's default ("auto") picks: httptools if installed, else h11."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        return HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
        from uvicorn.protocols.http.h11_impl import H11Protocol
        return H11Protocol


def guarded_protocol(header_timeout: float) -> type:
    """The uvicorn HTTP protocol class (Config(http=...)) with the header deadline."""
    base = _base()

    class HeaderDeadline(base):  # type: ignore[misc, valid-type]
        def __init__(self, config: Config, *args: Any, **kw: Any) -> None:
            super().__init__(config, *args, **kw)
            self._deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._watch()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._watch()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel()
            super().connection_lost(exc)

        def _watch(self) -> None:
            # A request whose headers are in has a cycle until its response completes; then
            # the next bytes begin a new request, under a new deadline (the keep-alive
            # timeout covers a connection that stays silent after a response).
            busy = self.cycle is not None and not self.cycle.response_complete
            if busy:
                self._cancel()
            elif self._deadline is None and not self.transport.is_closing():
                self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _cancel(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.cycle is not None and not self.cycle.response_complete:
                return  # the headers came in after all (a cycle is running)
            if not self.transport.is_closing():
                self.transport.write(_TIMEOUT_RESPONSE)
                self.transport.close()

    return HeaderDeadline
