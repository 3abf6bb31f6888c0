"""Verify a downloaded receipt, certificate or statement offline: the SM2 signature embedded in the PDF
(`sm2-signature.json`, patent_platform/signing.py) against the platform's published public key.

    manage.py verify_document receipt.pdf [--public-key sm2-public-key.pem]

Without --public-key the key of this installation's settings is used. Needs neither the database nor the
network (`requires_system_checks = ()`). Prints VALID or INVALID with the signed facts; exit 0 only when valid,
1 when the signature does not verify, 2 when the file cannot be read or carries no signature.
"""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from patent_platform import signing


class Command(BaseCommand):
    help = "Check the SM2 signature of a receipt, certificate or statement PDF (offline); exit 1 when invalid."
    requires_system_checks = ()

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("pdf", help="the downloaded PDF")
        parser.add_argument("--public-key", help="the platform's published SM2 public key (PEM file)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            public_key = (
                signing.load_public_key_pem(Path(options["public_key"]).read_bytes())
                if options["public_key"]
                else signing.signing_key().public
            )
            result = signing.verify_pdf(Path(options["pdf"]).read_bytes(), public_key)
        except (OSError, signing.SignatureError) as exc:
            self.stderr.write(f"INVALID: {exc}")
            sys.exit(2)
        facts = json.dumps(result.facts, ensure_ascii=False, sort_keys=True, indent=2)
        if result.valid:
            self.stdout.write(f"VALID: {signing.ALGORITHM} signature, key {signing.key_id(public_key)}\n{facts}")
            return
        why = {
            "key": f"signed with key {result.key_id or '?'}, not with {signing.key_id(public_key)}",
            "algorithm": f"unknown algorithm {result.algorithm!r}",
        }.get(result.reason, "the signature does not match the content (the document was changed)")
        self.stderr.write(f"INVALID: {why}\n{facts}")
        sys.exit(1)
