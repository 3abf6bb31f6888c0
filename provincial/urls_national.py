from django.urls import path

from provincial.views import dashboard

urlpatterns = [path("", dashboard.NationalHomeView.as_view(), name="home")]
