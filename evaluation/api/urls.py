"""/api/v1/evaluation/: methods, benchmark sets, rounds (with start and stage actions), results."""

from rest_framework.routers import DefaultRouter

from evaluation.api import views

router = DefaultRouter()
router.register("methods", views.MethodViewSet, basename="evaluation-method")
router.register("benchmark-sets", views.BenchmarkSetViewSet, basename="evaluation-benchmark-set")
router.register("rounds", views.RoundViewSet, basename="evaluation-round")
router.register("results", views.ResultViewSet, basename="evaluation-result")

urlpatterns = router.urls
