"""The rows of a time range, read from SQL (SQLite or PostgreSQL) into plain records.

What each record field comes from:

- a call (``CallRecord``): its ``queue_outcomes`` row (queue, outcome, wait, agent)
  with outcome answered, abandoned, timeout or lost, and its ``calls`` row: entered
  the queue at ``calls.queued_at`` (else the outcome's time less the wait), talk
  time ``calls.talk_s``;
- hold: 0 (Hotline puts nobody on hold after the answer and records no hold);
- wrap-up: the agent's ``wrap_up`` spell in ``agent_state_changes`` after the call
  (:func:`.build.wrap_ups`);
- transferred: a ``transferred`` row in ``call_events``;
- FCR flag: the flag the agent saved with the call's latest disposition
  (``interactions.fcr``); a disposition saved before the flag (migration 0018,
  NULL) by its code: one of the config's ``fcr_dispositions``; None without a
  disposition;
- survey: its ``survey_answers`` row;
- agent states, pauses (``agent_pauses``) and callbacks (``callback_requests``) of
  the range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.kpis import CallRecord, SurveyRecord
from callcenter.storage.models import (
    Agent,
    AgentPause,
    AgentStateChange,
    Call,
    CallbackRequest,
    CallEvent,
    QueueOutcome,
    SurveyAnswer,
)
from crm_bridge.models import Interaction

from .build import AgentState, Callback, Pause, ReportData, wrap_ups

__all__ = ["load_report_data"]

_QUEUED = ("answered", "abandoned", "timeout", "lost")
#: how far past ``until`` a wrap-up spell may end and still be read
_WRAP_UP_SLACK = dt.timedelta(hours=1)


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _resolved(code: str, flag: bool | None, fcr_codes: Collection[str]) -> bool:
    """A disposition's FCR: the agent's flag; before the flag (NULL), by its code."""
    return flag if flag is not None else code in fcr_codes


async def load_report_data(
    sessions: async_sessionmaker[AsyncSession],
    since: dt.datetime,
    until: dt.datetime,
    *,
    fcr_codes: Collection[str],
) -> ReportData:
    """Every record :func:`.build.build_report` needs for ``[since, until)``."""
    async with sessions() as s:
        names = {a.id: a.username for a in await s.scalars(select(Agent))}

        def agent(agent_id: int | None) -> str | None:
            return None if agent_id is None else names.get(agent_id, str(agent_id))

        rows = (
            await s.execute(
                select(
                    QueueOutcome.call_id,
                    QueueOutcome.queue,
                    QueueOutcome.outcome,
                    QueueOutcome.wait_s,
                    QueueOutcome.agent_id,
                    QueueOutcome.at,
                    Call.queued_at,
                    Call.answered_at,
                    Call.talk_s,
                )
                .join(Call, Call.id == QueueOutcome.call_id)
                .where(
                    QueueOutcome.at >= since,
                    QueueOutcome.outcome.in_(_QUEUED),
                    or_(Call.queued_at < until, Call.queued_at.is_(None)),
                )
            )  # fmt: skip
        ).all()
        ids = [r.call_id for r in rows]
        transferred: set[str] = set()
        dispositions: dict[str, tuple[dt.datetime, int, str, bool | None]] = {}
        surveys: dict[str, SurveyRecord] = {}
        for chunk in _chunks(ids):
            transferred |= set(
                await s.scalars(
                    select(CallEvent.call_id).where(
                        CallEvent.call_id.in_(chunk), CallEvent.kind == "transferred"
                    )
                )
            )
            for call_id, created, row_id, code, flag in await s.execute(
                select(Interaction.call_id, Interaction.created_at, Interaction.id,
                       Interaction.disposition, Interaction.fcr
                       ).where(Interaction.call_id.in_(chunk))
            ):  # fmt: skip
                if call_id is not None and (
                    call_id not in dispositions or (created, row_id) > dispositions[call_id][:2]
                ):
                    dispositions[call_id] = (created, row_id, code, flag)
            for answer in await s.scalars(
                select(SurveyAnswer).where(SurveyAnswer.call_id.in_(chunk))
            ):
                surveys[answer.call_id] = SurveyRecord(answer.csat, answer.nps, answer.ces)
        # each agent's state at `since` (its last change before), then the range's
        # (rows are written in time order: an agent's latest has its highest id)
        last = (
            select(AgentStateChange.agent_id, func.max(AgentStateChange.id))
            .where(AgentStateChange.at < since)
            .group_by(AgentStateChange.agent_id)
        )
        before = {agent_id: row_id for agent_id, row_id in (await s.execute(last)).all()}
        state_rows = list(
            await s.scalars(
                select(AgentStateChange)
                .where(
                    or_(
                        AgentStateChange.id.in_(list(before.values())),
                        (AgentStateChange.at >= since)
                        & (AgentStateChange.at < until + _WRAP_UP_SLACK),
                    )
                )
                .order_by(AgentStateChange.at, AgentStateChange.id)
            )
        )
        pause_rows = list(
            await s.scalars(
                select(AgentPause).where(AgentPause.started_at < until, AgentPause.ended_at > since)
            )
        )
        callback_rows = list(
            await s.scalars(
                select(CallbackRequest).where(
                    CallbackRequest.requested_at >= since, CallbackRequest.requested_at < until
                )
            )
        )
    states = [AgentState(agent(r.agent_id) or "-", r.at.timestamp(), r.new) for r in state_rows]
    ends: dict[str, list[tuple[float, str]]] = {}
    for r in rows:
        who = agent(r.agent_id)
        if r.outcome == "answered" and who is not None and r.answered_at is not None:
            end = r.answered_at.timestamp() + (r.talk_s or 0.0)
            ends.setdefault(who, []).append((end, r.call_id))
    for mine in ends.values():
        mine.sort()
    wrap = wrap_ups(ends, states)
    calls = []
    for r in rows:
        entered = r.queued_at.timestamp() if r.queued_at else r.at.timestamp() - r.wait_s
        disposition = dispositions.get(r.call_id)
        calls.append(
            CallRecord(
                call_id=r.call_id,
                queue=r.queue,
                entered_at=entered,
                outcome=r.outcome,
                wait_s=r.wait_s,
                agent=agent(r.agent_id),
                talk_s=r.talk_s,
                wrap_up_s=wrap.get(r.call_id, 0.0),
                transferred=r.call_id in transferred,
                fcr=None if disposition is None else _resolved(*disposition[2:], fcr_codes),
                survey=surveys.get(r.call_id),
            )
        )
    return ReportData(
        calls=calls,
        states=states,
        pauses=[
            Pause(
                agent(p.agent_id) or "-", p.reason, p.started_at.timestamp(), p.ended_at.timestamp()
            )
            for p in pause_rows
        ],  # fmt: skip
        callbacks=[Callback(c.queue, c.requested_at.timestamp(), c.status) for c in callback_rows],
    )
