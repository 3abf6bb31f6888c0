"""Target rosters and coverage (namespace `rosters`, under /rosters/)."""

from django.urls import path

from provincial.views import rosters

urlpatterns = [
    path("", rosters.RosterListView.as_view(), name="list"),
    path("export/", rosters.RosterListExportView.as_view(), name="export"),
    path("upload/", rosters.RosterUploadView.as_view(), name="upload"),
    path("uploads/<id:pk>/", rosters.RosterUploadDetailView.as_view(), name="upload_detail"),
    path("uploads/<id:pk>/progress/", rosters.RosterUploadProgressView.as_view(), name="upload_progress"),
    path("uploads/<id:pk>/errors/", rosters.RosterUploadErrorsView.as_view(), name="upload_errors"),
    path("uploads/export/", rosters.RosterUploadsExportView.as_view(), name="upload_export"),
    path("template/", rosters.RosterTemplateView.as_view(), name="template"),
    path("<id:pk>/delete/", rosters.RosterDeleteView.as_view(), name="delete"),
    path("coverage/", rosters.CoverageView.as_view(), name="coverage"),
    path("coverage/export/", rosters.CoverageExportView.as_view(), name="coverage_export"),
    path("missing/", rosters.MissingView.as_view(), name="missing"),
    path("missing/export/", rosters.MissingExportView.as_view(), name="missing_export"),
    path("missing/follow-up/", rosters.FollowUpView.as_view(), name="follow_up"),
    path("follow-ups/", rosters.FollowUpListView.as_view(), name="follow_ups"),
    path("follow-ups/export/", rosters.FollowUpExportView.as_view(), name="follow_ups_export"),
    path("completeness/", rosters.CompletenessView.as_view(), name="completeness"),
    path("completeness/export/", rosters.CompletenessExportView.as_view(), name="completeness_export"),
]
