"""`::name args` response commands typed by agents and bots.

Every agent or bot text starting with `::` comes here instead of being routed:

- `::name [args]` runs the hub's response command `name` (ignoring case). Its
  `integrationTypeId` names the side that receives the responses: `customer` sends them to the
  conversation's customer (the reference's example is an agent sharing a contact card), `agent`
  sends them to the hub's active Agent and Bot integrations, the typing one included (it asked
  for them). Each element of `responses` becomes one activity of the command's `type`, sent
  by the typing integration through the normal outbox. Arguments are accepted and ignored:
  commands hold canned payloads without placeholders.
- The reference's documented forms: `::resp -n <name>` runs the response command `name`;
  `::trans [-force] -n <name>` runs the transfer command `name`: the conversation's customer
  gets one event (`payload`, `payloadType` "hubster.transfer") carrying the command's `url`,
  `linkDescription`, `mountDelay` and whether it was forced. The WebChat component renders
  it; other customer channels have no form for it and send nothing (provider adapters send
  messages only), as the reference says.
- `::takeover`, `::handover [-n <integration name>]` and `::release` are the switchboard's
  actions (`conversations.switchboard`), for agents that can only type (Slack). They come
  before the hub's response commands: a response command of the same name is not run.
- `::--list` lists every command of the hub; `::category --list` the commands of one category.
  The listing is answered in the HTTP response only (nothing is stored or sent): it is a
  question to the engine, not part of the conversation.
- Errors go back to the sender as the HTTP answer: ENG009000 (nothing after `::`), ENG009001
  (an option other than `--list`), ENG009200 (no such command), ENG009201 (the hub has no
  commands), ENG009202 (no commands in that category), ENG009299 (a stored response no longer
  fits the activity schemas).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from unihub.activities.schemas import EVENT_ADAPTER, MESSAGE_ADAPTER
from unihub.commands.models import ResponseCommand
from unihub.commands.service import (
    find_response_command,
    find_transfer_command,
    list_response_commands,
    response_summary,
)
from unihub.core.context import AppContext
from unihub.core.errors import bad_request

PREFIX = "::"
LIST_OPTION = "--list"
RESPONSE_VERB = "resp"
TRANSFER_VERB = "trans"
NAME_FLAG = "-n"
FORCE_FLAG = "-force"
TRANSFER_PAYLOAD_TYPE = "hubster.transfer"


@dataclass(frozen=True, slots=True)
class CommandRun:
    """A command to execute: its responses in wire form, for the side `target`."""

    name: str
    kind: str  # "message" | "event"
    target: str  # "customer" | "agent"
    responses: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CommandListing:
    commands: list[dict[str, Any]]
    category: str | None = None


def is_command(text: str | None) -> bool:
    return text is not None and text.lstrip().startswith(PREFIX)


CONTROL_VERBS = ("takeover", "handover", "release")


def control_command(text: str) -> tuple[str, str | None] | None:
    """(action, target name) for `::takeover`, `::handover [-n name]`, `::release`; the name
    is everything after `-n` (integration names may hold spaces)."""
    name, args = parse(text)
    verb = name.lower()
    if verb not in CONTROL_VERBS:
        return None
    lowered = [a.lower() for a in args]
    if verb == "handover" and NAME_FLAG in lowered:
        named = " ".join(args[lowered.index(NAME_FLAG) + 1 :]).strip()
        if not named:
            raise bad_request(9000, "'::handover -n' needs an integration name after '-n'.")
        return verb, named
    return verb, None


def parse(text: str) -> tuple[str, list[str]]:
    """The command word and its arguments; `::--list` has an empty word."""
    words = text.lstrip()[len(PREFIX) :].split()
    if words and words[0].startswith("--"):
        return "", words
    return (words[0], words[1:]) if words else ("", [])


def _named(args: list[str]) -> str | None:
    """The value after `-n` (the documented `::resp -n name`), None when there is none."""
    for i, arg in enumerate(args):
        if arg.lower() == NAME_FLAG and i + 1 < len(args):
            return args[i + 1]
    return None


async def handle_command(
    ctx: AppContext, *, hub_id: uuid.UUID, text: str
) -> CommandRun | CommandListing:
    name, args = parse(text)
    verb = name.lower()
    if verb in (RESPONSE_VERB, TRANSFER_VERB) and any(a.lower() == NAME_FLAG for a in args):
        named = _named(args)
        if not named:
            raise bad_request(9000, f"'::{verb} -n' needs a command name after '-n'.")
        if verb == TRANSFER_VERB:
            forced = any(a.lower() == FORCE_FLAG for a in args)
            return await _transfer(ctx, hub_id, named, forced)
        name, args = named, []
    options = [a for a in args if a.startswith("--")]
    unknown = [o for o in options if o.lower() != LIST_OPTION]
    if not name and not options:
        raise bad_request(
            9000, "A command needs a name after the double colon, e.g. '::mycommand [args]'."
        )
    if unknown:
        raise bad_request(
            9001, f"Unknown command option '{unknown[0][:64]}'; the only option is '--list'."
        )
    async with ctx.db.read() as s:
        if options:
            commands = await list_response_commands(s, hub_id)
            found = None
        else:
            found = await find_response_command(s, hub_id, name)
            commands = [] if found is not None else await list_response_commands(s, hub_id)
    if found is not None:
        return _run(found)
    if not commands:
        raise bad_request(9201, "No commands have been configured for this hub.")
    if not options:
        raise bad_request(
            9200,
            f"Command '{name[:128]}' was not found. Type '::{LIST_OPTION}' to see every "
            f"command, or '::category {LIST_OPTION}' for one category.",
        )
    if not name:
        return CommandListing([response_summary(c) for c in commands])
    key = name.casefold()
    in_category = [c for c in commands if (c.category or "").casefold() == key]
    if not in_category:
        raise bad_request(9202, f"No commands were found in category '{name[:128]}'.")
    return CommandListing(
        [response_summary(c) for c in in_category], category=in_category[0].category
    )


async def _transfer(ctx: AppContext, hub_id: uuid.UUID, name: str, forced: bool) -> CommandRun:
    async with ctx.db.read() as s:
        command = await find_transfer_command(s, hub_id, name)
    if command is None:
        raise bad_request(9200, f"Transfer command '{name[:128]}' was not found.")
    payload: dict[str, Any] = {
        "name": command.name,
        "url": command.url,
        "linkDescription": command.link_description,
        "mountDelay": command.mount_delay,
        "forced": forced,
    }
    node = EVENT_ADAPTER.validate_python(
        {"type": "payload", "payloadType": TRANSFER_PAYLOAD_TYPE, "payload": payload}
    ).to_wire()
    return CommandRun(command.name, "event", "customer", [node])


def _run(command: ResponseCommand) -> CommandRun:
    adapter: Any = MESSAGE_ADAPTER if command.type == "message" else EVENT_ADAPTER
    nodes: list[dict[str, Any]] = []
    try:
        for element in command.responses:
            nodes.append(adapter.validate_python(element).to_wire())
    except ValidationError:
        # Stored responses were valid when saved; a schema change since then is our failure.
        raise bad_request(
            9299, f"Command '{command.name}' could not be executed: a stored response is invalid."
        ) from None
    if not nodes:
        raise bad_request(9299, f"Command '{command.name}' has no responses to send.")
    return CommandRun(command.name, command.type, command.integration_type, nodes)
