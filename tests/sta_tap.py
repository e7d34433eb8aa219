"""TAP output for the SensorThings scripts run by the end-to-end tests (sta_client.py,
sta_conformance.py): check() prints "ok N - what" or "not ok N - what" with what was got and
wanted; finish() prints the plan and exits 1 when a check failed."""
import sys

_n = 0
_failed = 0


def check(what, got, want):
    global _n, _failed
    _n += 1
    if got == want:
        print(f"ok {_n} - {what}")
    else:
        _failed += 1
        print(f"not ok {_n} - {what}")
        print(f"#   got:  {got!r}")
        print(f"#   want: {want!r}")


def finish():
    print(f"1..{_n}")
    sys.exit(1 if _failed else 0)
