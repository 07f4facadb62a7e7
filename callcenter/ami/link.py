"""One TCP connection to an AMI port: open it, check the banner, read, write.

The link owns the socket and the reader task; it knows nothing of actions or
events beyond handing the decoded messages to ``on_messages``, a batch per
read (all the complete messages of that read, in order: one call per read,
not per message). It reads in large chunks and feeds the sans-I/O codec
(:mod:`.codec`); a non-fatal :class:`RemoteProtocolError` (a malformed frame,
skipped whole by the codec) goes to ``on_protocol_error`` and reading goes on; a fatal one (oversized
frame, overflowing buffer, not AMI at all) ends the link. ``on_lost`` is
called exactly once, with a reason in words, whatever ended the link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .codec import AMICodec
from .errors import AMIConnectionError, NotAMIError, RemoteProtocolError
from .message import Message

log = logging.getLogger("callcenter.ami.client")

#: bytes asked of the socket per read; 10-burst peaks at ~2 MB/s
READ_CHUNK = 1 << 16

#: takes the complete messages of one read, in order
MessagesCallback = Callable[[list[Message]], None]


class Link:
    """A connected socket and its reader task. Build with :meth:`open`."""

    def __init__(
        self,
        host: str,
        port: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        codec: AMICodec,
        on_messages: MessagesCallback,
        on_protocol_error: Callable[[RemoteProtocolError], None],
        on_lost: Callable[[Link, str, BaseException | None], None],
    ) -> None:
        self.host = host
        self.port = port
        self.codec = codec
        #: says whether queued actions may go out (the leader's gate); None: always
        self.gate: Callable[[], bool] | None = None
        self._reader = reader
        self._writer = writer
        self._on_messages = on_messages
        self._on_protocol_error = on_protocol_error
        self._on_lost = on_lost
        self._abort_reason: str | None = None
        self.closed = False
        self.lost_reason: str | None = None
        loop = self._loop = asyncio.get_running_loop()
        self._out: list[bytes] | None = None  # written this turn, not yet sent
        self.banner: asyncio.Future[str] = loop.create_future()
        self._task = loop.create_task(self._read_loop(), name=f"ami-reader-{host}:{port}")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        codec: AMICodec,
        connect_timeout: float,
        on_messages: MessagesCallback,
        on_protocol_error: Callable[[RemoteProtocolError], None],
        on_lost: Callable[[Link, str, BaseException | None], None],
        gate: Callable[[], bool] | None = None,
    ) -> Link:
        """Connect and wait for the banner; raise a typed error naming host:port."""
        where = f"{host}:{port}"
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=READ_CHUNK)
        except TimeoutError:
            raise AMIConnectionError(
                f"cannot connect to AMI at {where}: timed out after {connect_timeout:g} s",
                host=host,
                port=port,
            ) from None
        except OSError as e:
            raise AMIConnectionError(
                f"cannot connect to AMI at {where}: {e}", host=host, port=port
            ) from e
        link = cls(host, port, reader, writer, codec, on_messages, on_protocol_error, on_lost)
        link.gate = gate
        try:
            async with asyncio.timeout(connect_timeout):
                await asyncio.shield(link.banner)
        except TimeoutError:
            link.abort("no banner")
            await link.wait_closed()
            raise AMIConnectionError(
                f"connected to {where} but no AMI banner came within {connect_timeout:g} s "
                "(is this the Asterisk manager port, 5038 by default?)",
                host=host,
                port=port,
            ) from None
        except BaseException:
            link.abort("no banner")
            await link.wait_closed()
            raise
        return link

    # -- writing ---------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Queue an action's bytes; those written in one turn of the loop go out together.

        Under load many calls' actions are written in the same turn (one read
        wakes them all): one ``send`` for all of them instead of one each.
        """
        if self.closed:
            raise AMIConnectionError(
                f"AMI link to {self.where} is closed ({self.lost_reason or 'closing'})",
                host=self.host,
                port=self.port,
            )
        out = self._out
        if out is None:
            self._out = [data]
            self._loop.call_soon(self._send_out)
        else:
            out.append(data)

    def _send_out(self) -> None:
        out, self._out = self._out, None
        if out and self.gate is not None and not self.gate():
            # queued by a leader that lost its lease before they went out (frozen
            # between the write and this turn of the loop): never sent
            log.warning("AMI %s: %d action(s) not sent: this controller does not lead",
                        self.where, len(out))  # fmt: skip
            return
        if out and not self.closed:
            self._writer.write(out[0] if len(out) == 1 else b"".join(out))

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as e:
            raise AMIConnectionError(
                f"writing to AMI at {self.where} failed: {e}", host=self.host, port=self.port
            ) from e

    # -- closing ---------------------------------------------------------------
    def abort(self, reason: str) -> None:
        """Drop the connection now; ``on_lost`` will report ``reason``."""
        if self._abort_reason is None:
            self._abort_reason = reason
        self.closed = True
        self._writer.transport.abort()

    async def wait_closed(self) -> None:
        """Wait for the reader task to finish (it reports ``on_lost`` first)."""
        try:
            await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise

    async def cancel(self) -> None:
        """Stop the reader and close the socket (used by ``close()``)."""
        self.abort("client closed")
        self._task.cancel()
        await self.wait_closed()

    # -- reading ---------------------------------------------------------------
    async def _read_loop(self) -> None:
        reason = "peer closed the connection"
        error: BaseException | None = None
        try:
            while True:
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    self.codec.receive_data(None)
                    self._drain_codec()
                    break
                self.codec.receive_data(data)
                self._drain_codec()
        except NotAMIError as e:
            error = e
            reason = str(e)
        except RemoteProtocolError as e:
            error = e
            reason = f"fatal protocol error: {e}"
            self._on_protocol_error(e)
        except (ConnectionError, OSError) as e:
            error = e
            reason = f"read failed: {e}"
        except asyncio.CancelledError:
            reason = "client closed"
            raise
        finally:
            self._finish(self._abort_reason or reason, error)

    def _drain_codec(self) -> None:
        codec = self.codec
        on_messages = self._on_messages
        while True:
            try:
                batch = codec.next_messages()
            except RemoteProtocolError as e:
                if e.fatal:
                    raise
                self._on_protocol_error(e)
                continue
            if codec.banner is not None and not self.banner.done():
                self.banner.set_result(codec.banner)
            if not batch:
                return
            try:
                on_messages(batch)
            except Exception:
                log.exception("AMI %s: handling %d messages failed", self.where, len(batch))

    def _finish(self, reason: str, error: BaseException | None) -> None:
        self.closed = True
        self.lost_reason = reason
        if not self.banner.done():
            if isinstance(error, NotAMIError):
                self.banner.set_exception(error)
            else:
                self.banner.set_exception(
                    AMIConnectionError(
                        f"{self.where} closed the connection before sending the AMI banner"
                        if self._abort_reason is None
                        else f"AMI link to {self.where} dropped before the banner: {reason}",
                        host=self.host,
                        port=self.port,
                    )
                )
            # nobody may be waiting any more: mark the exception as seen
            self.banner.exception()
        self._writer.transport.abort()
        try:
            self._on_lost(self, reason, error)
        except Exception:
            log.exception("AMI %s: on_lost failed", self.where)
