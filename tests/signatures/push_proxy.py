#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A token-authenticated front for a test docker-registry, for pushes, on
127.0.0.1 only:
  push_proxy.py UPSTREAM_PORT PORT_FILE LOG [--creds USER:PASS]
      [--no-scope] [--pull-only] [--foreign-location]
Every /v2/ request needs a Bearer token from /token (Basic --creds there
when given); a token carries the scope it was asked for, and a push (POST,
PUT, PATCH, DELETE) needs one with push, else 401 with a challenge naming
repository:NAME:pull,push (--no-scope: no scope in any challenge, as the
/v2/ probe's has none, so the client's default scope must ask for push).
--pull-only: the token service grants pull whatever is asked (a push is
refused for good). --foreign-location: upload locations point at
"localhost" (another origin): a request arriving there with an
Authorization header is a leak (logged LEAK, answered 400).
LOG gets one line per request: METHOD HOST PATH auth=yes|no -> STATUS, and
TOKEN scope=... per token issued."""
import base64
import http.client
import http.server
import re
import sys
import threading

upstream = int(sys.argv[1])
port_file, log_file = sys.argv[2], sys.argv[3]
creds = sys.argv[sys.argv.index("--creds") + 1] if "--creds" in sys.argv else None
no_scope = "--no-scope" in sys.argv
pull_only = "--pull-only" in sys.argv
foreign = "--foreign-location" in sys.argv
tokens = {}
lock = threading.Lock()
PASS_UP = ("Accept", "Content-Type", "Content-Length")
PASS_DOWN = ("Content-Type", "Content-Length", "Docker-Content-Digest", "Docker-Upload-Uuid", "Range")


def log(line):
    with lock, open(log_file, "a") as f:
        f.write(line + "\n")


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
        if self.command != "HEAD":
            self.wfile.write(body)

    def challenge(self, repo):
        c = f'Bearer realm="http://127.0.0.1:{self.server.server_port}/token",service="test"'
        if repo and not no_scope:
            c += f',scope="repository:{repo}:pull,push"'
        return [("WWW-Authenticate", c), ("Content-Type", "application/json")]

    def token(self):
        auth = self.headers.get("Authorization", "")
        if creds and auth != "Basic " + base64.b64encode(creds.encode()).decode():
            return self.reply(401, b'{"details":"bad credentials"}')
        m = re.search(r"[?&]scope=([^&]*)", self.path)
        scope = m.group(1).replace("%3A", ":").replace("%2C", ",").replace("%2F", "/") if m else ""
        if pull_only:
            scope = scope.replace(",push", "")
        with lock:
            name = f"tok{len(tokens)}"
            tokens[name] = scope
        log(f"TOKEN scope={scope}")
        self.reply(200, b'{"token":"%s"}' % name.encode(), [("Content-Type", "application/json")])

    def handle_any(self):
        host = self.headers.get("Host", "")
        auth = self.headers.get("Authorization")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path.startswith("/token"):
            return self.token()
        status = self.forward(host, auth, body)
        log(f"{self.command} {host} {self.path.split('?')[0]} auth={'yes' if auth else 'no'} -> {status}")

    def forward(self, host, auth, body):
        if host.startswith("localhost"):
            if auth:
                log(f"LEAK {self.command} {host} {self.path.split('?')[0]}")
                self.reply(400)
                return 400
        else:
            m = re.match(r"/v2/(.+?)/(manifests|blobs|tags)/", self.path)
            repo = m.group(1) if m else None
            scope = tokens.get(auth[len("Bearer "):]) if auth and auth.startswith("Bearer ") else None
            push = self.command in ("POST", "PUT", "PATCH", "DELETE")
            if scope is None or (repo and (f"repository:{repo}:" not in scope or (push and "push" not in scope))):
                self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                           self.challenge(repo))
                return 401
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        conn.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT") else None,
                     headers={k: self.headers[k] for k in PASS_UP if k in self.headers})
        resp = conn.getresponse()
        data = resp.read()
        headers = [(k, v) for k, v in resp.getheaders() if k.title() in PASS_DOWN and k.title() != "Content-Length"]
        loc = resp.getheader("Location")
        if loc:
            where = "localhost" if foreign else "127.0.0.1"
            loc = loc.replace(f"127.0.0.1:{upstream}", f"{where}:{self.server.server_port}")
            headers.append(("Location", loc))
        self.reply(resp.status, data, headers)
        conn.close()
        return resp.status

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_port))
server.serve_forever()
