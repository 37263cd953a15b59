"""Every table's model, imported in one place for Alembic and for metadata-wide tools."""

from unihub.core.database import Base
from unihub.hubs.models import Hub, HubCount
from unihub.identity.models import RevokedSecret, SigningKey
from unihub.integrations.models import Integration
from unihub.tenants.models import ApiClient, ClientSecret, Tenant

__all__ = [
    "ApiClient",
    "Base",
    "ClientSecret",
    "Hub",
    "HubCount",
    "Integration",
    "RevokedSecret",
    "SigningKey",
    "Tenant",
]
