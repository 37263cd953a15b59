"""Activity messages as provider channels can show them.

Each provider supports a subset of the activity message types; everything else is sent as a
plain-text fallback built here, so no message is dropped because a channel lacks a widget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Node = dict[str, Any]


def _actions(actions: Any) -> list[str]:
    lines = []
    for action in actions or []:
        if not isinstance(action, dict):
            continue
        title = str(action.get("title") or "").strip()
        if action.get("type") == "link" and action.get("url"):
            lines.append(f"{title}: {action['url']}" if title else str(action["url"]))
        elif title:
            lines.append(f"[{title}]")
    return lines


def _card(node: Node) -> list[str]:
    lines = [str(node[k]) for k in ("title", "subtitle", "content") if node.get(k)]
    if node.get("url"):
        lines.append(str(node["url"]))
    elif node.get("imageUrl"):
        lines.append(str(node["imageUrl"]))
    return lines + _actions(node.get("actions"))


def text_fallback(node: Node) -> str:
    """The whole message as text: captions, links and button titles, one per line."""
    kind = node.get("type")
    lines: list[str] = []
    if kind == "text":
        if node.get("text"):
            lines.append(str(node["text"]))
        for item in node.get("items") or []:
            if isinstance(item, dict):
                lines.append(text_fallback(item))
        lines += _actions(node.get("actions"))
    elif kind in ("image", "video", "audio", "youtube", "vimeo", "attachment"):
        caption = node.get("title") or node.get("label") or node.get("alt")
        if caption:
            lines.append(str(caption))
        lines.append(str(node.get("urlAnchor") or node.get("url") or ""))
    elif kind == "location":
        if node.get("address"):
            lines.append(str(node["address"]))
        if node.get("latitude") is not None and node.get("longitude") is not None:
            where = f"{node['latitude']},{node['longitude']}"
            lines.append(f"https://maps.google.com/?q={where}")
    elif kind == "contact":
        lines += [str(node[k]) for k in ("title", "subtitle") if node.get(k)]
        for prop in node.get("properties") or []:
            if isinstance(prop, dict) and prop.get("value"):
                name = prop.get("name") or prop.get("type")
                lines.append(f"{name}: {prop['value']}" if name else str(prop["value"]))
    elif kind == "card":
        lines += _card(node)
    elif kind in ("carousel", "list"):
        for item in node.get("items") or []:
            if isinstance(item, dict):
                lines.append("\n".join(_card(item)))
        lines += _actions(node.get("actions"))
    return "\n".join(line for line in lines if line).strip()


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_node(payload: Mapping[str, Any]) -> Node | None:
    """The message node of a Direct payload; None for events (no provider form)."""
    activity = payload.get("activity") or {}
    if activity.get("type") != "message" or not isinstance(activity.get("message"), dict):
        return None
    node: Node = activity["message"]
    return node
