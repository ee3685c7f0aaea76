"""nexosis-pandas: from a pandas DataFrame to a Nexosis dataset, from a notebook.

Importing the package registers the ``df.nexosis`` accessor, ``ddf.nexosis`` for Dask
DataFrames once ``dask.dataframe`` is imported, and ``pl_df.nexosis`` and ``lazy.nexosis``
for polars frames once polars is imported (before or after this package).
"""

from nexosis_pandas import (
    _accessor,  # noqa: F401 - registers df.nexosis
    _hooks,
)
from nexosis_pandas._api import (
    get_import,
    import_dataframe,
    import_history,
    import_url,
    infer_column_metadata,
    upload_dataframe,
)
from nexosis_pandas._background import WaitResult, as_completed, wait
from nexosis_pandas._client import Client
from nexosis_pandas._dataset_api import delete_dataset, list_datasets, read_dataset
from nexosis_pandas._job import ImportJob
from nexosis_pandas._notebook import notebook_needs
from nexosis_pandas._objects import S3Object
from nexosis_pandas._version import __version__
from nexosis_pandas._wire import Aggregation, DataType, ImportStatus, Imputation, Role
from nexosis_pandas.exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ColumnError,
    ConfigurationError,
    ImportFailedError,
    ImportTimeoutError,
    NexosisError,
    NotFoundError,
    QuotaExceededError,
    ServerError,
    UploadError,
)
from nexosis_pandas.progress import ProgressReporter
from nexosis_pandas.sandbox import Sandbox, sandbox


def _register_dask() -> None:
    import warnings

    try:
        from nexosis_pandas import _dask  # noqa: F401 - registers ddf.nexosis
    except Exception as exc:  # an unsupported dask must not break the user's import of it
        warnings.warn(f"nexosis_pandas: ddf.nexosis is unavailable ({exc})", stacklevel=2)


_hooks.after_import("dask.dataframe", _register_dask)


def _register_polars() -> None:
    import warnings

    try:
        from nexosis_pandas import _polars  # noqa: F401 - registers pl_df.nexosis, lazy.nexosis
    except Exception as exc:  # an unsupported polars must not break the user's import of it
        warnings.warn(f"nexosis_pandas: pl_df.nexosis is unavailable ({exc})", stacklevel=2)


_hooks.after_import("polars", _register_polars)

__all__ = [
    "APIConnectionError",
    "APIError",
    "Aggregation",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ColumnError",
    "ConfigurationError",
    "DataType",
    "ImportFailedError",
    "ImportJob",
    "ImportStatus",
    "ImportTimeoutError",
    "Imputation",
    "NexosisError",
    "NotFoundError",
    "ProgressReporter",
    "QuotaExceededError",
    "Role",
    "S3Object",
    "Sandbox",
    "ServerError",
    "UploadError",
    "WaitResult",
    "__version__",
    "as_completed",
    "delete_dataset",
    "get_import",
    "import_dataframe",
    "import_history",
    "import_url",
    "infer_column_metadata",
    "list_datasets",
    "notebook_needs",
    "read_dataset",
    "sandbox",
    "upload_dataframe",
    "wait",
]
