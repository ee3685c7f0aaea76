"""The registry: one SQLite database in the data directory that says what is what.

Tables: ``imports`` with their ``import_status`` history and ``import_messages``; ``datasets``
with their ``segments`` (the Arrow files that hold their rows, see
:mod:`~nexosis_pandas.server.store.segments`). Every value goes through a parameter; the only
names put into SQL text come from fixed tables in this module. The database runs in WAL mode,
so readers (the request handlers) never wait for an import's writes.

An import's rows are written to segment files first; :meth:`Store.publish` registers them and
marks the import ``completed`` in one transaction: all rows or none. Segment files that no
dataset lists (left by a crash, or replaced by an upsert) are removed when the store opens.

One module of some 700 lines, kept whole on purpose: it is the one owner of the database (its
schema, its per-thread connections, its transactions), and its imports and datasets halves
meet in :meth:`Store.publish`, which writes both in one transaction.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from nexosis_pandas._wire import (
    SORT_FIELDS,
    Import,
    ImportStatus,
    Link,
    ReadProgress,
    import_object,
)
from nexosis_pandas.exceptions import ConfigurationError
from nexosis_pandas.server.columns import ColumnSpec, merge_metadata
from nexosis_pandas.server.store.segments import Part, iter_rows, read_rows

__all__ = [
    "DatasetRecord",
    "ImportJobRow",
    "OldDataDirError",
    "Store",
    "StoredImport",
    "utc_now",
]

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
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    file TEXT NOT NULL UNIQUE,
    first_row INTEGER NOT NULL,
    row_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_dataset ON segments(dataset_id, first_row);
"""

