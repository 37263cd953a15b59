"""Every table's model, imported in one place for Alembic and for metadata-wide tools."""

from unihub.activities.models import StoredActivity
from unihub.channels.line.models import LineFollower, LineReplyToken
from unihub.channels.slack.models import SlackNonce, SlackThread
from unihub.channels.telegram.models import TelegramButton, TelegramPoll
from unihub.commands.models import ResponseCommand, TransferCommand
from unihub.conversations.models import Conversation, InboundReceipt
from unihub.core.orm import Base
from unihub.delivery.models import Delivery
from unihub.hubs.models import Hub, HubCount
from unihub.identity.models import SigningKey
from unihub.integrations.models import Integration
from unihub.middleware.models import IdempotencyKey
from unihub.tenants.models import ApiClient, ClientSecret, RevokedSecret, Tenant

__all__ = [
    "ApiClient",
    "Base",
    "ClientSecret",
    "Conversation",
    "Delivery",
    "Hub",
    "HubCount",
    "IdempotencyKey",
    "InboundReceipt",
    "Integration",
    "LineFollower",
    "LineReplyToken",
    "ResponseCommand",
    "RevokedSecret",
    "SigningKey",
    "SlackNonce",
    "SlackThread",
    "StoredActivity",
    "TelegramButton",
    "TelegramPoll",
    "Tenant",
    "TransferCommand",
]
