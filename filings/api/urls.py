from rest_framework.routers import DefaultRouter

from filings.api.views import FilingUnitViewSet

router = DefaultRouter()
router.register("enterprises", FilingUnitViewSet, basename="enterprise")

urlpatterns = router.urls
