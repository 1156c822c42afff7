"""Benchmark: `POST /v1/verifications` against the framework's own ceiling, in one run on one machine.

    python bench/verify.py            # the full matrix (about 6 minutes once the data is seeded)
    python bench/verify.py --quick    # PostgreSQL, 100k mandates, 1 worker; the ratio last

It seeds organisations, API keys, holders, mandates and one live call code per mandate with bulk inserts
(PostgreSQL COPY, SQLite executemany) into databases of its own (`mr_bench_*` on the PostgreSQL server,
files under --data-dir), starts the real `mandate-registry serve` with production settings, and drives it
with wrk (Debian package `wrk`; an async httpx load generator where wrk is missing) at 64 connections,
each request for a different mandate: every other request quotes the mandate's valid code, the others a
wrong one. In the same run it drives a bare FastAPI POST endpoint (`bench/ceiling.py`) served by the same
uvicorn options: the ceiling. The seeded data is kept between runs and reset (codes unused, no locks, no
failures, no receipts) before each measured run. docs/performance.md explains the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry import migrations, references  # noqa: E402

SEED_VERSION = "bench-v3"
ORGANISATIONS = 2000  # 100 failed checks per key and hour: 20,000 wrong codes per run, reset in between
HMAC_KEY = base64.b64encode(hashlib.sha256(b"mandate-registry bench hmac").digest()).decode()
ENCRYPTION_KEY = base64.b64encode(hashlib.sha256(b"mandate-registry bench aes").digest()).decode()
SCOPES = '["information","appointments"]'
PATH = "/v1/verifications"
WRK_SCRIPT = Path(__file__).with_name("wrk_verify.lua")


def _keyed(purpose: str, value: str) -> str:
    key = base64.b64decode(HMAC_KEY)
    return hmac.new(key, purpose.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest()


def api_key_secret(organisation: int) -> str:
    return f"mrk_bench{organisation:05d}_" + hashlib.sha256(f"key{organisation}".encode()).hexdigest()[:24]


def call_code(mandate_id: int) -> str:
    digest = hashlib.sha256(f"code{mandate_id}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


def wrong_code(mandate_id: int) -> str:
    return f"{(int(call_code(mandate_id)) + 1) % 10**8:08d}"


def reference_of(mandate_id: int) -> str:
    body, value = "", mandate_id
    for _ in range(references.BODY_LENGTH):
        value, digit = divmod(value, references.MODULUS)
        body = references.ALPHABET[digit] + body
    return references.format_reference(body + references.check_character(body))


# --- seeding ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    backend: str  # "pg" or "sqlite"
    mandates: int
    url: str  # SQLAlchemy URL for the registry

    @property
    def label(self) -> str:
        return f"{'PostgreSQL' if self.backend == 'pg' else 'SQLite'} {_count(self.mandates)}"


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def _rows(n: int, now: datetime, stamp: Any) -> dict[str, Iterator[tuple[Any, ...]]]:
    """Every table's rows, with ids given so that mandate i has holder i, call code i and organisation
    i mod ORGANISATIONS."""
    t, since, until = stamp(now), stamp(now - timedelta(days=1)), stamp(now + timedelta(days=365))
    expires = stamp(now + timedelta(days=7))
    organisations = min(ORGANISATIONS, n)
    return {
        "organisation": (
            (o, f"{SEED_VERSION}-{o:05d}", f"Bench {o}", True, "nl", f"ops{o}@bench.example", "[]", t)
            for o in range(1, organisations + 1)
        ),
        "api_key": (
            (o, o, "bench", api_key_secret(o)[:12], _keyed("api-key", api_key_secret(o)), '["verify"]', t)
            for o in range(1, organisations + 1)
        ),
        "holder": ((i, f"holder{i}@bench.example", t, "nl", t) for i in range(1, n + 1)),
        "mandate": (
            (
                i, reference_of(i), i, (i - 1) % organisations + 1, f"C{i}", "Proxy Bench", "partner", SCOPES,
                since, until, "web", "active", "unconfirmed", False, t, t,
            )
            for i in range(1, n + 1)
        ),
        "call_code": (
            (i, i, _keyed("call-code", f"{i}:{call_code(i)}"), t, expires) for i in range(1, n + 1)
        ),
    }  # fmt: skip


COLUMNS = {
    "organisation": "id, slug, display_name, active, default_language, contact_email, frame_ancestors, "
    "created_at",
    "api_key": "id, organisation_id, name, prefix, key_hash, scopes, created_at",
    "holder": "id, email, email_verified_at, language, created_at",
    "mandate": "id, reference, holder_id, organisation_id, customer_reference, proxy_name, proxy_relation, "
    "scope, valid_from, valid_until, basis, status, binding, notify_checks, created_at, updated_at",
    "call_code": "id, mandate_id, code_hash, created_at, expires_at",
}
# What a run changes, undone before the next one (the seeded rows themselves are never touched).
EMPTIED = (
    "mandate_guard",
    "mandate_failure",
    "api_key_failures",
    "verification",
    "audit_seal",
    "audit_event",
    "audit_head",
    "outbox_message",
)
UPDATED = ("call_code", "api_key")
RESET = (
    "UPDATE call_code SET used_at = NULL WHERE used_at IS NOT NULL",
    "UPDATE api_key SET last_used_at = NULL",
)


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _seeded(count_sql: str, run: Any) -> bool:
    try:
        return bool(run(count_sql))
    except Exception:  # no database or no tables yet
        return False


def _seed_check(target: Target) -> str:
    """A row when the database holds this seed at this size."""
    return (
        f"SELECT 1 FROM organisation WHERE slug = '{SEED_VERSION}-00001' "
        f"AND (SELECT max(id) FROM mandate) = {target.mandates}"
    )


def seed_pg(target: Target, now: datetime) -> float:
    import psycopg

    server, database = pg_dsn(target.url).rsplit("/", 1)
    check = _seed_check(target)

    def run(sql: str) -> Any:
        with psycopg.connect(pg_dsn(target.url)) as connection:
            return connection.execute(sql).fetchone()

    if _seeded(check, run):
        migrations.upgrade(target.url)  # seeded by an older schema: the server wants the newest
        return 0.0
    started = time.perf_counter()
    with psycopg.connect(server + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    migrations.upgrade(target.url)
    with psycopg.connect(pg_dsn(target.url)) as connection:
        for table, rows in _rows(target.mandates, now, lambda d: d).items():
            with connection.cursor().copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        connection.commit()
    with psycopg.connect(pg_dsn(target.url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def sqlite_path(target: Target) -> Path:
    return Path(target.url.split("///", 1)[1])


def seed_sqlite(target: Target, now: datetime) -> float:
    path = sqlite_path(target)
    check = _seed_check(target)

    def run(sql: str) -> Any:
        if not path.exists():
            return None
        with sqlite3.connect(path) as connection:
            return connection.execute(sql).fetchone()

    if _seeded(check, run):
        migrations.upgrade(target.url)
        return 0.0
    started = time.perf_counter()
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(target.url)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # seeding only; the server runs with its own pragmas
    with connection:
        for table, rows in _rows(target.mandates, now, lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")).items():
            marks = ", ".join("?" * len(COLUMNS[table].split(",")))
            connection.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", rows)
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


def run_sql(target: Target, *statements: str, autocommit: bool = False) -> list[tuple[Any, ...]]:
    """Run `statements` on the target's database in one transaction (or each alone); the last one's rows."""
    if target.backend == "pg":
        import psycopg

        with psycopg.connect(pg_dsn(target.url), autocommit=autocommit) as connection:
            cursors = [connection.execute(statement) for statement in statements]
            return cursors[-1].fetchall() if cursors[-1].description else []
    lite = sqlite3.connect(sqlite_path(target), isolation_level=None if autocommit else "DEFERRED")
    try:
        with lite:
            results = [lite.execute(statement) for statement in statements]
            return results[-1].fetchall()
    finally:
        lite.close()


def reset(target: Target) -> None:
    """Every run starts from the same state. On PostgreSQL that includes its files: the emptied tables are
    truncated and the updated ones vacuumed, so no run inherits the dead rows and index entries of the
    runs before it (autovacuum may be off, as on our machines, or not have come round yet)."""
    if target.backend == "pg":
        run_sql(target, *RESET, f"TRUNCATE {', '.join(EMPTIED)}")
        vacuum = [f"VACUUM ANALYZE {table}" for table in UPDATED]
        run_sql(target, *vacuum, "CHECKPOINT", autocommit=True)
    else:
        run_sql(target, *RESET, *(f"DELETE FROM {table}" for table in EMPTIED))
        run_sql(target, "PRAGMA wal_checkpoint(TRUNCATE)", autocommit=True)


def results_in(target: Target) -> dict[str, int]:
    rows = run_sql(target, "SELECT result, count(*) FROM verification GROUP BY result")
    return {str(result): int(count) for result, count in rows}


# --- serving ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    workers: int
    log: Path

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the server itself with one worker, else its children."""
        children = _descendants(self.process.pid)
        return children if self.workers > 1 and children else [self.process.pid]

    def pids(self) -> list[int]:
        return [self.process.pid, *_descendants(self.process.pid)]

    def rss_mb(self) -> float:
        """The largest resident set of one serving process, in MB."""
        sizes = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return max(sizes, default=0.0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_pids() -> list[int]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


@contextlib.contextmanager
def pinned(enabled: bool) -> Iterator[None]:
    """`--pin`, a diagnosis: PostgreSQL on the last core, this process and so the servers and wrk on the
    others, as if the database had a host of its own. PostgreSQL's processes get their cores back after."""
    if not enabled:
        yield
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--pin needs at least two cores")
    database, rest = {cores[-1]}, set(cores[:-1])
    before = {pid: os.sched_getaffinity(pid) for pid in postgres_pids()}
    try:
        try:
            for pid in before:
                os.sched_setaffinity(pid, database)  # new backends inherit the postmaster's
        except PermissionError as refused:
            message = f"--pin: may not move PostgreSQL's processes ({refused}); run as their owner"
            raise SystemExit(message) from refused
        os.sched_setaffinity(0, rest)
        print(f"pinned: PostgreSQL on core {cores[-1]}, app and load generator on {sorted(rest)}")
        yield
    finally:
        os.sched_setaffinity(0, set(cores))
        for pid in postgres_pids():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(pid, before.get(pid, set(cores)))


def _descendants(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def pool_size(workers: int) -> int:
    """Connections per process, sized as docs/deployment.md advises: about twice the database server's
    cores plus one, shared by the processes (PostgreSQL runs on this machine: its cores are ours)."""
    return max(2, math.ceil((2 * (os.cpu_count() or 1) + 1) / workers))


def start(kind: str, target: Target | None, workers: int, log_dir: Path) -> Server:
    port = free_port()
    log = log_dir / f"{kind}-{target.backend if target else 'ceiling'}-{workers}w-{port}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REGISTRY_LOG_FORMAT": "json"}
    if target is None:
        command = [
            sys.executable,
            "-c",
            "import sys, uvicorn; from registry.cli.operations import UVICORN; "
            "uvicorn.run('bench.ceiling:factory', factory=True, host='127.0.0.1', "
            f"port={port}, workers={workers}, **UVICORN)",
        ]
    else:
        command = [str(Path(sys.executable).with_name("mandate-registry")), "serve", "--port", str(port)]
        command += ["--workers", str(workers)]
        env.update(
            REGISTRY_ENVIRONMENT="production",
            REGISTRY_DATABASE_URL=target.url,
            REGISTRY_HMAC_KEY=HMAC_KEY,
            REGISTRY_ENCRYPTION_KEY=ENCRYPTION_KEY,
            REGISTRY_EMAIL_BACKEND="smtp",
            REGISTRY_BASE_URL="https://registry.bench.example",
            # The deployment of docs/deployment.md: e-mail and audit sealing run in `worker` processes.
            REGISTRY_WORKER_IN_PROCESS="false",
            # The per-key request budget is a setting per customer; here it must not be what is measured.
            REGISTRY_RATE_LIMIT="10000000/minute",
            REGISTRY_DB_POOL_SIZE=str(pool_size(workers)),
        )
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(process, port, workers, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped at start; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if workers == 1 or len(_descendants(process.pid)) >= workers:
                    time.sleep(0.5 if workers == 1 else 1.5)  # let every worker finish its start-up
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise SystemExit(f"the server did not start within 60 s; see {log}")


# --- load ------------------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers plus connection errors and timeouts
    cores: tuple[float, float, float] = (0.0, 0.0, 0.0)  # server, PostgreSQL, load generator

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def write_requests(path: Path, mandates: range, organisations: int) -> None:
    """One line per request: key, reference, code; every other request has the right code."""
    ids = list(mandates)
    random.Random(len(ids) + ids[0]).shuffle(ids)
    with path.open("w") as out:
        for n, mandate_id in enumerate(ids):
            code = call_code(mandate_id) if n % 2 == 0 else wrong_code(mandate_id)
            key = api_key_secret((mandate_id - 1) % organisations + 1)
            out.write(f"{key}\t{reference_of(mandate_id)}\t{code}\n")


def drive(port: int, requests: Path, seconds: float, connections: int) -> Load:
    if shutil.which("wrk"):
        return _wrk(port, requests, seconds, connections)
    return asyncio.run(_httpx_load(port, requests, seconds, connections))


def _wrk(port: int, requests: Path, seconds: float, connections: int) -> Load:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            f"http://127.0.0.1:{port}",
        ],
        env={**os.environ, "BENCH_REQUESTS": str(requests)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("{"))
    result = json.loads(line)
    return Load(
        result["requests"],
        result["duration_us"] / 1e6,
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        result["non2xx"] + result["errors"],
    )


async def _httpx_load(port: int, requests: Path, seconds: float, connections: int) -> Load:
    import httpx

    lines = [line.split("\t") for line in requests.read_text().splitlines()]
    latencies: list[float] = []
    errors = 0
    position = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10) as client:

        async def one_connection() -> None:
            nonlocal errors, position
            while time.perf_counter() < deadline:
                key, reference, code = lines[position % len(lines)]
                position += 1
                sent = time.perf_counter()
                try:
                    answer = await client.post(
                        PATH,
                        json={"mandate_reference": reference, "code": code.strip()},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    errors += answer.status_code >= 300
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - sent)

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Load(
        len(latencies),
        elapsed,
        1000 * latencies[len(latencies) // 2],
        1000 * latencies[int(len(latencies) * 0.99)],
        errors,
    )


# --- the runs --------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    workers: int
    connections: int
    load: Load
    rss_mb: float
    mandates: int = 0
    verified: dict[str, int] = field(default_factory=dict)


def measure(
    name: str,
    target: Target | None,
    workers: int,
    seconds: float,
    warmup: float,
    connections: int,
    work: Path,
    log_dir: Path,
) -> Row:
    n = target.mandates if target else 400_000
    organisations = min(ORGANISATIONS, n)
    # Enough distinct mandates for the fastest run seen (the ceiling at 2 workers), warm-up apart.
    budget = min(n // 2, int(25_000 * (seconds + 1)))
    warm, measured = work / "warm.tsv", work / "run.tsv"
    write_requests(warm, range(1, min(n // 2, 30_000) + 1), organisations)
    write_requests(measured, range(n // 2 + 1, n // 2 + budget + 1), organisations)
    if target is not None:
        reset(target)
    os.sync()  # what earlier runs left for the kernel to write must not be written during this one
    server = start("verify" if target else "ceiling", target, workers, log_dir)
    try:
        if warmup:
            drive(server.port, warm, warmup, connections)
        if target is not None:  # count only the measured run's receipts
            run_sql(target, "DELETE FROM verification")
        watched, database = server.pids(), postgres_pids()
        before = (cpu_seconds(watched), cpu_seconds(database), resource.getrusage(resource.RUSAGE_CHILDREN))
        load = drive(server.port, measured, seconds, connections)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load.cores = (
            (cpu_seconds(watched) - before[0]) / load.seconds,
            (cpu_seconds(database) - before[1]) / load.seconds,
            (after.ru_utime + after.ru_stime - before[2].ru_utime - before[2].ru_stime) / load.seconds,
        )
        rss = server.rss_mb()
    finally:
        server.stop()
    verified = results_in(target) if target else {}
    if load.requests > budget:
        print(f"  note: {name} sent {load.requests} requests for {budget} mandates; codes were reused")
    row = Row(name, workers, connections, load, rss, n if target else 0, verified)
    print(f"  {_line(row)}", flush=True)
    return row


def _line(row: Row) -> str:
    outcome = ""
    if row.verified:
        total = sum(row.verified.values())
        outcome = f"{row.verified.get('verified', 0) / total:.0%} verified" if total else "no receipts"
    load = row.load
    return (
        f"{row.name:<26} {row.workers:>2}w c={row.connections:<3} {load.rps:>9,.0f} req/s  "
        f"p50 {load.p50_ms:>7.2f} ms  p99 {load.p99_ms:>7.2f} ms  errors {load.errors:>6}  "
        f"RSS {row.rss_mb:>6.0f} MB  cores app/pg/load {'/'.join(f'{c:.2f}' for c in load.cores)}  {outcome}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="PostgreSQL, 100k, 1 worker, 10 s runs")
    parser.add_argument("--seconds", type=float, default=15, help="length of each measured run")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up before each run (other mandates)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench-data", help="SQLite files, logs")
    parser.add_argument("--only", nargs="*", choices=["pg", "sqlite"], default=["pg", "sqlite"])
    parser.add_argument("--sizes", nargs="*", type=int, default=[100_000, 1_000_000], help="mandates")
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2], help="server processes")
    parser.add_argument(
        "--pin", action="store_true", help="diagnosis: PostgreSQL on a core of its own (docs/performance.md)"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.only, args.sizes, args.workers = 10, 2, ["pg"], [100_000], [1]
    args.data_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    sizes = args.sizes
    targets = [Target(backend, n, _url(args, backend, n)) for backend in args.only for n in sizes]
    print(f"load generator: {'wrk' if shutil.which('wrk') else 'httpx (install wrk for sharper numbers)'}")
    print(f"REGISTRY_DB_POOL_SIZE: {', '.join(f'{pool_size(w)} with {w} worker(s)' for w in args.workers)}")
    for target in targets:
        seeded = seed_pg(target, now) if target.backend == "pg" else seed_sqlite(target, now)
        state = f"seeded in {seeded:.0f} s" if seeded else "already seeded"
        print(f"{target.label}: {state}", flush=True)
    rows: list[Row] = []
    workers = args.workers
    with tempfile.TemporaryDirectory() as temp, pinned(args.pin):
        work = Path(temp)

        def run(name: str, target: Target | None, w: int, connections: int | None = None) -> Row:
            c = connections or args.connections
            row = measure(name, target, w, args.seconds, args.warmup, c, work, args.data_dir)
            rows.append(row)
            return row

        for w in workers:
            run("ceiling (bare FastAPI)", None, w)
            for target in targets:
                if w == 1 or target.mandates == 100_000:
                    run(f"verify {target.label}", target, w)
        pg = next((t for t in targets if t.backend == "pg" and t.mandates == 100_000), None)
        if pg is not None:
            run(f"verify {pg.label}", pg, 1, connections=1)
    report(rows)


def _url(args: argparse.Namespace, backend: str, n: int) -> str:
    if backend == "pg":
        return f"{args.pg.rstrip('/')}/mr_bench_{_count(n).lower()}"
    return f"sqlite+aiosqlite:///{(args.data_dir / f'bench-{_count(n).lower()}.db').resolve()}"


def report(rows: list[Row]) -> None:
    print(
        "\n| run | workers | conns | req/s | p50 ms | p99 ms | errors | RSS MB/worker "
        "| cores app/pg/load | verified |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for row in rows:
        total = sum(row.verified.values())
        share = f"{row.verified.get('verified', 0) / total:.0%}" if total else ""
        print(
            f"| {row.name} | {row.workers} | {row.connections} | {row.load.rps:,.0f} | "
            f"{row.load.p50_ms:.2f} | {row.load.p99_ms:.2f} | {row.load.errors} | {row.rss_mb:.0f} | "
            f"{'/'.join(f'{c:.2f}' for c in row.load.cores)} | {share} |"
        )

    def find(prefix: str, workers: int, connections: int = 64) -> Row | None:
        return next(
            (
                r
                for r in rows
                if r.name.startswith(prefix) and r.workers == workers and r.connections == connections
            ),
            None,
        )

    print()
    ratios = []
    for workers in (2, 1):
        ceiling = find("ceiling", workers)
        for row in rows:
            if ceiling and row.workers == workers and row.connections == 64 and row is not ceiling:
                ratios.append(
                    f"{row.name}, {workers}w: verify/ceiling = {row.load.rps / ceiling.load.rps:.3f}"
                )
    for backend in ("PostgreSQL", "SQLite"):
        small, large = find(f"verify {backend} 100k", 1), find(f"verify {backend} 1M", 1)
        if small and large:
            print(
                f"{backend}, 1w: 1M/100k req/s = {large.load.rps / small.load.rps:.3f}, "
                f"p99 = {large.load.p99_ms / small.load.p99_ms:.3f}"
            )
    for backend in ("PostgreSQL", "SQLite"):
        one, two = find(f"verify {backend} 100k", 1), find(f"verify {backend} 100k", 2)
        if one and two:
            print(f"{backend} 100k: 2 workers / 1 worker req/s = {two.load.rps / one.load.rps:.3f}")
    for line in ratios:  # the 1-worker PostgreSQL 100k ratio comes last (--quick's last line)
        print(line)
    pg = find("verify PostgreSQL 100k", 1)
    ceiling = find("ceiling", 1)
    if pg and ceiling:
        ratio = pg.load.rps / ceiling.load.rps
        print(f"verify/ceiling (PostgreSQL 100k, 1 worker, 64 connections) = {ratio:.3f}")


if __name__ == "__main__":
    main()
