"""A throw-away PostgreSQL server on loopback for the tests: its own data directory and port, stopped afterwards.

Debian's `postgresql` package provides the binaries (`make postgres-deps` installs it when missing, as root). PostgreSQL
refuses to run as root, so as root the server runs as the package's `postgres` user.
"""
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def server_binaries() -> Path | None:
    "The folder holding initdb and pg_ctl (on PATH, or Debian's /usr/lib/postgresql/VERSION/bin), or None."
    found = shutil.which('initdb')
    if found and shutil.which('pg_ctl'): return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob('/usr/lib/postgresql/*/bin'), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    return Path(folders[-1]) if folders else None


def why_unavailable() -> str | None:
    "None when a server can be started here, else why not (the skip message)."
    if server_binaries() is None:
        return ('PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin). Fix: run `make postgres-deps` '
                "as root (Debian's postgresql package), or apt-get install postgresql.")
    if os.geteuid() == 0 and shutil.which('runuser') is None:
        return 'running as root without runuser, so the server cannot be started as the postgres user'
    try: import psycopg2  # noqa: F401
    except ImportError: return "psycopg2 is missing. Fix: pip install 'lepton_nb[postgres]' (or the dev extra)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server():
    "Start a server on 127.0.0.1 with trust authentication for user `lepton`; yield its SQLAlchemy URL; stop it and delete its files."
    binaries, port = server_binaries(), _free_port()
    folder = Path(tempfile.mkdtemp(prefix='lepton-pg-'))
    as_owner = []
    if os.geteuid() == 0:  # initdb and postgres refuse root
        shutil.chown(folder, user='postgres')
        as_owner = ['runuser', '-u', 'postgres', '--']
    data = folder / 'data'
    def run(*cmd):
        subprocess.run([*as_owner, *cmd], check=True, capture_output=True, text=True, timeout=120, cwd=folder)
    try:
        run(str(binaries / 'initdb'), '-D', str(data), '-U', 'lepton', '--auth=trust', '--encoding=UTF8', '--no-sync')
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        run(str(binaries / 'pg_ctl'), '-D', str(data), '-o', options, '-l', str(folder / 'server.log'), '-w', 'start')
        try: yield f'postgresql+psycopg2://lepton@127.0.0.1:{port}/postgres'
        finally: run(str(binaries / 'pg_ctl'), '-D', str(data), '-m', 'fast', '-w', 'stop')
    finally: shutil.rmtree(folder, ignore_errors=True)
