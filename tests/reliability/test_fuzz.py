"""The reference server fuzzed from its own OpenAPI document with schemathesis.

Every operation gets a bounded number of valid and of invalid requests (derandomised, so a run
is repeatable). Checks: no 5xx, every error answer in the envelope, every answer within the
request timeout.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

pytestmark = pytest.mark.reliability

EXAMPLES = 25
TIMEOUT = 10.0


def in_the_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error answer is JSON ``{statusCode, message, ...}`` with the answer's status."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"error answer is not JSON: {response.content[:200]!r}") from None
    assert isinstance(body, dict), body
    assert body.get("statusCode") == response.status_code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    return None


def test_fuzz_every_operation(reference_server: Any) -> None:
    root = reference_server.url.removesuffix("/v1")
    schema = schemathesis.openapi.from_url(f"{root}/openapi.json", timeout=TIMEOUT)
    # The right key in every request, so the cases get past the key check (tested elsewhere).
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 6
    calls = 0

    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                def check(case: Any) -> None:
                    nonlocal calls
                    response = case.call(
                        base_url=root,
                        session=session,
                        headers={"api-key": reference_server.api_key},
                        timeout=TIMEOUT,
                    )
                    calls += 1
                    case.validate_response(response, checks=[not_a_server_error, in_the_envelope])

                try:
                    check()
                except Unsatisfiable:
                    # No invalid request exists for some operations (any string is a name).
                    assert mode is GenerationMode.NEGATIVE, operation.label
    assert calls >= len(operations) * 2
