"""The store contract, run against every store (memory, SQLite, Redis)."""

from __future__ import annotations

import json
import threading

import pytest

from indian_dashboard.stores import (
    Refresh,
    SessionExists,
    SessionGone,
    SessionRecord,
    SessionStore,
    Touch,
)

NOW = 1_700_000_000.25
IDLE = 600.0
ABSOLUTE = 3600.0


def make_record(key: str = "k1", now: float = NOW, **data: str) -> SessionRecord:
    return SessionRecord(
        key=key,
        created_at=now,
        last_activity=now,
        absolute_at=now + ABSOLUTE,
        expires_at=now + IDLE,
        csrf_secret="csrf-secret",
        authenticated=True,
        data=dict(data),
    )


class TestStoreContract:
    def test_unknown_key_reads_as_none(self, store: SessionStore) -> None:
        assert store.get("nobody", NOW) is None

    def test_created_record_reads_back_exactly(self, store: SessionStore) -> None:
        record = make_record(broker='"kite"', watchlist='["TCS"]')
        store.create(record)
        got = store.get("k1", NOW + 1)
        assert got == record

    def test_create_refuses_a_taken_key(self, store: SessionStore) -> None:
        store.create(make_record(broker='"kite"'))
        with pytest.raises(SessionExists):
            store.create(make_record(broker='"evil"'))
        got = store.get("k1", NOW)
        assert got is not None and got.data == {"broker": '"kite"'}

    def test_update_writes_only_named_keys(self, store: SessionStore) -> None:
        store.create(make_record(a='"1"', b='"2"', c='"3"'))
        assert store.update("k1", NOW + 1, {"a": '"A"', "c": None})
        got = store.get("k1", NOW + 1)
        assert got is not None and got.data == {"a": '"A"', "b": '"2"'}

    def test_update_with_touch_moves_activity(self, store: SessionStore) -> None:
        store.create(make_record())
        assert store.update("k1", NOW + 100, {}, Touch(NOW + 100, NOW + 100 + IDLE))
        got = store.get("k1", NOW + 100)
        assert got is not None
        assert (got.last_activity, got.expires_at) == (NOW + 100, NOW + 100 + IDLE)
        # Alive past the first deadline because of the touch.
        assert store.get("k1", NOW + IDLE + 50) is not None

    def test_update_never_resurrects_a_deleted_session(self, store: SessionStore) -> None:
        store.create(make_record(a='"1"'))
        store.delete("k1")
        assert not store.update("k1", NOW + 1, {"a": '"late"'}, Touch(NOW + 1, NOW + 1 + IDLE))
        assert store.get("k1", NOW + 1) is None

    def test_update_of_expired_session_writes_nothing(self, store: SessionStore) -> None:
        store.create(make_record())
        assert not store.update("k1", NOW + IDLE, {"a": '"late"'})
        assert store.get("k1", NOW + IDLE) is None

    def test_expired_record_reads_as_none_and_stays_gone(self, store: SessionStore) -> None:
        store.create(make_record())
        assert store.get("k1", NOW + IDLE - 0.5) is not None
        assert store.get("k1", NOW + IDLE) is None
        # Even read with an earlier clock afterwards, it was removed.
        assert store.get("k1", NOW + 1) is None

    def test_refresh_due_records_activity_in_the_read(self, store: SessionStore) -> None:
        store.create(make_record())
        got = store.get("k1", NOW + 30, Refresh(1.0, IDLE))
        assert got is not None and got.last_activity == NOW + 30
        assert got.expires_at == NOW + 30 + IDLE
        again = store.get("k1", NOW + 30)
        assert again is not None and again.last_activity == NOW + 30

    def test_refresh_not_due_leaves_the_stamp(self, store: SessionStore) -> None:
        store.create(make_record())
        got = store.get("k1", NOW + 0.5, Refresh(1.0, IDLE))
        assert got is not None and got.last_activity == NOW
        again = store.get("k1", NOW + 0.5)
        assert again is not None and again.last_activity == NOW

    def test_refresh_never_passes_the_absolute_lifetime(self, store: SessionStore) -> None:
        store.create(make_record())
        now = NOW
        while now + 500 < NOW + ABSOLUTE:
            now += 500
            got = store.get("k1", now, Refresh(1.0, IDLE))
            assert got is not None
        assert got.expires_at == NOW + ABSOLUTE
        assert store.get("k1", NOW + ABSOLUTE, Refresh(1.0, IDLE)) is None

    def test_update_value_replaces_and_removes(self, store: SessionStore) -> None:
        store.create(make_record(n="1"))
        assert store.update_value("k1", "n", NOW, lambda old: str(int(old or "0") + 1)) == "2"
        assert store.update_value("k1", "fresh", NOW, lambda old: "x" if old is None else "y") == (
            "x"
        )
        assert store.update_value("k1", "n", NOW, lambda old: None) is None
        got = store.get("k1", NOW)
        assert got is not None and got.data == {"fresh": "x"}

    def test_update_value_of_gone_session_raises(self, store: SessionStore) -> None:
        with pytest.raises(SessionGone):
            store.update_value("nobody", "n", NOW, lambda old: "1")
        store.create(make_record())
        with pytest.raises(SessionGone):
            store.update_value("k1", "n", NOW + IDLE, lambda old: "1")

    def test_update_value_error_in_fn_writes_nothing(self, store: SessionStore) -> None:
        store.create(make_record(n="1"))

        def boom(old: str | None) -> str:
            raise ValueError("refused")

        with pytest.raises(ValueError):
            store.update_value("k1", "n", NOW, boom)
        got = store.get("k1", NOW)
        assert got is not None and got.data == {"n": "1"}

    def test_delete_is_idempotent(self, store: SessionStore) -> None:
        store.create(make_record())
        store.delete("k1")
        store.delete("k1")
        store.delete("never-there")
        assert store.get("k1", NOW) is None

    def test_purge_leaves_live_records(self, store: SessionStore) -> None:
        store.create(make_record("old", now=NOW - IDLE - 1))
        store.create(make_record("live"))
        removed = store.purge_expired(NOW)
        assert removed in (0, 1)  # 0 where the store expires keys itself
        assert store.get("old", NOW) is None
        assert store.get("live", NOW) is not None

    def test_concurrent_updates_of_one_key_lose_nothing(self, store: SessionStore) -> None:
        store.create(make_record(n="0"))
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
        assert got is not None and got.data["n"] == str(threads * per_thread)

    def test_concurrent_writes_of_different_keys_keep_all(self, store: SessionStore) -> None:
        store.create(make_record())
        names = [f"key{i}" for i in range(20)]
        barrier = threading.Barrier(len(names))

        def write(name: str) -> None:
            barrier.wait()
            touch = Touch(NOW + 1, NOW + 1 + IDLE)
            assert store.update("k1", NOW + 1, {name: json.dumps(name)}, touch)

        runners = [threading.Thread(target=write, args=(n,)) for n in names]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        got = store.get("k1", NOW + 1)
        assert got is not None
        assert got.data == {name: json.dumps(name) for name in names}
