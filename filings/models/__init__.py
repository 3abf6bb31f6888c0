from filings.models.checks import (
    CheckSettings,
    CreditListEntry,
    CreditListImport,
    PlausibilityCheck,
    PlausibilityFlag,
)
from filings.models.drift import FilingFlag, PatentConflict, PatentStatusChange, PatentStatusImport
from filings.models.identity import IdentityRequest
from filings.models.patents import FilingPolicy, Patent, PatentRight
from filings.models.products import (
    FilingNumberSequence,
    ImportJob,
    PatentLink,
    Product,
    ProductImage,
    ProductVersion,
    ReturnReason,
    ReviewOverride,
    Transition,
)
from filings.models.units import FilingUnit, FilingUnitQuerySet, ProductClass, UnitMembership, uscc_validator
from filings.models.webhooks import (
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
)

__all__ = [
    "CheckSettings",
    "CreditListEntry",
    "CreditListImport",
    "FilingFlag",
    "FilingNumberSequence",
    "FilingPolicy",
    "FilingUnit",
    "FilingUnitQuerySet",
    "IdentityRequest",
    "ImportJob",
    "Patent",
    "PatentConflict",
    "PatentLink",
    "PatentRight",
    "PatentStatusChange",
    "PatentStatusImport",
    "PlausibilityCheck",
    "PlausibilityFlag",
    "Product",
    "ProductClass",
    "ProductImage",
    "ProductVersion",
    "ReturnReason",
    "ReviewOverride",
    "Transition",
    "UnitMembership",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEndpointStatus",
    "uscc_validator",
]
