"""/api/v1/verify/: the verification API (docs/VERIFICATION_API.md)."""

from django.urls import path, re_path

from verification.api import views

# numbers of at most 40 characters without a slash: anything longer matches no route (404)
NUMBER = r"(?P<{}>[^/]{{1,40}})"

urlpatterns = [
    path("token/", views.VerificationTokenView.as_view(), name="verify-token"),
    re_path(
        r"^filings/" + NUMBER.format("filing_number") + "/$", views.FilingVerifyView.as_view(), name="verify-filing"
    ),
    re_path(
        r"^certificates/" + NUMBER.format("number") + "/$",
        views.CertificateVerifyView.as_view(),
        name="verify-certificate",
    ),
    re_path(
        r"^statements/" + NUMBER.format("number") + "/$", views.StatementVerifyView.as_view(), name="verify-statement"
    ),
    re_path(
        r"^units/" + NUMBER.format("uscc") + "/products/$",
        views.UnitProductsView.as_view(),
        name="verify-unit-products",
    ),
    path("statistics/", views.StatisticsView.as_view(), name="verify-statistics"),
]
