"""Whether an archived object still holds the bytes its manifest records (sha256), not just the size.

Objects of up to one part are stored with the sha256 the copier computed while streaming, as S3's
own ``ChecksumSHA256`` (S3 checks it on upload and returns it on ``HeadObject``), so a re-run
verifies them with the one ``HeadObject`` it needs anyway. Multipart objects carry a composite
checksum (a hash of the part hashes) and objects from older archives may carry none: those are
read back and hashed. ETags are not used: they are MD5 only for single-part uploads without KMS.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from airflow_provider_aigc.models import ArchivedObject

log = logging.getLogger(__name__)

READ_BYTES = 1024 * 1024
# HeadObject answers a missing key with 404, or with 403 to a role without s3:ListBucket.
_ABSENT_CODES = frozenset({"404", "NoSuchKey", "NotFound", "403", "AccessDenied", "Forbidden"})


def s3_checksum(sha256_hex: str) -> str:
    """S3's ``ChecksumSHA256`` form (base64 of the digest) of a hex sha256."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def error_code(exc: ClientError) -> str:
    """The S3 error code of a failed call, or its HTTP status when the answer had no body (HEAD)."""
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(code or status or "")


def _expected_checksum(sha256_hex: str) -> str | None:
    try:
        return s3_checksum(sha256_hex)
    except ValueError:
        return None  # a malformed manifest entry matches nothing


def _rehash(client: Any, item: ArchivedObject) -> str:
    body = client.get_object(Bucket=item.bucket, Key=item.key)["Body"]
    digest = hashlib.sha256()
    try:
        for chunk in iter(lambda: body.read(READ_BYTES), b""):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


def is_intact(client: Any, item: ArchivedObject) -> bool:
    """True when ``item``'s object exists with the manifest's size and sha256.

    A missing object (404, or 403 for a role that may not list) is simply not intact: the
    re-archive that follows never overwrites it, so reading 403 as "missing" risks nothing.
    """
    try:
        head = client.head_object(Bucket=item.bucket, Key=item.key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if error_code(exc) in _ABSENT_CODES:
            log.info("%s is missing; archiving it again", item.uri)
            return False
        raise
    if int(head.get("ContentLength", -1)) != item.size:
        log.warning(
            "%s has %s bytes, the manifest says %d; archiving it again",
            item.uri,
            head.get("ContentLength"),
            item.size,
        )
        return False
    stored = head.get("ChecksumSHA256")
    if stored is not None and "-" not in stored and head.get("ChecksumType") != "COMPOSITE":
        intact = stored == _expected_checksum(item.sha256)
    else:
        intact = _rehash(client, item) == item.sha256
    if not intact:
        log.warning(
            "%s does not hold the bytes its manifest records (sha256 differs); archiving it again", item.uri
        )
    return bool(intact)
