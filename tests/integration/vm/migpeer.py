#!/usr/bin/env python3
"""Stand-ins for a migration peer (tests/integration/vm/migrate.sh).

migpeer.py record SOCK OUT [--cut BYTES] [--refuse MSG]
    Listen on the Unix socket SOCK as a destination would, save what the
    source sends to OUT. --cut: close after BYTES (a destination dying
    mid-stream); --refuse: read the whole stream, then answer an ERROR
    frame with MSG (a destination that refuses). Prints what it did.
migpeer.py replay SOCK FILE
    Send FILE to the destination listening on SOCK, then print the reply
    frame it sends back ("RUNNING", "ERROR <message>" or "none").
migpeer.py edit IN OUT WHAT
    Copy a recorded stream, changing it: version (the header's version
    field), state (one byte inside the device state), page (the first
    page frame's address moved past guest memory), half (cut in half).
"""
import os, socket, struct, sys

FRAME = struct.Struct("<IIQ")
PAGES, ZERO, ROUND, STATE, END, RUNNING, ERROR = 1, 2, 3, 4, 5, 0x10, 0x11


def frames(data):
    """(offset, type, n, a, payload offset, payload length) of each frame."""
    at = 32
    while at + 16 <= len(data):
        t, n, a = FRAME.unpack_from(data, at)
        plen = n * 4096 if t == PAGES else a if t == STATE else 0
        yield at, t, n, a, at + 16, plen
        at += 16 + plen


def record(sock, out, cut=None, refuse=None):
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock)
    s.listen(1)
    c, _ = s.accept()
    data = bytearray()
    while cut is None or len(data) < cut:
        b = c.recv(1 << 20)
        if not b:
            break
        data += b
        if refuse is not None and data.endswith(FRAME.pack(END, 0, 0)) and any(
                t == END for _, t, *_ in frames(bytes(data))):
            msg = refuse.encode()
            c.sendall(FRAME.pack(ERROR, len(msg), 0) + msg)
            break
    open(out, "wb").write(data if cut is None else data[:cut])
    c.close()
    os.unlink(sock)
    print("recorded %d bytes%s" % (len(data), " (cut)" if cut else ""))


def replay(sock, path):
    data = open(path, "rb").read()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    try:
        s.sendall(data)
    except OSError:
        pass  # the destination may stop reading as soon as it refuses
    s.shutdown(socket.SHUT_WR)
    rep = b""
    while True:
        try:
            b = s.recv(4096)
        except OSError:
            break
        if not b:
            break
        rep += b
    if len(rep) >= 16:
        t, n, _ = FRAME.unpack_from(rep)
        print("RUNNING" if t == RUNNING else "ERROR " + rep[16:16 + n].decode(errors="replace"))
    else:
        print("none")


def edit(src, dst, what):
    data = bytearray(open(src, "rb").read())
    if what == "version":
        struct.pack_into("<I", data, 8, 2)
    elif what == "half":
        data = data[:len(data) // 2]
    else:
        for at, t, n, a, p, plen in frames(bytes(data)):
            if what == "state" and t == STATE:
                data[p + plen // 2] ^= 0x5A
                break
            if what == "page" and t == PAGES:
                mem = struct.unpack_from("<Q", data, 16)[0]
                struct.pack_into("<Q", data, at + 8, mem + (1 << 32))
                break
        else:
            sys.exit("no frame to edit for " + what)
    open(dst, "wb").write(data)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "record":
        cut = refuse = None
        args = sys.argv[4:]
        if args[:1] == ["--cut"]:
            cut = int(args[1])
        if args[:1] == ["--refuse"]:
            refuse = args[1]
        record(sys.argv[2], sys.argv[3], cut, refuse)
    elif cmd == "replay":
        replay(sys.argv[2], sys.argv[3])
    elif cmd == "edit":
        edit(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
