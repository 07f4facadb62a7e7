"""The building blocks every section of the config file shares: field types
(seconds, ports, dialplan contexts, skills), the strict base model, and the
validators several sections use."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from acd import MAX_LEVEL
from yamlconf import matching, problem

# a dialplan context also goes into Bridge(...,F(ctx^s^1)): no , ^ ( ) | or spaces
_CONTEXT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKILL = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _environ(info: ValidationInfo) -> Mapping[str, str]:
    ctx = info.context
    if isinstance(ctx, Mapping) and isinstance(ctx.get("environ"), Mapping):
        env: Mapping[str, str] = ctx["environ"]
        return env
    return os.environ


# strict: YAML's `true` is not the number 1, nor "15" a timeout
Seconds = Annotated[float, Field(gt=0, strict=True)]
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
Context = Annotated[str, AfterValidator(matching(_CONTEXT, "dialplan context name"))]
EnvName = Annotated[str, AfterValidator(matching(_ENV_NAME, "environment variable name"))]
#: a skill's name (a-z 0-9 _ -) and a proficiency or minimum level, 1..5
SkillName = Annotated[str, AfterValidator(matching(_SKILL, "skill name (a-z 0-9 _ -)"))]
Level = Annotated[int, Field(ge=1, le=MAX_LEVEL, strict=True)]
Skills = dict[SkillName, Level]


def _known_region(value: str) -> str:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise problem(f"{value!r} is not a region phonenumbers knows (e.g. VN, US, GB)")
    return value


#: how a number without its country code is read: a region phonenumbers knows (ISO 3166)
Region = Annotated[str, AfterValidator(_known_region)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
