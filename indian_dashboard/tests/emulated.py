"""The broker emulator for the dashboard's tests: one per test process, on loopback.

It runs in a background thread of the pytest process, so test servers in
subprocesses reach it over real HTTP and tests can switch its faults.
"""

from __future__ import annotations

import atexit
import threading
from urllib.parse import urljoin, urlsplit

import httpx

from broker_emulator.demo import DemoApps, install
from broker_emulator.server import EmulatorServer
from broker_emulator.state import Account, Emulator

#: The test client's origin (Flask's test client is http://localhost).
TEST_CLIENT_ORIGIN = "http://localhost"
#: Kite traders the tests sign in as (password "password").
KITE_USERS = ("AB1234", "ZZ9", "PANEL1", "OFFER1", "VICTIM1", "ZP4821")
PASSWORD = "password"
#: A Dhan access token "made in Dhan Web": the quickest direct sign-in.
DHAN = {"client_id": "1100000001", "access_token": "dhan-test-token"}
#: More Dhan Web tokens some tests use (token -> client id).
DHAN_TOKENS = {"t": "ZZ9", "tok": "D1", "bob-token": "D1", "secret-token": "DH42"}

_lock = threading.Lock()
_server: EmulatorServer | None = None
_apps: dict[str, DemoApps] = {}


def emulator() -> EmulatorServer:
    """The process's emulator, started on first use (stopped at exit)."""
    global _server
    with _lock:
        if _server is None:
            state = Emulator()
            _apps[TEST_CLIENT_ORIGIN] = install(state, TEST_CLIENT_ORIGIN)
            for user in KITE_USERS:
                state.add_account(Account("kite", user, PASSWORD, f"Trader {user}"))
            for token, user in {DHAN["access_token"]: DHAN["client_id"], **DHAN_TOKENS}.items():
                state.add_account(Account("dhan", user, PASSWORD, f"Trader {user}"))
                state.issue_token("dhan", user, "web", 10 * 365 * 86400.0, value=token)
            _server = EmulatorServer(state).start()
            atexit.register(_server.stop)
        return _server


def dhan_account(user_id: str) -> dict[str, str]:
    """Dhan credentials of trader ``user_id`` with a Web-made token (made on first use)."""
    state = emulator().state
    token = f"dhan-token-{user_id}"
    if state.account("dhan", user_id) is None:
        state.add_account(Account("dhan", user_id, PASSWORD, f"Trader {user_id}"))
        state.issue_token("dhan", user_id, "web", 10 * 365 * 86400.0, value=token)
    return {"client_id": user_id, "access_token": token}


def apps_for(origin: str) -> DemoApps:
    """Apps registered with the emulator whose callbacks are on ``origin``."""
    state = emulator().state
    with _lock:
        if origin not in _apps:
            _apps[origin] = install(state, origin, fixed=False)
        return _apps[origin]


def kite_credentials(origin: str = TEST_CLIENT_ORIGIN) -> dict[str, str]:
    app = apps_for(origin).kite
    return {"api_key": app.key, "api_secret": app.secret}


def sign_in(
    redirect_url: str, user_id: str, password: str = PASSWORD, *, decision: str = "allow"
) -> str:
    """Do what a trader does at the broker's login page; return the callback URL it sends.

    Follows the broker's own redirects up to its login form, posts it, and
    returns where the broker sends the browser (the dashboard's callback).
    """
    root = emulator().url
    http = _browser()
    url = redirect_url
    for _ in range(5):
        answer = http.get(url)
        if answer.status_code != 302:
            break
        url = urljoin(url, answer.headers["Location"])
    assert answer.status_code == 200, answer.text
    posted = http.post(url, data={"user_id": user_id, "password": password, "decision": decision})
    assert posted.status_code == 302, posted.text
    location = posted.headers["Location"]
    assert not location.startswith(root), location
    return location


_http: httpx.Client | None = None


def _browser() -> httpx.Client:
    """One client for every sign-in (building one loads the CA bundle: slow)."""
    global _http
    with _lock:
        if _http is None:
            _http = httpx.Client(timeout=5, follow_redirects=False)
        return _http


def path_of(url: str) -> str:
    """``/path?query`` of ``url`` (for Flask's test client)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
