"""/api/v1/provincial/: statistics, coverage and rosters, through the same scoping rule as the pages."""

urlpatterns: list = []
