from django.urls import include, path

from filings import views

enterprise_patterns = [path("", views.EnterpriseHomeView.as_view(), name="home")]
review_patterns = [path("", views.ReviewQueueView.as_view(), name="queue")]

urlpatterns = [
    path("enterprise/", include((enterprise_patterns, "enterprise"))),
    path("review/", include((review_patterns, "review"))),
]
