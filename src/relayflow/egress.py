"""The egress policy: which addresses steps (http.request, code steps, app clients) may reach.

    policy = EgressPolicy.from_env(listen="127.0.0.1:8787")
    policy.check("metadata.example", ip_address("169.254.169.254"), 80)   # EgressRefused

Rules are CIDRs (`10.0.0.0/8`), addresses (`10.1.2.3`, `[::1]:8787` with a port), host
names (`api.example.com`, `*.example.com` for its subdomains) or `*` (everything). A
destination is refused when a deny rule matches it and no allow rule does. Deny rules are
the defaults (cloud metadata and link-local: 169.254.0.0/16, fd00:ec2::254; relayflow's own
listening address and port) plus RELAYFLOW_EGRESS_DENY; allow rules are
RELAYFLOW_EGRESS_ALLOW. Private and loopback ranges are allowed unless denied. Addresses are
checked after DNS resolution, on every connection (so on every redirect too).

Where it is enforced: `connector()` (the aiohttp session of http.request and `ctx.http`),
`async_transport()` / `sync_transport()` (httpx clients of apps, through the SDK), and
`guard_sockets()` (an audit hook on Python's socket module in code-step processes). This
module imports only the standard library at the top: code-step processes load it by path.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_DENY = (
    ("169.254.0.0/16", "the default: link-local and cloud metadata"),
    ("fd00:ec2::254", "the default: cloud metadata (AWS IPv6)"),
)
HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
DENY_VAR = "RELAYFLOW_EGRESS_DENY"
ALLOW_VAR = "RELAYFLOW_EGRESS_ALLOW"


class EgressRefused(Exception):
    """A connection the egress policy refuses; the message names the rule."""


@dataclass(frozen=True)
class Rule:
    text: str
    source: str  # where it comes from, for messages: "RELAYFLOW_EGRESS_DENY", "the default…"
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    host: str | None = None  # a lower-cased name; "*.x" also matches x's subdomains
    port: int | None = None
    everything: bool = False

    @classmethod
    def parse(cls, text: str, source: str) -> Rule:
        """One rule; ValueError saying what is wrong with it."""
        raw = text.strip()
        if raw == "*":
            return cls(raw, source, everything=True)
        spec, port = _split_port(raw)
        try:
            network = ipaddress.ip_network(spec, strict=False)
        except ValueError:
            network = None
        if network is not None:
            return cls(raw, source, network=network, port=port)
        name = spec.lower().rstrip(".")
        if not HOST_NAME.match(name.removeprefix("*.")):
            raise ValueError(
                f"{source}: {raw!r} is not a CIDR, an address or a host name;"
                " write e.g. 10.0.0.0/8, 10.1.2.3:8080, api.example.com or *.example.com"
            )
        return cls(raw, source, host=name, port=port)

    def matches(self, host: str | None, ip: IPAddress | None, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.everything:
            return True
        if self.network is not None:
            if ip is None:
                return False
            if ip.version == 6 and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            return ip.version == self.network.version and ip in self.network
        if host is None or self.host is None:
            return False
        name = host.lower().rstrip(".")
        if self.host.startswith("*."):
            return name.endswith(self.host[1:]) or name == self.host[2:]
        return name == self.host

    def describe(self) -> str:
        return f"{self.text} ({self.source})"


def _split_port(raw: str) -> tuple[str, int | None]:
    """`[::1]:8787`, `10.1.2.3:80`, `host:443` → (address or name, port); bare IPv6 has none."""
    if raw.startswith("["):
        address, _, rest = raw[1:].partition("]")
        return address, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if raw.count(":") == 1:
        spec, port = raw.split(":")
        if port.isdigit():
            return spec, int(port)
    return raw, None


def own_address_rules(listen: str | None) -> list[Rule]:
    """Deny rules for relayflow's own listening address (`host:port`): that address and
    port only, so the rest of loopback stays reachable; a wildcard host means every
    address of this machine at that port."""
    if not listen:
        return []
    host, port = _split_port(listen)
    if port is None:
        return []
    source = "the default: relayflow's own listening address"
    if host in ("0.0.0.0", "::", ""):
        addresses = {"127.0.0.0/8", "::1"}
        with contextlib.suppress(OSError):
            addresses.update(socket.gethostbyname_ex(socket.gethostname())[2])
        return [Rule.parse(_with_port(a, port), source) for a in sorted(addresses)]
    if host == "localhost":
        return [Rule.parse(f"127.0.0.0/8:{port}", source), Rule.parse(f"[::1]:{port}", source)]
    return [Rule.parse(listen, source)]


def _with_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass(frozen=True)
class EgressPolicy:
    deny: tuple[Rule, ...]
    allow: tuple[Rule, ...] = ()

    @classmethod
    def from_env(cls, listen: str | None = None) -> EgressPolicy:
        """The defaults, RELAYFLOW_EGRESS_DENY / _ALLOW (comma-separated) and, when given,
        relayflow's own `host:port`. ValueError naming a rule that does not parse."""
        deny = [Rule.parse(text, source) for text, source in DEFAULT_DENY]
        deny += own_address_rules(listen)
        deny += _rules(os.environ.get(DENY_VAR, ""), DENY_VAR)
        return cls(tuple(deny), tuple(_rules(os.environ.get(ALLOW_VAR, ""), ALLOW_VAR)))

    def refusal(self, host: str | None, ip: IPAddress | None, port: int | None) -> Rule | None:
        """The deny rule that refuses this destination, or None when it may be reached."""
        if any(rule.matches(host, ip, port) for rule in self.allow):
            return None
        return next((rule for rule in self.deny if rule.matches(host, ip, port)), None)

    def check(self, host: str | None, ip: IPAddress | None, port: int | None) -> None:
        rule = self.refusal(host, ip, port)
        if rule is not None:
            raise EgressRefused(_message(host, ip, port, rule))

    def check_name(self, host: str, port: int | None) -> None:
        """Before resolving: refuse a name (or an address literal) a rule denies."""
        ip = _ip(host)
        if ip is not None:
            self.check(None, ip, port)
            return
        rule = self.refusal(host, None, port)
        if rule is not None and rule.host is not None:  # `*` waits for the addresses
            raise EgressRefused(_message(host, None, port, rule))

    def allowed_addresses(self, host: str, port: int, addresses: Iterable[str]) -> list[str]:
        """The resolved `addresses` of `host` that may be reached; EgressRefused if none."""
        self.check_name(host, port)
        allowed, refused = [], None
        for address in addresses:
            ip = _ip(address)
            rule = self.refusal(host, ip, port)
            if rule is None:
                allowed.append(address)
            elif refused is None:
                refused = (ip, rule)
        if not allowed and refused is not None:
            raise EgressRefused(_message(host, refused[0], port, refused[1]))
        return allowed

    def to_json(self) -> str:
        rules = {"deny": self.deny, "allow": self.allow}
        return json.dumps({k: [[r.text, r.source] for r in v] for k, v in rules.items()})

    @classmethod
    def from_json(cls, text: str) -> EgressPolicy:
        data = json.loads(text)
        return cls(
            tuple(Rule.parse(t, s) for t, s in data["deny"]),
            tuple(Rule.parse(t, s) for t, s in data["allow"]),
        )

    def describe(self) -> str:
        deny = ", ".join(r.text for r in self.deny)
        allow = ", ".join(r.text for r in self.allow)
        return f"steps may not connect to {deny}" + (f"; except {allow}" if allow else "")


