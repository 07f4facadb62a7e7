"""The Asterisk side of the config file: the AMI nodes (``nodes``) and what the
dialplan looks like (``hotline``, ``deploy/asterisk/``)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from yamlconf import matching, problem

from .fields import Context, EnvName, Port, Seconds, _environ, _Strict

_NODE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _pjsip_pattern(value: str) -> str:
    """A phone pattern names PJSIP devices: a trunk can only dial ``PJSIP/<ext>@<trunk>``."""
    if not value.startswith("PJSIP/") or len(value) == len("PJSIP/"):
        raise problem(f"{value!r}: a phone pattern is PJSIP/<extension or glob>, e.g. PJSIP/2*")
    return value


class NodeConfig(_Strict):
    """One Asterisk node: where its AMI listens and how the controller logs in."""

    name: Annotated[str, AfterValidator(matching(_NODE_NAME, "node name"))]
    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 5038
    #: the ``[user]`` section of manager.conf
    username: str = Field(min_length=1)
    secret: SecretStr | None = None
    #: name of an environment variable holding the secret (instead of ``secret``)
    secret_env: EnvName | None = None
    #: md5: challenge-response (the secret never crosses the wire); plain: Secret header
    auth: Literal["md5", "plain"] = "md5"
    ping_interval_s: Seconds = 20.0
    action_timeout_s: Seconds = 10.0
    #: this node's own MixMonitor ``File=`` directory, as its Asterisk sees it (absolute);
    #: None: ``hotline.recordings_dir``
    recordings_dir: str | None = None
    #: where the controller reads this node's recordings (absolute, or relative to the
    #: config file); None: the same path as this node's ``recordings_dir``
    recordings_local_dir: Path | None = None
    #: the agents' phones registered on this node (their home), as glob patterns of an
    #: agent's ``device`` (``PJSIP/2*``); a device no node names rings from the caller's
    #: node, as with one node
    phones: list[Annotated[str, AfterValidator(_pjsip_pattern)]] = Field(default_factory=list)
    #: another node's name -> the PJSIP endpoint on this node that reaches it (pjsip.conf);
    #: an agent leg to a phone of that node leaves through it: ``PJSIP/<ext>@<endpoint>``
    trunks: dict[str, Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]] = Field(
        default_factory=dict
    )

    _secret: str = PrivateAttr("")

    @field_validator("recordings_dir")
    @classmethod
    def _recordings_dir(cls, value: str | None) -> str | None:
        return None if value is None else _mixmonitor_dir(value)

    @model_validator(mode="after")
    def _local_needs_dir(self) -> Self:
        if self.recordings_local_dir is not None and self.recordings_dir is None:
            raise problem("recordings_local_dir needs this node's recordings_dir",
                          at="recordings_local_dir")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _one_secret(self, info: ValidationInfo) -> Self:
        if self.secret is not None and self.secret_env is not None:
            raise problem("give secret or secret_env, not both", at="secret_env")
        if self.secret is not None:
            self._secret = self.secret.get_secret_value()
        elif self.secret_env is not None:
            value = _environ(info).get(self.secret_env)
            if not value:
                raise problem(f"environment variable {self.secret_env} is not set", at="secret_env")
            self._secret = value
        else:
            raise problem("required (or secret_env)", at="secret")
        return self

    @property
    def resolved_secret(self) -> str:
        """The AMI secret, from ``secret`` or from the environment at load time."""
        return self._secret


def _mixmonitor_dir(value: str) -> str:
    """A MixMonitor ``File=`` directory: absolute, with no character ``File=`` cannot take."""
    if not PurePosixPath(value).is_absolute():
        raise problem(
            f"{value!r} is not an absolute path (Asterisk would put a relative"
            " File= under its own spool directory)"
        )
    if any(c in value for c in ",|\"'\n\r"):
        raise problem(f"{value!r} holds a character MixMonitor cannot take in File=")
    return value


class DialplanSettings(_Strict):
    """The Asterisk side the controller relies on (``deploy/asterisk/extensions.conf``)."""

    #: an AsyncAGIStart in one of these contexts is a new caller
    entry_contexts: list[Context] = Field(["hotline-safe"], min_length=1)
    #: where option F of Bridge() sends the caller when the agent hangs up (CSAT survey)
    after_call_context: Context = "after-call"
    #: where an answered ring-all leg waits until the controller picks it (exten ``s``)
    #: and bridges once picked (exten ``bridge``)
    ring_all_context: Context = "agent-ring-all"
    #: where an agent leg waits (``s``, priority 1) while its caller visits the IVR
    agent_wait_context: Context = "hotline-agent-wait"
    #: where a queued callback's agent leg runs AsyncAGI (``s``): the whisper, then the
    #: customer's leg bridges onto it
    callback_context: Context = "hotline-callback"
    #: where ``Atxfer`` rings a consulted agent's phone (attended transfer): exten
    #: ``<endpoint>`` of a ``PJSIP/<endpoint>`` device (a ``Local/<exten>@<context>``
    #: device is rung at its own extension)
    consult_context: Context = "hotline-consult"
    #: musiconhold.conf class played to queued callers
    moh_class: Context = "default"
    #: MixMonitor ``File=`` directory, as Asterisk sees it (absolute)
    recordings_dir: str = "/var/spool/asterisk/monitor"
    #: where the controller reads those WAVs; None: the same path
    recordings_local_dir: Path | None = None
    #: where an IVR voicemail node's RECORD FILE writes, as Asterisk sees it (absolute)
    voicemail_dir: str = "/var/spool/asterisk/voicemail/hotline"
    #: where the controller reads those files; None: the same path
    voicemail_local_dir: Path | None = None

    @field_validator("recordings_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return _mixmonitor_dir(value)

    @field_validator("voicemail_dir")
    @classmethod
    def _voicemail_absolute(cls, value: str) -> str:
        if not PurePosixPath(value).is_absolute():
            raise problem(
                f"{value!r} is not an absolute path (Asterisk would put a relative"
                " RECORD FILE name in a directory of its own)"
            )
        if any(c.isspace() or c in "\"'" for c in value):
            raise problem(f"{value!r} holds a space or a quote, which RECORD FILE cannot take")
        return value

    @property
    def bridge_after_call(self) -> str:
        """Option F of ``Bridge()``: ``F(after-call^s^1)`` (transcript 03, part B)."""
        return f"F({self.after_call_context}^s^1)"
