"""Personal data encrypted at rest (issue 22, patent_platform/fieldcrypto.py): the columns become text holding
SM4-GCM tokens; the rows already there are encrypted in batches (and their blind indexes filled); reversible."""

from django.db import migrations

import patent_platform.encrypted_fields
from patent_platform.encrypted_fields import encrypt_existing


class Migration(migrations.Migration):
    dependencies = [
        ("provincial", "0008_roster_uploads"),
    ]

    operations = [
        migrations.AddField(
            model_name="portapplication",
            name="applicant_email_bidx",
            field=patent_platform.encrypted_fields.BlindIndexField(
                db_index=True, kind="email", source="applicant_email"
            ),
        ),
        migrations.AddField(
            model_name="portcontact",
            name="email_bidx",
            field=patent_platform.encrypted_fields.BlindIndexField(db_index=True, kind="email", source="email"),
        ),
        migrations.AlterField(
            model_name="portapplication",
            name="applicant_email",
            field=patent_platform.encrypted_fields.EncryptedEmailField(
                blind_index="applicant_email_bidx",
                help_text="审核结果发送到此邮箱",
                max_length=254,
                verbose_name="联系邮箱",
            ),
        ),
        migrations.AlterField(
            model_name="portapplication",
            name="contacts",
            field=patent_platform.encrypted_fields.EncryptedJSONField(default=list, verbose_name="联系人"),
        ),
        migrations.AlterField(
            model_name="portapplication",
            name="person_phone",
            field=patent_platform.encrypted_fields.EncryptedCharField(
                blank=True, max_length=30, verbose_name="负责人电话"
            ),
        ),
        migrations.AlterField(
            model_name="portcontact",
            name="email",
            field=patent_platform.encrypted_fields.EncryptedEmailField(
                blind_index="email_bidx", max_length=254, verbose_name="电子邮箱"
            ),
        ),
        migrations.AlterField(
            model_name="portcontact",
            name="mobile",
            field=patent_platform.encrypted_fields.EncryptedCharField(blank=True, max_length=30, verbose_name="手机"),
        ),
        migrations.AlterField(
            model_name="portcontact",
            name="name",
            field=patent_platform.encrypted_fields.EncryptedCharField(max_length=50, verbose_name="姓名"),
        ),
        migrations.AlterField(
            model_name="portcontact",
            name="office_phone",
            field=patent_platform.encrypted_fields.EncryptedCharField(
                blank=True, max_length=30, verbose_name="办公电话"
            ),
        ),
        encrypt_existing("provincial.PortContact", "provincial.PortApplication"),
    ]
