"""The default method version shipped with the platform: its reading of T/PPAC 402-2022
(`evaluation.defaults`; `manage.py load_reference` creates it again in a flushed database)."""

from django.db import migrations

from evaluation.defaults import CODE, create_default_method


def create(apps, schema_editor):
    create_default_method(apps.get_model("evaluation", "MethodVersion"), apps.get_model("evaluation", "Indicator"))


def remove(apps, schema_editor):
    apps.get_model("evaluation", "MethodVersion").objects.filter(code=CODE, rounds__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
