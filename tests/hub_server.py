#!/usr/bin/env python3
"""hub_server.py -- a stand-in Hugging Face Hub on the loopback interface, for tests/cli/test_hub.sh.

Serves the repositories under --root (ROOT/OWNER/REPO/<files>) the way the Hub does:

  GET  /api/models/OWNER/REPO/revision/REV   {"id", "sha": commit, "siblings": [{"rfilename"}]}
  HEAD/GET /OWNER/REPO/resolve/REV/FILE      a regular file: 200, ETag = its git blob id, Content-Length,
                                             X-Repo-Commit; an LFS file (*.safetensors, *.bin, *.pt, *.ckpt):
                                             302 to the storage host with X-Linked-Etag = its sha256 and
                                             X-Linked-Size
  GET  /lfs/SHA256?X-Amz-Signature=...       (storage host) the content, with Range support (206)

The endpoint listens on 127.0.0.1:PORT, the storage host on 127.0.0.2:PORT (same port, another host), so a client
that sends its token to the redirect target is caught.  Every request is logged as one JSON line (--log):
{"server", "method", "path", "auth", "range"}; "auth" is the Authorization header as received.

ROOT/OWNER/REPO.json (optional) changes a repository's behaviour:
  "gated": TOKEN         requests without "Authorization: Bearer TOKEN" get 401 (none) or 403 (another),
                         X-Error-Code: GatedRepo
  "corrupt": [FILE]      the storage serves the file with one byte changed (its sha256 no longer matches)
  "truncate_once": [FILE] the first storage GET of the file stops half way (connection closed)
  "long_body": [FILE]    the storage serves 10 bytes more than X-Linked-Size announces
  "missing": [FILE]      listed, but resolve answers 404 (X-Error-Code: EntryNotFound)
  "extra_listing": [NAME] names added to the listing (crafted names)
  "huge_headers": true   resolve answers carry a 100 KB header block
  "tags": {"v1": "main"} extra revision names
  "fail_first": {"where": "listing"|"resolve"|"storage", "n": N, "status": CODE, "retry_after": SECONDS}
                         the first N such requests get CODE (with Retry-After when given)
  "ignore_range": [FILE] the storage answers 200 with the whole file even to a Range request
  "truncate_always": [FILE] every storage GET of the file stops half way (connection closed)
  "stall": [FILE]        the storage sends the headers of the file, then nothing for 30 s
  "short_length": [FILE] the storage announces a Content-Length 10 bytes short of the file (and sends that much)
  "bad_etag": [FILE]     X-Linked-Etag is the sha256 of other content
  "etag": {FILE: VALUE}  the file's ETag (an LFS file's X-Linked-Etag) is VALUE as given, as a mirror may
                         send it; "@SHA256@" / "@SHA256_UPPER@" in VALUE stand for the content's sha256
  "relative_redirect": true  resolve answers 307 to itself with a relative Location (?redirected=1) first
  "listing_elsewhere": true  the listing answers 302 to the same path on the storage host, which serves it
Unknown repositories: RepositoryNotFound, HTTP 401 without an Authorization header (as the Hub answers, a private
repository looking the same) and 404 with one; unknown revisions: 404 RevisionNotFound.
"""
import argparse
import fnmatch
import hashlib
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

LFS = ["*.safetensors", "*.bin", "*.pt", "*.ckpt"]


