from django.urls import path

from filings.views import enterprise

urlpatterns = [
    path("", enterprise.EnterpriseHomeView.as_view(), name="home"),
]
