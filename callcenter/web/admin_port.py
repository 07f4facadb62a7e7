"""What the admin routes need from behind the web edge (``callcenter.administration.
Administration`` fits). Refusals are domain errors with a ``code`` the edge maps
(``invalid_field`` 400, ``unknown_login`` 404, ``duplicate`` 409 ...) and a ``reason``
that starts with the field at fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

ListKind = Literal["dispositions", "pause_reasons"]


class Admin(Protocol):
    def queue_names(self) -> list[str]:
        """The config's queues: the ones an agent may serve."""
        ...

    async def list_logins(self) -> list[dict[str, Any]]: ...

    async def add_login(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create a login and apply it live (a new agent may go ready at once)."""
        ...

    async def change_login(self, username: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Change the fields given (others kept) and apply them live."""
        ...

    async def remove_login(self, username: str, by_account: str) -> None: ...

    async def list_tokens(self) -> list[dict[str, Any]]: ...

    async def add_token(self, name: str, user: str,
                        scopes: Sequence[str]) -> tuple[str, tuple[str, ...]]:  # fmt: skip
        """A new token acting as login ``user`` within ``scopes``; the token itself
        (shown once) and its scopes as kept (sorted)."""
        ...

    async def revoke_token(self, name: str) -> None: ...

    async def put_entry(self, kind: ListKind, code: str, label: str) -> bool:
        """Offer ``code`` with ``label`` in a desk list; True when the code is new."""
        ...

    async def retire_entry(self, kind: ListKind, code: str) -> None: ...
