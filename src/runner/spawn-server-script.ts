/**
 * The spawn server's program (Python 3.9+, standard library only); spawn-server.ts runs it
 * and speaks to it over Node's own IPC channel.
 *
 * Why Python: it is the one interpreter commonly present whose standard library starts
 * processes with `vfork` (`subprocess`, Python 3.10+; 3.9 forks, but a small process), a cost
 * that does not grow with the caller's memory (libuv forks the whole engine for every
 * command), and can pass file descriptors (`send_fds`). `subprocess` also gives libuv's exec
 * semantics: PATH from the command's environment, EACCES remembered while later PATH entries
 * are tried, cwd changed in the child, signal dispositions restored (glibc's `posix_spawn`
 * would leave glibc's internal signals 32 and 33 ignored in the command); what it lacks (a
 * file without `#!` is run by /bin/sh, as execvp does) is added here.
 *
 * Protocol (one JSON object per line; Node's `json` serialization):
 *  - request `{i, f, a, e | k, c, n}`: id, file, argv[1..], environment (`e`, or `k: 1` for the
 *    one sent last), cwd (or null), number of pipes (the command's fds 1..n; fd 0 is /dev/null).
 *    The server makes n socket pairs (what libuv gives a child for `pipe`) and first passes
 *    their read ends as NODE_HANDLE messages `{i, k}` (k = fd). Only when Node has acknowledged
 *    every one does it start the command, so a command is never started whose output the
 *    engine could not receive (at EMFILE Node refuses the handle: after 3 tries the request
 *    fails with that errno and nothing ran).
 *  - `{i, l: 1}` the command is about to be started (sent before the spawn: should the server
 *    die before `{i, p}`, the engine knows it may have run and does not start it again).
 *  - `{i, p}` the command runs with pid p (its own session and process group, like `detached`);
 *    `{i, err}` it could not be started (errno, as execve/chdir/socketpair said). The command
 *    inherits what libuv's child would: fds 0..n, and whatever the engine passed on to the server.
 *  - `{cancel: i}` from the engine: a stop came before the pid; if the command has not been
 *    started it never will be (`{i, err: ECANCELED}`), else nothing (the engine has its pid).
 *  - `{i, x, s}` it exited with code x or signal s. It is not reaped yet, so its pid cannot be
 *    reused while the engine may still signal it; the engine answers `{r: i}` and the server
 *    reaps it and replies `{i, d: 1}`.
 *
 * A handle's fd must arrive in the same read as its message; a read stops after a message with
 * fds but may begin with up to 64 KiB of earlier messages, so the server keeps less than 32 KiB
 * unacknowledged (acknowledged: a NODE_HANDLE_ACK/NACK, or the reap request that answers an
 * exit report, or the engine's answer `{y}` to a sync request `{y}` sent when nothing else
 * would be acknowledged) before it sends a handle. When the engine goes away the server exits;
 * running commands are left to the engine's leftover handling, as when the engine itself dies.
 * Before each start it checks that the engine's end is still open (POLLRDHUP sees a close even
 * behind unread messages): a command is not started for an engine that is gone.
 *
 * The server runs in its own session (spawn-server.ts starts it detached), so a terminal's
 * Ctrl-C reaches the engine, which stops its commands its own way, and not the server; its
 * signal dispositions are Python's defaults, and `subprocess` restores the defaults in commands.
 */
