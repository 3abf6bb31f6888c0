"""Root URLs. Apps are included by dotted path (strings), so this module imports none of them and the
layers patent_platform ← filings ← evaluation ← provincial stay one-way."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from patent_platform.views import (
    audit,
    auth,
    confirmation,
    elder,
    health,
    home,
    notices,
    oidc,
    recovery,
    roles,
    signature,
)

urlpatterns = [
    path("", home.HomeView.as_view(), name="home"),
    path("healthz", health.HealthView.as_view(), name="healthz"),
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path("accounts/oidc/<slug:provider>/", oidc.OIDCLoginView.as_view(), name="oidc_login"),
    path("accounts/oidc/<slug:provider>/callback/", oidc.OIDCCallbackView.as_view(), name="oidc_callback"),
    path("accounts/two-factor/", auth.TwoFactorView.as_view(), name="two_factor"),
    path("accounts/two-factor/setup/", auth.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("accounts/two-factor/recovery/", recovery.TwoFactorRecoveryView.as_view(), name="two_factor_recovery"),
    path(
        "accounts/two-factor/recovery-codes/",
        recovery.RecoveryCodesView.as_view(),
        name="two_factor_recovery_codes",
    ),
    path("accounts/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password-reset/", recovery.PasswordResetRequestView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", recovery.PasswordResetSentView.as_view(), name="password_reset_sent"),
    path("accounts/password-reset/done/", recovery.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        recovery.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/activate/<uidb64>/<token>/", auth.ActivateView.as_view(), name="activate"),
    path("accounts/email/", confirmation.EmailUnconfirmedView.as_view(), name="email_unconfirmed"),
    path("accounts/email/<uidb64>/<token>/", confirmation.EmailConfirmView.as_view(), name="email_confirm"),
    path("audit/", audit.AuditLogView.as_view(), name="audit-log"),
    path("audit/export/", audit.AuditLogExportView.as_view(), name="audit-export"),
    path("security/accounts/", roles.AccountListView.as_view(), name="security-accounts"),
    path("security/accounts/export/", roles.AccountExportView.as_view(), name="security-accounts-export"),
    path("security/accounts/<id:pk>/", roles.AccountDetailView.as_view(), name="security-account"),
    path("security/notices/", notices.NoticeListView.as_view(), name="security-notices"),
    path("security/notices/export/", notices.NoticeExportView.as_view(), name="security-notices-export"),
    path("accessibility/elder/", elder.ElderModeView.as_view(), name="elder_mode"),
    path(".well-known/sm2-public-key.pem", signature.PublicKeyView.as_view(), name="sm2-public-key"),
    path("verify/signature/", signature.SignatureVerifyView.as_view(), name="signature-verify"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("patent_platform.api.urls")),
    path("", include(("patent_platform.urls_manual", "manual"))),
    path("", include("filings.urls")),
    path("", include("evaluation.urls")),
    path("", include("provincial.urls")),
    path("", include("verification.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]

# A path under /api/ that no route matches answers JSON, like the API's own 404s.
handler404 = "patent_platform.api.views.not_found"
# The database unreachable: 503, a static page or JSON (patent_platform/views/errors.py); other errors: 500.
handler500 = "patent_platform.views.errors.server_error"
