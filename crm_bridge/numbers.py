"""Phone-number normalization: every spelling of a number becomes one E.164 key.

Caller IDs arrive as Asterisk hands them over (``0901234567``, ``84901234567``,
``+84 90 123 4567``, ``anonymous``, an internal extension ``1001``); customer
records are typed by people. Both sides go through :func:`normalize_number`
so that a lookup is an exact match on ``customer_phones.e164``.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

__all__ = ["normalize_number"]

#: Longer input is not a phone number; phonenumbers itself refuses past 250.
_MAX_RAW_LENGTH = 64


def normalize_number(raw: object, region: str = "VN") -> str | None:
    """Return ``raw`` as an E.164 string (``+84901234567``), or None.

    ``region`` decides how a number without a country code is read: in
    Vietnam ``0901234567`` (trunk prefix 0), ``84901234567`` (country code
    without the plus) and ``0084901234567`` (international prefix 00) are
    all ``+84901234567``. Anything that is not a valid number for its
    country (garbage, ``anonymous``, short internal extensions) is None, so
    callers never look up or store a key that cannot match.
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    if not text or len(text) > _MAX_RAW_LENGTH:
        return None
    return _e164(text, region)


#: phonenumbers' parse and validation cost ~50-100 us a number; a call's number is
#: normalized twice (the card cache's key, then the CRM's query), the same callers
#: call again: the last numbers are kept.
@lru_cache(maxsize=16_384)
def _e164(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
