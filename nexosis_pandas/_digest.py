"""Content-addressed names: the same data for the same dataset always lands at the same key.

:func:`frame_digest` hashes a frame cheaply (before anything is encoded); :func:`content_url`
and :func:`digest_url` turn a digest into the S3 URL an upload goes to when the user names
none, so running the same cell twice uploads once.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pandas as pd
import pyarrow as pa

from nexosis_pandas import config
from nexosis_pandas._version import __version__
from nexosis_pandas.exceptions import ConfigurationError

__all__ = ["content_url", "digest_url", "frame_digest", "table_digest"]


def frame_digest(df: pd.DataFrame) -> str:
    """A hex SHA-256 of a frame's content: column names, dtypes and values (not the index).

    It names content-addressed uploads, so it must be cheap (it is computed before deciding
    whether to upload at all): pandas' vectorised row hashes are digested, rather than the
    encoded file. The package version is part of it, so a release that encodes differently
    uploads afresh.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_digest(a) == frame_digest(a.copy()), frame_digest(a) == frame_digest(a + 1)
    (True, False)
    """
    digest = hashlib.sha256(f"nexosis-pandas {__version__}\n".encode())
    digest.update(repr([(str(name), str(df[name].dtype)) for name in df.columns]).encode())
    try:
        rows = pd.util.hash_pandas_object(df, index=False)
    except TypeError:  # unhashable cells (lists, dicts): hash them as the text they are written as
        rows = pd.util.hash_pandas_object(df.astype(str), index=False)
    digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()


_DIGEST_ROWS = 65_536


def table_digest(table: pa.Table) -> str:
    """A hex SHA-256 of an Arrow table's content, as :func:`frame_digest` is of a frame's.

    The table's Arrow IPC stream (its schema and every value, in batches of fixed size)
    is hashed as it is written, with no copy of the whole. The same data held by pandas and
    by Arrow gives two digests, so it may be uploaded once under each.
    """
    digest = hashlib.sha256(f"nexosis-pandas {__version__} arrow\n".encode())

    class _Hashing:
        closed = False

        def write(self, data: Any) -> int:
            digest.update(data)
            return len(memoryview(data))

        def flush(self) -> None:
            pass

    with pa.ipc.new_stream(pa.PythonFile(_Hashing(), mode="w"), table.schema) as writer:
        for start in range(0, table.num_rows, _DIGEST_ROWS):  # the same rows however chunked
            writer.write_table(table.slice(start, _DIGEST_ROWS).combine_chunks())
    return digest.hexdigest()


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return slug[:80] or "dataset"


def content_url(df: pd.DataFrame, dataset_name: str, *, prefix: str | None = None) -> str:
    """Where :func:`~nexosis_pandas.import_dataframe` puts ``df`` when no ``s3_url`` is given.

    ``<prefix>/<dataset name>-<first 16 hex digits of frame_digest(df)>.csv.gz``: the same data
    for the same dataset always lands at the same key, so it is uploaded once.

    Raises
    ------
    ConfigurationError
        No prefix is passed or set (``NEXOSIS_S3_PREFIX``), or it is not an ``s3://`` URL.

    Examples
    --------
    >>> content_url(pd.DataFrame({"x": [1]}), "sales", prefix="s3://bucket/nexosis/")
    's3://bucket/nexosis/sales-....csv.gz'
    """
    digest = table_digest(df) if isinstance(df, pa.Table) else frame_digest(df)
    return digest_url(digest, dataset_name, prefix=prefix)


def digest_url(digest: str, dataset_name: str, *, prefix: str | None = None) -> str:
    """The content-addressed URL for data whose digest is ``digest`` (see :func:`content_url`)."""
    where = config.s3_prefix(prefix)
    if not where:
        raise ConfigurationError(
            "No S3 location to upload the DataFrame to. Pass s3_url='s3://bucket/path/"
            "name.csv.gz', or set a prefix for uploads, e.g. "
            "export NEXOSIS_S3_PREFIX=s3://my-bucket/nexosis/ (in a notebook: "
            "os.environ['NEXOSIS_S3_PREFIX'] = 's3://my-bucket/nexosis/'); uploads are then "
            "named by dataset and content, so the same data is uploaded once. Or, to try it "
            "locally, start a sandbox: nexosis_pandas.sandbox()."
        )
    if not where.startswith("s3://") or len(where.rstrip("/")) <= len("s3://"):
        raise ConfigurationError(
            f"The S3 prefix {where!r} (NEXOSIS_S3_PREFIX) must look like "
            "'s3://bucket/' or 's3://bucket/some/prefix/'."
        )
    return f"{where.rstrip('/')}/{_slug(dataset_name)}-{digest[:16]}.csv.gz"
