"""Folder: where an index's store lives, and how processes share it.

An embedded store's folder is shared by every process that opens it:

- one writer at a time, through a lock file beside the store (`StoreHandle.writer_lock`);
  readers take no lock, relying on the store's generations;
- each writer leaves a new stamp once its change is in (`StoreHandle.publish`), so
  that every reader notices a change with one small read (a Chroma server keeps the
  stamp in the documents collection's metadata instead);
- a read-only folder answers from a private copy, since Chroma's embedded store
  writes its database on opening, even to read;
- a process shares one Chroma client per folder. Such a client never reads the
  vectors another client wrote (chroma-core/chroma#3792), so after a change made
  through another one it is reopened, once for all the Index objects of the process.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
from pathlib import Path
from urllib.parse import urlparse

from .chromaerrors import chroma_errors
from .config import Settings
from .errors import ConfigError, IndexDamaged, IndexReadOnly, StoreError, StoreUnavailable
from .store import Store

#: Beside the embedded store: the documents it holds and where they came from, so
#: that a damaged index can be rebuilt from its sources (the default index's; see `manifest_path`).
MANIFEST = "askdoc-manifest.json"
DEFAULT_NAME = "askdoc"
LOCK_FILE = ".askdoc.lock"
#: Beside the embedded store: rewritten by each writer once its change is in.
STAMP_FILE = "askdoc-stamp"
#: An index name becomes part of Chroma collection names, which allow only these.
_NAME = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,48}[A-Za-z0-9]")
#: How long a writer waits for another process's write to finish, in seconds.
WRITER_WAIT = 600

#: Per folder, how many Chroma clients this process has opened on it. Chroma shares
#: one client per folder within a process, so the pid and this count name the client
#: that wrote a change (see `client_origin`).
_opened: dict[str, int] = {}
_opened_lock = threading.Lock()
# The newest stamp that each embedded Chroma client of this process (named by
# `client_origin`) is known to have seen.
_client_seen: dict[str, str] = {}
_client_lock = threading.Lock()


class StoreHandle:
    """An index's store: opened (created when missing), reopened after other writers, and
    shared with other processes through its folder's lock file and stamp."""

    def __init__(self, settings: Settings, name: str):
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(
                f"index name {name!r} is not allowed: use 2-50 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        self.settings, self.name = settings, name
        self.embedded = not settings.chroma_url
        self.origin = ""  # the embedded client's `client_origin`
        # Where the embedded client reads: the index folder, or a private copy of a read-only one.
        self.store_dir = settings.index_dir
        self.copied = ""  # the stamp the index folder had when it was copied
        try:
            self.store = self._open()
        except StoreError as exc:
            if not self.embedded or isinstance(exc, (IndexDamaged, IndexReadOnly)):
                raise
            raise IndexDamaged(
                f"the index at {settings.index_dir} is damaged ({exc}); "
                "run `askdoc index --rebuild` to rebuild it from its documents"
            ) from None

    @property
    def is_copy(self) -> bool:
        """Answering from a private copy of a read-only folder."""
        return self.store_dir != self.settings.index_dir

    def _open(self) -> Store:
        s = self.settings
        if not self.embedded:
            return Store(open_client(s.index_dir, s.chroma_url, s.chroma_timeout), prefix=self.name, url=s.chroma_url)
        # Opening a store that exists is a read and takes no lock: a reader never waits
        # behind a writer, and a read-only folder still answers. Creating one is a write:
        # two first writers race on Chroma's tables.
        if (s.index_dir / "chroma.sqlite3").is_file():
            store = self._open_embedded(create=False)
            if store is not None:
                return store
        # No store (or none of this index's collections in it) where the manifest says documents
        # were: that is damage, not a new index. Creating one would rewrite the manifest on the
        # first write, and `--rebuild` could no longer bring the documents back.
        what = "is missing" if not (s.index_dir / "chroma.sqlite3").is_file() else f"holds no index {self.name!r}"
        lost = lost_documents(s.index_dir, self.name, f"chroma.sqlite3 {what}")
        if lost is not None:
            raise IndexDamaged(
                f"the index at {s.index_dir} is damaged ({lost}); "
                "run `askdoc index --rebuild` to rebuild it from its documents"
            )
        with self.writer_lock():
            return self._open_embedded(create=True)

    def _open_embedded(self, create: bool) -> Store | None:
        """The embedded store; None when it lacks this index's collections and ``create`` is False."""
        folder = self.settings.index_dir
        stamp = self.read_stamp()  # before the client opens: a client opened now has read all so far
        if not create:
            from .vectorfiles import damage

            # Before Chroma loads them: a truncated file can crash the process, not raise.
            broken = damage(folder)
            if broken:
                raise IndexDamaged(
                    f"the index at {folder} is damaged (its vector files do not hold together: {broken}); "
                    "run `askdoc index --rebuild` to rebuild it from its documents"
                )
        if not create and not self.is_copy and not _writable(folder):
            self.store_dir, self.copied = _private_copy(folder), stamp
        try:
            client = open_client(self.store_dir, "", self.settings.chroma_timeout)
            if not create and not Store.exists(client, self.name):
                return None
            store = self._store(client)
        except StoreError as exc:
            # Say so rather than call the index damaged (which would move it aside to rebuild it).
            if "readonly database" in str(exc) or not _writable(self.store_dir):
                forget_client(self.store_dir)
                raise read_only(folder) from None
            raise
        self.origin = client_origin(self.store_dir)
        with _client_lock:
            _client_seen.setdefault(self.origin, stamp)
        return store

    def _store(self, client) -> Store:
        store = Store(client, prefix=self.name, folder=self.settings.index_dir)
        if store.needs_conversion and self.is_copy:
            store.convert()  # a private copy of a read-only folder is this process's to change
        return store

    @contextlib.contextmanager
    def writer_lock(self):
        """Across processes, one writer of an embedded store at a time (a lock file beside it)."""
        if not self.embedded:
            yield
            return
        from filelock import FileLock, Timeout

        folder = self.settings.index_dir
        lock = FileLock(folder / LOCK_FILE, timeout=WRITER_WAIT)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:
            raise StoreError(f"another askdoc process has been writing {folder} for 10 minutes") from None
        except OSError as exc:
            # A read-only volume or another user's folder: the lock file cannot be made.
            raise read_only(folder, exc) from None
        try:
            yield
        finally:
            lock.release()

    def read_stamp(self) -> str:
        if not self.embedded:
            return self.store.read_stamp()
        try:
            return (self.settings.index_dir / STAMP_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def publish(self) -> str:
        """Leave a new stamp (a write just changed the store); returns it."""
        stamp = f"{uuid.uuid4().hex} {self.origin}"
        if self.embedded:
            path = self.settings.index_dir / STAMP_FILE
            tmp = path.with_suffix(".tmp")
            tmp.write_text(stamp, encoding="utf-8")
            tmp.replace(path)  # readers see the old stamp or the new one, never half of one
            with _client_lock:
                _client_seen[self.origin] = stamp
        else:
            self.store.write_stamp(stamp)
        return stamp

    def catch_up(self, stamp: str) -> bool:
        """Use an embedded Chroma client that has seen the change ``stamp`` names;
        returns whether `store` is a new object."""
        folder = self.store_dir
        with _client_lock:
            current = client_origin(folder)
            if self.is_copy and stamp != self.copied:
                # A private copy of a read-only index that its owner changed since.
                forget_client(folder)
                shutil.rmtree(folder.parent, ignore_errors=True)
                folder, self.copied = _private_copy(self.settings.index_dir), stamp
                self.store_dir, self.origin = folder, ""  # a new client, whatever its count
            elif not self.is_copy and stamp.rpartition(" ")[2] != current and _client_seen.get(current) != stamp:
                forget_client(folder)  # written through another client: the next one reads the folder afresh
            client = open_client(folder, "", self.settings.chroma_timeout)  # the one this process shares
            current = client_origin(folder)
            _client_seen.setdefault(current, stamp)
            if current == self.origin:
                return False
            self.store = self._store(client)
            self.origin = current
            return True


    def reopen(self) -> None:
        """A new embedded client, which reads the folder afresh: the one held lags behind
        rows that another process wrote after it opened (see `Store.query_chunks`)."""
        if not self.embedded:
            return
        with _client_lock:
            stamp = self.read_stamp()  # before opening: the new client has seen at least this
            forget_client(self.store_dir)
            self.store = self._store(open_client(self.store_dir, "", self.settings.chroma_timeout))
            self.origin = client_origin(self.store_dir)
            _client_seen.setdefault(self.origin, stamp)


def manifest_path(folder: Path, name: str = DEFAULT_NAME) -> Path:
    """The manifest of index ``name`` in ``folder``: one per name, since named indexes share folders."""
    return folder / (MANIFEST if name == DEFAULT_NAME else f"askdoc-manifest-{name}.json")


def read_manifest(folder: Path, name: str = DEFAULT_NAME) -> dict[str, dict]:
    """The documents the manifest lists (id -> title, source); {} when there is none.
    Raises `ValueError` when it exists but cannot be read as one."""
    try:
        text = manifest_path(folder, name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{manifest_path(folder, name).name} cannot be read ({exc})") from None
    try:
        listed = json.loads(text)
    except ValueError:
        raise ValueError(f"{manifest_path(folder, name).name} is not valid JSON") from None
    if not isinstance(listed, dict) or not all(isinstance(v, dict) for v in listed.values()):
        raise ValueError(f"{manifest_path(folder, name).name} is not a manifest")
    return listed


def lost_documents(folder: Path, name: str, missing: str) -> str | None:
    """Why index ``name``, ``missing`` from ``folder``, is damage rather than new: its manifest
    lists documents, or exists and cannot be read; None if it held none."""
    try:
        listed = read_manifest(folder, name)
    except ValueError as exc:
        return f"{missing} and {exc}"
    if not listed:
        return None
    n, manifest = len(listed), manifest_path(folder, name).name
    return f"{missing}, but {manifest} lists {n} document{'s' * (n > 1)}"


def read_only(folder: Path, exc: OSError | None = None) -> IndexReadOnly:
    why = f" ({exc.strerror or exc})" if exc is not None else ""
    return IndexReadOnly(f"the index at {folder} cannot be changed: its folder is not writable{why}")


def _private_copy(folder: Path) -> Path:
    """A copy of a read-only index folder in a temporary folder removed at exit."""
    tmp = Path(tempfile.mkdtemp(prefix="askdoc-readonly-"))
    atexit.register(shutil.rmtree, tmp, True)
    try:
        # Plain file copies: the folder's read-only modes must not come along.
        copy = Path(shutil.copytree(folder, tmp / "index", ignore=shutil.ignore_patterns(LOCK_FILE),
                                    copy_function=shutil.copyfile))  # fmt: skip
        for path in [copy, *copy.rglob("*")]:
            if path.is_dir():
                path.chmod(0o700)
        return copy
    except OSError as exc:
        raise IndexReadOnly(f"the index at {folder} is read-only and could not be copied to read it: {exc}") from None


def _writable(folder: Path) -> bool:
    db = folder / "chroma.sqlite3"
    return os.access(folder, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"bad Chroma URL {url!r}: expected http://HOST:PORT")
    ssl = parsed.scheme == "https"
    return parsed.hostname, parsed.port or (443 if ssl else 8000), ssl


def open_client(index_dir: Path, chroma_url: str = "", timeout: float = 5.0):
    """An embedded PersistentClient under ``index_dir``, or an HttpClient for ``chroma_url``."""
    with chroma_errors(chroma_url):
        import chromadb

        if chroma_url:
            host, port, ssl = parse_chroma_url(chroma_url)
            # Fail fast with a clear message instead of waiting on a dead port, or on a server
            # that accepts connections but never answers (frozen: the kernel still accepts).
            try:
                socket.create_connection((host, port), timeout=timeout).close()
                _heartbeat(chroma_url, timeout)
            except OSError as exc:
                raise StoreUnavailable(f"Chroma server at {chroma_url} is unreachable: {exc}") from None
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_settings())
            _bound_calls(client, timeout)
            return client
        from chromadb.api.client import SharedSystemClient

        index_dir.mkdir(parents=True, exist_ok=True)
        # One spelling of the folder, so that "idx" and "/abs/idx" share Chroma's client.
        key = _folder_key(index_dir)
        with _opened_lock:
            if key not in SharedSystemClient._identifier_to_system:
                _opened[key] = _opened.get(key, 0) + 1
            return chromadb.PersistentClient(path=key, settings=_settings())


#: A call to a Chroma server may wait this many times the timeout for its reply: a large write
#: takes a while, a frozen server never answers.
REPLY_WAIT = 6


def _heartbeat(url: str, timeout: float) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{url.rstrip('/')}/api/v2/heartbeat", timeout=timeout) as resp:
        resp.read()


def _bound_calls(client, timeout: float) -> None:
    """Bound every call of ``client``: Chroma's HTTP client waits forever (httpx timeout=None)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(REPLY_WAIT * timeout, connect=timeout, pool=timeout)


def _folder_key(index_dir: Path) -> str:
    return str(Path(index_dir).resolve())


def client_origin(index_dir: Path) -> str:
    """Names the client that this process shares for ``index_dir`` now: ``<pid>.<n>``."""
    return f"{os.getpid()}.{_opened.get(_folder_key(index_dir), 0)}"


def forget_client(index_dir: Path) -> None:
    """Drop Chroma's in-process cache for a folder, so that reopening it starts clean
    (after a damaged store, the cached one stays broken)."""
    from chromadb.api.client import SharedSystemClient

    for key in {str(index_dir), str(Path(index_dir).resolve())}:
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
