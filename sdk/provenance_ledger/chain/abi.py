"""The registry's ABI from the shipped artifact: selectors, raw encoding and raw log decoding.

Pure (eth_abi / eth_utils only). Encoding with a cached selector and decoding raw logs with
``eth_abi`` is several times faster than web3's contract layer (see PERFORMANCE_NOTES.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.errors import ContractRevertError

__all__ = [
    "Error",
    "Event",
    "Function",
    "RegistryAbi",
    "registry_abi",
]


def _type(param: dict[str, Any]) -> str:
    t: str = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


@dataclass(frozen=True)
class Function:
    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def encode(self, *args: Any) -> bytes:
        return self.selector + abi_encode(list(self.inputs), list(args))

    def decode_output(self, data: bytes) -> tuple[Any, ...]:
        return tuple(abi_decode(list(self.outputs), data))


@dataclass(frozen=True)
class Event:
    name: str
    topic0: bytes
    indexed: tuple[str, ...]
    indexed_names: tuple[str, ...]
    data: tuple[str, ...]
    data_names: tuple[str, ...]

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        """Decode a raw log (topics without topic0 check, data) into a name -> value dict."""
        out: dict[str, Any] = {
            name: abi_decode([typ], bytes(topic))[0]
            for name, typ, topic in zip(self.indexed_names, self.indexed, topics[1:], strict=True)
        }
        out.update(zip(self.data_names, abi_decode(list(self.data), bytes(data)), strict=True))
        return out


@dataclass(frozen=True)
class Error:
    name: str
    selector: bytes
    inputs: tuple[str, ...]
    input_names: tuple[str, ...]


@dataclass(frozen=True)
class RegistryAbi:
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes
    """The runtime code: the same on every chain and at every address (the registry has no immutables)."""
    functions: dict[str, Function]
    events: dict[str, Event]
    errors: dict[bytes, Error]

    @property
    def code_hash(self) -> bytes:
        """keccak256 of the runtime code: how a deployed registry is told from a look-alike."""
        return keccak(self.deployed_bytecode)

    def event_by_topic(self, topic0: bytes) -> Event | None:
        for e in self.events.values():
            if e.topic0 == topic0:
                return e
        return None

    def decode_revert(self, data: bytes) -> ContractRevertError | None:
        """Turn revert data into a ContractRevertError naming the custom error, if it is one."""
        if len(data) < 4:
            return None
        err = self.errors.get(bytes(data[:4]))
        if err is None:
            return None
        try:
            values = tuple(abi_decode(list(err.inputs), bytes(data[4:])))
        except Exception:  # malformed payload: report the name alone
            values = ()
        shown = ", ".join(
            f"{n}={hexstr(v) if isinstance(v, bytes) else v}" for n, v in zip(err.input_names, values, strict=False)
        )
        return ContractRevertError(err.name, values, f"registry rejected the transaction: {err.name}({shown})")


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(_type(i) for i in item['inputs'])})"


@cache
def registry_abi() -> RegistryAbi:
    """Load the compiled registry shipped inside the package (no compiler needed)."""
    text = resources.files("provenance_ledger").joinpath("artifacts/ProvenanceRegistry.json").read_text()
    artifact = json.loads(text)
    functions: dict[str, Function] = {}
    events: dict[str, Event] = {}
    errors: dict[bytes, Error] = {}
    for item in artifact["abi"]:
        kind = item["type"]
        if kind == "function":
            functions[item["name"]] = Function(
                item["name"],
                keccak(text=_signature(item))[:4],
                tuple(_type(i) for i in item["inputs"]),
                tuple(_type(o) for o in item["outputs"]),
            )
        elif kind == "event":
            ins = item["inputs"]
            events[item["name"]] = Event(
                item["name"],
                keccak(text=_signature(item)),
                tuple(_type(i) for i in ins if i["indexed"]),
                tuple(i["name"] for i in ins if i["indexed"]),
                tuple(_type(i) for i in ins if not i["indexed"]),
                tuple(i["name"] for i in ins if not i["indexed"]),
            )
        elif kind == "error":
            sel = keccak(text=_signature(item))[:4]
            errors[sel] = Error(
                item["name"], sel, tuple(_type(i) for i in item["inputs"]), tuple(i["name"] for i in item["inputs"])
            )
    return RegistryAbi(
        artifact["abi"],
        bytes.fromhex(artifact["bytecode"][2:]),
        bytes.fromhex(artifact["deployedBytecode"][2:]),
        functions,
        events,
        errors,
    )
