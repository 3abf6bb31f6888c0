"""SM2 signatures of receipts, certificates and statements (issue 22): the library against the standard's
example and a second implementation, the signature embedded in each PDF, the offline verifier
(`manage.py verify_document`) on a genuine, a tampered and a foreign-key PDF, the published public key and
the verification pages that check an uploaded PDF."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from evaluation.certificates import build_certificate_pdf
from evaluation.choices import CandidateStatus
from evaluation.models import Candidate
from filings.models import Product
from filings.receipts import build_receipt_pdf
from patent_platform import signing
from patent_platform.models import User
from provincial import statements

# The signature example on the recommended curve (GM/T 0003.5 / GB/T 32918.5 annex; user ID "1234567812345678"):
# private key d_A, message "message digest", the signature (r, s) printed in the standard.
EXAMPLE_D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
EXAMPLE_PUBLIC = (
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
EXAMPLE_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
EXAMPLE_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
OTHER_KEY = "5c1e6a2f2a7fbc6bd1d3f3e0c1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"


def _der(r: int, s: int) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    return encode_dss_signature(r, s)


# --- the library ------------------------------------------------------------------------------------------


def test_the_library_verifies_the_standard_example_and_refuses_a_changed_signature() -> None:
    key = signing.private_key_from_hex(EXAMPLE_D)
    numbers = key.public_key().public_numbers()
    assert f"{numbers.x:064X}{numbers.y:064X}" == EXAMPLE_PUBLIC  # the standard's public key from its d_A
    signature = _der(int(EXAMPLE_R, 16), int(EXAMPLE_S, 16))
    assert signing.verify(b"message digest", signature, key.public_key())
    assert not signing.verify(b"message digest", _der(int(EXAMPLE_R, 16), int(EXAMPLE_S, 16) + 1), key.public_key())
    assert not signing.verify(b"message digesT", signature, key.public_key())
    # SM3 and HMAC-SM3 from `cryptography`: the GB/T 32905 example "abc"
    assert signing.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert signing.hmac_sm3_hex(b"k", b"abc") != signing.hmac_sm3_hex(b"l", b"abc")


def test_signatures_cross_check_with_a_second_implementation_under_the_default_user_id() -> None:
    import gmalg
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = signing.signing_key()
    numbers = key.public.public_numbers()
    point = b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")
    data = signing.canonical_bytes({"document": "receipt", "filing_number": "ZLCP2025440001", "product": "测试"})
    r, s = decode_dss_signature(signing.sign(data))
    # gmalg (pure Python) with Z_A over the GM/T 0009 default identifier accepts Tongsuo's signature ...
    verifier = gmalg.SM2(pk=point, uid=signing.USER_ID.encode())
    assert verifier.verify(data, r.to_bytes(32, "big"), s.to_bytes(32, "big"))
    # ... and not under another identifier (so Z_A really is part of what is signed)
    assert not gmalg.SM2(pk=point, uid=b"ALICE123@YAHOO.COM").verify(data, r.to_bytes(32, "big"), s.to_bytes(32, "big"))
    # and Tongsuo accepts gmalg's signature made with the platform's private key
    private = key.private.private_numbers().private_value.to_bytes(32, "big")
    r2, s2 = gmalg.SM2(sk=private, uid=signing.USER_ID.encode(), pk=point).sign(data)
    assert signing.verify(data, _der(int.from_bytes(r2, "big"), int.from_bytes(s2, "big")))


# --- the PDFs and the offline verifier --------------------------------------------------------------------


def _verify(path: Path, public_key: Path | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [str(path)] + (["--public-key", str(public_key)] if public_key else [])
    try:
        call_command("verify_document", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def _tamper(pdf: bytes, change: Any) -> bytes:
    """The PDF with the embedded signature file's bytes passed through `change` (everything else kept)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    names = writer._root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[names.index(signing.ATTACHMENT_NAME) + 1].get_object()
    stream = spec["/EF"]["/F"].get_object()
    stream.set_data(change(stream.get_data()))
    stream.pop(NameObject("/Params"), None)  # its /Size and /CheckSum would no longer fit
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _flip(marker: bytes, offset: int = 0) -> Any:
    """A change of one byte: the byte `offset` places after `marker` (a digit or a hex digit) XOR 1."""

    def change(data: bytes) -> bytes:
        at = data.index(marker) + len(marker) + offset
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]

    return change


_one_byte = _flip(b'"data_year":', 3)  # the last digit of the data year


