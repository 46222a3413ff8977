"""State at scale: produce N subject profiles (and their consents), then time a worker's recovery.

``run()`` fills fresh ``ward.subjects``/``ward.consents``-like topics with N
profiles and their consents (``tp_state_data``). Each engine then recovers in
a process of its own exactly as its worker does: ``build_enforcer`` (the
lifecycle hooks and listeners included)
and the fast engine's ``StateFeed`` or the Faust engine's ``StateReader``,
timed until the state is caught up with the topics' end offsets. Reported:
recovery seconds, records/s, CPU seconds, RSS growth and peak over the
process before recovery (bytes per subject), the first enforcer tick after
it, and a sample of profiles checked against what was produced.

Run: ``wardstream bench --state-subjects 1000000 --rows none``, or
``python bench/tp_state.py recover CONFIG ENGINE N`` for one recovery.
"""

from __future__ import annotations

import gc
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tp_recover import (  # noqa: E402
    TAIL_SHARE,
    recover_fast,
    recover_faust,
    snapshot_config,
    snapshot_numbers,
    tail,
)
from tp_report import median_run  # noqa: E402
from tp_state_data import consent, consent_templates, expected, produce, shape, sid  # noqa: E402

BENCH = Path(__file__).resolve().parent
HMAC = "8f2b0c6e4d1a9b7c3e5f0a2d4c6b8e1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b"
MASTER = "5e8d1c0b7a6f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d"
TICK_LIMIT_S = 180


# -- the recovery, in a process of its own ----------------------------------------------
def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def recover(config: str, engine: str, n: int) -> dict[str, Any]:
    from wardstream.config.pipeline import load_pipelines
    from wardstream.config.settings import load_settings
    from wardstream.engines.bootstrap import build_enforcer, prepare

    settings = load_settings(Path(config))
    base = Path(config).parent
    pipelines = load_pipelines(base / "pipelines", settings.policy, base_dir=base)
    prepare(settings, pipelines)
    enforcer = build_enforcer(settings, pipelines, settings.policy.to_context(), str(base))
    gc.collect()
    rss0, cpu0 = _status("VmRSS"), time.process_time()
    _reset_peak()
    t0 = time.monotonic()
    stop, feed, snaps = (
        recover_fast(settings, enforcer) if engine == "fast" else recover_faust(settings, enforcer)
    )
    seconds = time.monotonic() - t0
    cpu, rss1, peak = time.process_time() - cpu0, _status("VmRSS"), _status("VmHWM")
    state = enforcer.state
    out: dict[str, Any] = {
        "engine": engine,
        "seconds": round(seconds, 2),
        "records_per_s": round((len(state.subjects) + _consent_events(state)) / seconds),
        "cpu_s": round(cpu, 1),
        "rss_growth_mb": round((rss1 - rss0) / 2**20, 1),
        "peak_growth_mb": round((max(peak, rss1) - rss0) / 2**20, 1),
        "bytes_per_subject": round((rss1 - rss0) / max(n, 1)),
        "peak_bytes_per_subject": round((max(peak, rss1) - rss0) / max(n, 1)),
        "subjects": len(state.subjects),
        "consent_ledgers": len(state.consents),
        "rejected": enforcer.applier.rejected if enforcer.applier else None,
        "wrong": _sample_check(state, n),
        **_footprint(enforcer),
        **_lookups(state, n),
    }
    out |= snapshot_numbers(feed, snaps)
    print(json.dumps(out), flush=True)  # the recovery's numbers, whatever the tick does
    out["first_tick_s"] = _first_tick(enforcer)
    stop()
    return out


def _first_tick(enforcer: Any, limit_s: int = TICK_LIMIT_S) -> float | str:
    """Seconds of the enforcer's first tick after recovery (at most ``limit_s``)."""

    def late(*_: Any) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, late)
    signal.alarm(limit_s)
    t0 = time.monotonic()
    try:
        enforcer.tick(lambda topic, partition: True)
    except TimeoutError:
        return f">{limit_s}"
    finally:
        signal.alarm(0)
    return round(time.monotonic() - t0, 2)


def _footprint(enforcer: Any) -> dict[str, Any]:
    """What the store's own objects take (when it can say), and the enforcer's dirty set."""
    state, out = enforcer.state, {}
    tables = [getattr(m, "table", None) for m in (state.subjects, state.consents)]
    if all(t is not None and hasattr(t, "nbytes") for t in tables):
        out["store_mb"] = round(sum(t.nbytes() for t in tables) / 2**20, 1)
    dirty = getattr(enforcer, "_dirty", None)
    if isinstance(dirty, set):
        size = sys.getsizeof(dirty) + sum(sys.getsizeof(s) for s in dirty)
        out |= {"dirty_subjects": len(dirty), "dirty_set_mb": round(size / 2**20, 1)}
    return out


def _consent_events(state: Any) -> int:
    return len(state.consents)  # one event per ledger in this data set


def _sample_check(state: Any, n: int) -> int:
    """Profiles and consent ledgers of 2,000 random subjects that differ from what was meant."""
    from wardstream.domain.subject import SubjectProfile
    from wardstream.serde import Origin
    from wardstream.state.consent_codec import ConsentCodec

    codec, templates = ConsentCodec(), consent_templates()
    wrong = 0
    for i in random.Random(5).sample(range(n), min(n, 2000)):
        s = sid(i).decode()
        wrong += state.subjects.get(s) != SubjectProfile.from_dict(expected(i))
        ledger = state.consents.get(s)
        events = () if ledger is None else ledger.events
        meant = consent(i, sid(i), templates) if shape(i)["kind"] in ("child", "minor") else None
        wrong += events != (() if meant is None else (codec.decode(meant, Origin.unknown()),))
    return wrong