export const SPAWN_SERVER_SCRIPT = `import errno, fcntl, json, os, select, selectors, socket, subprocess, sys
if sys.version_info < (3, 9) or not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
    sys.exit(3)
fd = int(os.environ.pop("NODE_CHANNEL_FD"))
os.environ.pop("NODE_CHANNEL_SERIALIZATION_MODE", None)
# The channel moves out of the way; fd 3 stays taken (by /dev/null) so that no socket of ours
# lands there: a namespace launch puts the command's third pipe on it just for the spawn.
ch = socket.socket(fileno=fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
placeholder = os.open("/dev/null", os.O_RDONLY)
os.dup2(placeholder, fd, inheritable=False)
ch.setblocking(True)
sel = selectors.DefaultSelector()
sel.register(ch, selectors.EVENT_READ)
hangup = select.poll()
hangup.register(ch, select.POLLRDHUP)

def engine_gone():
    # The engine closed its end (it exited or died), even if some of what it sent is unread.
    return any(ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _, ev in hangup.poll(0))
WINDOW = 32768
sent = 0
acked = 0
handles = []  # (end offset, request, fd, message, tries) in the order sent
acks_at = {}  # request id -> end offset of its exit report
waiting = []  # requests whose pipes wait for the window
reqs = {}  # id -> request state
last_env = None
sync_at = None  # set while a sync request awaits its answer

def send(obj, fds=None):
    global sent
    data = (json.dumps(obj, separators=(",", ":")) + "\\n").encode()
    if fds is None:
        ch.sendall(data)
    else:
        n = socket.send_fds(ch, [data], fds)
        if n < len(data):
            ch.sendall(data[n:])
    sent += len(data)
    return sent

def send_handle(r, k, tries):
    msg = {"cmd": "NODE_HANDLE", "type": "net.Native", "msg": {"i": r["i"], "k": k}}
    end = send(msg, [r["read"][k]])
    handles.append((end, r, k, tries))

def start_pipes(r):
    if sent - acked > WINDOW:
        waiting.append(r)
        return
    for k in r["read"]:
        send_handle(r, k, 0)

def close_all(r):
    for f in list(r["read"].values()) + list(r["write"].values()):
        try:
            os.close(f)
        except OSError:
            pass
    r["read"].clear()
    r["write"].clear()

def fail(r, err):
    close_all(r)
    reqs.pop(r["i"], None)
    send({"i": r["i"], "err": err})

def request(m):
    global last_env
    if "e" in m:
        last_env = {k: v if isinstance(v, str) else json.dumps(v) for k, v in m["e"].items()}
    r = {"i": m["i"], "m": m, "env": last_env, "read": {}, "write": {}, "pending": 0}
    reqs[m["i"]] = r
    try:
        for k in range(1, m["n"] + 1):
            a, b = socket.socketpair()
            r["read"][k] = a.detach()
            r["write"][k] = b.detach()
    except OSError as e:
        return fail(r, e.errno)
    r["pending"] = m["n"]
    start_pipes(r)

def popen(argv, w, cwd, env):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=w[1], stderr=w[2],
                            close_fds=False, cwd=cwd, env=env, start_new_session=True)

def found(file, env):
    if "/" in file:
        return file
    for d in os.get_exec_path(env):
        path = os.path.join(d or ".", file)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise OSError(errno.ENOEXEC, file)

def launch(r):
    if engine_gone():
        sys.exit(0)  # nobody would read its output or end it
    m = r["m"]
    w = r["write"]
    pid = None
    # From here it may run: an engine that hears of the server's death later must not start it again.
    send({"i": r["i"], "l": 1})
    try:
        if 3 in w:
            os.dup2(w[3], 3)  # inheritable: the command's fd 3
        try:
            p = popen([m["f"]] + m["a"], w, m.get("c"), r["env"])
        except OSError as e:
            if e.errno != errno.ENOEXEC:
                raise
            # As execvp: a file the kernel cannot run (a script without #!) is run by /bin/sh.
            p = popen(["/bin/sh", found(m["f"], r["env"])] + m["a"], w, m.get("c"), r["env"])
        pid = p.pid
    except OSError as e:
        err = e.errno or errno.EIO
    except (ValueError, TypeError):  # a NUL byte in an argument or variable
        err = errno.EINVAL
    finally:
        if 3 in w:
            os.dup2(placeholder, 3, inheritable=False)
    for f in w.values():
        os.close(f)
    w.clear()
    if pid is None:
        return fail(r, err)
    r["popen"] = p
    r["pid"] = pid
    r["pidfd"] = os.pidfd_open(pid)
    sel.register(r["pidfd"], selectors.EVENT_READ, r)
    send({"i": r["i"], "p": pid})

def cancel(i):
    r = reqs.get(i)
    if r is not None and "pid" not in r:
        fail(r, errno.ECANCELED)

def confirm(n):
    global acked, sync_at
    acked = max(acked, n)
    sync_at = None

def on_ack(ok):
    global acked
    end, r, k, tries = handles.pop(0)
    acked = max(acked, end)
    if r["i"] not in reqs:
        return
    if not ok:
        if tries < 3:
            return send_handle(r, k, tries + 1)
        return fail(r, errno.EMFILE)
    os.close(r["read"].pop(k))
    r["pending"] -= 1
    if r["pending"] == 0:
        launch(r)

def exited(r):
    sel.unregister(r["pidfd"])
    os.close(r["pidfd"])
    info = os.waitid(os.P_PID, r["pid"], os.WEXITED | os.WNOWAIT)
    if info.si_code == os.CLD_EXITED:
        msg = {"i": r["i"], "x": info.si_status, "s": None}
    else:
        msg = {"i": r["i"], "x": None, "s": info.si_status}
    acks_at[r["i"]] = send(msg)

def reap(i):
    global acked
    r = reqs.pop(i, None)
    if r is None:
        return
    acked = max(acked, acks_at.pop(i, 0))
    try:
        _, status = os.waitpid(r["pid"], 0)
        r["popen"].returncode = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        r["popen"].returncode = -1
    send({"i": i, "d": 1})

buf = b""

def serve():
    global buf, sync_at
    send({"ready": 1})
    while True:
        for key, _ in sel.select():
            if key.data is not None:
                exited(key.data)
                continue
            chunk = ch.recv(65536)
            if not chunk:
                sys.exit(0)
            buf += chunk
            while True:
                nl = buf.find(b"\\n")
                if nl < 0:
                    break
                m = json.loads(buf[:nl])
                buf = buf[nl + 1:]
                cmd = m.get("cmd")
                if cmd == "NODE_HANDLE_ACK":
                    on_ack(True)
                elif cmd == "NODE_HANDLE_NACK":
                    on_ack(False)
                elif "y" in m:
                    confirm(m["y"])
                elif "r" in m:
                    reap(m["r"])
                elif "cancel" in m:
                    cancel(m["cancel"])
                elif "i" in m:
                    request(m)
        while waiting and sent - acked <= WINDOW:
            start_pipes(waiting.pop(0))
        if waiting and not handles and not acks_at and sync_at is None:
            # Nothing in flight will be acknowledged: ask the engine how far it has read.
            sync_at = send({"y": sent})

try:
    serve()
except (BrokenPipeError, ConnectionResetError):
    pass  # the engine is gone: so are the commands' readers; leave quietly
`;
