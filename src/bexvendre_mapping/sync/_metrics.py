"""Prometheus metrics of ``bexvendre run`` (the ``metrics`` extra: ``prometheus-client``).

Served at ``/metrics`` by ``bexvendre run --metrics-port N``:

- ``bexvendre_records_total{flow, result}``: records handled, by result (``done``,
  ``skipped``, ``quarantined``, ``failed``, ...);
- ``bexvendre_runs_total{flow, result}``: runs, by result (``ok``, ``quarantined``,
  ``failed``, ``locked``);
- ``bexvendre_run_duration_seconds{flow}``: how long the flow's last run took;
- ``bexvendre_last_run_timestamp_seconds{flow}``: when it ended (Unix time);
- ``bexvendre_lag_seconds{flow}``: how far behind the flow is (orders: now minus the cursor;
  the others: the time since their last run without a failure);
- ``bexvendre_quarantine_size{flow}``: records in quarantine (orders).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["INSTALL_HINT", "Metrics"]

INSTALL_HINT = 'pip install "bexvendre-mapping[metrics]"'


class Metrics:
    """The daemon's counters and gauges, in a registry of their own.

    Raises:
        ImportError: ``prometheus-client`` is not installed; the message says what to install.
    """

    def __init__(self) -> None:
        try:
            import prometheus_client  # noqa: PLC0415 - an optional extra
        except ImportError:
            msg = f"--metrics-port needs prometheus-client: {INSTALL_HINT}"
            raise ImportError(msg) from None
        self._prometheus: Any = prometheus_client
        self.registry = prometheus_client.CollectorRegistry()
        flow = ["flow"]
        self.records = prometheus_client.Counter(
            "bexvendre_records",
            "Records handled by the flows, by result",
            [*flow, "result"],
            registry=self.registry,
        )
        self.runs = prometheus_client.Counter(
            "bexvendre_runs",
            "Runs of the flows, by result (ok, quarantined, failed, locked)",
            [*flow, "result"],
            registry=self.registry,
        )
        self.duration = prometheus_client.Gauge(
            "bexvendre_run_duration_seconds",
            "How long the flow's last run took",
            flow,
            registry=self.registry,
        )
        self.finished = prometheus_client.Gauge(
            "bexvendre_last_run_timestamp_seconds",
            "When the flow's last run ended (Unix time)",
            flow,
            registry=self.registry,
        )
        self.lag = prometheus_client.Gauge(
            "bexvendre_lag_seconds",
            "How far behind the flow is (orders: now minus the cursor; others: since the last "
            "run without a failure)",
            flow,
            registry=self.registry,
        )
        self.quarantine = prometheus_client.Gauge(
            "bexvendre_quarantine_size",
            "Records in quarantine, waiting for a person",
            flow,
            registry=self.registry,
        )
        self._lock = threading.Lock()
        self._server: Any = None

    def observe(
        self,
        flow: str,
        *,
        result: str,
        counts: Mapping[str, int],
        duration: float,
        finished: float,
        lag: float | None,
        quarantined: int | None = None,
    ) -> None:
        """Count one run of ``flow`` (``finished`` in Unix time)."""
        with self._lock:
            for outcome, number in counts.items():
                self.records.labels(flow=flow, result=outcome).inc(number)
            self.runs.labels(flow=flow, result=result).inc()
            self.duration.labels(flow=flow).set(duration)
            self.finished.labels(flow=flow).set(finished)
            if lag is not None:
                self.lag.labels(flow=flow).set(lag)
            if quarantined is not None:
                self.quarantine.labels(flow=flow).set(quarantined)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on a background thread; the port listened on.

        Raises:
            OSError: the address cannot be listened on.
        """
        server, _thread = self._prometheus.start_http_server(
            port, addr=host, registry=self.registry
        )
        self._server = server
        return int(server.server_port)

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
