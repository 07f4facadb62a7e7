"""What the voicemail and callback routes need from behind the web edge
(``callcenter.ivr_messages.IvrMessages`` fits), and the answers they give."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from typing_extensions import TypedDict


class VoicemailFacts(TypedDict):
    """One voicemail as the list shows it (times ISO 8601, UTC)."""

    id: int
    call_id: str
    file: str
    at: str | None
    duration_s: float | None
    size_bytes: int | None
    format: str
    caller_number: str | None
    customer_id: int | None
    queue: str | None
    flow: str
    node: str


class VoicemailPage(TypedDict):
    voicemails: list[VoicemailFacts]
    #: more rows follow this page
    more: bool
    offset: int


class CallbackFacts(TypedDict):
    """One callback request: ``pending`` while it waits to be dialled back (flow core rule
    13; a scheduled one until and after its due time, rule 18), then ``completed`` or
    ``failed``."""

    id: int
    call_id: str
    number: str
    #: the caller's own number (true) or one typed in the IVR (false)
    own_number: bool
    queue: str
    requested_at: str | None
    status: str
    customer_id: int | None
    flow: str
    node: str
    #: scheduled from the desk (node ``desk``, ``call_id`` the call it was set on): when it
    #: is due (UTC), the agent who set it, their note; null for the others
    due_at: str | None
    agent_id: str | None
    note: str | None


class CallbackPage(TypedDict):
    callbacks: list[CallbackFacts]
    more: bool
    offset: int


class Messages(Protocol):
    async def voicemails(self, queue: str | None, limit: int, offset: int) -> VoicemailPage:
        """One page of voicemails, newest first."""
        ...

    async def voicemail_file(self, voicemail_id: int) -> tuple[Path, str] | None:
        """The voicemail's file as this machine reads it and its format; None: no such row."""
        ...

    async def callbacks(
        self, queue: str | None, status: str | None, limit: int, offset: int
    ) -> CallbackPage:
        """One page of callback requests, oldest first (the order they are to be called)."""
        ...
