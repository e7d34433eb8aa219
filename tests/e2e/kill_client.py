#!/usr/bin/env python3
"""kill_client.py: the client of tests/e2e/kill_server.sh.
  kill_client.py post URL TOKEN DATASTREAM ROWS FIRST LOG
      posts CreateObservations batches ($resultFormat=dataArray bodies) of ROWS rows to
      DATASTREAM, batch b (FIRST, FIRST + 1, ...) at times BASE + b*ROWS + k seconds with result b, until the server
      stops answering; LOG gets one line per batch: "b 201", "b CODE", "b 201-with-errors"
      (rows refused) or "b noanswer" (the request was sent and no answer came: the server was
      killed while it ran)
  kill_client.py check ROWS LOG COUNTS
      COUNTS: lines "batch|result|rows" read from the store; prints what is wrong (a batch
      answered 201 not fully present, a batch partially present, a row of no batch sent),
      then a last line "sent S answered A in-flight F present P"."""
import http.client
import json
import sys
import urllib.parse

BASE = 1893456000  # 2030-01-01T00:00:00Z


def iso(seconds):
    import time
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds))


def post(url, token, ds, rows, first, log):
    u = urllib.parse.urlsplit(url)
    b = first
    with open(log, 'w') as out:
        while True:
            body = json.dumps([{'Datastream': {'@iot.id': ds}, 'components': ['phenomenonTime', 'result'],
                                'dataArray': [[iso(BASE + b * rows + k), b] for k in range(rows)]}])
            try:
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                c.connect()
            except OSError:
                return  # the server is gone before this batch was sent
            try:
                c.request('POST', u.path + '/CreateObservations', body,
                          {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
                r = c.getresponse()
                answer = r.read()
                # a 201 answers one line per row: a row refused is an "error: ..." line
                if r.status == 201 and b'"error' in answer:
                    out.write('%d 201-with-errors\n' % b)
                else:
                    out.write('%d %d\n' % (b, r.status))
            except (OSError, http.client.HTTPException):
                out.write('%d noanswer\n' % b)
                return
            finally:
                out.flush()
                c.close()
            b += 1


def check(rows, log, counts):
    status = {}
    for line in open(log):
        b, s = line.split()
        status[int(b)] = s
    present = {}
    problems = []
    for line in open(counts):
        if not line.strip():
            continue
        b, result, n = line.strip().split('|')
        b, n = int(b), int(n)
        if b not in status:
            problems.append('%d rows of batch %d, which was never sent' % (n, b))
        if float(result) != b:
            problems.append('batch %d has %d rows whose result is %s' % (b, n, result))
        present[b] = present.get(b, 0) + n
    for b, s in sorted(status.items()):
        n = present.get(b, 0)
        if s == '201' and n != rows:
            problems.append('batch %d was answered 201 and has %d of its %d rows' % (b, n, rows))
        elif n not in (0, rows):
            problems.append('batch %d (%s) is partially present: %d of %d rows' % (b, s, n, rows))
    refused = [b for b, s in status.items() if s not in ('201', 'noanswer')]
    if refused:
        problems.append('%d batches not answered 201 (batch %d: %s)' % (len(refused), refused[0],
                                                                      status[refused[0]]))
    for p in problems:
        print(p)
    answered = sum(1 for s in status.values() if s == '201')
    inflight = sum(1 for s in status.values() if s == 'noanswer')
    print('sent %d answered %d in-flight %d present %d' % (len(status), answered, inflight,
                                                          sum(1 for b in present if present[b] == rows)))


if __name__ == '__main__':
    if sys.argv[1] == 'post':
        post(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
    else:
        check(int(sys.argv[2]), sys.argv[3], sys.argv[4])