def _lookups(state: Any, n: int) -> dict[str, float]:
    """CPU microseconds per ``state.subjects.get``: 100,000 random subjects, then 1,000 hot ones.

    Thread CPU time, not wall time: the number does not depend on the machine's load.
    """
    rng = random.Random(9)
    cold = [sid(rng.randrange(n)).decode() for _ in range(100_000)]
    hot = cold[:1000] * 100
    out = {}
    for name, ids in (("lookup_cold_us", cold), ("lookup_hot_us", hot)):
        get, t = state.subjects.get, time.thread_time()
        for s in ids:
            get(s)
        out[name] = round((time.thread_time() - t) / len(ids) * 1e6, 2)
    return out


# -- the driver -------------------------------------------------------------------------
def write_config(project: Path, work: Path, bootstrap: str, prefix: str, partitions: int) -> Path:
    root = work / "state"
    (root / "pipelines").mkdir(parents=True, exist_ok=True)
    base = yaml.safe_load((project / "wardstream.yaml").read_text())
    pipe = yaml.safe_load((project / "pipelines/clickstream.yaml").read_text())
    schema = str(project / "schemas/examples/clickstream.avsc")
    pipe |= {"source": f"{prefix}.src", "sink": f"{prefix}.sink", "schema": schema}
    (root / "pipelines/clickstream.yaml").write_text(yaml.safe_dump(pipe))
    own = ("quarantine", "requests", "deadletter", "deletions", "notices", "audit", "corrections")
    base["kafka"] = {"bootstrap_servers": bootstrap, "partitions": partitions}
    base["topics"] = {k: f"{prefix}.{k}" for k in ("subjects", "consents", *own, "incidents")}
    base["lifecycle"] = {
        **base.get("lifecycle", {}),
        **{f"{k}_topic": f"{prefix}.{k}" for k in ("seen", "control", "holds", "keys")},
    }
    base["worker"] = {
        **base.get("worker", {}),
        "app_id": prefix,
        "name": "state",
        "web_port": 0,
        "data_dir": str(root / "data"),
    }
    (root / "wardstream.yaml").write_text(yaml.safe_dump(base))
    return root / "wardstream.yaml"


def run(
    bootstrap: str,
    n: int,
    *,
    project: Path,
    work: Path,
    prefix: str,
    partitions: int = 3,
    engines: tuple[str, ...] = ("fast", "faust"),
    timeout: float = 3600.0,
    repeat: int = 1,
) -> dict[str, Any]:
    """``repeat``: each recovery that many times, in a process of its own each; a row
    reports its median run by records/s (``runs_records_per_s`` lists every run's).
    Each restart starts from the snapshot the first full read wrote."""
    topics = {"subjects": f"{prefix}.subjects", "consents": f"{prefix}.consents"}
    compact = {"cleanup.policy": "compact", "min.compaction.lag.ms": str(86_400_000)}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    made = admin.create_topics(
        [NewTopic(t, partitions, 1, config=compact) for t in topics.values()]
    )
    for f in made.values():
        f.result()
    out: dict[str, Any] = {"subjects": n, "key_bytes": len(sid(0)), **produce(bootstrap, topics, n)}
    config = write_config(project, work, bootstrap, prefix, partitions)
    env = dict(
        os.environ, WARDSTREAM__AUDIT__HMAC_KEY=HMAC, WARDSTREAM__LIFECYCLE__MASTER_KEY=MASTER
    )
    snap_config = snapshot_config(config)  # the fast engine writes a snapshot after its read
    out["engines"] = {}
    snapshot = snap_config.parent / "snapshot"
    for engine in engines:
        own = snap_config if engine == "fast" else config
        runs = []
        for _ in range(repeat):
            shutil.rmtree(snapshot, ignore_errors=True)  # a full read, every time
            runs.append(_child(own, engine, n, work, env, timeout))
            if engine == "fast" and not (work / "snapshot-first").exists():
                shutil.copytree(snapshot, work / "snapshot-first")  # what every restart reads
        out["engines"][engine] = median_run(runs, "records_per_s")
    if "fast" in engines:  # then a restart: the snapshot and a tail of TAIL_SHARE updates
        out["tail_records"] = tail(bootstrap, topics["subjects"], n)
        row = f"fast, snapshot + {TAIL_SHARE:.0%} tail"
        runs = []
        for _ in range(repeat):
            shutil.rmtree(snapshot, ignore_errors=True)
            shutil.copytree(work / "snapshot-first", snapshot)
            runs.append(_child(snap_config, "fast", n, work, env, timeout))
        out["engines"][row] = median_run(runs, "records_per_s")
    return out


def _child(
    config: Path, engine: str, n: int, work: Path, env: dict[str, str], timeout: float
) -> dict[str, Any]:
    """One recovery in a process of its own: its JSON numbers, or an error pointing at a log."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "recover", str(config), engine, str(n)]
    try:
        done = subprocess.run(  # noqa: S603
            cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        stdout, stderr, failed = done.stdout, done.stderr, done.returncode != 0
    except subprocess.TimeoutExpired as exc:
        stdout, stderr, failed = _text(exc.stdout), _text(exc.stderr), True
    lines = [x for x in stdout.splitlines() if x.startswith("{")]
    log = work / f"state-{engine}-{config.stem}.log"
    if failed:
        log.write_text(stdout + stderr)
    return json.loads(lines[-1]) if lines else {"error": f"failed; see {log}"}


def _text(data: str | bytes | None) -> str:
    return data.decode() if isinstance(data, bytes) else data or ""


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "recover":
        print(json.dumps(recover(sys.argv[2], sys.argv[3], int(sys.argv[4]))), flush=True)
    else:
        sys.exit(__doc__)
