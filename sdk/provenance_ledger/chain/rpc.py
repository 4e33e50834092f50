"""Connections to a chain and a signer that sends raw transactions. All chain I/O lives here.

``connect("embedded")`` starts an in-process EVM (eth-tester + py-evm, Prague rules); any other value
is an HTTP(S) JSON-RPC URL (anvil, a testnet, mainnet...).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import TimeExhausted, Web3Exception

from provenance_ledger.chain.abi import registry_abi
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.errors import ChainError, ValidationError

__all__ = [
    "ANVIL_DEV_KEYS",
    "EMBEDDED",
    "EMBEDDED_DEV_KEYS",
    "KEY_ENV",
    "Receipt",
    "Signer",
    "connect",
    "dev_keys",
    "explain",
    "load_account",
    "quantity",
    "revert_data",
]

EMBEDDED = "embedded"
"""Name of the in-process chain (eth-tester with py-evm)."""

# Development keys: eth-tester funds the keys 1..10; anvil funds the keys of the well-known
# "test test ... junk" mnemonic. Public knowledge, valid only on local development chains.
EMBEDDED_DEV_KEYS = tuple("0x" + f"{i:064x}" for i in range(1, 11))
ANVIL_DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
)
KEY_ENV = "PROVENANCE_PRIVATE_KEY"
"""Environment variable holding a hex private key (the alternative to an encrypted keystore)."""


def connect(rpc_url: str = EMBEDDED, *, timeout: float = 30.0) -> Web3:
    """Connect to ``rpc_url`` (or start the embedded chain); raise ChainError if nothing answers."""
    if rpc_url == EMBEDDED:
        from web3 import EthereumTesterProvider

        return Web3(EthereumTesterProvider())
    if not rpc_url.startswith(("http://", "https://")):
        raise ValidationError("rpc_url", f"must be an http(s) URL or {EMBEDDED!r}, got {rpc_url!r}")
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        _ = w3.eth.chain_id  # the first request: does anything answer?
    except Exception as exc:  # requests/aiohttp raise many types; all mean "no chain here"
        raise ChainError(f"no chain answers at {rpc_url} ({type(exc).__name__})") from None
    return w3


def dev_keys(w3: Web3) -> tuple[str, ...]:
    """The funded development keys of a local chain (embedded or anvil), empty elsewhere."""
    if _is_embedded(w3):
        return EMBEDDED_DEV_KEYS
    if w3.eth.chain_id == 31337:
        return ANVIL_DEV_KEYS
    return ()


def _is_embedded(w3: Web3) -> bool:
    return type(w3.provider).__name__ == "EthereumTesterProvider"


def load_account(
    *, private_key: str | None = None, keystore: str | None = None, password: str | None = None
) -> LocalAccount:
    """A signing account from a key, an encrypted keystore file, or ``$PROVENANCE_PRIVATE_KEY``."""
    if keystore is not None:
        try:
            with open(keystore) as fh:
                encrypted = fh.read()
        except OSError as exc:
            raise ValidationError("keystore", f"cannot read {keystore}: {exc.strerror}") from None
        try:
            key = Account.decrypt(encrypted, password or "")
        except ValueError as exc:
            raise ValidationError("keystore", f"cannot decrypt {keystore}: {exc}") from None
        account: LocalAccount = Account.from_key(key)  # eth_account's combomethods are untyped
        return account
    key_text = private_key or os.environ.get(KEY_ENV)
    if not key_text:
        raise ValidationError("key", f"no signing key: pass --keystore or set ${KEY_ENV}")
    try:
        account = Account.from_key(key_text)
    except (ValueError, TypeError) as exc:
        raise ValidationError("key", f"not a valid private key ({exc})") from None
    return account


def quantity(value: object) -> int:
    """A JSON-RPC quantity: a hex string from a node, an int from the in-process tester."""
    return int(value, 16) if isinstance(value, str) else int(value)  # type: ignore[call-overload]


def revert_data(exc: BaseException) -> bytes | None:
    """The revert payload carried by a node's error (anvil/JSON-RPC or eth-tester), if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, bytes):
            return arg
        if isinstance(arg, str) and arg.startswith("execution reverted: b"):
            try:
                value = ast.literal_eval(arg.removeprefix("execution reverted: "))
            except (ValueError, SyntaxError):
                return None
            return value if isinstance(value, bytes) else None
    return None


def explain(exc: Exception) -> Exception:
    """Map a node error to the library's errors, decoding the registry's custom errors."""
    data = revert_data(exc)
    if data is not None:
        decoded = registry_abi().decode_revert(data)
        if decoded is not None:
            return decoded
    return ChainError(f"the chain rejected the transaction ({type(exc).__name__}: {exc})")


@dataclass(frozen=True)
class Receipt:
    """The parts of a transaction receipt the SDK reports."""

    tx_hash: str
    block_number: int
    gas_used: int
    logs: tuple[Any, ...]


class Signer:
    """Signs and sends raw transactions to one contract, managing the nonce locally.

    ``send`` does not wait; ``wait`` polls with a small latency. Reverts are decoded into the
    registry's custom errors (ContractRevertError) before anything is sent.
    """

    def __init__(self, w3: Web3, account: LocalAccount) -> None:
        self.w3 = w3
        self.account = account
        self.address = account.address
        self._nonce: int | None = None
        self._chain_id = w3.eth.chain_id
        self._fees: dict[str, int] | None = None

    def _fee_fields(self) -> dict[str, int]:
        if self._fees is None:
            block = self.w3.eth.get_block("latest")
            base = int(block.get("baseFeePerGas") or 0)
            try:
                tip = int(self.w3.eth.max_priority_fee)
            except (Web3Exception, ValueError):
                tip = 1_000_000_000
            self._fees = {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}
        return self._fees

    def estimate(self, to: str | None, data: bytes) -> int:
        """Gas for the call; raises ContractRevertError with the decoded custom error on revert."""
        tx: dict[str, Any] = {"from": self.address, "data": data}
        if to is not None:
            tx["to"] = to
        try:
            return int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        except Exception as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: Exception) -> Exception:
        return explain(exc)

    def send(self, to: str | None, data: bytes, gas: int) -> str:
        """Sign and send; returns the transaction hash without waiting."""
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
        tx: dict[str, Any] = {
            "from": self.address,
            "data": data,
            "gas": gas,
            "nonce": self._nonce,
            "chainId": self._chain_id,
            "value": 0,
            "type": 2,
            **self._fee_fields(),
        }
        if to is not None:
            tx["to"] = to
        signed = self.account.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            self._nonce = None  # re-read from the chain next time
            raise self._explain(exc) from None
        self._nonce += 1
        return hexstr(tx_hash)

    def wait(self, tx_hash: str, *, timeout: float = 120.0) -> Receipt:
        """Wait for the receipt; raise ChainError if the transaction reverted or never mined."""
        try:
            r = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.01)  # type: ignore[arg-type]
        except TimeExhausted:
            raise ChainError(f"transaction {tx_hash} was not mined within {timeout:.0f} s") from None
        if r["status"] != 1:
            raise ChainError(f"transaction {tx_hash} reverted on chain (block {r['blockNumber']})")
        return Receipt(tx_hash, int(r["blockNumber"]), int(r["gasUsed"]), tuple(r["logs"]))

    def transact(self, to: str | None, data: bytes, *, gas_margin: float = 1.15) -> Receipt:
        """Estimate (decoding any revert), send and wait."""
        gas = int(self.estimate(to, data) * gas_margin) + 10_000
        tx_hash = self.send(to, data, gas)
        return self.wait(tx_hash)
