"""The reference server's store: one SQLite database in the data directory.

Tables: ``imports`` with their ``import_status`` history and ``import_messages``, ``datasets``
with their ``dataset_rows``. Every value goes through a parameter; the only names put into SQL
text come from fixed tables in this module. The database runs in WAL mode, so readers (the
request handlers) never wait for the import worker's writes.

An import's rows are first written to a staging database of their own (see
:class:`StagingTable`) and moved into ``dataset_rows`` by :meth:`Store.complete_import` in one
transaction, together with the import's ``completed`` status: all rows or none.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nexosis_pandas._wire import Import, ImportStatus, Message, StatusChange, parse_timestamp
from nexosis_pandas.server.columns import ColumnSpec, merge_metadata

__all__ = ["DatasetRecord", "ImportJobRow", "StagingTable", "Store", "utc_now"]

BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS imports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    parameters TEXT NOT NULL,
    columns TEXT NOT NULL,
    content_type TEXT,
    status TEXT NOT NULL,
    requested_date TEXT NOT NULL,
    current_status_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS imports_dataset ON imports(dataset_name);
CREATE INDEX IF NOT EXISTS imports_requested ON imports(requested_date);
CREATE INDEX IF NOT EXISTS imports_status ON imports(status);
CREATE TABLE IF NOT EXISTS import_status (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id TEXT NOT NULL REFERENCES imports(import_id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS import_status_import ON import_status(import_id);
CREATE TABLE IF NOT EXISTS import_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id TEXT NOT NULL REFERENCES imports(import_id) ON DELETE CASCADE,
    severity TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS import_messages_import ON import_messages(import_id);
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    columns TEXT NOT NULL,
    row_count INTEGER NOT NULL DEFAULT 0,
    created_date TEXT NOT NULL,
    updated_date TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dataset_rows (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    row_key TEXT,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dataset_rows_key ON dataset_rows(dataset_id, row_key);
CREATE INDEX IF NOT EXISTS dataset_rows_order ON dataset_rows(dataset_id, id);
"""

# Sort keys of GET /imports -> columns; the only identifiers that reach SQL text from a request.
IMPORT_SORT_COLUMNS = {
    "id": "import_id",
    "datasetname": "dataset_name",
    "requesteddate": "requested_date",
    "currentstatusdate": "current_status_date",
}


def utc_now() -> str:
    """Now, as the store writes dates: ISO-8601, UTC, six fractional digits."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset's row in the store."""

    id: int
    name: str
    columns: dict[str, ColumnSpec]
    row_count: int
    created_date: str
    updated_date: str


@dataclass(frozen=True)
class ImportJobRow:
    """What the worker needs to run an import."""

    import_id: str
    type: str
    dataset_name: str
    parameters: dict[str, str]
    columns: dict[str, ColumnSpec]
    content_type: str | None
    status: ImportStatus


