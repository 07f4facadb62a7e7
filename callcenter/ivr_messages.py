"""The IVR's messages as the web edge reads them: voicemails (rows of ``voicemails``,
files in the controller's ``voicemail_read_dir``) and callback requests (rows of
``callback_requests``). SQL through the store's sessions."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.storage.models import CallbackRequest, Voicemail
from callcenter.web.messages_port import CallbackFacts, CallbackPage, VoicemailFacts, VoicemailPage
from sqlbase import iso_utc

__all__ = ["IvrMessages"]


def _voicemail(v: Voicemail) -> VoicemailFacts:
    return VoicemailFacts(id=v.id, call_id=v.call_id, file=PurePosixPath(v.path).name,
                          at=iso_utc(v.at), duration_s=v.duration_s, size_bytes=v.size_bytes,
                          format=v.format, caller_number=v.caller_number,
                          customer_id=v.customer_id, queue=v.queue, flow=v.flow,
                          node=v.node)  # fmt: skip


def _callback(c: CallbackRequest) -> CallbackFacts:
    return CallbackFacts(id=c.id, call_id=c.call_id, number=c.number, own_number=c.own_number,
                         queue=c.queue, requested_at=iso_utc(c.requested_at), status=c.status,
                         customer_id=c.customer_id, flow=c.flow, node=c.node,
                         due_at=iso_utc(c.due_at),
                         agent_id=str(c.agent_id) if c.agent_id is not None else None,
                         note=c.note)  # fmt: skip


class IvrMessages:
    """List voicemails and callback requests, open a voicemail's file."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], read_dir: Path) -> None:
        self.sessions = sessions
        self.read_dir = read_dir

    async def voicemails(self, queue: str | None, limit: int, offset: int) -> VoicemailPage:
        query = select(Voicemail).order_by(Voicemail.at.desc(), Voicemail.id.desc())
        if queue:
            query = query.where(Voicemail.queue == queue)
        async with self.sessions() as s:
            rows = list(await s.scalars(query.offset(offset).limit(limit + 1)))
        return VoicemailPage(voicemails=[_voicemail(v) for v in rows[:limit]],
                             more=len(rows) > limit, offset=offset)  # fmt: skip

    async def voicemail_file(self, voicemail_id: int) -> tuple[Path, str] | None:
        async with self.sessions() as s:
            v = await s.get(Voicemail, voicemail_id)
        if v is None:
            return None
        return self.read_dir / PurePosixPath(v.path).name, v.format

    async def callbacks(
        self, queue: str | None, status: str | None, limit: int, offset: int
    ) -> CallbackPage:
        query = select(CallbackRequest).order_by(CallbackRequest.requested_at, CallbackRequest.id)
        if queue:
            query = query.where(CallbackRequest.queue == queue)
        if status:
            query = query.where(CallbackRequest.status == status)
        async with self.sessions() as s:
            rows = list(await s.scalars(query.offset(offset).limit(limit + 1)))
        return CallbackPage(callbacks=[_callback(c) for c in rows[:limit]],
                            more=len(rows) > limit, offset=offset)  # fmt: skip
