"""Bad request bodies, headers, paths and methods: a 4xx in the envelope, never a 500.

In-process cases run on the memory store (parsing does not depend on it), except
``TestMalformedRequests`` on every store; the HTTP ones against gunicorn,
because duplicate, oversized and NUL-carrying headers are only real where a server
parses them. ``TestBodyProperties`` sends any body to any unsafe route (hypothesis).
"""

from __future__ import annotations

import contextlib
import json
import socket
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests
from flask import Flask
from flask_session_guard.session_ids import CookieSigner
from hypothesis import given
from hypothesis import strategies as st

from .apps import json_of
from .conftest import DHAN, KITE, KITE_USER, Visitor
from .contract import DOC, TRIED, assert_documented, assert_envelope_any, documented_operations
from .fuzzing import B64_ALPHABET, connected_visitor, fuzz, header_text, json_values, tried
from .http_visitor import http_connect
from .servers import LiveServer, serving
from .test_session_api import assert_envelope

LIMIT = 64 * 1024  # MAX_CONTENT_LENGTH's default
FORGED = CookieSigner("attacker-key").sign("A" * 43)

#: Every unsafe operation, with a concrete path.
UNSAFE = [
    ("POST", "/api/session/extend"),
    ("POST", "/api/session/clear"),
    ("POST", "/api/session/validate-csrf"),
    ("POST", "/api/session/revoke-others"),
    ("DELETE", "/api/session/" + "A" * 22),
    ("POST", "/api/broker/connect"),
    ("POST", "/api/broker/disconnect"),
    ("POST", "/api/watchlist"),
    ("DELETE", "/api/watchlist/TCS"),
]
#: The routes that read a JSON body, with a body each accepts.
JSON_ROUTES = {
    "/api/session/validate-csrf": {"csrf_token": "x"},
    "/api/broker/connect": {"broker": "kite", "credentials": KITE},
    "/api/watchlist": {"symbol": "TCS"},
}
#: The routes that read nothing but the token.
TOKEN_ONLY = [op for op in UNSAFE if op[1] not in JSON_ROUTES]
NOT_OBJECTS = ["[]", "[1]", '"x"', '""', "1", "-1.5e300", "true", "null", '[{"symbol": "TCS"}]']


class OnTheMemoryStore:
    """Parsing does not depend on the store: memory only, to keep the matrix small."""

    @pytest.fixture
    def store_url(self) -> str:
        return "memory://"


def watchlist(visitor: Visitor) -> list[str]:
    body = visitor.client.get("/api/watchlist").json
    assert body is not None
    result: list[str] = body["watchlist"]
    return result


class TestBodyLimit(OnTheMemoryStore):
    @pytest.mark.parametrize(
        "content_type",
        ["application/json", "text/plain", "application/x-www-form-urlencoded", None],
    )
    @pytest.mark.parametrize(("method", "path"), UNSAFE)
    def test_body_over_the_limit_is_413_on_every_unsafe_route(
        self, connected: Visitor, method: str, path: str, content_type: str | None
    ) -> None:
        body = b'{"symbol": "TCS"' + b" " * LIMIT + b"}"
        response = connected.client.open(
            path, method=method, data=body, content_type=content_type, headers=connected.headers()
        )
        assert_envelope(response, 413, "payload_too_large")
        # The view never ran: the session is still there and unchanged.
        assert connected.session_info().status_code == 200
        assert watchlist(connected) == []

    def test_body_just_under_the_limit_is_read(self, connected: Visitor) -> None:
        head = b'{"symbol": "TCS"'
        body = head + b" " * (LIMIT - len(head) - 1) + b"}"
        assert len(body) == LIMIT
        response = connected.client.post(
            "/api/watchlist",
            data=body,
            content_type="application/json",
            headers=connected.headers(),
        )
        assert response.status_code == 200
        assert watchlist(connected) == ["TCS"]


