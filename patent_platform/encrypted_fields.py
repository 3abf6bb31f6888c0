"""Model fields whose values are stored encrypted (patent_platform/fieldcrypto.py: SM4-GCM tokens).

- `EncryptedCharField` / `EncryptedEmailField`: behave as CharField / EmailField to forms, the admin and the
  API (max_length and validators check the plaintext), store a token in a text column, give the
  plaintext back when read.
- `EncryptedJSONField`: a JSON value (a list of contacts) stored as one token.
- `BlindIndexField`: the companion column of an encrypted field that is looked up by exact match
  (HMAC-SM3 of the normalised value, filled on every save, bulk_create included).

What a query may ask of an encrypted field (anything else raises `FieldError` at once, with this rule):
- `field=value`, `field__exact`, `field__iexact`, `field__in=[…]`: compared through the blind index (the
  normalisation makes an e-mail match case-insensitively, a phone number by its digits); a field without
  a blind index answers only `field=""` (blank or not) and `field__isnull`.
- never `contains` / `icontains` / `startswith` / `gt` … (the database holds no plaintext to compare), and
  ordering by an encrypted field orders by ciphertext, that is at random: order by something else.
- `QuerySet.update(field=…)` and `save(update_fields=[field])` encrypt, but only `save()` (or bulk_create)
  refreshes the blind index: `save(update_fields=[…])` naming the field without its index is refused.
"""

import json
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.core import validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Lookup
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, In, IsNull
from django.db.models.signals import pre_save

from patent_platform import fieldcrypto

ALLOWED_LOOKUPS = ("exact", "iexact", "in", "isnull")

# The set and get types of a field, as django-stubs' fields take them (its plugin fills them in per field).
_ST = TypeVar("_ST", contravariant=True)
_GT = TypeVar("_GT", covariant=True)


def _refuse(field: models.Field[Any, Any], lookup_name: str) -> FieldError:
    return FieldError(
        f"{field.model.__name__}.{field.name} is encrypted at rest: '{lookup_name}' cannot be evaluated by the "
        "database. Only exact matches (exact, iexact, in) through its blind index, or a comparison with '' and "
        "isnull, are possible (patent_platform/encrypted_fields.py)."
    )


if TYPE_CHECKING:
    _FieldBase = models.Field[Any, Any]
else:
    _FieldBase = object


