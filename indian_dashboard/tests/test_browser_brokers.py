"""Each broker's sign-in in Chromium, through the connect page and the emulator's pages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from broker_emulator.demo import ACCOUNTS

from .emulated import apps_for, emulator

pytestmark = pytest.mark.browser

DEMO = {a.broker: a for a in reversed(ACCOUNTS)}
CONFIG = {"pollInterval": 30, "warningThreshold": 20}


def fill_connect_form(page: Page, broker: str, fields: dict[str, str], variant: str = "") -> None:
    page.get_by_label("Broker", exact=True).select_option(broker)
    if variant:
        page.get_by_label("Sign in with").select_option(label=variant)
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Connect").click()


def sign_in_at_broker(page: Page, broker: str, *, allow: bool = True) -> None:
    """The emulator's login page: it says it is a demo, then the trader signs in."""
    page.wait_for_selector("text=Demo broker: a local emulator")
    account = DEMO[broker]
    page.get_by_label("User ID").fill(account.user_id)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Allow" if allow else "Deny").click()


def redirect_fields(broker: str, server_url: str) -> dict[str, str]:
    apps = apps_for(server_url)
    if broker == "kite":
        return {"API key": apps.kite.key, "API secret": apps.kite.secret}
    if broker == "upstox":
        return {"API key": apps.upstox.key, "API secret": apps.upstox.secret}
    if broker == "fyers":
        return {"App ID": apps.fyers.key, "Secret key": apps.fyers.secret}
    return {
        "Client ID": DEMO["dhan"].user_id,
        "App ID": apps.dhan.key,
        "App secret": apps.dhan.secret,
    }


@pytest.mark.parametrize("broker", ["kite", "upstox", "fyers", "dhan"])
def test_redirect_sign_in_end_to_end(servers: Any, people: Any, broker: str) -> None:
    server = servers(SESSION_TIMEOUT="60")
    person = people(server, CONFIG)
    page = person.open(ready=False).page
    page.get_by_label("Broker", exact=True).select_option(broker)
    callback = f"{server.url}/api/broker/{broker}/callback"
    assert page.locator("#callback-url").text_content() == callback
    fill_connect_form(page, broker, redirect_fields(broker, server.url))
    page.wait_for_url(emulator().url + "/**")
    sign_in_at_broker(page, broker)
    page.wait_for_selector("#watchlist-form")
    assert page.url.rstrip("/") == server.url
    assert page.locator("#client-id").text_content() == DEMO[broker].user_id
    secret = next(v for k, v in redirect_fields(broker, server.url).items() if "ecret" in k)
    assert all(secret not in seen.url for seen in person.seen)


def test_angel_one_direct_sign_in(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="60")
    page = people(server, CONFIG).open(ready=False).page
    account = DEMO["angelone"]
    fill_connect_form(
        page,
        "angelone",
        {
            "API key": apps_for(server.url).angelone.key,
            "Client code": account.user_id,
            "MPIN": account.pin,
            "TOTP code (6 digits)": emulator().state.current_totp(account),
        },
    )
    page.wait_for_selector("#watchlist-form")
    assert page.locator("#client-id").text_content() == account.user_id


def test_dhan_access_token_variant(servers: Any, people: Any) -> None:
    page = people(servers(SESSION_TIMEOUT="60"), CONFIG).open(ready=False).page
    fill_connect_form(
        page,
        "dhan",
        {"Client ID": "1000000001", "Access token": "dhan-web-token-demo"},
        variant="Access token (this form)",
    )
    page.wait_for_selector("#watchlist-form")
    assert page.locator("#client-id").text_content() == "1000000001"


def test_denied_consent_lands_on_the_connect_page(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="60")
    page = people(server, CONFIG).open(ready=False).page
    fill_connect_form(page, "upstox", redirect_fields("upstox", server.url))
    sign_in_at_broker(page, "upstox", allow=False)
    page.wait_for_selector("#connect-form")
    assert "Upstox refused the sign-in" in (page.locator("#connect-error").text_content() or "")
    # The broker's code and our state are gone from the address bar.
    page.wait_for_function("() => location.pathname === '/' && location.search === ''")


def test_wrong_totp_says_why(servers: Any, people: Any) -> None:
    server = servers(SESSION_TIMEOUT="60")
    page = people(server, CONFIG).open(ready=False).page
    fill_connect_form(
        page,
        "angelone",
        {
            "API key": apps_for(server.url).angelone.key,
            "Client code": DEMO["angelone"].user_id,
            "MPIN": DEMO["angelone"].pin,
            "TOTP code (6 digits)": "000000"
            if emulator().state.current_totp(DEMO["angelone"]) != "000000"
            else "111111",
        },
    )
    page.wait_for_function(
        "() => document.getElementById('connect-error').textContent.includes('Invalid totp')"
    )
