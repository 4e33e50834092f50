"""A local SQLite index of every registry event: a cache for fast queries; the chain is the truth.

``Index.sync(registry)`` reads every registry event since the last synced block with one
``eth_getLogs`` per page (all event kinds at once: a topic0 list plus the address filter), decodes the
raw logs with ``eth_abi`` / by hand (never web3's contract event layer), and writes each page in one
SQLite transaction (``executemany``, WAL mode). It is reorg-safe: the hash of every block that had
registry logs and of the last synced block is stored; each sync first compares the hashes of the last
few synced blocks with the chain and, on a mismatch, deletes everything from the fork point on and
reads it again. ``confirmations=N`` keeps the newest N blocks out of the index.

Repeats: the first RunRecorded event of a record id (in chain order) fills its ``runs`` row; a later
one (the same run anchored again, or recorded individually after being anchored) goes to ``repeats``
and is returned in :attr:`RecordedRun.repeats`, so no reader counts a record twice.

The index implements :class:`~provenance_ledger.lineage.LedgerSource`: every record read back is
re-hashed (``keccak(record) == record_id``) and re-decoded, and an anchored record's Merkle proof is
rebuilt and checked against its batch root, so an altered or corrupted row raises
:class:`~provenance_ledger.errors.VerificationError` instead of being returned.

Schema (ids and hashes are 32-byte BLOBs, addresses 20-byte BLOBs)::

    meta(key PK, value)                      schema, chain_id, address, from_block, last_block, confirmations
    blocks(number PK, hash)                  every block with registry logs, plus each page's last block
    models(model_id PK, name, owner, block)
    trainers(block, log_index, model_id, trainer, authorized)          PK (block, log_index)
    datanets(datanet_id PK, name, owner, block)
    datanet_versions(datanet_id, version, content_root, manifest_hash, terms, contributors, block)
                                             PK (datanet_id, version); contributors as JSON
    runs(record_id PK, model_id, version_key, model_version, block, tx_hash, log_index, record,
         recorder, anchor_root)              first occurrence of each record; indexes (version_key), (block)
    repeats(record_id, block, tx_hash, log_index, recorder, anchor_root)
                                             later occurrences of a record (same bytes): PK (block, log_index);
                                             listed with their record, never counted
    datanet_retractions(block, log_index, datanet_id, owner, version, reason, note, tx_hash)
    model_retractions(block, log_index, model_id, version_key, owner, model_version, reason, note, tx_hash)
    datanet_uses(datanet_id, version, record_id, model_id, weight, log_index)
                                             PK (datanet_id, version, record_id)
    parents(parent_id, record_id)            PK (parent_id, record_id); index (record_id, parent_id)
    anchors(root PK, block, tx_hash, log_index, count, tree)  tree = every level of the batch's Merkle
                                             tree (leaves first), concatenated: proofs need no hashing
    seals(kind, key, mac)                    HMAC-SHA256 of each runs/models/datanets/datanet_versions row
                                             as synced, keyed by ``<db>.key`` (0600, outside this file)
    tallies(kind, key, count, xor, mac)      sealed count and xor of the runs of each version key ("vk"),
                                             the uses of each DataNet ("du"), the fine-tunes of each record ("pc"),
                                             the repeats of each record ("rp"), and of every DataNet and
                                             model retraction row ("dr", "mr"; key b"", element sha256 of the row)

The index cannot lie: whoever edits the SQLite file cannot re-seal what they changed without the key
file. Every runs, models, datanets and datanet_versions row served is checked against its seal (and
a model's or DataNet's name against its id); the tallies catch rows deleted, inserted or altered
under the version, DataNet or parent a query reads, and in the repeats and retraction tables. A mismatch is a VerificationError naming the row and
telling to rebuild (`provenance index sync --rebuild`). :meth:`Index.verify` compares every row with
the chain's logs (``provenance index verify``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance_ledger.core.address import checksum_address
from provenance_ledger.core.canonical import entity_id, model_version_key, split_owner
from provenance_ledger.core.entries import (
    DatanetRetraction,
    DatanetVersionInfo,
    ModelInfo,
    ModelRetraction,
    RecordedRun,
    Repeat,
    Unreadable,
    UnreadableRecordError,
)
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.lineage import Lineage, UsageList, build_lineage, models_trained_on, readable_runs
from provenance_ledger.core.merkle import merkle_levels_of_ids
from provenance_ledger.core.records import is_id
from provenance_ledger.core.verify import MalformedRecordError, check_record, check_record_fields, prove_in_batch
from provenance_ledger.errors import ChainError, NotFoundError, ValidationError, VerificationError

if TYPE_CHECKING:
    from provenance_ledger.chain.abi import Event
    from provenance_ledger.chain.client import Registry

__all__ = [
    "CHILDREN_SQL",
    "DEFAULT_MAX_LOGS",
    "DEFAULT_REORG_DEPTH",
    "DESCENDANTS_OF_VERSION_SQL",
    "DESCENDANTS_SQL",
    "GET_RUN_SQL",
    "LINEAGE_SQL",
    "REPEATS_SQL",
    "RUNS_OF_SQL",
    "SCHEMA_VERSION",
    "USES_SQL",
    "Index",
    "IndexStatus",
    "Progress",
    "SyncResult",
    "VerifyReport",
    "default_path",
    "key_path",
]

SCHEMA_VERSION = 4
DEFAULT_MAX_LOGS = 5_000
"""Aim for about this many logs per eth_getLogs page: half of Infura's 10,000-result cap, so that a
denser stretch rarely gets a page refused (a refused page is halved anyway)."""
DEFAULT_REORG_DEPTH = 12
"""Stored blocks within this many blocks of the last synced one are re-checked at every sync."""

Progress = Callable[[int, int], None]
"""Called with (blocks done, blocks total) while syncing."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    model_id BLOB PRIMARY KEY, name TEXT NOT NULL, owner BLOB NOT NULL, block INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trainers (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, model_id BLOB NOT NULL, trainer BLOB NOT NULL,
    authorized INTEGER NOT NULL, PRIMARY KEY (block, log_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS datanets (
    datanet_id BLOB PRIMARY KEY, name TEXT NOT NULL, owner BLOB NOT NULL, block INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS datanet_versions (
    datanet_id BLOB NOT NULL, version INTEGER NOT NULL, content_root BLOB NOT NULL, manifest_hash BLOB NOT NULL,
    terms BLOB NOT NULL, contributors TEXT NOT NULL, block INTEGER NOT NULL, PRIMARY KEY (datanet_id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    record_id BLOB NOT NULL UNIQUE, model_id BLOB NOT NULL, version_key BLOB NOT NULL,
    model_version TEXT NOT NULL, block INTEGER NOT NULL, tx_hash BLOB NOT NULL, log_index INTEGER NOT NULL,
    record BLOB NOT NULL, recorder BLOB NOT NULL, anchor_root BLOB
);
CREATE INDEX IF NOT EXISTS runs_by_version ON runs (version_key);
CREATE INDEX IF NOT EXISTS runs_by_block ON runs (block);
CREATE TABLE IF NOT EXISTS datanet_uses (
    datanet_id BLOB NOT NULL, version INTEGER NOT NULL, record_id BLOB NOT NULL, model_id BLOB NOT NULL,
    weight INTEGER NOT NULL, log_index INTEGER NOT NULL, PRIMARY KEY (datanet_id, version, record_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parents (
    parent_id BLOB NOT NULL, record_id BLOB NOT NULL, PRIMARY KEY (parent_id, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS parents_by_child ON parents (record_id, parent_id);
CREATE TABLE IF NOT EXISTS repeats (
    record_id BLOB NOT NULL, block INTEGER NOT NULL, tx_hash BLOB NOT NULL, log_index INTEGER NOT NULL,
    recorder BLOB NOT NULL, anchor_root BLOB, PRIMARY KEY (block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repeats_by_record ON repeats (record_id);
CREATE TABLE IF NOT EXISTS datanet_retractions (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, datanet_id BLOB NOT NULL, owner BLOB NOT NULL,
    version INTEGER NOT NULL, reason INTEGER NOT NULL, note TEXT NOT NULL, tx_hash BLOB NOT NULL,
    PRIMARY KEY (block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS datanet_retractions_by_id ON datanet_retractions (datanet_id, version);
CREATE TABLE IF NOT EXISTS model_retractions (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, model_id BLOB NOT NULL, version_key BLOB NOT NULL,
    owner BLOB NOT NULL, model_version TEXT NOT NULL, reason INTEGER NOT NULL, note TEXT NOT NULL,
    tx_hash BLOB NOT NULL, PRIMARY KEY (block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS model_retractions_by_id ON model_retractions (model_id, version_key);
CREATE TABLE IF NOT EXISTS seals (
    kind TEXT NOT NULL, key BLOB NOT NULL, mac BLOB NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tallies (
    kind TEXT NOT NULL, key BLOB NOT NULL, count INTEGER NOT NULL, xor BLOB NOT NULL, mac BLOB NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anchors (
    root BLOB PRIMARY KEY, block INTEGER NOT NULL, tx_hash BLOB NOT NULL, log_index INTEGER NOT NULL,
    count INTEGER NOT NULL, tree BLOB NOT NULL
) WITHOUT ROWID;
"""

_RUN_COLS = "record_id, model_id, version_key, model_version, block, tx_hash, log_index, record, recorder, anchor_root"

# Ancestry of a model version: its runs, then parents of parents. The recursive step joins the one
# queue row to parents through parents_by_child (CROSS JOIN pins that order), never a scan.
LINEAGE_SQL = f"""
WITH RECURSIVE anc(id) AS (
    SELECT record_id FROM runs WHERE version_key = :key
    UNION
    SELECT p.parent_id FROM anc CROSS JOIN parents AS p WHERE p.record_id = anc.id
)
SELECT {_RUN_COLS} FROM runs WHERE record_id IN (SELECT id FROM anc)
"""

# Every run that used a DataNet (or one version of it) and every fine-tune below those runs.
_DESCENDANTS = """
WITH RECURSIVE down(id) AS (
    SELECT record_id FROM datanet_uses WHERE datanet_id = :datanet {version_clause}
    UNION
    SELECT p.record_id FROM down CROSS JOIN parents AS p WHERE p.parent_id = down.id
)
SELECT id FROM down
"""
DESCENDANTS_SQL = _DESCENDANTS.format(version_clause="")
DESCENDANTS_OF_VERSION_SQL = _DESCENDANTS.format(version_clause="AND version = :version")

REPEATS_SQL = (
    "SELECT block, tx_hash, log_index, recorder, anchor_root FROM repeats WHERE record_id = ? ORDER BY block, log_index"
)
RUNS_OF_SQL = f"SELECT {_RUN_COLS} FROM runs WHERE version_key = ? ORDER BY rowid"
GET_RUN_SQL = f"SELECT {_RUN_COLS} FROM runs WHERE record_id = ?"
USES_SQL = """
SELECT u.record_id, u.version FROM datanet_uses AS u JOIN runs AS r ON r.record_id = u.record_id
WHERE u.datanet_id = ? ORDER BY r.rowid, u.log_index
"""
CHILDREN_SQL = """
SELECT p.record_id FROM parents AS p JOIN runs AS r ON r.record_id = p.record_id
WHERE p.parent_id = ? ORDER BY r.rowid
"""

_CHUNK = 500


def default_path(chain_id: int) -> Path:
    """Where the CLI keeps the index of a chain: ``.provenance/index-<chainid>.sqlite``."""
    return Path(".provenance") / f"index-{chain_id}.sqlite"


def key_path(db: str | Path) -> Path:
    """The index's sealing key: a sibling file ``<db>.key`` (0600), outside the SQLite file, so that
    whoever edits the index file cannot re-seal what they changed."""
    return Path(str(db) + ".key")


_REBUILD = "the index was altered; rebuild it with `provenance index sync --rebuild` (or delete it and sync)"


def _enc(*parts: object) -> bytes:
    """Length-prefixed bytes of ``parts`` (ints 8-byte, str UTF-8, None empty): one meaning per byte string."""
    out = bytearray()
    for p in parts:
        if p is None:
            b = b""
        elif isinstance(p, int):
            b = p.to_bytes(8, "big", signed=True)
        elif isinstance(p, str):
            b = p.encode()
        else:
            b = bytes(p) if isinstance(p, bytes | bytearray | memoryview) else str(p).encode()
        out += len(b).to_bytes(4, "big") + b
    return bytes(out)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _row_element(row: Sequence[Any]) -> bytes:
    """A tally element standing for a whole row (repeats, retractions): any edit of it changes the xor."""
    return hashlib.sha256(_enc(*row)).digest()


def _use_element(version: int, rid: bytes) -> bytes:
    return hashlib.sha256(int(version).to_bytes(8, "big") + bytes(rid)).digest()


_ZERO = b"\0" * 32


@dataclass(frozen=True, kw_only=True)
class SyncResult:
    """What one :meth:`Index.sync` did."""

    from_block: int
    """First block read (0 and to_block -1 when there was nothing new)."""
    to_block: int
    """Last block now in the index."""
    blocks: int
    """Blocks scanned."""
    events: int
    """Registry logs read."""
    records: int
    """New training-run records indexed."""
    rewound_to: int | None
    """Fork point: rows from this block on were dropped because the chain reorganised (None if not)."""
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, kw_only=True)
class IndexStatus:
    """What an index holds."""

    path: str
    chain_id: int | None
    address: str | None
    from_block: int | None
    last_block: int | None
    confirmations: int
    counts: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    """What :meth:`Index.verify` found: row counts per table on each side, a digest per block range,
    and every row deleted from, inserted into or altered in the index."""

    path: str
    from_block: int
    to_block: int
    span: int
    counts: dict[str, dict[str, int]]
    ranges: list[dict[str, Any]]
    differences: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "db": self.path,
            "ok": self.ok,
            "from_block": self.from_block,
            "to_block": self.to_block,
            "span": self.span,
            "counts": self.counts,
            "ranges": self.ranges,
            "differences": self.differences,
        }


_VERIFY_TABLES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "models": (("model_id",), "block"),
    "datanets": (("datanet_id",), "block"),
    "datanet_versions": (("datanet_id", "version"), "block"),
    "runs": (("record_id",), "block"),
    "repeats": (("block", "log_index"), "block"),
    "trainers": (("block", "log_index"), "block"),
    "datanet_retractions": (("block", "log_index"), "block"),
    "model_retractions": (("block", "log_index"), "block"),
    "anchors": (("root",), "block"),
    "datanet_uses": (("datanet_id", "version", "record_id"), None),
    "parents": (("parent_id", "record_id"), None),
}
"""Tables :meth:`Index.verify` compares with the chain: key columns, and the column giving a row's
block (None: the block of its record's runs row). ``blocks`` is left out: it is reorg bookkeeping."""


def _range_of(block: int | None, start: int, span: int, last: int) -> tuple[int | None, int | None]:
    if block is None:
        return None, None
    lo = start + max(block - start, 0) // span * span
    return lo, min(lo + span - 1, last)


class _Reorged(Exception):
    """The chain moved under a page being read: start the sync round again."""


class Index:
    """A SQLite index of one registry on one chain: the file is created empty, and bound to a
    registry and chain by its first :meth:`sync`."""

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        default_owner: str | Callable[[], str | None] | None = None,
    ) -> None:
        self.path = Path(path)
        self._default_owner = default_owner
        if not create and not self.path.exists():
            raise NotFoundError(f"no index at {self.path}: run `provenance index sync`")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA temp_store=MEMORY")
            self._db.execute("PRAGMA cache_size=-65536")
            # Checkpoint every 64 MB of WAL rather than 4 MB: each checkpoint syncs the file, and a
            # page of 5,000 logs writes ~4 MB, so the default would sync on every commit.
            self._db.execute("PRAGMA wal_autocheckpoint=16384")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValidationError("index", f"{self.path} is not a usable index ({exc})") from None
        schema = self._meta("schema")
        if schema is None:
            self._set_meta(schema=SCHEMA_VERSION)
        elif int(schema) != SCHEMA_VERSION:
            raise ValidationError(
                "index",
                f"{self.path} has schema {schema}, this version reads {SCHEMA_VERSION}: delete it and sync again",
            )
        self._cache: dict[bytes, RecordedRun] = {}
        self._trees: dict[bytes, list[list[bytes]]] = {}
        self._key: bytes | None = None
        self._checked: set[tuple[str, bytes]] = set()

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ seals

    def _seal_key(self, *, create: bool = False) -> bytes:
        """The HMAC key kept beside the index file (created, 0600, by the first sync)."""
        if self._key is not None:
            return self._key
        kp = key_path(self.path)
        try:
            key = kp.read_bytes()
        except FileNotFoundError:
            if not create:
                raise VerificationError(
                    f"the index {self.path} cannot be checked: its key file {kp} is missing; "
                    "rebuild it with `provenance index sync --rebuild`"
                ) from None
            key = os.urandom(32)
            fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
        if len(key) != 32:
            raise VerificationError(f"the index key file {kp} is not a key; {_REBUILD}")
        self._key = key
        return key

    def _mac(self, kind: str, key: bytes, *parts: object) -> bytes:
        return hmac.new(self._seal_key(), _enc(kind, key, *parts), hashlib.sha256).digest()

    def _seal_rows(self, kind: str, rows: Sequence[tuple[bytes, tuple[Any, ...]]]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO seals VALUES (?,?,?)", [(kind, k, self._mac(kind, k, *parts)) for k, parts in rows]
        )

    def _check_seal(self, kind: str, key: bytes, parts: tuple[Any, ...], what: str) -> None:
        """The stored row ``parts`` are what the sync sealed, else VerificationError naming the row."""
        if (kind, key) in self._checked:
            return
        row = self._db.execute("SELECT mac FROM seals WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None or not hmac.compare_digest(bytes(row[0]), self._mac(kind, key, *parts)):
            why = "was not written by a sync" if row is None else "differs from what the chain committed"
            raise VerificationError(f"{what} {why}: {_REBUILD}")
        self._checked.add((kind, key))

    def _tally_add(self, kind: str, elements: dict[bytes, list[bytes]]) -> None:
        """Add elements to the sealed (count, xor) tally of each key (inside the sync's transaction)."""
        rows = []
        for key, items in elements.items():
            count, acc = self._tally(kind, key)
            for e in items:
                acc = _xor(acc, e)
            count += len(items)
            rows.append((kind, key, count, acc, self._mac("tally:" + kind, key, count, acc)))
        self._db.executemany("INSERT OR REPLACE INTO tallies VALUES (?,?,?,?,?)", rows)

    def _tally(self, kind: str, key: bytes) -> tuple[int, bytes]:
        """The sealed (count, xor) of ``kind``/``key`` ((0, zero) when none was written)."""
        row = self._db.execute("SELECT count, xor, mac FROM tallies WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None:
            return 0, _ZERO
        count, acc = int(row[0]), bytes(row[1])
        if not hmac.compare_digest(bytes(row[2]), self._mac("tally:" + kind, key, count, acc)):
            raise VerificationError(f"the index's tally {kind} {hexstr(key)} was altered: {_REBUILD}")
        return count, acc

    def _check_tally(self, kind: str, key: bytes, elements: Sequence[bytes], what: str) -> None:
        """The served elements of ``kind``/``key`` are exactly those the sync counted (rows deleted or
        inserted since are caught here)."""
        count, acc = self._tally(kind, key)
        got = _ZERO
        for e in elements:
            got = _xor(got, e)
        if count != len(elements) or got != acc:
            raise VerificationError(
                f"{what}: the index serves {len(elements)} rows where the chain committed {count}: {_REBUILD}"
            )

    def _rebuild_tallies(self) -> None:
        """Recount every tally from the rows (after a rewind; inside its transaction)."""
        self._db.execute("DELETE FROM tallies")
        vk: dict[bytes, list[bytes]] = {}
        for k, rid in self._db.execute("SELECT version_key, record_id FROM runs"):
            vk.setdefault(bytes(k), []).append(bytes(rid))
        du: dict[bytes, list[bytes]] = {}
        for did, v, rid in self._db.execute("SELECT datanet_id, version, record_id FROM datanet_uses"):
            du.setdefault(bytes(did), []).append(_use_element(int(v), bytes(rid)))
        pc: dict[bytes, list[bytes]] = {}
        for parent, rid in self._db.execute("SELECT parent_id, record_id FROM parents"):
            pc.setdefault(bytes(parent), []).append(bytes(rid))
        self._tally_add("vk", vk)
        self._tally_add("du", du)
        self._tally_add("pc", pc)
        self._tally_rows(
            self._db.execute("SELECT * FROM repeats").fetchall(),
            self._db.execute("SELECT * FROM datanet_retractions").fetchall(),
            self._db.execute("SELECT * FROM model_retractions").fetchall(),
        )

    def _has_row(self, table: str, block: int, log_index: int) -> bool:
        sql = f"SELECT 1 FROM {table} WHERE block = ? AND log_index = ?"  # table is one of three literals
        return self._db.execute(sql, (block, log_index)).fetchone() is not None

    def _tally_rows(
        self,
        repeats: Sequence[Sequence[Any]],
        d_retractions: Sequence[Sequence[Any]],
        m_retractions: Sequence[Sequence[Any]],
    ) -> None:
        """Tally new repeats rows (per record) and retraction rows (one tally per table)."""
        rp: dict[bytes, list[bytes]] = {}
        for r in repeats:
            rp.setdefault(bytes(r[0]), []).append(_row_element(_norm(r)))
        self._tally_add("rp", rp)
        if d_retractions:
            self._tally_add("dr", {b"": [_row_element(_norm(r)) for r in d_retractions]})
        if m_retractions:
            self._tally_add("mr", {b"": [_row_element(_norm(r)) for r in m_retractions]})

    def _check_entity(self, kind: str, eid: bytes, name: str, owner: bytes, block: int) -> None:
        label = "model" if kind == "model" else "DataNet"
        if entity_id(checksum_address(bytes(owner)), str(name), kind) != bytes(eid):
            raise VerificationError(f"{label} {hexstr(eid)}: its indexed name does not give its id: {_REBUILD}")
        self._check_seal(kind, bytes(eid), (name, bytes(owner), int(block)), f"{kind}s row {hexstr(eid)}")

    @functools.cached_property
    def _events(self) -> dict[bytes, Event]:
        """The registry events a sync reads, by topic0 (loaded on first sync: reads need no ABI).

        DataNet uses and parent edges are read from the record bytes themselves (the contract derives
        its DatanetUsed/ParentUsed events from the same record): fetching those logs too would
        double what a sync downloads and decodes."""
        from provenance_ledger.chain.abi import registry_abi

        abi = registry_abi()
        return {e.topic0: e for e in abi.events.values() if e.name not in ("DatanetUsed", "ParentUsed")}

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ meta

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, **values: object) -> None:
        self._db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    @property
    def chain_id(self) -> int | None:
        v = self._meta("chain_id")
        return None if v is None else int(v)

    @property
    def address(self) -> str | None:
        return self._meta("address")

    @property
    def from_block(self) -> int | None:
        v = self._meta("from_block")
        return None if v is None else int(v)

    @property
    def last_block(self) -> int | None:
        """Last block whose registry events are all in the index (None before the first sync)."""
        v = self._meta("last_block")
        return None if v is None else int(v)

    @property
    def confirmations(self) -> int:
        return int(self._meta("confirmations") or 0)

    def indexes(self, registry: Registry) -> bool:
        """Whether this index is (or will be) of ``registry`` on its chain."""
        cid = self.chain_id
        return cid is None or (cid == registry.w3.eth.chain_id and self.address == registry.address)

    def _bind(self, registry: Registry) -> None:
        cid = registry.w3.eth.chain_id
        if self.chain_id is None:
            self._set_meta(chain_id=cid, address=registry.address, from_block=registry.from_block)
        elif self.chain_id != cid or self.address != registry.address:
            raise ValidationError(
                "index",
                f"{self.path} indexes registry {self.address} on chain {self.chain_id}, "
                f"not {registry.address} on chain {cid}: use another index file",
            )

    def status(self) -> IndexStatus:
        tables = (
            "models",
            "datanets",
            "datanet_versions",
            "runs",
            "repeats",
            "datanet_retractions",
            "model_retractions",
            "datanet_uses",
            "parents",
            "anchors",
            "trainers",
            "blocks",
        )
        counts = {t: int(self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}
        return IndexStatus(
            path=str(self.path),
            chain_id=self.chain_id,
            address=self.address,
            from_block=self.from_block,
            last_block=self.last_block,
            confirmations=self.confirmations,
            counts=counts,
        )

    def is_fresh_at(
        self,
        *,
        chain_id: int,
        address: str,
        head: int,
        block_hash: Callable[[int], bytes | None],
        confirmations: int | None = None,
    ) -> bool:
        """True when this index is of registry ``address`` on chain ``chain_id``, is synced up to
        ``head`` minus ``confirmations`` (default: those of its last sync), and its last synced block
        is still on the chain (``block_hash(last)`` equals the stored hash: a reset or reorganised
        chain makes it stale). Needs no web3: the CLI asks the node over plain JSON-RPC."""
        last = self.last_block
        if last is None or self.chain_id != chain_id or (self.address or "").lower() != address.lower():
            return False
        conf = self.confirmations if confirmations is None else confirmations
        if last < head - conf:
            return False
        row = self._db.execute("SELECT hash FROM blocks WHERE number = ?", (last,)).fetchone()
        return row is not None and block_hash(last) == bytes(row[0])

    def is_fresh(self, registry: Registry, *, confirmations: int | None = None) -> bool:
        """True when this index is of ``registry``, is synced up to the chain head minus
        ``confirmations`` (default: those of its last sync), and its last synced block is still on
        the chain (a reset or reorganised chain makes it stale)."""
        last = self.last_block
        if last is None or not self.indexes(registry):
            return False
        conf = self.confirmations if confirmations is None else confirmations
        if last < registry.w3.eth.block_number - conf:
            return False
        row = self._db.execute("SELECT hash FROM blocks WHERE number = ?", (last,)).fetchone()
        return row is not None and _block_hash(registry, last) == bytes(row[0])

    # ------------------------------------------------------------------ sync

    def sync(
        self,
        registry: Registry,
        *,
        confirmations: int = 0,
        progress: Progress | None = None,
        max_logs: int = DEFAULT_MAX_LOGS,
        reorg_depth: int = DEFAULT_REORG_DEPTH,
        to_block: int | None = None,
    ) -> SyncResult:
        """Bring the index up to the chain head minus ``confirmations`` blocks, incrementally.

        Reorg-safe: stored block hashes near the last synced block are checked first; on a mismatch
        the index is rewound to the fork point and read again from there."""
        if confirmations < 0:
            raise ValidationError("confirmations", f"must be >= 0, got {confirmations}")
        started = time.perf_counter()
        self._bind(registry)
        self._seal_key(create=self.last_block is None)
        rewound: int | None = None
        events = records = blocks = 0
        first = -1
        for _attempt in range(5):
            fork = self._find_fork(registry, reorg_depth)
            if fork is not None:
                self._rewind(fork)
                rewound = fork if rewound is None else min(rewound, fork)
            start = self._next_block()
            end = registry.w3.eth.block_number - confirmations
            if to_block is not None:
                end = min(end, to_block)
            self._set_meta(confirmations=confirmations)
            if end < start:
                break
            first = start if first < 0 else first
            topics = [[hexstr(t) for t in self._events]]
            try:
                for lo, hi, raw in registry.log_pages(topics, start, end, max_logs=max_logs):
                    n_records = self._ingest(registry, raw, hi)
                    events += len(raw)
                    records += n_records
                    blocks += hi - lo + 1
                    if progress is not None:
                        progress(hi - start + 1, end - start + 1)
            except _Reorged:
                continue
            break
        else:
            raise ChainError("the chain kept reorganising during the sync: try again, or sync with --confirmations")
        if blocks:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        last = self.last_block
        return SyncResult(
            from_block=max(first, 0),
            to_block=-1 if last is None else last,
            blocks=blocks,
            events=events,
            records=records,
            rewound_to=rewound,
            seconds=time.perf_counter() - started,
        )

    def _next_block(self) -> int:
        last = self.last_block
        return int(self.from_block or 0) if last is None else last + 1

    def _find_fork(self, registry: Registry, depth: int) -> int | None:
        """First block to drop, or None when the stored hashes near the tip are still on the chain."""
        last = self.last_block
        if last is None:
            return None
        recent = self._db.execute(
            "SELECT number, hash FROM blocks WHERE number >= ? ORDER BY number DESC", (last - depth,)
        ).fetchall()
        lowest_bad = None
        for number, h in recent:
            if _block_hash(registry, number) != bytes(h):
                lowest_bad = number
        if lowest_bad is None:
            return None
        # Keep the newest stored block below the mismatch that is still on the chain; a block hash
        # commits to all its ancestors, so everything stored before it is still good.
        for number, h in self._db.execute(
            "SELECT number, hash FROM blocks WHERE number < ? ORDER BY number DESC", (lowest_bad,)
        ):
            if _block_hash(registry, number) == bytes(h):
                return int(number) + 1
        return int(self.from_block or 0)

    def _rewind(self, fork: int) -> None:
        """Delete every row from block ``fork`` on (a reorganised chain)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            gone = "SELECT record_id FROM runs WHERE block >= ?"
            db.execute(f"DELETE FROM seals WHERE kind = 'run' AND key IN ({gone})", (fork,))
            for kind, sql in (
                ("model", "SELECT model_id FROM models WHERE block >= ?"),
                ("datanet", "SELECT datanet_id FROM datanets WHERE block >= ?"),
            ):
                db.execute(f"DELETE FROM seals WHERE kind = '{kind}' AND key IN ({sql})", (fork,))
            dv = db.execute("SELECT datanet_id, version FROM datanet_versions WHERE block >= ?", (fork,)).fetchall()
            db.executemany(
                "DELETE FROM seals WHERE kind = 'dv' AND key = ?",
                [(bytes(d) + int(v).to_bytes(8, "big"),) for d, v in dv],
            )
            db.execute(f"DELETE FROM datanet_uses WHERE record_id IN ({gone})", (fork,))
            db.execute(f"DELETE FROM parents WHERE record_id IN ({gone})", (fork,))
            for table in (
                "runs",
                "repeats",
                "anchors",
                "models",
                "datanets",
                "datanet_versions",
                "trainers",
                "datanet_retractions",
                "model_retractions",
            ):
                db.execute(f"DELETE FROM {table} WHERE block >= ?", (fork,))
            db.execute("DELETE FROM blocks WHERE number >= ?", (fork,))
            self._rebuild_tallies()
            start = int(self.from_block or 0)
            if fork <= start:
                db.execute("DELETE FROM meta WHERE key = 'last_block'")
            else:
                self._set_meta(last_block=fork - 1)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._cache.clear()
        self._trees.clear()
        self._checked.clear()

    def _ingest(self, registry: Registry, raw: list[Any], hi: int) -> int:
        """Decode one page of raw logs and write it in one transaction; returns new records."""
        from provenance_ledger.chain.abi import registry_abi

        ev = registry_abi().events
        t_run, t_anchor = ev["RunRecorded"].topic0, ev["RunsAnchored"].topic0
        runs: list[list[Any]] = []
        uses: list[tuple[Any, ...]] = []
        parents: list[tuple[bytes, bytes]] = []
        anchors: list[tuple[Any, ...]] = []
        models: list[tuple[Any, ...]] = []
        datanets: list[tuple[Any, ...]] = []
        versions: list[tuple[Any, ...]] = []
        trainers: list[tuple[Any, ...]] = []
        d_retractions: list[tuple[Any, ...]] = []
        m_retractions: list[tuple[Any, ...]] = []
        hashes: dict[int, bytes] = {}
        batches: dict[bytes, list[list[Any]]] = {}  # tx -> run rows in log order (for anchored batches)
        for log in raw:
            topics = log["topics"]
            t0 = bytes(topics[0])
            block = int(log["blockNumber"])
            bhash = bytes(log["blockHash"])
            if hashes.setdefault(block, bhash) != bhash:
                raise _Reorged
            tx = bytes(log["transactionHash"])
            li = int(log["logIndex"])
            data = bytes(log["data"])
            if t0 == t_run:
                recorder, record = _run_recorded(data)
                rid = bytes(topics[3])
                try:
                    model_id, model_version, _, parent_ids, used, _ = check_record_fields(
                        rid, record, model_id=bytes(topics[1]), version_key=bytes(topics[2]), block=block
                    )
                except MalformedRecordError:  # authentic but unreadable: kept, read back as Unreadable
                    model_id, model_version, parent_ids, used = bytes(topics[1]), "", (), ()
                uses.extend((did, v, rid, model_id, w, li) for did, v, w in used)
                parents.extend((parent, rid) for parent in parent_ids)
                row = [rid, model_id, bytes(topics[2]), model_version, block, tx, li, record, recorder, None]
                runs.append(row)
                batches.setdefault(tx, []).append(row)
            elif t0 == t_anchor:
                root = bytes(topics[1])
                count = int.from_bytes(data[:32], "big")
                batch = batches.get(tx, [])[-count:] if count else []
                ids = [r[0] for r in batch]
                levels = merkle_levels_of_ids(ids) if ids and len(ids) == count else None
                if levels is None or levels[-1] != [root]:
                    raise VerificationError(f"anchored batch {hexstr(root)} (block {block}) does not rebuild its root")
                for r in batch:
                    r[9] = root
                anchors.append((root, block, tx, li, count, b"".join(b"".join(level) for level in levels)))
            else:
                e = self._events.get(t0)
                if e is None:
                    continue
                a = e.decode(list(topics), data)
                if e.name == "ModelRegistered":
                    models.append((bytes(a["modelId"]), a["name"], _addr(a["owner"]), block))
                elif e.name == "DatanetRegistered":
                    datanets.append((bytes(a["datanetId"]), a["name"], _addr(a["owner"]), block))
                elif e.name == "DatanetVersionPublished":
                    contributors = json.dumps([[checksum_address(c[0]), int(c[1])] for c in a["contributors"]])
                    versions.append(
                        (
                            bytes(a["datanetId"]),
                            int(a["version"]),
                            bytes(a["contentRoot"]),
                            bytes(a["manifestHash"]),
                            bytes(a["terms"]),
                            contributors,
                            block,
                        )
                    )
                elif e.name in ("TrainerAuthorized", "TrainerRevoked"):
                    trainers.append(
                        (block, li, bytes(a["modelId"]), _addr(a["trainer"]), int(e.name == "TrainerAuthorized"))
                    )
                elif e.name == "DatanetVersionRetracted":
                    d_retractions.append(
                        (
                            block,
                            li,
                            bytes(a["datanetId"]),
                            _addr(a["owner"]),
                            int(a["version"]),
                            int(a["reason"]),
                            str(a["note"]),
                            tx,
                        )
                    )
                elif e.name == "ModelVersionRetracted":
                    m_retractions.append(
                        (
                            block,
                            li,
                            bytes(a["modelId"]),
                            bytes(a["modelVersionKey"]),
                            _addr(a["owner"]),
                            str(a["modelVersion"]),
                            int(a["reason"]),
                            str(a["note"]),
                            tx,
                        )
                    )
        hi_hash = _block_hash(registry, hi)
        if hi_hash is None or hashes.get(hi, hi_hash) != hi_hash:
            raise _Reorged
        hashes[hi] = hi_hash
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            # The first event of a record id fills its runs row; later ones (same bytes) are repeats.
            # (An event read again, e.g. after a partial rewind, is the same event, not a repeat.)
            known = self._rows(
                "SELECT record_id, block, log_index FROM runs WHERE record_id IN ({})", [r[0] for r in runs]
            )
            first_at: dict[bytes, tuple[int, int]] = {bytes(k[0]): (int(k[1]), int(k[2])) for k in known}
            firsts: list[list[Any]] = []
            repeats: list[tuple[Any, ...]] = []
            for item in runs:
                rid_: bytes = item[0]
                at = first_at.get(rid_)
                if at is None:
                    first_at[rid_] = (item[4], item[6])
                    firsts.append(item)
                elif at != (item[4], item[6]):
                    repeats.append((rid_, item[4], item[5], item[6], item[8], item[9]))
            db.executemany(f"INSERT INTO runs ({_RUN_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)", firsts)
            self._seal_rows("run", [(r[0], _run_parts(r)) for r in firsts])
            new_ids = {r[0] for r in firsts}
            vk: dict[bytes, list[bytes]] = {}
            for r in firsts:
                vk.setdefault(r[2], []).append(r[0])
            self._tally_add("vk", vk)
            du: dict[bytes, list[bytes]] = {}
            for did, v, rid, *_ in dict.fromkeys((u[0], u[1], u[2]) for u in uses if u[2] in new_ids):
                du.setdefault(did, []).append(_use_element(v, rid))
            self._tally_add("du", du)
            pc: dict[bytes, list[bytes]] = {}
            for parent, child in dict.fromkeys(e for e in parents if e[1] in new_ids):
                pc.setdefault(parent, []).append(child)
            self._tally_add("pc", pc)
            self._seal_rows("model", [(m[0], (m[1], m[2], m[3])) for m in models])
            self._seal_rows("datanet", [(d[0], (d[1], d[2], d[3])) for d in datanets])
            self._seal_rows("dv", [(v[0] + v[1].to_bytes(8, "big"), v[2:]) for v in versions])
            new_records = len(firsts)
            repeats = [r for r in repeats if not self._has_row("repeats", r[1], r[3])]
            d_retractions = [r for r in d_retractions if not self._has_row("datanet_retractions", r[0], r[1])]
            m_retractions = [r for r in m_retractions if not self._has_row("model_retractions", r[0], r[1])]
            db.executemany("INSERT OR IGNORE INTO repeats VALUES (?,?,?,?,?,?)", repeats)
            db.executemany("INSERT OR IGNORE INTO datanet_retractions VALUES (?,?,?,?,?,?,?,?)", d_retractions)
            db.executemany("INSERT OR IGNORE INTO model_retractions VALUES (?,?,?,?,?,?,?,?,?)", m_retractions)
            self._tally_rows(repeats, d_retractions, m_retractions)
            db.executemany("INSERT OR IGNORE INTO datanet_uses VALUES (?,?,?,?,?,?)", uses)
            db.executemany("INSERT OR IGNORE INTO parents VALUES (?,?)", parents)
            db.executemany("INSERT OR IGNORE INTO anchors VALUES (?,?,?,?,?,?)", anchors)
            db.executemany("INSERT OR IGNORE INTO models VALUES (?,?,?,?)", models)
            db.executemany("INSERT OR IGNORE INTO datanets VALUES (?,?,?,?)", datanets)
            db.executemany("INSERT OR IGNORE INTO datanet_versions VALUES (?,?,?,?,?,?,?)", versions)
            db.executemany("INSERT OR IGNORE INTO trainers VALUES (?,?,?,?,?)", trainers)
            db.executemany("INSERT OR REPLACE INTO blocks VALUES (?,?)", sorted(hashes.items()))
            self._set_meta(last_block=hi)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return new_records

    # ----------------------------------------------------------------- reads

    def _verified(self, row: Sequence[Any]) -> RecordedRun:
        """A run row as a RecordedRun, after re-hashing and re-decoding its bytes (and its proof)."""
        rid = bytes(row[0])
        cached = self._cache.get(rid)
        if cached is not None:
            return cached
        _, model_id, version_key, model_version, block, tx, li, record, recorder, root = row
        record = bytes(record)
        try:
            run = check_record(
                rid,
                record,
                model_id=bytes(model_id),
                version_key=bytes(version_key),
                model_version=model_version,
                source="index",
            )
        except MalformedRecordError as exc:
            self._check_seal("run", rid, _run_parts(row), f"runs row {hexstr(rid)}")
            raise UnreadableRecordError(
                Unreadable(
                    record_id=rid,
                    recorder=_checksum(bytes(recorder)),
                    block_number=int(block),
                    tx_hash=hexstr(tx),
                    reason=exc.reason,
                )
            ) from None
        self._check_seal("run", rid, _run_parts(row), f"runs row {hexstr(rid)}")
        proof: tuple[bytes, ...] = ()
        if root is not None:
            root = bytes(root)
            proof = self._proof(root, rid)
        rec = RecordedRun(
            record_id=rid,
            run=run,
            record=record,
            recorder=_checksum(bytes(recorder)),
            block_number=int(block),
            tx_hash=hexstr(tx),
            log_index=int(li),
            anchor_root=root,
            anchor_proof=proof,
            repeats=self._repeats(rid),
        )
        if len(self._cache) >= 100_000:
            self._cache.clear()
        self._cache[rid] = rec
        return rec

    def _repeats(self, rid: bytes) -> tuple[Repeat, ...]:
        """Later events of ``rid`` (an anchored repeat's proof is checked against its stored tree; the
        rows against their tally)."""
        out = []
        rows = self._db.execute(REPEATS_SQL, (rid,)).fetchall()
        self._check_tally(
            "rp",
            rid,
            [_row_element(_norm((rid, b, tx, li, rec, root))) for b, tx, li, rec, root in rows],
            f"repeats of {hexstr(rid)}",
        )
        for block, tx, li, recorder, root in rows:
            if root is not None:
                self._proof(bytes(root), rid)
            out.append(
                Repeat(
                    recorder=_checksum(bytes(recorder)),
                    block_number=int(block),
                    tx_hash=hexstr(tx),
                    log_index=int(li),
                    anchor_root=None if root is None else bytes(root),
                )
            )
        return tuple(out)

    def _proof(self, root: bytes, rid: bytes) -> tuple[bytes, ...]:
        """The inclusion proof of ``rid`` under ``root``, read from the stored tree and checked."""
        levels = self._trees.get(root)
        if levels is None:
            row = self._db.execute("SELECT count, tree FROM anchors WHERE root = ?", (root,)).fetchone()
            if row is None:
                raise VerificationError(f"record {hexstr(rid)}: its anchored batch {hexstr(root)} is not in the index")
            levels = _split_levels(int(row[0]), bytes(row[1]))
            if levels is None or levels[-1] != [root]:
                raise VerificationError(f"anchored batch {hexstr(root)}: the indexed tree does not end in its root")
            if len(self._trees) >= 1_000:
                self._trees.clear()
            self._trees[root] = levels
        return prove_in_batch(levels, root, rid)  # the stored tree is only trusted through this proof

    def _rows(self, sql: str, ids: Sequence[bytes]) -> list[Any]:
        """Rows of ``sql`` (with one ``IN ({})`` placeholder list) for many ids, in chunks."""
        out: list[Any] = []
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            out.extend(self._db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
        return out

    @property
    def default_owner(self) -> str | None:
        """Whose entity a bare model or DataNet name is (ids are scoped by owner); ``OWNER/NAME`` and
        ``0x`` ids name anyone's. Given as an address, or a callable asked on first use."""
        if callable(self._default_owner):
            self._default_owner = self._default_owner()
        return self._default_owner

    @default_owner.setter
    def default_owner(self, value: str | None) -> None:
        self._default_owner = value

    def _owner_for(self, ref: str | bytes) -> str | None:
        """The default owner, asked only for a bare name."""
        if isinstance(ref, bytes | bytearray) or is_id(ref) or split_owner(ref)[0] is not None:
            return None
        return self.default_owner

    def model_id(self, model: str | bytes) -> bytes:
        """The id of a model given by id, ``OWNER/NAME`` or a bare name (``default_owner``'s)."""
        return entity_id(self._owner_for(model), model, "model")

    def datanet_id(self, datanet: str | bytes) -> bytes:
        """The id of a DataNet given by id, ``OWNER/NAME`` or a bare name (``default_owner``'s)."""
        return entity_id(self._owner_for(datanet), datanet, "datanet")

    def runs_of(self, model: str | bytes, version: str) -> list[RecordedRun]:
        """Every run that produced ``model@version`` (verified), in recording order."""
        mid = self.model_id(model)
        key = model_version_key(mid, version)
        rows = self._db.execute(RUNS_OF_SQL, (key,)).fetchall()
        self._check_tally("vk", key, [bytes(r[0]) for r in rows], f"runs of {hexstr(mid)}@{version}")
        return [self._verified(r) for r in rows]

    def get_run(self, record_id: bytes) -> RecordedRun:
        row = self._db.execute(GET_RUN_SQL, (bytes(record_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"no record {hexstr(record_id)} in the index of this registry")
        return self._verified(row)

    def get_runs(self, record_ids: Sequence[bytes]) -> dict[bytes, RecordedRun]:
        """Many verified records at once (NotFoundError names the first missing one)."""
        want = list(dict.fromkeys(bytes(r) for r in record_ids))
        found = {r: self._cache[r] for r in want if r in self._cache}
        missing = [r for r in want if r not in found]
        for row in self._rows(f"SELECT {_RUN_COLS} FROM runs WHERE record_id IN ({{}})", missing):
            found[bytes(row[0])] = self._verified(row)
        absent = [r for r in want if r not in found]
        if absent:
            raise NotFoundError(f"no record {hexstr(absent[0])} in the index of this registry")
        return {bytes(r): found[bytes(r)] for r in record_ids}

    def children_of(self, record_id: bytes) -> list[bytes]:
        """Record ids of runs that fine-tuned the model produced by ``record_id`` (recording order)."""
        return self.children_of_many([record_id])[bytes(record_id)]

    def children_of_many(self, record_ids: Sequence[bytes]) -> dict[bytes, list[bytes]]:
        out: dict[bytes, list[bytes]] = {bytes(r): [] for r in record_ids}
        sql = (
            "SELECT p.parent_id, p.record_id FROM parents AS p JOIN runs AS r ON r.record_id = p.record_id "
            "WHERE p.parent_id IN ({}) ORDER BY r.rowid"
        )
        for parent, child in self._rows(sql, list(out)):
            out[bytes(parent)].append(bytes(child))
        stored: dict[bytes, list[bytes]] = {p: [] for p in out}
        for parent, child in self._rows("SELECT parent_id, record_id FROM parents WHERE parent_id IN ({})", list(out)):
            stored[bytes(parent)].append(bytes(child))
        for parent, children in out.items():
            self._check_tally("pc", parent, stored[parent], f"fine-tunes of record {hexstr(parent)}")
            if len(children) != len(stored[parent]):
                raise VerificationError(
                    f"record {hexstr(parent)}: a fine-tune's runs row is missing from the index: {_REBUILD}"
                )
        return out

    def datanet_use_records(self, datanet: str | bytes) -> list[tuple[bytes, int]]:
        """(record id, DataNet version) of every run that trained on ``datanet``, in recording order."""
        did = self.datanet_id(datanet)
        self._check_uses(did)
        return list(dict.fromkeys((bytes(r), int(v)) for r, v in self._db.execute(USES_SQL, (did,))))

    def _check_uses(self, did: bytes) -> None:
        """The datanet_uses rows of ``did`` are those the sync counted, and each has its runs row."""
        rows = self._db.execute(
            "SELECT u.record_id, u.version, r.record_id FROM datanet_uses AS u "
            "LEFT JOIN runs AS r ON r.record_id = u.record_id WHERE u.datanet_id = ?",
            (did,),
        ).fetchall()
        self._check_tally(
            "du", did, [_use_element(int(v), bytes(r)) for r, v, _ in rows], f"uses of DataNet {hexstr(did)}"
        )
        for r, _, run in rows:
            if run is None:
                raise VerificationError(f"runs row {hexstr(bytes(r))} is missing from the index: {_REBUILD}")

    def model_info(self, model: str | bytes) -> ModelInfo:
        mid = self.model_id(model)
        row = self._db.execute("SELECT name, owner, block FROM models WHERE model_id = ?", (mid,)).fetchone()
        if row is None:
            raise NotFoundError(f"model {model if isinstance(model, str) else hexstr(mid)} is not registered")
        self._check_entity("model", mid, *row)
        return ModelInfo(model_id=mid, name=row[0], owner=checksum_address(bytes(row[1])), block_number=int(row[2]))

    def model_name(self, model_id: bytes) -> str:
        row = self._entity_row("model", bytes(model_id))
        return hexstr(model_id) if row is None else str(row[0])

    def _entity_row(self, kind: str, eid: bytes) -> tuple[str, bytes, int] | None:
        """(name, owner, block) of a model or DataNet, checked against its id and seal (None if absent)."""
        table, col = ("models", "model_id") if kind == "model" else ("datanets", "datanet_id")
        row = self._db.execute(f"SELECT name, owner, block FROM {table} WHERE {col} = ?", (eid,)).fetchone()
        if row is None:
            return None
        name, owner, block = str(row[0]), bytes(row[1]), int(row[2])
        self._check_entity(kind, eid, name, owner, block)
        return name, owner, block

    def model_owner_of(self, model_id: bytes) -> str | None:
        """The owner who registered ``model_id`` (None if the index has no ModelRegistered for it)."""
        row = self._entity_row("model", bytes(model_id))
        return None if row is None else _checksum(row[1])

    def datanet_owner(self, datanet: str | bytes) -> str | None:
        did = self.datanet_id(datanet)
        row = self._entity_row("datanet", did)
        return None if row is None else _checksum(row[1])

    def datanet_retractions(
        self, datanet: str | bytes | None = None, version: int | None = None
    ) -> list[DatanetRetraction]:
        """DatanetVersionRetracted events (of one DataNet, or one version of it), in chain order."""
        sql = "SELECT block, log_index, datanet_id, owner, version, reason, note, tx_hash FROM datanet_retractions"
        args: list[Any] = []
        if datanet is not None:
            sql += " WHERE datanet_id = ?"
            args.append(self.datanet_id(datanet))
            if version is not None:
                sql += " AND version = ?"
                args.append(version)
        rows = self._checked_retractions("datanet_retractions", "dr", sql, args)
        return [
            DatanetRetraction(
                datanet_id=bytes(d),
                owner=_checksum(bytes(o)),
                version=int(v),
                reason=int(r),
                note=str(n),
                block_number=int(b),
                tx_hash=hexstr(tx),
                log_index=int(li),
            )
            for b, li, d, o, v, r, n, tx in rows
            if version is None or int(v) == version
        ]

    def model_retractions(self, model: str | bytes | None = None, version: str | None = None) -> list[ModelRetraction]:
        """ModelVersionRetracted events (of one model, or one version of it), in chain order."""
        sql = (
            "SELECT block, log_index, model_id, version_key, owner, model_version, reason, note, tx_hash "
            "FROM model_retractions"
        )
        args: list[Any] = []
        if model is not None:
            mid = self.model_id(model)
            sql += " WHERE model_id = ?"
            args.append(mid)
            if version is not None:
                sql += " AND version_key = ?"
                args.append(model_version_key(mid, version))
        rows = self._checked_retractions("model_retractions", "mr", sql, args)
        return [
            ModelRetraction(
                model_id=bytes(m),
                model_version_key=bytes(k),
                owner=_checksum(bytes(o)),
                model_version=str(v),
                reason=int(r),
                note=str(n),
                block_number=int(b),
                tx_hash=hexstr(tx),
                log_index=int(li),
            )
            for b, li, m, k, o, v, r, n, tx in rows
        ]

    def _checked_retractions(self, table: str, kind: str, sql: str, args: Sequence[Any]) -> list[Any]:
        """The rows of ``sql`` (a select on ``table``), after checking the whole table against its tally
        (retractions are few: a deleted, inserted or edited one is caught on every read)."""
        if (kind, b"") not in self._checked:
            every = self._db.execute(f"SELECT * FROM {table}").fetchall()  # table is one of two literals
            self._check_tally(kind, b"", [_row_element(_norm(r)) for r in every], table)
            self._checked.add((kind, b""))
        return self._db.execute(sql + " ORDER BY block, log_index", list(args)).fetchall()

    def datanet_name(self, datanet_id: bytes) -> str:
        row = self._entity_row("datanet", bytes(datanet_id))
        return hexstr(datanet_id) if row is None else str(row[0])

    def datanet_versions(self, datanet: str | bytes) -> list[DatanetVersionInfo]:
        """Every published version of a DataNet."""
        did = self.datanet_id(datanet)
        name = self.datanet_name(did)
        rows = self._db.execute(
            "SELECT version, content_root, manifest_hash, terms, contributors, block FROM datanet_versions "
            "WHERE datanet_id = ? ORDER BY version",
            (did,),
        )
        owner = self.datanet_owner(did)
        return [_version_info(did, name, *self._checked_version(did, r), owner=owner) for r in rows]

    def _checked_version(self, did: bytes, row: Sequence[Any]) -> Sequence[Any]:
        """A datanet_versions row (version, root, manifest, terms, contributors, block) as the sync sealed it."""
        v, root, manifest, terms, contributors, block = row
        parts = (bytes(root), bytes(manifest), bytes(terms), str(contributors), int(block))
        self._check_seal("dv", did + int(v).to_bytes(8, "big"), parts, f"datanet_versions row {hexstr(did)} v{v}")
        return row

    def datanet_version(self, datanet: str | bytes, version: int) -> DatanetVersionInfo:
        did = self.datanet_id(datanet)
        row = self._db.execute(
            "SELECT version, content_root, manifest_hash, terms, contributors, block FROM datanet_versions "
            "WHERE datanet_id = ? AND version = ?",
            (did, version),
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"DataNet {datanet if isinstance(datanet, str) else hexstr(did)} has no version {version}"
            )
        return _version_info(
            did, self.datanet_name(did), *self._checked_version(did, row), owner=self.datanet_owner(did)
        )

    def ancestors(self, model: str | bytes, version: str) -> list[bytes]:
        """Record ids of the runs of ``model@version`` and of every run above them (one query)."""
        key = model_version_key(self.model_id(model), version)
        return [bytes(r[0]) for r in self._db.execute(LINEAGE_SQL, {"key": key})]

    def descendants(self, datanet: str | bytes, version: int | None = None) -> list[bytes]:
        """Record ids of every run that used ``datanet`` (or one version) and every fine-tune below."""
        did = self.datanet_id(datanet)
        if version is None:
            rows = self._db.execute(DESCENDANTS_SQL, {"datanet": did})
        else:
            rows = self._db.execute(DESCENDANTS_OF_VERSION_SQL, {"datanet": did, "version": version})
        return [bytes(r[0]) for r in rows]

    def lineage(self, model: str | bytes, version: str) -> Lineage:
        """The verified lineage of ``model@version``, as :meth:`Registry.lineage` returns it."""
        info = self.model_info(model)
        key = model_version_key(info.model_id, version)
        runs = {bytes(r[0]): self._verified(r) for r in self._db.execute(LINEAGE_SQL, {"key": key})}
        self._check_tally(
            "vk",
            key,
            [r for r, run in runs.items() if run.run.model_version == version and run.run.model_id == info.model_id],
            f"runs of {info.name}@{version}",
        )
        return build_lineage(_Prefetched(self, runs, None), info.model_id, version)

    def models_trained_on(self, datanet: str | bytes, version: int | None = None) -> UsageList:
        """Every model version that used ``datanet`` (or one version of it), through fine-tunes too."""
        did = self.datanet_id(datanet)
        if self._db.execute("SELECT 1 FROM datanets WHERE datanet_id = ?", (did,)).fetchone() is None:
            raise NotFoundError(f"DataNet {datanet if isinstance(datanet, str) else hexstr(did)} is not registered")
        self._check_uses(did)
        ids = self.descendants(did, version)
        try:
            runs = readable_runs(self.get_runs, self.get_run, ids, {})
        except NotFoundError as exc:
            raise VerificationError(f"{exc}: {_REBUILD}") from None
        return models_trained_on(_Prefetched(self, runs, self.children_of_many(ids)), did, version)

    # ---------------------------------------------------------------- verify

    def verify(self, registry: Registry, *, span: int = 10_000, progress: Progress | None = None) -> VerifyReport:
        """Compare every row with the chain: re-read the registry's logs up to the index's last block
        into a scratch index, then diff table by table (deleted, inserted, altered rows) and give a
        keccak digest of each side per range of ``span`` blocks."""
        if span < 1:
            raise ValidationError("span", f"must be >= 1, got {span}")
        last = self.last_block
        if last is None:
            raise NotFoundError(f"the index {self.path} was never synced: run `provenance index sync`")
        if not self.indexes(registry):
            raise ValidationError("index", f"{self.path} indexes registry {self.address} on chain {self.chain_id}")
        start = int(self.from_block or 0)
        with tempfile.TemporaryDirectory(prefix="provenance-verify-") as tmp, Index(Path(tmp) / "chain.sqlite") as ref:
            ref.sync(registry, confirmations=0, progress=progress, to_block=last)
            mine, theirs = self._table_rows(), ref._table_rows()
        counts: dict[str, dict[str, int]] = {}
        differences: list[dict[str, Any]] = []
        digests: dict[tuple[str, int], list[bytes]] = {}
        for table in _VERIFY_TABLES:
            a, b = mine[table], theirs[table]
            counts[table] = {"index": len(a), "chain": len(b)}
            for side, rows in (("index", a), ("chain", b)):
                for block, values in rows.values():
                    r = max(block - start, 0) // span if block is not None else -1
                    digests.setdefault((side, r), []).append(_enc(table, *values))
            for key in sorted(set(a) | set(b)):
                if key in a and key in b and a[key] == b[key]:
                    continue
                kind = "deleted" if key not in a else "inserted" if key not in b else "altered"
                block = (b.get(key) or a.get(key) or (None, ()))[0]
                differences.append(
                    {
                        "table": table,
                        "change": kind,
                        "key": "/".join(hexstr(k) if isinstance(k, bytes) else str(k) for k in key),
                        "block": block,
                        "range": _range_of(block, start, span, last),
                    }
                )
        ranges = []
        for r in sorted({r for _, r in digests}):
            d_index = keccak(b"".join(sorted(digests.get(("index", r), []))))
            d_chain = keccak(b"".join(sorted(digests.get(("chain", r), []))))
            lo, hi = _range_of(start + r * span, start, span, last) if r >= 0 else (None, None)
            ranges.append(
                {
                    "from_block": lo,
                    "to_block": hi,
                    "index": hexstr(d_index),
                    "chain": hexstr(d_chain),
                    "ok": d_index == d_chain,
                }
            )
        return VerifyReport(
            path=str(self.path),
            from_block=start,
            to_block=last,
            span=span,
            counts=counts,
            ranges=ranges,
            differences=differences,
        )

    def _table_rows(self) -> dict[str, dict[tuple[Any, ...], tuple[int | None, tuple[Any, ...]]]]:
        """Every row of the verified tables, by key: (block, values)."""
        blocks = {bytes(r): int(b) for r, b in self._db.execute("SELECT record_id, block FROM runs")}
        out: dict[str, dict[tuple[Any, ...], tuple[int | None, tuple[Any, ...]]]] = {}
        for table, (key_cols, block_col) in _VERIFY_TABLES.items():
            cur = self._db.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            rows: dict[tuple[Any, ...], tuple[int | None, tuple[Any, ...]]] = {}
            for row in cur:
                values = tuple(bytes(v) if isinstance(v, bytes | memoryview) else v for v in row)
                byname = dict(zip(names, values, strict=True))
                key = tuple(byname[c] for c in key_cols)
                if block_col is None:
                    block = blocks.get(byname["record_id"])
                else:
                    block = int(byname[block_col])
                rows[key] = (block, values)
            out[table] = rows
        return out

    def query_plans(self) -> dict[str, list[str]]:
        """EXPLAIN QUERY PLAN of the lineage and reverse queries (to check that none scans a table)."""
        z = b"\0" * 32
        queries: dict[str, tuple[str, Any]] = {
            "lineage": (LINEAGE_SQL, {"key": z}),
            "descendants": (DESCENDANTS_SQL, {"datanet": z}),
            "descendants_of_version": (DESCENDANTS_OF_VERSION_SQL, {"datanet": z, "version": 1}),
            "runs_of": (RUNS_OF_SQL, (z,)),
            "get_run": (GET_RUN_SQL, (z,)),
            "uses": (USES_SQL, (z,)),
            "children": (CHILDREN_SQL, (z,)),
        }
        return {
            name: [str(r[3]) for r in self._db.execute("EXPLAIN QUERY PLAN " + sql, params)]
            for name, (sql, params) in queries.items()
        }


class _Prefetched:
    """The index with some runs (and children lists) already read and verified, for one query."""

    def __init__(self, index: Index, runs: dict[bytes, RecordedRun], children: dict[bytes, list[bytes]] | None) -> None:
        self._index = index
        self._runs = runs
        self._children = children

    def runs_of(self, model: bytes, version: str) -> list[RecordedRun]:
        return self._index.runs_of(model, version)

    def get_run(self, record_id: bytes) -> RecordedRun:
        got = self._runs.get(record_id)
        if got is not None:
            return got
        try:
            return self._index.get_run(record_id)
        except NotFoundError as exc:  # a verified record names it, and the chain accepted that record
            raise VerificationError(f"{exc}: {_REBUILD}") from None

    def get_runs(self, record_ids: Sequence[bytes]) -> dict[bytes, RecordedRun]:
        missing = [r for r in record_ids if r not in self._runs]
        if missing:
            try:
                self._runs.update(self._index.get_runs(missing))
            except NotFoundError as exc:
                raise VerificationError(f"{exc}: {_REBUILD}") from None
        return {r: self._runs[r] for r in record_ids}

    def datanet_version(self, datanet: bytes, version: int) -> DatanetVersionInfo:
        return self._index.datanet_version(datanet, version)

    def model_name(self, model_id: bytes) -> str:
        return self._index.model_name(model_id)

    def datanet_retractions(self) -> list[DatanetRetraction]:
        return self._index.datanet_retractions()

    def model_retractions(self) -> list[ModelRetraction]:
        return self._index.model_retractions()

    def model_owner_of(self, model_id: bytes) -> str | None:
        return self._index.model_owner_of(model_id)

    def datanet_use_records(self, datanet: bytes) -> list[tuple[bytes, int]]:
        return self._index.datanet_use_records(datanet)

    def children_of(self, record_id: bytes) -> list[bytes]:
        if self._children is not None and record_id in self._children:
            return self._children[record_id]
        return self._index.children_of(record_id)

    def children_of_many(self, record_ids: Sequence[bytes]) -> dict[bytes, list[bytes]]:
        return {r: self.children_of(r) for r in record_ids}


# ----------------------------------------------------------------------------- decoding helpers


def _norm(row: Sequence[Any]) -> tuple[Any, ...]:
    """A row's values as the sync wrote them (SQLite gives blobs back as bytes, ints as int)."""
    return tuple(bytes(v) if isinstance(v, bytes | bytearray | memoryview) else v for v in row)


def _run_parts(row: Sequence[Any]) -> tuple[Any, ...]:
    """What a run row's seal covers: every column but the record bytes (checked against the id)."""
    rid, model_id, version_key, model_version, block, tx, li, _record, recorder, root = row
    return (
        bytes(rid),
        bytes(model_id),
        bytes(version_key),
        str(model_version),
        int(block),
        bytes(tx),
        int(li),
        bytes(recorder),
        None if root is None else bytes(root),
    )


def _block_hash(registry: Registry, number: int) -> bytes | None:
    """Hash of block ``number`` on the chain now, None if the chain has no such block."""
    from web3.exceptions import BlockNotFound

    if number < 0:
        return None
    try:
        block = registry.w3.eth.get_block(number)
    except BlockNotFound:
        return None
    except Exception as exc:
        raise ChainError(f"cannot read block {number}: {exc}") from None
    h = block.get("hash")
    return None if h is None else bytes(h)


@functools.lru_cache(maxsize=65_536)
def _checksum(address: bytes) -> str:
    """EIP-55 form of a 20-byte address (a keccak per call: recorders repeat, so it is cached)."""
    return checksum_address(address)


def _addr(value: str) -> bytes:
    return bytes.fromhex(value[2:])


_WORD_64 = (64).to_bytes(32, "big")


def _run_recorded(data: bytes) -> tuple[bytes, bytes]:
    """(recorder, record) from RunRecorded's data ``abi.encode(address, bytes)``, sliced when it has
    the canonical layout (what the contract emits), else through eth_abi."""
    if len(data) >= 96 and data[32:64] == _WORD_64 and not any(data[:12]):
        n = int.from_bytes(data[64:96], "big")
        if len(data) == 96 + -(-n // 32) * 32:
            return data[12:32], data[96 : 96 + n]
    from eth_abi.abi import decode as abi_decode

    from provenance_ledger.chain.abi import registry_abi

    a = registry_abi().events["RunRecorded"]

    recorder, record = abi_decode(list(a.data), data)
    return _addr(recorder), bytes(record)


def _split_levels(count: int, blob: bytes) -> list[list[bytes]] | None:
    """The levels stored by :func:`merkle_levels_of_ids` for ``count`` leaves, or None if the blob does not fit."""
    levels: list[list[bytes]] = []
    at, n = 0, count
    while n >= 1:
        levels.append([blob[i : i + 32] for i in range(at, at + 32 * n, 32)])
        at += 32 * n
        if n == 1:
            break
        n = (n + 1) // 2
    return levels if count >= 1 and at == len(blob) else None


def _version_info(
    did: bytes,
    name: str,
    version: int,
    root: bytes,
    manifest: bytes,
    terms: bytes,
    contributors: str,
    block: int,
    *,
    owner: str | None = None,
) -> DatanetVersionInfo:
    terms_bytes = bytes(terms)
    try:
        parsed = json.loads(terms_bytes)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    return DatanetVersionInfo(
        datanet_id=did,
        name=name,
        version=int(version),
        content_root=bytes(root),
        manifest_hash=bytes(manifest),
        terms=parsed if isinstance(parsed, dict) else None,
        terms_bytes=terms_bytes,
        contributors=tuple((str(a), int(s)) for a, s in json.loads(contributors)),
        block_number=int(block),
        owner=owner,
    )
