"""Is the web app's address free? Checked before any install, index build or "serving on" line.

Standard library only, and no imports from ``qa``: ``run.sh`` runs this file with the system
Python before the virtual environment exists (``python qa/web/ports.py ARGS``), so that a taken
port is one line at once rather than a traceback after minutes of setup. The app and ``qa serve``
call :func:`port_problem` before loading or building the index.

Hand-written: the check is one ``bind`` on the address the server will use (as the server
itself binds, with ``SO_REUSEADDR``), and the message names our own flags, not Gradio's.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys

#: How many ports above a taken one are tried for a free one to suggest.
_SUGGEST_RANGE = 20


def _bind_error(host: str, port: int) -> OSError | None:
    """The error binding ``host:port`` raises, or None when a server could listen there now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        return OSError(errno.EADDRNOTAVAIL, str(e))
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        # as uvicorn binds: a connection of a server that just stopped (TIME_WAIT) is no owner
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            return e
    return None


def free_port_near(host: str, port: int) -> int | None:
    """The first port above ``port`` that is free on ``host``, or None within a short range."""
    for candidate in range(port + 1, min(port + 1 + _SUGGEST_RANGE, 65536)):
        if _bind_error(host, candidate) is None:
            return candidate
    return None


def port_problem(host: str, port: int) -> str | None:
    """None when the app can listen on ``host:port``; else one line saying what to do.

    Example:
        >>> import socket
        >>> with socket.socket() as s:
        ...     s.bind(("127.0.0.1", 0)); s.listen()
        ...     taken = s.getsockname()[1]
        ...     print(port_problem("127.0.0.1", taken).split(";")[0].replace(str(taken), "N"))
        port N on 127.0.0.1 is already in use by another program
    """
    err = _bind_error(host, port)
    if err is None:
        return None
    if err.errno == errno.EADDRINUSE:
        free = free_port_near(host, port)
        other = str(free) if free is not None else "another port"
        return (
            f"port {port} on {host} is already in use by another program; "
            f"start with --port {other} (or set QA_PORT={other}), or stop that program"
        )
    if err.errno == errno.EACCES:
        return (
            f"not allowed to listen on port {port} (ports below 1024 need extra rights); "
            "choose another with --port or QA_PORT, e.g. --port 7860"
        )
    return (
        f"cannot listen on {host}:{port} ({err.strerror or err}); "
        "choose another address with --host / QA_HOST, e.g. --host 127.0.0.1"
    )


def main(argv: list[str] | None = None) -> int:
    """``python qa/web/ports.py [--host H] [--port P] [other app options]``: exit 1 with one
    line on stderr when the app could not listen there (defaults: QA_HOST, QA_PORT, then
    127.0.0.1:7860). Other options are ignored; bad values are left for the app to report."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--host", default=os.environ.get("QA_HOST", "").strip() or "127.0.0.1")
    p.add_argument("--port", default=os.environ.get("QA_PORT", "").strip() or "7860")
    args, _ = p.parse_known_args(argv)
    try:
        port = int(args.port)
    except ValueError:
        return 0
    if not 1 <= port <= 65535:
        return 0
    problem = port_problem(args.host, port)
    if problem:
        print(f"qa: error: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
