"""Every table's model, imported in one place for Alembic and for metadata-wide tools."""

from unihub.core.database import Base
from unihub.hardening.models import IdempotencyKey
from unihub.hubs.models import Hub
from unihub.identity.models import RevokedSecret, SigningKey
from unihub.integrations.models import Integration
from unihub.tenants.models import ApiClient, ClientSecret, Tenant

__all__ = [
    "ApiClient",
    "Base",
    "ClientSecret",
    "Hub",
    "IdempotencyKey",
    "Integration",
    "RevokedSecret",
    "SigningKey",
    "Tenant",
]
