"""Parsing an Azure Storage connection string: what is found, and errors that keep the key out."""

from __future__ import annotations

import pytest

from nexosis_pandas.server.sources.addresses import refusal
from nexosis_pandas.server.sources.azure import ConnectionStringError, parse_connection_string

KEY = "c2VjcmV0LWtleS12YWx1ZS0xMjM0NTY3ODkw"


def test_an_account_gives_the_public_endpoint() -> None:
    blob = parse_connection_string(
        f"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={KEY};"
        "EndpointSuffix=core.chinacloudapi.cn"
    )
    assert blob.blob_endpoint == "https://acme.blob.core.chinacloudapi.cn"
    assert KEY not in repr(blob)


def test_a_blob_endpoint_wins_and_names_are_case_insensitive() -> None:
    blob = parse_connection_string(
        f"accountname=devstoreaccount1;ACCOUNTKEY={KEY};BlobEndpoint=http://127.0.0.1:10000/dev/"
    )
    assert blob.blob_endpoint == "http://127.0.0.1:10000/dev"


def test_secrets_are_scrubbed_from_text() -> None:
    blob = parse_connection_string(
        "BlobEndpoint=https://acme.blob.core.windows.net;SharedAccessSignature=sv=2020&sig=abc%2F"
    )
    assert blob.scrub("GET ...?sv=2020&sig=abc%2F failed") == "GET ...?redacted failed"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("AccountName", "part 1 is not of the form Name=value"),
        (f"AccountName=a;Acountkey={KEY}", "unknown setting 'Acountkey'"),
        ("AccountName=a;AccountKey=not base64!!", "the AccountKey is not valid base64"),
        (f"AccountKey={KEY}", "names neither an AccountName nor a BlobEndpoint"),
        ("BlobEndpoint=ftp://x/y", "BlobEndpoint must be an http:// or https:// URL"),
        ("AccountName=a;DefaultEndpointsProtocol=gopher", "must be http or https"),
    ],
)
def test_a_malformed_string_is_named_without_its_secret(text: str, named: str) -> None:
    with pytest.raises(ConnectionStringError) as caught:
        parse_connection_string(text)
    message = str(caught.value)
    assert message.startswith("Unable to parse Azure blob storage connection string: ")
    assert named in message
    assert KEY not in message and "not base64!!" not in message


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.0.0.8", "a private-network address"),
        ("192.168.1.1", "a private-network address"),
        ("169.254.169.254", "a private-network address"),  # the cloud metadata service
        ("::ffff:127.0.0.1", "a loopback address"),
        ("fe80::1%eth0", "a private-network address"),
        ("100.64.0.1", "not a public address"),
        ("0.0.0.0", "a private-network address"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_only_public_addresses_are_reachable_by_default(address: str, kind: str | None) -> None:
    assert refusal(address) == kind
