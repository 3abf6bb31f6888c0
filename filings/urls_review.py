from django.urls import path

from filings.views import conflicts, review

urlpatterns = [
    path("", review.ReviewQueueView.as_view(), name="queue"),
    path("export.xlsx", review.ReviewExportView.as_view(), name="export"),
    path("versions/<int:pk>/", review.ReviewDetailView.as_view(), name="detail"),
    path("versions/<int:pk>/return/", review.ReviewReturnView.as_view(), name="return"),
    path("versions/<int:pk>/approve/", review.ReviewApproveView.as_view(), name="approve"),
    path("versions/<int:pk>/revoke/", review.ReviewRevokeView.as_view(), name="revoke"),
    path("images/<int:pk>/", review.ReviewImageView.as_view(), name="image"),
    path("conflicts/", conflicts.ConflictListView.as_view(), name="conflicts"),
    path("conflicts/export.xlsx", conflicts.ConflictExportView.as_view(), name="conflicts-export"),
    path("conflicts/<int:pk>/", conflicts.ConflictDetailView.as_view(), name="conflict"),
    path("conflicts/<int:pk>/close/", conflicts.ConflictCloseView.as_view(), name="conflict-close"),
]
