"""StoreWriter: write-behind for the shell, so SQL never sits on the event path.

``submit(request)`` only appends to an ``asyncio.Queue``; one background task
drains it and applies up to ``max_batch`` requests per transaction, in the
order they were submitted. Reads do not go through here: they are direct
awaits on :class:`~callcenter.storage.store.Store`, and see what has been
applied (call ``await writer.flush()`` first when read-your-writes matters).

What happens to a write that fails, so nothing is lost silently:

1. A request refused by the store before writing (:class:`DuplicateOutcome`,
   :class:`UnknownCall`) is logged and skipped; the batch goes on.
2. A batch whose transaction fails is retried once, as a whole, after
   ``retry_delay_s`` (a dropped connection, a lock timeout).
3. If it fails again, each request is applied in its own SAVEPOINT inside
   one transaction, so only the bad ones are lost.
4. Every lost request is logged at ERROR with its full content and the
   error, and counted in ``lost``; ``applied`` and ``rejected`` count the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Final

from callcenter.storage.errors import DuplicateOutcome, StorageError, WriterClosed
from callcenter.storage.store import Store
from callcenter.storage.writes import WriteRequest, apply_write

__all__ = ["StoreWriter"]

log = logging.getLogger(__name__)


class _Stop:
    """Queued by close(): everything submitted before it is written first."""


_STOP: Final = _Stop()


class StoreWriter:
    """Batches write requests into transactions on a background task."""

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = 500,
        max_pending: int = 100_000,
        retry_delay_s: float = 0.2,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.store = store
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.retry_delay_s = retry_delay_s
        #: Requests written, refused by the store, and lost (see module docstring).
        self.applied = 0
        self.rejected = 0
        self.lost = 0
        self._queue: asyncio.Queue[WriteRequest | _Stop] = asyncio.Queue()
        self._submitted = 0
        self._done = 0
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> StoreWriter:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def pending(self) -> int:
        """Requests submitted and not yet written (or given up on)."""
        return self._submitted - self._done

    def start(self) -> None:
        """Start the background task (on the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="hotline-store-writer"
            )

    def submit(self, request: WriteRequest) -> bool:
        """Queue a write without waiting. False if the writer is over ``max_pending``
        (the request is then logged as lost); raises :class:`WriterClosed` after close()."""
        if self._closed:
            raise WriterClosed(repr(request))
        if self.pending >= self.max_pending:
            self._lose([request], f"writer queue full ({self.max_pending} pending)")
            return False
        self._submitted += 1
        self._queue.put_nowait(request)
        return True

    async def flush(self) -> None:
        """Wait until every request submitted so far is written (or logged as lost)."""
        target = self._submitted
        while self._done < target:
            if self._task is None or self._task.done():
                raise RuntimeError("StoreWriter is not running; nothing will be written")
            progress = self._progress
            await progress.wait()

    async def close(self) -> None:
        """Write everything already submitted, then stop. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._task is None:
            if self.pending:
                self._lose(self._drain(), "writer closed before it was started")
            return
        self._queue.put_nowait(_STOP)
        await self._task

    # -- background task -------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._drain_queue()
        finally:
            self._advance(0)  # wake flush() callers, which then see the task is done

    async def _drain_queue(self) -> None:
        while True:
            first = await self._queue.get()
            if isinstance(first, _Stop):
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if isinstance(item, _Stop):
                    stop = True
                    break
                batch.append(item)
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                self._lose(batch, "writer task cancelled")
                self._lose(self._drain(), "writer task cancelled")
                raise
            except Exception as exc:  # a bug here must not kill the writer
                log.exception("store writer failed on a batch")
                self._lose(batch, exc)
            finally:
                self._advance(len(batch))
            if stop:
                return

    def _advance(self, count: int) -> None:
        self._done += count
        self._progress.set()
        self._progress = asyncio.Event()

    def _drain(self) -> list[WriteRequest]:
        left: list[WriteRequest] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not isinstance(item, _Stop):
                left.append(item)
        self._done += len(left)
        return left

    async def _write(self, batch: list[WriteRequest]) -> None:
        try:
            await self._write_batch(batch)
            return
        except Exception as exc:
            log.warning("store write batch of %d failed (%r); retrying once", len(batch), exc)
        await asyncio.sleep(self.retry_delay_s)
        try:
            await self._write_batch(batch)
            return
        except Exception as exc:
            log.error(
                "store write batch of %d failed again (%r); writing one by one", len(batch), exc
            )
        await self._write_one_by_one(batch)

    async def _write_batch(self, batch: list[WriteRequest]) -> None:
        refused: list[tuple[WriteRequest, StorageError]] = []
        async with self.store.write_session() as session:
            for request in batch:
                try:
                    await apply_write(session, request)
                except StorageError as exc:  # refused before writing: skip it
                    refused.append((request, exc))
        self.applied += len(batch) - len(refused)
        self._refuse(refused)

    async def _write_one_by_one(self, batch: list[WriteRequest]) -> None:
        written: list[WriteRequest] = []
        refused: list[tuple[WriteRequest, StorageError]] = []
        tried = 0
        try:
            async with self.store.write_session() as session:
                for request in batch:
                    tried += 1
                    try:
                        async with session.begin_nested():
                            await apply_write(session, request)
                    except StorageError as exc:
                        refused.append((request, exc))
                    except Exception as exc:
                        self._lose([request], exc)
                    else:
                        written.append(request)
        except Exception as exc:  # the transaction itself failed: nothing of it stayed
            self._lose(written + batch[tried:], exc)
            self._refuse(refused)
            return
        self.applied += len(written)
        self._refuse(refused)

    def _refuse(self, refused: Sequence[tuple[WriteRequest, StorageError]]) -> None:
        for request, exc in refused:
            if isinstance(exc, DuplicateOutcome):
                self.rejected += 1
                log.warning("store writer skipped a duplicate outcome: %r", request)
            else:
                self._lose([request], exc)

    def _lose(self, requests: Sequence[WriteRequest], why: object) -> None:
        if not requests:
            return
        self.lost += len(requests)
        log.error(
            "store writer LOST %d write(s) (%s): %s",
            len(requests),
            why,
            "; ".join(repr(request) for request in requests),
        )
