"""Helpers shared by every command module: output, the chain environment, options and references.

Imports only click and rich at module level (so `provenance --help` stays instant); web3, the
registry client and the index are imported inside the functions that need them.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance_ledger.errors import NotFoundError, ProvenanceError, ValidationError
from provenance_ledger.report import safe

if TYPE_CHECKING:
    from rich.console import Console

    from provenance_ledger.core.manifest import Manifest

__all__ = [
    "CATCH_UP_BLOCKS",
    "DEFAULT_TIMEOUT",
    "LARGE_INPUT",
    "Env",
    "address",
    "chain_options",
    "console",
    "emit",
    "fingerprint_paths",
    "hexstr",
    "index_path",
    "json_text",
    "keystore_option",
    "reg_model_id",
    "resolve_ref",
    "source_for",
    "split_ref",
    "stderr_console",
    "tx_json",
    "tx_line",
]


class _LazyConsole:
    """The stdout rich Console, created on first use (rich.console costs ~60 ms to import, which
    `provenance --help` must not pay).

    Emoji codes are off: a name such as ``a:warning:b`` read from the chain is printed as written."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            type(self)._console = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
        return getattr(self._console, name)


console: Console = _LazyConsole()  # type: ignore[assignment]


def stderr_console() -> Console:
    """A rich Console on stderr, for progress bars and notes (stdout stays clean for --json)."""
    from rich.console import Console

    return Console(stderr=True, emoji=False)


def hexstr(b: bytes) -> str:
    return "0x" + b.hex()


