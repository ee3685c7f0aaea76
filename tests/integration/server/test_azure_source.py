"""The Azure source alone, against Azurite on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from nexosis_pandas.local_azure import ACCOUNT_KEY
from nexosis_pandas.server.sources.azure import AzureReadError, open_blob, parse_connection_string

CSV = b"day,units\n2017-01-01,3\n"


def read(azure: Any, container: str, name: str, *, connection_string: str | None = None) -> Any:
    blob = parse_connection_string(connection_string or azure.connection_string)
    with open_blob(blob, container, name, allow_private=True) as (raw, served):
        return raw.read(), served


def test_a_blob_in_a_folder_is_read_with_its_content_type(azure: Any) -> None:
    fs = azure.filesystem()
    fs.pipe("test-container/exports/2017/sales.csv", CSV)
    body, served = read(azure, "test-container", "exports/2017/sales.csv")
    assert body == CSV and served == "application/octet-stream"


def test_a_missing_blob_and_a_missing_container_are_told_apart(azure: Any) -> None:
    with pytest.raises(AzureReadError, match=r"404 \(The specified blob does not exist.\)"):
        read(azure, "test-container", "nope.csv")
    with pytest.raises(AzureReadError, match=r"The container 'nope' was not found"):
        read(azure, "nope", "sales.csv")


def test_a_wrong_key_is_forbidden_and_never_repeated(azure: Any) -> None:
    azure.filesystem().pipe("test-container/sales.csv", CSV)
    wrong = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ=="
    with pytest.raises(AzureReadError) as denied:
        read(
            azure,
            "test-container",
            "sales.csv",
            connection_string=azure.connection_string.replace(ACCOUNT_KEY, wrong),
        )
    message = str(denied.value)
    assert "403 (Forbidden)" in message and "check the connection string's AccountKey" in message
    assert wrong not in message and ACCOUNT_KEY not in message


def test_a_server_open_to_others_refuses_a_loopback_endpoint(azure: Any) -> None:
    blob = parse_connection_string(azure.connection_string)
    with (
        pytest.raises(AzureReadError, match=r"at 127.0.0.1, a loopback address"),
        open_blob(blob, "test-container", "sales.csv", allow_private=False),
    ):
        pass
