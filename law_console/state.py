"""What every page of the console shares: settings, booking service, accounts, templates.

One ``Console`` is built by ``law_console.app.create_app`` and kept in
``app.state.console``; handlers reach it as ``page.console`` (``law_console.auth.Page``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.templating import Jinja2Templates

from antrean.service import BookingService
from antrean.settings import Settings
from antrean.staff.users import Role
from law_console.accounts import Accounts


@dataclass(frozen=True)
class NavItem:
    """A link of the navigation bar, shown to roles that may open it.

    Attributes:
        label: The link's words (Indonesian), e.g. "Hari ini".
        path: Where it goes, e.g. "/hari-ini"; it is marked current on paths under it.
        role: The least role that sees it.
        order: Position in the bar, lowest first.
    """

    label: str
    path: str
    role: Role
    order: int = 50


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Console:
    """The console's objects, built once per application.

    Attributes:
        settings: LAW's settings (``antrean.settings``).
        service: The booking service on the slot store (``antrean.bootstrap.build_service``);
            its clock is the office's (``LAW_FIXED_NOW`` may fix it).
        accounts: Sign-in and sessions.
        templates: Jinja2 templates of ``law_console/templates`` (and of page modules).
        nav: The navigation bar's links, collected from the page modules.
        now: The real time (UTC) for sessions, lock-outs and the audit log.
    """

    settings: Settings
    service: BookingService
    accounts: Accounts
    templates: Jinja2Templates
    nav: list[NavItem] = field(default_factory=list)
    now: Callable[[], dt.datetime] = utc_now