def json_text(data: Any) -> str:
    """``data`` as the JSON that ``--json`` prints: ASCII only, so every control, escape and bidi
    character in a string from the chain appears as a ``\\uXXXX`` escape, never as a raw byte."""
    return json.dumps(
        data,
        indent=2,
        sort_keys=True,
        ensure_ascii=True,
        default=lambda o: hexstr(o) if isinstance(o, bytes) else str(o),
    )


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON for scripts, or call ``human`` to render it for people."""
    if as_json:
        click.echo(json_text(data))
    else:
        human()


DEFAULT_TIMEOUT = 60.0
"""``--timeout``'s default (the same as :data:`provenance_ledger.chain.jsonrpc.DEFAULT_TIMEOUT`, which
says why; written out here so that `provenance --help` imports nothing more)."""


class Env:
    """Lazily connected chain, registry and signer for one command."""

    def __init__(
        self,
        rpc_url: str | None,
        registry: str | None,
        page_size: int,
        from_block: int | None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        from provenance_ledger.chain.jsonrpc import Patience
        from provenance_ledger.local.config import Config

        self.patience = Patience(timeout)
        """How long this command waits on a node that does not answer (``--timeout``): shared by every
        request it makes, over web3 or plain JSON-RPC."""
        self.config = Config.load()
        self.rpc_url = rpc_url or self.config.rpc_url
        self.registry_address = registry
        """The --registry address, when given (else the deployment saved for the chain)."""
        self.page_size = page_size
        self._from_block = from_block
        self._w3: Any = None

    @property
    def w3(self) -> Any:
        if self._w3 is None:
            from provenance_ledger.chain.rpc import connect

            self._w3 = connect(self.rpc_url, patience=self.patience)
        return self._w3

    def registry(self, *, sign: bool = False, keystore: str | None = None) -> Any:
        from provenance_ledger.chain.client import Registry
        from provenance_ledger.chain.rpc import load_account

        chain_id = str(self.w3.eth.chain_id)
        dep = self.config.deployments.get(chain_id)
        address = self.registry_address or (dep.address if dep else None)
        if address is None:
            raise NotFoundError(
                f"no registry known for chain {chain_id} at {self.rpc_url}: run `provenance deploy` or pass --registry"
            )
        from_block = (
            self._from_block
            if self._from_block is not None
            else (dep.block if dep and dep.address == address else None)
        )  # None: the registry's deployedAt()
        account = None
        if sign:
            password = os.environ.get("PROVENANCE_KEYSTORE_PASSWORD")
            if keystore and password is None:
                password = click.prompt("Keystore password", hide_input=True, default="", show_default=False)
            account = load_account(keystore=keystore, password=password)
        # Ids are scoped by owner: a bare model or DataNet name is the signing key's (v2 stop-gap; the
        # OWNER/NAME and alias handling of the CLI is still to come).
        owner = account.address if account is not None else _env_owner()
        return Registry.at(
            self.w3, address, account, page_size=self.page_size, from_block=from_block, default_owner=owner
        )


def chain_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--rpc-url, --registry, --page-size, --from-block, --timeout and --json on every chain command."""

    @click.option(
        "--rpc-url",
        envvar="PROVENANCE_RPC_URL",
        help="JSON-RPC URL (default: the project's, else the local node http://127.0.0.1:8545).",
    )
    @click.option(
        "--registry",
        "registry_address",
        envvar="PROVENANCE_REGISTRY",
        help="Registry address (default: the one `provenance deploy` saved for this chain).",
    )
    @click.option(
        "--page-size",
        default=10_000,
        show_default=True,
        type=click.IntRange(1),
        help="Blocks per eth_getLogs page (providers cap ranges; pages are halved on refusal).",
    )
    @click.option(
        "--from-block", type=click.IntRange(0), help="First block to scan (default: the registry's deployment block)."
    )
    @click.option(
        "--timeout",
        envvar="PROVENANCE_TIMEOUT",
        default=DEFAULT_TIMEOUT,
        show_default=True,
        type=click.FloatRange(0, min_open=True),
        metavar="SECONDS",
        help="Give up on a node that has not answered for this long: each request with its retries "
        "(3 attempts on a dropped connection, timeout or HTTP 429/5xx) and each wait for a receipt "
        "(also $PROVENANCE_TIMEOUT).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
    @functools.wraps(fn)
    def wrapper(
        rpc_url: str | None,
        registry_address: str | None,
        page_size: int,
        from_block: int | None,
        timeout: float,
        as_json: bool,
        **kw: Any,
    ) -> Any:
        return fn(Env(rpc_url, registry_address, page_size, from_block, timeout), as_json, **kw)

    return wrapper


keystore_option = click.option(
    "--keystore",
    type=click.Path(dir_okay=False),
    envvar="PROVENANCE_KEYSTORE",
    help="Encrypted keystore (eth-account JSON); password from $PROVENANCE_KEYSTORE_PASSWORD or a prompt. "
    "Without it the key is read from $PROVENANCE_PRIVATE_KEY.",
)


def tx_line(what: str, tx: Any) -> None:
    """``what`` (plain text, never read as markup: pass names through :func:`safe.visible`) and the
    transaction's hash, block and gas. Lines are not wrapped: a long name cannot push text of its own
    to the start of a line."""
    console.print(
        f"{what}\n  tx {tx.tx_hash}  block {tx.block_number}  gas {tx.gas_used:,}", markup=False, soft_wrap=True
    )


def tx_json(tx: Any) -> dict[str, Any] | None:
    return None if tx is None else {"tx_hash": tx.tx_hash, "block": tx.block_number, "gas_used": tx.gas_used}


def split_ref(ref: str, what: str) -> tuple[str, str]:
    """``[OWNER/]NAME@VERSION`` -> (``[0xADDRESS/]NAME``, VERSION); an alias OWNER becomes its address."""
    name, sep, version = ref.rpartition("@")
    if not sep or not name or not version:
        raise ValidationError(what, f"expected NAME@VERSION, got {ref!r}")
    return resolve_ref(name), version


def resolve_ref(name: str) -> str:
    """``ALIAS/NAME`` -> ``0xADDRESS/NAME`` through the project's aliases; other names unchanged (a bare
    name is the signer's own, ``0xADDRESS/NAME`` another account's)."""
    from provenance_ledger.local.config import Config

    return Config.load().resolve_ref(name)


def address(value: str) -> str:
    from eth_utils.address import is_address, to_checksum_address

    if not is_address(value):
        raise ValidationError("address", f"not an Ethereum address: {value!r}")
    return to_checksum_address(value)


def _env_owner() -> str | None:
    """The address of ``$PROVENANCE_PRIVATE_KEY`` (whose bare names are its own), None when it is unset;
    a set but invalid key is an error rather than a silent "no owner"."""
    from provenance_ledger.core.address import address_of_key

    text = os.environ.get("PROVENANCE_PRIVATE_KEY")  # chain.rpc.KEY_ENV (not imported: it loads web3)
    if not text:
        return None
    try:
        key = bytes.fromhex(text.strip().removeprefix("0x"))
        if len(key) != 32:
            raise ValueError
        return address_of_key(key)
    except (ValueError, ProvenanceError):
        from provenance_ledger.chain.rpc import load_account  # its error names the problem exactly

        return str(load_account().address)


def reg_model_id(name: str) -> bytes:
    from provenance_ledger.core.canonical import entity_id

    return entity_id(_env_owner(), name, "model")


LARGE_INPUT = 64 << 20
"""Inputs of at least this many bytes get a progress bar on stderr (unless --json)."""


def fingerprint_paths(paths: str | Sequence[str], *, quiet: bool, base: str | None = None) -> Manifest:
    """:func:`~provenance_ledger.fingerprint.fingerprint`, with a progress bar on stderr for large inputs."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from provenance_ledger.local.fingerprint import fingerprint

    state: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if "bar" not in state:
            if quiet or total < LARGE_INPUT:
                return
            bar = Progress(
                TextColumn("fingerprinting"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=stderr_console(),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("fingerprinting", total=total)
        state["bar"].update(state["task"], completed=done)

    try:
        return fingerprint(paths, base=base, progress=progress)
    finally:
        if "bar" in state:
            state["bar"].stop()


CATCH_UP_BLOCKS = 1_000
"""An index at most this many blocks behind is synced before use rather than bypassed."""


def index_path(env: Env, db: str | None) -> Path:
    from provenance_ledger.index.store import default_path

    return Path(db) if db else default_path(int(env.w3.eth.chain_id))


def source_for(env: Env, *, use_index: bool = True, db: str | None = None) -> Any:
    """The local index when a fresh one exists for this chain and registry (one at most
    ``CATCH_UP_BLOCKS`` behind is synced first), else the registry, which reads the event logs."""
    import sqlite3

    from provenance_ledger.index.store import Index

    if use_index:
        fresh = _fresh_index(env, db)
        if fresh is not None:
            return fresh
    reg = env.registry()
    if not use_index:
        return reg
    path = index_path(env, db)
    if not path.exists():
        return reg
    try:
        idx = Index(path, create=False, default_owner=_env_owner)
    except ProvenanceError as exc:
        _note(f"ignoring the index {path} ({exc}); reading event logs")
        return reg
    if not idx.indexes(reg):
        idx.close()
        return reg
    if idx.is_fresh(reg):
        return idx
    last = idx.last_block
    if last is not None and reg.w3.eth.block_number - idx.confirmations - last <= CATCH_UP_BLOCKS:
        try:
            idx.sync(reg, confirmations=idx.confirmations)
        except (ProvenanceError, sqlite3.Error) as exc:
            _note(f"could not bring the index {path} up to date ({exc})")
        if idx.is_fresh(reg):
            return idx
    _note(
        f"the index {path} is behind the chain (block {idx.last_block}); reading event logs. Run `provenance index sync`."
    )
    idx.close()
    return reg


def _fresh_index(env: Env, db: str | None) -> Any:
    """The index when it is fresh for this chain and registry, decided over plain JSON-RPC (chain id,
    head, the hash of its last block) so that web3 is never imported on this path; else None, and
    :func:`source_for` takes the full path (which also reports any error properly)."""
    import sqlite3

    from provenance_ledger.chain.jsonrpc import JsonRpc
    from provenance_ledger.errors import ChainError
    from provenance_ledger.index.store import Index, default_path

    if not env.rpc_url.startswith(("http://", "https://")):
        return None
    try:
        rpc = JsonRpc(env.rpc_url, timeout=env.patience.attempt, patience=env.patience)
        head = rpc.head()
    except ChainError:
        return None
    path = Path(db) if db else default_path(head.chain_id)
    dep = env.config.deployments.get(str(head.chain_id))
    address = env.registry_address or (dep.address if dep else None)
    if address is None or not path.is_file():
        return None
    try:
        idx = Index(path, create=False, default_owner=_env_owner)
    except (ProvenanceError, sqlite3.Error):
        return None
    try:
        if idx.is_fresh_at(chain_id=head.chain_id, address=address, head=head.block_number, block_hash=rpc.block_hash):
            return idx
    except (ChainError, sqlite3.Error):
        pass
    idx.close()
    return None


def _note(text: str) -> None:
    """One line on stderr (controls in ``text``, e.g. from a path or an error message, shown as escapes)."""
    stderr_console().print(safe.visible(text), style="dim", highlight=False, markup=False)
