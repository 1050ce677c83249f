"""``/api/broker``: sign in with a broker (which starts the session), status, disconnect.

``POST /connect`` starts the broker's own sign-in (:mod:`indian_dashboard.brokers`):
a redirect broker answers where to send the browser, and the broker sends it
back to ``GET /<name>/callback``; a direct broker answers with the session at
once. Either way the session's account is the id the broker confirmed. No
answer, log line or URL we build carries a credential or a token.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask.blueprints import BlueprintSetupState
from flask_session_guard import (
    ApiError,
    BadRequest,
    get_session_manager,
    json_object,
    require_csrf,
    require_session,
    session_ended,
)
from werkzeug.wrappers import Response as BaseResponse

from .. import brokers as broker_registry
from ..brokers import ADAPTERS, Broker, BrokerAuthFailed, BrokerUnavailable, pending
from ..brokers.base import Context, Login, Redirect

log = logging.getLogger(__name__)
security_log = logging.getLogger("indian_dashboard.security")

bp = Blueprint("broker_api", __name__, url_prefix="/api/broker")

#: Each broker's ways to sign in: the credential fields of each (all non-empty strings).
BROKERS: dict[str, list[list[str]]] = {
    name: [list(v.fields) for v in adapter.variants] for name, adapter in ADAPTERS.items()
}
#: Display names for the pages.
BROKER_NAMES = {name: adapter.display_name for name, adapter in ADAPTERS.items()}
#: The longest credential value accepted, in characters.
MAX_FIELD = 512
#: Brokers' keys, ids, PINs and tokens are printable ASCII (they travel in HTTP headers).
CREDENTIAL_PATTERN = r"^[ -~]*[!-~][ -~]*$"
_CREDENTIAL_RE = re.compile(CREDENTIAL_PATTERN)
#: Where the sealed broker token (and what later calls need) is kept in the session.
KEPT_KEY = "credentials"


class LoginNotPending(Exception):
    """A callback with no pending login for this browser, or the wrong state: a page, 400."""

    code = 400
    description = (
        "This sign-in cannot be finished: it was already used, it expired, or it was "
        "started in another browser. Connect again."
    )


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _credentials(adapter: Broker, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise BadRequest("credentials must be a JSON object.")
    variant = adapter.variant(set(raw))
    if variant is None:
        ways = " or ".join(", ".join(v.fields) for v in adapter.variants)
        raise BadRequest(f"{adapter.display_name} needs these credential fields: {ways}.")
    for name in variant.fields:
        value = raw[name]
        # Name the field, never echo its value.
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"Credential field {name} must be a non-empty string.")
        if len(value) > MAX_FIELD:
            raise BadRequest(f"Credential field {name} is longer than {MAX_FIELD} characters.")
        if not _CREDENTIAL_RE.match(value):
            raise BadRequest(f"Credential field {name} must be printable ASCII.")
    return {name: raw[name].strip() for name in variant.fields}


def callback_url(name: str) -> str:
    """The URL a trader registers with the broker: the public origin + our callback path."""
    origin = current_app.config.get("SESSION_PUBLIC_ORIGIN") or request.host_url
    return f"{origin.rstrip('/')}/api/broker/{name}/callback"


def _context(name: str = "", state: str = "") -> Context:
    found = broker_registry.brokers()
    return Context(
        settings=found.settings,
        http=found.http,
        now=get_session_manager().clock.now(),
        callback_url=callback_url(name) if name else "",
        state=state,
    )


@bp.post("/connect")
@require_csrf
def connect() -> Response:
    """Start the broker's sign-in: a redirect to its login page, or (direct) the session."""
    body = json_object()
    name = body.get("broker")
    if not isinstance(name, str) or name not in ADAPTERS:
        raise BadRequest(f"broker must be one of: {', '.join(ADAPTERS)}.")
    adapter = ADAPTERS[name]
    credentials = _credentials(adapter, body.get("credentials"))
    variant = adapter.variant(set(credentials))
    assert variant is not None
    typed_id = credentials.get(variant.typed_id) if variant.typed_id else None
    state = secrets.token_urlsafe(32)
    started = adapter.start(credentials, _context(name, state))
    if isinstance(started, Redirect):
        # Kept for this browser only (its pre-login session), sealed, for 10 minutes.
        pending.keep(name, state, typed_id, started.pending)
        return jsonify(
            status="redirect",
            message=f"Continue at {adapter.display_name}",
            redirect_url=started.url,
        )
    others = _begin(adapter, started, typed_id)
    manager = get_session_manager()
    return jsonify(
        status="success",
        message=f"Connected to {adapter.display_name}",
        broker=_broker_status(),
        session=manager.get_session_info(),
        csrf_token=manager.get_csrf_token(),
        other_sessions=others,
    )


