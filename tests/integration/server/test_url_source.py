"""The URL source alone, against a real HTTP server on loopback: auth, redirects, limits."""

from __future__ import annotations

import gzip
import socket
import time
from typing import Any

import pytest

from nexosis_pandas.server.sources.url import (
    BasicAuth,
    UrlFetchError,
    UrlPolicy,
    fetch_url,
    shown_url,
)
from tests.http_files import PASSWORD, USER

LOCAL = UrlPolicy(allow_private=True, connect_timeout=2, read_timeout=2, total_timeout=10)
CSV = "day,units\n2017-01-01,3\n2017-01-02,5\n"


def fetch(url: str, policy: UrlPolicy = LOCAL, **kwargs: Any) -> tuple[bytes, str | None, str]:
    with fetch_url(url, policy=policy, **kwargs) as fetched:
        return fetched.raw.read(), fetched.served_type, fetched.path


def test_a_file_is_fetched_with_its_content_type_and_path(file_server: Any) -> None:
    url = file_server.add("sales.csv", CSV, "text/csv")
    assert fetch(url) == (CSV.encode(), "text/csv", "/files/sales.csv")


def test_a_gzip_content_encoding_is_undone(file_server: Any) -> None:
    file_server.add("sales.csv", CSV, "text/csv")
    body, _, _ = fetch(file_server.url("/gzip/sales.csv"))
    assert body == CSV.encode()


def test_a_gzipped_file_served_as_bytes_stays_gzipped(file_server: Any) -> None:
    url = file_server.add("sales.csv.gz", gzip.compress(CSV.encode()), "application/gzip")
    body, _, path = fetch(url)
    assert gzip.decompress(body) == CSV.encode() and path.endswith(".csv.gz")


def test_basic_auth_is_sent_and_a_missing_one_is_named(file_server: Any) -> None:
    file_server.add("sales.csv", CSV, "text/csv")
    url = file_server.url("/private/sales.csv")
    assert fetch(url, auth=BasicAuth(USER, PASSWORD))[0] == CSV.encode()
    with pytest.raises(UrlFetchError, match=r"401 .*needs credentials: pass auth"):
        fetch(url)
    with pytest.raises(UrlFetchError, match=r"401 .*refused; check them") as refused:
        fetch(url, auth=BasicAuth(USER, "wrong"))
    assert "wrong" not in str(refused.value)


def test_redirects_are_followed_up_to_the_limit(file_server: Any) -> None:
    file_server.add("sales.csv", CSV, "text/csv")
    assert fetch(file_server.url("/redirect/3/files/sales.csv"))[2] == "/files/sales.csv"
    with pytest.raises(UrlFetchError, match="redirected more than 5 times"):
        fetch(file_server.url("/redirect/6/files/sales.csv"))


def test_a_redirect_to_another_scheme_is_refused(file_server: Any) -> None:
    with pytest.raises(UrlFetchError, match=r"redirected to a file:// URL; only http and https"):
        fetch(file_server.url("/to?url=file:///etc/passwd"))


def test_the_password_goes_to_the_original_origin_only(file_server: Any) -> None:
    file_server.add("sales.csv", CSV, "text/csv")
    elsewhere = file_server.url("/files/sales.csv", host="localhost")  # another origin
    fetch(file_server.url(f"/to?url={elsewhere}"), auth=BasicAuth(USER, PASSWORD))
    assert file_server.seen_auth["/to"] is not None
    assert file_server.seen_auth["/files/sales.csv"] is None
    fetch(file_server.url("/redirect/1/private/sales.csv"), auth=BasicAuth(USER, PASSWORD))
    assert file_server.seen_auth["/private/sales.csv"] is not None  # same origin: kept


def test_a_404_says_so_and_names_only_the_origin(file_server: Any) -> None:
    with pytest.raises(UrlFetchError) as missing:
        fetch(file_server.url("/files/nothing-here.csv?token=abc123"))
    message = str(missing.value)
    assert "does not indicate success: 404 (Not Found). Check the URL" in message
    assert f"http://127.0.0.1:{file_server.port}/ " in message
    assert "abc123" not in message and "nothing-here" not in message


def test_a_silent_server_times_out(file_server: Any) -> None:
    started = time.monotonic()
    with pytest.raises(UrlFetchError, match=r"did not answer within 0.5 s"):
        fetch(file_server.url("/slow"), UrlPolicy(allow_private=True, read_timeout=0.5))
    assert time.monotonic() - started < 3


def test_a_trickling_server_is_cut_off_at_the_deadline(file_server: Any) -> None:
    policy = UrlPolicy(allow_private=True, read_timeout=5, total_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(UrlFetchError, match=r"took longer than 1 s \(received \d+ bytes\)"):
        fetch(file_server.url("/trickle"), policy)
    assert time.monotonic() - started < 4


def test_a_huge_response_stops_at_the_size_cap(file_server: Any) -> None:
    policy = UrlPolicy(allow_private=True, max_bytes=1 << 20)
    with pytest.raises(UrlFetchError, match=r"larger than this server's limit of 1.0 MB"):
        fetch(file_server.url("/huge"), policy)  # no Content-Length: counted as it comes
    with pytest.raises(UrlFetchError, match=r"limit of 1.0 MB .*\(it is 9.3 GB\)"):
        fetch(file_server.url("/huge?length=10000000000"), policy)  # refused before reading


def test_the_spooled_file_is_removed_afterwards(file_server: Any, tmp_path: Any) -> None:
    url = file_server.add("sales.csv", CSV, "text/csv")
    with fetch_url(url, policy=LOCAL, spool_dir=tmp_path) as fetched:
        assert fetched.raw.read() == CSV.encode()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_server_open_to_others_refuses_loopback(file_server: Any, host: str) -> None:
    url = file_server.add("sales.csv", CSV, "text/csv").replace("127.0.0.1", host)
    with pytest.raises(UrlFetchError, match=r"a loopback address: this server does not fetch"):
        fetch(url, UrlPolicy())
    assert "/files/sales.csv" not in file_server.seen_auth  # refused before a byte was sent


def test_a_redirect_into_loopback_is_refused_too(file_server: Any) -> None:
    # the first hop is allowed by a policy that checks nothing, the second by none: the guard
    # sits on every connection, so both are refused on a server open to others
    with pytest.raises(UrlFetchError, match="loopback"):
        fetch(file_server.url("/redirect/1/files/x.csv"), UrlPolicy())


def test_an_unreachable_port_and_an_unknown_host_are_named() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UrlFetchError, match=rf"Could not connect to http://127.0.0.1:{port}/"):
        fetch(f"http://127.0.0.1:{port}/a.csv")
    with pytest.raises(UrlFetchError, match=r"host 'no-such-host.invalid' could not be found"):
        fetch("http://no-such-host.invalid/a.csv")


def test_the_echoed_url_keeps_scheme_and_host_only() -> None:
    assert shown_url("HTTPS://u:p@Example.com/a/b.csv?sig=x#f") == "https://example.com/"
    assert shown_url("http://[::1]:8080/a") == "http://[::1]:8080/"
