"""A local Maildir as the mail source and the sender: the embedded default, no server at all.

The inbox is the Maildir at ``path`` (``new/`` and ``cur/``). Every mail still in the inbox is "new": once the
service has recorded a mail it calls :meth:`MaildirSource.settle`, which moves the mail into the Maildir++
sub-folder ``.processed`` or ``.attention`` (created on demand). There is therefore no cursor: every
:class:`FetchedMail` carries ``cursor=""``. A mail fetched but not settled before a crash is simply fetched
again; the service is idempotent by Message-ID, so that never duplicates anything.
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
import mailbox
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Self

from .sender import Refused, SendTemporaryError, bare_message_id
from .source import FetchedMail, Outcome, TransportError, check_outcome

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
# The unique names Python's mailbox writes: "<seconds>.M<microseconds>P<pid>Q<counter>.<host>"
_STDLIB_NAME = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.")


def _age(mtime_ns: int, key: str) -> tuple[int, tuple[int, int, int], str]:
    """Sort key, oldest first: file time, then the delivery time in the name (file times are coarse)."""
    match = _STDLIB_NAME.match(key)
    stamp = (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else (0, 0, 0)
    return mtime_ns, stamp, key


class MaildirSource:
    """Reads mail from a Maildir at ``path`` (created if missing)."""

    def __init__(
        self,
        path: Path | str,
        *,
        poll_interval: float = POLL_INTERVAL,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.key = f"maildir:{self.path}"
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._md = mailbox.Maildir(self.path, factory=None, create=True)
        except OSError as exc:
            raise TransportError(f"cannot open the Maildir at {self.path}: {exc.strerror or exc}") from exc
        # names seen in new/ at the last fetch (None: never fetched, so mail may be waiting)
        self._known_new: set[str] | None = None
        self._names: dict[str, str] = {}  # key -> where fetch found it (new/… or cur/…), until it is settled
        self._folders: dict[str, Path] = {}

    # ---- writing ----------------------------------------------------------------------------------------
    def drop(self, raw: bytes) -> str:
        """Put a mail into the inbox (``new/``), as a delivery agent would. Returns its key."""
        with self._lock:
            key = self._md.add(raw)
        log.debug("maildir dropped key=%s size=%d", key, len(raw))
        return key

    # ---- MailSource -------------------------------------------------------------------------------------
    def fetch(self, cursor: str | None = None, limit: int = 200) -> Iterator[FetchedMail]:
        """Every mail still in the inbox, oldest first (``cursor`` is ignored: see the module docstring)."""
        with self._lock:
            self._known_new = self._new_names()
            entries = self._inbox_entries()
        entries.sort(key=lambda entry: _age(entry[0], entry[1]))
        count = 0
        for _mtime, key, name in entries[:limit]:
            try:
                raw = (self.path / name).read_bytes()
            except FileNotFoundError:  # settled or removed by someone else meanwhile
                continue
            self._names[key] = name
            count += 1
            yield FetchedMail(raw=raw, ref=key, cursor="")
        log.debug("maildir fetched count=%d of=%d", count, len(entries))

    def settle(self, ref: str, outcome: str) -> None:
        """Move the mail into the ``processed`` or ``attention`` sub-folder, marked as seen: one rename within the
        Maildir (atomic; the mail is neither read nor written again).

        A mail that is no longer in the inbox (settled already) is left alone.
        """
        self.settle_many([ref], outcome)

    def settle_many(self, refs: Sequence[str], outcome: str) -> None:
        """:meth:`settle` for several mails (the inbox listed once at most, for those fetch did not hand out)."""
        folder_name: Outcome = check_outcome(outcome)
        with self._lock:
            listed: dict[str, str] | None = None
            for ref in refs:
                name = self._names.pop(ref, None)
                if name is None:
                    if listed is None:
                        listed = {key: found for _mtime, key, found in self._inbox_entries()}
                    name = listed.get(ref)
                try:
                    if name is None:
                        raise FileNotFoundError(ref)
                    os.rename(self.path / name, self._folder(folder_name) / "cur" / _seen(name, self._md.colon))
                except FileNotFoundError:
                    log.debug("maildir settle: key=%s is no longer in the inbox", ref)
                    continue
                log.debug("maildir settled key=%s outcome=%s", ref, folder_name)

    def wait(self, timeout: float) -> bool:
        """Poll ``new/`` every 0.5 s until a mail unseen by the last fetch appears (True) or timeout (False).

        Before the first fetch it returns True at once: mail may be waiting.
        """
        deadline = self._clock() + max(timeout, 0.0)
        new_dir = self.path / "new"
        last_mtime: int | None = None
        while True:
            try:
                mtime = new_dir.stat().st_mtime_ns
            except FileNotFoundError:
                mtime = None
            if mtime != last_mtime:
                last_mtime = mtime
                with self._lock:
                    known = self._known_new
                    if known is None or not self._new_names() <= known:
                        return True
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            self._sleep(min(self._poll_interval, remaining))

    def remove_settled(self, identities: Collection[str], *, identify: Callable[[bytes], str] | None = None,
                       dry_run: bool = False) -> int:
        """Delete the mails in the sub-folders ``.processed`` and ``.attention`` whose identity is one of
        ``identities`` (Message-IDs without ``<>``, or ``fingerprint:<hex>``); with ``dry_run`` only count them.
        Returns how many.

        Only the Message-ID header is read, unless it is missing or not a plain ``<id>``: then ``identify(raw)``
        (the reader's identity of the whole mail) decides. The inbox itself (mail not yet recorded) is left alone.
        """
        folders = [self.path / f".{name}" for name in ("processed", "attention")]
        return self.remove_mails(folders, identities, identify=identify, dry_run=dry_run)

    @staticmethod
    def remove_mails(folders: Sequence[Path], identities: Collection[str], *,
                     identify: Callable[[bytes], str] | None = None, dry_run: bool = False) -> int:
        """Delete (or, with ``dry_run``, count) the mails in the Maildirs ``folders`` (their ``new/`` and
        ``cur/``) whose Message-ID — or, without a plain one, ``identify(raw)`` — is one of ``identities``.
        A file that cannot be read or removed raises :class:`TransportError`."""
        wanted = {bare_message_id(i) for i in identities if i}
        if not wanted:
            return 0
        parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        plain_id = re.compile(r"\s*<[^<>\s\x00-\x1f\x7f]+>\s*")  # what the reader, too, takes as it is
        count = 0
        for folder in folders:
            for sub in ("new", "cur"):
                directory = folder / sub
                try:
                    names = sorted(os.listdir(directory))
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise TransportError(f"cannot read {directory}: {exc.strerror or exc}") from exc
                for name in names:
                    if name.startswith("."):
                        continue
                    path = directory / name
                    try:
                        with open(path, "rb") as fp:
                            values = [str(v) for v in parser.parse(fp, headersonly=True).get_all("Message-ID", [])]
                        if len(values) == 1 and plain_id.fullmatch(values[0]):
                            found = bare_message_id(values[0]) in wanted
                        else:
                            found = identify is not None and identify(path.read_bytes()) in wanted
                        if not found:
                            continue
                        if not dry_run:
                            path.unlink()
                    except FileNotFoundError:  # moved or removed meanwhile
                        continue
                    except OSError as exc:
                        raise TransportError(f"cannot remove mail from {folder}: {exc.strerror or exc}") from exc
                    count += 1
        log.debug("maildir removed count=%d dry_run=%s", count, dry_run)
        return count

    def close(self) -> None:
        with self._lock:
            self._md.close()

    # ---- internals --------------------------------------------------------------------------------------
    def _new_names(self) -> set[str]:
        try:
            return {name for name in os.listdir(self.path / "new") if not name.startswith(".")}
        except FileNotFoundError:
            return set()

    def _inbox_entries(self) -> list[tuple[int, str, str]]:
        """(mtime_ns, key, path under the Maildir) of each mail in new/ and cur/."""
        entries: list[tuple[int, str, str]] = []
        colon = self._md.colon
        for sub in ("new", "cur"):
            directory = self.path / sub
            try:
                scan = os.scandir(directory)
            except FileNotFoundError:
                continue
            with scan:
                for entry in scan:
                    if entry.name.startswith("."):
                        continue
                    try:
                        mtime = entry.stat().st_mtime_ns
                    except FileNotFoundError:
                        continue
                    entries.append((mtime, entry.name.split(colon)[0], f"{sub}/{entry.name}"))
        return entries

    def _folder(self, name: str) -> Path:
        """The sub-folder ``name`` (a Maildir++ folder, made on first use)."""
        path = self._folders.get(name)
        if path is None:
            if name not in self._md.list_folders():
                log.info("maildir creating folder=%s", name)
                self._md.add_folder(name)
            path = self._folders[name] = self.path / f".{name}"
        return path


def _seen(name: str, colon: str) -> str:
    """The file name of a mail moved to ``cur/`` and marked seen: its flags kept, ``S`` added (Maildir's ``:2,``
    info, which the stdlib and every IMAP server read)."""
    base = name.split("/", 1)[1]
    key, _, info = base.partition(colon)
    flags = info[2:] if info.startswith("2,") else ""
    return f"{key}{colon}2,{''.join(sorted(set(flags) | {'S'}))}"


DIRECTORY_MODE = 0o700


class MaildirSender:
    """The embedded default: each mail becomes a file in a local Maildir (``new/``). Nothing leaves the
    machine; a person (or a test) reads the folder. The folder and its missing parents are made 0700.

    :meth:`already_sent` looks for a Message-ID in the folder's own files: a mail is written to ``tmp/`` and
    renamed into ``new/``, so it is there whole or not at all, and the answer is exact.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._box: mailbox.Maildir | None = None

    def open(self) -> None:
        if self._box is not None:
            return
        try:
            _make_private_dirs(self.path)
            for sub in ("tmp", "new", "cur"):  # mailbox.Maildir makes these only when it makes the folder too
                (self.path / sub).mkdir(mode=DIRECTORY_MODE, exist_ok=True)
            self._box = mailbox.Maildir(self.path, factory=None, create=False)
        except OSError as exc:
            raise SendTemporaryError(f"cannot open the sent-mail Maildir {self.path}: {exc.strerror or exc}") from exc

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> Refused:
        self.open()
        box = self._box
        assert box is not None
        raw = msg.as_bytes(policy=msg.policy.clone(linesep="\n"))
        try:
            key = box.add(raw)
        except OSError as exc:
            raise SendTemporaryError(f"cannot write to the sent-mail Maildir {self.path}: {exc.strerror or exc}") \
                from exc
        log.debug("mail written to maildir path=%s file=%s recipients=%d", self.path, key, len(recipients))
        return {}

    def already_sent(self, message_id: str) -> bool:
        """Whether a mail with ``message_id`` is in the folder (``new/`` or ``cur/``; only headers are read)."""
        try:
            return holds([self.path], message_id)
        except OSError as exc:
            raise SendTemporaryError(f"cannot read the sent-mail Maildir {self.path}: {exc.strerror or exc}") \
                from exc

    def remove_sent(self, message_ids: Collection[str], *, dry_run: bool = False) -> int:
        """Delete the mails in the folder whose Message-ID is one of ``message_ids`` (with or without ``<>``);
        with ``dry_run`` only count them. Returns how many."""
        return MaildirSource.remove_mails([self.path], message_ids, dry_run=dry_run)

    def close(self) -> None:
        self._box = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MaildirSender({str(self.path)!r})"


def holds(folders: Sequence[Path], message_id: str) -> bool:
    """Whether one of the Maildirs ``folders`` (``new/`` or ``cur/``) holds a mail with ``message_id``; only the
    headers are read. A folder that does not exist holds nothing; other OSErrors are raised."""
    wanted = bare_message_id(message_id)
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    for folder in folders:
        for sub in ("new", "cur"):
            directory = folder / sub
            if not directory.is_dir():
                continue
            for name in os.listdir(directory):
                if name.startswith("."):
                    continue
                try:
                    with open(directory / name, "rb") as fp:
                        headers = parser.parse(fp, headersonly=True)
                except FileNotFoundError:  # moved from new/ to cur/ (or settled) meanwhile: seen under its new name
                    continue
                if any(bare_message_id(str(v)) == wanted for v in headers.get_all("Message-ID", [])):
                    return True
    return False


class MaildirCopies:
    """The bot's own mailbox as a local Maildir, where the SMTP server delivers the mailbox's own copy of each mail
    the bot sends (``mail_out.smtp.copy_to_mailbox``; see ``mailbot.transports.smtp``): ``contains`` looks for a
    Message-ID in the inbox and the ``.processed``/``.attention`` sub-folders the copy is settled into. Files
    nothing (``append`` does nothing: the server delivers the copy)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.folder: str | None = None

    def __repr__(self) -> str:
        return f"MaildirCopies({str(self.path)!r})"

    def open(self) -> None:
        pass

    def append(self, raw: bytes) -> None:
        pass

    def contains(self, message_id: str) -> bool:
        folders = [self.path, *(self.path / f".{name}" for name in ("processed", "attention"))]
        try:
            return holds(folders, message_id)
        except OSError as exc:
            raise TransportError(f"cannot read the mailbox Maildir {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        pass


def _make_private_dirs(path: Path) -> None:
    """Create ``path`` and each missing parent with mode 0700 (existing folders are left as they are)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
        folder.chmod(DIRECTORY_MODE)  # mkdir's mode is cut by the umask