class _EncryptedMixin(_FieldBase):
    """Shared by the encrypted fields: a text column, encrypt on the way in, decrypt on the way out (mixed into
    Django fields: a Field to the type checker)."""

    blind_index: str | None

    def db_type(self, connection: Any) -> str | None:
        return models.TextField().db_type(connection)

    def cast_db_type(self, connection: Any) -> str | None:
        return models.TextField().db_type(connection)

    def rel_db_type(self, connection: Any) -> str | None:
        return models.TextField().db_type(connection)

    def encrypt_value(self, value: Any) -> Any:
        raise NotImplementedError

    def decrypt_value(self, value: Any) -> Any:
        raise NotImplementedError

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if fieldcrypto.is_token(value) and fieldcrypto.is_valid_token(value):
            return value  # already a token (a backup being restored: value_to_string): stored as it is
        return self.encrypt_value(value)

    def value_to_string(self, obj: Any) -> str:
        """What the serializers write (dumpdata, hence `manage.py backup`): the token, so that a backup holds no
        plaintext either; restoring it needs the keys (a token that authenticates is stored as it is)."""
        result: str = self.encrypt_value(self.value_from_object(obj))
        return result

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return self.decrypt_value(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return IsNull
        if lookup_name in ("exact", "iexact"):
            return BlindIndexExact if lookup_name == "exact" else BlindIndexIExact
        if lookup_name == "in":
            return BlindIndexIn
        raise _refuse(self, lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        raise _refuse(self, lookup_name)


class EncryptedCharField(_EncryptedMixin, models.CharField[_ST, _GT]):
    """A CharField stored as an SM4-GCM token in a text column. `blind_index` names the companion
    `BlindIndexField` of a field looked up by exact match."""

    description = "Text encrypted at rest (SM4-GCM)"

    def __init__(self, *args: Any, blind_index: str | None = None, **kwargs: Any) -> None:
        self.blind_index = blind_index
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.blind_index:
            kwargs["blind_index"] = self.blind_index
        return name, path, args, kwargs

    def encrypt_value(self, value: Any) -> Any:
        value = self.to_python(value)
        return None if value is None else fieldcrypto.encrypt(str(value))

    def decrypt_value(self, value: Any) -> Any:
        return None if value is None else fieldcrypto.decrypt(value)


class EncryptedEmailField(EncryptedCharField[_ST, _GT]):
    """An EmailField stored encrypted: the e-mail validator and form field of Django's EmailField."""

    default_validators = [validators.validate_email]  # noqa: RUF012 (Django's Field attribute, a list)
    description = "E-mail address encrypted at rest (SM4-GCM)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.EmailField, **kwargs})


class EncryptedJSONField(_EncryptedMixin, models.TextField[_ST, _GT]):
    """A JSON value (lists and dicts of plain data) stored as one SM4-GCM token in a text column."""

    description = "JSON encrypted at rest (SM4-GCM)"
    blind_index = None
    if TYPE_CHECKING:  # a JSON value on the model, not the text of its column (django-stubs' TextField types)
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    def encrypt_value(self, value: Any) -> Any:
        if value is None:
            return None
        return fieldcrypto.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def decrypt_value(self, value: Any) -> Any:
        if value is None:
            return None
        text = fieldcrypto.decrypt(value)
        return json.loads(text) if text else None

    def to_python(self, value: Any) -> Any:
        return value

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


class BlindIndexField(models.CharField[_ST, _GT]):
    """HMAC-SM3 (hex) of the normalised value of the encrypted field `source`; `kind` is the normalisation
    ("email": lower-cased, "phone": digits only, "text": trimmed). Filled on save; never edited."""

    description = "Blind index (HMAC-SM3) of an encrypted field"

    def __init__(self, *args: Any, source: str = "", kind: str = "text", **kwargs: Any) -> None:
        self.source = source
        self.kind = kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["kind"] = self.kind
        for key, default in (("max_length", 64), ("editable", False), ("blank", True), ("default", "")):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def compute(self, value: Any) -> str:
        return fieldcrypto.blind_index(str(value or ""), self.kind)

    def pre_save(self, model_instance: Any, add: bool) -> str:
        value = self.compute(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        if not cls._meta.abstract:
            pre_save.connect(
                _guard_update_fields, sender=cls, weak=False, dispatch_uid=f"bidx:{cls._meta.label}:{name}"
            )


def _guard_update_fields(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if not update_fields:
        return
    for field in sender._meta.concrete_fields:
        if isinstance(field, BlindIndexField) and field.source in update_fields and field.name not in update_fields:
            raise FieldError(
                f"save(update_fields=…) names the encrypted {sender.__name__}.{field.source} without its blind "
                f"index {field.name}: add it, or the look-ups by {field.source} go stale"
            )


def _companion(lookup: Lookup) -> tuple[Col, BlindIndexField[Any, Any] | None]:
    lhs = lookup.lhs
    if not isinstance(lhs, Col):
        raise FieldError("an encrypted field is compared by exact match of the column itself, not of an expression")
    field = lhs.target
    name = getattr(field, "blind_index", None)
    companion = field.model._meta.get_field(name) if name else None
    return lhs, companion  # type: ignore[return-value]


class BlindIndexExact(Lookup):
    """`encrypted = value` compiled to `blind index = HMAC-SM3(value)`; `= ''` compares the column itself."""

    lookup_name = "exact"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, companion = _companion(self)
        if hasattr(self.rhs, "resolve_expression"):
            raise _refuse(lhs.target, f"{self.lookup_name} with an expression")
        value = "" if self.rhs is None else str(self.rhs)
        if value == "":
            return compiler.compile(Exact(lhs, ""))
        if companion is None:
            raise _refuse(lhs.target, f"{self.lookup_name} (no blind index)")
        return compiler.compile(Exact(Col(lhs.alias, companion), companion.compute(value)))


class BlindIndexIExact(BlindIndexExact):
    lookup_name = "iexact"


class BlindIndexIn(Lookup):
    lookup_name = "in"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, companion = _companion(self)
        if companion is None or hasattr(self.rhs, "resolve_expression") or isinstance(self.rhs, str):
            raise _refuse(lhs.target, "in (needs a list of values and a blind index)")
        values = {companion.compute(v) for v in self.rhs if v not in (None, "")}
        return compiler.compile(In(Col(lhs.alias, companion), sorted(values)))


def is_encrypted(field: Any) -> bool:
    return isinstance(field, _EncryptedMixin)


def encrypted_fields(model: Any) -> list[models.Field[Any, Any]]:
    """The model's encrypted concrete fields (rotate_field_keys, the migrations)."""
    return [f for f in model._meta.concrete_fields if isinstance(f, _EncryptedMixin)]


def blind_index_fields(model: Any) -> list[BlindIndexField[Any, Any]]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]


def encrypt_existing(*model_labels: str) -> Any:
    """The RunPython of a migration that turns these models' columns encrypted: encrypts the rows already
    there and fills their blind indexes, in batches; backwards, writes the plaintext back."""
    from django.db import migrations

    def forward(apps: Any, schema_editor: Any) -> None:
        for label in model_labels:
            encrypt_rows(apps.get_model(label), using=schema_editor.connection.alias)

    def backward(apps: Any, schema_editor: Any) -> None:
        for label in model_labels:
            encrypt_rows(apps.get_model(label), using=schema_editor.connection.alias, reverse=True)

    return migrations.RunPython(forward, backward, elidable=False)


def encrypt_rows(model: Any, batch_size: int = 1000, reverse: bool = False, using: str = "default") -> int:
    """Re-write every row's encrypted fields (and blind indexes) in batches by primary key, each batch one
    transaction: plaintext → token under the current key (the migrations, `rotate_field_keys`), or, with
    `reverse`, token → plaintext (the migrations' way back). Returns the number of rows written."""
    from django.db import transaction

    fields = encrypted_fields(model)
    indexes = blind_index_fields(model)
    if not fields:
        return 0
    names = [f.attname for f in fields] + [f.attname for f in indexes]
    done = 0
    last_pk: Any = None
    manager = model._base_manager.db_manager(using)
    while True:
        with transaction.atomic(using=using):
            qs = manager.order_by("pk").only("pk", *names)
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            rows = list(qs.select_for_update()[:batch_size])
            if not rows:
                return done
            for row in rows:
                for index in indexes:
                    setattr(row, index.attname, index.compute(getattr(row, index.source)))
            _write_rows(model, rows, fields, indexes, using, plaintext=reverse)
            done += len(rows)
            last_pk = rows[-1].pk


def _write_rows(
    model: Any, rows: list[Any], fields: list[models.Field[Any, Any]], indexes: list[Any], using: str, plaintext: bool
) -> None:
    """One UPDATE per row, sent together (executemany): the encrypted fields as tokens under the current key
    (or, `plaintext`, as the values themselves: the migrations' way back) and the blind indexes."""
    from django.db import connections

    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    sets = ", ".join(f"{quote(f.column)} = %s" for f in [*fields, *indexes])
    params = []
    for row in rows:
        values = []
        for f in fields:
            value = getattr(row, f.attname)
            if plaintext:
                if isinstance(f, EncryptedJSONField) and value is not None:
                    value = json.dumps(value, ensure_ascii=False)
            else:
                value = f.encrypt_value(value)  # type: ignore[attr-defined]
            values.append(value)
        values.extend(getattr(row, i.attname) for i in indexes)
        params.append([*values, row.pk])
    with connection.cursor() as cursor:
        # names quoted from the model, values as parameters
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s", params)  # noqa: S608
