"""``flask --app app backup PATH`` and ``restore PATH``: the whole database in one file.

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` (the client programs must be on PATH,
of the server's major version or newer). The password travels in ``PGPASSWORD``, never on the
command line. SQLite: the SQLite backup API, which copies a consistent snapshot while the app
keeps running.

``restore`` fills an empty database (a new one, or after ``DROP DATABASE``/``CREATE DATABASE``);
a database that already has tables is replaced only with ``--replace``. Afterwards the feed
generation (migrations 0004 and 0017) is moved past any value it had before, and the shared feed cache
is emptied, so no host serves a feed built from the data the restore replaced.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from samskap.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
# The feed generation: the sum of its counter's rows (migrations 0004 and 0017).
GENERATION_SQL = "SELECT CAST(sum(value) AS BIGINT) FROM feed_generation"


class BackupError(click.ClickException):
    """A backup or restore that cannot go on: the command says why and exits non-zero."""


def _url() -> sa.URL:
    return sa.make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _sqlite_file(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(url.database)


def _libpq(url: sa.URL) -> tuple[str, dict]:
    """A connection string without the password, and the environment carrying it."""
    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    for key, value in url.query.items():
        parts[key] = value if isinstance(value, str) else value[-1]
    conninfo = " ".join(f"{key}='{_quote(str(value))}'" for key, value in parts.items() if value not in (None, ""))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return found


def _run(args: list[str], env: dict) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        raise BackupError(f"{Path(args[0]).name} failed: " + (lines[-1] if lines else f"exit {done.returncode}"))


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup API (``target`` is overwritten whole)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


# --- backup ------------------------------------------------------------------------------------

def backup_to(path: Path, *, overwrite: bool = False) -> Path:
    path = path.expanduser()
    if path.is_dir():
        raise BackupError(f"{path} is a directory; give a file name, e.g. {path / 'samskap.backup'}.")
    if not path.parent.is_dir():
        raise BackupError(f"The directory {path.parent} does not exist.")
    if path.exists() and not overwrite:
        raise BackupError(f"{path} exists already; choose a new name or give --overwrite.")
    partial = path.with_name(path.name + ".partial")
    url = _url()
    try:
        if url.get_backend_name() == "postgresql":
            conninfo, env = _libpq(url)
            _run([_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={partial}", f"--dbname={conninfo}"], env)
        elif url.get_backend_name() == "sqlite":
            source = _sqlite_file(url)
            if not source.exists():
                raise BackupError(f"The database file {source} does not exist.")
            _sqlite_copy(source, partial)
        else:
            raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")
        os.chmod(partial, 0o600)  # password and token hashes, personal data
        os.replace(partial, path)
    except OSError as error:
        raise BackupError(f"Cannot write {path}: {error.strerror or error}.") from error
    finally:
        if partial.exists():
            partial.unlink()
    return path


# --- restore -----------------------------------------------------------------------------------

def _has_tables() -> bool:
    return bool(sa.inspect(db.engine).get_table_names())


def _check_backup_file(path: Path, backend: str) -> None:
    if not path.exists():
        raise BackupError(f"No such file: {path}.")
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror or error}.") from error
    expected = PG_CUSTOM_MAGIC if backend == "postgresql" else SQLITE_MAGIC
    if not head.startswith(expected):
        kind = "a pg_dump custom-format file" if backend == "postgresql" else "an SQLite database file"
        raise BackupError(f"{path} is not {kind}: it cannot be restored into this {backend} database.")


def _generation() -> int | None:
    try:
        with db.engine.connect() as conn:
            return conn.exec_driver_sql(GENERATION_SQL).scalar()
    except sa.exc.DBAPIError:
        return None


def _move_feed_generation_past(before: int | None) -> None:
    """Feeds are cached under the generation's value (booking/feeds/cache.py). A restore takes it
    back to the backup's value, which hosts may already have cached other texts under: set it
    beyond both, and beyond the clock in microseconds, which no run of increments reaches.
    The generation is the sum of the counter's rows (migration 0017); row 1 takes the difference,
    so no row goes down."""
    with db.engine.begin() as conn:
        restored = conn.exec_driver_sql(GENERATION_SQL).scalar()
        if restored is None:
            return
        floor = max(restored, before or 0, time.time_ns() // 1000)
        conn.execute(sa.text("UPDATE feed_generation SET value = value + :step WHERE id = 1"),
                     {"step": floor + 1 - restored})


def restore_from(path: Path, *, replace: bool = False) -> None:
    path = path.expanduser()
    url = _url()
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise BackupError(f"Restoring {backend} databases is not supported.")
    _check_backup_file(path, backend)
    try:
        occupied = _has_tables()
    except sa.exc.DBAPIError as error:
        raise BackupError(f"The database cannot be reached: {type(error.orig or error).__name__}.") from error
    if occupied and not replace:
        raise BackupError("The database already has tables. Restore into an empty database, or give --replace "
                          "to overwrite everything in it.")
    before = _generation() if occupied else None
    db.session.remove()
    db.engine.dispose()
    if backend == "postgresql":
        conninfo, env = _libpq(url)
        _run([_program("pg_restore"), "--no-owner", "--no-privileges", "--clean", "--if-exists",
              "--single-transaction", "--exit-on-error", f"--dbname={conninfo}", str(path)], env)
    else:
        target = _sqlite_file(url)
        if not target.parent.is_dir():
            raise BackupError(f"The directory {target.parent} does not exist.")
        try:
            _sqlite_copy(path, target)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} cannot be read as an SQLite database: {error}.") from error
    db.engine.dispose()
    _move_feed_generation_past(before)
    _clear_shared_cache()


def _clear_shared_cache() -> None:
    from samskap.shared_cache import shared_cache

    cache = shared_cache()
    if cache is None:
        return
    try:
        removed = cache.clear()
    except Exception as error:  # the generation already keeps hosts from serving old feeds
        click.echo(f"Note: the shared cache could not be emptied ({type(error).__name__}); "
                   "it expires by itself.", err=True)
        return
    click.echo(f"Shared cache: {removed} entries removed.")


# --- commands ----------------------------------------------------------------------------------

@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=True))
@click.option("--overwrite", is_flag=True, help="replace an existing file at PATH")
@with_appcontext
def backup_command(path: Path, overwrite: bool):
    """Write the whole database to PATH (pg_dump custom format, or an SQLite file)."""
    written = backup_to(path, overwrite=overwrite)
    click.echo(f"Backup written to {written} ({written.stat().st_size} bytes).")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=True))
@click.option("--replace", is_flag=True, help="overwrite a database that already has tables")
@with_appcontext
def restore_command(path: Path, replace: bool):
    """Restore the database from a backup made with ``backup``."""
    restore_from(path, replace=replace)
    click.echo(f"Restored from {path}.")
