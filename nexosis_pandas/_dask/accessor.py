"""``ddf.nexosis``: a thin face over :mod:`nexosis_pandas._dask.upload`, registered with Dask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Unpack

from dask.dataframe.extensions import register_dataframe_accessor

from nexosis_pandas._dask.upload import (
    import_dask_dataframe,
    infer_dask_column_metadata,
    upload_dask_dataframe,
)
from nexosis_pandas._frame import validate_column_names
from nexosis_pandas._importing import ImportOptions, UploadOptions
from nexosis_pandas._job import ImportJob
from nexosis_pandas._storage.upload import S3Object
from nexosis_pandas._wire import ColumnMetadata
from nexosis_pandas.exceptions import user_error

__all__ = ["DaskAccessor"]


@register_dataframe_accessor("nexosis")
class DaskAccessor:
    """Send a Dask DataFrame to Nexosis: ``ddf.nexosis.to_dataset("sales")``.

    The workers encode and upload the partitions; the client sends only the requests. See
    :func:`nexosis_pandas.import_dataframe` for the parameters.

    Examples
    --------
    >>> job = ddf.nexosis.to_dataset("sales", target="units", timestamp="day")  # doctest: +SKIP
    """

    @user_error
    def __init__(self, dask_obj: Any) -> None:
        validate_column_names(dask_obj._meta, index=False)
        self._obj = dask_obj

    @user_error
    def to_dataset(
        self, dataset_name: str, s3_url: str | None = None, **options: Unpack[ImportOptions]
    ) -> ImportJob:
        """Upload the frame from the workers, import it into ``dataset_name`` and wait.

        See :func:`nexosis_pandas.import_dataframe`.

        Examples
        --------
        >>> job = ddf.nexosis.to_dataset("sales", key="order_id")  # doctest: +SKIP
        """
        return import_dask_dataframe(self._obj, dataset_name, s3_url, **options)

    @user_error
    def column_metadata(
        self,
        *,
        target: str | None = None,
        timestamp: str | None = None,
        key: str | Sequence[str] | None = None,
    ) -> ColumnMetadata:
        """The column metadata an import would send; see :func:`infer_dask_column_metadata`.

        Examples
        --------
        >>> ddf.nexosis.column_metadata(target="units")  # doctest: +SKIP
        {'units': {'dataType': 'numeric', 'role': 'target'}}
        """
        return infer_dask_column_metadata(self._obj, target=target, timestamp=timestamp, key=key)

    @user_error
    def to_s3(self, s3_url: str, **options: Unpack[UploadOptions]) -> S3Object:
        """Write the frame to one S3 object from the workers; see :func:`upload_dask_dataframe`.

        Examples
        --------
        >>> obj = ddf.nexosis.to_s3("s3://my-bucket/sales.csv.gz")  # doctest: +SKIP
        """
        return upload_dask_dataframe(self._obj, s3_url, **options)
