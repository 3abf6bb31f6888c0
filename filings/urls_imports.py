"""Excel bulk filing (namespace `imports`, under /enterprise/imports/)."""

from django.urls import path

from filings.views import imports

urlpatterns = [
    path("", imports.ImportHomeView.as_view(), name="home"),
    path("upload/", imports.ImportUploadView.as_view(), name="upload"),
    path("export/", imports.ImportJobsExportView.as_view(), name="export"),
    path("templates/<slug:kind>/", imports.ImportTemplateView.as_view(), name="template"),
    path("<id:pk>/", imports.ImportJobView.as_view(), name="job"),
    path("<id:pk>/progress/", imports.ImportJobProgressView.as_view(), name="job_progress"),
    path("<id:pk>/errors/", imports.ImportErrorsView.as_view(), name="errors"),
]