@bp.get("/<name>/callback")
def callback(name: str) -> BaseResponse:
    """Where the broker sends the browser back: finish the sign-in, then go to ``/``.

    Any failure lands on the connect page with the reason (never JSON, never a 500).
    """
    try:
        adapter = ADAPTERS.get(name)
        if adapter is None:
            raise LoginNotPending()
        found = pending.take()
        if found is None or found.get("broker") != name:
            security_log.info("broker callback refused: no pending %s login", name)
            raise LoginNotPending()
        if adapter.returns_state:
            got = adapter.returned_state(request.args)
            if not got or not hmac.compare_digest(got.encode(), str(found["state"]).encode()):
                security_log.info("broker callback refused: wrong state (%s)", name)
                raise LoginNotPending()
        login = adapter.finish(found["secrets"], request.args.to_dict(), _context(name))
        others = _begin(adapter, login, found.get("typed_id"))
    except (ApiError, LoginNotPending) as err:
        return connect_page(err.description, err.code or 400)
    # The dashboard offers to end the account's other sessions (ASVS 3.3.3).
    return redirect(f"/#other-sessions={others}" if others else "/", code=303)


def _begin(adapter: Broker, login: Login, typed_id: str | None) -> int:
    """Start the session for a confirmed login; returns how many other sessions it has."""
    manager = get_session_manager()
    if typed_id is not None and typed_id.casefold() != login.user_id.casefold():
        security_log.info("broker sign-in refused: typed client id differs (%s)", adapter.name)
        _quietly_log_out(adapter, login.kept)
        raise BrokerAuthFailed(
            f"{adapter.display_name} signed in a different client than the client ID you "
            "typed; check it and connect again."
        )
    if login.expires_at is not None and login.expires_at <= manager.clock.now().timestamp():
        raise BrokerAuthFailed(f"{adapter.display_name} gave a token that has already expired.")
    account = f"{adapter.name}:{login.user_id}"
    manager.create_session(
        user_data={"broker": adapter.name}, account=account, absolute_expires_at=login.expires_at
    )
    manager.store_user_data("client_id", login.user_id)
    manager.store_user_data(KEPT_KEY, login.kept, sensitive=True)
    # The new session is written when the answer is saved, so these are the others.
    return len(manager.list_sessions(account))


def _quietly_log_out(adapter: Broker, kept: Any) -> None:
    """Call the broker's logout; the local session ends whatever it answers."""
    if not isinstance(kept, dict):
        return
    try:
        adapter.logout(kept, _context())
    except (BrokerAuthFailed, BrokerUnavailable, KeyError) as err:
        log.info("%s logout did not complete: %s", adapter.display_name, type(err).__name__)


@bp.get("/status")
@require_session
def status() -> Response:
    """Which broker account this session is connected to."""
    return jsonify(status="success", connected=True, broker=_broker_status())


@bp.post("/disconnect")
@require_session
@require_csrf
def disconnect() -> Response:
    """End the session (and the broker's token where it has a logout: ``session_ended``)."""
    get_session_manager().clear_session()
    return jsonify(status="success", message="Disconnected")


def _log_out_of_broker(app: Flask, *, data: dict[str, Any], **_: Any) -> None:
    """A logout (``/api/session/clear``, ``/api/broker/disconnect``, ``session.clear()``)
    ends the broker's access token too."""
    name = data.get("broker")
    adapter = ADAPTERS.get(name) if isinstance(name, str) else None
    if adapter is not None:
        _quietly_log_out(adapter, data.get(KEPT_KEY))


@bp.record_once
def _connect_logout(state: BlueprintSetupState) -> None:
    # Per app, and through the library's signal: no hook on every request.
    session_ended.connect(_log_out_of_broker, sender=state.app)


def _broker_status() -> dict[str, Any]:
    manager = get_session_manager()
    name = manager.get_user_data("broker")
    return {
        "name": name,
        "display_name": BROKER_NAMES.get(name, name),
        "client_id": manager.get_user_data("client_id"),
    }


def connect_page(error: str | None = None, status: int = 200) -> Response:
    """The connect page: each broker's fields and callback URL, and ``error`` if given."""
    page = render_template(
        "connect.html",
        brokers={
            name: {
                "name": adapter.display_name,
                "variants": [{"fields": list(v.fields), "flow": v.flow} for v in adapter.variants],
                "callback_url": callback_url(name),
            }
            for name, adapter in ADAPTERS.items()
        },
        broker_names=BROKER_NAMES,
        error=error,
    )
    response = make_response(page, status)
    # The page may follow a broker's redirect: never cached, never a Referer to elsewhere.
    response.headers["Cache-Control"] = "no-store"
    return response
