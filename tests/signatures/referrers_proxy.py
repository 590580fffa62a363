#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""referrers_proxy.py PORT UPSTREAM: a registry WITH the OCI 1.1 referrers
API, for tests/signatures/bundle.sh. Debian's docker-registry (distribution
2.8) has none, so this answers GET /v2/NAME/referrers/DIGEST itself, from
the tag-schema index the upstream holds (as a registry indexing `subject`
would), and hides the tag-schema tags (404), so a client that finds the
bundles through it used the API. Everything else is passed to UPSTREAM
(127.0.0.1 only). Prints "ready" when listening."""
import http.client
import http.server
import re
import sys

PORT, UPSTREAM = int(sys.argv[1]), sys.argv[2]
INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = b'{"schemaVersion":2,"mediaType":"' + INDEX.encode() + b'","manifests":[]}'


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def upstream(self, path):
        host, port = UPSTREAM.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request(self.command, path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        m = re.fullmatch(r"/v2/(.+)/referrers/sha256:([0-9a-f]{64})(\?.*)?", self.path)
        if m:
            st, _, body = self.upstream(f"/v2/{m.group(1)}/manifests/sha256-{m.group(2)}")
            self.answer(200, [("Content-Type", INDEX)], body if st == 200 else EMPTY)
        elif re.fullmatch(r"/v2/.+/manifests/sha256-[0-9a-f]{64}", self.path):
            self.answer(404, [("Content-Type", "application/json")],
                        b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"hidden by the proxy"}]}')
        else:
            self.answer(*self.upstream(self.path))

    do_HEAD = do_GET


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
