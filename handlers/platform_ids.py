"""Which platform an id belongs to, told from its shape: the one place the core knows what
Slack's and Teams' ids look like.

Needed only where an id arrives without its platform: a user id in an imported CSV file, and
PMO_ALERT_CHANNEL. Everywhere else the platform comes with the id (an identity row, a message
reference, the channel an event came through), and that is what the core uses.
"""

from __future__ import annotations

import re
from typing import Literal

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

SHAPES: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    # Slack users are U…/W…; a Teams user in a file is their Azure AD object id (a GUID)
    "user": (("slack", re.compile(r"[UW][A-Z0-9]{2,}")), ("teams", _GUID)),
    # Slack channels are C…/G…/D…; Teams conversation ids hold a colon (19:…@thread.tacv2)
    "channel": (("slack", re.compile(r"[CGD][A-Z0-9]{6,}")), ("teams", re.compile(r".*:.*", re.DOTALL))),
}


def platform_of(external_id: str, what: Literal["user", "channel"] = "user") -> str:
    """The platform a bare user or channel id belongs to; "local" (the console) when none claims it."""
    for platform, shape in SHAPES[what]:
        if shape.fullmatch(external_id):
            return platform
    return "local"
