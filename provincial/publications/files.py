"""The files of a publication in Django's storage (the local MEDIA_ROOT or the object store): their names, the
download names, opening them, the temporary files of a build and their removal."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from provincial.choices import PublicationKind
from provincial.models import Publication

logger = logging.getLogger(__name__)

EXTENSIONS = ("xlsx", "pdf")


def publication_storage() -> Storage:
    """Where the files live: Django's default storage (the local MEDIA_ROOT in the embedded default, the
    object store when one is configured; never a path, so that any web or worker machine reads them)."""
    return storages["default"]


def relative_dir(publication: Publication) -> str:
    return f"{settings.PUBLICATION_DIR}/{publication.kind}/{publication.period:%Y-%m}"


def stem_prefix(publication: Publication) -> str:
    return f"{publication.scope_key}-{publication.kind}-{publication.period:%Y%m}-"


def publication_name(publication: Publication, ext: str) -> str:
    """The storage name of a ready publication's file (`ext`: "xlsx" or "pdf"); 404 if there is none."""
    if ext not in EXTENSIONS:
        raise Http404
    name = getattr(publication, f"{ext}_file")
    if not name or not name.startswith(f"{settings.PUBLICATION_DIR}/") or ".." in name.split("/"):
        raise Http404
    return name


def download_name(publication: Publication, ext: str) -> str:
    """A file name for the user: 广东省-2026年11月-月度备案数据.xlsx; from the second edition on it adds the
    edition of the file served (第2版: the file's r2, the label on the page, in the file and the notice)."""
    who = publication.unit.name if publication.unit is not None else _("全国")
    if publication.kind == PublicationKind.MONTHLY:
        period = publication.period
        when = _("%(year)s年%(month)s月") % {"year": period.year, "month": f"{period.month:02d}"}
    else:
        when = _("%(year)s年度") % {"year": publication.period.year}
    parts = [who, when, str(publication.get_kind_display())]
    if (edition := publication.file_edition(ext)) > 1:
        parts.append(_("第%(n)s版") % {"n": edition})
    return "-".join(parts) + f".{ext}"


def open_file(publication: Publication, ext: str) -> File:
    """The file opened for reading from the storage, named for the download; 404 if it is missing there."""
    name = publication_name(publication, ext)
    try:
        handle = publication_storage().open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return File(handle, name=download_name(publication, ext))


def write_temp(directory: str, final_name: str, data: bytes, written: list[str]) -> str:
    """Store a temporary file next to its final name (a leading dot, a random part, `.tmp`); recorded in
    `written` before it is stored, so that a failure removes it."""
    name = f"{directory}/.{final_name}.{secrets.token_hex(4)}.tmp"
    written.append(name)
    stored = publication_storage().save(name, ContentFile(data))
    if stored != name:  # pragma: no cover - the name is random: only a clash of 32 bits renames it
        written.append(stored)
    return stored


def remove_file(names: Iterable[str]) -> None:
    storage = publication_storage()
    for name in names:
        try:
            storage.delete(name)  # a name that is not there is no error
        except Exception:  # pragma: no cover - logged, the sweep tries again
            logger.exception("could not remove %s", name)


def _files_in(directory: str) -> list[str]:
    try:
        return publication_storage().listdir(directory)[1]
    except FileNotFoundError:
        return []


def remove_other_files(publication: Publication) -> None:
    """After a publication is ready: remove the files of its earlier revisions and of attempts that
    died after storing a final file; keep the two the row names."""
    directory = relative_dir(publication)
    keep = {PurePosixPath(publication.xlsx_file).name, PurePosixPath(publication.pdf_file).name}
    prefix = stem_prefix(publication)
    remove_file(f"{directory}/{n}" for n in _files_in(directory) if n.startswith(prefix) and n not in keep)


def remove_stale_temp_files(older_than: dt.timedelta | None = None) -> int:
    """Temporary files left by killed workers (older than a lease); returns how many were removed."""
    storage = publication_storage()
    root = settings.PUBLICATION_DIR
    age = older_than or dt.timedelta(seconds=settings.PUBLICATION_LEASE_SECONDS)
    cutoff = timezone.now() - age
    try:
        kinds = storage.listdir(root)[0]
    except FileNotFoundError:
        return 0
    stale = []
    for kind in kinds:
        for period in storage.listdir(f"{root}/{kind}")[0]:
            directory = f"{root}/{kind}/{period}"
            for name in _files_in(directory):
                temporary = name.startswith(".") and name.endswith(".tmp")
                if temporary and storage.get_modified_time(f"{directory}/{name}") < cutoff:
                    stale.append(f"{directory}/{name}")
    remove_file(stale)
    return len(stale)
