"""A fault-injecting TCP proxy on loopback, for the reliability tests.

``FaultProxy(target_port)`` listens on ``127.0.0.1`` and a free port and forwards every
connection to ``127.0.0.1:target_port``. Faults are switched on and off while it runs:

- ``latency``: seconds added before each chunk is forwarded, both ways;
- :meth:`FaultProxy.reset_connections`: the next *n* connections are reset (RST, via
  ``SO_LINGER`` 0) as soon as they are accepted, before a byte is forwarded. The reset races
  with the client's ``connect()``: when it lands before the connecting thread has looked at
  the socket again, ``connect()`` itself fails with ``ECONNRESET`` (the client knows it sent
  nothing), otherwise the client's send or read fails;
- :meth:`FaultProxy.reset_once_sent`: the next *n* connections are reset as soon as the client
  has sent its first bytes, none of which is read or forwarded (deterministic: the request
  certainly left the client, and the target never sees it);
- :meth:`FaultProxy.cut_after`: every connection is reset once it has forwarded this many bytes
  in either direction (until :meth:`FaultProxy.clear`);
- :meth:`FaultProxy.http_errors`: the next requests are answered by the proxy itself with these
  HTTP statuses (the target never sees them);
- :meth:`FaultProxy.reset_after_response_starts`: the next *n* requests reach the target, and the
  client's connection is reset as soon as the target starts answering (the request took effect,
  the client never learns how);
- :meth:`FaultProxy.hold_responses`: the next *n* requests reach the target, and the answers are
  withheld until :meth:`FaultProxy.clear` (the client times out);
- :meth:`FaultProxy.stall_after`: once this many bytes have come back from the target (over all
  connections), answers stop flowing until :meth:`FaultProxy.clear` (a download hangs mid-way).

Requests are parsed (HTTP/1.1, ``Content-Length`` or chunked bodies) only in ``http=True``
mode; otherwise the proxy is a byte pipe and only latency, resets and cuts apply.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["FaultProxy", "ProxyStats"]

_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class ProxyStats:
    """What the proxy saw and did."""

    connections: int = 0
    requests: list[str] = field(default_factory=list)
    resets: int = 0
    cuts: int = 0
    injected: list[int] = field(default_factory=list)
    killed_responses: int = 0
    held: int = 0
    stalled: int = 0


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST rather than a FIN.

    ``SHUT_RD`` wakes a thread blocked reading the socket (it sends nothing), so the close that
    follows really releases the socket, and with ``SO_LINGER`` 0 that sends the RST.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class _Closed(Exception):  # noqa: N818 - a signal, not an error
    """The connection is over."""


class _Reader:
    """Buffered reads from a socket, for parsing HTTP requests."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise _Closed
        self.buf += data

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(marker)
        return head + marker

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class _Connection:
    def __init__(self, proxy: FaultProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: socket.socket | None = None
        self.sent_up = 0
        self.sent_down = 0
        self.kill_on_response = False
        self.hold_response = False
        self.done = threading.Event()

    # -- plumbing --------------------------------------------------------------------------------
    def run(self) -> None:
        proxy = self.proxy
        if proxy._take("_reset_budget"):
            with proxy._lock:
                proxy.stats.resets += 1
            _reset(self.client)
            return
        if proxy._take("_sent_reset_budget"):
            self._reset_once_sent()
            return
        try:
            self.upstream = socket.create_connection(proxy.target, timeout=10)
            self.upstream.settimeout(None)
        except OSError:
            _reset(self.client)  # nothing listens behind the proxy: the client sees a reset
            return
        back = threading.Thread(target=self._pump_back, daemon=True)
        back.start()
        try:
            if proxy.http:
                self._pump_requests()
            else:
                self._pump_raw()
        except (_Closed, OSError):
            pass
        finally:
            self._finish()
            back.join(timeout=5)

    def _reset_once_sent(self) -> None:
        """Wait (up to 10 s) for the client's first bytes, leave them unread, and reset."""
        with contextlib.suppress(OSError):
            self.client.settimeout(10)
            self.client.recv(1, socket.MSG_PEEK)
        with self.proxy._lock:
            self.proxy.stats.resets += 1
        self.done.set()
        _reset(self.client)

    def _finish(self) -> None:
        if self.done.is_set():
            return
        self.done.set()
        _close(self.client)
        if self.upstream is not None:
            _close(self.upstream)

    def _relay(self, data: bytes, to: socket.socket, sent: int) -> int:
        """Send ``data`` on, unless the cut falls inside it; return the new byte count."""
        proxy = self.proxy
        if proxy.latency:
            time.sleep(proxy.latency)
        limit = proxy.cut_after_bytes
        if limit is not None and sent + len(data) > limit:
            allowed = max(limit - sent, 0)
            if allowed:
                to.sendall(data[:allowed])
            with proxy._lock:
                proxy.stats.cuts += 1
            self.done.set()
            _reset(self.client)
            assert self.upstream is not None
            _reset(self.upstream)
            raise _Closed
        to.sendall(data)
        return sent + len(data)

    def _send_up(self, data: bytes) -> None:
        assert self.upstream is not None
        self.sent_up = self._relay(data, self.upstream, self.sent_up)

    def _pump_raw(self) -> None:
        while True:
            data = self.client.recv(65536)
            if not data:
                return
            self._send_up(data)

    def _pump_back(self) -> None:
        assert self.upstream is not None
        try:
            while True:
                data = self.upstream.recv(65536)
                if not data:
                    break
                if self.kill_on_response:
                    with self.proxy._lock:
                        self.proxy.stats.killed_responses += 1
                    self.done.set()
                    _reset(self.client)
                    _reset(self.upstream)
                    return
                if self.hold_response:
                    self.proxy._released.wait()
                    break
                if self.proxy._stall(len(data)):
                    self.proxy._released.wait()
                    break
                self.sent_down = self._relay(data, self.client, self.sent_down)
        except (_Closed, OSError):
            pass
        self._finish()

    # -- HTTP ------------------------------------------------------------------------------------
    def _pump_requests(self) -> None:
        reader = _Reader(self.client)
        proxy = self.proxy
        while True:
            head = reader.until(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            request_line = lines[0]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size_line = reader.until(b"\r\n")
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    body += size_line + reader.exactly(size + 2)
                    if size == 0:
                        break
            else:
                body = reader.exactly(int(headers.get("content-length", "0") or 0))
            with proxy._lock:
                proxy.stats.requests.append(request_line)
            status = proxy._next_error()
            if status is not None:
                self._answer(status)
                raise _Closed
            if proxy._take("_kill_budget"):
                self.kill_on_response = True
            if proxy._take("_hold_budget"):
                with proxy._lock:
                    proxy.stats.held += 1
                self.hold_response = True
            self._send_up(head + body)

    def _answer(self, status: int) -> None:
        body = json.dumps(
            {"statusCode": status, "message": f"injected by the fault proxy ({status})"}
        ).encode()
        reason = _REASONS.get(status, "Error")
        response = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        with contextlib.suppress(OSError):
            self.client.sendall(response)


class FaultProxy:
    """A TCP proxy from ``127.0.0.1:<free port>`` to ``127.0.0.1:target_port``, with faults.

    Parameters
    ----------
    target_port
        The port to forward to, on 127.0.0.1 (change it later with :meth:`retarget`).
    http
        Parse HTTP requests, so :meth:`http_errors`, :meth:`reset_after_response_starts` and
        :meth:`hold_responses` can act on single requests.
    """

    def __init__(self, target_port: int, *, http: bool = False) -> None:
        self.target = ("127.0.0.1", int(target_port))
        self.http = http
        self.latency = 0.0
        self.cut_after_bytes: int | None = None
        self.stall_after_bytes: int | None = None
        self._down_total = 0
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._reset_budget = 0
        self._sent_reset_budget = 0
        self._kill_budget = 0
        self._hold_budget = 0
        self._errors: list[int] = []
        self._released = threading.Event()
        self._connections: list[_Connection] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            connection = _Connection(self, client)
            with self._lock:
                self.stats.connections += 1
                self._connections = [c for c in self._connections if not c.done.is_set()]
                self._connections.append(connection)
            threading.Thread(target=connection.run, daemon=True).start()

    def _take(self, budget: str) -> bool:
        with self._lock:
            left: int = getattr(self, budget)
            if left <= 0:
                return False
            setattr(self, budget, left - 1)
            return True

    def _stall(self, n_bytes: int) -> bool:
        with self._lock:
            if self.stall_after_bytes is None:
                return False
            self._down_total += n_bytes
            if self._down_total <= self.stall_after_bytes:
                return False
            self.stats.stalled += 1
            return True

    def _next_error(self) -> int | None:
        with self._lock:
            if not self._errors:
                return None
            status = self._errors.pop(0)
            self.stats.injected.append(status)
            return status

    # -- faults ----------------------------------------------------------------------------------
    def reset_connections(self, n: int) -> None:
        """Reset the next ``n`` connections as soon as they are accepted."""
        with self._lock:
            self._reset_budget = n

    def reset_once_sent(self, n: int) -> None:
        """Reset the next ``n`` connections once the client has sent bytes, reading none of them."""
        with self._lock:
            self._sent_reset_budget = n

    def cut_after(self, n_bytes: int | None) -> None:
        """Reset any connection once it has relayed ``n_bytes`` one way (None: never)."""
        self.cut_after_bytes = n_bytes

    def http_errors(self, statuses: Iterable[int]) -> None:
        """Answer the next requests with these statuses, one each, in order."""
        with self._lock:
            self._errors = list(statuses)

    def reset_after_response_starts(self, n: int = 1) -> None:
        """Let the next ``n`` requests through, then reset the client when the answer starts."""
        with self._lock:
            self._kill_budget = n

    def hold_responses(self, n: int = 1) -> None:
        """Let the next ``n`` requests through and withhold their answers until :meth:`clear`."""
        self._released.clear()
        with self._lock:
            self._hold_budget = n

    def stall_after(self, n_bytes: int) -> None:
        """Stop relaying answers once ``n_bytes`` more have come back, until :meth:`clear`."""
        self._released.clear()
        with self._lock:
            self._down_total = 0
            self.stall_after_bytes = n_bytes

    def drop_open_connections(self) -> None:
        """Reset every connection now open (e.g. kept alive by a client's pool)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.done.set()
            _reset(connection.client)
            if connection.upstream is not None:
                _reset(connection.upstream)

    def retarget(self, target_port: int) -> None:
        """Forward new connections to another port (e.g. a restarted server)."""
        self.target = ("127.0.0.1", int(target_port))

    def clear(self) -> None:
        """Switch every fault off and release held answers."""
        with self._lock:
            self.latency = 0.0
            self.cut_after_bytes = None
            self.stall_after_bytes = None
            self._reset_budget = self._sent_reset_budget = 0
            self._kill_budget = self._hold_budget = 0
            self._errors = []
        self._released.set()

    def close(self) -> None:
        """Stop accepting, and reset every open connection."""
        self._stopping.set()
        self._released.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)
        self.drop_open_connections()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
