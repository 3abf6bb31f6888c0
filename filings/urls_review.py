from django.urls import path

from filings.views import conflicts, drift, identity, review

urlpatterns = [
    path("", review.ReviewQueueView.as_view(), name="queue"),
    path("export.xlsx", review.ReviewExportView.as_view(), name="export"),
    path("versions/<id:pk>/", review.ReviewDetailView.as_view(), name="detail"),
    path("versions/<id:pk>/return/", review.ReviewReturnView.as_view(), name="return"),
    path("versions/<id:pk>/approve/", review.ReviewApproveView.as_view(), name="approve"),
    path("versions/<id:pk>/revoke/", review.ReviewRevokeView.as_view(), name="revoke"),
    path("images/<id:pk>/", review.ReviewImageView.as_view(), name="image"),
    path("identity/", identity.IdentityQueueView.as_view(), name="identity"),
    path("identity/export.xlsx", identity.IdentityExportView.as_view(), name="identity_export"),
    path("identity/<id:pk>/", identity.IdentityDetailView.as_view(), name="identity_detail"),
    path("identity/<id:pk>/decide/", identity.IdentityDecideView.as_view(), name="identity_decide"),
    path("conflicts/", conflicts.ConflictListView.as_view(), name="conflicts"),
    path("conflicts/export.xlsx", conflicts.ConflictExportView.as_view(), name="conflicts-export"),
    path("conflicts/<id:pk>/", conflicts.ConflictDetailView.as_view(), name="conflict"),
    path("conflicts/<id:pk>/close/", conflicts.ConflictCloseView.as_view(), name="conflict-close"),
    path("patent-status/", drift.StatusImportHomeView.as_view(), name="patent_status"),
    path("patent-status/upload/", drift.StatusImportUploadView.as_view(), name="patent_status_upload"),
    path("patent-status/export.xlsx", drift.StatusImportsExportView.as_view(), name="patent_status_export"),
    path("patent-status/template/<slug:ext>/", drift.StatusTemplateView.as_view(), name="patent_status_template"),
    path("patent-status/<id:pk>/", drift.StatusImportDetailView.as_view(), name="patent_status_detail"),
    path("patent-status/<id:pk>/progress/", drift.StatusImportProgressView.as_view(), name="patent_status_progress"),
    path("patent-status/<id:pk>/errors/", drift.StatusImportErrorsView.as_view(), name="patent_status_errors"),
    path("flags/", drift.FlagListView.as_view(), name="flags"),
    path("flags/export.xlsx", drift.FlagExportView.as_view(), name="flags_export"),
    path("flags/<id:pk>/resolve/", drift.FlagResolveView.as_view(), name="flag_resolve"),
]