class TestJsonThatIsNotAnObject(OnTheMemoryStore):
    @pytest.mark.parametrize("body", NOT_OBJECTS)
    @pytest.mark.parametrize("path", sorted(JSON_ROUTES))
    def test_json_routes_answer_400(self, connected: Visitor, path: str, body: str) -> None:
        response = connected.client.post(
            path, data=body, content_type="application/json", headers=connected.headers()
        )
        assert_envelope(response, 400, "bad_request")
        assert watchlist(connected) == []

    @pytest.mark.parametrize("body", NOT_OBJECTS)
    @pytest.mark.parametrize(("method", "path"), TOKEN_ONLY)
    def test_token_only_routes_find_no_token_in_it(
        self, connected: Visitor, method: str, path: str, body: str
    ) -> None:
        response = connected.client.open(
            path, method=method, data=body, content_type="application/json"
        )
        assert_envelope(response, 403, "csrf_missing")
        assert connected.session_info().status_code == 200

    @pytest.mark.parametrize(("method", "path"), TOKEN_ONLY)
    def test_a_token_inside_an_array_does_not_count(
        self, connected: Visitor, method: str, path: str
    ) -> None:
        response = connected.client.open(
            path, method=method, json=[{"csrf_token": connected.token}]
        )
        assert_envelope(response, 403, "csrf_missing")


#: JSON bodies that break parsers, all under the body limit.
HOSTILE: dict[str, bytes] = {
    "invalid-utf8": b'{"symbol": "\xff\xfe", "csrf_token": "\xc3\x28"}',
    "deeply-nested": b"[" * 30_000 + b"]" * 30_000,
    "nested-objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "lone-surrogate": b'{"symbol": "\\ud800", "csrf_token": "\\udfff"}',
}


class TestHostileJsonOnEveryRoute(OnTheMemoryStore):
    """TestMalformedRequests tries these on some routes; here, on every unsafe one."""

    @pytest.mark.parametrize("kind", sorted(HOSTILE))
    @pytest.mark.parametrize(("method", "path"), UNSAFE)
    def test_without_a_header_the_token_parser_answers_400(
        self, connected: Visitor, method: str, path: str, kind: str
    ) -> None:
        response = connected.client.open(
            path, method=method, data=HOSTILE[kind], content_type="application/json"
        )
        if kind == "lone-surrogate":
            # Valid JSON: the escaped surrogate is a string, just not a valid token.
            if path == "/api/session/validate-csrf":
                assert response.status_code == 200
                assert json_of(response)["valid"] is False
            else:
                assert_envelope(response, 403, "csrf_invalid")
        else:
            assert_envelope(response, 400, "bad_request")
        assert connected.session_info().status_code == 200
        assert watchlist(connected) == []

    @pytest.mark.parametrize("kind", sorted(HOSTILE))
    @pytest.mark.parametrize("path", sorted(JSON_ROUTES))
    def test_json_routes_answer_400_with_a_valid_header(
        self, connected: Visitor, path: str, kind: str
    ) -> None:
        response = connected.client.post(
            path,
            data=HOSTILE[kind],
            content_type="application/json",
            headers=connected.headers(),
        )
        if kind == "lone-surrogate" and path == "/api/session/validate-csrf":
            assert response.status_code == 200
            assert json_of(response)["valid"] is False
        else:
            assert_envelope(response, 400, "bad_request")
        assert watchlist(connected) == []


