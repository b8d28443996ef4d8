"""Streaming copy of a finished job's outputs into S3, with a manifest written last.

``copier.ArchiveCopier`` is the entry point (used by ``AigcArchiveToS3Operator``); the other
modules each hold one rule: ``url_policy`` which URLs may be fetched, ``fetch`` how they are
fetched, ``body`` the size cap and checksum of a streamed body, ``sniff`` the content type,
``keys`` the S3 key layout, ``manifest`` what a complete archive records, ``expiry`` when an
output can no longer be fetched, and ``redact`` how a URL may be shown.
"""
