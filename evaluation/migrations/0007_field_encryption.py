"""Personal data encrypted at rest (issue 22, patent_platform/fieldcrypto.py): the columns become text holding
SM4-GCM tokens; the rows already there are encrypted in batches (and their blind indexes filled); reversible."""

from django.db import migrations

import patent_platform.encrypted_fields
from patent_platform.encrypted_fields import encrypt_existing


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0006_certificate_life"),
    ]

    operations = [
        migrations.AlterField(
            model_name="objection",
            name="contact",
            field=patent_platform.encrypted_fields.EncryptedCharField(max_length=100, verbose_name="联系方式"),
        ),
        encrypt_existing("evaluation.Objection"),
    ]