class TestDuplicateHeaders(OnTheMemoryStore):
    @pytest.mark.parametrize("pair", [("valid", "forged"), ("forged", "valid"), ("valid", "valid")])
    def test_two_csrf_headers_are_refused(self, connected: Visitor, pair: tuple[str, str]) -> None:
        values = {"valid": connected.token or "", "forged": "forged-token"}
        headers = [("X-CSRF-Token", values[name]) for name in pair]
        response = connected.client.post("/api/watchlist", json={"symbol": "TCS"}, headers=headers)
        assert_envelope(response, 403, "csrf_invalid")
        assert watchlist(connected) == []

    @pytest.mark.parametrize(
        "types", [("application/json", "text/plain"), ("text/plain", "application/json")]
    )
    def test_two_content_types_never_carry_a_body_token(
        self, connected: Visitor, types: tuple[str, str]
    ) -> None:
        # gunicorn refuses a second Content-Type (see TestOverHttp); a server that joins
        # repeated headers, as WSGI does for the others, would hand the app this.
        body = f'{{"symbol": "TCS", "csrf_token": "{connected.token}"}}'
        joined = {"CONTENT_TYPE": ", ".join(types)}
        response = connected.client.post("/api/watchlist", data=body, environ_overrides=joined)
        assert_envelope(response, 403, "csrf_missing")
        with_header = connected.client.post(
            "/api/watchlist", data=body, headers=connected.headers(), environ_overrides=joined
        )
        assert_envelope(with_header, 400, "bad_request")
        assert watchlist(connected) == []

    @pytest.mark.parametrize(
        "pair", [("valid", "forged"), ("forged", "valid"), ("forged", "forged")]
    )
    def test_two_cookie_headers_never_adopt_a_forged_session(
        self, app: Flask, pair: tuple[str, str]
    ) -> None:
        alice = Visitor(app.test_client())
        alice.connect()
        values = {"valid": f"session={alice.cookie()}", "forged": f"session={FORGED}"}
        client = app.test_client(use_cookies=False)
        headers = [("Cookie", values[name]) for name in pair]
        response = client.get("/api/broker/status", headers=headers)
        if response.status_code == 200:
            assert json_of(response)["broker"]["client_id"] == KITE_USER
            assert "valid" in pair
        else:
            assert_envelope(response, 401, "session_required")


class TestNulBytes(OnTheMemoryStore):
    @pytest.mark.parametrize(
        ("method", "path", "status", "error"),
        [
            ("GET", "/api/session/info%00", 404, "not_found"),
            ("GET", "/api/watch%00list", 404, "not_found"),
            ("DELETE", "/api/watchlist/TCS%00", 400, "bad_request"),
            ("DELETE", "/api/watchlist/%00", 400, "bad_request"),
        ],
    )
    def test_in_paths(
        self, connected: Visitor, method: str, path: str, status: int, error: str
    ) -> None:
        response = connected.client.open(path, method=method, headers=connected.headers())
        assert_envelope(response, status, error)

    @pytest.mark.parametrize(
        ("name", "value", "status", "error"),
        [
            ("X-CSRF-Token", "\x00" * 86, 403, "csrf_invalid"),
            ("Origin", "http://localhost\x00.evil.com", 403, "origin_mismatch"),
            ("Sec-Fetch-Site", "same-origin\x00", 403, "origin_mismatch"),
            ("Content-Type", "application/json\x00", 400, "bad_request"),
            ("Cookie", "session=\x00", 401, "session_required"),
        ],
    )
    def test_in_headers(
        self, connected: Visitor, name: str, value: str, status: int, error: str
    ) -> None:
        headers = {**connected.headers(), name: value}
        client = connected.client
        if name == "Cookie":
            client = client.application.test_client(use_cookies=False)
        response = client.post("/api/watchlist", data='{"symbol": "TCS"}', headers=headers)
        assert_envelope(response, status, error)
        assert watchlist(connected) == []

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            (b"\x00", "application/json"),
            (b'{"symbol": "TCS\x00"}', "application/json"),  # a raw NUL is not valid JSON
            (b'{"symbol\x00": "TCS"}', "application/json"),
            (b"\x00" * 1000, "application/json"),
            (b"symbol=TCS&csrf_token=\x00", "application/x-www-form-urlencoded"),
        ],
    )
    def test_in_bodies(self, connected: Visitor, body: bytes, content_type: str) -> None:
        response = connected.client.post(
            "/api/watchlist", data=body, content_type=content_type, headers=connected.headers()
        )
        assert_envelope(response, 400, "bad_request")
        no_header = connected.client.post("/api/watchlist", data=body, content_type=content_type)
        assert no_header.status_code in (400, 403)
        assert_envelope_any(no_header.status_code, no_header.mimetype, no_header.json)
        assert watchlist(connected) == []


