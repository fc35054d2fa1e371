"""Deadlines for hub calls: a connect and read timeout per request, bounded retries, and
one `ZooError` (exit 2) naming the endpoint when the hub does not answer.

Why: a server that accepts the TCP connection and then never answers hangs a client that
set no read timeout forever. The hub clients differ: huggingface_hub (httpx) builds its
shared client with `timeout=None`, and its HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT
cover only file requests, not the repository listing that comes first; kagglesdk (under
kagglehub) sends its API requests through a `requests.Session` with no timeout and has no
setting for one. So, for the duration of one hub call only:

- huggingface_hub gets a client factory (`huggingface_hub.set_client_factory`, its
  public hook) whose transport fills in connect/read/write/pool timeouts on every request
  that left them unset (it passes `timeout=None` per request, which a client default
  cannot override); the previous factory is put back afterwards;
- `requests.Session.send` gets the same timeouts when the caller gave none (kagglesdk);
  kagglehub's own download requests already pass (5 s, 15 s) and keep them;
- the call runs in a daemon thread joined with an overall deadline, so even a client
  that ignores both still returns control (the thread is abandoned, not waited for).

A call that times out is tried again, `ZOO_HUB_RETRIES` times; other errors are not
retried (a missing repository stays missing). Settings, read at each call:
`ZOO_HUB_TIMEOUT` (seconds per connect or read, default 30), `ZOO_HUB_RETRIES` (default
2), `ZOO_HUB_DEADLINE` (seconds for one whole try, default 3600: large presets download
within it on slow links).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from zoo.errors import ZooError

T = TypeVar("T")


class HubTimeout(ZooError):
    """A hub did not answer within the deadlines."""


def _setting(name: str, default: float, kind: type = float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if value < (0 if kind is int else 0.001):
        raise ZooError(
            f"{name}={raw!r} is not a valid number of {'tries' if kind is int else 'seconds'}; "
            f"unset it or give e.g. {default}."
        )
    return value


def timeout() -> float:
    return _setting("ZOO_HUB_TIMEOUT", 30.0)


def retries() -> int:
    return int(_setting("ZOO_HUB_RETRIES", 2, int))


def deadline() -> float:
    return _setting("ZOO_HUB_DEADLINE", 3600.0)


def _is_timeout(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) is a timeout, in any client's spelling. A refused
    connection is not, though urllib3 files its NewConnectionError under ConnectTimeoutError:
    nothing listens there, and trying again will not change that."""
    chain: list[BaseException] = []
    while exc is not None and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return False
    return any(
        isinstance(e, TimeoutError) or any("Timeout" in k.__name__ for k in type(e).__mro__)
        for e in chain
    )


@contextlib.contextmanager
def _hf_timeouts(seconds: float) -> Iterator[None]:
    try:
        import httpx2 as httpx  # huggingface_hub >= 1.x ships its httpx as httpx2.
    except ImportError:
        try:
            import httpx
        except ImportError:
            yield
            return
    try:
        from huggingface_hub.utils import _http
    except ImportError:
        yield
        return
    previous = getattr(_http, "_GLOBAL_CLIENT_FACTORY", None)
    base = getattr(_http, "hf_request_event_hook", None)

    class Bounded(httpx.HTTPTransport):
        """Fills in every timeout a request left unset: huggingface_hub passes
        `timeout=None` per request, which overrides a client's default timeout."""

        def handle_request(self, request):
            given = request.extensions.get("timeout") or {}
            request.extensions["timeout"] = {
                k: given.get(k) if given.get(k) is not None else seconds
                for k in ("connect", "read", "write", "pool")
            }
            return super().handle_request(request)

    def factory():
        hooks = {"request": [base]} if base is not None else {}
        return httpx.Client(
            event_hooks=hooks,
            follow_redirects=True,
            timeout=httpx.Timeout(seconds),
            transport=Bounded(),
        )

    _http.set_client_factory(factory)
    try:
        yield
    finally:
        if previous is not None:
            _http.set_client_factory(previous)


@contextlib.contextmanager
def _requests_timeouts(seconds: float) -> Iterator[None]:
    try:
        import requests
    except ImportError:
        yield
        return
    original = requests.Session.send

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (seconds, seconds)
        return original(self, request, **kwargs)

    requests.Session.send = send
    try:
        yield
    finally:
        requests.Session.send = original


def _within(fn: Callable[[], T], seconds: float) -> T:
    """`fn()` in a daemon thread; raises TimeoutError if it has not returned in time."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # Handed to the caller's thread.
            box["error"] = exc

    thread = threading.Thread(target=run, name="zoo-hub-call", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within the {seconds:g} s deadline")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def call(fn: Callable[[], T], *, host: str, endpoint: str, what: str) -> T:
    """`fn()` (one hub client call) under the timeouts and retries above. A timeout after
    every try is a `HubTimeout` naming `host`, `endpoint` and `what`; other errors are
    raised unchanged for the caller to word."""
    per_request, tries, whole = timeout(), retries() + 1, deadline()
    last: BaseException | None = None
    for _ in range(tries):
        try:
            with _hf_timeouts(per_request), _requests_timeouts(per_request):
                return _within(fn, whole)
        except Exception as exc:
            if not _is_timeout(exc):
                raise
            last = exc
    detail = (str(last).splitlines() or [type(last).__name__])[0][:200]
    raise HubTimeout(
        f"{host} at {endpoint} did not answer for {what} ({tries} "
        f"{'try' if tries == 1 else 'tries'}, each request allowed {per_request:g} s; last: "
        f"{type(last).__name__}: {detail}). Check the network or the endpoint, raise "
        "ZOO_HUB_TIMEOUT / ZOO_HUB_RETRIES for a slow link, or download the preset folder "
        "and give its path."
    )
