"""/api/v1/ routes of the filings app (URL names: enterprise-*, patent-*, product-*, e.g. product-submit)."""

from rest_framework.routers import DefaultRouter

from filings.api.views import FilingUnitViewSet, PatentRightViewSet, ProductViewSet

router = DefaultRouter()
router.register("enterprises", FilingUnitViewSet, basename="enterprise")
router.register("patents", PatentRightViewSet, basename="patent")
router.register("products", ProductViewSet, basename="product")

urlpatterns = router.urls
