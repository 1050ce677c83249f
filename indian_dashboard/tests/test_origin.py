"""Origin checks on unsafe requests: Origin, Referer and Fetch Metadata, trusted origins,
and which forwarded headers count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indian_dashboard.config import ConfigError

from .apps import HOST, HttpsClient, make_app
from .conftest import Visitor
from .test_session_api import assert_envelope


@pytest.fixture
def https_visitor(tmp_path: Path) -> Visitor:
    """A connected visitor of https://dash.example."""
    app = make_app(tmp_path, SESSION_TRUSTED_ORIGINS=["https://partner.example"])
    app.test_client_class = HttpsClient
    visitor = Visitor(app.test_client())
    visitor.connect()
    return visitor


def post_extend(visitor: Visitor, **headers: str) -> Any:
    return visitor.client.post(
        "/api/session/extend",
        headers={**visitor.headers(), **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


class TestOrigin:
    @pytest.mark.parametrize(
        "origin",
        [
            "https://dash.example.evil.com",
            "https://evildash.example",
            "https://dash.example:8443",
            "http://dash.example",
            "https://dash.example@evil.com",
            "null",
            "https://dash.example/",
            "garbage",
        ],
    )
    def test_look_alike_origins_are_refused(self, https_visitor: Visitor, origin: str) -> None:
        response = post_extend(https_visitor, Origin=origin)
        assert_envelope(response, 403, "origin_mismatch")
        assert "Origin" in response.json["message"]

    @pytest.mark.parametrize(
        "origin", ["https://dash.example", "https://DASH.example:443", "https://partner.example"]
    )
    def test_own_and_trusted_origins_pass(self, https_visitor: Visitor, origin: str) -> None:
        assert post_extend(https_visitor, Origin=origin).status_code == 200

    def test_fetch_metadata_cross_site_is_refused(self, https_visitor: Visitor) -> None:
        response = post_extend(https_visitor, Sec_Fetch_Site="cross-site", Origin=HOST)
        assert_envelope(response, 403, "origin_mismatch")

    def test_fetch_metadata_same_site_is_refused_unless_configured(self, tmp_path: Path) -> None:
        for allow, status in ((False, 403), (True, 200)):
            app = make_app(tmp_path, SESSION_CSRF_ALLOW_SAME_SITE=allow)
            visitor = Visitor(app.test_client())
            visitor.connect()
            response = post_extend(visitor, Sec_Fetch_Site="same-site")
            assert response.status_code == status

    @pytest.mark.parametrize("site", ["same-origin", "none"])
    def test_fetch_metadata_same_origin_passes(self, https_visitor: Visitor, site: str) -> None:
        assert post_extend(https_visitor, Sec_Fetch_Site=site).status_code == 200

    def test_referer_of_another_origin_is_refused_on_https(self, https_visitor: Visitor) -> None:
        response = post_extend(https_visitor, Referer="https://evil.com/page")
        assert_envelope(response, 403, "origin_mismatch")
        assert post_extend(https_visitor, Referer=f"{HOST}/dashboard").status_code == 200

    def test_no_origin_headers_still_needs_the_token(self, https_visitor: Visitor) -> None:
        response = https_visitor.client.post("/api/session/extend")
        assert_envelope(response, 403, "csrf_missing")

    def test_forwarded_host_is_ignored_without_a_trusted_proxy(
        self, https_visitor: Visitor
    ) -> None:
        response = post_extend(
            https_visitor, Origin="https://evil.com", X_Forwarded_Host="evil.com"
        )
        assert_envelope(response, 403, "origin_mismatch")

    def test_behind_a_trusted_proxy_the_origin_is_the_configured_one(self, tmp_path: Path) -> None:
        app = make_app(
            tmp_path, SESSION_TRUSTED_PROXIES=1, SESSION_PUBLIC_ORIGIN="https://public.example"
        )
        visitor = Visitor(app.test_client())
        visitor.connect()
        response = post_extend(
            visitor,
            Origin="https://public.example",
            X_Forwarded_Host="internal:8000",
            X_Forwarded_Proto="https",
        )
        assert response.status_code == 200
        # The forwarded host is never this site's origin, whatever the proxy says.
        forged = post_extend(visitor, Origin="https://evil.com", X_Forwarded_Host="evil.com")
        assert_envelope(forged, 403, "origin_mismatch")

    def test_public_origin_setting_wins_over_the_request(self, tmp_path: Path) -> None:
        app = make_app(tmp_path, SESSION_PUBLIC_ORIGIN="https://public.example")
        visitor = Visitor(app.test_client())
        visitor.connect()
        assert post_extend(visitor, Origin="http://localhost").status_code == 403
        assert post_extend(visitor, Origin="https://public.example").status_code == 200

    @pytest.mark.parametrize(
        "origin", ["dash.example", "https://dash.example/path", "null", "ftp://x", ""]
    )
    def test_bad_trusted_origins_stop_start_up(self, tmp_path: Path, origin: str) -> None:
        with pytest.raises(ConfigError, match="SESSION_TRUSTED_ORIGINS"):
            make_app(tmp_path, SESSION_TRUSTED_ORIGINS=[origin or " "])
