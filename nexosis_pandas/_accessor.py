"""``df.nexosis``: the DataFrame's face onto :mod:`nexosis_pandas._api`.

Registered when ``nexosis_pandas`` is imported. Each method is one call into the api module;
the accessor keeps nothing but the frame, so two calls never share state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

import pandas as pd

from nexosis_pandas import _api as api
from nexosis_pandas._frame import validate_column_names
from nexosis_pandas._importing import ImportOptions, UploadOptions
from nexosis_pandas._options import Roles
from nexosis_pandas.exceptions import user_error

if TYPE_CHECKING:
    from nexosis_pandas._job import ImportJob
    from nexosis_pandas._storage.upload import S3Object
    from nexosis_pandas._wire import ColumnMetadata

__all__ = ["NexosisAccessor"]


@pd.api.extensions.register_dataframe_accessor("nexosis")
class NexosisAccessor:
    """Send a DataFrame to Nexosis: ``df.nexosis.to_dataset("sales")``.

    Accessing ``df.nexosis`` checks that the column names can be sent (unique, non-empty
    strings) and raises :class:`~nexosis_pandas.ColumnError` naming the column and the fix
    when they cannot.

    Examples
    --------
    >>> import nexosis_pandas
    >>> df = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=2), "units": [3, 5]})
    >>> df.nexosis.column_metadata(target="units", timestamp="day")
    {'day': {'dataType': 'date', 'role': 'timestamp'}, 'units': {'dataType': 'numeric', \
'role': 'target'}}
    >>> job = df.nexosis.to_dataset("sales", target="units", timestamp="day")  # doctest: +SKIP
    """

    @user_error
    def __init__(self, pandas_obj: pd.DataFrame) -> None:
        validate_column_names(pandas_obj, index=False)
        self._obj = pandas_obj

    @user_error
    def to_dataset(
        self, dataset_name: str, s3_url: str | None = None, **options: Unpack[ImportOptions]
    ) -> ImportJob:
        """Upload the frame, import it into ``dataset_name`` and wait for the import.

        See :func:`nexosis_pandas.import_dataframe` for the options, the errors and where
        the file goes without ``s3_url``.

        Examples
        --------
        >>> job = df.nexosis.to_dataset("sales", target="units", timestamp="day")  # doctest: +SKIP
        >>> job.status  # doctest: +SKIP
        <ImportStatus.COMPLETED: 'completed'>
        """
        return api.import_dataframe(self._obj, dataset_name, s3_url, **options)

    @user_error
    def to_s3(self, s3_url: str, **options: Unpack[UploadOptions]) -> S3Object:
        """Write the frame to S3 (the upload alone); see :func:`nexosis_pandas.upload_dataframe`.

        Examples
        --------
        >>> obj = df.nexosis.to_s3("s3://my-bucket/sales.csv.gz")  # doctest: +SKIP
        >>> obj.rows  # doctest: +SKIP
        2
        """
        return api.upload_dataframe(self._obj, s3_url, **options)

    @user_error
    def column_metadata(self, **roles: Unpack[Roles]) -> ColumnMetadata:
        """The column metadata an import would send, checked against the frame.

        See :func:`nexosis_pandas.infer_column_metadata`.

        Examples
        --------
        >>> pd.DataFrame({"units": [3, 5]}).nexosis.column_metadata(target="units")
        {'units': {'dataType': 'numeric', 'role': 'target'}}
        """
        return api.infer_column_metadata(self._obj, **roles)
