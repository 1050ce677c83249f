"""The demo accounts and apps (``make demo`` and the tests sign in with these)."""

from __future__ import annotations

from dataclasses import dataclass

from .state import Account, App, Emulator

#: One trader per broker, plus a second Kite one (the "victim" of the typed-id attack).
ACCOUNTS = (
    Account("kite", "ZD1234", "demo-kite", "Asha Rao"),
    Account("kite", "ZV9999", "demo-victim", "Vikram Iyer"),
    Account("upstox", "UP1234", "demo-upstox", "Ravi Kumar"),
    Account("fyers", "XF1234", "demo-fyers", "Meera Shah"),
    Account("angelone", "A123456", "", "Kabir Das", pin="1234", totp_secret="JBSWY3DPEHPK3PXP"),
    Account("dhan", "1000000001", "demo-dhan", "Neha Gupta"),
)
#: A Dhan access token "made in Dhan Web" for the demo trader.
DHAN_WEB_TOKEN = "dhan-web-token-demo"


@dataclass(frozen=True)
class DemoApps:
    """The apps a trader would register, one per broker, for one dashboard origin."""

    kite: App
    upstox: App
    fyers: App
    angelone: App
    dhan: App


def callback(origin: str, broker: str) -> str:
    return f"{origin.rstrip('/')}/api/broker/{broker}/callback"


def install(state: Emulator, origin: str, *, fixed: bool = True) -> DemoApps:
    """Add the demo accounts and register demo apps for the dashboard at ``origin``.

    ``fixed`` gives the README's keys and secrets; otherwise they are made up
    (tests register one set per dashboard origin).
    """
    for account in ACCOUNTS:
        state.add_account(account)
    state.issue_token("dhan", "1000000001", "web", value=DHAN_WEB_TOKEN)

    def app(broker: str, key: str, secret: str) -> App:
        if fixed:
            return state.add_app(broker, callback(origin, broker), key=key, secret=secret)
        return state.add_app(broker, callback(origin, broker))

    return DemoApps(
        kite=app("kite", "demo-kite-key", "demo-kite-secret"),
        upstox=app("upstox", "demo-upstox-key", "demo-upstox-secret"),
        fyers=app("fyers", "DEMOAPP-100", "demo-fyers-secret"),
        angelone=app("angelone", "demo-angel-key", "unused"),
        dhan=app("dhan", "demo-dhan-app", "demo-dhan-secret"),
    )
