"""``S3Object``: an object written to S3 or Azure, the value the upload hands up the layers.

It sits at the bottom of the package so that every layer can name it: the storage modules
that write it, the progress displays that report it, and the job that keeps it. It imports
only the HTML helpers. :mod:`nexosis_pandas._storage.upload`, where it used to live,
re-exports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from nexosis_pandas._html import escape, format_bytes, table

__all__ = ["S3Object"]

# The same types as ``_encode``'s ``Format`` and ``Compression`` (a Literal type is its values);
# written here so that this leaf imports nothing of the encoder above it.
_Format = Literal["csv", "json"]
_Compression = Literal["gzip"] | None


@dataclass(frozen=True)
class S3Object:
    """An object written to S3 (or an Azure blob) by :func:`~nexosis_pandas.upload_dataframe`.

    Attributes
    ----------
    url : str
        ``s3://bucket/key`` (``az://container/blob`` for Azure).
    bucket, key : str
        Where the object is (for Azure: the container and the blob's name).
    region : str or None
        The bucket's region, when the S3 client knows it.
    format : {"csv", "json"}
        The file format.
    compression : {"gzip", None}
        The compression.
    rows : int
        Data rows written.
    columns : tuple of str
        The header: index columns first (when written), then the frame's columns.
    bytes_uncompressed : int
        Size of the CSV or JSON text.
    bytes_written : int
        Size of the object on S3.
    etag : str or None
        The ETag S3 gave the object (for a multipart upload, not an MD5 of the content).
    sha256 : str
        Hex SHA-256 of the uncompressed bytes: identical frames (and encoding options) give the
        same value, whatever the compression, so it can name content-addressed keys.
    seconds : float
        Time from the call to the object's completion.

    Examples
    --------
    >>> obj = nexosis_pandas.upload_dataframe(df, "s3://my-bucket/sales.csv.gz")  # doctest: +SKIP
    >>> obj.rows, obj.bytes_written  # doctest: +SKIP
    (1000000, 41990478)
    """

    url: str
    bucket: str
    key: str
    region: str | None
    format: _Format
    compression: _Compression
    rows: int
    columns: tuple[str, ...]
    bytes_uncompressed: int
    bytes_written: int
    etag: str | None
    sha256: str
    seconds: float = field(compare=False)

    @property
    def mb_per_second(self) -> float:
        """Uncompressed megabytes (10^6 bytes) encoded and sent per second."""
        return self.bytes_uncompressed / 1e6 / self.seconds if self.seconds > 0 else math.inf

    def __repr__(self) -> str:
        return (
            f"S3Object(url={self.url!r}, rows={self.rows}, columns={len(self.columns)}, "
            f"format={self.format!r}, compression={self.compression!r}, "
            f"bytes_uncompressed={self.bytes_uncompressed}, bytes_written={self.bytes_written}, "
            f"sha256={self.sha256[:12]!r}..., seconds={self.seconds:.2f})"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("url", self.url),
            ("region", self.region or "unknown"),
            ("rows, columns", f"{self.rows:,}, {len(self.columns)}"),
            ("format", f"{self.format}" + (f" ({self.compression})" if self.compression else "")),
            (
                "size",
                f"{format_bytes(self.bytes_written)} written, "
                f"{format_bytes(self.bytes_uncompressed)} uncompressed",
            ),
            ("time", f"{self.seconds:.2f} s ({self.mb_per_second:.1f} MB/s)"),
            ("etag", self.etag or ""),
            ("sha256", self.sha256),
            ("columns", ", ".join(self.columns)),
        ]
        return table("S3Object", [(k, f"<code>{escape(v)}</code>") for k, v in rows])
