"""Accounts whose second factor the security administrator reset must enrol again (duties.reset_two_factor)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0010_idempotency"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="otp_enrolment_required",
            field=models.BooleanField(default=False, editable=False, verbose_name="须重新设置双因素认证"),
        ),
    ]
