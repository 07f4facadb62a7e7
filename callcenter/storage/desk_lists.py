"""The desk's lists in SQL: disposition codes and pause reasons (migration 0013).

Agents pick from them; admins edit them live (``callcenter.administration``, the
admin page and ``/api/admin/...``). A code is what the records and reports keep;
the label is what the desk shows. Removing a code retires it: the desk no longer
offers it, its row stays so past records keep their label, and putting the code
again brings it back. The last code still offered cannot be retired (the desk
would offer nothing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from callcenter.storage.errors import StorageError
from callcenter.storage.models import DeskListItem, DispositionCode, PauseReason
from callcenter.storage.store import Store

__all__ = ["CODE", "DeskLists", "ListKind", "ListRejected"]

#: a list's code: a-z 0-9 _, 32 at most (the config's disposition codes are the same)
CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: a label's length, at most
MAX_LABEL = 80

ListKind = Literal["dispositions", "pause_reasons"]
_MODELS: dict[ListKind, type[DispositionCode] | type[PauseReason]] = {
    "dispositions": DispositionCode,
    "pause_reasons": PauseReason,
}

class ListRejected(StorageError):
    """A list edit that cannot be done: ``bad_code``, ``bad_label``, ``unknown_entry``,
    ``last_entry`` (the last code offered cannot be retired)."""

    code = "list_rejected"


class DeskLists:
    """Both lists in the store's database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def offered(self, kind: ListKind) -> dict[str, str]:
        """The codes the desk offers, in order: code -> label."""
        model = _MODELS[kind]
        query = select(model.code, model.label).where(model.retired.is_(False))
        async with self.store.sessions() as session:
            rows = await session.execute(query.order_by(model.position, model.code))
        return {code: label for code, label in rows}

    async def seed(self, kind: ListKind, entries: Mapping[str, str]) -> bool:
        """Fill the list with ``entries`` when it has no row at all; True when filled.
        Two controllers starting at once: the second finds the rows (or loses the
        insert race) and leaves them."""
        model = _MODELS[kind]
        try:
            async with self.store.write_session() as session:
                if await session.scalar(select(func.count()).select_from(model)):
                    return False
                session.add_all(model(code=code, label=label, position=i, retired=False)
                                for i, (code, label) in enumerate(entries.items()))  # fmt: skip
        except IntegrityError:
            return False
        return True

    async def put(self, kind: ListKind, code: str, label: str) -> bool:
        """Offer ``code`` with ``label``: a new one goes last, a known one keeps its
        place (a retired one comes back). True when the code is new."""
        if not CODE.fullmatch(code):
            raise ListRejected(f"code {code!r}: a-z, 0-9 and _, starting with a letter, "
                               "32 at most", code="bad_code")  # fmt: skip
        label = label.strip()
        if not label or len(label) > MAX_LABEL or not label.isprintable():
            raise ListRejected(f"label of {code!r}: 1-{MAX_LABEL} printable characters",
                               code="bad_label")  # fmt: skip
        model = _MODELS[kind]
        async with self.store.write_session() as session:
            row = cast(DeskListItem | None, await session.get(model, code))
            if row is not None:
                row.label, row.retired = label, False
                return False
            last = await session.scalar(select(func.max(model.position)))
            session.add(model(code=code, label=label, position=(last or 0) + 1, retired=False))
        return True

    async def retire(self, kind: ListKind, code: str) -> None:
        """The desk no longer offers ``code``; its row stays for the records."""
        model = _MODELS[kind]
        async with self.store.write_session() as session:
            row = cast(DeskListItem | None, await session.get(model, code))
            if row is None or row.retired:
                raise ListRejected(f"no {code!r} offered", code="unknown_entry")
            left = await session.scalar(
                select(func.count()).select_from(model).where(model.retired.is_(False))
            )
            if left == 1:
                raise ListRejected(f"{code!r} is the last one offered: add another first",
                                   code="last_entry")  # fmt: skip
            row.retired = True