class Store:
    """The SQLite store in ``data_dir`` (``nexosis.sqlite3``), safe to use from many threads.

    Each thread gets its own connection; :meth:`close` closes them all.

    Parameters
    ----------
    data_dir
        The directory that holds the database and the staging databases of running imports.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.staging_dir = self.data_dir / "staging"
        self.staging_dir.mkdir(exist_ok=True)
        self.path = self.data_dir / "nexosis.sqlite3"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        conn = self.connection()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)

    # -- connections -----------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`transaction` to write)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("The store is closed")
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS:d}")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, else rolled back."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection of every thread."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()

    # -- imports ---------------------------------------------------------------------------------
    def create_import(
        self,
        *,
        import_id: str,
        dataset_name: str,
        parameters: Mapping[str, str],
        columns: Mapping[str, ColumnSpec],
        content_type: str | None,
        import_type: str = "s3",
    ) -> Import:
        """Record a new ``requested`` import and return it."""
        now = utc_now()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO imports (import_id, type, dataset_name, parameters, columns, "
                "content_type, status, requested_date, current_status_date) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    import_id,
                    import_type,
                    dataset_name,
                    json.dumps(dict(parameters)),
                    json.dumps(dict(columns)),
                    content_type,
                    ImportStatus.REQUESTED.value,
                    now,
                    now,
                ),
            )
            conn.execute(
                "INSERT INTO import_status (import_id, date, status) VALUES (?, ?, ?)",
                (import_id, now, ImportStatus.REQUESTED.value),
            )
        found = self.get_import(import_id)
        assert found is not None
        return found

    def get_import(self, import_id: str) -> Import | None:
        """The import with this id, or ``None``."""
        items = self._imports_by_id([import_id])
        return items[0] if items else None

    def job_row(self, import_id: str) -> ImportJobRow | None:
        """What the worker needs to run the import, or ``None`` if it does not exist."""
        row = (
            self.connection()
            .execute(
                "SELECT import_id, type, dataset_name, parameters, columns, content_type, status "
                "FROM imports WHERE import_id = ?",
                (import_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return ImportJobRow(
            import_id=row[0],
            type=row[1],
            dataset_name=row[2],
            parameters=json.loads(row[3]),
            columns=json.loads(row[4]),
            content_type=row[5],
            status=ImportStatus(row[6]),
        )

    def list_imports(
        self,
        *,
        dataset_name: str | None = None,
        requested_after: str | None = None,
        requested_before: str | None = None,
        sort_by: str = "requesteddate",
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[Import], int]:
        """One page of imports matching the filters, and how many match in all."""
        where: list[str] = []
        params: list[Any] = []
        if dataset_name is not None:
            where.append("dataset_name = ?")
            params.append(dataset_name)
        if requested_after is not None:
            where.append("requested_date >= ?")
            params.append(requested_after)
        if requested_before is not None:
            where.append("requested_date <= ?")
            params.append(requested_before)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        order = "DESC" if descending else "ASC"
        column = IMPORT_SORT_COLUMNS[sort_by]
        conn = self.connection()
        total = conn.execute(f"SELECT COUNT(*) FROM imports{clause}", params).fetchone()[0]
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT import_id FROM imports{clause} ORDER BY {column} {order}, seq {order} "
                "LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        ]
        return self._imports_by_id(ids), int(total)

    def _imports_by_id(self, ids: Sequence[str]) -> list[Import]:
        if not ids:
            return []
        conn = self.connection()
        marks = ", ".join("?" * len(ids))
        rows = conn.execute(
            "SELECT import_id, type, status, dataset_name, parameters, requested_date, columns "
            f"FROM imports WHERE import_id IN ({marks})",
            list(ids),
        ).fetchall()
        history: dict[str, list[StatusChange]] = {}
        for import_id, date, status in conn.execute(
            f"SELECT import_id, date, status FROM import_status WHERE import_id IN ({marks}) "
            "ORDER BY id",
            list(ids),
        ):
            history.setdefault(import_id, []).append(
                StatusChange(date=parse_timestamp(date), status=ImportStatus(status))
            )
        messages: dict[str, list[Message]] = {}
        for import_id, severity, message in conn.execute(
            "SELECT import_id, severity, message FROM import_messages "
            f"WHERE import_id IN ({marks}) ORDER BY id",
            list(ids),
        ):
            messages.setdefault(import_id, []).append(Message(severity=severity, message=message))
        by_id = {
            r[0]: Import(
                import_id=r[0],
                type=r[1],
                status=ImportStatus(r[2]),
                dataset_name=r[3],
                parameters=json.loads(r[4]),
                requested_date=parse_timestamp(r[5]),
                status_history=tuple(history.get(r[0], ())),
                messages=tuple(messages.get(r[0], ())),
                columns=json.loads(r[6]),
            )
            for r in rows
        }
        return [by_id[i] for i in ids if i in by_id]

    def set_status(
        self,
        import_id: str,
        status: ImportStatus,
        *,
        messages: Iterable[tuple[str, str]] = (),
        columns: Mapping[str, ColumnSpec] | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> None:
        """Move an import to ``status``, timestamped, with optional messages and final columns.

        A status equal to the current one adds no history entry (only the messages).
        """
        if conn is None:
            with self.transaction() as own:
                self.set_status(import_id, status, messages=messages, columns=columns, conn=own)
            return
        now = utc_now()
        current = conn.execute(
            "SELECT status FROM imports WHERE import_id = ?", (import_id,)
        ).fetchone()
        if current is None:
            return
        if current[0] != status.value:
            conn.execute(
                "UPDATE imports SET status = ?, current_status_date = ? WHERE import_id = ?",
                (status.value, now, import_id),
            )
            conn.execute(
                "INSERT INTO import_status (import_id, date, status) VALUES (?, ?, ?)",
                (import_id, now, status.value),
            )
        if columns is not None:
            conn.execute(
                "UPDATE imports SET columns = ? WHERE import_id = ?",
                (json.dumps(dict(columns)), import_id),
            )
        conn.executemany(
            "INSERT INTO import_messages (import_id, severity, message) VALUES (?, ?, ?)",
            [(import_id, severity, text) for severity, text in messages],
        )

    def unfinished_imports(self) -> list[str]:
        """Ids of the imports left ``requested`` or ``started``, oldest first."""
        return [
            r[0]
            for r in self.connection().execute(
                "SELECT import_id FROM imports WHERE status IN (?, ?) ORDER BY seq",
                (ImportStatus.REQUESTED.value, ImportStatus.STARTED.value),
            )
        ]

    # -- datasets --------------------------------------------------------------------------------
    def get_dataset(self, name: str) -> DatasetRecord | None:
        """The dataset called ``name`` (exact), or ``None``."""
        row = (
            self.connection()
            .execute(
                "SELECT id, name, columns, row_count, created_date, updated_date FROM datasets "
                "WHERE name = ?",
                (name,),
            )
            .fetchone()
        )
        return _dataset(row) if row else None

    def list_datasets(
        self, *, partial_name: str | None = None, offset: int = 0, limit: int = 50
    ) -> tuple[list[DatasetRecord], int]:
        """One page of datasets (by name), optionally those whose name contains a string."""
        where, params = "", []
        if partial_name:
            where = " WHERE instr(lower(name), lower(?)) > 0"
            params.append(partial_name)
        conn = self.connection()
        total = conn.execute(f"SELECT COUNT(*) FROM datasets{where}", params).fetchone()[0]
        rows = conn.execute(
            "SELECT id, name, columns, row_count, created_date, updated_date FROM datasets"
            f"{where} ORDER BY name LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [_dataset(r) for r in rows], int(total)

    def dataset_rows(self, dataset_id: int, *, offset: int, limit: int) -> list[dict[str, Any]]:
        """One page of a dataset's rows, in the order they were first added."""
        return [
            json.loads(r[0])
            for r in self.connection().execute(
                "SELECT data FROM dataset_rows WHERE dataset_id = ? ORDER BY id LIMIT ? OFFSET ?",
                (dataset_id, limit, offset),
            )
        ]

    def delete_dataset(self, name: str) -> bool:
        """Delete a dataset and its rows; whether it existed."""
        with self.transaction() as conn:
            cursor = conn.execute("DELETE FROM datasets WHERE name = ?", (name,))
            return cursor.rowcount > 0

    def dataset_count(self) -> int:
        """How many datasets there are."""
        return int(self.connection().execute("SELECT COUNT(*) FROM datasets").fetchone()[0])

    def merge_staged(
        self,
        *,
        dataset_name: str,
        columns: Mapping[str, ColumnSpec],
        staging: StagingTable,
        import_id: str | None = None,
        messages: Callable[[int, int], list[tuple[str, str]]] | None = None,
    ) -> tuple[int, int]:
        """Move staged rows into a dataset in one transaction; return (appended, replaced).

        The dataset is created when missing, its column metadata overlaid with ``columns``;
        rows whose key matches an existing row replace it, the others are appended. With
        ``import_id``, the import is marked ``completed`` in the same transaction, with the
        messages ``messages(appended, replaced)`` returns.
        """
        conn = self.connection()
        conn.execute("ATTACH DATABASE ? AS stage", (str(staging.path),))
        try:
            with self.transaction() as tx:
                now = utc_now()
                found = tx.execute(
                    "SELECT id, columns, row_count FROM datasets WHERE name = ?", (dataset_name,)
                ).fetchone()
                if found is None:
                    cursor = tx.execute(
                        "INSERT INTO datasets (name, columns, row_count, created_date, "
                        "updated_date) VALUES (?, '{}', 0, ?, ?)",
                        (dataset_name, now, now),
                    )
                    dataset_id, existing, before = cursor.lastrowid, {}, 0
                else:
                    dataset_id, existing, before = found[0], json.loads(found[1]), found[2]
                merged = merge_metadata(existing, columns)
                tx.execute(
                    "INSERT INTO dataset_rows (dataset_id, row_key, data) "
                    "SELECT ?, row_key, data FROM stage.staged_rows WHERE true ORDER BY seq "
                    "ON CONFLICT (dataset_id, row_key) DO UPDATE SET data = excluded.data",
                    (dataset_id,),
                )
                after = tx.execute(
                    "SELECT COUNT(*) FROM dataset_rows WHERE dataset_id = ?", (dataset_id,)
                ).fetchone()[0]
                tx.execute(
                    "UPDATE datasets SET columns = ?, row_count = ?, updated_date = ? WHERE id = ?",
                    (json.dumps(merged), after, now, dataset_id),
                )
                appended = int(after) - int(before)
                replaced = staging.count - appended
                if import_id is not None:
                    self.set_status(
                        import_id,
                        ImportStatus.COMPLETED,
                        messages=messages(appended, replaced) if messages else (),
                        columns={n: merged[n] for n in columns if n in merged},
                        conn=tx,
                    )
        finally:
            conn.execute("DETACH DATABASE stage")
        return appended, replaced


