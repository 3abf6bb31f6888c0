"""The public search reads one column of the products table (filings/search.py): `Product.search_text`, the
published version's name and the unit's name, one per line, filled here for every published product; on PostgreSQL a
GIN index of its grams takes the place of the two indexes of migration 0014 (versions' and units' names),
which nothing reads any more."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat

CREATE = "CREATE INDEX filings_product_search_grams ON filings_product USING gin (pp_search_grams(search_text))"
DROP_OLD = "DROP INDEX IF EXISTS filings_version_name_grams; DROP INDEX IF EXISTS filings_unit_name_grams"
OLD = """
CREATE INDEX filings_version_name_grams ON filings_productversion USING gin (pp_search_grams(name));
CREATE INDEX filings_unit_name_grams ON filings_filingunit USING gin (pp_search_grams(name));
"""


def fill(apps, schema_editor):
    Product = apps.get_model("filings", "Product")
    ProductVersion = apps.get_model("filings", "ProductVersion")
    FilingUnit = apps.get_model("filings", "FilingUnit")
    published = ProductVersion.objects.filter(pk=OuterRef("published_version_id")).values("name")[:1]
    unit = FilingUnit.objects.filter(pk=OuterRef("unit_id")).values("name")[:1]
    Product.objects.filter(published_version__isnull=False).update(
        search_text=Concat(
            Coalesce(Subquery(published), Value("")),
            Value("\n"),
            Coalesce(Subquery(unit), Value("")),
            output_field=TextField(),
        )
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute(DROP_OLD)


def unfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS filings_product_search_grams")
        schema_editor.execute(OLD)


class Migration(migrations.Migration):
    dependencies = [("filings", "0014_search_grams")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_text",
            field=models.TextField(blank=True, db_default="", default="", editable=False),
        ),
        migrations.RunPython(fill, unfill, elidable=False),
    ]
