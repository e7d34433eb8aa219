#!/usr/bin/python3
"""hostile_clients.py: hostile and broken HTTP clients against a running `insitu serve`
(tests/e2e/hostile_clients.sh runs it on both backends). Standard library only. Modes:

  flood URL SECRET N SEED   N malformed or hostile requests, made deterministically from SEED
                            (injections in every query option and path key, traversal paths,
                            invalid UTF-8, huge numbers, deep nesting, huge headers, bad
                            methods, Content-Types and bodies, truncated bodies, bad HTTP);
                            the server must answer each (or close a connection whose request
                            it cannot read), never 500, never echo SECRET or the database's
                            own errors, and keep answering a normal request the same way.
  slowloris URL SECRET N ROUNDS
                            N slow clients (headers a byte at a time, bodies a byte at a time)
                            while a normal client asks ROUNDS times: each answer within 1 s.
  readonly URL SECRET       every write (every method on every entity set, $batch, JSON Patch,
                            CreateObservations) with a valid credential: each refused (405).

Each mode prints its checks as "ok - ..." or "not ok - ..." lines (the shell numbers them),
"# figure: ..." lines with the counts, and exits 0 when every check passed."""
import json
import random
import socket
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

N_TAP = 0
FAILED = 0


def tap(ok, desc, detail=""):
    global N_TAP, FAILED
    N_TAP += 1
    print(("ok - %s" if ok else "not ok - %s") % desc)
    if not ok:
        FAILED += 1
        for line in str(detail).splitlines()[:20]:
            print("# " + line[:500])
    sys.stdout.flush()


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port, u.path.rstrip("/")  # path: /v1.1


def answered(data):
    """1 when data holds a whole answer with a Content-Length (kept alive or not)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1."):
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value.strip())
    return False


def exchange(host, port, raw, timeout=30, shut=False):
    """Sends raw bytes on a new connection, reads until the server closes (or, for an answer
    kept alive, until timeout). Returns (status or None, headers bytes, body bytes). shut: a
    truncated request: close the connection after sending it, without waiting for an answer
    (the server cannot answer a request it has not received; it drops the connection)."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused to read all of it: its answer may still be there
        if shut:
            return None, b"", b""
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                if data.startswith(b"HTTP/1."):
                    break  # an answer on a connection kept open
                raise
            if not chunk:
                break
            data += chunk
            if len(data) > 80 << 20 or answered(data):
                break
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = None
    if head.startswith(b"HTTP/1."):
        try:
            status = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = None
    return status, head, body


def request(method, target, headers=(), body=b"", version=b"HTTP/1.1", host=None):
    if isinstance(method, str):
        method = method.encode()
    if isinstance(target, str):
        target = target.encode("utf-8", "surrogateescape")
    lines = [method + b" " + target + b" " + version]
    lines.append(b"Host: " + (host or b"127.0.0.1"))
    lines.append(b"Connection: close")
    have_cl = False
    for h in headers:
        if isinstance(h, str):
            h = h.encode("utf-8", "surrogateescape")
        have_cl |= h.lower().startswith(b"content-length:") or h.lower().startswith(
            b"transfer-encoding:")
        lines.append(h)
    if body and not have_cl:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# ---- what the hostile requests are made of ----

INJECTIONS = [
    "' OR '1'='1", "' OR 1=1 --", "'; DROP TABLE observations; --", "1; DELETE FROM things",
    "1) OR (1=1", "\" OR \"\"=\"", "x' UNION SELECT name FROM sqlite_master --",
    "' UNION SELECT usename, passwd FROM pg_shadow --", "1 AND sleep(10)", "pg_sleep(10)",
    "'; SELECT pg_sleep(10); --", "name eq 'x' or 1 eq 1", "\\'; --", "%27%20OR%201=1",
    "$(rm -rf /)", "`id`", "${jndi:ldap://x/a}", "<script>alert(1)</script>", "{{7*7}}",
    "name eq 'a''; DROP TABLE things; --'", "id eq 1; DROP TABLE datastreams",
    "substringof('a', name) eq true; ATTACH DATABASE '/tmp/x' AS x", "1e309", "-0", "NaN",
    "name eq '\x00'", "name eq 'é\u202e\ufeff'", "*/ DROP TABLE x /*",
]
OPTIONS = ["$filter", "$orderby", "$select", "$expand", "$top", "$skip", "$count",
           "$resultFormat", "$search", "$format", "aggregate", "stat", "$apply", "$id", "x"]
