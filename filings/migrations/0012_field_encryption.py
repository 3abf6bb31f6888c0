"""Personal data encrypted at rest (issue 22, patent_platform/fieldcrypto.py): the columns become text holding
SM4-GCM tokens; the rows already there are encrypted in batches (and their blind indexes filled); reversible."""

from django.db import migrations

import patent_platform.encrypted_fields
from patent_platform.encrypted_fields import encrypt_existing


class Migration(migrations.Migration):
    dependencies = [
        ("filings", "0011_patent_status_checked"),
    ]

    operations = [
        migrations.AlterField(
            model_name="filingunit",
            name="contact_email",
            field=patent_platform.encrypted_fields.EncryptedEmailField(
                blank=True, max_length=254, verbose_name="联系邮箱"
            ),
        ),
        migrations.AlterField(
            model_name="filingunit",
            name="contact_name",
            field=patent_platform.encrypted_fields.EncryptedCharField(blank=True, max_length=50, verbose_name="联系人"),
        ),
        migrations.AlterField(
            model_name="filingunit",
            name="contact_phone",
            field=patent_platform.encrypted_fields.EncryptedCharField(
                blank=True, max_length=30, verbose_name="联系电话"
            ),
        ),
        encrypt_existing("filings.FilingUnit"),
    ]
