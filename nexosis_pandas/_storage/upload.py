"""Bytes to S3: the multipart upload that never leaves a partial object.

Two writers share this module's rules: :func:`write_object` streams one producer's blocks
through the filesystem's file (S3 or Azure), and :class:`Multipart` lets many processes (Dask
workers) send numbered parts of one S3 object that the caller completes or aborts.
:func:`reporting` turns a storage failure of either into one
:class:`~nexosis_pandas.exceptions.UploadError` (worded by :mod:`.errors`) and tells the
progress display.

The filesystem and the progress reporter are handed in; this module builds neither from
settings (:mod:`nexosis_pandas._storage.pipeline` does, once).
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nexosis_pandas._encode.encoder import Chunk, Compression, Encoding
from nexosis_pandas._objects import S3Object  # re-exported: its home before it became a leaf
from nexosis_pandas._storage.errors import endpoint, is_storage_error, upload_error
from nexosis_pandas.exceptions import ColumnError, UploadError

if TYPE_CHECKING:
    from nexosis_pandas.progress import ProgressReporter

__all__ = [
    "MAX_PARTS",
    "MIN_PART",
    "PART_SIZE",
    "Multipart",
    "S3Object",
    "find_object",
    "region",
    "reporting",
    "split_url",
    "unquoted_etag",
    "url_store",
    "write_object",
]

PART_SIZE = 8 * 2**20
"""Bytes per multipart part."""

MIN_PART = 5 * 2**20
"""S3's smallest part, for every part of an upload but the last."""

MAX_PARTS = 10_000
"""S3's most parts in one upload."""


_SCHEMES = {"s3": "s3", "s3a": "s3", "az": "az", "abfs": "az"}
"""URL schemes an upload takes, and the store each names: S3, or Azure Blob Storage (adlfs)."""


def url_store(url: str) -> str | None:
    """The store a URL's scheme names: ``"s3"``, ``"az"`` (Azure Blob Storage), or ``None``.

    The one reading of the scheme: ``s3://`` and ``s3a://`` name S3, ``az://`` and ``abfs://``
    name Azure. Nothing else of the URL is checked; :func:`split_url` checks the rest.

    Examples
    --------
    >>> url_store("abfs://container/data.csv"), url_store("S3://bucket/key"), url_store("x")
    ('az', 's3', None)
    """
    return _SCHEMES.get(urlsplit(url).scheme.lower())


def split_url(url: str) -> tuple[str, str, str]:
    """``(scheme, bucket, key)`` of ``s3://bucket/key`` or ``az://container/blob``."""
    parts = urlsplit(url)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    scheme = url_store(url)
    if scheme is None or not bucket or "@" in bucket or not key or key.endswith("/"):
        raise ValueError(
            "s3_url must look like 's3://bucket/path/file.csv.gz' (or "
            f"'az://container/path/file.csv.gz' for Azure Blob Storage), not {url!r}"
        )
    return scheme, bucket, key


def unquoted_etag(etag: object) -> str | None:
    """An ETag as S3 and Azure send it (in double quotes), without the quotes; ``None`` if empty.

    Examples
    --------
    >>> unquoted_etag('"9b2cf535f27731c974343645a3985328"'), unquoted_etag(None)
    ('9b2cf535f27731c974343645a3985328', None)
    """
    return str(etag).strip('"') if etag else None


def region(fs: Any) -> str | None:
    """The region of the S3 client behind ``fs``, when it knows one."""
    kwargs = getattr(fs, "client_kwargs", None) or {}
    region = kwargs.get("region_name")
    if region:
        return str(region)
    client = getattr(fs, "_s3", None)
    meta = getattr(client, "meta", None)
    return getattr(meta, "region_name", None)


def _discard(f: Any) -> None:
    """Abort the multipart upload behind ``f`` and make sure nothing commits it later.

    fsspec's ``close()`` (also called by ``__exit__`` and ``__del__``) *completes* the upload with
    whatever was written, so the file is marked closed by hand after ``discard()``.
    """
    try:
        f.discard()
    except Exception:  # noqa: S110 - best effort; S3 expires incomplete uploads by rule
        pass
    finally:
        f.closed = True


