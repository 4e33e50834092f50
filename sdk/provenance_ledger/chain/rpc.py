"""Connections to a chain and a signer that sends raw transactions. All chain I/O lives here.

``connect("embedded")`` starts an in-process EVM (eth-tester + py-evm, Prague rules); any other value
is an HTTP(S) JSON-RPC URL (anvil, a testnet, mainnet...).

Over HTTP every request has a timeout and a command's waiting is bounded by one
:class:`~provenance_ledger.chain.jsonrpc.Patience` (``--timeout``). Connection failures, timeouts
and HTTP 429/5xx are retried (3 attempts, backoff 0.25 s then 0.5 s) by web3's own
``ExceptionRetryConfiguration``; what still fails is an :class:`RPCTransportError` naming the method,
the URL and the cause, never a verdict about the chain or the registry. Resending
``eth_sendRawTransaction`` is safe: it is the same signed transaction (same nonce, same hash), which
the node can include at most once.
"""

from __future__ import annotations

import ast
import os
import threading
from dataclasses import dataclass
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import TimeExhausted, TransactionNotFound, Web3Exception
from web3.providers.rpc import HTTPProvider
from web3.providers.rpc.utils import ExceptionRetryConfiguration, check_if_retry_on_failure
from web3.types import RPCEndpoint, RPCResponse

from provenance_ledger.chain.abi import registry_abi
from provenance_ledger.chain.jsonrpc import DEFAULT_TIMEOUT, Patience, RPCTransportError
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.errors import ChainError, ProvenanceError, ValidationError

