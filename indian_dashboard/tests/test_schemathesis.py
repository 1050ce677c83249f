"""A schemathesis run over the OpenAPI document against the live app under gunicorn.

Two passes over every operation, each with schemathesis' coverage and fuzzing
phases in positive and negative mode, every answer checked by schemathesis'
default checks: no 5xx, documented status codes, content types, headers and
schemas, schema-violating requests rejected, schema-valid ones accepted, auth
enforced, unsupported methods answered 405.

* ``anonymous``: whatever schemathesis generates, cookies and tokens included;
  every check but "schema-valid is accepted" (see the test).
* ``connected``: each case carries a fresh real session and its CSRF token, so
  bodies and paths get past the CSRF gate to the parsers; every check but
  "invalid auth is refused", which is the anonymous pass's job.

Deterministic (a fixed seed, derandomized, no example database) and bounded by
``max-examples`` (times ``FUZZ_SCALE``); the number of cases is printed at the end of
the pytest run.
Only loopback traffic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis.config import SchemathesisConfig

from .contract import DOC, FUZZ_SCALE, TRIED
from .http_visitor import http_connect
from .servers import LiveServer, serving

pytestmark = pytest.mark.server

CONFIG = {
    "seed": 20251130,
    "generation": {"deterministic": True, "max-examples": 30 * FUZZ_SCALE, "database": "none"},
}
anonymous = schemathesis.openapi.from_dict(DOC, config=SchemathesisConfig.from_dict(CONFIG))
connected = schemathesis.openapi.from_dict(DOC, config=SchemathesisConfig.from_dict(CONFIG))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One gunicorn (2 workers, SQLite) for both passes."""
    yield from serving(tmp_path_factory.mktemp("schemathesis"))


def count(run: str, case: schemathesis.Case[Any]) -> None:
    TRIED["schemathesis"] += 1
    meta = case.meta
    if meta is not None:
        TRIED[f"schemathesis: {run}, {meta.phase.name.value} {meta.generation.mode.value}"] += 1


def call_and_validate(
    run: str, case: schemathesis.Case[Any], server: LiveServer, **options: Any
) -> None:
    count(run, case)
    response = case.call(base_url=server.url)
    if response.status_code >= 500:
        TRIED["5xx"] += 1
    case.validate_response(response, transport_kwargs={"base_url": server.url}, **options)


@anonymous.parametrize()
def test_api_without_a_session(case: schemathesis.Case[Any], server: LiveServer) -> None:
    # Without a session nothing unsafe is accepted, and without the header a JSON
    # body's csrf_token must be a string: a rule between two parameters that OpenAPI
    # cannot state. So "schema-valid means accepted" is checked by the connected pass.
    call_and_validate(
        "anonymous", case, server, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )


@connected.parametrize()
def test_api_with_a_session(case: schemathesis.Case[Any], server: LiveServer) -> None:
    # Coverage cases are built at collection, before the server exists, so the
    # session is put in here rather than by an auth provider. Schemathesis then
    # sees a cookie it did not generate being accepted; auth enforcement is what
    # the anonymous pass checks, so that one check is left out here.
    cookie, token = http_connect(server.url)
    case.cookies = {**(case.cookies or {}), "session": cookie}
    case.headers = CaseInsensitiveDict({**case.headers, "X-CSRF-Token": token})
    excluded = [schemathesis.checks.ignored_auth]
    if case.operation.path in BROKER_SAYS:
        excluded.append(schemathesis.checks.positive_data_acceptance)
    call_and_validate("connected", case, server, excluded_checks=excluded)


#: Where a schema-valid request may still be refused: the broker decides whether made-up
#: credentials or a made-up callback are good (401/400), which no schema can state.
BROKER_SAYS = {"/api/broker/connect", "/api/broker/{name}/callback"}
