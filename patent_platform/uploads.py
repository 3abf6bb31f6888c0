"""Uploads are checked by content and size, never by their name or declared type.

Accepted: PDF, JPEG, PNG (and XLSX where a view asks for spreadsheets). PDFs that carry scripts,
embedded files or launch actions are refused (等保 L3-CES1-22, malicious code).
"""

import re
import zipfile
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

KINDS = {
    "pdf": (b"%PDF-",),
    "jpg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "xlsx": (b"PK\x03\x04",),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Names in a PDF that run code or carry other files. A name may be written with #xx escapes
# (/J#61vaScript), so names are decoded before they are compared.
_DANGEROUS_PDF_NAMES = {b"/JavaScript", b"/JS", b"/EmbeddedFile", b"/EmbeddedFiles", b"/Launch", b"/RichMedia", b"/XFA"}
_EMBEDDED_FILE_NAMES = {b"/EmbeddedFile", b"/EmbeddedFiles"}
_PDF_NAME = re.compile(rb"/[A-Za-z0-9#]+")


def _decode_pdf_name(name: bytes) -> bytes:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name)


def sniff(head: bytes) -> str | None:
    for kind, magics in KINDS.items():
        if any(head.startswith(m) for m in magics):
            return kind
    return None


def validate_upload(
    file: IO[bytes],
    *,
    allowed: tuple[str, ...] = ("pdf", "jpg", "png"),
    max_bytes: int | None = None,
    embedded_files: bool = False,
) -> str:
    """Return the detected kind of an uploaded file, or raise ValidationError saying what is wrong.
    `embedded_files=True` accepts a PDF's embedded files (a signed document carries its signature as one,
    patent_platform/signing.py; such an upload is read, never stored nor served); scripts stay refused."""
    limit = max_bytes or settings.UPLOAD_MAX_BYTES
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    if size == 0:
        raise ValidationError(_("文件为空。"), code="upload_empty")
    if size > limit:
        raise ValidationError(
            _("文件过大：%(size).1f MB，上限为 %(limit).1f MB。"),
            code="upload_too_large",
            params={"size": size / 1048576, "limit": limit / 1048576},
        )
    file.seek(0)
    data = file.read()
    file.seek(0)
    kind = sniff(data[:16])
    if kind is None or kind not in allowed:
        raise ValidationError(
            _("文件类型不被接受：只接受 %(allowed)s 文件（按文件内容判断，而非扩展名）。"),
            code="upload_type",
            params={"allowed": "、".join(k.upper() for k in allowed)},
        )
    if kind == "pdf":
        names = {_decode_pdf_name(m) for m in _PDF_NAME.findall(data)}
        if embedded_files:
            names -= _EMBEDDED_FILE_NAMES
        if names & _DANGEROUS_PDF_NAMES:
            raise ValidationError(_("PDF 文件含有脚本或嵌入文件，出于安全原因不予接受。"), code="upload_pdf_active")
    elif kind in ("jpg", "png"):
        from io import BytesIO

        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(BytesIO(data)) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ValidationError(_("图片文件已损坏或无法识别。"), code="upload_corrupt") from exc
    elif kind == "xlsx":
        try:
            with zipfile.ZipFile(file) as archive:
                if "xl/workbook.xml" not in archive.namelist():
                    raise ValidationError(_("不是有效的 Excel（.xlsx）文件。"), code="upload_type")
                if any(n.endswith("vbaProject.bin") for n in archive.namelist()):
                    raise ValidationError(_("Excel 文件含有宏，出于安全原因不予接受。"), code="upload_macro")
        except zipfile.BadZipFile as exc:
            raise ValidationError(_("不是有效的 Excel（.xlsx）文件。"), code="upload_type") from exc
        finally:
            file.seek(0)
    return kind
