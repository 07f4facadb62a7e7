"""Loopback AMI replay server for ``bench/ami_ingest.py``.

Run as its own process (``python bench/_replay_server.py TRANSCRIPT``) so its
sending never shares the measured client's event loop or GIL. It prints the
port it listens on (127.0.0.1, ephemeral) as one line, then serves every
connection in a thread, identically:

1. send the transcript's banner line (``Asterisk Call Manager/11.0.0\\r\\n``);
2. read the client's first action (its Login) up to the blank line and answer
   ``Response: Success`` with the client's own ActionID;
3. send the rest of the transcript, i.e. everything after the banner and the
   recorded Login response, byte for byte;
4. half-close (FIN), drain whatever the client sends until it closes, close.

It exits when its stdin reaches end of file (the parent closed the pipe).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading

HOST = "127.0.0.1"
IO_TIMEOUT = 30.0

_ACTION_ID = re.compile(rb"^actionid:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)


def split_transcript(data: bytes) -> tuple[bytes, bytes]:
    """``(banner line with its CRLF, body)`` where body follows the recorded Login response.

    If the first frame after the banner is not a Response it is kept in the body.
    """
    nl = data.find(b"\n")
    if nl < 0 or not data.startswith(b"Asterisk Call Manager/"):
        raise ValueError("transcript does not start with an AMI banner line")
    banner, rest = data[: nl + 1], data[nl + 1 :]
    if rest.startswith(b"Response:"):
        end = rest.find(b"\r\n\r\n")
        if end < 0:
            raise ValueError("transcript's first response is not terminated")
        rest = rest[end + 4 :]
    return banner, rest


def login_response(action_id: bytes | None) -> bytes:
    """The Success response the server sends for a client's Login."""
    aid = b"ActionID: " + action_id + b"\r\n" if action_id is not None else b""
    return b"Response: Success\r\n" + aid + b"Message: Authentication accepted\r\n\r\n"


def _serve(conn: socket.socket, banner: bytes, body: bytes) -> None:
    try:
        conn.settimeout(IO_TIMEOUT)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(banner)
        buf = b""
        while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
        m = _ACTION_ID.search(buf)
        conn.sendall(login_response(m.group(1) if m else None))
        conn.sendall(body)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):  # drain until the client closes (no RST on unread data)
            pass
    except OSError:
        pass
    finally:
        conn.close()


def _exit_on_stdin_eof() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: _replay_server.py TRANSCRIPT")
    with open(argv[0], "rb") as f:
        banner, body = split_transcript(f.read())
    srv = socket.create_server((HOST, 0))
    threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=_serve, args=(conn, banner, body), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
