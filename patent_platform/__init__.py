"""The platform package (the design card's `platform/`: renamed because `platform` is a standard-library
module, and a package of that name next to manage.py shadows it so that Django itself fails to import)."""

from patent_platform.celery import app as celery_app

__all__ = ["celery_app"]