def _file(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("document.pdf", content, content_type="application/pdf")


@pytest.fixture
def public_key_file(client: Any, tmp_path: Path) -> Path:
    response = client.get("/.well-known/sm2-public-key.pem")
    assert response.status_code == 200
    assert response["X-Key-Id"] == signing.signing_key().key_id
    path = tmp_path / "sm2-public-key.pem"
    path.write_bytes(response.content)
    return path


@pytest.mark.django_db
def test_a_downloaded_receipt_verifies_offline_and_a_tampered_or_foreign_one_fails(
    client: Any, demo_users: dict[str, User], tmp_path: Path, public_key_file: Path, settings: Any
) -> None:
    product = Product.objects.filter(filing_number__isnull=False, unit__name__contains="深圳鹏芯").first()
    client.force_login(demo_users["ent-sz"])
    response = client.get(reverse("documents:receipt", args=[product.pk]))
    assert response.status_code == 200
    genuine = tmp_path / "receipt.pdf"
    genuine.write_bytes(response.content)

    code, output = _verify(genuine, public_key_file)
    assert code == 0, output
    assert output.startswith("VALID") and product.filing_number in output
    assert product.published_version.name in output

    # one byte of the embedded content changed: the data year's last digit
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(_tamper(response.content, _one_byte))
    code, output = _verify(tampered, public_key_file)
    assert code == 1 and output.startswith("INVALID") and "changed" in output, output

    # the facts rewritten (another product name), the signature kept
    def rename(data: bytes) -> bytes:
        payload = json.loads(data)
        payload["content"]["product"] = "伪造产品"
        return signing.canonical_bytes(payload)

    forged = tmp_path / "forged.pdf"
    forged.write_bytes(_tamper(response.content, rename))
    assert _verify(forged, public_key_file)[0] == 1

    # signed with another key: refused with the published key, and the key id says so
    settings.SM2_SIGNING_KEY = OTHER_KEY
    other = tmp_path / "other.pdf"
    other.write_bytes(build_receipt_pdf(product, "http://testserver/p/"))
    code, output = _verify(other, public_key_file)
    assert code == 1 and "signed with key" in output, output

    # a PDF without a signature, or no PDF at all: exit 2, not a traceback
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_bytes(b"%PDF-1.7 nothing here")
    assert _verify(not_pdf, public_key_file)[0] == 2


@pytest.mark.django_db
def test_the_certificate_page_checks_an_uploaded_certificate_against_its_record(
    client: Any, demo: None, tmp_path: Path
) -> None:
    candidates = list(
        Candidate.objects.select_related("version", "unit", "product_class", "round__method", "product")
        .filter(status=CandidateStatus.CERTIFIED, certificate_number__isnull=False)
        .order_by("pk")[:2]
    )
    first, second = candidates
    url = reverse("certified:verify", args=[first.certificate_number])
    pdf = build_certificate_pdf(first, "http://testserver" + url)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    code, output = _verify(path)  # without --public-key: this installation's key
    assert code == 0 and first.certificate_number in output, output

    page = client.get(url)
    assert 'data-testid="signature-form"' in page.content.decode()

    def upload(content: bytes) -> Any:
        return client.post(url, {"pdf": _file(content)})

    def result(response: Any) -> str:
        html = response.content.decode()
        marker = 'data-testid="signature-result" data-result="'
        return html[html.index(marker) + len(marker) :].split('"', 1)[0]

    response = upload(pdf)
    assert response.status_code == 200 and result(response) == "valid"
    assert "SM2 签名有效" in response.content.decode()
    assert result(upload(_tamper(pdf, _one_byte))) == "invalid"
    other = build_certificate_pdf(second, "http://testserver" + url)
    assert result(upload(other)) == "mismatch"  # genuine, but another certificate's
    bad = upload(b"not a pdf")
    assert bad.status_code == 400 and "只接受 PDF" in bad.content.decode()


@pytest.mark.django_db
def test_a_statement_verifies_offline_and_on_its_page_and_the_key_is_published(
    client: Any, demo_users: dict[str, User], tmp_path: Path, public_key_file: Path
) -> None:
    from filings.models import FilingUnit

    unit = FilingUnit.objects.get(name__contains="广州云帆")
    statement = statements.statement_issue(unit=unit, user=demo_users["national"])
    pdf = statements.render_pdf(statement)
    path = tmp_path / "statement.pdf"
    path.write_bytes(pdf)
    code, output = _verify(path, public_key_file)
    assert code == 0 and statement.number in output and statement.sha256 in output, output

    verify_url = reverse("statements:verify", args=[statement.token])
    response = client.post(verify_url, {"pdf": _file(pdf)})
    assert 'data-result="valid"' in response.content.decode()
    response = client.post(verify_url, {"pdf": _file(_tamper(pdf, _flip(b'"sha256":"')))})
    assert 'data-result="invalid"' in response.content.decode()

    # the public key on a page and at the stable address, with its key id
    page = client.get(reverse("signature-verify")).content.decode()
    key = signing.signing_key()
    assert key.key_id in page and key.pem.splitlines()[1] in page
    loaded = signing.load_public_key_pem(public_key_file.read_bytes())
    assert signing.key_id(loaded) == key.key_id
    response = client.post(reverse("signature-verify"), {"pdf": _file(pdf)})
    assert 'data-result="valid"' in response.content.decode() and statement.number in response.content.decode()
