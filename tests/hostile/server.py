#!/usr/bin/env python3
# A hostile registry for `kairos-upgrade pull`: one small image, served in
# one of many broken ways, on 127.0.0.1 (random port).
#   server.py CASE STATE_DIR
# Writes STATE_DIR/port once listening (and STATE_DIR/other-port,
# STATE_DIR/other-host-port and STATE_DIR/third-host-port for the servers
# on 127.0.0.1, 127.0.0.2 and 127.0.0.3 that redirects and realms name);
# appends one JSON line per request to STATE_DIR/requests.jsonl: which
# server, the path, the Authorization header it carried (or null) and how
# many body bytes it was sent before the connection ended.
# The image is pulled as 127.0.0.1:PORT/hostile:latest.
import base64, gzip, hashlib, http.server, io, json, os, socketserver, ssl, subprocess, sys, tarfile, threading, time, zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sparse_tar  # noqa: E402

CASE, STATE = sys.argv[1], sys.argv[2]
REPO = "hostile"
CREDS = "tester:s3cret"  # what --creds passes in the auth cases
MiB = 1024 * 1024
log_lock = threading.Lock()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("etc/hostile", b"hostile test layer\n"), ("usr/share/filler", os.urandom(64 * 1024))):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def gzip_bomb(gib):
    """A tar.gz holding one file of zeros, gib GiB long: ~1 MiB compressed
    per GiB. Built from one deflate block repeated after full flushes (each
    restarts the window, so the block compresses the same every time)."""
    size = gib * 1024 * MiB
    header = tarfile.TarInfo("bomb")
    header.size = size
    head = header.tobuf(format=tarfile.GNU_FORMAT)
    chunk = bytes(MiB)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)]
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    out.append(block * (size // MiB))
    tail = bytes(1024)  # the tar's end: two zero blocks
    last = c.compress(tail) + c.flush()
    # c saw one chunk, not all of them: write the trailer (CRC32, length
    # mod 2^32) for the stream as served.
    crc = zlib.crc32(head)
    for _ in range(size // MiB):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    length = (len(head) + size + len(tail)) & 0xFFFFFFFF
    last = last[:-8] + crc.to_bytes(4, "little") + length.to_bytes(4, "little")
    out.append(last)
    return b"".join(out)


def zstd_bomb(mib):
    """A tar.zst holding one file of zeros, mib MiB long, in 32 KiB per GiB:
    one zstd frame of RLE blocks (4 bytes for each 128 KiB of zeros)."""
    block = 128 * 1024
    size = mib * MiB
    header = tarfile.TarInfo("bomb")
    header.size = size
    head = header.tobuf(format=tarfile.GNU_FORMAT)

    def block_header(last, kind, n):  # kind 0: raw, 1: RLE
        return (last | kind << 1 | n << 3).to_bytes(3, "little")
    # Magic; frame header: no content size, no checksum; window 2^17.
    out = [b"\x28\xb5\x2f\xfd", b"\x00", bytes([(17 - 10) << 3])]
    out.append(block_header(0, 0, len(head)) + head)
    out.append((block_header(0, 1, block) + b"\x00") * (size // block))
    out.append(block_header(1, 1, 1024) + b"\x00")  # the tar's end
    return b"".join(out)


def pax_sparse_bomb(realsize):
    """A tar.gz of one pax 1.0 sparse file of realsize bytes: ~220 bytes."""
    return gzip.compress(sparse_tar.pax_sparse("bomb", realsize), 9, mtime=0)


def image(layer, config=None, layer_type="application/vnd.oci.image.layer.v1.tar+gzip", copies=1, claim=None):
    """claim: the layer's (digest, size) in the manifest, if not its own."""
    config = config or json.dumps({"rootfs": {"type": "layers", "diff_ids": []}}).encode()
    digest, size = claim or (sha(layer), len(layer))
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                   "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": digest, "size": size}] * copies,
    }).encode()
    return manifest, {sha(config): config, digest: layer}


LAYER = gzip.compress(layer_tar(), 6)
if CASE == "gzip-bomb":
    LAYER = gzip_bomb(2)
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
COPIES = 1
if CASE == "zstd-bomb":
    LAYER = zstd_bomb(2048)
    LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+zstd"
if CASE == "layered-bomb":
    # Each layer stays under 1 GiB; eight of them do not.
    LAYER = zstd_bomb(768)
    LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+zstd"
    COPIES = 8
CLAIM = None
if CASE == "sparse-bomb":
    LAYER = pax_sparse_bomb(1 << 60)  # 1 EiB
if CASE == "sparse-bomb-digest":
    # Served in place of the real layer (same digest in the manifest, the
    # bomb's size): only the digest check at its end tells.
    CLAIM = (sha(LAYER), len(pax_sparse_bomb(1 << 60)))
    LAYER = pax_sparse_bomb(1 << 60)
if CASE == "size-lie-bomb":
    # 64 GiB of zeros in 2 MiB, the manifest claiming 10^12 bytes for it,
    # sent without a Content-Length: the claim cannot buy expansion.
    LAYER = zstd_bomb(64 * 1024)
    LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+zstd"
    CLAIM = (sha(LAYER), 10 ** 12)
CONFIG = None
# Strings a terminal would act on: escape sequences that clear the screen
# and set the title, CR, BEL, CSI as U+009B (JSON cannot carry other bytes);
# tar names and headers add bytes that are not UTF-8 (a lone 0x9b, 0xff, an
# overlong ESC).
ESCAPES = "\x1b[2J\x1b]0;owned\x07\r\u009b31m"
RAW_ESCAPES = b"\x1b[2J\x1b]0;owned\x07\r\x9b31m\xff\xc0\x9b"
if CASE == "escapes-entry":
    # Refused for its "..": the error names it.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as t:
        ti = tarfile.TarInfo((RAW_ESCAPES + b"/../../evil").decode("utf-8", "surrogateescape"))
        t.addfile(ti, io.BytesIO(b""))
    LAYER = gzip.compress(buf.getvalue())
if CASE == "escapes-media-type":
    LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+" + ESCAPES
if CASE == "escapes-config":
    # Pulled, with a warning naming the config's platform.
    CONFIG = json.dumps({"os": "linux" + ESCAPES, "architecture": "amd64" + ESCAPES,
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
MANIFEST, BLOBS = image(LAYER, config=CONFIG, layer_type=LAYER_TYPE, copies=COPIES, claim=CLAIM)
LAYER_DIGEST = CLAIM[0] if CLAIM else sha(LAYER)
CONFIG_DIGEST = json.loads(MANIFEST)["config"]["digest"]
if CASE == "config-digest":
    # The manifest names a config blob; the registry serves other bytes
    # (same length) under that digest.
    config = BLOBS[CONFIG_DIGEST]
    BLOBS[CONFIG_DIGEST] = config.replace(b"layers", b"LAYERS")
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
ports = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_name = "main"

    def log_message(self, *args):
        pass

    def record(self, sent):
        entry = {"server": self.server_name, "path": self.path, "authorization": self.headers["Authorization"],
                 "sent": sent}
        with log_lock, open(os.path.join(STATE, "requests.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send(self, status, body=b"", headers=(), length=None, close=False):
        """Headers, then the body; length overrides Content-Length (None:
        the body's own); close ends the connection after the body."""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            self.wfile.write(body)
            self.wfile.flush()
            sent = len(body)
        except OSError:
            pass
        if close:
            self.close_connection = True
        self.record(sent)

    def stream(self, status, headers, total, chunk=64 * 1024, chunked=False):
        """total bytes of filler (JSON-ish whitespace), sent until the client
        goes away; records how many were sent."""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        piece = b"[" + b" " * (chunk - 1)
        try:
            while sent < total:
                data = piece[: min(chunk, total - sent)]
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                self.wfile.flush()
                sent += len(data)
                piece = b" " * chunk
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True
        self.record(sent)

    def chunked(self, body, chunk=64 * 1024):
        """body with chunked transfer encoding (no Content-Length), until the
        client goes away; records how many bytes were sent."""
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            for i in range(0, len(body), chunk):
                data = body[i:i + chunk]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(data)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True
        self.record(sent)

    def drip(self, body, rate):
        """The right headers, then rate bytes a second."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = 0
        try:
            while sent < len(body):
                self.wfile.write(body[sent:sent + rate])
                self.wfile.flush()
                sent += rate
                time.sleep(1)
        except OSError:
            pass
        self.close_connection = True
        self.record(min(sent, len(body)))

    def truncated(self, body, keep):
        """A correct Content-Length, then only keep bytes and a closed connection."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body[:keep])
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True
        self.record(keep)

    def basic_ok(self):
        want = "Basic " + base64.b64encode(CREDS.encode()).decode()
        return self.headers["Authorization"] == want

    def other_server(self, path):
        """The CDN (other-host, 127.0.0.2) and the third host (127.0.0.3) of
        the credential hand-off cases."""
        if CASE in ("cdn-challenge", "cdn-challenge-token", "probe-challenge") and self.server_name == "other-host":
            # The CDN asks for a token from a realm on a third host.
            realm = "http://127.0.0.3:%d/token" % ports["third-host"]
            return self.send(401, b"", [("WWW-Authenticate", 'Bearer realm="%s",service="cdn"' % realm)])
        if CASE == "realm-other-host" and self.server_name == "third-host" and path == "/token":
            # The registry's own realm: it may have the credentials, and
            # sends us on to the CDN (which may not).
            if not self.basic_ok():
                return self.send(401, b"", [("WWW-Authenticate", 'Basic realm="token"')])
            return self.send(307, headers=[("Location", "http://127.0.0.2:%d/token" % ports["other-host"])])
        if path == "/token":
            # On the CDN: the token service's back end (realm-other-host);
            # on the third host: the CDN's own token service.
            token = "registry-token" if self.server_name == "other-host" else "cdn-token"
            return self.send(200, json.dumps({"token": token}).encode())
        # The redirect targets: they serve the blob to anyone.
        blob = BLOBS.get(path.rsplit("/", 1)[-1])
        return self.send(200 if blob else 404, blob or b"")

    def do_GET(self):
        path = self.path.split("?")[0]
        if self.server_name != "main":
            return self.other_server(path)
        unauthorized = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
        realm = "http://127.0.0.1:%d/token" % ports["main"]
        bearer = 'Bearer realm="%s",service="hostile",scope="repository:%s:pull"' % (realm, REPO)

        if CASE in ("cdn-challenge-token", "realm-other-host", "tls-http-realm"):
            # A token registry: its token service (its own, or on the third
            # host) wants the credentials; the registry wants the token.
            if CASE == "realm-other-host":
                bearer = bearer.replace(realm, "http://127.0.0.3:%d/token" % ports["third-host"])
            if CASE == "tls-http-realm":
                # Served over TLS, naming a plain-http token service.
                bearer = bearer.replace(realm, "http://127.0.0.1:%d/token" % ports["other-port"])
            if path == "/token":
                if not self.basic_ok():
                    return self.send(401, unauthorized, [("WWW-Authenticate", 'Basic realm="token"')])
                return self.send(200, json.dumps({"token": "registry-token"}).encode())
            if self.headers["Authorization"] != "Bearer registry-token":
                return self.send(401, unauthorized, [("WWW-Authenticate", bearer)])
        if path == "/token":
            if CASE == "token-401-loop":
                return self.send(401, unauthorized, [("WWW-Authenticate", bearer)])
            return self.send(200, json.dumps({"token": "tok-%f" % time.time()}).encode())
        if CASE in ("token-401-loop", "registry-401-loop"):
            return self.send(401, unauthorized, [("WWW-Authenticate", bearer)])
        if (CASE.startswith("redirect-other") or CASE == "cdn-challenge") and not self.basic_ok():
            return self.send(401, unauthorized, [("WWW-Authenticate", 'Basic realm="hostile"')])

        if path == "/v2/" and CASE == "probe-challenge":
            return self.send(307, headers=[("Location", "http://127.0.0.2:%d/v2/" % ports["other-host"])])
        if path == "/v2/":
            return self.send(200, b"{}")
        if path.startswith("/loop/"):
            n = int(path.rsplit("/", 1)[-1])
            return self.send(307, headers=[("Location", "/loop/%d" % ((n + 1) % 2))])

        manifest_path = "/v2/%s/manifests/" % REPO
        blob_path = "/v2/%s/blobs/" % REPO
        if path.startswith(manifest_path):
            headers = [("Content-Type", MANIFEST_TYPE)]
            if CASE == "malformed-manifest":
                return self.send(200, MANIFEST[: len(MANIFEST) // 2] + b'"}{', headers)
            if CASE == "huge-manifest":
                return self.stream(200, headers, 100 * MiB, chunked=True)
            if CASE == "huge-manifest-announced":
                return self.stream(200, headers, 100 * MiB)
            if CASE == "manifest-length-short":
                return self.send(200, MANIFEST, headers, length=len(MANIFEST) - 40, close=True)
            if CASE == "manifest-length-long":
                return self.send(200, MANIFEST, headers, length=len(MANIFEST) + 40, close=True)
            if CASE == "smuggled-response":
                # The manifest is followed, on the same kept-alive connection,
                # by a response nobody asked for: the next request (the
                # config blob) must not take it for its answer.
                # Same length as the real config: only its digest can tell.
                fake = b'{"os":"linux","architecture":"amd64"}'.ljust(len(BLOBS[CONFIG_DIGEST]))
                extra = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(fake), fake)
                return self.send(200, MANIFEST + extra, headers, length=len(MANIFEST))
            if CASE == "manifest-fast-drip":
                # Just over the stall limit (1024 B/s) and under the size
                # limit: only a limit on the whole transfer stops it.
                return self.drip(MANIFEST.ljust(3 * MiB), 1500)
            if CASE == "escapes-index":
                # No platform of ours: the error lists these.
                index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                    "manifests": [{"mediaType": MANIFEST_TYPE, "digest": sha(MANIFEST),
                                                   "size": len(MANIFEST),
                                                   "platform": {"os": "linux" + ESCAPES, "architecture": ESCAPES}}]})
                return self.send(200, index.encode(), [("Content-Type", "application/vnd.oci.image.index.v1+json")])
            if CASE == "escapes-error-body":
                body = json.dumps({"errors": [{"code": "DENIED" + ESCAPES, "message": ESCAPES}]}).encode()
                return self.send(403, body, [("Content-Type", "application/json")])
            if CASE == "escapes-content-type":
                body = MANIFEST.replace(b'"mediaType": "%s", ' % MANIFEST_TYPE.encode(), b"")
                return self.send(200, body, [("Content-Type", RAW_ESCAPES.decode("latin-1"))])
            if CASE == "huge-error-body":
                return self.stream(404, [("Content-Type", "application/json")], 100 * MiB, chunked=True)
            return self.send(200, MANIFEST, headers)
        if path.startswith(blob_path):
            digest = path[len(blob_path):]
            blob = BLOBS.get(digest)
            if blob is None:
                return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
            if digest == LAYER_DIGEST:
                if CASE == "blob-length-short":
                    return self.send(200, blob, length=len(blob) - 100, close=True)
                if CASE == "blob-length-long":
                    return self.send(200, blob, length=len(blob) + 100, close=True)
                if CASE == "truncated-blob":
                    # Range requests are ignored: every answer starts over and stops half-way.
                    return self.truncated(blob, len(blob) // 2)
                if CASE == "slow-drip":
                    return self.drip(blob, 4)
                if CASE == "size-lie-bomb":
                    return self.chunked(blob)
                if CASE == "redirect-loop":
                    return self.send(307, headers=[("Location", "/loop/0")])
                if CASE == "redirect-other-port":
                    return self.send(307, headers=[("Location", "http://127.0.0.1:%d/cdn/%s" % (ports["other-port"], digest))])
                if CASE in ("redirect-other-host", "cdn-challenge", "cdn-challenge-token"):
                    return self.send(307, headers=[("Location", "http://127.0.0.2:%d/cdn/%s" % (ports["other-host"], digest))])
            return self.send(200, blob)
        return self.send(404, b"")

    def do_HEAD(self):
        self.send(405)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(name, host):
    handler = type("H_" + name.replace("-", "_"), (Handler,), {"server_name": name})
    s = Server((host, 0), handler)
    if name == "main" and CASE == "tls-http-realm":
        # A self-signed certificate: the client runs with --insecure.
        cert, key = os.path.join(STATE, "cert.pem"), os.path.join(STATE, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-keyout", key, "-out", cert], check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        s.socket = context.wrap_socket(s.socket, server_side=True)
    ports[name] = s.server_address[1]
    threading.Thread(target=s.serve_forever, daemon=True).start()


serve("other-port", "127.0.0.1")
serve("other-host", "127.0.0.2")
serve("third-host", "127.0.0.3")
serve("main", "127.0.0.1")
for name, file in (("other-port", "other-port"), ("other-host", "other-host-port"), ("third-host", "third-host-port"),
                   ("main", "port")):
    with open(os.path.join(STATE, file + ".tmp"), "w") as f:
        f.write(str(ports[name]))
    os.rename(os.path.join(STATE, file + ".tmp"), os.path.join(STATE, file))
while True:
    time.sleep(3600)
