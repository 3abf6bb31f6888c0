"""/checks/: the plausibility thresholds, the flag-rate report, the credit lists (filings/views/checks.py)."""

from django.urls import path

from filings.views import checks

urlpatterns = [
    path("settings/", checks.CheckSettingsView.as_view(), name="settings"),
    path("report/", checks.FlagReportView.as_view(), name="report"),
    path("report/export.xlsx", checks.FlagReportExportView.as_view(), name="report_export"),
    path("credit-lists/", checks.CreditListHomeView.as_view(), name="credit_home"),
    path("credit-lists/upload/", checks.CreditListUploadView.as_view(), name="credit_upload"),
    path("credit-lists/export.xlsx", checks.CreditListImportsExportView.as_view(), name="credit_export"),
    path("credit-lists/template/<slug:ext>/", checks.CreditListTemplateView.as_view(), name="credit_template"),
    path("credit-lists/entries/", checks.CreditListEntriesView.as_view(), name="credit_entries"),
    path(
        "credit-lists/entries/export.xlsx", checks.CreditListEntriesExportView.as_view(), name="credit_entries_export"
    ),
    path("credit-lists/<id:pk>/", checks.CreditListImportDetailView.as_view(), name="credit_detail"),
    path("credit-lists/<id:pk>/progress/", checks.CreditListImportProgressView.as_view(), name="credit_progress"),
    path("credit-lists/<id:pk>/errors/", checks.CreditListImportErrorsView.as_view(), name="credit_errors"),
]