def _unsupported() -> list[tuple[str, str, str]]:
    examples = {
        "/api/watchlist/{symbol}": "/api/watchlist/TCS",
        "/api/session/{public_id}": "/api/session/" + "A" * 22,
    }
    documented = documented_operations()
    cases = []
    for template in DOC["paths"]:
        allowed = {m for p, m in documented if p == template}
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "BREW", "PROPFIND", "TRACE"):
            if method not in allowed:
                cases.append((examples.get(template, template), method, ",".join(sorted(allowed))))
    return cases


class TestUnknownMethods(OnTheMemoryStore):
    @pytest.mark.parametrize(("path", "method", "allowed"), _unsupported())
    def test_every_route_answers_json_405(
        self, connected: Visitor, path: str, method: str, allowed: str
    ) -> None:
        response = connected.client.open(path, method=method, headers=connected.headers())
        assert_envelope(response, 405, "method_not_allowed")
        allow = {m.strip() for m in response.headers["Allow"].split(",")}
        assert set(allowed.split(",")) <= allow
        assert method not in allow


class TestMalformedRequests:
    """On every store, as when these were first written."""

    def test_deeply_nested_json_is_400(self, connected: Visitor) -> None:
        body = "[" * 30_000 + "]" * 30_000  # under the 64 KiB limit, past recursion
        for path in ("/api/watchlist", "/api/session/validate-csrf", "/api/broker/connect"):
            response = connected.client.post(
                path, data=body, content_type="application/json", headers=connected.headers()
            )
            assert_envelope(response, 400, "bad_request")
        nested_token = connected.client.post(
            "/api/session/extend", data=body, content_type="application/json"
        )
        assert_envelope(nested_token, 400, "bad_request")

    def test_invalid_utf8_is_400(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/watchlist",
            data=b'{"symbol": "\xff\xfe"}',
            content_type="application/json",
            headers=connected.headers(),
        )
        assert_envelope(response, 400, "bad_request")

    def test_megabyte_token_is_refused_cheaply(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/session/extend", headers={"X-CSRF-Token": "A" * 1_000_000}
        )
        assert_envelope(response, 403, "csrf_invalid")

    def test_nul_bytes_are_no_500(self, connected: Visitor) -> None:
        response = connected.client.post(
            "/api/watchlist",
            json={"symbol": "TCS\x00"},
            headers={**connected.headers()},
        )
        assert_envelope(response, 400, "bad_request")
        response = connected.client.post(
            "/api/session/validate-csrf", json={"csrf_token": "\x00" * 10}
        )
        assert json_of(response)["valid"] is False


# -- over real HTTP, against gunicorn -------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One gunicorn for the module (the cases do not share sessions)."""
    yield from serving(tmp_path_factory.mktemp("bad-input"))


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    server: LiveServer,
    method: str,
    path: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    chunked: bool = False,
) -> RawAnswer:
    """Send exactly these bytes (duplicates, NULs and all) and read the answer.

    ``chunked`` sends the body with ``Transfer-Encoding: chunked`` and no length.
    """
    host, port = server.url.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    elif body:
        lines.append(f"Content-Length: {len(body)}")
    data = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # The server may answer and close before it has read everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return RawAnswer(int(status_line.split()[1]), parsed, rest)


def assert_alive(server: LiveServer) -> None:
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def json_body(answer: RawAnswer) -> Any:
    return json.loads(answer.body)


