"""URLs of the filings app; each area has its own module and namespace."""

from django.urls import include, path

urlpatterns = [
    path("enterprise/imports/", include(("filings.urls_imports", "imports"))),
    path("enterprise/webhooks/", include(("filings.urls_webhooks", "webhooks"))),
    path("enterprise/", include(("filings.urls_enterprise", "enterprise"))),
    path("review/", include(("filings.urls_review", "review"))),
    path("documents/", include(("filings.urls_documents", "documents"))),
    path("products/", include(("filings.urls_public", "public"))),
    path("filing-settings/", include(("filings.urls_settings", "filing_settings"))),
    path("checks/", include(("filings.urls_checks", "checks"))),
]
