"""The api key: compared in constant time, never logged or echoed; servers bind loopback."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from nexosis_pandas.exceptions import AuthenticationError, ImportFailedError, NexosisError
from nexosis_pandas.server import ReferenceServer
from tests.reliability.reliability_helpers import BUCKET, ServerProcess, fast_client, put_csv

pytestmark = pytest.mark.reliability

KEY = "s3cr3t-KEY-8f2a61c0"
OTHER_KEY = "other-KEY-77d1e04b"
WRONG_KEY = "wrong-KEY-0b9e1c3d"
S3_SECRET = "s3-SECRET-5a0c7e19"


def test_keys_are_compared_with_compare_digest_every_time(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    with ReferenceServer(data_dir=tmp_path, api_keys=[KEY, OTHER_KEY]) as server:
        for sent, status in ((KEY, 200), (OTHER_KEY, 200), (WRONG_KEY, 401), ("", 401)):
            compared.clear()
            response = requests.get(f"{server.url}/imports", headers={"api-key": sent}, timeout=30)
            assert response.status_code == status
            # Every configured key is compared, whichever matches: no early exit to time.
            assert sorted(b for _, b in compared) == sorted([KEY.encode(), OTHER_KEY.encode()])
            assert all(a == sent.encode() for a, _ in compared)


def test_the_key_is_never_logged_or_echoed(
    s3: Any, s3fs_fs: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    put_csv(s3fs_fs, "secret.csv", 5)
    seen: list[str] = []
    with ReferenceServer(
        data_dir=tmp_path / "data",
        api_keys=[KEY],
        s3_endpoint_url=s3.endpoint_url,
        s3_storage_options=s3.storage_options,
    ) as server:
        client = fast_client(server.url, KEY)
        job = client.import_from_s3(
            "secret", BUCKET, "secret.csv", credentials=("testing", S3_SECRET)
        )
        seen.append(repr(job.wait(timeout=60, progress=False).to_dict()))
        job = client.import_from_s3("secret", BUCKET, "nothing.csv")
        with pytest.raises(ImportFailedError) as failed:
            job.wait(timeout=60, progress=False)
        seen.append(str(failed.value))
        seen += [repr(client), repr(client.transport), repr(job), job._repr_html_()]
        seen.append(client.import_history().to_string())
        # get_import takes only a GUID (anything else is a ValueError before any request), so
        # a well-formed id no import has makes the server answer with an error.
        missing = (
            (client.get_import, "015d1d17-0000-4000-8000-000000000000"),
            (client.delete_dataset, "does-not-exist"),
        )
        for bad, name in missing:
            with pytest.raises(NexosisError) as error:
                bad(name)
            seen += [str(error.value), repr(error.value), str(vars(error.value))]
        wrong = fast_client(server.url, WRONG_KEY)
        with pytest.raises(AuthenticationError) as denied:
            wrong.import_history()
        seen += [str(denied.value), str(vars(denied.value))]
        with requests.Session() as session:
            session.headers["api-key"] = KEY
            for method, path in (
                ("GET", "/imports"),
                ("GET", f"/imports/{job.import_id}"),
                ("GET", "/imports/not-a-guid"),
                ("POST", "/imports/s3"),
                ("GET", "/data/secret"),
                ("GET", "/nowhere"),
            ):
                response = session.request(method, server.url + path, timeout=30)
                seen += [response.text, str(response.headers)]
            denied_response = requests.get(
                f"{server.url}/imports", headers={"api-key": WRONG_KEY}, timeout=30
            )
            seen += [denied_response.text, str(denied_response.headers)]
    seen.append(caplog.text)
    everything = "\n".join(seen)
    assert caplog.records, "nothing was logged: the check would prove nothing"
    for secret in (KEY, WRONG_KEY, S3_SECRET):
        assert secret not in everything


def test_the_server_process_prints_no_key(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_process(tmp_path / "data")
    assert server.get("/imports").status_code == 200
    assert requests.get(f"{server.url}/imports", headers={"api-key": "x"}, timeout=30).status_code
    server.stop()
    output = "".join(server.output)
    assert "listening on http://127.0.0.1:" in output
    assert server.api_key not in output


def test_servers_bind_loopback_by_default(tmp_path: Path) -> None:
    from nexosis_pandas._local_s3 import LocalS3
    from nexosis_pandas.cli import build_parser

    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    with ReferenceServer(data_dir=tmp_path, api_keys=[KEY]) as server:
        addresses = {s.getsockname()[0] for s in server._uvicorn.servers[0].sockets}
        assert addresses == {"127.0.0.1"}
        assert server.url.startswith("http://127.0.0.1:")
    with LocalS3() as local:
        assert local.endpoint_url.startswith("http://127.0.0.1:")
