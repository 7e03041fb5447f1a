# The upload benchmark's native ceiling (#26): TLS terminated by OpenSSL (Python's ssl module, no
# JavaScript on the path), each PUT body written to QX_SINK_FILE in 1 MiB writes, then fsync, as a
# native terminator in front of the vDC could at best. Prints its port on stdout; serves until killed.
import os
import socket
import ssl
import tempfile

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
with tempfile.TemporaryDirectory() as d:  # load_cert_chain reads files only
    for name in ("cert", "key"):
        with open(os.path.join(d, name), "w") as f:
            f.write(os.environ["QX_SINK_" + name.upper()])
    ctx.load_cert_chain(os.path.join(d, "cert"), os.path.join(d, "key"))
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
target = os.environ["QX_SINK_FILE"]

while True:
    conn = ctx.wrap_socket(listener.accept()[0], server_side=True)
    head = b""
    while b"\r\n\r\n" not in head:
        more = conn.recv(65536)
        if not more:
            raise SystemExit("native sink: the connection closed inside the request head")
        head += more
    head, body = head.split(b"\r\n\r\n", 1)
    lines = head.lower().split(b"\r\n")
    size = int(next(l.split(b":")[1] for l in lines if l.startswith(b"content-length:")))
    if b"expect: 100-continue" in lines:
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    os.write(fd, body)
    got, fill = len(body), 0
    while got < size:
        n = conn.recv_into(view[fill:], min(len(buf) - fill, size - got))
        if not n:
            break
        fill += n
        got += n
        if fill == len(buf):
            os.write(fd, view[:fill])
            fill = 0
    os.write(fd, view[:fill])
    os.fsync(fd)
    os.close(fd)
    os.unlink(target)
    answer = str(got).encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(answer), answer))
    conn.close()
