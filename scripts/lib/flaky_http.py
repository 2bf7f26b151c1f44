"""A static HTTP server for the delivery bench: single Range requests (206, Content-Range, 416), a strong ETag,
If-Range, throttled to RATE bytes/s, and the connection cut after every DROP body bytes, so that a client has to
resume to finish. Prints its port on stdout, then serves until killed.

  flaky_http.py ROOT --rate 1000000 --drop 500000
"""
import argparse
import hashlib
import http.server
import os
import time


def make_handler(root, rate, drop):
    etags = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            path = os.path.realpath(os.path.join(root, self.path.lstrip("/").split("?")[0]))
            if not path.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = os.path.getsize(path)
            if path not in etags:
                with open(path, "rb") as f:
                    etags[path] = '"' + hashlib.sha256(f.read()).hexdigest() + '"'
            etag = etags[path]
            start, status = 0, 200
            rng = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            if rng and rng.startswith("bytes=") and (if_range is None or if_range == etag):
                first = rng[6:].split("-")[0]
                if first.isdigit():
                    start = int(first)
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
            self.send_response(status)
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(size - start))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.send_header("Connection", "close")
            self.end_headers()
            sent, began = 0, time.monotonic()
            with open(path, "rb") as f:
                f.seek(start)
                while True:
                    chunk = f.read(16384)
                    if not chunk:
                        break
                    if drop and sent + len(chunk) > drop:
                        chunk = chunk[: drop - sent]
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    if rate:
                        ahead = sent / rate - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
                    if drop and sent >= drop:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
            self.close_connection = True

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--rate", type=int, default=0)
    p.add_argument("--drop", type=int, default=0)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(a.root, a.rate, a.drop))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