def _rules(text: str, source: str) -> list[Rule]:
    return [Rule.parse(part, source) for part in text.split(",") if part.strip()]


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _message(host: str | None, ip: IPAddress | None, port: int | None, rule: Rule) -> str:
    where = str(ip) if ip is not None else (host or "?")
    if ip is not None and host and host != str(ip):
        where = f"{host} ({ip})"
    if port is not None:
        where += f" port {port}"
    how = f"add it to {ALLOW_VAR}" if rule.source != ALLOW_VAR else "change the rules"
    return f"egress refused: {where} matches the deny rule {rule.describe()}; {how} to allow it"


# This process's policy ----------------------------------------------------------------

_current: EgressPolicy | None = None


def install(policy: EgressPolicy) -> None:
    """Make `policy` the one `current()` returns (Runtime.start does this)."""
    global _current
    _current = policy


def current() -> EgressPolicy:
    """This process's policy: the one installed, else the defaults and the environment."""
    global _current
    if _current is None:
        _current = EgressPolicy.from_env(os.environ.get("RELAYFLOW_LISTEN") or None)
    return _current


# Enforcing it in HTTP clients (imported lazily: code-step processes load only the above) --


def connector(policy: EgressPolicy | None = None, **options: Any) -> Any:
    """An aiohttp TCPConnector that resolves names as usual, then connects only to the
    addresses `policy` allows (raising EgressRefused, which aiohttp passes through)."""
    import aiohttp

    chosen = policy or current()

    class EgressConnector(aiohttp.TCPConnector):
        async def _resolve_host(self, host: str, port: int, traces: Any = None) -> Any:
            chosen.check_name(host, port)
            found = await super()._resolve_host(host, port, traces=traces)
            allowed = set(chosen.allowed_addresses(host, port, [h["host"] for h in found]))
            return [h for h in found if h["host"] in allowed]

    return EgressConnector(**options)


