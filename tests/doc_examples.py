#!/usr/bin/env python3
"""doc_examples.py: runs the code examples of README.md and docs/*.md as the files write them,
in the order they write them, and reports every command as one TAP line ("ok 7 -
README.md:33: insitu --store demo.db ingest ..."). The examples are read from the documents
on every run, so a document and what the program does cannot drift apart unnoticed.
Called by tests/e2e/doc_examples.sh (make check); by hand:
    tests/doc_examples.py --insitu ./insitu [--keep] [README.md docs/sta.md ...]

Conventions (docs/architecture.md, "Examples are tests", says the same for writers):

Blocks
- A fenced block tagged `sh` (```sh) is run. Other blocks are not, except as output (below).
- `<!-- doc-test skip: REASON -->` as the last non-blank line before a ```sh fence excludes
  that block; it is reported as `ok N - FILE:LINE ... # SKIP REASON`. A reason is required.
- A ```json or ```text block shows the standard output of the last command of the ```sh
  block right before it (blank lines only between), and is compared with it by shape
  (below). One that follows no ```sh block is a failure (or carries a skip marker).
- An indented code block holding a command, and a fence tagged bash, shell or console, are
  failures: they would not be run (fence them as ```sh).

Running
- Each document runs in a fresh temporary folder holding `tests` (a symlink to the source
  tree's tests/, so `tests/data/...` is the shipped sample data), with `insitu` on PATH the
  binary under test. One bash (`set -u -o pipefail`, stdin /dev/null) runs the document's
  blocks in order, one command at a time (a command is as many lines as bash needs to parse
  it whole), so variables, exports and `cd` carry from block to block.
- Every command must exit 0, or with the status its trailing comment announces (`# exit 1`).
  A curl command's HTTP answers must be below 400, or equal to the status its trailing
  comment starts with (`# 201, Location: ...`, `# 400`): `curl` on PATH runs the real curl
  with `-sS -D FILE` to see them.
- A command running `insitu ... serve` starts in the background; the runner waits for the
  server's `insitu: serving ... at http://...` line, keeps it for the later blocks, and stops
  it with SIGTERM (expecting exit 0) at the end of the document, or before another `serve`
  of the same document (they share the port).

Substitutions: the only differences between what a document says and what runs
  https://example.org/PATH                        -> tests/httpd.py: http://127.0.0.1:P/data/PATH
                                                     (the file tests/data/PATH)
  https://soto.podaac.earthdatacloud.nasa.gov/hydrocron/v1
                                                  -> tests/httpd.py's Hydrocron
  https://hydroweb.next.theia-land.fr/geoserver/HYDROWEB/ows
                                                  -> tests/httpd.py's Hydroweb.next WFS
  postgresql://..., postgres://...                -> the document's own database (the same for
                                                     all its URIs) on a tests/pg_cluster
                                                     cluster; host db2: that database on the
                                                     cluster's streaming replica (`pg_cluster
                                                     replica`). Both start, on a thread, only
                                                     when some document needs them
  0.0.0.0:8080, 127.0.0.1:8080, localhost:8080    -> 127.0.0.1:F, a free port per document
  `insitu ... serve` without --listen             -> `serve --listen 127.0.0.1:F`
The environment has no INSITU_* or PG* variable, HOME and XDG_CACHE_HOME in the temporary
folder, and http_proxy, https_proxy and ALL_PROXY on a closed loopback port (no_proxy
127.0.0.1, localhost): a URL that escaped the table fails instead of reaching the network.

Output shapes
- json: the shown text is JSON where `...` stands for elided parts: a `...` member lets an
  object have members not shown; a `...` value is any value; an array ending with `...` may
  have more elements than shown, each like the last one shown. Otherwise the output must have
  the same members, the same number of elements and the same JSON types (number, string,
  true/false, null, object, array); values themselves are not compared.
- text: line by line, trailing spaces ignored; `...` in a line matches any characters, a line
  of `...` alone any number of lines (none included).
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

COMMAND_TIMEOUT = 120  # seconds for one command (the whole suite takes well under a minute)
SERVE_TIMEOUT = 60     # seconds for a server to say it is serving (or a helper, its port)

HTTP_TABLE = [
    (r"https://example\.org/", "/data/"),
    (r"https://soto\.podaac\.earthdatacloud\.nasa\.gov/hydrocron/v1", "/hydrocron/v1"),
    (r"https://hydroweb\.next\.theia-land\.fr/geoserver/HYDROWEB/ows", "/geoserver/HYDROWEB/ows"),
]
PG_URI = re.compile(r"postgres(?:ql)?://[^\s'\"\\)]*")
LISTEN = re.compile(r"\b(?:0\.0\.0\.0|127\.0\.0\.1|localhost):8080\b")
SERVE = re.compile(r"(?:^|[\s;&|(])insitu\s(?:[^|;&#]*\s)?serve(?=\s|$)")
STATUS_COMMENT = re.compile(r"(?:^|\s)#\s*([1-5]\d\d)\b")
EXIT_COMMENT = re.compile(r"(?:^|\s)#\s*exit\s+(\d+)\b")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`]*?)\s*$")
SKIP_MARK = re.compile(r"^<!--\s*doc-test\s+skip:\s*(.*?)\s*-->$")
INDENTED_COMMAND = re.compile(r"^ {4,}(?:\$ )?(?:insitu|curl|export|cd)\b")
ELIDED = "\u2026doc-test-elided"


# ---------------------------------------------------------------- the documents

class Block:
    def __init__(self, path, line, info):
        self.path, self.line, self.info = path, line, info
        self.lang = info.split()[0] if info else ""
        self.lines = []          # (line number, text)
        self.skip = None         # the reason of a doc-test skip marker ("" when it gives none)
        self.follows = None      # the block before, when only blank lines separate them


def read_blocks(path, rel):
    """The fenced blocks of a markdown file, and the indented commands it holds (errors)."""
    blocks, stray = [], []
    text = open(path, encoding="utf-8").read().splitlines()
    cur, fence, last_end, prev = None, None, 0, None
    for i, line in enumerate(text, 1):
        m = FENCE.match(line)
        if cur is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2):
                blocks.append(cur)
                prev, cur, last_end = cur, None, i
            else:
                cur.lines.append((i, line))
            continue
        if m:
            cur, fence = Block(rel, i, m.group(2)), m.group(1)
            between = text[last_end:i - 1]
            if prev is not None and all(not t.strip() for t in between):
                cur.follows = prev
            before = [t for t in text[:i - 1] if t.strip()]
            if before:
                s = SKIP_MARK.match(before[-1].strip())
                if s:
                    cur.skip = s.group(1)
            continue
        if INDENTED_COMMAND.match(line) and i > 1 and not text[i - 2].strip():
            stray.append((i, "an indented example is never run: fence it as ```sh"))
    return blocks, stray


class Command:
    def __init__(self, block, line, text):
        self.block, self.line, self.text = block, line, text

    def title(self):
        first = self.text.strip().splitlines()[0]
        first = re.sub(r"\s+#.*$", "", first).rstrip(" \\")
        first = first.replace("#", "%23")
        return "%s:%d: %s" % (self.block.path, self.line, first[:100])


def bash_complete(src):
    """Whether bash reads src as whole commands (a continued line or an open quote, here-document
    or compound command needs more lines)."""
    if src.rstrip("\n").endswith("\\"):
        return False
    r = subprocess.run(["bash", "-n"], input=src, capture_output=True, text=True)
    if "unexpected end of file" in r.stderr or "unexpected EOF" in r.stderr:
        return False
    if "delimited by end-of-file" in r.stderr:
        return False
    return True


def split_commands(block):
    cmds, cur = [], []
    for lineno, text in block.lines:
        if not cur and (not text.strip() or text.lstrip().startswith("#")):
            continue
        cur.append((lineno, text))
        src = "\n".join(t for _, t in cur) + "\n"
        if bash_complete(src):
            cmds.append(Command(block, cur[0][0], src))
            cur = []
    if cur:
        cmds.append(Command(block, cur[0][0], "\n".join(t for _, t in cur) + "\n"))
    return cmds


# ---------------------------------------------------------------- output shapes

def parse_shown_json(text):
    """The JSON a document shows, with each `...` outside strings made an elision marker."""
    out, stack, i, in_str = [], [], 0, False
    while i < len(text):
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("...", i):
            out.append('"%s": null' % ELIDED if stack and stack[-1] == "{" else '"%s"' % ELIDED)
            i += 3
            continue
        else:
            if c in "{[":
                stack.append(c)
            elif c in "}]" and stack:
                stack.pop()
            out.append(c)
        i += 1
    return json.loads("".join(out))


def json_type(v):
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return {str: "string", dict: "object", list: "array"}[type(v)]


def shape_diff(shown, actual, path="$"):
    """None when actual has the shape shown, else what differs first."""
    if shown == ELIDED:
        return None
    if json_type(shown) != json_type(actual):
        return "%s: %s shown, %s found (%s)" % (path, json_type(shown), json_type(actual),
                                                 json.dumps(actual)[:200])
    if isinstance(shown, dict):
        for k, v in shown.items():
            if k == ELIDED:
                continue
            if k not in actual:
                return "%s: no member %s (found %s)" % (path, json.dumps(k), sorted(actual))
            d = shape_diff(v, actual[k], "%s.%s" % (path, k))
            if d:
                return d
        extra = sorted(set(actual) - set(shown))
        if extra and ELIDED not in shown:
            return "%s: members not shown: %s" % (path, ", ".join(extra))
    elif isinstance(shown, list):
        more = bool(shown) and shown[-1] == ELIDED
        items = shown[:-1] if more else shown
        if len(actual) < len(items) or (not more and len(actual) > len(items)):
            return "%s: %d elements shown%s, %d found" % (path, len(items),
                                                           " and more" if more else "", len(actual))
        for n, a in enumerate(actual):
            d = shape_diff(items[min(n, len(items) - 1)], a, "%s[%d]" % (path, n)) if items else None
            if d:
                return d
    return None


def text_diff(shown, actual):
    lines = [l.rstrip() for l in shown.splitlines()]
    parts = []
    for l in lines:
        if l.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(re.escape(p) for p in l.split("...")) + r"\n")
    got = "".join(l.rstrip() + "\n" for l in actual.splitlines())
    if re.fullmatch("".join(parts), got):
        return None
    for n, l in enumerate(lines):   # the first line that cannot match, for the message
        if l.strip() == "...":
            break
        pat = ".*".join(re.escape(p) for p in l.split("..."))
        have = got.splitlines()[n] if n < len(got.splitlines()) else "(no line)"
        if not re.fullmatch(pat, have):
            return "line %d: shown %r, found %r" % (n + 1, l, have)
    return "the output does not match the lines shown:\n%s\nfound:\n%s" % (shown, got[:1500])


# ---------------------------------------------------------------- services

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Services:
    """tests/httpd.py and the PostgreSQL clusters, started when a document first needs them and
    stopped at the end of the run."""

    def __init__(self, args, root):
        self.args, self.root = args, root
        self.httpd, self.http_port = None, None
        self.pg_uri, self.replica_uri, self.pg_failed = None, None, None
        self.pg_lock = threading.Lock()
        self.pg_thread = None

    def prepare_pg(self, replica):
        """Starts the cluster (and its replica) on another thread while the first documents
        run: the first command that needs it waits for it."""
        self.pg_thread = threading.Thread(target=self._prepare, args=(replica,), daemon=True)
        self.pg_thread.start()

    def _prepare(self, replica):
        try:
            self.pg(replica)
        except RuntimeError:
            pass

    def http(self):
        if self.httpd is None:
            port_file = os.path.join(self.root, "httpd.port")
            self.httpd = subprocess.Popen(
                [sys.executable, os.path.join(self.args.src, "tests", "httpd.py"),
                 "--root", os.path.join(self.args.src, "tests", "data"), "--port-file", port_file,
                 "--log", os.path.join(self.root, "httpd.log")])
            # it writes its port file whole (a rename): waits for it, not for a time
            end = time.monotonic() + SERVE_TIMEOUT
            while not os.path.exists(port_file):
                if self.httpd.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("tests/httpd.py did not write its port (%s)"
                                       % ("it exited" if self.httpd.poll() is not None
                                          else "after %d s" % SERVE_TIMEOUT))
                time.sleep(0.025)
            self.http_port = int(open(port_file).read())
        return "http://127.0.0.1:%d" % self.http_port

    def _pg(self, *argv):
        r = subprocess.run([self.args.pg_cluster] + list(argv), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("pg_cluster %s: %s" % (argv[0], r.stderr.strip()[-600:]))
        return r.stdout.strip()

    def pg(self, replica):
        """(primary URI, replica URI or None) of the cluster, without a database name."""
        with self.pg_lock:
            if self.pg_failed:
                raise RuntimeError(self.pg_failed)
            try:
                if self.pg_uri is None:
                    self.pg_uri = self._pg("start", os.path.join(self.root, "pg"))
                if replica and self.replica_uri is None:
                    self.replica_uri = self._pg("replica", os.path.join(self.root, "pg"),
                                                os.path.join(self.root, "pg-replica"))
            except RuntimeError as e:
                self.pg_failed = str(e)
                raise
            return self.pg_uri, self.replica_uri

    def create_database(self, name):
        uri, _ = self.pg(False)
        subprocess.run(["psql", "-X", "-q", uri, "-c", "CREATE DATABASE %s" % name],
                       check=True, capture_output=True, text=True)
        return uri.rsplit("/", 1)[0] + "/" + name

    def stop(self):
        if self.pg_thread is not None:
            self.pg_thread.join()
        if self.httpd is not None:
            self.httpd.terminate()
            self.httpd.wait()
        for d, uri in (("pg-replica", self.replica_uri), ("pg", self.pg_uri)):
            if uri:
                subprocess.run([self.args.pg_cluster, "stop", os.path.join(self.root, d)],
                               capture_output=True)


# ---------------------------------------------------------------- the shell of one document

class Shell:
    """One bash for a document: commands are sent on its stdin; it answers on a pipe."""

    def __init__(self, cwd, env):
        self.rfd, self.wfd = os.pipe()
        self.proc = subprocess.Popen(["bash", "--norc", "--noprofile", "-s"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     cwd=cwd, env=env, pass_fds=[self.wfd], text=True,
                                     start_new_session=True)
        os.close(self.wfd)
        self.buf = b""
        self.send("set -u -o pipefail\n")

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def answer(self, timeout):
        """The next line the shell writes to the pipe, or None after timeout or its end."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.rfd], [], [], min(left, 0.2))
            if not ready:
                if not self.alive():
                    return None
                continue
            chunk = os.read(self.rfd, 4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        if self.alive():
            try:
                self.send("exit 0\n")
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                pass
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.rfd)


