"""The store contract, run against every store by the ``store`` fixture."""

from __future__ import annotations

import json
import threading

import pytest
from flask_session_guard.settings import RedisSettings
from flask_session_guard.stores import (
    Refresh,
    SessionExists,
    SessionGone,
    SessionRecord,
    SessionStore,
    StoreUnavailable,
    Touch,
    open_store,
)

from .redis_server import RedisServer

NOW = 1_700_000_000.0


def live(store: SessionStore, key: str, now: float) -> SessionRecord | None:
    """The record if the store holds it live: expired ones may be returned, never live."""
    record = store.get(key, now)
    return record if record is not None and record.live(now) else None


def make_record(key: str = "k1", *, now: float = NOW, idle: float = 100.0) -> SessionRecord:
    return SessionRecord(
        key=key,
        created_at=now,
        last_activity=now,
        absolute_at=now + 1000,
        expires_at=now + idle,
        csrf_secret="secret",
        authenticated=True,
        data={"broker": '"kite"', "n": "1"},
    )


class TestStoreContract:
    def test_store_is_a_session_store(self, store: SessionStore) -> None:
        assert isinstance(store, SessionStore)

    def test_ping_answers_and_changes_nothing(self, store: SessionStore) -> None:
        store.create(make_record())
        store.ping()
        assert store.count_live(NOW) == 1
        assert store.get("k1", NOW) == make_record()

    def test_created_record_reads_back(self, store: SessionStore) -> None:
        store.create(make_record())
        got = store.get("k1", NOW + 1)
        assert got == make_record()

    def test_unknown_key_reads_none_and_creates_no_record(self, store: SessionStore) -> None:
        assert store.get("nope", NOW) is None
        assert store.update("nope", NOW, {"a": "1"}) is False
        assert store.get("nope", NOW) is None

    def test_create_refuses_a_taken_key(self, store: SessionStore) -> None:
        store.create(make_record())
        with pytest.raises(SessionExists):
            store.create(make_record())

    def test_expired_record_is_not_live(self, store: SessionStore) -> None:
        store.create(make_record(idle=100))
        assert live(store, "k1", NOW + 99.9) is not None
        assert live(store, "k1", NOW + 100) is None

    def test_update_writes_only_named_keys(self, store: SessionStore) -> None:
        store.create(make_record())
        assert store.update("k1", NOW, {"n": "2", "new": '"x"'})
        assert store.update("k1", NOW, {"broker": None})
        got = store.get("k1", NOW)
        assert got is not None
        assert got.data == {"n": "2", "new": '"x"'}

    def test_update_with_touch_moves_expiry(self, store: SessionStore) -> None:
        store.create(make_record())
        assert store.update("k1", NOW + 50, {}, Touch(NOW + 50, NOW + 150))
        got = store.get("k1", NOW + 120)
        assert got is not None
        assert (got.last_activity, got.expires_at) == (NOW + 50, NOW + 150)

    def test_update_never_resurrects_a_deleted_record(self, store: SessionStore) -> None:
        store.create(make_record())
        store.delete("k1")
        assert store.update("k1", NOW, {"n": "3"}, Touch(NOW, NOW + 100)) is False
        assert store.get("k1", NOW) is None

    def test_update_never_revives_an_expired_record(self, store: SessionStore) -> None:
        store.create(make_record(idle=10))
        assert store.update("k1", NOW + 11, {}, Touch(NOW + 11, NOW + 111)) is False
        assert live(store, "k1", NOW + 12) is None
        assert store.get("k1", NOW + 11, Refresh(0, 100)) in (None, make_record(idle=10))

    def test_one_value_write_checks_liveness_too(self, store: SessionStore) -> None:
        """The commonest write (one value, no activity stamp) refuses a dead session."""
        store.create(make_record(key="gone"))
        store.delete("gone")
        store.create(make_record(key="idle", idle=10))
        store.create(make_record(key="revoked"))
        store.revoke("revoked", NOW)
        for key, now in (("gone", NOW), ("idle", NOW + 10), ("revoked", NOW)):
            assert store.update(key, now, {"n": "9"}) is False, key
        assert store.get("gone", NOW) is None
        idle = store.get("idle", NOW)
        revoked = store.get("revoked", NOW)
        assert idle is not None and revoked is not None
        assert idle.data["n"] == revoked.data["n"] == "1"
        store.create(make_record(key="alive"))
        assert store.update("alive", NOW, {"n": "9"}) is True

    def test_delete_is_idempotent(self, store: SessionStore) -> None:
        store.create(make_record())
        store.delete("k1")
        store.delete("k1")
        assert store.get("k1", NOW) is None

    def test_update_value_is_read_modify_write(self, store: SessionStore) -> None:
        store.create(make_record())
        assert store.update_value("k1", "n", NOW, lambda old: str(int(old or "0") + 1)) == "2"
        assert store.update_value("k1", "fresh", NOW, lambda old: "7" if old is None else "x")
        got = store.get("k1", NOW)
        assert got is not None
        assert got.data["n"] == "2"
        assert got.data["fresh"] == "7"

    def test_update_value_none_removes_the_key(self, store: SessionStore) -> None:
        store.create(make_record())
        store.update_value("k1", "n", NOW, lambda old: None)
        got = store.get("k1", NOW)
        assert got is not None
        assert "n" not in got.data

    def test_update_value_on_a_gone_session_raises(self, store: SessionStore) -> None:
        with pytest.raises(SessionGone):
            store.update_value("nope", "n", NOW, lambda old: "1")

    def test_update_value_failure_writes_nothing(self, store: SessionStore) -> None:
        store.create(make_record())

        def boom(old: str | None) -> str:
            raise ValueError("refused")

        with pytest.raises(ValueError):
            store.update_value("k1", "n", NOW, boom)
        got = store.get("k1", NOW)
        assert got is not None
        assert got.data["n"] == "1"

    def test_refresh_records_activity_when_due(self, store: SessionStore) -> None:
        store.create(make_record(idle=100))
        refresh = Refresh(interval=5, idle_timeout=100)
        got = store.get("k1", NOW + 3, refresh)
        assert got is not None
        assert got.last_activity == NOW  # younger than the interval: no write
        got = store.get("k1", NOW + 60, refresh)
        assert got is not None
        assert (got.last_activity, got.expires_at) == (NOW + 60, NOW + 160)
        again = store.get("k1", NOW + 61)
        assert again is not None
        assert again.expires_at == NOW + 160

    def test_refresh_never_passes_the_absolute_lifetime(self, store: SessionStore) -> None:
        store.create(make_record(idle=100))
        refresh = Refresh(interval=0, idle_timeout=100)
        for t in range(50, 1000, 50):
            assert store.get("k1", NOW + t, refresh) is not None
        got = store.get("k1", NOW + 990, refresh)
        assert got is not None
        assert got.expires_at == NOW + 1000
        got = store.get("k1", NOW + 1000, refresh)
        assert got is None or (not got.live(NOW + 1000) and got.expires_at == NOW + 1000)

    def test_purge_removes_only_expired(self, store: SessionStore) -> None:
        store.create(make_record("old", idle=10))
        store.create(make_record("young", idle=100))
        removed = store.purge_expired(NOW + 50)
        assert removed in (0, 1)  # 0 where the store expires keys itself
        assert store.get("young", NOW + 50) is not None
        assert store.get("old", NOW + 50) is None

    def test_records_are_copies(self, store: SessionStore) -> None:
        record = make_record()
        store.create(record)
        record.data["n"] = "99"
        got = store.get("k1", NOW)
        assert got is not None
        got.data["n"] = "100"
        again = store.get("k1", NOW)
        assert again is not None
        assert again.data["n"] == "1"

    def test_revoked_record_stays_but_is_not_live(self, store: SessionStore) -> None:
        store.create(make_record())
        assert store.revoke("k1", NOW) is True
        assert store.revoke("k1", NOW) is False
        got = store.get("k1", NOW)
        assert got is not None and got.revoked and not got.live(NOW)
        assert store.update("k1", NOW, {"n": "2"}, Touch(NOW, NOW + 100)) is False
        with pytest.raises(SessionGone):
            store.update_value("k1", "n", NOW, lambda old: "3")
        assert store.get("k1", NOW, Refresh(0, 100)) == got

    def test_revoke_unknown_or_expired_is_false(self, store: SessionStore) -> None:
        assert store.revoke("nope", NOW) is False
        store.create(make_record(idle=10))
        assert store.revoke("k1", NOW + 20) is False

    def test_list_sessions_by_account(self, store: SessionStore) -> None:
        for i, account in enumerate(["kite:A", "kite:A", "dhan:B", None]):
            record = make_record(f"k{i}", now=NOW + i)
            record.account = account
            record.device = f"device {i}"
            store.create(record)
        mine = store.list_sessions(NOW + 10, account="kite:A")
        assert [r.key for r in mine] == ["k1", "k0"]  # newest first
        assert mine[0].device == "device 1" and mine[0].account == "kite:A"
        assert [r.key for r in store.list_sessions(NOW + 10, account="dhan:B")] == ["k2"]
        assert store.list_sessions(NOW + 10, account="nobody") == []
        assert len(store.list_sessions(NOW + 10)) == 4
        assert len(store.list_sessions(NOW + 10, limit=2)) == 2

    def test_index_follows_expiry_revocation_and_deletion(self, store: SessionStore) -> None:
        for i, idle in enumerate([10, 100, 100, 100]):
            record = make_record(f"k{i}", idle=idle)
            record.account = "kite:A"
            store.create(record)
        store.revoke("k1", NOW)
        store.delete("k2")
        assert [r.key for r in store.list_sessions(NOW + 20, account="kite:A")] == ["k3"]
        store.purge_expired(NOW + 200)
        assert store.list_sessions(NOW + 200, account="kite:A") == []

    def test_concurrent_updates_of_one_key_lose_nothing(self, store: SessionStore) -> None:
        store.create(make_record())
        threads, per_thread = 8, 25

        def work() -> None:
            for _ in range(per_thread):
                store.update_value("k1", "n", NOW, lambda old: str(int(old or "0") + 1))

        runners = [threading.Thread(target=work) for _ in range(threads)]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        got = store.get("k1", NOW)
        assert got is not None and got.data["n"] == str(1 + threads * per_thread)

    def test_concurrent_writes_of_different_keys_keep_all(self, store: SessionStore) -> None:
        store.create(make_record())
        names = [f"key{i}" for i in range(20)]
        barrier = threading.Barrier(len(names))

        def write(name: str) -> None:
            barrier.wait()
            assert store.update("k1", NOW + 1, {name: json.dumps(name)}, Touch(NOW + 1, NOW + 101))

        runners = [threading.Thread(target=write, args=(n,)) for n in names]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        got = store.get("k1", NOW + 1)
        assert got is not None
        assert got.data == {"broker": '"kite"', "n": "1", **{n: json.dumps(n) for n in names}}

    def test_times_survive_exactly(self, store: SessionStore) -> None:
        record = make_record(now=NOW + 0.123456789)
        store.create(record)
        assert store.get("k1", NOW) == record

    def test_revocation_keeps_its_reason(self, store: SessionStore) -> None:
        store.create(make_record("k1"))
        store.create(make_record("k2"))
        assert store.revoke("k1", NOW) is True
        assert store.revoke("k2", NOW, reason="session_limit") is True
        plain, limited = store.get("k1", NOW), store.get("k2", NOW)
        assert plain is not None and plain.revoked and plain.revoked_reason == "revoked"
        assert limited is not None and limited.revoked
        assert limited.revoked_reason == "session_limit"
        assert not limited.live(NOW)
        store.create(make_record("k3"))
        got = store.get("k3", NOW)
        assert got is not None and got.revoked_reason == "" and not got.revoked


