"""A warm interpreter for the doc runner's ``creditfactory`` commands.

Each ``creditfactory ...`` line of a page used to start a fresh interpreter that imported
pandas, scikit-learn, SciPy, Polars, Plotly and the rest before doing anything: about two
seconds of CPU a command, most of the doc runner's time. Here one server process imports those
libraries once; the page's ``creditfactory`` (a small shim, first on ``PATH`` and at
``.venv/bin/creditfactory`` in the page's copy) hands it its arguments, working folder,
environment and its standard input, output and error (the descriptors themselves), and the
server forks a child that runs the command as the console script would:
``sys.exit(creditfactory.cli.main())`` in that folder, with that environment and those
descriptors, then exits through the interpreter's normal shutdown. The shim exits with the
child's status (or dies of the child's signal) and forwards the signals it gets to the child.

What the child does not share with a fresh interpreter: the third-party libraries are already
imported (with the server's environment, which is the page's starting one). creditfactory
itself is not: the server drops every ``creditfactory`` module after the warm-up, so each
command imports the tree under test anew, in the page's environment. ``creditfactory serve``
(a long-running process the runner stops by its process group) runs the real console script.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import pkgutil
import selectors
import signal
import socket
import struct
import sys
import threading
from pathlib import Path

# run-time imports of the commands (inside functions), warmed too
RUNTIME = (
    "plotly.graph_objects",
    "plotly.offline",
    "plotly.io",
    "pyarrow.parquet",
    "pyarrow.csv",
    "pyarrow.compute",
    "sklearn.tree",
    "sklearn.ensemble",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.linear_model",
    "jinja2",
    "optbinning",
    "lightgbm",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "sqlalchemy.pool",
    "openpyxl",
)
DIRECT = frozenset({"serve"})  # commands that run the real console script

SHIM = '''#!{python} -IS
"""creditfactory for the doc runner: runs the command in its warm interpreter (tests/docs/_warm.py)
when it answers, else the real console script."""
import os, signal, socket, struct, sys, json

REAL = {real!r}
address = os.environ.get("CREDITFACTORY_DOC_WARM")
args = sys.argv[1:]
if not address or (args[:1] and args[0] in {direct!r}):
    os.execv(REAL, [REAL, *args])
conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
request = json.dumps({{"argv": args, "cwd": os.getcwd(), "env": dict(os.environ)}}).encode()
try:  # not answering, or a standard descriptor closed: the real console script
    conn.connect(address)
    socket.send_fds(conn, [struct.pack("!I", len(request))], [0, 1, 2])
    conn.sendall(request)
    reader = conn.makefile("rb")
    pid = int(reader.readline())
except (OSError, ValueError):
    os.execv(REAL, [REAL, *args])
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(number, lambda n, _f: os.kill(pid, n))
status = reader.readline().split()
if len(status) != 2:
    print("creditfactory: the doc runner's warm interpreter went away", file=sys.stderr)
    sys.exit(70)
kind, value = status[0], int(status[1])
if kind == b"signal":
    signal.signal(value, signal.SIG_DFL)
    os.kill(os.getpid(), value)
sys.exit(value)
'''


def shim(real: str) -> str:
    """The shim's source, calling ``real`` (the console script) when the server is not there."""
    return SHIM.format(python=sys.executable, real=real, direct=sorted(DIRECT))


def warm_up() -> None:
    """Import what the commands import, then drop creditfactory itself (each command imports
    the tree under test anew)."""
    import creditfactory

    for info in pkgutil.walk_packages(creditfactory.__path__, "creditfactory."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
    for name in RUNTIME:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for name in [m for m in sys.modules if m == "creditfactory" or m.startswith("creditfactory.")]:
        del sys.modules[name]
    gc.collect()
    gc.freeze()  # the children's collections leave the warm objects (and their pages) alone


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    head, fds, _, _ = socket.recv_fds(conn, 4, 3)
    while len(head) < 4:
        more = conn.recv(4 - len(head))
        if not more:
            raise ConnectionError("the shim went away")
        head += more
    (size,) = struct.unpack("!I", head)
    body = b""
    while len(body) < size:
        more = conn.recv(size - len(body))
        if not more:
            raise ConnectionError("the shim went away")
        body += more
    return json.loads(body), fds


def _child(request: dict[str, object], fds: list[int], real: str) -> None:
    """In the forked child: become the command, then return to run it (see :func:`serve`)."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update(env)
    argv = request["argv"]
    assert isinstance(argv, list)
    sys.argv = [real, *argv]
    sys.path[0] = str(Path(real).parent)  # as for a console script: its own folder first


def serve(address: str, real: str) -> None:
    """Answer the shims on the Unix socket ``address`` until killed."""
    warm_up()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    print("ready", flush=True)
    waiting: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while True:
        if selector.select(timeout=0.02):
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (ConnectionError, OSError, ValueError):
                conn.close()
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                selector.close()
                listener.close()
                for other in waiting.values():
                    other.close()
                conn.close()
                _child(request, fds, real)
                return  # the caller runs the command
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                conn.sendall(f"{pid}\n".encode())
            waiting[pid] = conn
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = waiting.pop(pid, None)
            if conn is None:
                continue
            if os.WIFSIGNALED(status):
                answer = f"signal {os.WTERMSIG(status)}\n"
            else:
                answer = f"exit {os.waitstatus_to_exitcode(status)}\n"
            with contextlib.suppress(OSError):
                conn.sendall(answer.encode())
            conn.close()


def run_command() -> int:
    """Run the console script's ``sys.exit(main())`` and end as the interpreter would: the
    exit status of ``SystemExit`` (its message on stderr), a traceback and 1 for any other
    exception, other threads joined, ``atexit`` handlers run, output flushed. The interpreter's
    own teardown (freeing every module the server imported, page by page of copied memory) is
    what is left out."""
    code: object = 0
    try:
        from creditfactory.cli import main

        main()
    except SystemExit as stop:
        code = stop.code
    except BaseException:  # as the interpreter reports an uncaught exception
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
    # only a forked child gets here: run the command as the console script does
    os._exit(run_command())
