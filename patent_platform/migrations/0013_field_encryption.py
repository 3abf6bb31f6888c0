"""Personal data encrypted at rest (issue 22, patent_platform/fieldcrypto.py): the columns become text holding
SM4-GCM tokens; the rows already there are encrypted in batches (and their blind indexes filled); reversible."""

from django.db import migrations

import patent_platform.encrypted_fields
from patent_platform.encrypted_fields import encrypt_existing


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0012_email_confirmation"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_bidx",
            field=patent_platform.encrypted_fields.BlindIndexField(kind="email", source="email"),
        ),
        migrations.AlterField(
            model_name="user",
            name="email",
            field=patent_platform.encrypted_fields.EncryptedEmailField(
                blind_index="email_bidx", max_length=254, unique=True, verbose_name="电子邮箱"
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=patent_platform.encrypted_fields.EncryptedCharField(
                blank=True, max_length=30, verbose_name="手机号码"
            ),
        ),
        encrypt_existing("patent_platform.User"),
        # the real uniqueness of the e-mail, once every row has its index
        migrations.AlterField(
            model_name="user",
            name="email_bidx",
            field=patent_platform.encrypted_fields.BlindIndexField(kind="email", source="email", unique=True),
        ),
    ]
