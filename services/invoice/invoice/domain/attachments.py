"""Invoice attachments (the scan or the PDF/OFD of an invoice): what may be stored. The
type is decided from the content, never from the file name. Pure."""
from __future__ import annotations

import io
import zipfile

MAX_SIZE = 10 * 1024 * 1024  # bytes
MAX_FILENAME = 255
CONTENT_TYPES = ("application/pdf", "application/ofd", "image/jpeg", "image/png")

_EXECUTABLE_MAGIC = (
    b"MZ",                                    # Windows PE / DOS
    b"\x7fELF",                               # Linux ELF
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",  # Mach-O
    b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",                      # Mach-O universal / Java class
    b"#!",                                    # a script with an interpreter line
)


def sniff(content: bytes) -> str:
    """The content type of an allowed file, or ValueError saying why not."""
    if not content:
        raise ValueError("the file is empty")
    if content.startswith(_EXECUTABLE_MAGIC):
        raise ValueError("executable files are refused")
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"PK\x03\x04") and _is_ofd(content):
        return "application/ofd"
    raise ValueError("only PDF, OFD, JPEG or PNG files (decided from the content)")


def _is_ofd(content: bytes) -> bool:
    """OFD (GB/T 33190, the e-invoice format) is a ZIP package with OFD.xml at its root."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "OFD.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def check_filename(name: str) -> str:
    """The file name as shown to users, or ValueError: no path, no control characters."""
    if not name or len(name) > MAX_FILENAME:
        raise ValueError(f"1 to {MAX_FILENAME} characters")
    if "/" in name or "\\" in name or name in (".", "..") or any(ord(c) < 32 for c in name):
        raise ValueError("a plain file name, without a path")
    return name
