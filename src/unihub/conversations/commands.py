"""The seam for `::name args` response commands sent by agents and bots.

Every agent or bot text starting with `::` comes here instead of being routed. The commands
domain (response commands of a hub) plugs in at `handle_command`: it returns the messages to
send to the customer as activities from the sender. Until it is wired, a hub has no commands.
"""

from __future__ import annotations

import uuid
from typing import Any

from unihub.core.context import AppContext
from unihub.core.errors import bad_request

PREFIX = "::"


def is_command(text: str | None) -> bool:
    return text is not None and text.lstrip().startswith(PREFIX)


async def handle_command(
    ctx: AppContext,
    *,
    tenant_id: uuid.UUID,
    hub_id: uuid.UUID,
    conversation_id: uuid.UUID,
    sender_id: uuid.UUID,
    text: str,
) -> list[dict[str, Any]]:
    """The messages (wire dicts) the command answers with; errors go back to the sender."""
    name, _, _args = text.lstrip()[len(PREFIX) :].strip().partition(" ")
    if not name:
        raise bad_request(
            9000, "A command needs a name after the double colon, e.g. '::mycommand [args]'."
        )
    # TODO(commands): look the command up in the hub's response commands; `--list` lists them.
    raise bad_request(9201, "No commands have been configured for this hub.")