def async_transport(policy: EgressPolicy | None = None, **options: Any) -> Any:
    """An httpx.AsyncHTTPTransport whose connections go only where `policy` allows."""
    import httpx

    transport = httpx.AsyncHTTPTransport(**options)
    pool = transport._pool  # httpx has no public way to give httpcore a network backend
    pool._network_backend = _AsyncBackend(pool._network_backend, policy or current())
    return transport


def sync_transport(policy: EgressPolicy | None = None, **options: Any) -> Any:
    """The same for a synchronous httpx.Client."""
    import httpx

    transport = httpx.HTTPTransport(**options)
    pool = transport._pool
    pool._network_backend = _SyncBackend(pool._network_backend, policy or current())
    return transport


class _AsyncBackend:
    """An httpcore network backend that resolves, checks, then connects to an address."""

    def __init__(self, inner: Any, policy: EgressPolicy) -> None:
        self.inner = inner
        self.policy = policy

    async def connect_tcp(self, host: str, port: int, **options: Any) -> Any:
        import asyncio

        self.policy.check_name(host, port)
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        allowed = self.policy.allowed_addresses(host, port, _addresses(found))
        return await _first(allowed, lambda a: self.inner.connect_tcp(a, port, **options))

    async def connect_unix_socket(self, path: str, **options: Any) -> Any:
        return await self.inner.connect_unix_socket(path, **options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _SyncBackend:
    def __init__(self, inner: Any, policy: EgressPolicy) -> None:
        self.inner = inner
        self.policy = policy

    def connect_tcp(self, host: str, port: int, **options: Any) -> Any:
        self.policy.check_name(host, port)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        allowed = self.policy.allowed_addresses(host, port, _addresses(found))
        error: Exception | None = None
        for address in allowed:
            try:
                return self.inner.connect_tcp(address, port, **options)
            except Exception as exc:  # noqa: BLE001 - try the next address, raise the last
                error = exc
        raise error or OSError(f"{host} has no address")

    def connect_unix_socket(self, path: str, **options: Any) -> Any:
        return self.inner.connect_unix_socket(path, **options)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def _addresses(found: list[tuple[Any, ...]]) -> list[str]:
    return list(dict.fromkeys(str(info[4][0]) for info in found))


async def _first(addresses: list[str], connect: Any) -> Any:
    error: Exception | None = None
    for address in addresses:
        try:
            return await connect(address)
        except Exception as exc:  # noqa: BLE001 - try the next address, raise the last
            error = exc
    raise error or OSError("no address")


# Enforcing it in a code-step process ----------------------------------------------------


def guard_sockets(config: str) -> None:
    """Refuse, in this process, socket connections the policy (`to_json()`) refuses: an
    audit hook on Python's socket module (getaddrinfo for names, connect and sendto for
    addresses). Programs the process starts, or C code calling libc, are not covered."""
    policy = EgressPolicy.from_json(config)
    names: dict[str, str] = {}  # address -> the name it was resolved from
    local = threading.local()
    wants_names = any(rule.host is not None for rule in policy.allow + policy.deny)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.getaddrinfo":
            host, port = args[0], args[1]
            if isinstance(host, bytes):
                host = host.decode("idna", "replace")
            if not host or getattr(local, "resolving", False):
                return
            number = port if isinstance(port, int) else None
            try:
                policy.check_name(host, number)
            except EgressRefused as exc:
                raise PermissionError(str(exc)) from None
            if wants_names and _ip(host) is None:
                local.resolving = True
                try:
                    for info in socket.getaddrinfo(host, port):
                        names[str(info[4][0])] = host
                except OSError:
                    pass
                finally:
                    local.resolving = False
        elif event in ("socket.connect", "socket.sendto"):
            address = args[1]
            if not isinstance(address, tuple) or len(address) < 2:
                return  # a Unix socket
            ip = _ip(str(address[0]))
            if ip is None:
                return
            host = names.get(str(ip))
            rule = policy.refusal(host, ip, address[1])
            if rule is not None:
                raise PermissionError(_message(host, ip, address[1], rule))

    sys.addaudithook(hook)
