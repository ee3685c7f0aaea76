"""Helpers for driving the reference server over HTTP (imported by the tests and conftest)."""

from __future__ import annotations

import time
from typing import Any

import requests

BUCKET = "test-bucket"


class Api:
    """A requests session against one reference server, with helpers for imports."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url = server.url
        self.session = requests.Session()
        self.session.headers["api-key"] = server.api_key

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path, timeout=30, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.put(self.url + path, timeout=30, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url + path, timeout=30, **kwargs)

    def start_import(self, dataset: str, path: str, **fields: Any) -> dict[str, Any]:
        body = {"dataSetName": dataset, "bucket": BUCKET, "path": path, **fields}
        response = self.post("/imports/s3", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["Nexosis-Import-Status"] == "Requested"
        result: dict[str, Any] = response.json()
        return result

    def wait(self, import_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(f"/imports/{import_id}")
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in ("completed", "failed"):
                return body
            assert time.monotonic() < deadline, f"import still {body['status']}"
            time.sleep(0.05)

    def run_import(self, dataset: str, path: str, **fields: Any) -> dict[str, Any]:
        return self.wait(self.start_import(dataset, path, **fields)["importId"])

    def rows(self, dataset: str, **params: Any) -> list[dict[str, Any]]:
        response = self.get(f"/data/{dataset}", params={"pageSize": 1000, **params})
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


def error_of(import_body: dict[str, Any]) -> str:
    """The import's error message (asserting it failed)."""
    assert import_body["status"] == "failed", import_body
    errors = [m["message"] for m in import_body["messages"] if m["severity"] == "error"]
    assert errors, import_body
    return str(errors[0])
