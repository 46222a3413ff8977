"""Run every row of `wardstream bench` on the same data and collect the numbers.

Throughput: each row gets the same N encoded events in a fresh source topic
and starts on it from the beginning (a backlog: the events' times are older
than ``state_lateness``, so no child's event waits for state; the hold is a
fixed wait, not a cost per event). Rate = records out between the first and
the N-th record seen on the row's outputs, CPU seconds and peak RSS from the
row's process. Latency: the row keeps running while the bench produces live
events (event time = now) at half the rate the row reached; latency = when a
record is seen on the sink minus its timestamp, adults apart from children
(children wait ``state_lateness`` by design). Withdrawal: during that live
phase one consented child sends 100 events/s and its consent is withdrawn
half-way; lag = until its first blocked event appears on the quarantine topic.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer

import tp_workload as wl
from tp_observe import Observer, Probe, ProcProbe, percentile
from wardstream.audit.pseudonym import SubjectPseudonymizer, parse_key
from wardstream.serde import AvroCodec, record_schema

BENCH = Path(__file__).resolve().parent
ROWS = {
    "raw": "raw librdkafka passthrough",
    "faust-count": "Faust consume-only ceiling",
    "faust-pass": "naive Faust passthrough",
    "faust-engine": "Faust engine (at_least_once)",
    "fast-eos": "fast engine (exactly_once)",
    "fast-alo": "fast engine (at_least_once)",
}
HMAC = "8f2b0c6e4d1a9b7c3e5f0a2d4c6b8e1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b"
SIGNING = "0ba0a72a9472f6936aa8ca8d90a5a5f26c235f57373baf8290a4b41e34c357bc"  # bench only
MAX_LIVE_RATE = 20_000
OWN_TOPICS = ("requests", "deadletter", "deletions", "notices", "audit", "corrections", "incidents")


class Bench:
    def __init__(self, bootstrap: str, project: Path, work: Path, **opts: Any) -> None:
        self.bootstrap, self.project, self.work = bootstrap, project, work
        self.events, self.subjects = opts["events"], opts["subjects"]
        self.live_s, self.partitions = opts["live_seconds"], opts["partitions"]
        self.timeout = opts.get("timeout", 600.0)
        self.prefix = f"bench{uuid.uuid4().hex[:6]}"
        self.schema = str(project / "schemas/examples/clickstream.avsc")
        # one withdrawal probe child per worker row and run
        probes = max(8, 3 * opts.get("repeat", 1))
        self.w = wl.build(self.events, self.subjects, self.schema, probes=probes)
        self.state_topics = {
            "subjects": f"{self.prefix}.subjects",
            "consents": f"{self.prefix}.consents",
        }
        self._probes = iter(self.w.probes)
        self.master_key = secrets.token_hex(32)

    def prepare(self) -> None:
        wl.create_topics(self.bootstrap, list(self.state_topics.values()), self.partitions)
        subjects, consents = wl.state_records(self.w)
        wl.produce(self.bootstrap, self.state_topics["subjects"], subjects)
        wl.produce(self.bootstrap, self.state_topics["consents"], consents)

    def topics(self, slot: str) -> dict[str, str]:
        base = f"{self.prefix}.{slot}"
        return {"source": f"{base}.src", "sink": f"{base}.sink", "quarantine": f"{base}.q"}

    def load(self, slot: str) -> dict[str, str]:
        t = self.topics(slot)
        wl.create_topics(self.bootstrap, list(t.values()), self.partitions)
        wl.produce(self.bootstrap, t["source"], self.w.events)
        return t

    # -- rows ---------------------------------------------------------------------
    def run(self, row: str, n: int = 0) -> dict[str, Any]:
        """Run ``row`` once; ``n`` numbers its runs (each has its own topics and group)."""
        slot = row if n == 0 else f"{row}.{n}"
        t = self.load(slot)
        if row in ("raw", "faust-count", "faust-pass"):
            return self.baseline(row, t, slot)
        return self.worker(row, t, slot)

    def baseline(self, row: str, t: dict[str, str], slot: str) -> dict[str, Any]:
        total = self.events if row == "faust-count" else self.events + 10**9
        cmd = [sys.executable, str(BENCH / "tp_baselines.py"), row, self.bootstrap]
        cmd += [t["source"], t["sink"], str(self.events), str(total)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log(slot))  # noqa: S603
        try:
            line = _read_line(proc, self.timeout)
            if line is None or "{" not in line:
                return {"row": row, "error": "no result; see the log in " + str(self.work)}
            m = json.loads(line[line.index("{") :])  # Faust may print terminal codes first
            result = _numbers(row, m["events"], m["seconds"], m["cpu_s"], m["rss_mb"])
            if row != "faust-count":
                obs = Observer(self.bootstrap, t["sink"], None, 1, committed=False, from_end=True)
                result["latency"] = self.live(obs, t, result["events_per_s"], None)
            return result
        finally:
            _end(proc, signal.SIGKILL)

    def worker(self, row: str, t: dict[str, str], slot: str) -> dict[str, Any]:
        cfg = self.config(row, t, slot)
        engine = "faust" if row == "faust-engine" else "fast"
        env = dict(os.environ, WARDSTREAM__AUDIT__HMAC_KEY=HMAC)
        env["WARDSTREAM__LIFECYCLE__MASTER_KEY"] = self.master_key
        # signed audit checkpoints, as a deployment runs them; every second (not the
        # default 60 s) so that a row of a few seconds pays for several
        env.setdefault("WARDSTREAM__AUDIT__SIGNING_KEY", SIGNING)
        env.setdefault("WARDSTREAM__AUDIT__CHECKPOINT_INTERVAL_S", "1")
        cmd = [sys.executable, "-m", "wardstream", "worker", "--engine", engine, "-c", str(cfg)]
        log = self._log(slot)
        proc = subprocess.Popen(cmd, cwd=cfg.parent, env=env, stdout=log, stderr=log)  # noqa: S603
        eos = row == "fast-eos"
        probe = ProcProbe(proc.pid)
        obs = Observer(self.bootstrap, t["sink"], t["quarantine"], self.events, eos, probe)
        obs.start()
        try:
            if not obs.wait_done(self.timeout, alive=lambda: proc.poll() is None):
                return {"row": row, "error": f"not done; see {cfg.parent}/worker.log"}
            w = obs.watch
            assert w.first_at is not None and w.done_at is not None  # noqa: S101
            events, seconds = w.done_count - w.first_count, w.done_at - w.first_at
            # /proc's CPU time of a many-threaded process can step back a tick or two (seen
            # once at 2,000 events, where the whole row fits in one or two observer polls)
            cpu_s = max(0.0, w.done_cpu - w.first_cpu)
            result = _numbers(row, events, seconds, cpu_s, w.rss_mb)
            sid = next(self._probes)
            withdrawal = Probe(sid.encode(), _ref(cfg, sid))
            result["latency"] = self.live(obs, t, result["events_per_s"], withdrawal)
            result["withdrawal"] = _withdrawal(withdrawal)
            return result
        finally:
            _end(proc, signal.SIGTERM)
            obs.stop()

    def config(self, row: str, t: dict[str, str], slot: str) -> Path:
        root = self.work / slot
        (root / "pipelines").mkdir(parents=True, exist_ok=True)
        base = yaml.safe_load((self.project / "wardstream.yaml").read_text())
        pipe = yaml.safe_load((self.project / "pipelines/clickstream.yaml").read_text())
        pipe |= {"source": t["source"], "sink": t["sink"], "schema": self.schema}
        (root / "pipelines/clickstream.yaml").write_text(yaml.safe_dump(pipe))
        own = {k: f"{self.prefix}.{slot}.{k}" for k in OWN_TOPICS}
        base["kafka"] = {"bootstrap_servers": self.bootstrap, "partitions": self.partitions}
        base["topics"] = {**self.state_topics, **own, "quarantine": t["quarantine"]}
        base["lifecycle"] = {  # the row's own seen/control/holds/keys, not beside ward.subjects
            **base.get("lifecycle", {}),
            **{
                f"{k}_topic": f"{self.prefix}.{slot}.{k}"
                for k in ("seen", "control", "holds", "keys")
            },
        }
        base["worker"] = {
            **base.get("worker", {}),
            "app_id": f"{self.prefix}-{slot}",
            "name": row,
            "web_port": 0,
            "data_dir": str(root / "data"),
            "processing_guarantee": "exactly_once" if row == "fast-eos" else "at_least_once",
        }
        (root / "wardstream.yaml").write_text(yaml.safe_dump(base))
        return root / "wardstream.yaml"

    def _log(self, slot: str) -> Any:
        (self.work / slot).mkdir(parents=True, exist_ok=True)
        return (self.work / slot / "worker.log").open("ab")

    # -- the live phase -----------------------------------------------------------
    def live(
        self, obs: Observer, t: dict[str, str], max_rate: float, probe: Probe | None
    ) -> dict[str, Any]:
        rate = max(50.0, min(MAX_LIVE_RATE, max_rate / 2))
        obs.watch.live_from_ms = int(time.time() * 1000)
        obs.probe = probe
        if not obs.is_alive():
            obs.start()
        sent = self.pace(t["source"], rate, probe)
        time.sleep(3.0)  # held children: state_lateness plus a catch-up round
        lat = obs.watch.latency
        out: dict[str, Any] = {"rate": round(rate), "sent": sent}
        for band, values in sorted(lat.items()):
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            out[band] = {"n": len(values), "p50_ms": p50, "p99_ms": p99}
        return out

    def pace(self, source: str, rate: float, probe: Probe | None) -> int:
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 1})
        codec = AvroCodec(wl.load_schema(self.schema))
        pkey = probe.key if probe else b""
        then = datetime.fromtimestamp(self.w.ts_ms / 1000, UTC)
        ptemplate = codec.encode(wl.click(pkey.decode(), 0, then, False))
        events, n_total = self.w.events, int(rate * self.live_s)
        start, sent, probes = time.time(), 0, 0
        while sent < n_total:
            now = time.time()
            ms = int(now * 1000)
            for _ in range(min(int((now - start) * rate), n_total) - sent):
                key, value = events[sent % len(events)]
                p.produce(source, wl.retime(value, self.w.ts_ms, ms), key, timestamp=ms)
                sent += 1
            if probe is not None and (now - start) * 100 > probes:
                p.produce(source, wl.retime(ptemplate, self.w.ts_ms, ms), pkey, timestamp=ms)
                probes += 1
                if probe.withdrawn_at is None and now - start >= self.live_s / 2:
                    self.withdraw(p, probe)
            p.poll(0)
            time.sleep(0.002)
        p.flush(30)
        return sent

    def withdraw(self, p: Producer, probe: Probe) -> None:
        codec = AvroCodec(record_schema("ConsentEvent"))
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Avro keeps milliseconds
        sid = probe.key.decode()
        value = codec.encode(wl.consent(sid, wl.ALL, "WITHDRAWN", now))
        probe.withdrawn_ms = int(now.timestamp() * 1000)
        probe.withdrawn_at = time.time()

        def stored(err: Any, _: Any) -> None:
            if err is None:
                probe.stored_at = time.time()

        p.produce(self.state_topics["consents"], value, probe.key, on_delivery=stored)
        p.flush(10)


def _ref(cfg: Path, subject_id: str) -> bytes:
    """The subject's ref as the row's worker computes it (its key id, the bench's key)."""
    key_id = (yaml.safe_load(cfg.read_text()).get("audit") or {}).get("key_id", "k1")
    return SubjectPseudonymizer(parse_key(HMAC), key_id).ref(subject_id).encode()


def _numbers(row: str, events: int, seconds: float, cpu_s: float, rss_mb: float) -> dict[str, Any]:
    rate = events / seconds if seconds > 0 else 0.0
    return {
        "row": row,
        "name": ROWS[row],
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(rate),
        "cpu_s_per_million": round(cpu_s / max(events, 1) * 1e6, 1),
        "peak_rss_mb": round(rss_mb, 1),
    }


def _withdrawal(probe: Probe) -> dict[str, Any]:
    """Lag from the broker's confirmation of the withdrawal (before it no worker can know
    of it; on a loaded machine the bench's own producer took up to a second to send it)."""
    lag = produce = None
    if probe.first_blocked_at is not None and probe.stored_at is not None:
        lag = round((probe.first_blocked_at - probe.stored_at) * 1000, 1)
    if probe.stored_at is not None and probe.withdrawn_at is not None:
        produce = round((probe.stored_at - probe.withdrawn_at) * 1000, 1)
    first = probe.first_blocked_event_ms
    return {
        "lag_ms": lag,
        "produce_to_stored_ms": produce,
        "first_blocked_event_time_vs_withdrawal_ms": (
            None if first is None or probe.withdrawn_ms is None else first - probe.withdrawn_ms
        ),
        "blocked": probe.blocked,
        "passed_after_withdrawal": probe.passed_after,
    }


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str | None:
    assert proc.stdout is not None  # noqa: S101
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            return proc.stdout.readline().decode() or None
    return proc.stdout.readline().decode() or None if proc.poll() is not None else None


def _end(proc: subprocess.Popen[Any], sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