def write_object(
    encoding: Encoding,
    blocks: Iterator[Chunk],
    *,
    fs: Any,
    url: str,
    compression: Compression,
    reporter: ProgressReporter,
    started: float,
    stop: Callable[[], None],
) -> S3Object:
    """Write ``blocks`` (the bytes of ``encoding``) to ``url`` as a multipart upload.

    A row counts as sent once S3 has taken a part holding its bytes; ``reporter`` hears each
    such step and the end. If anything fails or the user interrupts, ``stop`` stops the
    producer of ``blocks`` and the multipart upload is aborted: no partial object appears, and
    an object already at the key is left as it was. A storage failure is raised as an
    :class:`~nexosis_pandas.exceptions.UploadError` naming the cause and the fix; errors of the
    encoding itself propagate as they are.
    """
    scheme, bucket, key = split_url(url)
    url = f"{scheme}://{bucket}/{key}"
    path = f"{bucket}/{key}"
    f: Any = None
    written = 0
    # (bytes written to f up to the end of a block, rows whose text those bytes hold): a row
    # counts as sent once S3 has taken a part holding its bytes
    ends: deque[tuple[int, int]] = deque()
    rows_sent = sent = 0
    with reporting(reporter, url, fs):
        try:
            f = fs.open(path, "wb", block_size=PART_SIZE)
            for rows_done, block in blocks:
                f.write(block)
                written += len(block)
                ends.append((written, rows_done))
                offset = int(f.offset or 0)  # bytes in the parts S3 has taken
                if offset > sent:
                    sent = offset
                    while ends and ends[0][0] <= sent:
                        rows_sent = ends.popleft()[1]
                    # every row is sent only once the object is complete, after the loop
                    reporter.upload_update(min(rows_sent, max(encoding.rows - 1, 0)), sent)
            f.close()  # the last part, then CompleteMultipartUpload
        except BaseException:
            stop()
            if f is not None:
                _discard(f)
            raise
        info = _info(fs, path)
        etag = info.get("ETag") or info.get("etag")
        result = S3Object(
            url=url,
            bucket=bucket,
            key=key,
            region=region(fs),
            format=encoding.format,
            compression=compression,
            rows=encoding.rows,
            columns=encoding.names,
            bytes_uncompressed=encoding.bytes_uncompressed,
            bytes_written=int(info.get("size", written)),
            etag=unquoted_etag(etag),
            sha256=encoding.sha256,
            seconds=time.perf_counter() - started,
        )
    reporter.upload_update(encoding.rows, result.bytes_written)
    reporter.upload_end(result, None)
    return result


@contextlib.contextmanager
def reporting(reporter: ProgressReporter, url: str, fs: Any) -> Iterator[None]:
    """Tell ``reporter`` how an upload to ``url`` failed, a storage failure as an UploadError.

    Interrupts and the package's own errors pass as they are; an error of the store or the
    network becomes an :class:`~nexosis_pandas.exceptions.UploadError` naming the cause and the
    fix; anything else (an error of the data) passes as it is. Success is the caller's to report.
    """
    try:
        yield
    except (KeyboardInterrupt, ColumnError, UploadError) as exc:
        reporter.upload_end(None, exc)
        raise
    except Exception as exc:
        error: BaseException = exc
        if is_storage_error(exc):
            _, bucket, key = split_url(url)
            error = upload_error(exc, url, bucket, key, endpoint(fs))
        reporter.upload_end(None, error)
        if error is exc:
            raise
        raise error from exc


@dataclass(frozen=True)
class Multipart:
    """One S3 multipart upload, named by its id: small and picklable, so that other processes
    (Dask workers) can send its parts while the process that started it completes or aborts it.

    Parts are numbered from 1 to :data:`MAX_PARTS`; every part but the last needs at least
    :data:`MIN_PART` bytes. Sending a number again replaces that part, and only the parts named
    when completing make the object.
    """

    bucket: str
    key: str
    upload_id: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, fs: Any, url: str) -> Multipart:
        """Create the multipart upload of ``url`` with ``fs`` (an ``s3fs.S3FileSystem``)."""
        _, bucket, key = split_url(url)
        answer = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)
        return cls(bucket, key, str(answer["UploadId"]), dict(fs.storage_options))

    def filesystem(self) -> Any:
        """This process's ``s3fs.S3FileSystem`` for the upload (fsspec caches it)."""
        import s3fs

        return s3fs.S3FileSystem(**self.storage_options)

    def send(self, number: int, body: bytes, fs: Any = None) -> tuple[int, str]:
        """Upload part ``number``; its number and ETag, as :meth:`complete` takes them."""
        answer = (fs or self.filesystem()).call_s3(
            "upload_part",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        return number, str(answer["ETag"])

    def complete(self, fs: Any, parts: Sequence[tuple[int, str]]) -> str | None:
        """Make the object of ``parts`` (in number order); its ETag."""
        answer = fs.call_s3(
            "complete_multipart_upload",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in sorted(parts)]},
        )
        etag = answer.get("ETag")
        return unquoted_etag(etag)

    def abort(self, fs: Any) -> None:
        """Drop the upload and its parts: no object appears (best effort; S3 expires the rest)."""
        with contextlib.suppress(Exception):
            fs.call_s3(
                "abort_multipart_upload", Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )


def find_object(fs: Any, url: str, **described: Any) -> S3Object | None:
    """The object at ``url`` as an :class:`S3Object`, or ``None`` when there is none.

    Only its size and ETag are read; ``described`` gives the rest (``format``,
    ``compression``, ``rows``, ``columns``), as the caller knows them.

    Raises
    ------
    UploadError
        S3 could not be asked (endpoint unreachable, access denied, ...).
    """
    started = time.perf_counter()
    scheme, bucket, key = split_url(url)
    url = f"{scheme}://{bucket}/{key}"
    path = f"{bucket}/{key}"
    try:
        fs.invalidate_cache(path)
        info = dict(fs.info(path))
    except FileNotFoundError:
        return None
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        raise upload_error(exc, url, bucket, key, endpoint(fs), looking=True) from exc
    etag = info.get("ETag") or info.get("etag")
    return S3Object(
        url=url,
        bucket=bucket,
        key=key,
        region=region(fs),
        # Known only to the process that encoded it; this one found the object by its name.
        bytes_uncompressed=0,
        bytes_written=int(info.get("size") or 0),
        etag=unquoted_etag(etag),
        sha256="",
        seconds=time.perf_counter() - started,
        **described,
    )


def _info(fs: Any, path: str) -> dict[str, Any]:
    try:
        return dict(fs.info(path))
    except Exception:  # the object is written; HEAD may not be allowed
        return {}
