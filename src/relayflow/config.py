"""Where relayflow keeps its data and how it is tuned, from flags and environment variables."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8787
DEFAULT_BODY_LIMIT = 1024 * 1024


def default_home() -> Path:
    return Path(os.environ.get("RELAYFLOW_HOME") or Path.home() / ".relayflow")


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(name: str) -> tuple[IPNetwork, ...]:
    """Comma-separated addresses or CIDRs from the environment variable `name`."""
    found = []
    for item in os.environ.get(name, "").split(","):
        if item.strip():
            try:
                found.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"{name}: {item.strip()!r} is not an address or CIDR;"
                    " give e.g. 10.0.0.0/8,127.0.0.1"
                ) from None
    return tuple(found)


def _number(name: str, default: float, kind: type[int] | type[float]) -> Any:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return kind(default)
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(
            f"{name}: {raw!r} is not {'a whole' if kind is int else 'a'} number"
        ) from None


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


@dataclass
class Config:
    """Settings shared by every relayflow process that works on one home folder or database."""

    home: Path
    database_url: str
    body_limit: int = DEFAULT_BODY_LIMIT
    max_json_depth: int = 64
    lease_seconds: float = 30.0
    worker_capacity: int = 1000  # runs one worker executes at once (each workflow's own
    # `concurrency` limits runs that hold a slot; runs waiting on batched uploads hold none)
    stop_grace: float = 3.0  # seconds running runs get to finish at a stop, then are released
    exposed_env: frozenset[str] = field(default_factory=frozenset)
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    # Code steps run sandboxed (bubblewrap); without one they are refused unless opted in.
    unsafe_code_steps: bool = False
    bwrap: str | None = None  # the bubblewrap program; None: `bwrap` on PATH
    code_max_processes: int = 256  # per code-step process, threads included

    # proxies whose X-Forwarded-For is believed (webhooks' client_ip); none by default
    trusted_proxies: tuple[IPNetwork, ...] = ()
    signin_attempts: int = 5  # wrong passwords per user name in signin_window seconds
    signin_address_attempts: int = 20  # and per address
    signin_window: float = 900.0
    link_grace: float = 86400.0  # seconds a delay's resume/cancel link outlives the delay
    # what one HTTP client may make the server hold (server/protocol.py)
    max_url_bytes: int = 8 * 1024
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int = 1000
    # Apprise URLs told of every workflow's failed runs unless its settings.notify says else.
    notify_urls: tuple[str, ...] = ()

    files_roots: tuple[Path, ...] = ()  # where polling sources may read files (empty: anywhere)
    metrics_token: str | None = None  # when set, /metrics wants `Authorization: Bearer <it>`
    api_docs: bool = True  # /docs, /redoc and /openapi.json
    mask_for_viewers: bool = False  # viewers see runs without event payloads or step data
    listen: str | None = None  # host:port the server listens on (steps may not connect to it)

    @property
    def private_paths(self) -> list[Path]:
        """Folders no code step may see: the home, and the SQLite database's folder."""
        paths = [self.home]
        if self.database_url.startswith("sqlite:///"):
            paths.append(Path(self.database_url[len("sqlite:///") :]).absolute().parent)
        return paths

    @classmethod
    def load(cls, home: str | Path | None = None) -> Config:
        home_path = Path(home).expanduser() if home else default_home()
        home_path.mkdir(mode=0o700, parents=True, exist_ok=True)  # keys and database
        url = os.environ.get("RELAYFLOW_DATABASE_URL") or f"sqlite:///{home_path / 'relayflow.db'}"
        exposed = os.environ.get("RELAYFLOW_EXPOSED_ENV", "")
        return cls(
            home=home_path,
            database_url=url,
            body_limit=_number("RELAYFLOW_BODY_LIMIT", DEFAULT_BODY_LIMIT, int),
            lease_seconds=_number("RELAYFLOW_LEASE_SECONDS", 30, float),
            stop_grace=_number("RELAYFLOW_STOP_GRACE", 3, float),
            exposed_env=frozenset(n.strip() for n in exposed.split(",") if n.strip()),
            public_url=os.environ.get("RELAYFLOW_PUBLIC_URL", f"http://127.0.0.1:{DEFAULT_PORT}"),
            unsafe_code_steps=_flag("RELAYFLOW_UNSAFE_CODE_STEPS"),
            bwrap=os.environ.get("RELAYFLOW_BWRAP") or None,
            code_max_processes=_number("RELAYFLOW_CODE_MAX_PROCESSES", 256, int),
            trusted_proxies=_networks("RELAYFLOW_TRUSTED_PROXIES"),
            signin_attempts=_number("RELAYFLOW_SIGNIN_ATTEMPTS", 5, int),
            signin_address_attempts=_number("RELAYFLOW_SIGNIN_ADDRESS_ATTEMPTS", 20, int),
            signin_window=_number("RELAYFLOW_SIGNIN_WINDOW", 900, float),
            link_grace=_number("RELAYFLOW_LINK_GRACE", 86400, float),
            max_url_bytes=_number("RELAYFLOW_MAX_URL_BYTES", 8 * 1024, int),
            max_header_bytes=_number("RELAYFLOW_MAX_HEADER_BYTES", 64 * 1024, int),
            max_headers=_number("RELAYFLOW_MAX_HEADERS", 100, int),
            header_timeout=_number("RELAYFLOW_HEADER_TIMEOUT", 10, float),
            body_timeout=_number("RELAYFLOW_BODY_TIMEOUT", 10, float),
            max_connections=_number("RELAYFLOW_MAX_CONNECTIONS", 1000, int),
            notify_urls=tuple(os.environ.get("RELAYFLOW_NOTIFY_URLS", "").split()),
            files_roots=tuple(
                Path(p).expanduser().resolve()
                for p in os.environ.get("RELAYFLOW_FILES_ROOTS", "").split(os.pathsep)
                if p.strip()
            ),
            metrics_token=os.environ.get("RELAYFLOW_METRICS_TOKEN", "").strip() or None,
            api_docs=_flag("RELAYFLOW_API_DOCS", default=True),
            listen=os.environ.get("RELAYFLOW_LISTEN") or None,
            mask_for_viewers=_flag("RELAYFLOW_MASK_FOR_VIEWERS"),
        )

    @property
    def api_token_file(self) -> Path:
        return self.home / "api-token"