def _dataset(row: Sequence[Any]) -> DatasetRecord:
    return DatasetRecord(
        id=int(row[0]),
        name=str(row[1]),
        columns=json.loads(row[2]),
        row_count=int(row[3]),
        created_date=str(row[4]),
        updated_date=str(row[5]),
    )


class StagingTable:
    """An import's rows on their way into a dataset: a throw-away SQLite file of its own.

    Written without a journal (it is discarded on any failure) by one thread, in batches, so
    the store's own database is not locked while a big file is parsed.

    Parameters
    ----------
    path
        The file; an existing one is replaced.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.discard()
        self.count = 0
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(
            "CREATE TABLE staged_rows (seq INTEGER PRIMARY KEY, row_key TEXT, data TEXT NOT NULL)"
        )

    def add(self, rows: Sequence[tuple[str | None, str]]) -> None:
        """Append ``(row_key, data)`` rows, in one short transaction."""
        self._conn.execute("BEGIN")
        self._conn.executemany("INSERT INTO staged_rows (row_key, data) VALUES (?, ?)", rows)
        self._conn.execute("COMMIT")
        self.count += len(rows)

    def clear(self) -> None:
        """Forget every staged row."""
        self._conn.execute("DELETE FROM staged_rows")
        self.count = 0

    def close(self) -> None:
        """Close the file (it stays until :meth:`discard`)."""
        self._conn.close()

    def discard(self) -> None:
        """Close and delete the file."""
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
