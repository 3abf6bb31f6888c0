from django.urls import include, path

from provincial import views

port_patterns = [path("", views.PortHomeView.as_view(), name="home")]
national_patterns = [path("", views.NationalHomeView.as_view(), name="home")]

urlpatterns = [
    path("port/", include((port_patterns, "port"))),
    path("national/", include((national_patterns, "national"))),
]