SETS = ["Things", "Locations", "HistoricalLocations", "Datastreams", "MultiDatastreams",
        "Sensors", "ObservedProperties", "Observations", "FeaturesOfInterest"]
HUGE_NUMBERS = ["99999999999999999999999999", "18446744073709551616", "9223372036854775808",
                "-9223372036854775809", "1e999999", "-1", "0x7fffffff", "1.5", "+1", " 1",
                "00000000000000000000000000000001", "1" * 5000, "-0", "NaN", "Infinity"]
TRAVERSAL = [
    "/../../../../etc/passwd", "/v1.1/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/v1.1/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/v1.1/Things/..%2f..%2f..%2fetc/passwd",
    "/v1.1/..%5c..%5c..%5cwindows%5cwin.ini", "//etc/passwd", "/v1.1//Things(1)",
    "/v1.1/Things(1)/../../../etc/passwd", "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/v1.1/%252e%252e/%252e%252e/etc/passwd", "/v1.1/Things(1)/%00/etc/passwd",
    "/v1.1/Things(1)%00.json", "/.git/config", "/v1.1/.env", "/proc/self/environ",
    "/v1.1/Things(1)/properties/../../../etc/passwd", "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/", "*", "/v1.1/Things(1)/$value/../..",
]
BAD_UTF8 = ["%C0%AF", "%FF%FE", "%ED%A0%80", "%F4%90%80%80", "%C0%80", "%E0%80%AF", "%80",
            "%F8%88%80%80%80", "%FC%84%80%80%80%80", "%C3", "%E2%82", "%00"]
RAW_BAD_UTF8 = [b"\xc0\xaf", b"\xff\xfe", b"\xed\xa0\x80", b"\x80", b"\xc3", b"\xf4\x90\x80\x80"]
METHODS = ["FOO", "TRACE", "CONNECT", "PROPFIND", "get", "Get", "MKCOL", "LINK", "COPY",
           "M" * 300, "G\x00ET", "PURGE", "DEBUG", "SEARCH"]
CONTENT_TYPES = ["text/xml", "application/json; charset=latin1", "multipart/form-data",
                 "multipart/mixed", "multipart/mixed; boundary=", "application/json-patch+json",
                 "application/merge-patch+json", "text/plain", "", "application/jsonx",
                 "application/json\x00", "a" * 5000, "application/http"]


def rq(rng, seq):
    return seq[rng.randrange(len(seq))]


def quote(s):
    return urllib.parse.quote(s, safe="")


