"""The REST API's OpenAPI 3.1 document, served at ``/api/openapi.json``.

Built from the same types the API uses: the request schemas are the pydantic
models that validate each body (``callcenter.web.api``), the answers are the
TypedDicts the controller fills in (``callcenter.web.ports``). A route added to
the API without an entry here is caught by ``tests/test_openapi.py``, which also
fuzzes every route from this document (schemathesis) against a running app.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

from callcenter.reports.build import BY_CHOICES
from callcenter.web.admin_api import (
    DeskLists,
    Done,
    ListEntry,
    Login,
    LoginChange,
    Logins,
    NewLogin,
    NewToken,
    TokenMade,
    Tokens,
)
from callcenter.web.api import (
    AgentStateBody,
    DispositionBody,
    PauseBody,
    ReadyBody,
    WrapUpBody,
)
from callcenter.web.callback_api import CallbackBody, CallbackScheduled
from callcenter.web.keys import DISPOSITION_CODES, PAUSE_REASONS
from callcenter.web.messages_port import CallbackPage, VoicemailPage
from callcenter.web.ports import AgentPage, WaitingCall, WallboardSnapshot
from callcenter.web.recordings_api import (
    IvrVisitAsked,
    IvrVisitBody,
    MuteAsked,
    MuteBody,
    RecordAsked,
)
from callcenter.web.recordings_port import RecordingAudit, RecordingPage
from callcenter.web.reports_port import ReportDocument
from callcenter.web.session import COOKIE_NAME
from callcenter.web.supervise_api import MoveBody, SpyAsked, SpyBody
from callcenter.web.transfer_api import ConsultEnding, TransferAsked, TransferBody

__all__ = ["PATH", "openapi_document", "serve"]

#: Where the document is served.
PATH = "/api/openapi.json"


class ErrorBody(TypedDict):
    """Every refusal: a stable code and a sentence for people (``web/errors.py``)."""

    error: str
    reason: str


class DispositionSaved(TypedDict):
    saved: bool
    call_id: str
    code: str
    #: the FCR flag saved: the body's, else the code's default
    fcr: bool


class WaitingCalls(TypedDict):
    """``GET /api/waiting``: the unanswered calls, per queue in line order."""

    calls: list[WaitingCall]


class CallMovedAnswer(TypedDict):
    """``POST /api/calls/{call_id}/move``: the call's row of ``GET /api/waiting`` after
    the move (null: it left meanwhile)."""

    call: WaitingCall | None


class Health(TypedDict, total=False):
    """``/healthz``: ``ok`` when every AMI node is connected and SQL takes writes."""

    ok: bool
    #: node name -> connected
    ami: dict[str, bool]
    #: node name -> the last connect error of a node that is down
    errors: dict[str, str | None]
    #: the SQL writer's figures (journal, database up)
    storage: dict[str, Any]
    #: why the probe itself failed
    reason: str


_NAMED: dict[str, Any] = {
    "ReadyBody": ReadyBody,
    "PauseBody": PauseBody,
    "WrapUpBody": WrapUpBody,
    "DispositionBody": DispositionBody,
    "AgentStateBody": AgentStateBody,
    "WaitingCalls": WaitingCalls,
    "MuteBody": MuteBody,
    "IvrVisitBody": IvrVisitBody,
    "IvrVisitAsked": IvrVisitAsked,
    "TransferBody": TransferBody,
    "TransferAsked": TransferAsked,
    "ConsultEnding": ConsultEnding,
    "CallbackBody": CallbackBody,
    "CallbackScheduled": CallbackScheduled,
    "MuteAsked": MuteAsked,
    "RecordAsked": RecordAsked,
    "SpyBody": SpyBody,
    "MoveBody": MoveBody,
    "CallMovedAnswer": CallMovedAnswer,
    "SpyAsked": SpyAsked,
    "RecordingPage": RecordingPage,
    "RecordingAudit": RecordingAudit,
    "VoicemailPage": VoicemailPage,
    "CallbackPage": CallbackPage,
    "ReportDocument": ReportDocument,
    "AgentPage": AgentPage,
    "WallboardSnapshot": WallboardSnapshot,
    "DispositionSaved": DispositionSaved,
    "ErrorBody": ErrorBody,
    "Health": Health,
    "NewLogin": NewLogin,
    "LoginChange": LoginChange,
    "Login": Login,
    "Logins": Logins,
    "NewToken": NewToken,
    "TokenMade": TokenMade,
    "Tokens": Tokens,
    "ListEntry": ListEntry,
    "DeskLists": DeskLists,
    "Done": Done,
}


def _schemas() -> dict[str, Any]:
    adapters: list[tuple[str, Literal["validation", "serialization"], TypeAdapter[Any]]] = []
    for name, t in _NAMED.items():
        # request bodies as they are validated, answers as they are written
        is_body = isinstance(t, type) and issubclass(t, BaseModel)
        adapters.append((name, "validation" if is_body else "serialization", TypeAdapter(t)))
    _, defs = TypeAdapter.json_schemas(adapters, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = defs.get("$defs", {})
    return schemas


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    why = {
        400: "a bad body or path parameter (the reason names the field)",
        401: "no valid session: log in first",
        403: "the role may not do this, or a POST from a foreign origin",
        404: "no such agent, call, login, token or code",
        409: "right input at the wrong moment (e.g. Ready while talking)",
        503: "the database is away: try again",
    }
    return {str(s): _json("ErrorBody", why[s]) for s in statuses}


def _body(name: str, *, required: bool) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": _ref(name)}}}


def _agent_id() -> dict[str, Any]:
    return {"name": "agent_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _call_id() -> dict[str, Any]:
    return {"name": "call_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:@-]{1,96}$"}}  # fmt: skip


def _recording_id() -> dict[str, Any]:
    return {"name": "recording_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,14}$"}}  # fmt: skip


def _audio(description: str) -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"description": description,
            "content": {"audio/wav": binary, "audio/x-gsm": binary}}  # fmt: skip


def _page_parameters(*extra: str) -> list[dict[str, Any]]:
    """``queue`` (and ``status``), ``limit`` and ``offset`` of the voicemail and callback lists."""

    def q(name: str, schema: dict[str, Any], what: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": what}  # fmt: skip

    params = [q("queue", {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"},
                "the queue")]  # fmt: skip
    if "status" in extra:
        params.append(q("status", {"type": "string", "pattern": "^[a-z_]{1,16}$"},
                        "the request's status (pending)"))  # fmt: skip
    return [
        *params,
        q("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "rows per page (50)"),
        q("offset", {"type": "integer", "minimum": 0, "maximum": 999_999_999}, "rows to skip"),
    ]


def _search_parameters() -> list[dict[str, Any]]:
    def q(name: str, schema: dict[str, Any], what: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": what}  # fmt: skip

    time = {"type": "string", "format": "date-time"}
    seconds = {"type": "string", "pattern": "^[0-9]{1,7}(\\.[0-9]{1,3})?$"}
    return [
        q("caller", {"type": "string", "pattern": "^\\+?[0-9]{1,32}$"}, "part of the caller's number"),
        q("agent", {"type": "string", "pattern": "^[0-9]{1,9}$"}, "the agent's id"),
        q("queue", {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}, "the queue"),
        q("customer", {"type": "string", "pattern": "^[0-9]{1,9}$"}, "the CRM customer id"),
        q("since", time, "started at or after (with offset)"),
        q("until", time, "started before (with offset)"),
        q("min_duration_s", seconds, "at least this long"),
        q("max_duration_s", seconds, "at most this long"),
        q("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "rows per page (50)"),
        q("offset", {"type": "integer", "minimum": 0, "maximum": 999999999}, "rows skipped"),
    ]


def _report_parameters() -> list[dict[str, Any]]:
    when = {"type": "string", "format": "date"}

    def q(name: str, schema: dict[str, Any], what: str, required: bool = False
          ) -> dict[str, Any]:  # fmt: skip
        return {"name": name, "in": "query", "required": required, "schema": schema,
                "description": what}  # fmt: skip

    return [
        q("from", when, "start, included: a local day of the hotline's time_zone (an ISO"
          " time is taken too; without an offset, local); years 1900 to 9998", True),
        q("to", when, "end, excluded: same forms", True),
        q("by", {"type": "string", "enum": list(BY_CHOICES)}, "the rows (queue)"),
        q("format", {"type": "string", "enum": ["json", "csv"]}, "the answer (json)"),
    ]  # fmt: skip


def _path(name: str, pattern: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "pattern": pattern}}  # fmt: skip


def _admin_paths(session: list[dict[str, list[str]]]) -> dict[str, Any]:
    """``/api/admin/...`` and ``/api/desk-lists`` (``callcenter.web.admin_api``)."""
    username = _path("username", "^[^/]{1,64}$")
    code = _path("code", "^[a-z][a-z0-9_]{0,31}$")
    written = _errors(400, 401, 403, 404, 409, 503)

    def entry(what: str, op: str) -> dict[str, Any]:
        return {
            "put": {"summary": f"Offer a {what} on the desk with its label, or change the"
                               " label (admins; at once)",
                    "operationId": f"put{op}", "security": session, "parameters": [code],
                    "requestBody": _body("ListEntry", required=True),
                    "responses": {"200": _json("DeskLists", "changed: the lists now"),
                                  "201": _json("DeskLists", "added: the lists now"),
                                  **written}},
            "delete": {"summary": f"Stop offering a {what} (admins; its records keep it)",
                       "operationId": f"retire{op}", "security": session,
                       "parameters": [code],
                       "responses": {"200": _json("DeskLists", "the lists now"), **written}},
        }  # fmt: skip

    return {
        "/api/admin/logins": {
            "get": {"summary": "Every login with its role, phone and routing data"
                               " (admins, supervisors)",
                    "operationId": "listLogins", "security": session,
                    "responses": {"200": _json("Logins", "the logins"),
                                  **_errors(401, 403, 503)}},
            "post": {"summary": "Add a login; an agent can log in and take calls at once"
                                " (admins)",
                     "operationId": "addLogin", "security": session,
                     "requestBody": _body("NewLogin", required=True),
                     "responses": {"201": _json("Login", "the login made"), **written}},
        },
        "/api/admin/logins/{username}": {
            "patch": {"summary": "Change a login's name, phone, password, role, queues,"
                                 " skills or penalties; at once: a new role binds the"
                                 " login's open sessions and tokens from their next"
                                 " request, an agent leaving the role is logged out of"
                                 " the ACD, the only admin left keeps it (409"
                                 " last_admin) (admins)",
                      "operationId": "changeLogin", "security": session,
                      "parameters": [username],
                      "requestBody": _body("LoginChange", required=True),
                      "responses": {"200": _json("Login", "the login now"), **written}},
            "delete": {"summary": "Remove a login: its sessions and tokens end, its agent"
                                  " leaves the queues; its history stays (admins)",
                       "operationId": "removeLogin", "security": session,
                       "parameters": [username],
                       "responses": {"200": _json("Done", "removed"), **written}},
        },
        "/api/admin/tokens": {
            "get": {"summary": "Every API token (never the token itself; admins,"
                               " supervisors)",
                    "operationId": "listTokens", "security": session,
                    "responses": {"200": _json("Tokens", "the tokens"),
                                  **_errors(401, 403, 503)}},
            "post": {"summary": "Make a token acting as a login (shown once; admins)",
                     "operationId": "addToken", "security": session,
                     "requestBody": _body("NewToken", required=True),
                     "responses": {"201": _json("TokenMade", "the token"), **written}},
        },
        "/api/admin/tokens/{name}": {"delete": {
            "summary": "Revoke a token: it stops working at once (admins)",
            "operationId": "revokeToken", "security": session,
            "parameters": [_path("name", "^[^/]{1,64}$")],
            "responses": {"200": _json("Done", "revoked"), **written}}},
        "/api/admin/dispositions/{code}": entry("disposition code", "Disposition"),
        "/api/admin/pause-reasons/{code}": entry("pause reason", "PauseReason"),
        "/api/desk-lists": {"get": {
            "summary": "The disposition codes and pause reasons the desk offers now"
                       " (any login)",
            "operationId": "deskLists", "security": session,
            "responses": {"200": _json("DeskLists", "code -> label, in order"),
                          **_errors(401)}}},
    }  # fmt: skip


def openapi_document(
    disposition_codes: Iterable[str] | None = None, pause_reasons: Iterable[str] | None = None
) -> dict[str, Any]:
    """The document (a new dict each time); with the offered ``disposition_codes`` and
    ``pause_reasons`` the disposition's ``code`` and the pause's ``reason`` are one of
    them (the served document has the lists as they are now)."""
    # the login's cookie, or a bearer token of `callcenter tokens add` acting as a login
    session: list[dict[str, list[str]]] = [{"session": []}, {"token": []}]
    paths: dict[str, Any] = {
        "/api/wallboard": {"get": {
            "summary": "The wallboard: queue figures, agents, AMI nodes (supervisors)",
            "operationId": "wallboard", "security": session,
            "responses": {"200": _json("WallboardSnapshot", "the current snapshot"),
                          **_errors(401, 403)},
        }},
        "/api/agents/{agent_id}": {"get": {
            "summary": "An agent's state and current caller (the agent, or a supervisor)",
            "operationId": "agentState", "security": session, "parameters": [_agent_id()],
            "responses": {"200": _json("AgentPage", "the agent's page"), **_errors(401, 403, 404)},
        }},
        "/api/agents/{agent_id}/spy": {"post": {
            "summary": "Listen to, whisper to or barge into an agent's call: the supervisor's"
                       " phone is rung into ChanSpy (supervisors); 409 when the agent is on"
                       " no call or the supervisor's login has no phone",
            "operationId": "spyOnAgent", "security": session, "parameters": [_agent_id()],
            "requestBody": _body("SpyBody", required=True),
            "responses": {"202": _json("SpyAsked", "the supervisor's phone is being rung"),
                          **_errors(400, 401, 403, 404, 409, 503)},
        }},
        "/api/agents/{agent_id}/state": {"post": {
            "summary": "Set an agent's state: ready, paused with a reason, or logged out"
                       " (supervisors; an agent on a call is logged out when it ends)",
            "operationId": "setAgentState", "security": session, "parameters": [_agent_id()],
            "requestBody": _body("AgentStateBody", required=True),
            "responses": {"200": _json("AgentPage", "the agent's page after the change"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/waiting": {"get": {
            "summary": "The calls not answered yet, per queue in line order, with their"
                       " wait, priority and estimated wait (supervisors)",
            "operationId": "waitingCalls", "security": session,
            "parameters": [{"name": "queue", "in": "query", "required": False,
                            "description": "one queue only",
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}}],
            "responses": {"200": _json("WaitingCalls", "the unanswered calls"),
                          **_errors(400, 401, 403, 404)},
        }},
        "/api/agent/ready": {"post": {
            "summary": "The logged-in agent is ready for calls",
            "operationId": "agentReady", "security": session,
            "requestBody": _body("ReadyBody", required=False),
            "responses": {"200": _json("AgentPage", "the agent's page after the change"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/agent/pause": {"post": {
            "summary": "The logged-in agent pauses, with a reason",
            "operationId": "agentPause", "security": session,
            "requestBody": _body("PauseBody", required=False),
            "responses": {"200": _json("AgentPage", "the agent's page after the change"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/agent/wrap-up": {"post": {
            "summary": "The logged-in agent ends the wrap-up now or extends it (up to the"
                       " queue's wrap_up_max_s from the call's end)",
            "operationId": "agentWrapUp", "security": session,
            "requestBody": _body("WrapUpBody", required=True),
            "responses": {"200": _json("AgentPage", "the agent's page after the change"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/calls/{call_id}/disposition": {"post": {
            "summary": "The agent's disposition of a call they answered, with notes",
            "operationId": "saveDisposition", "security": session, "parameters": [_call_id()],
            "requestBody": _body("DispositionBody", required=True),
            "responses": {"200": _json("DispositionSaved", "written to the contact history"),
                          **_errors(400, 401, 403, 404, 409, 503)},
        }},
        "/api/calls/{call_id}/recording/mute": {"post": {
            "summary": "Mute or unmute a live call's recording (its agent, or a supervisor)",
            "operationId": "muteRecording", "security": session, "parameters": [_call_id()],
            "requestBody": _body("MuteBody", required=True),
            "responses": {"200": _json("MuteAsked", "sent to Asterisk (MixMonitorMute)"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/calls/{call_id}/ivr": {"post": {
            "summary": "Send a talking caller to an IVR node (a card number); back to its"
                       " agent when that IVR is done (its agent, or a supervisor)",
            "operationId": "sendToIvr", "security": session, "parameters": [_call_id()],
            "requestBody": _body("IvrVisitBody", required=True),
            "responses": {"200": _json("IvrVisitAsked", "the caller is on its way"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/calls/{call_id}/transfer": {"post": {
            "summary": "Hand the talking caller on to a queue, or to a named agent (it waits"
                       " for that agent alone up to 60 s, then for the queue's), blind: it"
                       " waits as the same call and the next agent gets the same"
                       " screen-pop; the agent goes to wrap-up (the call's own agent only);"
                       " 404 unknown_queue/unknown_agent, 409 not_talking/agent_unavailable"
                       " (logged out or not of that queue); mode attended (agent, no queue):"
                       " consult that agent first (Atxfer: its phone rings, the caller"
                       " holds), then complete or cancel; 409 agent_busy (not Ready),"
                       " consulting (one under way); mode attended with queue and no"
                       " agent: consult that queue's next Ready agent as the ACD would"
                       " route, 409 no_agent_ready (none Ready)",
            "operationId": "transferCall", "security": session, "parameters": [_call_id()],
            "requestBody": _body("TransferBody", required=True),
            "responses": {"202": _json("TransferAsked", "the caller is on its way"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/calls/{call_id}/transfer/complete": {"post": {
            "summary": "Complete the attended transfer: the caller talks to the consulted"
                       " agent, the first goes to wrap-up (the call's own agent only);"
                       " 409 not_consulting, not_answered (the consulted agent has not"
                       " answered yet)",
            "operationId": "completeTransfer", "security": session, "parameters": [_call_id()],
            "responses": {"202": _json("ConsultEnding", "the transfer is being completed"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/calls/{call_id}/transfer/cancel": {"post": {
            "summary": "Cancel the attended transfer (CancelAtxfer): the caller is back"
                       " with its agent, the consulted agent is free (the call's own agent"
                       " only); 409 not_consulting",
            "operationId": "cancelTransfer", "security": session, "parameters": [_call_id()],
            "responses": {"202": _json("ConsultEnding", "the consultation is being ended"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/calls/{call_id}/callback": {"post": {
            "summary": "Schedule a callback on a call of the agent's: at `at` (ISO-8601; no"
                       " offset: the agent's time zone) the number (default the caller's)"
                       " enters the call's queue as a callback, dialled agent first (the"
                       " call's own agent only); 400 at past, unparseable or beyond"
                       " web.callback_max_days, number not valid; 404 unknown_call; 409"
                       " already_scheduled (one per call) or no_queue",
            "operationId": "scheduleCallback", "security": session, "parameters": [_call_id()],
            "requestBody": _body("CallbackBody", required=True),
            "responses": {"201": _json("CallbackScheduled", "it enters the queue at due_at"),
                          **_errors(400, 401, 403, 404, 409, 503)},
        }},
        "/api/calls/{call_id}/move": {"post": {
            "summary": "Move a waiting call: to another queue (its wait kept), to a new"
                       " priority, to a position of its line (1: the front) (supervisors);"
                       " 409 call_not_waiting once an agent's phone rings with it or it is"
                       " answered, past_max_wait past the new queue's max wait",
            "operationId": "moveCall", "security": session, "parameters": [_call_id()],
            "requestBody": _body("MoveBody", required=True),
            "responses": {"200": _json("CallMovedAnswer", "the call's place after the move"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/calls/{call_id}/recording/start": {"post": {
            "summary": "Start recording a talking call (on demand: its agent or a supervisor)",
            "operationId": "startRecording", "security": session, "parameters": [_call_id()],
            "responses": {"200": _json("RecordAsked", "MixMonitor asked for"),
                          **_errors(400, 401, 403, 404, 409)},
        }},
        "/api/recordings": {"get": {
            "summary": "Search recordings, newest first, a page at a time (supervisors)",
            "operationId": "searchRecordings", "security": session,
            "parameters": _search_parameters(),
            "responses": {"200": _json("RecordingPage", "one page of recordings"),
                          **_errors(400, 401, 403, 503)},
        }},
        "/api/recordings/{recording_id}/audio": {"get": {
            "summary": "Play a recording, with HTTP Range (supervisors; the call's agent if"
                       " the queue allows); a listen from byte 0 is audited",
            "operationId": "recordingAudio", "security": session,
            "parameters": [_recording_id()],
            "responses": {"200": _audio("the whole file"), "206": _audio("the range asked"),
                          **_errors(400, 401, 403, 404, 503)},
        }},
        "/api/recordings/{recording_id}/download": {"get": {
            "summary": "Download a recording as a file (same rights as audio); audited",
            "operationId": "recordingDownload", "security": session,
            "parameters": [_recording_id()],
            "responses": {"200": _audio("the file, as an attachment"),
                          "206": _audio("the range asked"),
                          **_errors(400, 401, 403, 404, 503)},
        }},
        "/api/recordings/{recording_id}/audit": {"get": {
            "summary": "Who listened to and downloaded a recording, and when (supervisors)",
            "operationId": "recordingAudit", "security": session,
            "parameters": [_recording_id()],
            "responses": {"200": _json("RecordingAudit", "the audit rows, oldest first"),
                          **_errors(400, 401, 403, 404, 503)},
        }},
        "/api/voicemails": {"get": {
            "summary": "Voicemails left at the IVR's voicemail nodes, newest first"
                       " (supervisors)",
            "operationId": "listVoicemails", "security": session,
            "parameters": _page_parameters(),
            "responses": {"200": _json("VoicemailPage", "one page of voicemails"),
                          **_errors(400, 401, 403, 503)},
        }},
        "/api/voicemails/{voicemail_id}/audio": {"get": {
            "summary": "Play a voicemail, with HTTP Range (supervisors)",
            "operationId": "voicemailAudio", "security": session,
            "parameters": [{"name": "voicemail_id", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,14}$"}}],
            "responses": {"200": _audio("the whole file"), "206": _audio("the range asked"),
                          **_errors(400, 401, 403, 404, 503)},
        }},
        "/api/callbacks": {"get": {
            "summary": "Callback requests made at the IVR's callback nodes, by the queued"
                       " callback, or scheduled from the desk (node desk, with due_at),"
                       " oldest first (supervisors)",
            "operationId": "listCallbacks", "security": session,
            "parameters": _page_parameters("status"),
            "responses": {"200": _json("CallbackPage", "one page of callback requests"),
                          **_errors(400, 401, 403, 503)},
        }},
        "/api/reports": {"get": {
            "summary": "KPIs of a time range by queue, agent or interval, with the Erlang C"
                       " staffing line (supervisors; docs/kpis.md)",
            "operationId": "getReport", "security": session,
            "parameters": _report_parameters(),
            "responses": {"200": {"description": "the report (csv: an attachment)",
                                  "content": {"application/json": {"schema":
                                                                   _ref("ReportDocument")},
                                              "text/csv": {"schema": {"type": "string"}}}},
                          **_errors(400, 401, 403, 503)},
        }},
        "/healthz": {"get": {
            "summary": "Liveness for load balancers and probes (no session needed)",
            "operationId": "healthz", "security": [],
            "responses": {"200": _json("Health", "every node connected, SQL up"),
                          "503": _json("Health", "a node or the database is down")},
        }},
        "/metrics": {"get": {
            "summary": "Prometheus exposition (no session needed; see docs/metrics.md)",
            "operationId": "metrics", "security": [],
            "responses": {"200": {"description": "text exposition format",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
        **_admin_paths(session),
    }  # fmt: skip
    schemas = _schemas()
    if disposition_codes is not None:
        schemas["DispositionBody"]["properties"]["code"]["enum"] = list(disposition_codes)
    if pause_reasons is not None:
        schemas["PauseBody"]["properties"]["reason"]["enum"] = list(pause_reasons)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hotline API",
            "version": "1",
            "description": "The agent desk's and the wallboard's JSON API. Log in with "
            "`POST /login` (form fields username, password); the session cookie "
            f"`{COOKIE_NAME}` authenticates every call. Errors are "
            '`{"error": code, "reason": text}`.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME},
                "token": {"type": "http", "scheme": "bearer",
                          "description": "`callcenter tokens add NAME --user LOGIN`: acts "
                                         "as that login, with its role, until revoked"},
            },
        },
        "security": session,
    }


async def serve(request: web.Request) -> web.StreamResponse:
    """``GET /api/openapi.json`` (no session needed: it holds no data)."""
    return web.json_response(
        openapi_document(request.app[DISPOSITION_CODES], request.app[PAUSE_REASONS])
    )
