"""The switchboard's rules: who controls a conversation, who may change that, and where the
customer's activities go. Pure functions over the state read under the conversation's row
lock (`repository.lock_control`); `conversations.switchboard` applies them in a transaction.

One controller per open conversation (docs/switchboard.md):
- "bot": one Bot integration; a conversation starts with the hub's oldest active bot.
- "agents": every active Agent integration of the hub (a hub without a bot starts here, and
  routes exactly as before the switchboard existed).
- "agent": one Agent integration, after it took over or was handed the conversation.

Everything here raises the switchboard's codes (ENG0040xx) and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from unihub.core.errors import ApiError, bad_request, forbidden, not_found
from unihub.core.timestamps import format_ts
from unihub.integrations.loaded import LoadedIntegration

BOT, AGENTS, AGENT = "bot", "agents", "agent"
TAKEOVER, HANDOVER, RELEASE, FALLBACK = "takeover", "handover", "release", "fallback"
ACTIONS = (TAKEOVER, HANDOVER, RELEASE)

NOT_ALLOWED = 4010  # 403: the acting integration may not take this action
BOT_NOT_IN_CONTROL = 4011  # 403: a bot speaking to a customer it does not control
HELD_BY_AGENT = 4012  # 409: another agent holds control
BAD_TARGET = 4013  # 400: no such target, or nobody to hand over to
METADATA_TOO_LARGE = 4014  # 400: metadata over METADATA_LIMIT bytes
METADATA_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Control:
    """A conversation's controller. `integration_id` is the bot or agent (None for "agents");
    `start_id` the bot the conversation started with (None: it started with its agents)."""

    kind: str
    integration_id: uuid.UUID | None
    start_id: uuid.UUID | None
    since: datetime | None = None

    def same_holder(self, other: Control) -> bool:
        return self.kind == other.kind and self.integration_id == other.integration_id

    @property
    def integration_type(self) -> str:
        return "Bot" if self.kind == BOT else "Agent"

    def wire(self) -> dict[str, Any]:
        return {
            "integrationId": str(self.integration_id) if self.integration_id else None,
            "integrationType": self.integration_type,
            "since": format_ts(self.since) if self.since is not None else None,
        }

    def party(self) -> dict[str, Any]:
        """The `from`/`to` node of a control event."""
        return {
            "integrationId": str(self.integration_id) if self.integration_id else None,
            "integrationType": self.integration_type,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """A decided change: the event to store (`action`, from `before` to `after`)."""

    action: str
    before: Control
    after: Control


def _active(members: Sequence[LoadedIntegration], kind: str) -> list[LoadedIntegration]:
    return [m for m in members if m.integration_type == kind and m.active]


def _member(
    members: Sequence[LoadedIntegration], wanted: uuid.UUID | None
) -> LoadedIntegration | None:
    return next((m for m in members if m.id == wanted), None) if wanted else None


def initial(members: Sequence[LoadedIntegration], now: datetime) -> Control:
    """How a new conversation starts: the oldest active bot (members are in creation order),
    else the agents."""
    bots = _active(members, "Bot")
    if bots:
        return Control(BOT, bots[0].id, bots[0].id, now)
    return Control(AGENTS, None, None, now)


def holders(control: Control, members: Sequence[LoadedIntegration]) -> list[LoadedIntegration]:
    """The active integrations holding control (empty: the controller is paused or gone)."""
    if control.kind == AGENTS:
        return _active(members, "Agent")
    held = _member(members, control.integration_id)
    return [held] if held is not None and held.active else []


def _start_bot(control: Control, members: Sequence[LoadedIntegration]) -> Control | None:
    bot = _member(members, control.start_id)
    if bot is not None and bot.active and bot.integration_type == "Bot":
        return Control(BOT, bot.id, control.start_id)
    return None


def _agents(control: Control, members: Sequence[LoadedIntegration]) -> Control | None:
    return Control(AGENTS, None, control.start_id) if _active(members, "Agent") else None


def _any_bot(control: Control, members: Sequence[LoadedIntegration]) -> Control | None:
    bots = _active(members, "Bot")
    return Control(BOT, bots[0].id, control.start_id) if bots else None


def fallback(control: Control, members: Sequence[LoadedIntegration]) -> Control | None:
    """Where customer activities go when the controller is paused or deleted: the other side
    first (agents for a bot, the starting bot for an agent), then whoever is left; None when
    nobody is (ENG005501)."""
    if control.kind == BOT:
        order = (_agents, _start_bot, _any_bot)
    else:
        order = (_start_bot, _any_bot, _agents)
    for candidate in order:
        found = candidate(control, members)
        if found is not None and not found.same_holder(control) and holders(found, members):
            return found
    return None


def is_controller(control: Control, actor: LoadedIntegration) -> bool:
    if control.kind == AGENTS:
        return actor.integration_type == "Agent"
    return control.integration_id == actor.id


def _refused(actor: LoadedIntegration, why: str) -> ApiError:
    return forbidden(NOT_ALLOWED, f"Integration '{actor.id}' cannot {why}.")


def held_by(control: Control) -> ApiError:
    return ApiError.one(
        409,
        HELD_BY_AGENT,
        f"Agent integration '{control.integration_id}' controls this conversation; it must "
        "hand it over or release it first.",
    )


def decide(
    control: Control,
    action: str,
    actor: LoadedIntegration,
    target: LoadedIntegration | None,
    members: Sequence[LoadedIntegration],
) -> Change | None:
    """The change `actor` asks for, None when it is already so, or the refusal."""
    if not actor.active or actor.integration_type not in ("Agent", "Bot"):
        raise _refused(
            actor, f"{action} a conversation: only active Agent and Bot integrations can"
        )
    if action == TAKEOVER:
        if actor.integration_type != "Agent":
            raise _refused(actor, "take over a conversation: only Agent integrations can")
        after = Control(AGENT, actor.id, control.start_id)
        if control.same_holder(after):
            return None
        if control.kind == AGENT and holders(control, members):
            raise held_by(control)
        return Change(TAKEOVER, control, after)
    if not is_controller(control, actor):
        raise _refused(actor, f"{action} this conversation: only its controller can")
    if action == RELEASE:
        after = _start_bot(control, members) or Control(AGENTS, None, control.start_id)
        return None if control.same_holder(after) else Change(RELEASE, control, after)
    # handover
    if target is not None:
        if not target.active or target.integration_type not in ("Agent", "Bot"):
            raise bad_request(
                BAD_TARGET,
                f"Integration '{target.id}' is not an active Agent or Bot integration of the hub.",
            )
        after = Control(
            BOT if target.integration_type == "Bot" else AGENT, target.id, control.start_id
        )
        if control.same_holder(after):
            raise bad_request(BAD_TARGET, f"Integration '{target.id}' already controls it.")
        return Change(HANDOVER, control, after)
    if control.kind == BOT:
        handed = _agents(control, members)
        if handed is None:
            raise bad_request(
                BAD_TARGET, "The hub has no active Agent integration to hand over to."
            )
    else:
        handed = _start_bot(control, members)
        if handed is None:
            raise bad_request(
                BAD_TARGET,
                "This conversation has no active bot to go back to; name a target "
                "(or use 'release').",
            )
    return Change(HANDOVER, control, handed)


def target_by_name(members: Sequence[LoadedIntegration], name: str) -> LoadedIntegration:
    """`::handover -n <name>`: integration names are unique per hub, ignoring case."""
    key = name.casefold()
    found = next((m for m in members if m.name.casefold() == key), None)
    if found is None:
        raise bad_request(BAD_TARGET, f"The hub has no integration named '{name[:128]}'.")
    return found


def target_by_id(members: Sequence[LoadedIntegration], wanted: uuid.UUID) -> LoadedIntegration:
    found = _member(members, wanted)
    if found is None:
        raise not_found(6000, f"Integration '{wanted}' does not exist in this conversation's hub.")
    return found


def bot_not_in_control(bot: LoadedIntegration) -> ApiError:
    return forbidden(
        BOT_NOT_IN_CONTROL,
        f"Bot integration '{bot.id}' does not control this conversation; nothing was sent.",
    )
