"""A CRM behind HTTP: URL templates for the lookups, an auth header, a field mapping.

The operator's CRM answers ``GET`` on ``by_number_url`` (``{number}``: the caller's
number in E.164, URL-quoted) and ``by_account_url`` (``{account}``: what the caller
entered) with JSON; ``fields`` maps each card field to a path in that JSON
(``data.customer.name``, ``items[0].tier``). What counts as an answer:

- 2xx with JSON whose ``external_id`` path holds a value: that customer's card;
- a status in ``not_found_statuses`` (404 by default), or 2xx whose
  ``external_id`` path holds nothing (missing, null): no such customer;
- anything else raises :class:`~crm_bridge.card.CrmUnavailable`: ``refused`` (no
  connection), ``http_status`` (another status), ``bad_answer`` (not JSON, a body
  over ``max_body_bytes``, a mapped field of the wrong type), ``error`` (the
  connection broke mid-answer).

Time is not bounded here: :class:`~crm_bridge.lookup.CrmLookup` gives each request
what is left of the lookup's budget and cancels it when the budget is spent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from crm_bridge.card import CrmUnavailable, CustomerCard, InteractionSummary
from crm_bridge.mapping import CARD_FIELDS, REQUIRED_FIELDS, fits, parse_path, pick
from crm_bridge.numbers import normalize_number

__all__ = ["HttpCrm"]


class HttpCrm:
    """A :class:`~crm_bridge.card.CrmBackend` over HTTP (aiohttp's client).

    ``fields``: card field -> path (:func:`parse_path`) in the JSON answer;
    ``headers``: sent with every request (the auth header, read from the
    environment by the config). The client session is made at the first request
    and closed by :meth:`close`.
    """

    def __init__(
        self,
        *,
        by_number_url: str,
        by_account_url: str | None = None,
        fields: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        not_found_statuses: tuple[int, ...] = (404,),
        max_body_bytes: int = 1 << 20,
        region: str = "VN",
    ) -> None:
        missing = [f for f in REQUIRED_FIELDS if f not in fields]
        unknown = [f for f in fields if f not in CARD_FIELDS]
        if missing or unknown:
            raise ValueError(f"fields: missing {missing}, unknown {unknown}")
        self.by_number_url = by_number_url
        self.by_account_url = by_account_url
        self.fields = {name: parse_path(path) for name, path in fields.items()}
        self.headers = dict(headers or {})
        self.not_found_statuses = not_found_statuses
        self.max_body_bytes = max_body_bytes
        self.region = region
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def lookup_by_number(self, raw: str) -> CustomerCard | None:
        """The customer the CRM has for ``raw`` (any spelling), or None."""
        e164 = normalize_number(raw, self.region)
        if e164 is None:
            return None
        return await self._get(self.by_number_url.format(number=quote(e164, safe="")), e164)

    async def lookup_by_account(self, account_no: str) -> CustomerCard | None:
        """The customer with this account (as the caller entered it), or None."""
        account_no = account_no.strip()
        if not account_no or self.by_account_url is None:
            return None
        return await self._get(self.by_account_url.format(account=quote(account_no, safe="")))

    async def _get(self, url: str, number: str | None = None) -> CustomerCard | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self.headers, timeout=aiohttp.ClientTimeout(total=None)
            )
        try:
            async with self._session.get(url, allow_redirects=False) as resp:
                if resp.status in self.not_found_statuses:
                    return None
                if not 200 <= resp.status < 300:
                    raise CrmUnavailable("http_status", f"HTTP {resp.status} from {url}")
                if (resp.content_length or 0) > self.max_body_bytes:
                    raise CrmUnavailable("bad_answer", f"a body of {resp.content_length} bytes")
                body = await resp.content.read(self.max_body_bytes + 1)
        except aiohttp.ClientConnectorError as exc:
            raise CrmUnavailable("refused", str(exc)) from None
        except aiohttp.ClientError as exc:
            raise CrmUnavailable("error", repr(exc)) from None
        if len(body) > self.max_body_bytes:
            raise CrmUnavailable("bad_answer", f"a body over {self.max_body_bytes} bytes")
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise CrmUnavailable("bad_answer", "the body is not JSON") from None
        return self._card(doc, number)

    def _card(self, doc: Any, number: str | None) -> CustomerCard | None:
        got = {name: pick(doc, path) for name, path in self.fields.items()}
        if got["external_id"] is None:
            return None
        if got["full_name"] is None:
            raise CrmUnavailable("bad_answer", "a customer without full_name")
        for name, value in got.items():
            if value is not None and not fits(name, value):
                raise CrmUnavailable(
                    "bad_answer",
                    f"{name} should be {CARD_FIELDS[name]}, got {type(value).__name__}",
                )
        numbers = [n for n in (normalize_number(x, self.region) for x in got.get("numbers") or ())
                   if n is not None]  # fmt: skip
        if number is not None and number not in numbers:
            numbers.insert(0, number)
        return CustomerCard(
            customer_id=None,
            external_id=str(got["external_id"]),
            full_name=got["full_name"],
            account_no=None if got.get("account_no") is None else str(got["account_no"]),
            tier=got.get("tier") or "standard",
            numbers=tuple(numbers),
            language=got.get("language"),
            notes=got.get("notes"),
            last_interactions=tuple[InteractionSummary, ...](),
        )
