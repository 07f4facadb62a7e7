"""The config file's sections for what the controller talks to besides Asterisk:
the CRM lookup (``crm``) and the web edge (``web``)."""

from __future__ import annotations

import re
from typing import Annotated, Self

import phonenumbers
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from yamlconf import matching, problem

from .fields import EnvName, Port, Seconds, _environ, _Strict

#: a web session key shorter than this is refused
MIN_SECRET_KEY_BYTES = 32

_ORIGIN = re.compile(r"https?://[^/\s?#]+")


class CrmSettings(_Strict):
    """The caller lookup."""

    #: how numbers without a country code are read (phonenumbers region, ISO 3166)
    region: str = "VN"
    lookup_timeout_s: Seconds = 1.5

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise problem(f"{value!r} is not a region phonenumbers knows (e.g. VN, US, GB)")
        return value


class WebSettings(_Strict):
    """The aiohttp edge: agent desktop, wallboard, API."""

    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 8080
    #: environment variable holding the session-signing key (>= 32 bytes);
    #: unset: a random key per start (everyone logs in again after a restart)
    secret_key_env: EnvName | None = "HOTLINE_SECRET_KEY"
    #: origins besides the page's own allowed to POST and open WebSockets
    allowed_origins: list[Annotated[str, AfterValidator(matching(_ORIGIN, "origin"))]] = []

    _secret_key: bytes | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _read_key(self, info: ValidationInfo) -> Self:
        if self.secret_key_env is None:
            return self
        value = _environ(info).get(self.secret_key_env)
        if value:
            key = value.encode()
            if len(key) < MIN_SECRET_KEY_BYTES:
                raise problem(
                    f"{self.secret_key_env} holds {len(key)} bytes;"
                    f" a session key needs at least {MIN_SECRET_KEY_BYTES}",
                    at="secret_key_env",
                )
            self._secret_key = key
        return self

    @property
    def secret_key(self) -> bytes | None:
        """The key read from the environment at load time; None: generate one per start."""
        return self._secret_key


class WallboardSettings(_Strict):
    """The wallboard's colours: when a figure turns amber or red (the targets and
    limits themselves are each queue's: ``sl_target_pct``, ``longest_wait_limit_s``)."""

    #: service level amber from the target down to this many points below it, red under
    sl_amber_band_pct: float = Field(10.0, ge=0, le=100, strict=True)
    #: the longest wait turns amber at this % of the queue's limit (red at the limit)
    longest_wait_amber_pct: float = Field(50.0, gt=0, lt=100, strict=True)
    #: abandon rate (% of offered) amber from here on
    abandon_amber_pct: float = Field(5.0, ge=0, le=100, strict=True)
    #: abandon rate red from here on (above abandon_amber_pct)
    abandon_red_pct: float = Field(10.0, ge=0, le=100, strict=True)

    @model_validator(mode="after")
    def _red_above_amber(self) -> Self:
        if self.abandon_red_pct <= self.abandon_amber_pct:
            raise problem(
                f"abandon_red_pct ({self.abandon_red_pct:g}) must be above "
                f"abandon_amber_pct ({self.abandon_amber_pct:g})",
                at="abandon_red_pct",
            )
        return self
