#!/usr/bin/env python3
# A misbehaving HTTP proxy in front of a test registry, on 127.0.0.1:
#   flaky_proxy.py UPSTREAM_PORT PORT_FILE [--fail-first N] [--rate BYTES_PER_S]
# --fail-first answers 503 to the first N requests (retries must recover);
# --rate trickles response bodies (so a test can stop the registry mid-pull).
import http.client, http.server, sys, time, threading

upstream = int(sys.argv[1])
port_file = sys.argv[2]
fail_first = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
rate = int(sys.argv[sys.argv.index("--rate") + 1]) if "--rate" in sys.argv else 0
lock = threading.Lock()
seen = 0
PASS_UP = ("Authorization", "Accept", "Range")
PASS_DOWN = ("Content-Type", "Content-Length", "Docker-Content-Digest", "WWW-Authenticate", "Content-Range",
             "Location")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self, send_body):
        global seen
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
        self.send_response(resp.status)
        for k in PASS_DOWN:
            if resp.getheader(k):
                self.send_header(k, resp.getheader(k))
        self.end_headers()
        if not send_body:
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
