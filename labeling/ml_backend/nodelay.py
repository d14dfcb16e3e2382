"""uvicorn's h11 protocol with TCP_NODELAY on every connection.

With `--workers` > 1 uvicorn listens on a socket it made with protocol number 0, and asyncio
then skips TCP_NODELAY on the accepted connections (it checks for IPPROTO_TCP): a response's
header and body writes meet Nagle's algorithm and the client's delayed ACK, 40 ms on every
request (measured by hand on /predict: p50 48 ms with two workers, 2.4 ms with one).
"""

from __future__ import annotations

import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11(H11Protocol):
    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)
