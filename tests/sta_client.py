#!/usr/bin/env python3
"""The documented behaviour of the FROST Python client (frost_sta_client 1.1.x), replayed
against a SensorThings endpoint, with the standard library only: the client is not packaged
for Debian or npm, so this script sends what it sends and reads answers the way it reads
them (requests, furl and jsonpickle replaced by urllib and json).

What the client does, from its sources (dao/base.py, query/query.py, utils.py,
model/*.py, model/ext/data_array_value.py):
- creates with POST to BASE/<EntitySet>, a body holding only the members that are set
  (linked entities as {"@iot.id": N}, new ones nested in full), and reads the new id from
  the Location header: the text between the first '(' and the first ')';
- writes times with Python's isoformat(): "2024-03-01T06:00:00+00:00", intervals as
  "start/end" of two of those;
- queries BASE/<EntitySet> or BASE/<Parent>(id)/<Set> with $filter, $select (comma list),
  $expand, $top, $skip, $count=true and $orderby=<property> DESC (upper case, DESC unless
  told otherwise), and walks a list by following @iot.nextLink until there is none;
- patches with a JSON Patch (RFC 6902) list sent as Content-type: application/json-patch+json;
- creates many Observations with POST BASE/CreateObservations, components in its own fixed
  order (phenomenonTime, result, ..., FeatureOfInterest/id), and reads the answer as a list
  of selfLinks;
- on an error status reads the JSON body's "message".

Usage: sta_client.py BASE_URL TOKEN. Prints TAP lines ("ok N - ..."), exits 1 on a failure.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from sta_tap import check, finish

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]


def execute(method, url, body=None, headers=None):
    """service.execute(): the status, the headers and the body (JSON when it parses)."""
    data = None
    h = {"Authorization": "Bearer " + TOKEN}
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method.upper(), headers=h)
    try:
        with urllib.request.urlopen(req) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, hdrs, parsed


def extract_value(location):
    """utils.extract_value(): the id between the first '(' and the first ')'."""
    return int(location[location.find("(") + 1:location.find(")")])


def create(entity_set, entity):
    """BaseDao.create(): the new id, from the Location header."""
    status, hdrs, body = execute("post", f"{BASE}/{entity_set}", entity)
    if status != 201:
        raise RuntimeError(f"POST {entity_set}: {status} {body}")
    return extract_value(hdrs["Location"])


def query(path, **params):
    """Query.list() then iterating the EntityList: every entity, following nextLinks."""
    args = {}
    for k, v in params.items():
        args["$" + k] = v
    url = f"{BASE}/{path}"
    if args:
        url += "?" + urllib.parse.urlencode(args, quote_via=urllib.parse.quote)
    entities, pages, count = [], 0, None
    while url:
        status, _, body = execute("get", url)
        if status != 200:
            raise RuntimeError(f"GET {url}: {status} {body}")
        pages += 1
        if count is None:
            count = body.get("@iot.count")
        entities.extend(body["value"])
        url = body.get("@iot.nextLink")
    return entities, pages, count


def iso(t):
    """utils.parse_datetime() of a UTC datetime: isoformat() with +00:00."""
    return t + "+00:00"


# ---- creating, as in the client's README: a Thing with its Location, then its series ----
thing = create("Things", {
    "name": "new thing", "description": "I am a thing with a location",
    "properties": {"withLocation": True, "owner": "IOSB"},
    "Locations": [{"name": "here", "description": "and there", "encodingType": "application/geo+json",
                   "location": {"type": "Point", "coordinates": [-115.81, 37.24]}}]})
sensor = create("Sensors", {"name": "gauge", "description": "a staff gauge",
                            "encodingType": "application/pdf", "metadata": "http://example.org/gauge.pdf"})
prop = create("ObservedProperties", {"name": "water level", "description": "stage",
                                     "definition": "http://vocabs.example.org/stage"})
ds = create("Datastreams", {
    "name": "stage at new thing", "description": "hourly",
    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
    "unitOfMeasurement": {"name": "metre", "symbol": "m", "definition": "http://qudt.org/vocab/unit/M"},
    "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensor},
    "ObservedProperty": {"@iot.id": prop}})
foi = create("FeaturesOfInterest", {"name": "river section", "description": "at the gauge",
                                    "encodingType": "application/geo+json",
                                    "feature": {"type": "Point", "coordinates": [-115.81, 37.24]}})
status, _, got = execute("get", f"{BASE}/Things({thing})/Locations")
check("a Thing created with its Locations (deep insert) has them",
      [l["name"] for l in got["value"]], ["here"])

# Observations one by one, times as isoformat() writes them
ids = []
for h, v in [(0, 3), (1, 5), (2, 11), (3, 12)]:
    ids.append(create("Observations", {
        "result": v, "phenomenonTime": iso(f"2022-12-19T{10 + h:02d}:00:00"),
        "resultTime": iso(f"2022-12-19T{10 + h:02d}:05:00"),
        "Datastream": {"@iot.id": ds}, "FeatureOfInterest": {"@iot.id": foi}}))
status, _, got = execute("get", f"{BASE}/Observations({ids[1]})")
check("an Observation posted with +00:00 times reads back in UTC",
      (got["phenomenonTime"], got["resultTime"], got["result"]),
      ("2022-12-19T11:00:00Z", "2022-12-19T11:05:00Z", 5))
ids.append(create("Observations", {
    "result": 7, "phenomenonTime": iso("2022-12-19T14:00:00") + "/" + iso("2022-12-19T15:00:00"),
    "Datastream": {"@iot.id": ds}, "FeatureOfInterest": {"@iot.id": foi}}))
status, _, got = execute("get", f"{BASE}/Observations({ids[-1]})/phenomenonTime")
check("an interval of two isoformat() times", got,
      {"phenomenonTime": "2022-12-19T14:00:00Z/2022-12-19T15:00:00Z"})

# ---- DataArray: DataArrayValue's component order, and the answer read as selfLinks ----
status, _, links = execute("post", f"{BASE}/CreateObservations", [{
    "Datastream": {"@iot.id": ds},
    "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
    "dataArray": [[iso("2022-12-20T10:00:00"), 20, foi], [iso("2022-12-20T17:00:00"), 21, foi]]}])
check("CreateObservations: 201 and one selfLink per row", (status, len(links)), (201, 2))
results = []
for link in links:
    s, _, o = execute("get", link)
    results.append((s, o.get("result") if isinstance(o, dict) else o))
check("each selfLink of the answer resolves to its Observation", results, [(200, 20), (200, 21)])

# ---- queries, as Query builds them ----
obs, pages, count = query(f"Datastreams({ds})/Observations", filter="result gt 10",
                          orderby="phenomenonTime DESC", select="result,phenomenonTime")
check("$filter with the client's upper-case DESC $orderby",
      [o["result"] for o in obs], [21, 20, 12, 11])
obs, pages, count = query(f"Datastreams({ds})/Observations", top=2, count="true",
                          orderby="phenomenonTime ASC")
check("walking a list by @iot.nextLink: every entity once, in order, with $count",
      ([o["result"] for o in obs], pages, count), ([3, 5, 11, 12, 7, 20, 21], 4, 7))
things, _, _ = query("Things", filter=f"id eq {thing}",
                     expand="Locations,Datastreams($expand=ObservedProperty)")
check("$expand of two navigation properties, one nested",
      (things[0]["Locations"][0]["location"]["coordinates"],
       things[0]["Datastreams"][0]["ObservedProperty"]["name"]),
      ([-115.81, 37.24], "water level"))
things, _, _ = query("Things", filter="properties/owner eq 'IOSB'", select="id,name")
check("$filter on a JSON property, $select with id", [(t["@iot.id"], t["name"]) for t in things],
      [(thing, "new thing")])

# ---- patch with JSON Patch, as BaseDao.patch sends it ----
status, _, body = execute("patch", f"{BASE}/Things({thing})",
                          [{"op": "replace", "path": "/properties/owner", "value": "BRGM"},
                           {"op": "add", "path": "/properties/calibrated", "value": True},
                           {"op": "replace", "path": "/description", "value": "moved"}],
                          {"Content-type": "application/json-patch+json"})
check("PATCH with application/json-patch+json: 200", status, 200)
status, _, got = execute("get", f"{BASE}/Things({thing})")
check("the JSON Patch applied", (got.get("description"), got.get("properties")),
      ("moved", {"withLocation": True, "owner": "BRGM", "calibrated": True}))
status, _, body = execute("patch", f"{BASE}/Observations({ids[0]})",
                          [{"op": "test", "path": "/result", "value": 3},
                           {"op": "replace", "path": "/result", "value": 4}],
                          {"Content-type": "application/json-patch+json"})
status, _, got = execute("get", f"{BASE}/Observations({ids[0]})")
check("a JSON Patch with a passing test op changes an Observation's result", got["result"], 4)

# ---- errors: the client logs the body's "message" ----
status, _, body = execute("get", f"{BASE}/Things({thing})/Datastreams?"
                          + urllib.parse.urlencode({"$orderby": "nosuch DESC"},
                                                   quote_via=urllib.parse.quote))
check("an error answers JSON with a message",
      (status, isinstance(body, dict) and isinstance(body.get("message"), str)), (400, True))
status, _, body = execute("post", f"{BASE}/Observations", {"result": 1})
check("a create the server refuses: 400 and a message naming what is missing",
      (status, "Datastream" in (body or {}).get("message", "")), (400, True))

# ---- delete, as BaseDao.delete ----
status, _, _ = execute("delete", f"{BASE}/Things({thing})")
check("DELETE of the Thing", status, 200)
status, _, _ = execute("get", f"{BASE}/Datastreams({ds})")
check("its Datastream went with it", status, 404)

finish()
