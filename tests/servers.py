"""Real mail servers for tests: a throw-away dovecot (IMAP + LMTP) and an aiosmtpd sink that delivers into it.

Both are context managers and are importable without pytest; ``tests/conftest.py`` wraps them in
fixtures (docs/architecture.md, "Tests", says why they are started the way they are).

dovecot is started with its own configuration in a temporary directory (``dovecot -F -c CONF``) in its own
process group, and stopped with ``os.killpg(pid, SIGTERM)``. Startup is complete when the IMAP port answers
with the ``* OK`` greeting. Each user has a passwd-file of their own, so ``add_user`` works while the server
runs. LMTP accepts any recipient (static userdb with allow_all_users): mail for people without a password can
be read back after ``add_user``.

A refused login makes dovecot slow down every later login from the same address (its auth penalty: 2 s,
then doubling up to 15 s). Test wrong passwords against a private ``DovecotServer``, never the shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import email.utils
import grp
import logging
import mailbox
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from imapclient import IMAPClient

log = logging.getLogger(__name__)

DOVECOT_BINARY_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
DEFAULT_PASSWORD = "secret"
STARTUP_TIMEOUT = 10.0


class ServerError(RuntimeError):
    """A test server could not be started or used; the message includes the server's log."""


class DovecotMissing(ServerError):
    """dovecot is not installed (or is a version these fixtures cannot configure)."""


def find_dovecot() -> str | None:
    """Path to the dovecot binary, or None."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in DOVECOT_BINARY_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def dovecot_version(binary: str) -> tuple[int, int]:
    """(major, minor) of the installed dovecot, e.g. (2, 3)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    match = re.match(r"\s*(\d+)\.(\d+)", out.stdout)
    if not match:
        raise ServerError(f"cannot read the dovecot version from {out.stdout!r} {out.stderr!r}")
    return int(match.group(1)), int(match.group(2))


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class _Identity:
    internal_user: str
    internal_group: str
    login_user: str
    mail_user: str
    mail_group: str
    uid: int
    gid: int


def _identity() -> _Identity:
    if os.geteuid() == 0:
        # dovecot refuses to store mail as uid 0; these users ship with Debian's dovecot-core package.
        uid = pwd.getpwnam("nobody").pw_uid
        gid = grp.getgrnam("nogroup").gr_gid
        return _Identity("dovecot", "dovecot", "dovenull", "nobody", "nogroup", uid, gid)
    me = pwd.getpwuid(os.geteuid())
    group = grp.getgrgid(os.getegid())
    return _Identity(me.pw_name, group.gr_name, me.pw_name, me.pw_name, group.gr_name, me.pw_uid, group.gr_gid)


_CONFIG_23 = """\
# written by tests/servers.py; nothing may follow '{{' on a line
protocols = imap lmtp
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
instance_name = {instance}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {ident.internal_user}
default_internal_group = {ident.internal_group}
default_login_user = {ident.login_user}
first_valid_uid = 1
first_valid_gid = 1
mail_uid = {ident.mail_user}
mail_gid = {ident.mail_group}
mail_location = maildir:{base}/mail/%u
mail_fsync = never
mail_max_userip_connections = 200
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = {base}/users/%u
}}
userdb {{
  driver = static
  args = allow_all_users=yes
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
"""


