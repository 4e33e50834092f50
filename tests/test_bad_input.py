"""A corpus of bad input through the `provenance` command (issue 11, item 6): each case is exactly one
``error:`` line on stderr, exit code 1 (2 for click usage errors), no traceback, nothing on stdout and
nothing sent. Most fail before any connection (the RPC URL points at a closed port, so a case that
connected would fail with a different message); the ones that need a chain share one anvil node."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS
from provenance_ledger.local.runfile import MAX_RUN_FILE_BYTES
from tests.conftest import EXE, AnvilNode, run_cli

KEY = ANVIL_DEV_KEYS[0]
DEAD = "http://127.0.0.1:1"
ROOT = "0x" + "aa" * 32
YAML_RUN = 'model: base\nversion: "1.0"\nweights_digest: "0x' + "11" * 32 + '"\n'
YAML_USES = "datanets:\n  - {datanet: alpha, version: 1, weight_ppm: 1000000}\n"
GOOD_YAML = YAML_RUN + YAML_USES


def run_json(**changes: object) -> str:
    run: dict[str, object] = {
        "model": "base",
        "version": "1.0",
        "weights_digest": "0x" + "11" * 32,
        "datanets": [{"datanet": "alpha", "version": 1, "weight_ppm": 1_000_000}],
    }
    run.update(changes)
    return json.dumps(run)


def yaml_with(line: str) -> str:
    return GOOD_YAML + line + "\n"


LAUGHS = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)
LATIN1 = (GOOD_YAML + "hyperparameters: {note: café}\n").encode("latin-1")
BINARY = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))


def case(id_: str, files: dict[str, str | bytes], args: list[str], message: str, code: int = 1):  # type: ignore[no-untyped-def]
    return pytest.param(files, args, message, code, id=id_)


CASES = [
    # -- run files: bytes and encodings
    case(
        "binary-run-file",
        {"run.json": BINARY},
        ["record", "run.json"],
        "run.json: is not UTF-8 (byte 0x80 at offset 136)",
    ),
    case(
        "binary-yaml-run-file",
        {"run.yaml": b"\x00\x01\xff"},
        ["record", "run.yaml"],
        "run.yaml: is not UTF-8 (byte 0xff at offset 2)",
    ),
    case(
        "latin1-yaml",
        {"run.yaml": LATIN1},
        ["record", "run.yaml"],
        f"run.yaml: is not UTF-8 (byte 0xe9 at offset {LATIN1.index(0xE9)})",
    ),
    case(
        "latin1-json",
        {"run.json": b'{"model": "caf\xe9"}'},
        ["record", "run.json"],
        "run.json: is not UTF-8 (byte 0xe9",
    ),
    case(
        "nul-bytes-in-utf8-yaml",
        {"run.yaml": GOOD_YAML + "\x00\n"},
        ["record", "run.yaml"],
        "run.yaml: is not valid YAML",
    ),
    case("empty-yaml", {"run.yaml": ""}, ["record", "run.yaml"], "run.yaml: is empty"),
    case("empty-json", {"run.json": ""}, ["record", "run.json"], "run.json: is empty"),
    case("whitespace-only", {"run.yaml": "\n   \n"}, ["record", "run.yaml"], "run.yaml: is empty"),
    case("comment-only-yaml", {"run.yaml": "# nothing\n"}, ["record", "run.yaml"], "run.yaml: is empty"),
    case(
        "oversized-run-file",
        {"run.yaml": GOOD_YAML + "#" * MAX_RUN_FILE_BYTES},
        ["record", "run.yaml"],
        f"run.yaml: is larger than {MAX_RUN_FILE_BYTES:,} bytes",
    ),
    # -- run files: shape
    case(
        "yaml-list",
        {"run.yaml": "- model: base\n"},
        ["record", "run.yaml"],
        "run.yaml: run: must be an object, got list",
    ),
    case("yaml-scalar", {"run.yaml": "hello\n"}, ["record", "run.yaml"], "run.yaml: run: must be an object, got str"),
    case("json-scalar", {"run.json": "42"}, ["record", "run.json"], "run.json: run: must be an object, got int"),
    case(
        "yaml-two-documents",
        {"run.yaml": GOOD_YAML + "---\nmodel: x\n"},
        ["record", "run.yaml"],
        "run.yaml: is not valid YAML",
    ),
    case("yaml-syntax", {"run.yaml": "model: [base\n"}, ["record", "run.yaml"], "run.yaml: is not valid YAML: line"),
    case("json-syntax", {"run.json": "{not json"}, ["record", "run.json"], "run.json: is not valid JSON"),
    case(
        "yaml-python-tag",
        {"run.yaml": yaml_with("hyperparameters: !!python/object/apply:os.system [ls]")},
        ["record", "run.yaml"],
        "is not allowed in run files",
    ),
    case("yaml-deep-nesting", {"run.yaml": "a: " + "[" * 5000 + "]" * 5000}, ["record", "run.yaml"], "run.yaml"),
    case(
        "json-deep-nesting",
        {"run.json": "[" * 200_000 + "]" * 200_000},
        ["record", "run.json"],
        "run.json: nests more than 32 levels deep",
    ),
    case(
        "billion-laughs",
        {"run.yaml": LAUGHS},
        ["record", "run.yaml"],
        "anchors and aliases (&name, *name) are not allowed",
    ),
    case(
        "yaml-merge-key",
        {"run.yaml": "base: &b {x: 1}\nother:\n  <<: *b\n"},
        ["record", "run.yaml"],
        "anchors and aliases",
    ),
    # -- duplicate keys
    case(
        "duplicate-key-yaml",
        {"run.yaml": yaml_with('version: "2.0"')},
        ["record", "run.yaml"],
        "run.yaml: line 6: version: duplicate key",
    ),
    case(
        "duplicate-key-yaml-nested",
        {"run.yaml": yaml_with("hyperparameters: {lr: 1, lr: 2}")},
        ["record", "run.yaml"],
        "hyperparameters.lr: duplicate key",
    ),
    case(
        "duplicate-key-json",
        {"run.json": '{"model": "a", "model": "b"}'},
        ["record", "run.json"],
        'run.json: duplicate key "model"',
    ),
    case(
        "duplicate-key-json-nested",
        {"run.json": run_json()[:-1] + ', "environment": {"a": 1, "a": 2}}'},
        ["record", "run.json"],
        'duplicate key "a"',
    ),
    # -- ambiguous scalars
    case(
        "ambiguous-on",
        {"run.yaml": yaml_with("hyperparameters: {flash: on}")},
        ["record", "run.yaml"],
        'hyperparameters.flash: on is true/false to YAML 1.1 tools; quote it ("on")',
    ),
    case(
        "ambiguous-no-key", {"run.yaml": yaml_with("environment: {no: 1}")}, ["record", "run.yaml"], 'quote it ("no")'
    ),
    case(
        "ambiguous-0755",
        {"run.yaml": yaml_with("hyperparameters: {mode: 0755}")},
        ["record", "run.yaml"],
        'quote it ("0755"), drop the leading zeros, or write 0o755',
    ),
    case(
        "ambiguous-version-1.10",
        {"run.yaml": YAML_RUN.replace('"1.0"', "1.10") + YAML_USES},
        ["record", "run.yaml"],
        'run.yaml: version: must be a string, but YAML reads 1.10 as the number 1.1; quote it: version: "1.10"',
    ),
    case(
        "ambiguous-sexagesimal",
        {"run.yaml": yaml_with("hyperparameters: {time: 1:20}")},
        ["record", "run.yaml"],
        'base-60 number to YAML 1.1 tools; quote it: "1:20"',
    ),
    case(
        "ambiguous-date",
        {"run.yaml": yaml_with("hyperparameters: {day: 2024-05-01}")},
        ["record", "run.yaml"],
        'is a date to YAML; quote it: "2024-05-01"',
    ),
    case(
        "yaml-1.1-directive",
        {"run.yaml": "%YAML 1.1\n---\n" + GOOD_YAML},
        ["record", "run.yaml"],
        "run files are YAML 1.2",
    ),
    # -- numbers and Unicode
    case(
        "json-nan",
        {"run.json": run_json()[:-1] + ', "hyperparameters": {"lr": NaN}}'},
        ["record", "run.json"],
        "run.json: hyperparameters.lr: must be a finite number, got nan",
    ),
    case(
        "json-infinity",
        {"run.json": run_json()[:-1] + ', "hyperparameters": {"lr": -Infinity}}'},
        ["record", "run.json"],
        "hyperparameters.lr: must be a finite number, got -inf",
    ),
    case(
        "json-1e999",
        {"run.json": run_json()[:-1] + ', "environment": {"x": 1e999}}'},
        ["record", "run.json"],
        "environment.x: must be a finite number",
    ),
    case(
        "yaml-nan",
        {"run.yaml": yaml_with("hyperparameters: {lr: .nan}")},
        ["record", "run.yaml"],
        "hyperparameters.lr: must be a finite number, got .nan",
    ),
    case(
        "surrogate-details-key",
        {"run.json": run_json()[:-1] + ', "hyperparameters": {"\\ud800": 1}}'},
        ["record", "run.json"],
        "run.json: hyperparameters (a key): holds a lone surrogate (\\ud800)",
    ),
    case(
        "surrogate-name",
        {"run.json": run_json(model="\ud800")},
        ["record", "run.json"],
        "run.json: model: holds a lone surrogate (\\ud800)",
    ),
    case(
        "surrogate-datanet-name",
        {"run.json": run_json(datanets=[{"datanet": "a\udfff", "version": 1, "weight_ppm": 1_000_000}])},
        ["record", "run.json"],
        "datanets[0].datanet: holds a lone surrogate (\\udfff)",
    ),
    case(
        "surrogate-version",
        {"run.json": run_json(version="1.\udc80")},
        ["record", "run.json"],
        "run.json: version: holds a lone surrogate (\\udc80)",
    ),
    # -- record semantics
    case(
        "weights-not-summing",
        {"run.yaml": GOOD_YAML.replace("1000000", "999999")},
        ["record", "run.yaml"],
        "run.yaml: datanets: weights must sum to 1,000,000 parts per million, got 999,999",
    ),
    case(
        "zero-weight",
        {
            "run.json": run_json(
                datanets=[
                    {"datanet": "alpha", "version": 1, "weight_ppm": 0},
                    {"datanet": "beta", "version": 1, "weight_ppm": 1_000_000},
                ]
            )
        },
        ["record", "run.json"],
        "datanets[0].weight_ppm: must be between 1 and 1,000,000, got 0",
    ),
    case(
        "giant-name",
        {"run.json": run_json(model="m" * 129)},
        ["record", "run.json"],
        "run.json: model: must be at most 128 bytes, got 129",
    ),
    case(
        "giant-multibyte-name",
        {"run.json": run_json(datanets=[{"datanet": "é" * 65, "version": 1, "weight_ppm": 1_000_000}])},
        ["record", "run.json"],
        "must be at most 128 bytes, got 130",
    ),
    case(
        "giant-version",
        {"run.json": run_json(version="v" * 65)},
        ["record", "run.json"],
        "run.json: model_version: must be at most 64 bytes",
    ),
    case(
        "float-weight",
        {"run.yaml": GOOD_YAML.replace("1000000", "1e6")},
        ["record", "run.yaml"],
        "datanets[0].weight_ppm: must be an integer, got 1000000.0",
    ),
    case(
        "unknown-field",
        {"run.yaml": yaml_with("modle: base")},
        ["record", "run.yaml"],
        "run.yaml: run: unknown field(s) modle",
    ),
    # -- datanet publish
    case(
        "contributor-share-2**64",
        {},
        [
            "datanet",
            "publish",
            "d",
            "--root",
            ROOT,
            "--contributor",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8:18446744073709551616",
        ],
        "contributor: shares must be at most 2**64-1 (a uint64), got 18446744073709551616",
    ),
    case(
        "contributor-no-shares",
        {},
        ["datanet", "publish", "d", "--root", ROOT, "--contributor", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
        "contributor: expected ADDRESS:SHARES",
    ),
    case(
        "contributor-unicode-digits",
        {},
        [
            "datanet",
            "publish",
            "d",
            "--root",
            ROOT,
            "--contributor",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8:\u0663",
        ],
        "contributor: expected ADDRESS:SHARES",
    ),
    case(
        "terms-json-list",
        {"t.json": "[1, 2]"},
        ["datanet", "publish", "d", "--root", ROOT, "--terms", "t.json"],
        "t.json: must hold a JSON object of licence terms, got a list",
    ),
    case(
        "terms-json-scalar",
        {"t.json": '"MIT"'},
        ["datanet", "publish", "d", "--root", ROOT, "--terms", "t.json"],
        "t.json: must hold a JSON object of licence terms, got a string",
    ),
    case(
        "terms-invalid-json",
        {"t.json": "{spdx: MIT}"},
        ["datanet", "publish", "d", "--root", ROOT, "--terms", "t.json"],
        "t.json: is not valid JSON",
    ),
    case(
        "terms-not-utf8",
        {"t.json": '{"spdx": "caf\xe9"}'.encode("latin-1")},
        ["datanet", "publish", "d", "--root", ROOT, "--terms", "t.json"],
        "t.json: is not UTF-8 (byte 0xe9 at offset 13)",
    ),
    case(
        "terms-duplicate-key",
        {"t.json": '{"spdx": "MIT", "spdx": "GPL-3.0"}'},
        ["datanet", "publish", "d", "--root", ROOT, "--terms", "t.json"],
        't.json: duplicate key "spdx"',
    ),
    case(
        "terms-nan",
        {"t.json": '{"fee": NaN}'},
        ["datanet", "publish", "d", "--root", ROOT, "--terms", "t.json"],
        "t.json: fee: must be a finite number",
    ),
    # -- verify --against
    case(
        "against-json-scalar",
        {"a.json": "42"},
        ["verify", "--against", "a.json"],
        "a.json: must hold a record object (from `show --json`) or a list of them; item #0 is not one",
    ),
    case(
        "against-list-of-scalars",
        {"a.json": '[{"record_id": "0x"}, 1, 2]'},
        ["verify", "--against", "a.json"],
        "item #1 is not one",
    ),
    case(
        "against-not-utf8",
        {"a.json": b'{"record_id": "\xff"}'},
        ["verify", "--against", "a.json"],
        "a.json: is not UTF-8 (byte 0xff at offset 15)",
    ),
    # -- output locations under a regular file
    case(
        "audit-out-under-a-file",
        {"f": "x"},
        ["audit", "base@1.0", "--out", "f/audit"],
        "f/audit: cannot be created as a directory",
    ),
    case(
        "index-db-under-a-file",
        {"f": "x"},
        ["index", "sync", "--db", "f/index.sqlite"],
        "f/index.sqlite: cannot be created",
    ),
    # -- run files: field values (issue 11 item 6: the corpus grows with each class found)
    case(
        "negative-weight",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": 1, "weight_ppm": -1}])},
        ["record", "r.json"],
        "datanets[0].weight_ppm: must be between 1 and 1,000,000, got -1",
    ),
    case(
        "string-weight",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": 1, "weight_ppm": "1000000"}])},
        ["record", "r.json"],
        "datanets[0].weight_ppm: must be an integer, got '1000000'",
    ),
    case(
        "bool-weight",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": 1, "weight_ppm": True}])},
        ["record", "r.json"],
        "datanets[0].weight_ppm: must be an integer, got True",
    ),
    case(
        "weight-over-million",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": 1, "weight_ppm": 2_000_000}])},
        ["record", "r.json"],
        "must be between 1 and 1,000,000, got 2,000,000",
    ),
    case(
        "duplicate-datanet-use",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": 1, "weight_ppm": 500_000}] * 2)},
        ["record", "r.json"],
        "datanets[1]: uses the same DataNet version twice",
    ),
    case(
        "no-datanets",
        {"r.json": run_json(datanets=[])},
        ["record", "r.json"],
        "datanets: must name at least one DataNet version",
    ),
    case(
        "datanets-not-a-list",
        {"r.json": run_json(datanets={"alpha": 1})},
        ["record", "r.json"],
        "datanets: must be a list, got dict",
    ),
    case(
        "datanet-version-zero",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": 0, "weight_ppm": 1_000_000}])},
        ["record", "r.json"],
        "datanets[0].version: must be between 1 and",
    ),
    case(
        "datanet-version-negative",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": -1, "weight_ppm": 1_000_000}])},
        ["record", "r.json"],
        "got -1",
    ),
    case(
        "datanet-version-string",
        {"r.json": run_json(datanets=[{"datanet": "alpha", "version": "one", "weight_ppm": 1_000_000}])},
        ["record", "r.json"],
        "datanets[0].version: must be an integer, got 'one'",
    ),
    case(
        "datanet-name-missing",
        {"r.json": run_json(datanets=[{"version": 1, "weight_ppm": 1_000_000}])},
        ["record", "r.json"],
        "datanets[0].datanet: is required",
    ),
    case("empty-version", {"r.json": run_json(version="")}, ["record", "r.json"], "version: must not be empty"),
    case(
        "version-number-json",
        {"r.json": run_json(version=1.0)},
        ["record", "r.json"],
        "version: must be a string, got 1.0",
    ),
    case("empty-model", {"r.json": run_json(model="")}, ["record", "r.json"], "model: must not be empty"),
    case(
        "model-missing",
        {"r.json": json.dumps({"version": "1", "weights_digest": "0x" + "11" * 32, "datanets": []})},
        ["record", "r.json"],
        "model: is required",
    ),
    case(
        "digest-short",
        {"r.json": run_json(weights_digest="0x1234")},
        ["record", "r.json"],
        "weights_digest: must be a 0x-prefixed 32-byte hex string",
    ),
    case(
        "digest-not-hex",
        {"r.json": run_json(weights_digest="0x" + "zz" * 32)},
        ["record", "r.json"],
        "weights_digest: must be a 0x-prefixed 32-byte hex string",
    ),
    case(
        "digest-number",
        {"r.json": run_json(weights_digest=12)},
        ["record", "r.json"],
        "weights_digest: must be a 0x-prefixed 32-byte hex string, got 12",
    ),
    case(
        "parents-not-a-list",
        {"r.json": run_json(parents="base@1.0")},
        ["record", "r.json"],
        "parents: must be a list, got str",
    ),
    case("parent-not-a-ref", {"r.json": run_json(parents=["no-at-sign"])}, ["record", "r.json"], "parents[0]:"),
    case("parent-short-record-id", {"r.json": run_json(parents=["0x1234"])}, ["record", "r.json"], "parents[0]:"),
    case(
        "too-many-parents",
        {"r.json": run_json(parents=[f"0x{i:064x}" for i in range(1, 18)])},
        ["record", "r.json"],
        "parents: at most 16 per run, got 17",
    ),
    case(
        "too-many-datanets",
        {"r.json": run_json(datanets=[{"datanet": f"d{i}", "version": 1, "weight_ppm": 1} for i in range(70)])},
        ["record", "r.json"],
        "datanets: at most 64 per run, got 70",
    ),
    case(
        "hyperparameters-list",
        {"r.json": run_json(hyperparameters=[1, 2])},
        ["record", "r.json"],
        "hyperparameters: must be a mapping",
    ),
    case(
        "started-after-ended",
        {"r.json": run_json(started_at=200, ended_at=100)},
        ["record", "r.json"],
        "ended_at: is before started_at",
    ),
    case(
        "negative-timestamp",
        {"r.json": run_json(started_at=-5)},
        ["record", "r.json"],
        "started_at: must be between 0 and",
    ),
    case(
        "giant-details",
        {"r.json": run_json(hyperparameters={"x": "a" * 20000})},
        ["record", "r.json"],
        "details: must be at most 16,384 bytes of canonical JSON",
    ),
    case(
        "preprocessing-not-a-list",
        {"r.json": run_json(preprocessing="dedupe")},
        ["record", "r.json"],
        "preprocessing: must be a list, got str",
    ),
    # -- command arguments, refused before anything is read from or sent to a chain
    case(
        "show-short-id", {}, ["show", "0x1234"], "RECORD_HASH: must be a 0x-prefixed 32-byte hex string, got '0x1234'"
    ),
    case("show-not-hex", {}, ["show", "hello"], "RECORD_HASH: must be a 0x-prefixed 32-byte hex string, got 'hello'"),
    case("lineage-no-at", {}, ["lineage", "base"], "MODEL@VERSION: expected NAME@VERSION, got 'base'"),
    case("lineage-empty-name", {}, ["lineage", "@1.0"], "expected NAME@VERSION, got '@1.0'"),
    case("lineage-empty-version", {}, ["lineage", "base@"], "expected NAME@VERSION, got 'base@'"),
    case("used-by-bad-version", {}, ["used-by", "alpha@x"], "DATANET@VERSION: version must be a number, got 'x'"),
    case("affected-no-version", {}, ["affected", "alpha"], "NAME@VERSION: expected NAME@VERSION, got 'alpha'"),
    case(
        "publish-root-not-hex",
        {},
        ["datanet", "publish", "alpha", "--root", "0xzz", "--spdx", "MIT"],
        "root: must be a 0x-prefixed 32-byte hex string",
    ),
    case(
        "publish-root-short",
        {},
        ["datanet", "publish", "alpha", "--root", "0x12", "--spdx", "MIT"],
        "root: must be a 0x-prefixed 32-byte hex string, got '0x12'",
    ),
    case(
        "publish-contributor-no-colon",
        {},
        ["datanet", "publish", "alpha", "--root", ROOT, "--contributor", "0xabc"],
        "contributor: expected ADDRESS:SHARES, got '0xabc'",
    ),
    case(
        "publish-contributor-bad-address",
        {},
        ["datanet", "publish", "alpha", "--root", ROOT, "--contributor", "0x12:1"],
        "address: not an Ethereum address: '0x12'",
    ),
    case(
        "publish-contributor-negative",
        {},
        ["datanet", "publish", "alpha", "--root", ROOT, "--contributor", "0x" + "11" * 20 + ":-3"],
        "contributor: expected ADDRESS:SHARES",
    ),
    case(
        "publish-terms-unknown-field",
        {"t.json": '{"spdx":"MIT","colour":"red"}'},
        ["datanet", "publish", "alpha", "--root", ROOT, "--terms", "t.json"],
        "terms: unknown field(s) colour",
    ),
    case("alias-short-address", {}, ["alias", "add", "acme", "0x1234"], "address: must be 20 bytes, got 2"),
    case("alias-bad-name", {}, ["alias", "add", "a/b", "0x" + "11" * 20], "alias: must be a letter then"),
    case(
        "authorize-bad-address", {}, ["model", "authorize", "base", "0x12"], "address: not an Ethereum address: '0x12'"
    ),
    case(
        "retract-datanet-no-version",
        {},
        ["datanet", "retract", "alpha", "--reason", "pii"],
        "expected NAME@VERSION, got 'alpha'",
    ),
    case(
        "retract-note-too-long",
        {},
        ["model", "retract", "base@1.0", "--reason", "pii", "--note", "x" * 2000],
        "note: must be at most 1,024 bytes, got 2,000",
    ),
    case("register-name-too-long", {}, ["model", "register", "m" * 200], "NAME: must be at most 128 bytes, got 200"),
    case("register-empty-name", {}, ["datanet", "register", ""], "NAME: must not be empty"),
    case(
        "register-name-like-another-owners",
        {},
        ["model", "register", "0x" + "11" * 20 + "/x"],
        "must not start with 0xADDRESS/",
    ),
    case(
        "submit-not-a-signed-file",
        {"s.json": "{}"},
        ["submit", "s.json"],
        "s.json: is not a provenance-ledger/signed-runs/1 file",
    ),
    case("submit-not-json", {"s.json": "nope"}, ["submit", "s.json"], "s.json: is not a signed-runs JSON file"),
    case(
        "retract-bad-reason",
        {},
        ["datanet", "retract", "alpha@1", "--reason", "boredom"],
        "Error: Invalid value for '--reason'",
        2,
    ),
    # -- click usage errors: exit 2, one "Error:" line
    case(
        "run-file-missing",
        {},
        ["record", "nope.yaml"],
        "Error: Invalid value for 'RUN_FILE...': File 'nope.yaml' does not exist.",
        2,
    ),
    case("terms-missing", {}, ["datanet", "publish", "d", "--root", ROOT, "--terms", "nope.json"], "does not exist", 2),
]


def _check(proc: subprocess.CompletedProcess[str], message: str, code: int) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == "", proc.stdout
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.lower().startswith("error:")]
    assert len(errors) == 1, proc.stderr
    if code == 1:
        assert len(lines) == 1, proc.stderr
    assert message in errors[0], (message, errors[0])


def _env(tmp_path: Path, url: str = DEAD) -> dict[str, str | None]:
    return {
        "PROVENANCE_CONFIG": str(tmp_path / "config.json"),
        "PROVENANCE_PRIVATE_KEY": KEY,
        "PROVENANCE_RPC_URL": url,
        "PROVENANCE_REGISTRY": None,
        "PROVENANCE_INDEX": None,
    }


def _write(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(
            content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
        )


@pytest.mark.parametrize(("files", "args", "message", "code"), CASES)
def test_bad_input_is_one_error_line(
    tmp_path: Path, files: dict[str, str | bytes], args: list[str], message: str, code: int
) -> None:
    _write(tmp_path, files)
    _check(run_cli(*args, env=_env(tmp_path), cwd=tmp_path), message, code)


@pytest.mark.parametrize("index", [0, 19, 25, 47, 54])
def test_the_real_executable_gives_the_same_error(tmp_path: Path, index: int) -> None:
    files, args, message, code = CASES[index].values
    _write(tmp_path, files)
    env = {k: v for k, v in {**os.environ, **_env(tmp_path)}.items() if v is not None}
    real = subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    _check(real, message, code)
    here = run_cli(*args, env=_env(tmp_path), cwd=tmp_path)
    assert (here.returncode, here.stdout, here.stderr) == (real.returncode, real.stdout, real.stderr)


# ----------------------------------------------------------------- with a chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    node = AnvilNode().start()
    tmp = tmp_path_factory.mktemp("chain")
    try:
        env = _env(tmp, node.url)
        for args in (
            ["deploy"],
            ["model", "register", "base"],
            ["datanet", "register", "alpha"],
            ["datanet", "publish", "alpha", "--root", ROOT, "--spdx", "MIT"],
        ):
            proc = run_cli(*args, env=env, cwd=tmp)
            assert proc.returncode == 0, proc.stderr
        yield tmp, node.url
    finally:
        node.stop()


def _nonce(url: str) -> int:
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(url)).eth.get_transaction_count(Account.from_key(KEY).address)


@pytest.mark.anvil
@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        pytest.param(
            {"p.yaml": yaml_with('parents: ["base@9.9"]')}, ["record", "p.yaml"], "base@9.9", id="missing-parent-ref"
        ),
        pytest.param(
            {"p.yaml": yaml_with('parents: ["nobody@1.0"]')},
            ["record", "p.yaml"],
            "nobody",
            id="parent-of-unregistered-model",
        ),
        pytest.param(
            {"p.yaml": GOOD_YAML.replace("alpha, version: 1", "alpha, version: 7")},
            ["record", "p.yaml"],
            "",
            id="unpublished-datanet-version",
        ),
        pytest.param(
            {"f": "x"},
            ["audit", "base@1.0", "--out", "f/audit"],
            "cannot be created as a directory",
            id="audit-out-under-a-file-with-chain",
        ),
        pytest.param(
            {"f": "x"},
            ["index", "sync", "--db", "f/i.sqlite"],
            "cannot be created",
            id="index-db-under-a-file-with-chain",
        ),
    ],
)
def test_bad_input_against_a_chain_sends_nothing(
    chain: tuple[Path, str], files: dict[str, str | bytes], args: list[str], message: str
) -> None:
    tmp, url = chain
    _write(tmp, files)
    before = _nonce(url)
    _check(run_cli(*args, env=_env(tmp, url), cwd=tmp), message, 1)
    assert _nonce(url) == before


@pytest.mark.anvil
def test_undecodable_command_line_name_is_one_error_line(chain: tuple[Path, str]) -> None:
    """A name given as non-UTF-8 bytes on the command line (a lone surrogate after decoding)."""
    tmp_path, url = chain
    before = _nonce(url)
    env = {k: v for k, v in {**os.environ, **_env(tmp_path, url)}.items() if v is not None}
    real = subprocess.run(
        [os.fsencode(str(EXE)), b"model", b"register", b"caf\xe9"],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    stderr = real.stderr.decode()
    assert real.returncode == 1 and "Traceback" not in stderr, stderr
    [line] = stderr.splitlines()
    assert line.startswith("error: ") and "lone surrogate" in line, line
    assert _nonce(url) == before