# ---------------------------------------------------------------- the runner

class Runner:
    def __init__(self, args):
        self.args = args
        self.n = 0
        self.failed = 0
        self.root = tempfile.mkdtemp(prefix="insitu-docs-", dir=os.environ.get("TMPDIR"))
        self.services = Services(args, self.root)
        self.curl = shutil.which("curl")

    # TAP
    def ok(self, title, directive=""):
        self.n += 1
        print("ok %d - %s%s" % (self.n, title, " # " + directive if directive else ""), flush=True)

    def not_ok(self, title, *why):
        self.n += 1
        self.failed += 1
        print("not ok %d - %s" % (self.n, title))
        for w in why:
            for line in str(w).splitlines()[:40]:
                print("# " + line[:400])
        sys.stdout.flush()

    # one document
    def document(self, rel):
        t0 = time.monotonic()
        path = os.path.join(self.args.src, rel)
        blocks, stray = read_blocks(path, rel)
        for line, why in stray:
            self.not_ok("%s:%d: %s" % (rel, line, why))
        for b in blocks:
            if b.lang in ("bash", "shell", "console", "shell-session", "zsh"):
                self.not_ok("%s:%d: a ```%s block is never run: tag it sh" % (rel, b.line, b.lang))
        runnable = [b for b in blocks if b.lang == "sh"]
        if not runnable:
            print("# %s: no ```sh example" % rel, flush=True)
            return
        self.doc = DocumentRun(self, rel)
        try:
            for b in blocks:
                if b.lang == "sh":
                    self.doc.block(b)
                elif b.lang in ("json", "text"):
                    self.doc.output(b)
        finally:
            self.doc.finish()
        print("# %s: %.1f s" % (rel, time.monotonic() - t0), flush=True)

    def run(self, files):
        t0 = time.monotonic()
        uris = []
        for rel in files:
            for b in read_blocks(os.path.join(self.args.src, rel), rel)[0]:
                if b.lang == "sh" and b.skip is None:
                    uris += PG_URI.findall("\n".join(t for _, t in b.lines))
        if uris:
            self.services.prepare_pg(any(pg_host(u) == "db2" for u in uris))
        try:
            for rel in files:
                self.document(rel)
        finally:
            self.services.stop()
            if not self.args.keep:
                shutil.rmtree(self.root, ignore_errors=True)
            else:
                print("# kept in %s" % self.root)
        print("1..%d" % self.n)
        print("# %d failed; wall time %.1f s" % (self.failed, time.monotonic() - t0))
        return 0