def nested_filter(rng):
    kind = rng.randrange(5)
    n = rng.choice([60, 500, 5000, 20000])
    if kind == 0:
        return "(" * n + "1 eq 1" + ")" * n
    if kind == 1:
        return "not " * n + "true"
    if kind == 2:
        return " and ".join(["id eq %d" % i for i in range(n // 4)])
    if kind == 3:
        return "length(" * n + "name" + ")" * n + " gt 1"
    return "(" * n  # never closed


def nested_expand(rng):
    n = rng.choice([7, 20, 200, 2000])
    nav = ["Datastreams", "Thing"]
    s = ""
    for i in range(n):
        s += nav[i % 2] + "($expand="
    return s + "Locations" + ")" * rng.choice([n, n - 1, 0])


class Gen:
    """The hostile requests: each a (category, raw bytes, shut, ok_statuses or None)."""

    def __init__(self, url, secret, seed):
        self.host, self.port, self.base = split_url(url)
        self.secret = secret
        self.rng = random.Random(seed)
        self.auth = "Authorization: Bearer " + secret

    def path(self):
        rng = self.rng
        s = rq(rng, SETS)
        return self.base + "/" + s + (rng.random() < 0.3 and "(%d)" % rng.randrange(1, 6) or "")

    def q_injection(self):
        rng = self.rng
        opts = [(rq(rng, OPTIONS), rq(rng, INJECTIONS)) for _ in range(rng.randrange(1, 4))]
        qs = "&".join(quote(k) + "=" + quote(v) for k, v in opts)
        return ("query injection", request("GET", self.path() + "?" + qs))

    def key_injection(self):
        rng = self.rng
        key = rq(rng, INJECTIONS + HUGE_NUMBERS + ["", "'1'", "1,2", "1 2", "(1)", "a"])
        tail = rq(rng, ["", "/Datastreams", "/name", "/name/$value", "/$ref", "/Thing(1)"])
        return ("path key injection",
                request("GET", self.base + "/" + rq(rng, SETS) + "(" + quote(key) + ")" + tail))

    def traversal(self):
        return ("traversal path", request(rq(self.rng, ["GET", "HEAD", "DELETE"]),
                                          rq(self.rng, TRAVERSAL)))

    def bad_utf8_url(self):
        rng = self.rng
        if rng.random() < 0.5:
            bad = rq(rng, BAD_UTF8)
            target = rq(rng, [self.path() + "?$filter=name%20eq%20'" + bad + "'",
                              self.base + "/Things(1)/properties/" + bad,
                              self.base + "/" + bad, self.path() + "?$select=" + bad,
                              self.path() + "?" + bad + "=1"])
            return ("invalid UTF-8 in URL", request("GET", target))
        raw = (self.base + "/Things?$filter=name eq '").encode() + rq(rng, RAW_BAD_UTF8) + b"'"
        return ("raw bytes in URL", request("GET", raw))

    def huge_number(self):
        rng = self.rng
        n = rq(rng, HUGE_NUMBERS)
        target = rq(rng, ["?$top=" + n, "?$skip=" + n, "?$filter=result%20gt%20" + quote(n),
                          "?$filter=id%20eq%20" + quote(n), "?$top=1&$skip=" + n])
        return ("huge number", request("GET", self.path() + target))

    def deep(self):
        rng = self.rng
        if rng.random() < 0.5:
            return ("deep $filter", request("GET", self.path() + "?$filter=" +
                                            quote(nested_filter(rng))))
        return ("deep $expand", request("GET", self.base + "/Things?$expand=" +
                                        quote(nested_expand(rng))))

    def huge_header(self):
        rng = self.rng
        kind = rng.randrange(4)
        if kind == 0:
            h = ["X-Big: " + "a" * rng.choice([70000, 100000])]
        elif kind == 1:
            h = ["X-H%d: %s" % (i, "b" * 100) for i in range(rng.choice([700, 3000]))]
        elif kind == 2:
            h = ["Cookie: " + "c=" * 40000]
        else:
            h = ["Authorization: Bearer " + "z" * rng.choice([5000, 100000])]
        return ("huge header", request("GET", self.path(), h))

    def huge_url(self):
        n = self.rng.choice([40000, 70000, 100000])
        return ("huge URL", request("GET", self.path() + "?$filter=" + "a" * n))

    def bad_method(self):
        return ("bad method", request(rq(self.rng, METHODS), self.path()))

    def bad_content_type(self):
        rng = self.rng
        m = rq(rng, ["POST", "PATCH", "PUT"])
        body = b'{"name": "x", "description": "y"'  # never complete: nothing may be written
        return ("bad Content-Type", request(m, self.path(), [self.auth, "Content-Type: " +
                                                             rq(rng, CONTENT_TYPES)], body))

    def bad_body(self):
        """Bodies with a valid credential, each broken so that nothing can be written."""
        rng = self.rng
        n = rng.choice([100, 10000, 100000])
        bodies = [
            b"[" * n + b"]" * n,
            b'{"a":' * n + b"1" + b"}" * n,
            b'{"name": "\xff\xfe", "description": 1',
            b'{"name": "\xc0\xaf\xed\xa0\x80"',
            b'{"name": "x", "description": "y", "Locations": [{"location": ' + b"[" * n + b"]}",
            b'{"result": 1e99999, "phenomenonTime": "99999-99-99T99:99:99Z"',
            b'{"result": 1, "Datastream": {"@iot.id": 99999999999999999999999}',
            b'{"@iot.id": "1; DROP TABLE things", "name": ',
            b"\x00\x00\x00\x00",
            b"\xef\xbb\xbf{\"name\": \"bom\"",
            b'[{"op": "replace", "path": "/' + b"a/" * n + b'", "value": ',
            b'{"requests": [' + b'{"method": "post", "url": "Things", "body": {}},' * 50,
            b"--b\r\nContent-Type: application/http\r\n\r\nPOST Things HTTP/1.1\r\n\r\n{",
        ]
        target = rq(rng, [self.path(), self.base + "/$batch", self.base + "/CreateObservations",
                          self.base + "/Things(1)"])
        m = "POST" if not target.endswith(")") else rq(rng, ["PATCH", "PUT"])
        ct = rq(rng, ["application/json", "application/json-patch+json",
                      "multipart/mixed; boundary=b"])
        return ("broken body", request(m, target, [self.auth, "Content-Type: " + ct],
                                       rq(rng, bodies)))

    def truncated(self):
        rng = self.rng
        body = b'{"name": "x", "description": "truncated before its end"}'
        cut = rng.randrange(0, len(body))
        hdr = [self.auth, "Content-Type: application/json", "Content-Length: %d" % len(body)]
        raw = request("POST", self.base + "/Things", hdr, body[:cut])
        if rng.random() < 0.3:
            raw = raw[: rng.randrange(1, len(raw))]  # cut in the headers
        return ("truncated request", raw, True)

    def bad_http(self):
        rng = self.rng
        p = self.path().encode()
        cases = [
            b"GET " + p + b"\r\n\r\n",
            b"GET " + p + b" HTTP/9.9\r\nHost: x\r\n\r\n",
            b"GET " + p + b" HTTP/1.1\r\nConnection: close\r\n\r\n",  # no Host
            b"GARBAGE\r\n\r\n",
            b"GET  " + p + b"  HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET " + p + b" HTTP/1.1\nHost: x\n\n",
            b"GET " + p + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"POST " + p + b" HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"POST " + p + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"POST " + p + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 3\r\n\r\n0\r\n\r\n",
            b"POST " + p + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST " + p + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"ffffffffffffffff\r\nabc\r\n",
            b"GET " + p + b" HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
            b"GET " + p + b" HTTP/1.1\r\nHost: x\r\n: no name\r\n\r\n",
            b"GET " + p + b" HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
            b"GET " + p + b" HTTP/1.1\r\nHost: ../../etc/passwd\r\n\r\n",
            b"GET " + p + b" HTTP/1.1\r\nHost: <script>\r\n\r\n",
        ]
        if rng.random() < 0.05:
            # no request line ever comes (a TLS hello, empty lines): the server drops the
            # connection at its idle timeout
            return ("no request line", rq(rng, [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" +
                                                bytes(64), b"\r\n\r\n\r\n"]), True)
        return ("bad HTTP", rq(rng, cases), False)

    def bad_auth(self):
        rng = self.rng
        auths = ["Basic !!!!", "Basic " + "QUFB" * 3000, "Basic YWRtaW4=", "Basic Og==",
                 "Bearer", "Bearer " + self.secret[:-1], "Bearer " + self.secret + "x",
                 "Bearer " + "é" * 10, "Digest username=admin", "Basic YWRtaW46' OR '1'='1",
                 "bearer  ", "Basic " + "=" * 8, "Negotiate " + "A" * 1000]
        m = rq(rng, ["POST", "PATCH", "PUT", "DELETE"])
        return ("bad credential", request(m, self.path(),
                                          ["Authorization: " + rq(rng, auths),
                                           "Content-Type: application/json"],
                                          b'{"name": "x", "description": "y"}'))

    def one(self):
        makers = [self.q_injection, self.q_injection, self.key_injection, self.traversal,
                  self.bad_utf8_url, self.huge_number, self.deep, self.huge_header,
                  self.huge_url, self.bad_method, self.bad_content_type, self.bad_body,
                  self.bad_body, self.truncated, self.bad_http, self.bad_auth]
        made = self.rng.choice(makers)()
        return made if len(made) == 3 else made + (False,)


# ---- flood ----

def normal_answers(host, port, base):
    """What a few normal requests answer (status, body), to compare before and after."""
    out = []
    for t in [base + "/Things?$orderby=id&$select=id,name",
              base + "/Datastreams?$orderby=id&$expand=Thing($select=name)&$select=id,name",
              base + "/Observations?$orderby=id&$top=5&$select=id,result,phenomenonTime"]:
        status, _, body = exchange(host, port, request("GET", t))
        out.append((status, body))
    return out


def flood(url, secret, count, seed):
    host, port, base = split_url(url)
    before = normal_answers(host, port, base)
    tap(all(s == 200 for s, _ in before), "normal requests answer 200 before the flood",
        repr(before)[:1000])
    gen = Gen(url, secret, seed)
    work = [gen.one() for _ in range(count)]
    statuses, by_cat, problems, slowest = {}, {}, [], {}
    lock = threading.Lock()
    sent = [0]

    def run(item):
        cat, raw, shut = item
        t_start = time.time()
        try:
            status, head, body = exchange(host, port, raw, timeout=20, shut=shut)
        except OSError as e:
            status, head, body = "error " + type(e).__name__, b"", b""
        low = body.lower()
        bad = None
        if status is None and not shut and cat != "bad HTTP":
            bad = "no answer"
        elif isinstance(status, str):
            bad = status
        elif status is not None and status >= 500 and status not in (501, 503, 505):
            bad = "status %d" % status
        elif secret.encode() in head + body:
            bad = "the secret is echoed"
        elif b"root:x:0:0" in body or b"[extensions]" in low:
            bad = "a file of the machine is served"
        elif (b"syntax error at or near" in low or b"sqlite_master" in low and
              b"message" not in low or b"unrecognized token" in low or b"pg_shadow" in low
              and b"message" not in low):
            bad = "a database error is echoed"
        elif isinstance(status, int) and status < 300 and cat in (
                "bad Content-Type", "broken body", "bad credential", "bad method"):
            bad = "accepted (%d)" % status
        with lock:
            sent[0] += len(raw)
            statuses[status] = statuses.get(status, 0) + 1
            c = by_cat.setdefault(cat, {})
            c[status] = c.get(status, 0) + 1
            slowest[cat] = max(slowest.get(cat, 0), time.time() - t_start)
            if bad:
                problems.append("%s: %s: %r -> %s" % (cat, bad, raw[:200], body[:200]))

    t0 = time.time()
    health_failures = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for start in range(0, count, 500):
            list(pool.map(run, work[start:start + 500]))
            status, _, _ = exchange(host, port, request("GET", base + "/Things(1)"))
            if status != 200:
                health_failures.append("after %d requests: %r" % (start + 500, status))
    elapsed = time.time() - t0
    tap(not health_failures, "the server answers a normal request after every 500 hostile ones",
        "\n".join(health_failures))
    # 501 (a query option not implemented) and 505 (HTTP/9.9) are the right answers
    fivexx = sum(v for k, v in statuses.items()
                 if isinstance(k, int) and k >= 500 and k not in (501, 505))
    tap(not problems, "%d hostile requests: each answered with a 4xx (or closed), no 500, "
        "no secret, no file, no database error echoed" % count,
        "%d problems:\n" % len(problems) + "\n".join(problems[:15]))
    after = normal_answers(host, port, base)
    tap(after == before, "the normal requests answer the same after the flood",
        repr(after)[:1000])
    print("# figure: %d hostile requests (%d bytes) in %.1f s; statuses %s; 5xx but 501, 505: %d" % (
        count, sent[0], elapsed,
        json.dumps({str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))}),
        fivexx))
    for cat in sorted(by_cat):
        print("# figure: %s: %s, slowest %.2f s" % (cat, json.dumps(
            {str(k): v for k, v in sorted(by_cat[cat].items(), key=lambda kv: str(kv[0]))}),
            slowest[cat]))


# ---- slowloris ----

def slowloris(url, secret, n, rounds):
    host, port, base = split_url(url)
    stop = threading.Event()
    socks = []
    lock = threading.Lock()
    opened = [0]

    def open_slow(i):
        try:
            s = socket.create_connection((host, port), timeout=10)
        except OSError:
            return
        # half of them send a header a byte at a time; half send a body a byte at a time
        if i % 2 == 0:
            s.sendall(b"GET " + base.encode() + b"/Things HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            # with the credential: the server reads the body (that never ends)
            s.sendall(b"POST " + base.encode() + b"/Things HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + secret.encode() + b"\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
        with lock:
            socks.append(s)
            opened[0] += 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(open_slow, range(n)))

    def drip():
        while not stop.is_set():
            with lock:
                alive = list(socks)
            for s in alive:
                try:
                    s.send(b"a")
                except OSError:
                    with lock:
                        if s in socks:
                            socks.remove(s)
            stop.wait(2)

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    tap(opened[0] == n, "%d slow clients connected" % n, "only %d" % opened[0])
    times, wrong = [], []
    for _ in range(rounds):
        t0 = time.time()
        try:
            status, _, body = exchange(host, port, request("GET", base + "/Things(1)?$select=id"),
                                       timeout=10)
        except OSError as e:
            status, body = type(e).__name__, b""
        times.append(time.time() - t0)
        if status != 200 or b'"@iot.id":1' not in body:
            wrong.append("%r %r" % (status, body[:200]))
        stop.wait(0.2)
    with lock:
        still = len(socks)
    stop.set()
    t.join()
    for s in socks:
        s.close()
    times.sort()
    tap(not wrong, "the normal client's answers are right while %d slow clients hold on" % n,
        "\n".join(wrong[:5]))
    tap(times[-1] < 1.0, "each of %d normal requests answered within 1 s (slowest %.3f s)" % (
        rounds, times[-1]), "times: %s" % times[-10:])
    print("# figure: slowloris: %d slow clients (%d still open at the end); %d normal requests: "
          "median %.1f ms, slowest %.1f ms" % (n, still, rounds, 1000 * times[len(times) // 2],
                                               1000 * times[-1]))


# ---- read-only ----

def readonly(url, secret):
    host, port, base = split_url(url)
    auth = "Authorization: Bearer " + secret
    body = b'{"name": "x", "description": "y"}'
    tries = []
    for s in SETS:
        for m in ["POST", "PUT", "PATCH", "DELETE"]:
            tries.append((m, base + "/" + s + ("(1)" if m != "POST" else ""),
                          "application/json", body))
        tries.append(("DELETE", base + "/" + s + "?$filter=id%20gt%200", "application/json", b""))
        tries.append(("PATCH", base + "/" + s + "(1)", "application/json-patch+json",
                      b'[{"op": "add", "path": "/description", "value": "z"}]'))
    tries.append(("POST", base + "/Datastreams(1)/Observations", "application/json",
                  b'{"result": 1.5, "phenomenonTime": "2024-01-01T00:00:00Z"}'))
    tries.append(("POST", base + "/CreateObservations", "application/json",
                  b'[{"Datastream": {"@iot.id": 1}, "components": ["phenomenonTime", "result"],'
                  b' "dataArray": [["2024-03-01T00:00:00Z", 1.5]]}]'))
    tries.append(("POST", base + "/$batch", "application/json",
                  b'{"requests": [{"id": "1", "method": "post", "url": "Things", "body": ' +
                  body + b'}, {"id": "2", "method": "delete", "url": "Things(1)"}]}'))
    tries.append(("POST", base + "/$batch", "multipart/mixed; boundary=b",
                  b"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n"
                  b"Content-Type: application/http\r\nContent-ID: 1\r\n\r\n"
                  b"POST Things HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + body +
                  b"\r\n--c--\r\n--b--\r\n"))
    refused, wrong = 0, []
    for m, target, ct, b in tries:
        status, head, resp = exchange(host, port, request(m, target, [auth, "Content-Type: " + ct],
                                                          b))
        if target.endswith("/$batch"):
            # a batch is let in for its reads: each of its writes must be refused
            ok = status == 200 and b"201" not in resp and (b"405" in resp or b"read-only" in resp)
        else:
            ok = status == 405 and b"read-only" in resp
        if ok:
            refused += 1
        else:
            wrong.append("%s %s: %r %s" % (m, target, status, resp[:300]))
    tap(not wrong, "--read-only: every write refused (%d: every method on every entity set, "
        "JSON Patch, dataArray, $batch in JSON and multipart)" % len(tries), "\n".join(wrong))
    print("# figure: read-only: %d writes tried, %d refused" % (len(tries), refused))


def main():
    mode = sys.argv[1]
    if mode == "flood":
        flood(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "slowloris":
        slowloris(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "readonly":
        readonly(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: hostile_clients.py flood|slowloris|readonly URL ...")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
