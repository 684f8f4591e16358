"""GridFS adapter of AttachmentStore: the files in the invoice database (bucket
``attachments``), the attachment id as the file id."""
from __future__ import annotations

from typing import Any

import gridfs
from pymongo.database import Database


class GridFSAttachmentStore:
    def __init__(self, db: Database[Any]) -> None:
        self.bucket = gridfs.GridFSBucket(db, bucket_name="attachments")

    def put(self, attachment_id: str, invoice_id: str, filename: str, content_type: str,
            content: bytes) -> None:
        self.bucket.upload_from_stream_with_id(
            attachment_id, filename, content,
            metadata={"invoice_id": invoice_id, "content_type": content_type})

    def get(self, attachment_id: str) -> bytes | None:
        try:
            with self.bucket.open_download_stream(attachment_id) as stream:
                return stream.read()
        except gridfs.errors.NoFile:
            return None

    def delete(self, attachment_id: str) -> None:
        try:
            self.bucket.delete(attachment_id)
        except gridfs.errors.NoFile:
            pass
