#!/usr/bin/env python3
# A misbehaving HTTP proxy in front of a test registry, on 127.0.0.1:
#   flaky_proxy.py UPSTREAM_PORT PORT_FILE [--fail-first N] [--rate BYTES_PER_S]
# --fail-first answers 503 to the first N requests (retries must recover);
# --rate trickles response bodies (so a test can stop the registry mid-pull).
# --bearer USER:PASS|anon demands Bearer tokens, served at /token (with Basic
#   credentials unless anon); each token works for --token-uses requests.
# --drop-once cuts the first big blob response half-way (resume with Range).
# --pad-blobs sends one byte more than each blob (and says so in Content-Length).
# --redirect-blobs answers blob requests with a redirect to "localhost"
#   (another host name): a request arriving there with Authorization fails.
import http.client, http.server, json, sys, time, threading

upstream = int(sys.argv[1])
port_file = sys.argv[2]
fail_first = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
rate = int(sys.argv[sys.argv.index("--rate") + 1]) if "--rate" in sys.argv else 0
bearer = sys.argv[sys.argv.index("--bearer") + 1] if "--bearer" in sys.argv else None
token_uses = int(sys.argv[sys.argv.index("--token-uses") + 1]) if "--token-uses" in sys.argv else 1000
redirect_blobs = "--redirect-blobs" in sys.argv
drop_once = ["--drop-once" in sys.argv]
pad_blobs = "--pad-blobs" in sys.argv
ranges = []
tokens = {}
issued = 0
lock = threading.Lock()
seen = 0
PASS_UP = ("Authorization", "Accept", "Range")
PASS_DOWN = ("Content-Type", "Content-Length", "Docker-Content-Digest", "WWW-Authenticate", "Content-Range",
             "Location")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def check_bearer(self):
        """Returns True when the request may go on."""
        global issued
        if self.path.startswith("/token"):
            if bearer != "anon":
                import base64
                want = "Basic " + base64.b64encode(bearer.encode()).decode()
                if self.headers["Authorization"] != want:
                    self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                    return False
            if "scope=repository%3Aos%3Apull" not in self.path and "scope=repository:os:pull" not in self.path:
                self.reply(400, b"bad scope")
                return False
            with lock:
                issued += 1
                token = "tok%d" % issued
                tokens[token] = token_uses
            self.reply(200, json.dumps({"access_token": token, "expires_in": 300}).encode())
            return False
        auth = self.headers["Authorization"] or ""
        token = auth[7:] if auth.startswith("Bearer ") else None
        with lock:
            valid = token in tokens and tokens[token] > 0
            if valid:
                tokens[token] -= 1
        if not valid:
            port = self.server.server_address[1]
            challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="test"' % port
            if self.path != "/v2/":
                challenge += ',scope="repository:os:pull"'
            self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [("WWW-Authenticate", challenge)])
            return False
        return True

    def forward(self, send_body):
        global seen
        if self.path.startswith("/redirected/"):
            if self.headers["Authorization"]:
                sys.stderr.write("LEAK: Authorization sent to the redirect target\n")
                self.reply(400, b"credentials leaked")
                return
            self.path = self.path[len("/redirected"):]
        else:
            if bearer and not self.check_bearer():
                return
            if redirect_blobs and "/blobs/" in self.path:
                port = self.server.server_address[1]
                self.reply(307, b"", [("Location", "http://localhost:%d/redirected%s" % (port, self.path))])
                return
        with lock:
            seen += 1
            fail = seen <= fail_first
        if fail:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        headers = {k: self.headers[k] for k in PASS_UP if self.headers[k]}
        conn.request(self.command, self.path, headers=headers)
        resp = conn.getresponse()
        pad = pad_blobs and "/blobs/" in self.path and resp.status == 200
        self.send_response(resp.status)
        for k in PASS_DOWN:
            if resp.getheader(k):
                value = resp.getheader(k)
                if pad and k == "Content-Length":
                    value = str(int(value) + 1)
                self.send_header(k, value)
        self.end_headers()
        if not send_body:
            return
        if self.headers["Range"]:
            ranges.append(self.headers["Range"])
            sys.stderr.write("RANGE %s %d\n" % (self.headers["Range"], resp.status))
        length = int(resp.getheader("Content-Length") or 0)
        with lock:
            drop = drop_once[0] and length > 1024 * 1024 and "/blobs/" in self.path
            if drop:
                drop_once[0] = False
        if drop:
            self.wfile.write(resp.read(length // 2))
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        chunk = max(1, rate // 20) if rate else 65536
        while True:
            data = resp.read(chunk)
            if not data:
                break
            self.wfile.write(data)
            self.wfile.flush()
            if rate:
                time.sleep(0.05)
        if pad:
            self.wfile.write(b"!")

    def do_GET(self):
        self.forward(True)

    def do_HEAD(self):
        self.forward(False)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
