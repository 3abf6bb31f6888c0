from django.urls import path

from filings.views import review

urlpatterns = [
    path("", review.ReviewQueueView.as_view(), name="queue"),
]
