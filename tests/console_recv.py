# Accept one connection on a Unix socket, receive a pty master over
# SCM_RIGHTS (runc's --console-socket protocol) and print what it reads.
import array, os, socket, sys
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
srv.settimeout(10)
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: fds.itemsize])
out = b""
try:
    while True:
        chunk = os.read(fds[0], 4096)
        if not chunk:
            break
        out += chunk
except OSError:
    pass  # EIO: the container side hung up
sys.stdout.write(out.decode(errors="replace"))
