"""A throw-away PostgreSQL cluster for tests: ``initdb`` in a temporary directory, started with
``pg_ctl`` on a free loopback port, stopped with ``pg_ctl -m immediate stop`` and deleted.

Importable without pytest; ``tests/conftest.py`` wraps it in fixtures. PostgreSQL refuses to run as
root, so when the tests run as root the cluster belongs to the ``postgres`` system user (Debian's
``postgresql-common`` makes it) or, failing that, ``nobody``, and every server command runs through
``runuser -u USER --``. The cluster trusts every local connection (``--auth=trust``) and runs with
``fsync``/``synchronous_commit``/``full_page_writes`` off: fast, and nothing in it outlives the test session.

    with PostgresServer() as pg:
        url = pg.create_database()      # postgresql+psycopg://postgres@127.0.0.1:PORT/t_...
        ...
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

from tests.servers import ServerError, free_port, in_ci

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
STARTUP_TIMEOUT = 30  # seconds, for pg_ctl -w
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=100 -c shared_buffers=16MB"
)
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresMissing(ServerError):
    """PostgreSQL's server binaries (initdb, pg_ctl, postgres) or the psycopg driver are not installed."""


def find_postgres_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: Debian's newest ``/usr/lib/postgresql/N/bin``, else
    wherever ``initdb`` is on the PATH (when ``pg_ctl`` and ``postgres`` sit next to it)."""

    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/bin$", path)
        return int(match.group(1)) if match else 0

    candidates = sorted((str(Path(p).parent) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
                        key=version, reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    for folder in candidates:
        if all(os.access(Path(folder) / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


def _run_as() -> str | None:
    """The user to run the server as: None for ourselves, or a system user when we are root."""
    if os.geteuid() != 0:
        return None
    for name in (SUPERUSER, "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise ServerError("running as root and neither the 'postgres' nor the 'nobody' user exists")


class PostgresServer:
    """A private PostgreSQL cluster on a free loopback port; ``create_database`` gives each test its own DB."""

    host = "127.0.0.1"

    def __init__(self, bindir: str | os.PathLike[str] | None = None) -> None:
        found = Path(bindir) if bindir is not None else find_postgres_bindir()
        if found is None:
            raise PostgresMissing("PostgreSQL is not installed (apt-get install -y postgresql)")
        try:
            import psycopg  # noqa: F401  (the driver SQLAlchemy will use)
        except ImportError as exc:
            raise PostgresMissing("psycopg is not installed (pip install 'psycopg[binary]>=3.1')") from exc
        self.bindir = found
        self.port = 0
        self._user = _run_as()
        self._tmp: Path | None = None
        self._started = False

    # ---- paths -----------------------------------------------------------------------------------------
    @property
    def base(self) -> Path:
        if self._tmp is None:
            raise ServerError("postgres is not started")
        return self._tmp

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    @property
    def log_path(self) -> Path:
        return self.base / "postgres.log"

    @property
    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    # ---- commands --------------------------------------------------------------------------------------
    def _command(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bindir / tool), *args]
        if self._user is not None:
            argv = ["runuser", "-u", self._user, "--", *argv]
        return subprocess.run(argv, cwd=self.base, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C", "TZ": "UTC"})

    # ---- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> PostgresServer:
        self._tmp = Path(tempfile.mkdtemp(prefix="mailbot-postgres-"))
        try:
            self.socket_dir.mkdir(mode=0o700)
            if self._user is not None:
                entry = pwd.getpwnam(self._user)
                for path in (self.base, self.socket_dir):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            done = self._command("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                                 "--locale=C", "--no-sync", "--no-instructions")
            if done.returncode != 0:
                raise ServerError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
            last = ""
            for _attempt in range(3):  # a freshly chosen port may be taken by someone else in between
                self.port = free_port(self.host)
                done = self._command(
                    "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", str(STARTUP_TIMEOUT),
                    "-o", f"-p {self.port} -k {self.socket_dir} {SERVER_OPTIONS}", "start",
                    timeout=STARTUP_TIMEOUT + 10,
                )
                if done.returncode == 0:
                    self._started = True
                    log.info("postgres started port=%d dir=%s", self.port, self.base)
                    return self
                last = f"pg_ctl start failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{self.log_text}"
                if "already in use" not in last:
                    break
            raise ServerError(last)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        try:
            if self._started:
                self._started = False
                done = self._command("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=30)
                if done.returncode != 0:
                    log.warning("pg_ctl stop failed: %s%s", done.stdout, done.stderr)
        finally:
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- databases -------------------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3 driver, TCP on loopback, trusted superuser)."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def _admin(self, statement: str, name: str) -> None:
        """Run ``statement`` (with ``{}`` for the database name) outside a transaction, as the superuser."""
        import psycopg
        from psycopg import sql

        if not _DATABASE_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        with psycopg.connect(host=self.host, port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))  # type: ignore[arg-type]

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a fresh name unless given) and return its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        self._admin("CREATE DATABASE {}", name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing whatever connections are still open to it."""
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def start_postgres() -> PostgresServer:
    """Start PostgreSQL for a test; skip the test if it is not installed, but fail under CI=true."""
    import pytest

    try:
        return PostgresServer().start()
    except PostgresMissing as exc:
        if in_ci():
            pytest.fail(f"{exc} — CI=true, so integration tests may not be skipped", pytrace=False)
        pytest.skip(str(exc))


__all__ = ["PostgresMissing", "PostgresServer", "find_postgres_bindir", "start_postgres"]
