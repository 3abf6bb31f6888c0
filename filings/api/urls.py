"""/api/v1/ routes of the filings app (URL names: enterprise-*, patent-*, product-*, webhook-*, e.g. product-submit)."""

from rest_framework.routers import DefaultRouter

from filings.api.views import FilingUnitViewSet, PatentRightViewSet, ProductViewSet
from filings.api.webhooks import WebhookEndpointViewSet

router = DefaultRouter()
router.register("enterprises", FilingUnitViewSet, basename="enterprise")
router.register("patents", PatentRightViewSet, basename="patent")
router.register("products", ProductViewSet, basename="product")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")

urlpatterns = router.urls
