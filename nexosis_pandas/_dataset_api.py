"""The datasets at the top level: ``nxp.read_dataset``, ``nxp.list_datasets``,
``nxp.delete_dataset``, each on the default client as the import functions are.

Each forwards to the :class:`~nexosis_pandas.Client` method of its name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

from nexosis_pandas._backends import Backend
from nexosis_pandas._importing import default_client
from nexosis_pandas.exceptions import user_error

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from nexosis_pandas._client import Client

__all__ = ["delete_dataset", "list_datasets", "read_dataset"]


@overload
def read_dataset(
    dataset_name: str, *, backend: Literal["pandas"] = "pandas", client: Client | None = None
) -> pd.DataFrame: ...
@overload
def read_dataset(
    dataset_name: str, *, backend: Literal["polars"], client: Client | None = None
) -> pl.DataFrame: ...
@overload
def read_dataset(
    dataset_name: str, *, backend: Literal["pyarrow"], client: Client | None = None
) -> pa.Table: ...


@user_error
def read_dataset(
    dataset_name: str, *, backend: Backend = "pandas", client: Client | None = None
) -> Any:
    """Every row of a dataset, as a pandas or polars DataFrame or a pyarrow Table.

    ``backend=`` takes the library's module name, as narwhals' ``backend=`` does
    (``narwhals.read_csv(..., backend="polars")``): a polars or Arrow user guesses it from
    the import they already wrote, and one function keeps one set of options for the three.
    (pandas' ``dtype_backend="pyarrow"`` means another thing, a pandas frame with Arrow
    dtypes.) polars and Arrow are typed from the server's Arrow data by ``pyarrow.compute``
    and never pass through pandas; the values are the pandas frame's, in these types:

    ===========================  ===============================  =========================
    data type                    pandas                           polars / pyarrow
    ===========================  ===============================  =========================
    numeric (every value whole)  ``int64`` (``Int64`` if gaps)     ``Int64`` / ``int64``
    numeric, numericMeasure      ``float64``                      ``Float64`` / ``double``
    logical                      ``bool`` (``boolean`` if gaps)    ``Boolean`` / ``bool``
    date                         ``datetime64[ns|us, UTC]``       ``Datetime("us", "UTC")``
                                                                  / ``timestamp[us, UTC]``
    string, text                 ``str`` (``object`` pandas 2)     ``String`` / ``string``
    ===========================  ===============================  =========================

    Missing values are nulls in polars and Arrow (``NaN``/``<NA>``/``NaT`` in pandas); a date
    with digits finer than a microsecond comes back in nanoseconds.

    Parameters
    ----------
    dataset_name
        The dataset.
    backend
        ``"pandas"`` (the default), ``"polars"`` (needs polars installed) or ``"pyarrow"``.
    client
        The client to use; by default :func:`~nexosis_pandas._api.default_client`.

    Raises
    ------
    NotFoundError
        No dataset has this name; the message suggests a close one when there is one.
    ValueError
        ``backend`` is none of the three.

    Examples
    --------
    >>> sales = nexosis_pandas.read_dataset("sales")  # doctest: +SKIP
    >>> sales = nexosis_pandas.read_dataset("sales", backend="polars")  # doctest: +SKIP
    >>> table = nexosis_pandas.read_dataset("sales", backend="pyarrow")  # doctest: +SKIP
    """
    return default_client(client).read_dataset(dataset_name, backend=backend)


@user_error
def list_datasets(*, client: Client | None = None) -> list[str]:
    """The names of the account's datasets.

    Parameters
    ----------
    client
        The client to use; by default :func:`~nexosis_pandas._api.default_client`.

    Examples
    --------
    >>> "sales" in nexosis_pandas.list_datasets()  # doctest: +SKIP
    True
    """
    return default_client(client).list_datasets()


@user_error
def delete_dataset(
    dataset_name: str, *, missing_ok: bool = False, client: Client | None = None
) -> None:
    """Delete a dataset and its data.

    Parameters
    ----------
    dataset_name
        The dataset.
    missing_ok
        ``True``: a dataset that does not exist is not an error.
    client
        The client to use; by default :func:`~nexosis_pandas._api.default_client`.

    Raises
    ------
    NotFoundError
        No dataset has this name, and ``missing_ok`` is false.

    Examples
    --------
    >>> nexosis_pandas.delete_dataset("scratch", missing_ok=True)  # doctest: +SKIP
    """
    default_client(client).delete_dataset(dataset_name, missing_ok=missing_ok)