@pytest.mark.server
class TestOverHttp:
    @pytest.mark.parametrize(
        "headers",
        [
            [("X-Big", "a" * 20_000)],
            [("X-CSRF-Token", "A" * 9_000)],
            [(f"X-Many-{i}", "v") for i in range(150)],
            [("Cookie", "session=" + "a" * 9_000)],
        ],
        ids=["20k-header", "9k-token", "150-headers", "9k-cookie"],
    )
    def test_oversized_headers_are_4xx_and_the_server_survives(
        self, server: LiveServer, headers: list[tuple[str, str]]
    ) -> None:
        answer = raw_request(server, "POST", "/api/session/extend", headers)
        assert 400 <= answer.status < 500
        assert_alive(server)

    def test_overlong_request_line_is_4xx(self, server: LiveServer) -> None:
        answer = raw_request(server, "GET", "/api/" + "a" * 10_000)
        assert 400 <= answer.status < 500
        assert_alive(server)

    def test_megabyte_token_over_http(self, server: LiveServer) -> None:
        cookie, _ = http_connect(server.url)
        token = "A" * 1_000_000
        jar = [("Cookie", f"session={cookie}")]
        in_header = raw_request(
            server, "POST", "/api/session/extend", [*jar, ("X-CSRF-Token", token)]
        )
        assert 400 <= in_header.status < 500  # gunicorn refuses the header
        for content_type, body in (
            ("application/json", f'{{"csrf_token": "{token}"}}'.encode()),
            ("application/x-www-form-urlencoded", f"csrf_token={token}".encode()),
        ):
            in_body = raw_request(
                server, "POST", "/api/session/extend", [*jar, ("Content-Type", content_type)], body
            )
            assert in_body.status == 413
            assert_envelope_any(in_body.status, in_body.headers["content-type"], json_body(in_body))
        assert_alive(server)
        info = raw_request(server, "GET", "/api/session/info", jar)
        assert info.status == 200

    def test_chunked_body_over_the_limit_is_413(self, server: LiveServer) -> None:
        # No Content-Length to refuse up front: the limit must hold while reading.
        cookie, token = http_connect(server.url)
        headers = [
            ("Cookie", f"session={cookie}"),
            ("X-CSRF-Token", token),
            ("Content-Type", "application/json"),
        ]
        # Valid JSON up to the limit, so a body cut at the limit would still parse.
        too_long = b'{"symbol": "TCS"}' + b" " * LIMIT
        answer = raw_request(server, "POST", "/api/watchlist", headers, too_long, chunked=True)
        assert answer.status == 413
        assert json_body(answer)["error"] == "payload_too_large"
        fits = raw_request(
            server, "POST", "/api/watchlist", headers, b'{"symbol": "INFY"}', chunked=True
        )
        assert fits.status == 200
        assert json_body(fits)["watchlist"] == ["INFY"]

    def test_token_just_under_the_body_limit_is_403(self, server: LiveServer) -> None:
        cookie, _ = http_connect(server.url)
        body = f'{{"csrf_token": "{"A" * (LIMIT - 100)}"}}'.encode()
        headers = [("Cookie", f"session={cookie}"), ("Content-Type", "application/json")]
        answer = raw_request(server, "POST", "/api/session/extend", headers, body)
        assert answer.status == 403
        assert json_body(answer)["error"] == "csrf_invalid"

    def test_eight_kilobyte_cookies(self, server: LiveServer) -> None:
        cookie, _ = http_connect(server.url)
        junk = raw_request(
            server, "GET", "/api/session/info", [("Cookie", "session=" + "a" * 8000)]
        )
        assert junk.status == 401
        assert json_body(junk)["error"] == "session_required"
        others = "; ".join(f"c{i}={'b' * 90}" for i in range(84))  # ~8 KB of other cookies
        assert 7_900 < len(others) < 8_100
        beside = raw_request(
            server, "GET", "/api/session/info", [("Cookie", f"{others}; session={cookie}")]
        )
        assert beside.status == 200
        assert json_body(beside)["session"]["is_active"] is True
        assert_alive(server)

    @pytest.mark.parametrize(
        "header",
        [
            ("X-CSRF-Token", "abc\x00def"),
            ("Cookie", "session=\x00"),
            ("Content-Type", "application/json\x00"),
        ],
    )
    def test_nul_bytes_in_headers(self, server: LiveServer, header: tuple[str, str]) -> None:
        answer = raw_request(server, "POST", "/api/watchlist", [header], b'{"symbol": "TCS"}')
        assert 400 <= answer.status < 500
        assert_alive(server)

    @pytest.mark.parametrize("path", ["/api/session/info%00", "/api/watchlist/TCS%00"])
    def test_nul_bytes_in_paths(self, server: LiveServer, path: str) -> None:
        cookie, token = http_connect(server.url)
        headers = [("Cookie", f"session={cookie}"), ("X-CSRF-Token", token)]
        method = "DELETE" if "watchlist" in path else "GET"
        answer = raw_request(server, method, path, headers)
        assert answer.status in (400, 404)
        assert_envelope_any(answer.status, answer.headers["content-type"], json_body(answer))

    def test_two_csrf_headers_over_http(self, server: LiveServer) -> None:
        cookie, token = http_connect(server.url)
        for pair in ((token, "forged"), ("forged", token)):
            headers = [
                ("Cookie", f"session={cookie}"),
                ("Content-Type", "application/json"),
                *(("X-CSRF-Token", t) for t in pair),
            ]
            answer = raw_request(server, "POST", "/api/watchlist", headers, b'{"symbol": "TCS"}')
            assert answer.status == 403
            assert json_body(answer)["error"] == "csrf_invalid"

    def test_two_content_types_over_http(self, server: LiveServer) -> None:
        cookie, token = http_connect(server.url)
        headers = [
            ("Cookie", f"session={cookie}"),
            ("X-CSRF-Token", token),
            ("Content-Type", "application/json"),
            ("Content-Type", "text/plain"),
        ]
        answer = raw_request(server, "POST", "/api/watchlist", headers, b'{"symbol": "TCS"}')
        assert answer.status == 400  # gunicorn refuses it before the app

    def test_two_cookie_headers_over_http(self, server: LiveServer) -> None:
        cookie, _ = http_connect(server.url)
        for pair in ((cookie, FORGED), (FORGED, cookie)):
            headers = [("Cookie", f"session={value}") for value in pair]
            answer = raw_request(server, "GET", "/api/broker/status", headers)
            assert answer.status in (200, 401)
            body = json_body(answer)
            if answer.status == 200:
                assert body["broker"]["client_id"] == DHAN["client_id"]
            else:
                assert body["error"] == "session_required"

    @pytest.mark.parametrize("order", ["valid-first", "forged-first"])
    def test_forged_second_session_cookie_over_http(self, server: LiveServer, order: str) -> None:
        cookie, _ = http_connect(server.url)
        pair = [cookie, FORGED] if order == "valid-first" else [FORGED, cookie]
        header = "; ".join(f"session={value}" for value in pair)
        answer = raw_request(server, "GET", "/api/broker/status", [("Cookie", header)])
        assert answer.status == 200
        assert json_body(answer)["broker"]["client_id"] == DHAN["client_id"]
        alone = raw_request(server, "GET", "/api/broker/status", [("Cookie", f"session={FORGED}")])
        assert alone.status == 401

    def test_two_valid_session_cookies_over_http_adopt_neither(self, server: LiveServer) -> None:
        first, _ = http_connect(server.url)
        second, _ = http_connect(server.url)
        header = f"session={first}; session={second}"
        answer = raw_request(server, "GET", "/api/broker/status", [("Cookie", header)])
        assert answer.status == 401
        assert "session=;" in answer.headers.get("set-cookie", "")

    @pytest.mark.parametrize("method", ["BREW", "PROPFIND", "PUT", "PATCH"])
    def test_unknown_methods_over_http(self, server: LiveServer, method: str) -> None:
        answer = raw_request(server, method, "/api/session/extend")
        assert answer.status == 405
        assert json_body(answer)["error"] == "method_not_allowed"


