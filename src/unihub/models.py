"""Every table's model, imported in one place for Alembic and for metadata-wide tools."""

from unihub.commands.models import ResponseCommand, TransferCommand
from unihub.core.database import Base
from unihub.hubs.models import Hub
from unihub.identity.models import RevokedSecret, SigningKey
from unihub.integrations.models import Integration, SlackNonce
from unihub.tenants.models import ApiClient, ClientSecret, Tenant

__all__ = [
    "ApiClient",
    "Base",
    "ClientSecret",
    "Hub",
    "Integration",
    "ResponseCommand",
    "RevokedSecret",
    "SigningKey",
    "SlackNonce",
    "Tenant",
    "TransferCommand",
]