class TestLiveCount:
    """``count_live``: exact after every kind of change (what each store must keep)."""

    def test_count_follows_create_revoke_delete_expiry_and_touch(self, store: SessionStore) -> None:
        assert store.count_live(NOW) == 0
        for i, idle in enumerate([10, 20, 100, 100, 100, 100]):
            store.create(make_record(f"k{i}", idle=idle))
        assert store.count_live(NOW) == 6
        store.revoke("k2", NOW)
        store.delete("k3")
        store.delete("k3")  # idempotent, and counted once
        assert store.count_live(NOW) == 4
        # k1 is touched before it expires: it lives on past its first expiry.
        assert store.update("k1", NOW + 5, {}, Touch(NOW + 5, NOW + 60))
        assert store.count_live(NOW + 15) == 3  # k0 expired
        assert store.count_live(NOW + 15) == 3  # counting again changes nothing
        assert store.count_live(NOW + 30) == 3  # k1 kept alive by its touch
        # k4 is kept alive by a read that records activity.
        read = store.get("k4", NOW + 50, Refresh(0, 100))
        assert read is not None and read.expires_at == NOW + 150
        assert store.count_live(NOW + 70) == 2  # k1 gone; k4, k5 live
        assert store.count_live(NOW + 120) == 1  # k5 gone; k4 touched
        assert store.count_live(NOW + 200) == 0
        store.create(make_record("k9", now=NOW + 200))
        assert store.count_live(NOW + 201) == 1

    def test_count_agrees_with_the_listing(self, store: SessionStore) -> None:
        for i in range(30):
            record = make_record(f"k{i:02d}", idle=10 + i)
            record.account = "kite:A" if i % 2 else None
            store.create(record)
        for i in range(0, 30, 7):
            store.revoke(f"k{i:02d}", NOW)
        for i in range(3, 30, 9):
            store.delete(f"k{i:02d}")
        for i in range(1, 30, 5):
            store.update(f"k{i:02d}", NOW + 5, {}, Touch(NOW + 5, NOW + 45))
        for later in (0, 12, 25, 33, 41, 47, 60):
            assert store.count_live(NOW + later) == len(store.list_sessions(NOW + later))

    def test_purged_records_are_not_counted(self, store: SessionStore) -> None:
        store.create(make_record("k1", idle=10))
        store.create(make_record("k2", idle=100))
        store.purge_expired(NOW + 20)
        assert store.count_live(NOW + 20) == 1


@pytest.mark.redis
def test_redis_ping_raises_store_unavailable_when_redis_is_down(own_redis: RedisServer) -> None:
    options = RedisSettings("session:", 2, 0.5, 0.5)
    store = open_store(own_redis.url, instance_path=".", redis=options)
    try:
        store.ping()
        own_redis.stop()
        with pytest.raises(StoreUnavailable):
            store.ping()
    finally:
        store.close()
