"""Logging in to AMI: plain (``Secret``) or MD5 challenge-response.

MD5, as manager.c does it: ``Action: Challenge`` with ``AuthType: MD5``
answers ``Challenge: <number>``; then ``Action: Login`` with ``AuthType:
MD5`` and ``Key: md5hex(challenge + secret)``, so the secret never crosses
the wire. A refused login is ``Response: Error / Message: Authentication
failed`` (for an unknown user and a wrong secret alike, transcript 08's
``badlogin`` and ``baduser``), sent ~1 s late, after which Asterisk closes
the socket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from .errors import AuthenticationError
from .message import Response

#: sends one action on the link being logged in and returns its response
Request = Callable[[str, Mapping[str, str]], Awaitable[Response]]


def md5_key(challenge: str, secret: str) -> str:
    """The ``Key`` of an MD5 Login: md5 hex digest of challenge + secret."""
    return hashlib.md5((challenge + secret).encode(), usedforsecurity=False).hexdigest()


async def log_in(
    request: Request,
    *,
    username: str,
    secret: str,
    auth: Literal["plain", "md5"],
    where: str,
) -> Response:
    """Log in over ``request``; return the Login's response or raise
    :class:`AuthenticationError` naming the user and ``where`` (host:port)."""
    fields: dict[str, str]
    if auth == "md5":
        resp = await request("Challenge", {"AuthType": "MD5"})
        challenge = resp.get("Challenge")
        if not resp.ok or not challenge:
            raise AuthenticationError(
                f"AMI MD5 login failed on {where}: Challenge answered "
                f"{resp.name}: {resp.message or 'no Challenge header'}"
            )
        fields = {"AuthType": "MD5", "Username": username, "Key": md5_key(challenge, secret)}
    else:
        fields = {"Username": username, "Secret": secret}
    resp = await request("Login", fields)
    if resp.ok:
        return resp
    said = resp.message or resp.name
    if said == "Authentication failed":
        raise AuthenticationError(
            f"AMI login failed: wrong username or secret for user {username!r} "
            f"on {where} (Asterisk said: {said})"
        )
    raise AuthenticationError(f"AMI login failed for user {username!r} on {where}: {said}")
