"""HTTP helpers for the SensorThings scripts run against `insitu serve` (standard library
only): requests with the write token, creating entities, reading whole collections.
BASE and TOKEN come from the command line: SCRIPT BASE_URL TOKEN."""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]


def url_of(path, params=None):
    url = path if path.startswith("http") else f"{BASE}/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return url


def execute(method, path, body=None, params=None, ctype="application/json"):
    """One request: the status, the headers and the body (JSON when it parses). A server
    that does not answer is status 0, so that a script reports it instead of stopping."""
    data = None
    h = {"Authorization": "Bearer " + TOKEN}
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = ctype
    # brackets of JSON array indexes (properties/arr[1]) are sent escaped, as FROST's
    # clients do
    url = url_of(path, params).replace("[", "%5B").replace("]", "%5D")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, {}, str(e)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, hdrs, parsed


def get(path, **params):
    """GET with query options given without their '$' (filter=..., orderby=...)."""
    return execute("GET", path, params={"$" + k: v for k, v in params.items()})


def body_of(path, **params):
    """The JSON object a GET answers, or {} when it is not a 200 with an object."""
    status, _, body = get(path, **params)
    return body if status == 200 and isinstance(body, dict) else {}


def try_create(entity_set, entity):
    """POST; the new id read from the Location header, or None when it is not a 201."""
    status, hdrs, _ = execute("POST", entity_set, entity)
    loc = hdrs.get("Location") if status == 201 and hdrs else None
    if not loc or "(" not in loc:
        return None
    try:
        return int(loc[loc.rfind("(") + 1:loc.rfind(")")])
    except ValueError:
        return None


def values(path, field="@iot.id", **params):
    """Every entity of a collection (following nextLinks): the values of one field, or the
    HTTP status when the request is refused."""
    status, _, body = get(path, **params)
    if status != 200 or not isinstance(body, dict):
        return status
    out = []
    while True:
        out.extend(e.get(field) for e in body.get("value", []))
        if "@iot.nextLink" not in body:
            return out
        status, _, body = execute("GET", body["@iot.nextLink"])
        if status != 200 or not isinstance(body, dict):
            return status


def status_of(path, **params):
    return get(path, **params)[0]


OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
UOM = {"name": "degree Celsius", "symbol": "degC", "definition": "ucum:Cel"}
