"""The fees, answered to the point asked ("yg 10 thn?", "elektronik brp"), from office.yml."""
from __future__ import annotations

import re

from rasa_sdk import Tracker

from actions import labels
from actions.form_state import last_bot_response
from actions.presenters import Reply
from actions.reading import Message, passport_type, service_type
from antrean.config import OfficeConfig
from antrean.indonesian import bullet_list, format_rupiah

_YEARS = re.compile(r"(?<!\d)(5|10|lima|sepuluh)\s*(?:th|thn|tahun|taun|years?)(?!\w)", re.I)
_EXPRESS = re.compile(r"percepatan|sehari jadi|hari itu juga|same day|kilat|ekspres|express", re.I)


def _fees(config: OfficeConfig, asked: str = "") -> str:
    """The fee table, or only the lines of what was asked ("yg 10 thn?", "elektronik brp")."""
    years_match = _YEARS.search(asked)
    years = {"lima": 5, "sepuluh": 10}.get(years_match.group(1).lower(), 0) if years_match else 0
    years = years or (int(years_match.group(1)) if years_match else 0)
    ptype = passport_type(Message(asked), asked=True) if asked else None
    reason = service_type(Message(asked), asked=False) if asked else None
    express = bool(_EXPRESS.search(asked))
    specific = bool(years or ptype or reason in ("hilang", "rusak") or express)
    lines = []
    for kind, by_years in config.fees.passport.items():
        for span, amount in sorted(by_years.items()):
            if specific and ((years and span != years) or (ptype and kind != ptype)
                             or (not years and not ptype)):
                continue
            lines.append(labels.FEE_LINE.format(passport=config.passport_types[kind], years=span,
                                                amount=format_rupiah(amount)))
    if not specific or express:
        lines.append(labels.EXPRESS_FEE_LINE.format(
            amount=format_rupiah(config.fees.express_surcharge)))
    for cause, amount in config.fees.replacement_surcharge.items():
        if not specific or reason == cause:
            lines.append(labels.REPLACEMENT_FEE_LINE.format(cause=cause,
                                                            amount=format_rupiah(amount)))
    return bullet_list(lines)


def fee_reply(config: OfficeConfig, asked: str = "") -> Reply:
    """The fees, or the lines of what was asked."""
    return Reply("utter_fees", {"fees": _fees(config, asked)})



# What a follow-up to the fee list names: a duration, a passport type, an extra.
_FEE_POINT = re.compile(r"(?<!\d)(?:5|10|lima|sepuluh)\s*(?:th|thn|tahun|taun|years?)|elektronik"
                        r"|e-?paspor|biasa|percepatan|hilang|rusak|sehari jadi|hari itu juga"
                        r"|same day|kilat|ekspres|express", re.I)


def fee_follow_up(tracker: Tracker, text: str, config: OfficeConfig) -> Reply | None:
    """The fee of the point named right after the fee list ("yg 10 thn?"), else None."""
    if last_bot_response(tracker) == "utter_fees" and _FEE_POINT.search(text):
        return fee_reply(config, text)
    return None
