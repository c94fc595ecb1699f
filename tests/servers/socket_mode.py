"""A WebSocket server on 127.0.0.1 that plays Slack's Socket Mode endpoint, for tests.

The Slack Web API fake hands out its address from ``apps.connections.open``. On connect it says
hello; ``send_event`` pushes an Events API envelope, and ``acks`` collects the envelope IDs the
app acknowledges. Just enough of RFC 6455 for slack_sdk's built-in client: text, ping/pong, close.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    b1, b2 = _read_exact(sock, 2)
    n = b2 & 0x7F
    if n == 126:
        n = struct.unpack(">H", _read_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", _read_exact(sock, 8))[0]
    mask = _read_exact(sock, 4) if b2 & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(_read_exact(sock, n)))
    return b1 & 0x0F, payload


class FakeSocketMode:
    def __init__(self) -> None:
        self.acks: list[str] = []
        self.connected = threading.Event()
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.getsockname()[1]}/link/?ticket=test"

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            headers = dict(line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line)
            key = headers.get("Sec-WebSocket-Key", "")
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            conn.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            with self._lock:
                self._client = conn
            self.send({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
            self.connected.set()
            while not self._stop.is_set():
                opcode, payload = _read_frame(conn)
                if opcode == 0x9:
                    self._send_raw(_frame(0xA, payload))
                elif opcode == 0x1:
                    message = json.loads(payload)
                    if "envelope_id" in message:
                        with self._lock:
                            self.acks.append(message["envelope_id"])
                elif opcode == 0x8:
                    return
        except (ConnectionError, OSError):
            return

    def _send_raw(self, data: bytes) -> None:
        with self._lock:
            if self._client is not None:
                self._client.sendall(data)

    def send(self, message: dict[str, Any]) -> None:
        self._send_raw(_frame(0x1, json.dumps(message).encode()))

    def send_event(self, envelope_id: str, body: dict[str, Any]) -> None:
        self.send(
            {"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False, "payload": body}
        )

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if envelope_id in self.acks:
                    return
            time.sleep(0.05)
        raise AssertionError(f"envelope {envelope_id} was not acknowledged; acks: {self.acks}")

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._server.close()
        with self._lock:
            if self._client is not None:
                self._client.close()
        self._thread.join(timeout=5)
