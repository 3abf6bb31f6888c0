"""E-mail addresses are confirmed before an account can act (patent_platform/confirmation.py). Every account
that exists before this migration (staff, demo and enterprise accounts alike) is marked confirmed as of the
day it joined: they were created before the rule, by administrators or by registrations already in use."""

from django.db import migrations, models
from django.db.models import F


def mark_existing_confirmed(apps, schema_editor):
    User = apps.get_model("patent_platform", "User")
    User.objects.filter(email_confirmed_at__isnull=True).update(email_confirmed_at=F("date_joined"))


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0011_two_factor_reset"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_confirmed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="邮箱确认时间"),
        ),
        migrations.RunPython(mark_existing_confirmed, migrations.RunPython.noop, elidable=True),
    ]
