from django.urls import path

from filings.views import review

urlpatterns = [
    path("", review.ReviewQueueView.as_view(), name="queue"),
    path("export.xlsx", review.ReviewExportView.as_view(), name="export"),
    path("versions/<int:pk>/", review.ReviewDetailView.as_view(), name="detail"),
    path("versions/<int:pk>/return/", review.ReviewReturnView.as_view(), name="return"),
    path("versions/<int:pk>/approve/", review.ReviewApproveView.as_view(), name="approve"),
    path("versions/<int:pk>/revoke/", review.ReviewRevokeView.as_view(), name="revoke"),
    path("images/<int:pk>/", review.ReviewImageView.as_view(), name="image"),
]
