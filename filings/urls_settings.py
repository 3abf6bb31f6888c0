from django.urls import path

from filings.views import settings

urlpatterns = [
    path("", settings.FilingPolicyView.as_view(), name="policy"),
]
