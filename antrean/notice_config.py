"""The office's configuration of the messages it sends first (``notices`` in office.yml).

WhatsApp lets a business write first only with a template Meta approved, sent by name and
language with its parameters in the approved order; so the names, languages, texts,
parameter orders and buttons are office configuration, checked when the configuration is
loaded (every process's start-up): a parameter the sender does not know, a text whose
``{{n}}`` placeholders do not match the parameters, or a button label WhatsApp would refuse
stops the start with a message naming the key. The same text, filled in, is what goes as
free text inside the 24-hour window and what ``make run`` prints.
"""
from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What a template's body may contain, per kind, and what its quick replies may do.
PARAMETERS = {
    "reminder": ("code", "day", "date", "time", "people", "arrive_minutes"),
    "closure": ("code", "day", "date", "time", "reason", "option1", "option2", "option3"),
    "owner_changed": ("code", "day", "date", "time", "old_day", "old_date", "old_time", "by"),
    "owner_cancelled": ("code", "day", "date", "time", "by"),
}
ACTIONS = {
    "reminder": ("attend", "reschedule", "cancel"),
    "closure": ("option1", "option2", "option3"),
    # "Bukan saya": the owner did not ask for it and is put through to staff.
    "owner_changed": ("human",),
    "owner_cancelled": ("human",),
}
REPLIES = {  # one-line answers, and the placeholders each may use
    "attend": (), "attend_unknown": (), "opt_out": (), "opt_in": (),
    "moved": ("code", "day", "date", "time"), "move_refused": (),
}
_NAME = re.compile(r"[a-z0-9_]{1,512}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
BUTTON_TEXT_MAX = 20  # WhatsApp's limit for a quick-reply label


class NoticeConfigError(ValueError):
    """A key of ``notices`` is missing or wrong; the message names it."""


@dataclass(frozen=True)
class TemplateButton:
    text: str  # the label approved with the template
    action: str  # what a tap does (ACTIONS)


@dataclass(frozen=True)
class Template:
    """One approved template: what is sent, in which order, with which buttons."""

    kind: str
    name: str
    language: str
    text: str  # the body as submitted to Meta, with {{1}} … {{n}}
    parameters: tuple[str, ...]  # what fills {{1}} … {{n}}, in that order
    buttons: tuple[TemplateButton, ...]

    def body(self, values: Mapping[str, str]) -> list[str]:
        """The parameter values in the template's order."""
        return [values.get(name) or "-" for name in self.parameters]

    def render(self, values: Mapping[str, str]) -> str:
        """The body filled in (the free-text form, and what ``make run`` prints)."""
        filled = self.body(values)
        return _PLACEHOLDER.sub(lambda m: filled[int(m.group(1)) - 1], self.text)


@dataclass(frozen=True)
class NoticeConfig:
    reminder_time: dt.time  # office time, the day before the booked date
    messages_per_second: float  # Meta's default pacing is 80
    max_attempts: int  # tries before a notice is shown as failed
    retry_backoff_s: float  # the first pause after a failure; doubles each time
    templates: Mapping[str, Template]
    replies: Mapping[str, str]


def parse_notices(data: Any) -> NoticeConfig:
    """Validate the ``notices`` section (see the module's docstring)."""
    root = _mapping(data, "notices")
    try:
        reminder_time = dt.time.fromisoformat(str(root.get("reminder_time", "10:00")))
    except ValueError:
        raise NoticeConfigError("notices.reminder_time must be a time as HH:MM") from None
    rate = root.get("messages_per_second", 80)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1000:
        raise NoticeConfigError("notices.messages_per_second must be a number in (0, 1000]")
    retry = _mapping(root.get("retry", {}), "notices.retry")
    attempts, backoff = retry.get("max_attempts", 5), retry.get("backoff_s", 60)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise NoticeConfigError("notices.retry.max_attempts must be an integer ≥ 1")
    if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 0:
        raise NoticeConfigError("notices.retry.backoff_s must be a number ≥ 0")
    templates = _mapping(root.get("templates"), "notices.templates")
    replies = _mapping(root.get("replies"), "notices.replies")
    return NoticeConfig(
        reminder_time=reminder_time,
        messages_per_second=float(rate),
        max_attempts=attempts,
        retry_backoff_s=float(backoff),
        templates={kind: _template(kind, templates.get(kind)) for kind in PARAMETERS},
        replies={name: _reply(name, replies.get(name)) for name in REPLIES},
    )


def _template(kind: str, data: Any) -> Template:
    key = f"notices.templates.{kind}"
    spec = _mapping(data, key)
    name, language, text = spec.get("name"), spec.get("language"), spec.get("text")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise NoticeConfigError(f"{key}.name must be a template name (a-z, 0-9, _), "
                                f"got {name!r}")
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise NoticeConfigError(f"{key}.language must be a language code such as id or "
                                f"en_US, got {language!r}")
    if not isinstance(text, str) or not text.strip():
        raise NoticeConfigError(f"{key}.text must be the template's text")
    parameters = spec.get("parameters")
    if (not isinstance(parameters, list) or not parameters
            or len(set(map(str, parameters))) != len(parameters)):
        raise NoticeConfigError(f"{key}.parameters must list distinct parameter names")
    unknown = [p for p in parameters if p not in PARAMETERS[kind]]
    if unknown:
        raise NoticeConfigError(f"{key}.parameters: {unknown[0]!r} is not one of "
                                f"{PARAMETERS[kind]}")
    used = sorted({int(n) for n in _PLACEHOLDER.findall(text)})
    if used != list(range(1, len(parameters) + 1)):
        raise NoticeConfigError(f"{key}.text must use {{{{1}}}} … {{{{{len(parameters)}}}}} "
                                f"once each for its {len(parameters)} parameters, uses {used}")
    raw_buttons = spec.get("buttons")
    if not isinstance(raw_buttons, list):
        raise NoticeConfigError(f"{key}.buttons must list the quick replies")
    buttons = []
    for index, raw in enumerate(raw_buttons):
        button = _mapping(raw, f"{key}.buttons[{index}]")
        label, action = button.get("text"), button.get("action")
        if not isinstance(label, str) or not 0 < len(label) <= BUTTON_TEXT_MAX:
            raise NoticeConfigError(f"{key}.buttons[{index}].text must be 1–"
                                    f"{BUTTON_TEXT_MAX} characters, got {label!r}")
        buttons.append(TemplateButton(label, str(action)))
    if sorted(b.action for b in buttons) != sorted(ACTIONS[kind]):
        raise NoticeConfigError(f"{key}.buttons must have one button for each of "
                                f"{ACTIONS[kind]}")
    return Template(kind, name, language, text.strip(), tuple(map(str, parameters)),
                    tuple(buttons))


def _reply(name: str, text: Any) -> str:
    key = f"notices.replies.{name}"
    if not isinstance(text, str) or not text.strip():
        raise NoticeConfigError(f"{key} must be a non-empty text")
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    extra = fields - set(REPLIES[name])
    if extra:
        raise NoticeConfigError(f"{key} may use only {REPLIES[name]}, uses {sorted(extra)}")
    return text.strip()


def _mapping(data: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise NoticeConfigError(f"{key} must be a mapping of keys to values")
    return data