# -- JSON and body parsing on every unsafe route -------------------------------------------

UNSAFE_ROUTES = [
    ("POST", "/api/session/extend", "/api/session/extend"),
    ("POST", "/api/session/clear", "/api/session/clear"),
    ("POST", "/api/session/validate-csrf", "/api/session/validate-csrf"),
    ("POST", "/api/session/revoke-others", "/api/session/revoke-others"),
    ("DELETE", "/api/session/" + "A" * 22, "/api/session/{public_id}"),
    ("POST", "/api/broker/connect", "/api/broker/connect"),
    ("POST", "/api/broker/disconnect", "/api/broker/disconnect"),
    ("POST", "/api/watchlist", "/api/watchlist"),
    ("DELETE", "/api/watchlist/TCS", "/api/watchlist/{symbol}"),
]
content_types = (
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/vnd.api+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
            "",
        ]
    )
    | header_text
)
plausible_objects = st.fixed_dictionaries(
    {},
    optional={
        "symbol": st.one_of(st.text(string.ascii_uppercase + "&-0", max_size=22), json_values),
        "broker": st.one_of(st.sampled_from(["kite", "dhan", "Kite", ""]), json_values),
        "credentials": st.one_of(
            st.just(KITE),
            st.dictionaries(st.sampled_from([*KITE, "pin", "x"]), json_values, max_size=4),
            json_values,
        ),
        "csrf_token": st.one_of(st.text(B64_ALPHABET, max_size=100), json_values),
    },
)
bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(json.dumps),
    plausible_objects.map(json.dumps),
    plausible_objects.map(lambda o: json.dumps(o).encode("utf-16")),
    st.integers(1, 40_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 40_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.text(max_size=200),
)