class DovecotServer:
    """A private dovecot serving IMAP and LMTP on free loopback ports.

    >>> with DovecotServer({"iro@example.test": "secret"}) as dovecot:
    ...     dovecot.deliver("iro@example.test", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
    ...     dovecot.messages("iro@example.test")
    """

    host = "127.0.0.1"

    def __init__(self, users: dict[str, str] | Iterable[str] = (), *, binary: str | None = None) -> None:
        self.binary = binary or find_dovecot()
        if self.binary is None:
            raise DovecotMissing(
                "dovecot is not installed (apt-get install -y dovecot-imapd dovecot-lmtpd)"
            )
        version = dovecot_version(self.binary)
        if version >= (2, 4):
            raise DovecotMissing(
                f"dovecot {version[0]}.{version[1]} found; these fixtures write a dovecot 2.3 configuration"
            )
        if isinstance(users, dict):
            self.users: dict[str, str] = dict(users)
        else:
            self.users = {user: DEFAULT_PASSWORD for user in users}
        self.imap_port = 0
        self.lmtp_port = 0
        self._ident = _identity()
        self._users_lock = threading.Lock()
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------
    @property
    def base(self) -> Path:
        if self._tmp is None:
            raise ServerError("dovecot is not started")
        return self._tmp

    @property
    def log_text(self) -> str:
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.base / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "".join(parts)

    def start(self) -> DovecotServer:
        self._tmp = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-"))
        os.chmod(self._tmp, 0o755)  # the unprivileged dovecot processes must be able to reach it
        for sub in ("run", "state", "mail"):
            (self._tmp / sub).mkdir(mode=0o755)
        os.chown(self._tmp / "mail", self._ident.uid, self._ident.gid)
        self._write_users()
        last_error: ServerError | None = None
        for _attempt in range(3):  # a freshly chosen port may be taken by someone else in between
            try:
                self._start_once()
                return self
            except ServerError as exc:
                last_error = exc
                self._kill()
                if "Address already in use" not in str(exc):
                    break
        self.stop()
        assert last_error is not None
        raise last_error

    def _start_once(self) -> None:
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        while self.lmtp_port == self.imap_port:
            self.lmtp_port = free_port()
        conf = self.base / "dovecot.conf"
        conf.write_text(
            _CONFIG_23.format(
                base=self.base,
                instance=f"mailbot-test-{os.getpid()}-{self.imap_port}",
                ident=self._ident,
                imap_port=self.imap_port,
                lmtp_port=self.lmtp_port,
            )
        )
        for name in ("dovecot.log", "stderr.log"):
            (self.base / name).write_text("")
        with open(self.base / "stderr.log", "ab") as stderr:
            self._proc = subprocess.Popen(
                [self.binary or "dovecot", "-F", "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        self._wait_for_greeting()

    def _wait_for_greeting(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerError(f"dovecot exited with status {self._proc.returncode}:\n{self.log_text}")
            try:
                with socket.create_connection((self.host, self.imap_port), timeout=1) as sock:
                    greeting = sock.makefile("rb").readline()
                if greeting.startswith(b"* OK"):
                    return
                last = repr(greeting)
            except OSError as exc:
                last = str(exc)
            time.sleep(0.02)
        raise ServerError(f"dovecot gave no IMAP greeting in {STARTUP_TIMEOUT} s ({last}):\n{self.log_text}")

    def _kill(self) -> int | None:
        """Stop dovecot's whole process group; its id (None when it was not running)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:  # a master busy starting up can be slow to stop: no need to wait
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        # whatever of the group outlived the master would keep the ports
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.pid

    def stop(self) -> None:
        try:
            group = self._kill()
            # and waited for, up to a few seconds (a busy machine takes a moment to end and reap them), so that
            # nothing of it is left when this returns; not in restart, which must be quick and only needs the ports
            gone_by = time.monotonic() + 5.0
            with contextlib.suppress(ProcessLookupError):
                while group is not None and time.monotonic() < gone_by:
                    os.killpg(group, 0)  # ProcessLookupError once the whole group is gone
                    time.sleep(0.02)
        finally:
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    def restart(self) -> None:
        """Stop and start dovecot on the same ports and data (drops every open connection)."""
        self._kill()
        conf = self.base / "dovecot.conf"
        with open(self.base / "stderr.log", "ab") as stderr:
            self._proc = subprocess.Popen(
                [self.binary or "dovecot", "-F", "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        self._wait_for_greeting()

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- users -----------------------------------------------------------------------------------------
    def _write_users(self) -> None:
        # One passwd-file per user (``args = DIR/users/%u``): dovecot re-stats a passwd-file at most once a
        # second, but opens a file it has not seen before at once, so a user added now can log in now.
        folder = self.base / "users"
        folder.mkdir(mode=0o755, exist_ok=True)
        for user, password in self.users.items():
            path = folder / user
            line = f"{user}:{{PLAIN}}{password}\n"
            if path.exists() and path.read_text() == line:
                continue
            tmp = folder / f".{user}.tmp"
            tmp.write_text(line)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)

    def add_user(self, email: str, password: str = DEFAULT_PASSWORD) -> str:
        """Add (or change) a user while dovecot runs. Returns the email."""
        if any(bad in email for bad in ":/\n") or any(bad in password for bad in ":\n"):
            raise ValueError("user names may not contain ':', '/' or newlines; passwords not ':' or newlines")
        with self._users_lock:
            self.users[email] = password
            if self._tmp is not None:
                self._write_users()
        return email

    # ---- client helpers ----------------------------------------------------------------------------------
    def imap(self, user: str, *, timeout: float = 10) -> IMAPClient:
        """A logged-in IMAPClient for a known user. The caller logs out."""
        client = IMAPClient(self.host, self.imap_port, ssl=False, timeout=timeout)
        try:
            client.login(user, self.users[user])
        except BaseException:
            client.shutdown()
            raise
        return client

    def _imap_any(self, user: str) -> IMAPClient:
        if user not in self.users:
            self.add_user(user)  # mail may be delivered over LMTP to people who have no password yet
        return self.imap(user)

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int | None:
        """Store a message in a user's folder (created if missing); returns its UID when the server says."""
        client = self._imap_any(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            resp = client.append(folder, raw)
        finally:
            client.logout()
        match = re.search(rb"APPENDUID \d+ (\d+)", resp if isinstance(resp, bytes) else b"")
        return int(match.group(1)) if match else None

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Raw bytes of every message in a user's folder, oldest first ([] if the folder does not exist)."""
        client = self._imap_any(user)
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            if not uids:
                return []
            data = client.fetch(uids, ["BODY.PEEK[]"])
            return [data[uid][b"BODY[]"] for uid in uids]
        finally:
            client.logout()

    def deliver(self, rcpt: str, raw: bytes, sender: str = "") -> None:
        """Deliver one message to one recipient over LMTP (LMTP answers once per recipient)."""
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=10) as lmtp:
            lmtp.sendmail(sender, [rcpt], raw)


# ---- SMTP ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP sink received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    delivery_errors: tuple[str, ...] = ()


class _SinkHandler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self, smtp: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        # AUTH is enforced here rather than with aiosmtpd's auth_required, which warns on every connection
        # when TLS is not required too (on loopback in tests that is the point).
        if self._server.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        stamped = gateway_stamp(raw, envelope.mail_from or "")  # what the mailboxes get, as behind a real gateway
        rcpts = tuple(envelope.rcpt_tos)
        dovecot, mail_from = self._server.dovecot, envelope.mail_from or ""

        maildirs = self._server.maildirs

        def deliver_all() -> tuple[str, ...]:
            errors: list[str] = []
            for rcpt in rcpts:
                if rcpt.lower() in maildirs:  # a local mailbox, as an MTA's local delivery writes it
                    mailbox.Maildir(maildirs[rcpt.lower()], create=True).add(stamped)
            for rcpt in rcpts if dovecot is not None else ():
                try:
                    dovecot.deliver(rcpt, stamped, mail_from)
                except (smtplib.SMTPException, OSError) as exc:
                    log.warning("LMTP delivery to %s failed: %s", rcpt, exc)
                    errors.append(f"{rcpt}: {exc}")
            return tuple(errors)

        # Like a real MTA, the message is taken (recorded) for every recipient at once, then delivered to the end in
        # its own thread even when the client hangs up before the reply (a killed sender cancels this coroutine,
        # so nothing after the await may be needed to count the mail as taken).
        taken = ReceivedMail(mail_from, rcpts, raw)
        self._server._record(taken)
        errors = await asyncio.to_thread(deliver_all)
        if errors:
            self._server._replace(taken, ReceivedMail(mail_from, rcpts, raw, errors))
        return "250 Message accepted for delivery"


GATEWAY_ID = "gateway.example.test"


def gateway_stamp(raw: bytes, mail_from: str) -> bytes:
    """What the council's mail gateway does to mail it passes on, as RFC 8601 says: drop any
    ``Authentication-Results`` that claim its authserv-id, then add its own verdict on top. This sink has no SPF or
    DKIM to check, so it passes DMARC when the envelope sender's domain is the From domain (a forged From sent
    through the gateway from another domain fails); mail put straight into a mailbox has no stamp at all."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    message = email.message_from_bytes(head + sep, policy=email.policy.compat32)
    from_domain = email.utils.parseaddr(str(message.get("From", "")))[1].rpartition("@")[2].lower()
    envelope_domain = mail_from.rpartition("@")[2].lower()
    verdict = "pass" if from_domain and from_domain == envelope_domain else "fail"
    lines, dropping = [], False
    for line in head.splitlines(keepends=True):
        if not line[:1].isspace():  # a new header: drop it (and its folded lines) when it claims our id
            dropping = line.lower().startswith(b"authentication-results:") and GATEWAY_ID.encode() in line.lower()
        if not dropping:
            lines.append(line)
    stamp = (f"Authentication-Results: {GATEWAY_ID}; spf={verdict} smtp.mailfrom={envelope_domain or 'unknown'};"
             f" dmarc={verdict} header.from={from_domain or 'unknown'}\r\n").encode()
    return stamp + b"".join(lines) + sep + body


class SmtpServer:
    """aiosmtpd on a free loopback port. Keeps a copy of every message in ``received`` and delivers each into
    dovecot (when given) over LMTP, one recipient per transaction, and into a local Maildir for the addresses in
    ``maildirs``. With ``auth=(user, password)`` AUTH is
    required (PLAIN/LOGIN, allowed without TLS on loopback)."""

    host = "127.0.0.1"

    def __init__(self, dovecot: DovecotServer | None = None, *, auth: tuple[str, str] | None = None,
                 maildirs: dict[str, Path] | None = None) -> None:
        self.dovecot = dovecot
        self.auth = auth
        self.maildirs = {address.lower(): path for address, path in (maildirs or {}).items()}
        self.port = 0
        self._lock = threading.Lock()
        self._received: list[ReceivedMail] = []
        self._controller: Any = None

    @property
    def received(self) -> list[ReceivedMail]:
        """A snapshot of what was received so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def _record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._received.append(mail)

    def _replace(self, old: ReceivedMail, new: ReceivedMail) -> None:
        with self._lock:
            self._received[self._received.index(old)] = new

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def _authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            self.auth is not None
            and isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.auth[0]
            and auth_data.password.decode() == self.auth[1]
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs = {"authenticator": self._authenticator, "auth_require_tls": False}
        self.port = free_port()
        self._controller = Controller(
            _SinkHandler(self), hostname=self.host, port=self.port, ready_timeout=10, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# ---- pytest glue (pytest is imported lazily so this module stays usable without it) ---------------------


def in_ci() -> bool:
    """True when the environment says this is CI, where a missing server must fail, not skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def start_dovecot(users: dict[str, str] | Iterable[str] = ()) -> DovecotServer:
    """Start dovecot for a test; skip the test if dovecot is missing, but fail under CI=true."""
    import pytest

    try:
        return DovecotServer(users).start()
    except DovecotMissing as exc:
        if in_ci():
            pytest.fail(f"{exc} — CI=true, so integration tests may not be skipped", pytrace=False)
        pytest.skip(str(exc))
