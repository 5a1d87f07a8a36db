"""memwarden's cooperative agent: lets memwarden collect garbage and take snapshots in this
process without ptrace, for hosts where debuggers are forbidden.

    import memwarden_agent; memwarden_agent.start()

starts a daemon thread that answers JSON lines on a Unix socket only this user can open:
$XDG_RUNTIME_DIR/memwarden/agent-<pid>.sock, or /tmp/memwarden-<uid>/agent-<pid>.sock. One
request per line, {"command": "gc" | "snapshot" | "memory", "args": {...}}; one answer per line,
{"ok": true, "pid": ..., "result": {...}} or {"ok": false, "pid": ..., "error": "..."}.
"""

import atexit
import json
import os
import socket
import stat
import sys
import threading

from . import probes

__all__ = ["start", "stop", "socket_path"]

# A request is a short JSON object; anything longer is not memwarden talking.
_MAX_REQUEST_BYTES = 64 * 1024
_CLIENT_TIMEOUT_S = 30

_lock = threading.Lock()
_server = None


def _private_dir(path):
    """Creates `path` 0700, or accepts it only if it is a real directory of ours that nobody else
    can write to: a directory planted by another user must not receive our socket."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError("%s is not a private directory owned by uid %d" % (path, os.getuid()))
    return path


def _socket_dir():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        try:
            return _private_dir(os.path.join(runtime, "memwarden"))
        except OSError:
            pass
    return _private_dir("/tmp/memwarden-%d" % os.getuid())


def socket_path():
    """Where this process's agent listens (or would listen)."""
    return os.path.join(_socket_dir(), "agent-%d.sock" % os.getpid())


class _Server:
    def __init__(self, path):
        self.path = path
        self.pid = os.getpid()
        # A socket left by an earlier process that had our pid is stale: it cannot be ours.
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            self.sock.bind(path)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, name="memwarden-agent", daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed by stop()
            with conn:
                try:
                    self._answer(conn)
                except OSError:
                    pass

    def _answer(self, conn):
        conn.settimeout(_CLIENT_TIMEOUT_S)
        buffered = b""
        while True:
            newline = buffered.find(b"\n")
            if newline >= 0:
                line, buffered = buffered[:newline], buffered[newline + 1 :]
                conn.sendall(json.dumps(self._handle(line)).encode() + b"\n")
                continue
            if len(buffered) > _MAX_REQUEST_BYTES:
                conn.sendall(json.dumps({"ok": False, "pid": self.pid, "error": "request too long"}).encode() + b"\n")
                return
            chunk = conn.recv(65536)
            if not chunk:
                return
            buffered += chunk

    def _handle(self, line):
        try:
            request = json.loads(line)
            command = request["command"]
            args = request.get("args") or {}
            if not isinstance(args, dict):
                raise ValueError("args must be an object")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return {"ok": False, "pid": self.pid, "error": "bad request: %s" % exc}
        answer = probes.run(command, args)
        if "error" in answer:
            return {"ok": False, "pid": self.pid, "error": answer["error"]}
        return {"ok": True, "pid": self.pid, "result": answer["result"]}

    def close(self):
        try:
            self.sock.close()
        finally:
            # Only our own socket: after a fork the child must not remove the parent's.
            if os.getpid() == self.pid:
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass


def start():
    """Starts the agent once per process; returns the socket path. Safe to call again."""
    global _server
    with _lock:
        if _server is not None and _server.pid == os.getpid():
            return _server.path
        _server = _Server(socket_path())
        atexit.register(stop)
        return _server.path


def stop():
    global _server
    with _lock:
        if _server is not None:
            _server.close()
            _server = None
