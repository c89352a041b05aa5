"""Where outbound calls may go (issue 24 #5): a leaked API key must not turn the server into a
toll-fraud dialler. `VIVA_PHONE_CALL_PREFIXES` lists the E.164 prefixes allowed (`+1,+44`, or
`*` for anywhere); unset, the country calling code of `TWILIO_PHONE_NUMBER`, the caller ID.

Within +1 (the North American Numbering Plan, where one calling code covers the US, Canada and
about twenty other countries billed as international calls), premium-rate 900 numbers and the
area codes of the other countries are allowed only when a longer prefix names them
(`+1876` for Jamaica): `+1` alone means the US and its territories, and Canada.
"""

from __future__ import annotations

import re

PREFIX = re.compile(r"^\+[0-9]{1,15}$")
ANYWHERE = "*"

# Country calling codes are prefix-free: these are the 1- and 2-digit ones, all others have 3.
_SHORT_CODES = frozenset(
    [
        "1",
        "7",
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    ]
)
# NANP area codes of countries other than the US and Canada (billed as international, the usual
# toll-fraud targets), and premium-rate 900.
NANP_RESTRICTED = frozenset(
    [
        "242",
        "246",
        "264",
        "268",
        "284",
        "345",
        "441",
        "473",
        "649",
        "658",
        "664",
        "721",
        "758",
        "767",
        "784",
        "809",
        "829",
        "849",
        "868",
        "869",
        "876",
        "900",
    ]
)


def calling_code(number: str) -> str:
    """`+44` for `+442071234567`: the country calling code of an E.164 number."""
    digits = number.lstrip("+")
    for size in (1, 2):
        if digits[:size] in _SHORT_CODES:
            return "+" + digits[:size]
    return "+" + digits[:3]


def parse_prefixes(value: str) -> tuple[str, ...]:
    """The allowed prefixes of a setting's value; ValueError naming an entry that is none."""
    entries = tuple(e.strip() for e in value.split(",") if e.strip())
    for entry in entries:
        if entry != ANYWHERE and not PREFIX.match(entry):
            raise ValueError(f"{entry!r} is not an E.164 prefix such as +44 (or *)")
    return entries


def allowed_prefixes(setting: str, caller_id: str) -> tuple[str, ...]:
    return parse_prefixes(setting) or ((calling_code(caller_id),) if caller_id else ())


def allowed(number: str, prefixes: tuple[str, ...]) -> bool:
    """May the server dial `number` (E.164)?"""
    if ANYWHERE in prefixes:
        return True
    matches = [p for p in prefixes if number.startswith(p)]
    if not matches:
        return False
    longest = max(matches, key=len)
    nanp_abroad = number.startswith("+1") and number[2:5] in NANP_RESTRICTED
    return not (nanp_abroad and len(longest) <= 2)
