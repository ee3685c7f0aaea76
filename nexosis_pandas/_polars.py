"""``pl_df.nexosis`` and ``lazy.nexosis``: polars frames' faces onto :mod:`nexosis_pandas._api`.

Registered through ``polars.api.register_dataframe_namespace`` and
``register_lazyframe_namespace`` once polars is imported (before or after this package, by
:mod:`nexosis_pandas._hooks`): ``import nexosis_pandas`` never imports polars. The methods and
options are those of ``df.nexosis``; the frame goes through the one door of
:mod:`nexosis_pandas._inputs`, as Arrow data, never as a pandas frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

import polars as pl

from nexosis_pandas import _api as api
from nexosis_pandas._importing import ImportOptions, UploadOptions
from nexosis_pandas._options import Roles
from nexosis_pandas.exceptions import user_error

if TYPE_CHECKING:
    from nexosis_pandas._job import ImportJob
    from nexosis_pandas._storage.upload import S3Object
    from nexosis_pandas._wire import ColumnMetadata

__all__ = ["PolarsNamespace"]


class PolarsNamespace:
    """Send a polars frame to Nexosis: ``pl_df.nexosis.to_dataset("sales")``.

    A ``LazyFrame`` is collected when a method is called (see :mod:`nexosis_pandas._inputs`).

    Examples
    --------
    >>> import polars as pl, nexosis_pandas
    >>> pl.DataFrame({"units": [3, 5]}).nexosis.column_metadata(target="units")
    {'units': {'dataType': 'numeric', 'role': 'target'}}
    >>> job = pl_df.nexosis.to_dataset("sales", target="units")  # doctest: +SKIP
    """

    def __init__(self, frame: Any) -> None:
        self._obj = frame

    @user_error
    def to_dataset(
        self, dataset_name: str, s3_url: str | None = None, **options: Unpack[ImportOptions]
    ) -> ImportJob:
        """Upload the frame, import it into ``dataset_name`` and wait for the import.

        See :func:`nexosis_pandas.import_dataframe`.

        Examples
        --------
        >>> job = pl_df.nexosis.to_dataset("sales", key="order_id")  # doctest: +SKIP
        """
        return api.import_dataframe(self._obj, dataset_name, s3_url, **options)

    @user_error
    def to_s3(self, s3_url: str, **options: Unpack[UploadOptions]) -> S3Object:
        """Write the frame to S3 (the upload alone); see :func:`nexosis_pandas.upload_dataframe`.

        Examples
        --------
        >>> obj = pl_df.nexosis.to_s3("s3://my-bucket/sales.csv.gz")  # doctest: +SKIP
        """
        return api.upload_dataframe(self._obj, s3_url, **options)

    @user_error
    def column_metadata(self, **roles: Unpack[Roles]) -> ColumnMetadata:
        """The column metadata an import would send (:func:`nexosis_pandas.infer_column_metadata`).

        Examples
        --------
        >>> pl.DataFrame({"day": ["x"]}).lazy().nexosis.column_metadata()
        {'day': {'dataType': 'string'}}
        """
        return api.infer_column_metadata(self._obj, **roles)


pl.api.register_dataframe_namespace("nexosis")(PolarsNamespace)
pl.api.register_lazyframe_namespace("nexosis")(PolarsNamespace)