# Sort keys of GET /imports (lower case) -> columns; the only identifiers that reach SQL text
# from a request.
IMPORT_SORT_COLUMNS = {
    SORT_FIELDS["id"].lower(): "import_id",
    SORT_FIELDS["dataset_name"].lower(): "dataset_name",
    SORT_FIELDS["requested_date"].lower(): "requested_date",
    SORT_FIELDS["current_status_date"].lower(): "current_status_date",
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
class StoredImport:
    """An import as the store keeps it: its dates in their wire text, as written."""

    import_id: str
    type: str
    status: str
    dataset_name: str
    parameters: dict[str, str]
    requested_date: str
    status_history: tuple[tuple[str, str], ...]
    messages: tuple[tuple[str, str], ...]
    columns: dict[str, ColumnSpec]

    def to_wire(
        self,
        *,
        links: Iterable[Link] = (),
        columns: Mapping[str, Any] | None = None,
        progress: ReadProgress | None = None,
    ) -> dict[str, Any]:
        """The Import JSON object, with ``links``, ``progress`` and (when given) ``columns`` as
        shown."""
        return import_object(
            import_id=self.import_id,
            type=self.type,
            status=self.status,
            dataset_name=self.dataset_name,
            parameters=self.parameters,
            requested_date=self.requested_date,
            status_history=self.status_history,
            messages=self.messages,
            columns=self.columns if columns is None else columns,
            links=links,
            progress=progress,
        )

    def record(self) -> Import:
        """The import, parsed."""
        return Import.from_wire(self.to_wire())


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
        The directory that holds the database, the datasets' segments (``segments/``) and the
        rows of running imports (``staging/``).
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.staging_dir = self.data_dir / "staging"
        self.segments_dir = self.data_dir / "segments"
        self._dataset_locks: dict[str, threading.Lock] = {}
        self.path = self.data_dir / "nexosis.sqlite3"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        conn = self.connection()
        try:
            _refuse_rows_of_0_1(conn, self.data_dir)
        except BaseException:
            self.close()
            raise
        self.staging_dir.mkdir(exist_ok=True)
        self.segments_dir.mkdir(exist_ok=True)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        self._add_columns(conn)
        self._remove_strays()

    def _add_columns(self, conn: sqlite3.Connection) -> None:
        """Columns added since the first version, added to an older database."""
        have = {r[1] for r in conn.execute("PRAGMA table_info(imports)")}
        for name in ("rows_read", "bytes_read", "bytes_total"):
            if name not in have:
                conn.execute(f"ALTER TABLE imports ADD COLUMN {name} INTEGER")

    def _remove_strays(self) -> None:
        """Delete staged rows and segment files that no dataset lists (a crash left them)."""
        for path in self.staging_dir.iterdir():
            _unlink(path)
        listed = {r[0] for r in self.connection().execute("SELECT file FROM segments")}
        for path in self.segments_dir.iterdir():
            if path.name not in listed:
                _unlink(path)

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
    ) -> tuple[list[StoredImport], int]:
        """One page of imports matching the filters, and how many match in all."""
        clause, params = _import_filter(dataset_name, requested_after, requested_before)
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
        return self._stored_imports(ids), int(total)

    def history_rows(
        self,
        *,
        dataset_name: str | None = None,
        requested_after: str | None = None,
        requested_before: str | None = None,
        sort_by: str = "requesteddate",
        descending: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Every import matching the filters as a row of :data:`HISTORY_FIELDS`, in one query.

        The fields are those of the client's history: the source's parameters, the dates as
        stored (``started`` the last ``started`` entry, ``finished`` the last entry of a final
        status), the error messages joined with ``"; "`` and the number of messages.
        """
        clause, params = _import_filter(dataset_name, requested_after, requested_before, "i.")
        order = "DESC" if descending else "ASC"
        column = IMPORT_SORT_COLUMNS[sort_by]
        sources = ", ".join(f"json_extract(i.parameters, '$.{name}')" for name in _SOURCES)
        final = ", ".join(f"'{status.value}'" for status in ImportStatus if status.is_terminal)
        query = _HISTORY_QUERY.format(
            sources=sources, final=final, clause=clause, column=column, order=order
        )
        return self.connection().execute(query, params).fetchall()

    def _imports_by_id(self, ids: Sequence[str]) -> list[Import]:
        return [stored.record() for stored in self._stored_imports(ids)]

    def _stored_imports(self, ids: Sequence[str]) -> list[StoredImport]:
        if not ids:
            return []
        conn = self.connection()
        marks = ", ".join("?" * len(ids))
        rows = conn.execute(
            "SELECT import_id, type, status, dataset_name, parameters, requested_date, columns "
            f"FROM imports WHERE import_id IN ({marks})",
            list(ids),
        ).fetchall()
        history: dict[str, list[tuple[str, str]]] = {}
        for import_id, date, status in conn.execute(
            f"SELECT import_id, date, status FROM import_status WHERE import_id IN ({marks}) "
            "ORDER BY id",
            list(ids),
        ):
            history.setdefault(import_id, []).append((date, status))
        messages: dict[str, list[tuple[str, str]]] = {}
        for import_id, severity, message in conn.execute(
            "SELECT import_id, severity, message FROM import_messages "
            f"WHERE import_id IN ({marks}) ORDER BY id",
            list(ids),
        ):
            messages.setdefault(import_id, []).append((severity, message))
        by_id = {
            r[0]: StoredImport(
                import_id=r[0],
                type=r[1],
                status=r[2],
                dataset_name=r[3],
                parameters=json.loads(r[4]),
                requested_date=r[5],
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
        if status is ImportStatus.STARTED:  # a run (again) from the beginning of the file
            conn.execute(
                "UPDATE imports SET rows_read = NULL, bytes_read = NULL, bytes_total = NULL "
                "WHERE import_id = ?",
                (import_id,),
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

    def parts(self, dataset_id: int) -> list[Part]:
        """The dataset's segments, in row order."""
        return [
            Part(self.segments_dir / file, int(first), int(rows))
            for file, first, rows in self.connection().execute(
                "SELECT file, first_row, row_count FROM segments WHERE dataset_id = ? "
                "ORDER BY first_row",
                (dataset_id,),
            )
        ]

    def dataset_rows(self, dataset_id: int, *, offset: int, limit: int) -> list[dict[str, Any]]:
        """One page of a dataset's rows, in the order they were first added (as stored)."""
        rows: list[dict[str, Any]] = self.dataset_table(
            dataset_id, offset=offset, limit=limit
        ).to_pylist()
        return rows

    def dataset_table(self, dataset_id: int, *, offset: int, limit: int) -> pa.Table:
        """One page of a dataset's rows as a table of text columns, the dataset's columns."""
        for attempt in range(3):
            row = (
                self.connection()
                .execute("SELECT columns FROM datasets WHERE id = ?", (dataset_id,))
                .fetchone()
            )
            names = list(json.loads(row[0])) if row else []
            try:
                return read_rows(self.parts(dataset_id), offset, limit, names)
            except FileNotFoundError:
                # An upsert replaced the segments between the two reads: read the list again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def dataset_batches(self, dataset: DatasetRecord, offset: int = 0) -> Iterator[pa.RecordBatch]:
        """The dataset's rows from ``offset`` on, a record batch of its columns at a time."""
        return iter_rows(self.parts(dataset.id), list(dataset.columns), offset)

    def dataset_lock(self, name: str) -> threading.Lock:
        """The lock held while a dataset's segments change (one writer per dataset)."""
        with self._lock:
            return self._dataset_locks.setdefault(name, threading.Lock())

    def delete_dataset(self, name: str) -> bool:
        """Delete a dataset and its rows; whether it existed."""
        with self.dataset_lock(name):
            with self.transaction() as conn:
                found = conn.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()
                if found is None:
                    return False
                files = [
                    r[0]
                    for r in conn.execute(
                        "SELECT file FROM segments WHERE dataset_id = ?", (found[0],)
                    )
                ]
                conn.execute("DELETE FROM datasets WHERE id = ?", (found[0],))
            for file in files:
                _unlink(self.segments_dir / file)
            return True

    def dataset_count(self) -> int:
        """How many datasets there are."""
        return int(self.connection().execute("SELECT COUNT(*) FROM datasets").fetchone()[0])

    def publish(
        self,
        *,
        dataset_name: str,
        columns: Mapping[str, ColumnSpec],
        files: Sequence[tuple[Path, int]],
        replace: bool,
        import_id: str | None = None,
        messages: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Make new segments part of a dataset in one transaction, with the import's completion.

        The caller holds :meth:`dataset_lock`. The dataset is created when missing, its column
        metadata overlaid with ``columns``. With ``replace`` the segments replace all of the
        dataset's (an upsert wrote the whole dataset anew), else they are appended. With
        ``import_id``, the import is marked ``completed`` with ``messages``.
        """
        replaced_files: list[str] = []
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
                dataset_id, existing, before = found[0], json.loads(found[1]), int(found[2])
            if replace:
                replaced_files = [
                    r[0]
                    for r in tx.execute(
                        "SELECT file FROM segments WHERE dataset_id = ?", (dataset_id,)
                    )
                ]
                tx.execute("DELETE FROM segments WHERE dataset_id = ?", (dataset_id,))
                before = 0
            first = before
            for path, rows in files:
                if rows:
                    tx.execute(
                        "INSERT INTO segments (dataset_id, file, first_row, row_count) "
                        "VALUES (?, ?, ?, ?)",
                        (dataset_id, path.name, first, rows),
                    )
                    first += rows
            merged = merge_metadata(existing, columns)
            tx.execute(
                "UPDATE datasets SET columns = ?, row_count = ?, updated_date = ? WHERE id = ?",
                (json.dumps(merged), first, now, dataset_id),
            )
            if import_id is not None:
                self.set_status(
                    import_id,
                    ImportStatus.COMPLETED,
                    messages=messages,
                    columns={n: merged[n] for n in columns if n in merged},
                    conn=tx,
                )
        for path, rows in files:
            if not rows:
                _unlink(path)
        for file in replaced_files:
            _unlink(self.segments_dir / file)

    def set_progress(
        self, import_id: str, *, rows: int, bytes_read: int, bytes_total: int | None
    ) -> None:
        """Record how far a running import has read (shown on the import, for progress bars)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE imports SET rows_read = ?, bytes_read = ?, bytes_total = ? "
                "WHERE import_id = ?",
                (rows, bytes_read, bytes_total, import_id),
            )

    def progress(self, import_ids: Sequence[str]) -> dict[str, ReadProgress]:
        """What :meth:`set_progress` last recorded for each import that has read something."""
        if not import_ids:
            return {}
        marks = ", ".join("?" * len(import_ids))
        return {
            import_id: ReadProgress(int(rows), int(read), None if total is None else int(total))
            for import_id, rows, read, total in self.connection().execute(
                "SELECT import_id, rows_read, bytes_read, bytes_total FROM imports "
                f"WHERE import_id IN ({marks}) AND rows_read IS NOT NULL",
                list(import_ids),
            )
        }


_SOURCES = ("bucket", "path", "region", "url", "container", "blob")

_HISTORY_QUERY = """
SELECT i.import_id, i.dataset_name, i.type, i.status, {sources}, i.requested_date,
    (SELECT date FROM import_status s WHERE s.import_id = i.import_id AND s.status = 'started'
        ORDER BY s.id DESC LIMIT 1),
    CASE WHEN i.status IN ({final}) THEN (SELECT date FROM import_status s
        WHERE s.import_id = i.import_id AND s.status = i.status ORDER BY s.id DESC LIMIT 1) END,
    (SELECT group_concat(message, '; ') FROM (SELECT message FROM import_messages m
        WHERE m.import_id = i.import_id AND m.severity = 'error' ORDER BY m.id)),
    (SELECT COUNT(*) FROM import_messages m WHERE m.import_id = i.import_id)
FROM imports i{clause} ORDER BY i.{column} {order}, i.seq {order}
"""

HISTORY_FIELDS = (
    "import_id",
    "dataset_name",
    "type",
    "status",
    *_SOURCES,
    "requested",
    "started",
    "finished",
    "error",
    "n_messages",
)
"""The fields of :meth:`Store.history_rows`, in order (the client's history columns)."""


def _import_filter(
    dataset_name: str | None,
    requested_after: str | None,
    requested_before: str | None,
    table: str = "",
) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause of a list of imports, and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    if dataset_name is not None:
        where.append(f"{table}dataset_name = ?")
        params.append(dataset_name)
    if requested_after is not None:
        where.append(f"{table}requested_date >= ?")
        params.append(requested_after)
    if requested_before is not None:
        where.append(f"{table}requested_date <= ?")
        params.append(requested_before)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def _refuse_rows_of_0_1(conn: sqlite3.Connection, data_dir: Path) -> None:
    """Refuse a data directory whose rows nexosis-pandas 0.1.0 kept in SQLite.

    0.1.0 kept every dataset's rows as JSON in a ``dataset_rows`` table, which this store does
    not read: a server on it would show its datasets empty and append to them as if they were.
    An empty such table is dropped.

    Raises
    ------
    OldDataDirError
        Some dataset has rows in ``dataset_rows``; nothing in the directory was changed.
    """
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dataset_rows'"
    ).fetchone()
    if found is None:
        return
    rows = conn.execute("SELECT COUNT(*) FROM dataset_rows").fetchone()[0]
    if rows:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM datasets WHERE id IN (SELECT DISTINCT dataset_id FROM "
                "dataset_rows) ORDER BY name LIMIT 6"
            )
        ]
        shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        raise OldDataDirError(
            f"The data directory {data_dir} holds {rows} rows of datasets ({shown}) in the "
            "format of nexosis-pandas 0.1.0, which this version does not read; nothing in it "
            "was changed. To keep them, run 'nexosis-pandas serve --data-dir' with 0.1.0 "
            "(pip install nexosis-pandas==0.1.0 in another environment), read each dataset "
            "with read_dataset and import it into a server of this version; else give this "
            "server another data directory"
        )
    with conn:
        conn.execute("DROP TABLE dataset_rows")


class OldDataDirError(ConfigurationError):
    """The data directory holds rows in the format of nexosis-pandas 0.1.0 (see the message)."""


def _unlink(path: Path) -> None:
    with suppress(OSError):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _dataset(row: Sequence[Any]) -> DatasetRecord:
    return DatasetRecord(
        id=int(row[0]),
        name=str(row[1]),
        columns=json.loads(row[2]),
        row_count=int(row[3]),
        created_date=str(row[4]),
        updated_date=str(row[5]),
    )