class DocumentRun:
    def __init__(self, runner, rel):
        self.r, self.rel = runner, rel
        self.name = re.sub(r"[^A-Za-z0-9]+", "_", rel).strip("_").lower()
        self.dir = os.path.join(runner.root, self.name)
        self.work = os.path.join(self.dir, "work")
        self.meta = os.path.join(self.dir, "meta")
        for d in (self.work, self.meta, os.path.join(self.meta, "http"), os.path.join(self.dir, "bin"),
                  os.path.join(self.dir, "home")):
            os.makedirs(d)
        os.symlink(os.path.join(runner.args.src, "tests"), os.path.join(self.work, "tests"))
        self.port = free_port()
        self.db = {}             # "primary"/"replica" -> URI of this document's database
        self.server = None       # (command, subshell pid, insitu pid)
        self.last = None         # (command, stdout) of the last command run
        self.dead = None         # why the shell can no longer run commands
        self.write_tools()
        self.shell = Shell(self.work, self.environment())

    def write_tools(self):
        bindir = os.path.join(self.dir, "bin")
        with open(os.path.join(bindir, "insitu"), "w") as f:
            f.write('#!/bin/sh\n# the binary under test; a server says its pid to the runner\n'
                    'for a in "$@"; do [ "$a" = serve ] && echo $$ >"$DOCTEST_META/serve.pid" && break; done\n'
                    'exec %s "$@"\n' % shell_quote(os.path.abspath(self.r.args.insitu)))
        with open(os.path.join(bindir, "curl"), "w") as f:
            f.write('#!/bin/sh\n# curl, keeping the headers of every answer for the runner\n'
                    'h=$(mktemp "$DOCTEST_META/http/XXXXXX")\n'
                    'exec %s -sS -D "$h" "$@"\n' % shell_quote(self.r.curl))
        for t in ("insitu", "curl"):
            os.chmod(os.path.join(bindir, t), 0o755)

    def environment(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("INSITU_", "PG")) and k.lower() not in
               ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "curl_home")}
        closed = "http://127.0.0.1:9"
        env.update(PATH=os.path.join(self.dir, "bin") + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
                   HOME=os.path.join(self.dir, "home"),
                   XDG_CACHE_HOME=os.path.join(self.dir, "home", ".cache"),
                   http_proxy=closed, https_proxy=closed, HTTPS_PROXY=closed, ALL_PROXY=closed,
                   all_proxy=closed, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost",
                   DOCTEST_META=self.meta)
        return env

    # substitutions
    def substitute(self, text):
        for pat, path in HTTP_TABLE:
            if re.search(pat, text):
                base = self.r.services.http()
                text = re.sub(pat, lambda m: base + path, text)
        if PG_URI.search(text):
            text = PG_URI.sub(lambda m: self.database(m.group(0)), text)
        text = LISTEN.sub("127.0.0.1:%d" % self.port, text)
        if SERVE.search(text) and "--listen" not in text:
            text = re.sub(r"(?<=\s)serve(?=\s|$)", "serve --listen 127.0.0.1:%d" % self.port, text,
                          count=1)
        return text

    def database(self, uri):
        kind = "replica" if pg_host(uri) == "db2" else "primary"
        if "primary" not in self.db:
            self.db["primary"] = self.r.services.create_database("doc_" + self.name)
        if kind == "replica" and "replica" not in self.db:
            _, replica = self.r.services.pg(True)
            self.db["replica"] = replica.rsplit("/", 1)[0] + "/doc_" + self.name
        return self.db[kind]

    # blocks
    def block(self, b):
        if b.skip is not None:
            b.commands = []
            title = "%s:%d: ```sh block, %d line%s" % (self.rel, b.line, len(b.lines),
                                                        "s" if len(b.lines) != 1 else "")
            if not b.skip:
                return self.r.not_ok(title, "a doc-test skip marker must give its reason")
            return self.r.ok(title, "SKIP " + b.skip)
        b.commands = split_commands(b)
        for c in b.commands:
            self.command(c)

    def command(self, c):
        if self.dead:
            self.r.not_ok(c.title(), "not run: " + self.dead)
            return
        t0 = time.monotonic()
        try:
            text = self.substitute(c.text)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            self.r.not_ok(c.title(), "could not provide what it needs: %s" % e)
            return
        if SERVE.search(text):
            return self.serve(c, text, t0)
        http = os.path.join(self.meta, "http")
        for f in os.listdir(http):
            os.unlink(os.path.join(http, f))
        out = os.path.join(self.meta, "%d.out" % c.line)   # kept with --keep
        err = os.path.join(self.meta, "%d.err" % c.line)
        self.shell.send('{ %s} >%s 2>%s </dev/null\nprintf "rc %%s\\n" "$?" >&%d\n'
                        % (text, shell_quote(out), shell_quote(err), self.shell.wfd))
        reply = self.shell.answer(COMMAND_TIMEOUT)
        took = time.monotonic() - t0
        stdout = read_text(out)
        stderr = read_text(err)
        shown = ["as run: " + text.strip()] if text != c.text else []
        if reply is None:
            try:
                self.shell.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self.dead = ("the shell exited (set -u: a variable the document never set?)"
                         if not self.shell.alive() else "a command ran out of time")
            self.r.not_ok(c.title(), *(shown + [self.dead, "stdout: " + stdout[-2000:],
                                                 "stderr: " + stderr[-2000:]]))
            return
        rc = int(reply.split()[1])
        self.last = (c, stdout)
        problems = []
        want_rc = EXIT_COMMENT.findall(c.text)
        want_rc = int(want_rc[-1]) if want_rc else 0
        if rc != want_rc:
            problems.append("exit status %d, expected %d" % (rc, want_rc))
        expected = STATUS_COMMENT.findall(c.text)
        for status in http_statuses(http):
            want = expected[-1] if expected else None
            if (want and status != want) or (not want and int(status) >= 400):
                problems.append("HTTP %s, expected %s" % (status, want or "< 400"))
        if problems:
            self.r.not_ok(c.title(), *(shown + problems + ["stdout: " + stdout[-3000:],
                                                          "stderr: " + stderr[-3000:]]))
        else:
            self.r.ok(c.title() + seconds(took, " (", ")"))

    # servers
    def serve(self, c, text, t0):
        # the document's port was free when chosen, but another process may have taken it
        # since: then the server says so and exits, and it is started on another free port
        for _ in range(5):
            if self.serve_once(c, text, t0):
                return
            self.port = free_port()
            text = self.substitute(c.text)
        return self.r.not_ok(c.title(), "the server found no free port in 5 tries")

    def serve_once(self, c, text, t0):
        """Starts the server of command c (as text) and reports it; False (and no report)
        when its port was in use."""
        if self.server:
            self.stop_server("stop the server of line %d before the next one" % self.server[0].line)
        pidfile = os.path.join(self.meta, "serve.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        err = os.path.join(self.meta, "serve-%d.err" % c.line)
        out = os.path.join(self.meta, "serve-%d.out" % c.line)
        self.shell.send('{ %s} >%s 2>%s </dev/null %d>&- &\nprintf "bg %%s\\n" "$!" >&%d\n'
                        % (text, shell_quote(out), shell_quote(err), self.shell.wfd, self.shell.wfd))
        reply = self.shell.answer(SERVE_TIMEOUT)
        if reply is None:
            self.dead = "the shell did not start the server"
            self.r.not_ok(c.title(), self.dead)
            return True
        sub = int(reply.split()[1])
        end = time.monotonic() + SERVE_TIMEOUT
        url = None
        while time.monotonic() < end:
            m = re.search(r"^insitu: serving .* at (http://\S+)", read_text(err), re.M)
            if m and os.path.exists(pidfile):
                url = m.group(1)
                break
            if not process_exists(sub):
                break
            time.sleep(0.05)
        shown = ["as run: " + text.strip()] if text != c.text else []
        if url is None and "(in use," in read_text(err) and not process_exists(sub):
            return False
        if url is None:
            self.r.not_ok(c.title(), *(shown + ["the server did not start",
                                                "stderr: " + read_text(err)[-2000:]]))
            return True
        self.server = (c, sub, int(read_text(pidfile).strip()))
        self.r.ok(c.title() + " (serving at %s%s)" % (url, seconds(time.monotonic() - t0, ", ")))
        return True

    def stop_server(self, title):
        t0 = time.monotonic()
        c, sub, pid = self.server
        self.server = None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not self.shell.alive():
            for _ in range(600):
                if not process_exists(pid):
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
            return self.r.not_ok("%s:%d: %s" % (self.rel, c.line, title),
                                 "its exit status is unknown: the shell had exited")
        self.shell.send('wait %d\nprintf "rc %%s\\n" "$?" >&%d\n' % (sub, self.shell.wfd))
        reply = self.shell.answer(SERVE_TIMEOUT)
        if reply is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.dead = "the server did not stop"
            return self.r.not_ok("%s:%d: %s" % (self.rel, c.line, title), self.dead)
        rc = int(reply.split()[1])
        err = read_text(os.path.join(self.meta, "serve-%d.err" % c.line))
        if rc != 0:
            self.r.not_ok("%s:%d: %s" % (self.rel, c.line, title),
                          "exit status %d after SIGTERM, expected 0" % rc, "stderr: " + err[-2000:])
        else:
            self.r.ok("%s:%d: %s: exit 0%s" % (self.rel, c.line, title,
                                                seconds(time.monotonic() - t0, " (", ")")))

    # shown output
    def output(self, b):
        title = "%s:%d: the output shown (```%s)" % (self.rel, b.line, b.lang)
        src = b.follows
        if b.skip is not None:
            if not b.skip:
                return self.r.not_ok(title, "a doc-test skip marker must give its reason")
            return self.r.ok(title, "SKIP " + b.skip)
        if src is None or src.lang != "sh":
            return self.r.not_ok(title, "no ```sh block right before it (blank lines only between): "
                                 "whose output is it?")
        if src.skip is not None:
            return self.r.ok(title, "SKIP its command is not run: " + (src.skip or "(no reason)"))
        if not getattr(src, "commands", None) or self.last is None or self.last[0] is not src.commands[-1]:
            return self.r.not_ok(title, "not compared: the command before it did not run")
        c, stdout = self.last
        title = "%s:%d: the output of line %d has the shape shown" % (self.rel, b.line, c.line)
        shown = "\n".join(t for _, t in b.lines)
        if b.lang == "json":
            try:
                want = parse_shown_json(shown)
            except ValueError as e:
                return self.r.not_ok(title, "the JSON shown does not parse: %s" % e)
            try:
                got = json.loads(stdout)
            except ValueError as e:
                return self.r.not_ok(title, "the output is not JSON: %s" % e, stdout[:2000])
            diff = shape_diff(want, got)
        else:
            diff = text_diff(shown, stdout)
        if diff:
            self.r.not_ok(title, diff)
        else:
            self.r.ok(title)

    def finish(self):
        if self.server:
            self.stop_server("stop the server (SIGTERM)")
        self.shell.close()


# ---------------------------------------------------------------- helpers

def seconds(t, before="", after=""):
    """A duration worth showing in a test's title (a second or more), else nothing."""
    return "%s%.1f s%s" % (before, t, after) if t >= 1 else ""


def pg_host(uri):
    return re.sub(r"^[a-z]+://(?:[^@/]*@)?", "", uri).split("/")[0].split(":")[0].split("?")[0]


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def http_statuses(folder):
    """The final status of every answer curl received during the last command."""
    statuses = []
    for f in sorted(os.listdir(folder)):
        codes = re.findall(r"^HTTP/[\d.]+ (\d{3})", read_text(os.path.join(folder, f)), re.M)
        if codes:
            statuses.append(codes[-1])
    return statuses


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--src", default=os.path.dirname(here), help="the source tree")
    ap.add_argument("--insitu", default="./insitu", help="the binary under test")
    ap.add_argument("--pg-cluster", default=None, help="tests/pg_cluster")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    ap.add_argument("files", nargs="*", help="documents, relative to --src")
    args = ap.parse_args()
    args.src = os.path.abspath(args.src)
    args.pg_cluster = args.pg_cluster or os.path.join(args.src, "tests", "pg_cluster")
    files = args.files or ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(args.src, "docs")) if f.endswith(".md"))
    return Runner(args).run(files)


if __name__ == "__main__":
    sys.exit(main())