class TestBodyProperties:
    @fuzz(900)
    @given(
        route=st.sampled_from(UNSAFE_ROUTES),
        body=bodies,
        content_type=content_types,
        token_in=st.sampled_from(["header", "body", "none"]),
    )
    def test_any_body_to_any_unsafe_route(
        self,
        fuzz_app: Flask,
        route: tuple[str, str, str],
        body: Any,
        content_type: str,
        token_in: str,
    ) -> None:
        tried("body x content type x unsafe route")
        method, path, template = route
        visitor = connected_visitor(fuzz_app)
        headers = dict(visitor.headers()) if token_in == "header" else {}
        if token_in == "body":
            body = with_body_token(body, visitor.token or "")
        if content_type:
            headers["Content-Type"] = content_type
        response = visitor.client.open(path, method=method, data=body, headers=headers)
        check_answer(method, template, response)

    @fuzz(400)
    @given(symbol=st.text(max_size=40))
    def test_any_symbol_in_the_delete_path(self, fuzz_app: Flask, symbol: str) -> None:
        tried("DELETE /api/watchlist/{arbitrary}")
        visitor = connected_visitor(fuzz_app)
        path = "/api/watchlist/" + quote(symbol, safe="")
        response = visitor.client.delete(path, headers=visitor.headers())
        if response.status_code == 308:
            # Werkzeug's routing sends "/api/watchlist/" and doubled slashes to the
            # canonical URL; a redirect within the API, not an error.
            assert response.headers["Location"].startswith(
                ("/api/watchlist", "http://localhost/api/")
            )
            return
        check_answer("DELETE", "/api/watchlist/{symbol}", response)


def check_answer(method: str, template: str, response: Any) -> None:
    """Below 500; an error in the envelope; status and body as documented."""
    if response.status_code >= 500:
        TRIED["5xx"] += 1
    assert response.status_code < 500, (method, template, response.get_data()[:300])
    if response.status_code >= 400:
        assert_envelope_any(response.status_code, response.mimetype, response.json)
    assert_documented(template, method, response.status_code, response.mimetype, response.json)


def with_body_token(body: Any, token: str) -> Any:
    """``body`` with ``csrf_token`` added when it is a JSON object; else as it is."""
    try:
        value = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return body
    if not isinstance(value, dict):
        return body
    return json.dumps({**value, "csrf_token": token})
