"""The store on Sentinel when the master changes while it is alive (SENTINEL FAILOVER).

The old master is demoted to a replica with the store's connections still open
to it: it refuses their writes (READONLY), those requests answer StoreUnavailable,
the connections are replaced and the next ones go to the promoted replica,
without a restart. Nothing written before is lost (a manual failover waits for
the replica to catch up).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask_session_guard.settings import RedisSettings
from flask_session_guard.stores import SessionRecord, StoreUnavailable, open_store

from .redis_topology import SERVICE, SentinelDeployment, wait_for

pytestmark = pytest.mark.redis


def test_demoted_master_is_left_for_the_promoted_one(tmp_path: Path) -> None:
    deployment = SentinelDeployment(tmp_path / "sentinel", replicas=1, appendonly=False)
    deployment.start()
    try:
        settings = RedisSettings.from_config({"SESSION_REDIS_SOCKET_TIMEOUT": 0.5})
        store = open_store(deployment.url(), instance_path=str(tmp_path), redis=settings)
        try:
            now = time.time()
            store.create(SessionRecord("before", now, now, now + 600, now + 600, "s", True, {}))
            old = deployment.master_address()
            with deployment.sentinel_client(deployment.sentinel_ports[0]) as sentinel:
                sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
            wait_for("the replica promoted", lambda: deployment.master_address() != old)
            # The Sentinels demote the old master when they next look at it (about
            # 10 s); do what they will do, now.
            new_host, new_port = deployment.master_address()
            deployment.server_on(old[1]).client(timeout=1).replicaof(new_host, new_port)
            refused = 0

            def written() -> bool:
                nonlocal refused
                try:
                    return store.update("before", time.time(), {"after": "1"})
                except StoreUnavailable:
                    refused += 1  # READONLY from the demoted master, then a new connection
                    return False

            wait_for("writes reach the promoted master", written, timeout=10)
            record = store.get("before", time.time())
            assert record is not None and record.data == {"after": "1"}
            promoted = deployment.server_on(deployment.master_address()[1])
            assert promoted.client().hget("session:{before}", "d:after") == "1"
            # At most one refused request per connection the store had open to it.
            assert refused <= settings.pool_size
        finally:
            store.close()
    finally:
        deployment.stop()