class Repo:
    def __init__(self, root, owner, name):
        self.dir = os.path.join(root, owner, name)
        cfg = os.path.join(root, owner, name + ".json")
        self.opt = json.load(open(cfg)) if os.path.exists(cfg) else {}
        self.files = {}
        for base, _, names in os.walk(self.dir):
            for n in names:
                full = os.path.join(base, n)
                rel = os.path.relpath(full, self.dir)
                self.files[rel] = open(full, "rb").read()
        h = hashlib.sha1()
        for rel in sorted(self.files):
            h.update(rel.encode() + b"\0" + hashlib.sha256(self.files[rel]).digest())
        self.commit = h.hexdigest()

    def is_lfs(self, name):
        return any(fnmatch.fnmatch(name, p) for p in LFS)

    def revision(self, rev):
        rev = self.opt.get("tags", {}).get(rev, rev)
        return self.commit if rev in ("main", self.commit) else None


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stand-in-hub"

    def log_message(self, fmt, *args):
        pass

    def log_request_json(self):
        with self.server.lock:
            with open(self.server.log, "a") as f:
                f.write(json.dumps({"server": self.server.name, "method": self.command, "path": self.path,
                                    "auth": self.headers.get("Authorization"),
                                    "range": self.headers.get("Range")}) + "\n")

    def reply(self, code, headers=(), body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, err, msg):
        self.reply(code, [("X-Error-Code", err), ("X-Error-Message", msg), ("Content-Type", "application/json")],
                   json.dumps({"error": msg}).encode())

    def repo(self, owner, name):
        try:
            return Repo(self.server.root, owner, name) if os.path.isdir(os.path.join(self.server.root, owner, name)) else None
        except OSError:
            return None

    def gate(self, repo):
        tok = repo.opt.get("gated")
        if not tok:
            return True
        auth = self.headers.get("Authorization")
        if auth == "Bearer " + tok:
            return True
        if auth is None:
            self.error(401, "GatedRepo", "Access to model is restricted. You must be authenticated to access it.")
        else:
            self.error(403, "GatedRepo", "Access to model is restricted and you are not in the authorized list.")
        return False

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        self.log_request_json()
        u = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in u.path.split("/")[1:]]
        if self.server.name == "storage" and parts[:2] != ["api", "models"]:
            return self.storage(parts)
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            return self.listing(parts[2], parts[3], "/".join(parts[5:]))
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve(parts[0], parts[1], parts[3], "/".join(parts[4:]))
        self.error(404, "NotFound", "no such endpoint")

    def fail_first(self, repo, where):
        """True after answering with the configured failure"""
        f = repo.opt.get("fail_first")
        if not f or f.get("where") != where:
            return False
        key = ("fail", repo.dir, where)
        with self.server.lock:
            n = self.server.counts.get(key, 0)
            self.server.counts[key] = n + 1
        if n >= f.get("n", 1):
            return False
        hdr = [("Retry-After", str(f["retry_after"]))] if "retry_after" in f else []
        self.reply(f.get("status", 503), hdr + [("X-Error-Message", "try again later")], b"busy")
        return True

    def open_revision(self, owner, name, rev):
        """(repo, commit), or (None, None) after answering with the error"""
        repo = self.repo(owner, name)
        if repo is None:   # as the Hub answers: 401 without a token (a private repository looks the same), else 404
            if self.headers.get("Authorization") is None:
                self.error(401, "RepositoryNotFound", "Invalid username or password.")
            else:
                self.error(404, "RepositoryNotFound", "Repository not found")
            return None, None
        if not self.gate(repo):
            return None, None
        commit = repo.revision(rev)
        if commit is None:
            self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            return None, None
        return repo, commit

    def listing(self, owner, name, rev):
        repo, commit = self.open_revision(owner, name, rev)
        if repo is None:
            return
        if repo.opt.get("listing_elsewhere") and self.server.name == "hub":
            loc = "http://127.0.0.2:%d%s" % (self.server.server_port, self.path)
            return self.reply(302, [("Location", loc)])
        if self.fail_first(repo, "listing"):
            return
        names = sorted(repo.files) + repo.opt.get("extra_listing", [])
        body = json.dumps({"id": owner + "/" + name, "sha": commit, "siblings": [{"rfilename": n} for n in names]})
        self.reply(200, [("Content-Type", "application/json")], body.encode())

    def resolve(self, owner, name, rev, fname):
        repo, commit = self.open_revision(owner, name, rev)
        if repo is None:
            return
        if fname not in repo.files or fname in repo.opt.get("missing", []):
            return self.error(404, "EntryNotFound", "Entry not found")
        if repo.opt.get("relative_redirect") and "redirected=1" not in self.path:
            return self.reply(307, [("Location", urllib.parse.urlsplit(self.path).path + "?redirected=1")])
        if self.fail_first(repo, "resolve"):
            return
        data = repo.files[fname]
        given = repo.opt.get("etag", {}).get(fname)
        if given is not None:
            sha = hashlib.sha256(data).hexdigest()
            given = given.replace("@SHA256@", sha).replace("@SHA256_UPPER@", sha.upper())
        etag = '"%s"' % git_blob_id(data)
        hdr = [("X-Repo-Commit", commit), ("ETag", given if given is not None and not repo.is_lfs(fname) else etag)]
        if repo.opt.get("huge_headers"):
            hdr += [("X-Padding-%d" % i, "x" * 1000) for i in range(100)]
        if repo.is_lfs(fname):
            sha = hashlib.sha256(data + (b"x" if fname in repo.opt.get("bad_etag", []) else b"")).hexdigest()
            loc = "http://127.0.0.2:%d/lfs/%s/%s/%s?X-Amz-Signature=secret%s" % (
                self.server.server_port, owner, name, urllib.parse.quote(fname), sha[:8])
            linked = given if given is not None else '"%s"' % sha
            hdr += [("X-Linked-Etag", linked), ("X-Linked-Size", str(len(data))), ("Location", loc)]
            return self.reply(302, hdr)
        self.reply(200, hdr, data)

    def storage(self, parts):
        if len(parts) < 4 or parts[0] != "lfs":
            return self.error(404, "NotFound", "no such object")
        repo = self.repo(parts[1], parts[2])
        fname = "/".join(parts[3:])
        if repo is None or fname not in repo.files:
            return self.error(404, "NotFound", "no such object")
        if self.fail_first(repo, "storage"):
            return
        data = repo.files[fname]
        if fname in repo.opt.get("corrupt", []):
            data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xff]) + data[len(data) // 2 + 1:]
        if fname in repo.opt.get("long_body", []):
            data = data + b"0123456789"
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and fname not in repo.opt.get("ignore_range", []):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.reply(416, [("Content-Range", "bytes */%d" % len(data))])
        body = data[start:]
        code = 206 if start else 200
        self.send_response(code)
        short = 10 if fname in repo.opt.get("short_length", []) else 0
        self.send_header("Content-Length", str(len(body) - short))
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        key = (parts[1], parts[2], fname)
        with self.server.lock:
            cut = fname in repo.opt.get("truncate_once", []) and key not in self.server.truncated
            if cut:
                self.server.truncated.add(key)
        cut = cut or fname in repo.opt.get("truncate_always", [])
        if fname in repo.opt.get("stall", []):
            self.wfile.flush()
            time.sleep(30)
            return
        if short:
            self.wfile.write(body[:len(body) - short])
            return
        if cut:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass   # a client that hangs up (as hyenadna does on an absurd header block) is expected


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    lock, truncated, counts = threading.Lock(), set(), {}
    for attempt in range(50):
        hub = Server(("127.0.0.1", 0), Handler)
        try:
            storage = Server(("127.0.0.2", hub.server_port), Handler)
            break
        except OSError:
            hub.server_close()
    else:
        sys.exit("hub_server.py: cannot bind 127.0.0.1 and 127.0.0.2 on one port")
    for srv, name in ((hub, "hub"), (storage, "storage")):
        srv.root, srv.log, srv.lock, srv.truncated, srv.counts, srv.name = a.root, a.log, lock, truncated, counts, name
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % hub.server_port)
    os.rename(tmp, a.port_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
