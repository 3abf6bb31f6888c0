"""Uploads are judged by their content and size, not by their name."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from patent_platform.uploads import validate_upload


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, format="PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def test_accepts_real_pdf_and_png() -> None:
    assert validate_upload(upload("scan.pdf", PDF)) == "pdf"
    assert validate_upload(upload("photo.png", png_bytes())) == "png"


def test_a_renamed_file_is_judged_by_its_content() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_upload(upload("photo.png", b"MZ\x90\x00 not an image at all"))
    assert exc.value.code == "upload_type"
    assert validate_upload(upload("no-extension", PDF)) == "pdf"


@pytest.mark.parametrize(
    "payload", [b"/JavaScript (app.alert(1))", b"/JS (x)", b"/EmbeddedFile", b"/J#61vaScript", b"/Launch"]
)
def test_pdf_with_scripts_or_embedded_files_is_refused(payload: bytes) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_upload(
            upload("form.pdf", PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S " + payload + b" >>"))
        )
    assert exc.value.code == "upload_pdf_active"


def test_size_limit_and_empty_file(settings) -> None:
    settings.UPLOAD_MAX_BYTES = 1024
    with pytest.raises(ValidationError) as exc:
        validate_upload(upload("big.pdf", PDF + b"0" * 2048))
    assert exc.value.code == "upload_too_large"
    with pytest.raises(ValidationError) as exc:
        validate_upload(upload("empty.pdf", b""))
    assert exc.value.code == "upload_empty"


def test_corrupt_image_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_upload(upload("broken.png", png_bytes()[:30]))
    assert exc.value.code == "upload_corrupt"
