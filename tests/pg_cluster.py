"""Run a command against a throwaway PostgreSQL cluster on a loopback port.

    python tests/pg_cluster.py -- pytest -q

Creates a cluster under a temporary directory, starts it on a free port, exports
TEST_DATABASE_URL for the command, then stops the server and removes the directory.
As root, the server runs as the `postgres` system user (PostgreSQL refuses root).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile


def pg_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return os.path.dirname(found[-1])
    which = shutil.which("pg_ctl")
    if which:
        return os.path.dirname(os.path.realpath(which))
    sys.exit("PostgreSQL server binaries not found: install Debian's postgresql package")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> int:
    cmd = argv[argv.index("--") + 1:] if "--" in argv else argv
    bindir, port = pg_bin(), free_port()
    root = tempfile.mkdtemp(prefix="trainapp-pg-")
    data, sock = os.path.join(root, "data"), root
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o755)
    env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def pg(*args: str) -> None:
        subprocess.run(run_as + list(args), check=True, env=env, stdout=subprocess.DEVNULL)

    try:
        pg(f"{bindir}/initdb", "-D", data, "-U", "trainapp", "-A", "trust", "-E", "UTF8", "--no-sync")
        pg(f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "server.log"), "-o",
           f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
           "-c full_page_writes=off", "start")
        pg(f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "trainapp", "trainapp_test")
        url = f"postgresql+psycopg://trainapp@127.0.0.1:{port}/trainapp_test"
        print(f"PostgreSQL {os.path.basename(os.path.dirname(bindir))} on 127.0.0.1:{port}", flush=True)
        return subprocess.run(cmd, env={**os.environ, "TEST_DATABASE_URL": url}).returncode
    finally:
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "stop"],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