__all__ = [
    "ANVIL_DEV_KEYS",
    "ATTEMPTS",
    "EMBEDDED",
    "EMBEDDED_DEV_KEYS",
    "KEY_ENV",
    "OutcomeUnknownError",
    "PatientHTTPProvider",
    "RPCTransportError",
    "Receipt",
    "Signer",
    "connect",
    "dev_keys",
    "explain",
    "load_account",
    "patience_of",
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


ATTEMPTS = 3
"""Attempts per request on a transport failure (connection, timeout, HTTP 429/5xx)."""

_PLAIN_READS = frozenset(
    {
        "eth_chainId",
        "eth_blockNumber",
        "eth_getTransactionCount",
        "eth_getTransactionReceipt",
        "eth_getTransactionByHash",
        "eth_getCode",
        "eth_getBlockByNumber",
    }
)
"""Methods whose JSON-RPC error means nothing but "the node failed": raised as a ChainError naming the
method here (eth_call, eth_estimateGas and eth_sendRawTransaction errors carry reverts; eth_getLogs
errors are a provider's range caps; eth_maxPriorityFeePerGas has a fallback)."""


class _RetryableStatus(requests.HTTPError):
    """HTTP 429 or 5xx: worth another attempt."""


def _retryable_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        response.close()
        raise _RetryableStatus(f"HTTP {response.status_code}", response=response)


class OutcomeUnknownError(ChainError):
    """A transaction was sent but its receipt was not seen: it may or may not be mined."""

    def __init__(self, tx_hash: str, cause: str) -> None:
        self.tx_hash = tx_hash
        super().__init__(
            f"sent as {tx_hash}, not yet seen; run the same command again to check: it will not be sent twice ({cause})"
        )


class PatientHTTPProvider(HTTPProvider):
    """web3's HTTPProvider with a timeout on every attempt, bounded retries of transport failures and
    one :class:`Patience` for the whole connection; failures are :class:`RPCTransportError`."""

    def __init__(self, url: str, patience: Patience) -> None:
        super().__init__(
            url,
            request_kwargs={"hooks": {"response": [_retryable_status]}},
            session=requests.Session(),
            exception_retry_configuration=ExceptionRetryConfiguration(
                errors=(requests.ConnectionError, requests.Timeout, _RetryableStatus),
                retries=ATTEMPTS,
                backoff_factor=0.25,
            ),
        )
        self.patience = patience
        self._state = threading.local()
        """This thread's request: method, attempts made, whether failed attempts are retried."""

    def get_request_kwargs(self) -> dict[str, Any]:
        """Called by web3 before each attempt: the attempt's timeout, or the end when patience is spent."""
        timeout = self.patience.start(only=not getattr(self._state, "retried", True))
        if timeout <= 0:
            raise RPCTransportError(
                f"{self._where()}: no answer within {self.patience.seconds:g} s{self._after()} "
                f"(--timeout {self.patience.seconds:g} s)"
            )
        self._state.attempts = getattr(self._state, "attempts", 0) + 1
        return {**super().get_request_kwargs(), "timeout": timeout}

    def _where(self) -> str:
        return f"RPC transport: {getattr(self._state, 'method', '')} to {self.endpoint_uri}"

    def _after(self) -> str:
        n = getattr(self._state, "attempts", 0)
        return f" after {n} attempt{'s' if n != 1 else ''}" if n else ""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        config = self.exception_retry_configuration
        self._state.method, self._state.attempts = str(method), 0
        self._state.retried = config is not None and check_if_retry_on_failure(method, config.method_allowlist)
        try:
            response = super().make_request(method, params)
        except requests.Timeout:
            raise RPCTransportError(
                f"{self._where()}: no answer in time{self._after()} (--timeout {self.patience.seconds:g} s)"
            ) from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "error"
            raise RPCTransportError(f"{self._where()}: HTTP {status}{self._after()}") from None
        except requests.ConnectionError as exc:
            raise RPCTransportError(f"{self._where()}: {_connection_problem(exc)}{self._after()}") from None
        except requests.RequestException as exc:
            raise RPCTransportError(f"{self._where()}: {type(exc).__name__}{self._after()}") from None
        except (ValueError, UnicodeDecodeError):  # the body is not JSON
            raise RPCTransportError(f"{self._where()}: the answer is not JSON") from None
        if not isinstance(response, dict):
            raise RPCTransportError(f"{self._where()}: the answer is not a JSON-RPC response")
        self.patience.answered()
        error = response.get("error")
        if error is not None and method in _PLAIN_READS:
            raise ChainError(f"RPC error: {method} at {self.endpoint_uri}: {_rpc_error_text(error)}")
        return response


def _connection_problem(exc: requests.ConnectionError) -> str:
    text = str(exc)
    if "Connection refused" in text or "NewConnectionError" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset" in text.lower():
        return "connection dropped"
    return "connection failed"


def _rpc_error_text(error: Any) -> str:
    if isinstance(error, dict):
        code = f" {error['code']}" if "code" in error else ""
        return f"JSON-RPC error{code}: {error.get('message', '')}"
    return f"JSON-RPC error: {error}"


def patience_of(w3: Web3) -> Patience | None:
    """The Patience of a connection made by :func:`connect` (None for the embedded chain)."""
    p = getattr(w3.provider, "patience", None)
    return p if isinstance(p, Patience) else None


def connect(rpc_url: str = EMBEDDED, *, timeout: float = DEFAULT_TIMEOUT, patience: Patience | None = None) -> Web3:
    """Connect to ``rpc_url`` (or start the embedded chain); raise ChainError if nothing answers.

    ``patience`` (default: ``Patience(timeout)``) bounds how long any request, with its retries, and
    any wait for a receipt waits on a node that does not answer."""
    if rpc_url == EMBEDDED:
        from web3 import EthereumTesterProvider

        return Web3(EthereumTesterProvider())
    if not rpc_url.startswith(("http://", "https://")):
        raise ValidationError("rpc_url", f"must be an http(s) URL or {EMBEDDED!r}, got {rpc_url!r}")
    w3 = Web3(PatientHTTPProvider(rpc_url, patience or Patience(timeout)))
    try:
        _ = w3.eth.chain_id  # the first request: does anything answer?
    except RPCTransportError as exc:
        raise RPCTransportError(f"no chain answers at {rpc_url} ({exc})") from None
    except ProvenanceError:
        raise
    except Exception as exc:  # a malformed answer to eth_chainId
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


def explain(exc: Exception, failed: str = "the chain rejected the transaction") -> Exception:
    """Map a node error to the library's errors, decoding the registry's custom errors. A library
    error (a transport failure, an RPC error already named) is returned as it is; any other error is
    ``failed`` with the node's words."""
    if isinstance(exc, ProvenanceError):
        return exc
    data = revert_data(exc)
    if data is not None:
        decoded = registry_abi().decode_revert(data)
        if decoded is not None:
            return decoded
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict) and response.get("error") is not None:
        return ChainError(f"{failed} ({_rpc_error_text(response['error'])})")
    return ChainError(f"{failed} ({type(exc).__name__}: {exc})")


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
            raise self._explain(exc, "eth_estimateGas failed, so nothing was sent") from None

    def _explain(self, exc: Exception, failed: str = "the chain rejected the transaction") -> Exception:
        return explain(exc, failed)

    def send(self, to: str | None, data: bytes, gas: int) -> str:
        """Sign and send; returns the transaction hash without waiting.

        When the send fails but the node knows the transaction (a retried send whose first attempt had
        reached it: "already known", "nonce too low"), it was sent; when that cannot be known (a
        transport failure), :class:`OutcomeUnknownError`. Never reported as rejected unless it was."""
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
        tx_hash = hexstr(signed.hash)
        try:
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            self._nonce = None  # re-read from the chain next time
            known = self._known(tx_hash)
            if known:
                return tx_hash
            if isinstance(exc, RPCTransportError) or known is None:
                raise OutcomeUnknownError(tx_hash, str(exc)) from None
            raise self._explain(exc) from None
        self._nonce += 1
        return tx_hash

    def _known(self, tx_hash: str) -> bool | None:
        """Does the node know ``tx_hash`` (pending or mined)? None when it cannot be asked."""
        try:
            self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        except ProvenanceError:
            return None
        return True

    def wait(self, tx_hash: str, *, timeout: float | None = None) -> Receipt:
        """Wait for the receipt (at most ``timeout`` seconds, default the connection's patience, else
        120); raise ChainError if the transaction reverted, :class:`OutcomeUnknownError` when its
        receipt was not seen."""
        if timeout is None:
            patience = patience_of(self.w3)
            timeout = 120.0 if patience is None else patience.seconds
        try:
            r = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.01)  # type: ignore[arg-type]
        except TimeExhausted:
            raise OutcomeUnknownError(tx_hash, f"not mined within {timeout:g} s") from None
        except ProvenanceError as exc:
            raise OutcomeUnknownError(tx_hash, str(exc)) from None
        if r["status"] != 1:
            raise ChainError(f"transaction {tx_hash} reverted on chain (block {r['blockNumber']})")
        return Receipt(tx_hash, int(r["blockNumber"]), int(r["gasUsed"]), tuple(r["logs"]))

    def transact(self, to: str | None, data: bytes, *, gas_margin: float = 1.15) -> Receipt:
        """Estimate (decoding any revert), send and wait."""
        gas = int(self.estimate(to, data) * gas_margin) + 10_000
        tx_hash = self.send(to, data, gas)
        return self.wait(tx_hash)
