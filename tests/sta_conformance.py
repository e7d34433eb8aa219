#!/usr/bin/env python3
"""What the OGC SensorThings test suites check, asked again of a SensorThings endpoint with
the standard library only (urllib and json, as tests/sta_client.py).

The suites read: OGC's ets-sta10 (TestNG; sensingCore/Capability1Tests: service root,
entity properties, navigation, $ref and $value; createUpdateDelete/Capability2Tests:
create, deep insert, PATCH, PUT, DELETE and its cascades, error statuses;
filteringExtension/Capability3Tests: $select, $expand, $top, $skip, $orderby, $count,
$filter; GeoTests: the geo functions over points, lines and a polygon;
dataArrayExtension/DataArrayTests; createUpdateDelete/ResultTypesTests) and Fraunhofer
IOSB's extended fork (DateTimeTests: the time operators and interval functions over 21
Observations; FilterTests: indirect filters, durations; JsonPatchTests; DeleteFilterTests).
Each check is named after what it checks, with the suite's test where it comes from. The
checks are written from what those tests assert, not from their code; the fixtures are the
suites' own (GeoTests' and DateTimeTests' geometries and times), each kept apart from the
others by its Datastream or by a name prefix, so that one run over one empty store holds
them all.

Usage: sta_conformance.py BASE_URL TOKEN, against an empty store and a server that takes
writes with that token. Prints TAP lines ("ok N - ..."), exits 1 on a failure.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from sta_tap import check, finish

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]


def url_of(path, params=None):
    url = path if path.startswith("http") else f"{BASE}/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return url


def execute(method, path, body=None, params=None, ctype="application/json"):
    """One request: the status, the headers and the body (JSON when it parses)."""
    data = None
    h = {"Authorization": "Bearer " + TOKEN}
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = ctype
    req = urllib.request.Request(url_of(path, params), data=data, method=method, headers=h)
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


def get(path, **params):
    return execute("GET", path, params={"$" + k: v for k, v in params.items()})


def create(entity_set, entity):
    """POST; the new id, read from the Location header."""
    status, hdrs, body = execute("POST", entity_set, entity)
    if status != 201:
        raise RuntimeError(f"POST {entity_set}: {status} {body}")
    loc = hdrs["Location"]
    return int(loc[loc.rfind("(") + 1:loc.rfind(")")])


def values(path, field="@iot.id", **params):
    """Every entity of a collection (following nextLinks): the values of one field, or the
    HTTP status when the request is refused."""
    status, _, body = get(path, **params)
    if status != 200:
        return status
    out = []
    while True:
        out.extend(e.get(field) for e in body["value"])
        if "@iot.nextLink" not in body:
            return out
        status, _, body = execute("GET", body["@iot.nextLink"])


def status_of(path, **params):
    return get(path, **params)[0]


UOM = {"name": "degree Celsius", "symbol": "degC", "definition": "ucum:Cel"}
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def datastream(name, thing, sensor, prop):
    return create("Datastreams", {"name": name, "description": name, "observationType": OM,
                                  "unitOfMeasurement": UOM, "Thing": {"@iot.id": thing},
                                  "Sensor": {"@iot.id": sensor},
                                  "ObservedProperty": {"@iot.id": prop}})


# ======================= Capability1: the service root =======================
status, _, root = get("")
sets = sorted(v["name"] for v in root.get("value", [])) if status == 200 else status
check("Capability1 readServiceRootUri: the root lists the eight entity sets and "
      "MultiDatastreams", sets,
      sorted(["Things", "Locations", "HistoricalLocations", "Datastreams", "Sensors",
              "ObservedProperties", "Observations", "FeaturesOfInterest", "MultiDatastreams"]))
check("Capability1 readServiceRootUri: each entity set's url is the root's url plus its name",
      all(v["url"].endswith("/" + v["name"]) for v in root["value"]), True)
check("Capability1 readEntitiesFromService: every entity set of an empty store is an empty list",
      [values(s) for s in sets], [[]] * 9)

# ======================= Capability2: creating, deep insert =======================
sensor = create("Sensors", {"name": "Sensor A", "description": "a thermometer",
                            "encodingType": "application/pdf", "metadata": "http://example.org/a.pdf"})
prop = create("ObservedProperties", {"name": "Temperature", "description": "air temperature",
                                     "definition": "http://example.org/temperature"})
status, hdrs, _ = execute("POST", "Things", {
    "name": "Deep Thing", "description": "a thing made with all its parts",
    "properties": {"owner": "OGC"},
    "Locations": [{"name": "Deep Location", "description": "where it is",
                   "encodingType": "application/geo+json",
                   "location": {"type": "Point", "coordinates": [-117.05, 51.05]}}],
    "Datastreams": [{"name": "Deep Datastream", "description": "with new sensor and property",
                     "observationType": OM, "unitOfMeasurement": UOM,
                     "Sensor": {"name": "Deep Sensor", "description": "new",
                                "encodingType": "application/pdf", "metadata": "http://x/y.pdf"},
                     "ObservedProperty": {"name": "Deep Property", "description": "new",
                                          "definition": "http://x/deep"},
                     "Observations": [{"phenomenonTime": "2015-03-01T00:00:00Z", "result": 1},
                                      {"phenomenonTime": "2015-03-01T01:00:00Z", "result": 2}]}]})
check("Capability2 checkCreateEntities (deep insert): 201 and a Location header",
      (status, "Things(" in (hdrs.get("Location") or "")), (201, True))
deep = int(hdrs["Location"].split("(")[-1].rstrip(")"))
status, _, got = get(f"Things({deep})", expand="Locations,HistoricalLocations,"
                     "Datastreams($expand=Sensor,ObservedProperty,Observations($orderby=result))")
check("Capability2 deep insert: the Thing has its Location, Datastream, Sensor, ObservedProperty, "
      "Observations",
      ([l["name"] for l in got["Locations"]], [d["name"] for d in got["Datastreams"]],
       got["Datastreams"][0]["Sensor"]["name"], got["Datastreams"][0]["ObservedProperty"]["name"],
       [o["result"] for o in got["Datastreams"][0]["Observations"]]),
      (["Deep Location"], ["Deep Datastream"], "Deep Sensor", "Deep Property", [1, 2]))
check("Capability2 deep insert: a Thing made with a Location gets one HistoricalLocation",
      len(got["HistoricalLocations"]), 1)
deep_ds = got["Datastreams"][0]["@iot.id"]
deep_obs = got["Datastreams"][0]["Observations"][0]["@iot.id"]
status, _, foi = get(f"Observations({deep_obs})/FeatureOfInterest")
check("Capability2 checkAutogenerateFeatureOfInterest: an Observation without one gets a "
      "FeatureOfInterest from its Thing's Location",
      (status, foi.get("feature") if status == 200 else None),
      (200, {"type": "Point", "coordinates": [-117.05, 51.05]}))
status, _, o2 = get(f"Observations({got['Datastreams'][0]['Observations'][1]['@iot.id']})/FeatureOfInterest")
check("Capability2: the Thing's second Observation shares that generated FeatureOfInterest",
      o2.get("@iot.id"), foi.get("@iot.id"))

# location linked to an existing Thing, Thing linked to an existing Location
loc2 = create("Locations", {"name": "Second Location", "description": "moved here",
                            "encodingType": "application/geo+json",
                            "location": {"type": "Point", "coordinates": [-117.1, 51.1]},
                            "Things": [{"@iot.id": deep}]})
check("Capability2: a Location posted with a Thing's id becomes that Thing's (only) Location",
      values(f"Things({deep})/Locations"), [loc2])
check("Capability2: ... and adds a HistoricalLocation of the Thing",
      len(values(f"Things({deep})/HistoricalLocations")), 2)
status, _, body = execute("POST", "Datastreams", {"name": "no thing", "description": "x",
                                                  "observationType": OM, "unitOfMeasurement": UOM,
                                                  "Sensor": {"@iot.id": sensor},
                                                  "ObservedProperty": {"@iot.id": prop}})
check("Capability2 checkCreateEntities: a Datastream without its Thing is a 400", status, 400)
status, _, _ = execute("POST", "Observations", {"result": 1, "phenomenonTime": "2015-01-01T00:00:00Z"})
check("Capability2: an Observation without a Datastream is a 400", status, 400)
status, _, _ = execute("POST", "Datastreams", {"name": "bad link", "description": "x",
                                               "observationType": OM, "unitOfMeasurement": UOM,
                                               "Thing": {"@iot.id": 999999},
                                               "Sensor": {"@iot.id": sensor},
                                               "ObservedProperty": {"@iot.id": prop}})
check("Capability2: a link to a Thing that does not exist is a 400 (not a 201, not a 500)",
      status in (400, 404), True)
status, _, _ = execute("POST", "Things", {"description": "a thing without a name"})
check("Capability2: a Thing without its mandatory name is a 400", status, 400)

# ======================= Capability1: entity shapes, navigation, $ref, $value ============
NAV = {
    "Things": ["Datastreams", "Locations", "HistoricalLocations"],
    "Locations": ["Things", "HistoricalLocations"],
    "HistoricalLocations": ["Thing", "Locations"],
    "Datastreams": ["Thing", "Sensor", "ObservedProperty", "Observations"],
    "Sensors": ["Datastreams"],
    "ObservedProperties": ["Datastreams"],
    "Observations": ["Datastream", "FeatureOfInterest"],
    "FeaturesOfInterest": ["Observations"],
}
PROPS = {
    "Things": ["name", "description"],
    "Locations": ["name", "description", "encodingType", "location"],
    "HistoricalLocations": ["time"],
    "Datastreams": ["name", "description", "unitOfMeasurement", "observationType"],
    "Sensors": ["name", "description", "encodingType", "metadata"],
    "ObservedProperties": ["name", "definition", "description"],
    "Observations": ["phenomenonTime", "result", "resultTime"],
    "FeaturesOfInterest": ["name", "description", "encodingType", "feature"],
}
for es in NAV:
    status, _, body = get(es, top="1")
    e = body["value"][0]
    missing = [p for p in PROPS[es] + ["@iot.id", "@iot.selfLink"]
               + [x + "@iot.navigationLink" for x in NAV[es]] if p not in e]
    check(f"Capability1 readEntityAndCheckResponse: one of {es} has its mandatory properties, id, "
          "selfLink and navigationLinks", missing, [])
    status, _, one = execute("GET", e["@iot.selfLink"])
    check(f"Capability1: the selfLink of one of {es} reads that entity",
          (status, one.get("@iot.id")), (200, e["@iot.id"]))
    for nav in NAV[es]:
        status, _, _ = execute("GET", e[nav + "@iot.navigationLink"])
        if status != 200:
            check(f"Capability1 checkRelatedEntity: {es} navigationLink {nav} resolves", status, 200)
            break
    else:
        check(f"Capability1 checkRelatedEntity: every navigationLink of {es} resolves (200)", True, True)
    status, _, _ = get(f"{es}(999999)")
    check(f"Capability1 readNonexistentEntity: {es}(999999) is a 404", status, 404)

status, _, got = get(f"Things({deep})/name")
check("Capability1 readEntityPropertyAndCheckResponse: /name is {\"name\": ...}", got,
      {"name": "Deep Thing"})
status, hdrs, got = execute("GET", f"Things({deep})/name/$value")
check("Capability1 checkGetPropertyValueOfEntity: /name/$value is the bare text",
      (status, got), (200, "Deep Thing"))
status, _, got = get(f"Things({deep})/Datastreams/$ref")
check("Capability1 $ref of a collection: only selfLinks",
      (status, [sorted(v) for v in got["value"]]), (200, [["@iot.selfLink"]]))
status, _, got = get(f"Datastreams({deep_ds})/Thing/$ref")
check("Capability1 $ref of a single navigation property", (status, list(got)),
      (200, ["@iot.selfLink"]))
status, _, got = get(f"Observations({deep_obs})/Datastream/Thing")
check("Capability1 readEntityWithTwoLevelsOfNavigation (Observation/Datastream/Thing)",
      (status, got.get("@iot.id")), (200, deep))
status, _, _ = get(f"Things({deep})/nosuchproperty")
check("Capability1: a property that does not exist is a 404 (or 400)", status in (400, 404), True)
status, _, _ = get(f"Observations({deep_obs})/Datastream/Things")
check("Capability1: a navigation property the entity does not have is a 404 (or 400)",
      status in (400, 404), True)

# ======================= Capability2: PATCH, PUT =======================
status, _, _ = execute("PATCH", f"Things({deep})", {"description": "patched",
                                                     "properties": {"owner": "IOSB"}})
status2, _, got = get(f"Things({deep})")
check("Capability2 checkPatch: PATCH changes the given members and keeps the others",
      (status, got["description"], got["properties"], got["name"]),
      (200, "patched", {"owner": "IOSB"}, "Deep Thing"))
status, _, _ = execute("PATCH", f"Things(999999)", {"description": "x"})
check("Capability2: PATCH of a missing entity is a 404", status, 404)
status, _, _ = execute("PATCH", f"Datastreams({deep_ds})", {"unitOfMeasurement": {
    "name": "kelvin", "symbol": "K", "definition": "ucum:K"}})
check("Capability2 checkPatch: unitOfMeasurement of a Datastream",
      get(f"Datastreams({deep_ds})")[2]["unitOfMeasurement"],
      {"name": "kelvin", "symbol": "K", "definition": "ucum:K"})
status, _, _ = execute("PATCH", f"Datastreams({deep_ds})", {"Sensor": {"@iot.id": sensor}})
check("Capability2 checkPatch: a Datastream's Sensor link changes",
      (status, get(f"Datastreams({deep_ds})/Sensor")[2].get("@iot.id")), (200, sensor))
status, _, _ = execute("PUT", f"ObservedProperties({prop})", {
    "name": "Temperature", "definition": "http://example.org/temp2", "description": "put"})
status2, _, got = get(f"ObservedProperties({prop})")
check("Capability2 checkPut: PUT replaces an ObservedProperty",
      (status, got["definition"], got["description"]), (200, "http://example.org/temp2", "put"))

# JSON Patch (Fraunhofer JsonPatchTests)
status, _, _ = execute("PATCH", f"Things({deep})",
                       [{"op": "add", "path": "/properties/colour", "value": "red"},
                        {"op": "copy", "from": "/properties/owner", "path": "/properties/maker"},
                        {"op": "move", "from": "/properties/colour", "path": "/properties/color"},
                        {"op": "remove", "path": "/properties/owner"}],
                       ctype="application/json-patch+json")
check("JsonPatchTests jsonPatchThingTest: add, copy, move, remove on properties",
      (status, get(f"Things({deep})")[2].get("properties")),
      (200, {"maker": "IOSB", "color": "red"}))
status, _, _ = execute("PATCH", f"Things({deep})",
                       [{"op": "test", "path": "/properties/maker", "value": "nobody"},
                        {"op": "replace", "path": "/properties/maker", "value": "x"}],
                       ctype="application/json-patch+json")
check("JsonPatchTests: a failing test op refuses the patch (4xx) and changes nothing",
      (400 <= status < 500, get(f"Things({deep})")[2]["properties"]["maker"]), (True, "IOSB"))

# ======================= ResultTypesTests =======================
rt_ds = datastream("Result types", deep, sensor, prop)
kinds = [("a number", 4.5), ("an integer", 7), ("a string", "fifty"), ("true", True),
         ("false", False), ("an object", {"level": 3, "flag": "ok"}), ("an array", [1, 2, 3]),
         ("null", None)]
rt_ids = []
for what, v in kinds:
    rt_ids.append(create("Observations", {"phenomenonTime": "2017-01-01T00:00:00Z", "result": v,
                                          "Datastream": {"@iot.id": rt_ds}}))
check("ResultTypesTests testResultTypes: each result type reads back as posted",
      [get(f"Observations({i})")[2].get("result", "ABSENT") for i in rt_ids], [v for _, v in kinds])
check("ResultTypesTests: filter on a string result",
      values(f"Datastreams({rt_ds})/Observations", filter="result eq 'fifty'"), [rt_ids[2]])
check("ResultTypesTests: filter on a boolean result",
      values(f"Datastreams({rt_ds})/Observations", filter="result eq true"), [rt_ids[3]])
check("ResultTypesTests: filter into an object result",
      values(f"Datastreams({rt_ds})/Observations", filter="result/level eq 3"), [rt_ids[5]])

# ======================= DateTimeTests (Fraunhofer): 21 Observations =======================
# times 06:00 06:59 07:00 07:01 07:59 08:00 08:01 09:00 of 2016-01-01, then intervals
T = {k: f"2016-01-01T{k[:2]}:{k[2:]}:00Z" for k in
     ["0600", "0659", "0700", "0701", "0759", "0800", "0801", "0900"]}


def iv(a, b):
    return T[a] + "/" + T[b]


dt_ds = datastream("DateTime", deep, sensor, prop)
dt_rows = [(T[k], T[k], None) for k in ["0600", "0659", "0700", "0701", "0759", "0800", "0801", "0900"]]
dt_rows += [(iv(a, b), None, iv(a, b)) for a, b in
            [("0600", "0659"), ("0600", "0700"), ("0600", "0701"), ("0700", "0800"),
             ("0701", "0759"), ("0759", "0900"), ("0800", "0900"), ("0801", "0900"),
             ("0659", "0801"), ("0700", "0759"), ("0700", "0801"), ("0659", "0800"),
             ("0701", "0800")]]
for i, (pt, rt, vt) in enumerate(dt_rows):
    o = {"phenomenonTime": pt, "result": i, "Datastream": {"@iot.id": dt_ds}}
    if rt:
        o["resultTime"] = rt
    if vt:
        o["validTime"] = vt
    create("Observations", o)
I78 = iv("0700", "0800")


def dt(filt):
    got = values(f"Datastreams({dt_ds})/Observations", "result", filter=filt, top="100")
    return sorted(got) if isinstance(got, list) else got


DT_CASES = [
    # testLt
    ("testLt", f"resultTime lt {T['0700']}", [0, 1]),
    ("testLt", f"validTime lt {T['0700']}", [8, 9]),
    ("testLt", f"phenomenonTime lt {T['0700']}", [0, 1, 8, 9]),
    ("testLt", f"resultTime lt {I78}", [0, 1]),
    ("testLt", f"validTime lt {I78}", [8, 9]),
    ("testLt", f"phenomenonTime lt {I78}", [0, 1, 8, 9]),
    ("testLt", f"{T['0800']} lt resultTime", [6, 7]),
    ("testLt", f"{T['0800']} lt validTime", [15]),
    ("testLt", f"{T['0800']} lt phenomenonTime", [6, 7, 15]),
    ("testLt", f"{I78} lt phenomenonTime", [5, 6, 7, 14, 15]),
    # testGt
    ("testGt", f"resultTime gt {T['0800']}", [6, 7]),
    ("testGt", f"phenomenonTime gt {T['0800']}", [6, 7, 15]),
    ("testGt", f"validTime gt {I78}", [14, 15]),
    ("testGt", f"phenomenonTime gt {I78}", [5, 6, 7, 14, 15]),
    ("testGt", f"{T['0700']} gt phenomenonTime", [0, 1, 8, 9]),
    ("testGt", f"{I78} gt phenomenonTime", [0, 1, 8, 9]),
    # testLe
    ("testLe", f"resultTime le {T['0700']}", [0, 1, 2]),
    ("testLe", f"validTime le {T['0700']}", [8, 9]),
    ("testLe", f"phenomenonTime le {T['0700']}", [0, 1, 2, 8, 9]),
    ("testLe", f"validTime le {I78}", [8, 9, 10, 11, 17, 19]),
    ("testLe", f"phenomenonTime le {I78}", [0, 1, 2, 8, 9, 10, 11, 17, 19]),
    ("testLe", f"{T['0800']} le phenomenonTime", [5, 6, 7, 14, 15]),
    ("testLe", f"{I78} le validTime", [11, 13, 14, 15, 18, 20]),
    # testGe
    ("testGe", f"resultTime ge {T['0800']}", [5, 6, 7]),
    ("testGe", f"phenomenonTime ge {T['0800']}", [5, 6, 7, 14, 15]),
    ("testGe", f"validTime ge {I78}", [11, 13, 14, 15, 18, 20]),
    ("testGe", f"phenomenonTime ge {I78}", [5, 6, 7, 11, 13, 14, 15, 18, 20]),
    ("testGe", f"{I78} ge phenomenonTime", [0, 1, 2, 8, 9, 10, 11, 17, 19]),
    # testEq
    ("testEq", f"resultTime eq {T['0800']}", [5]),
    ("testEq", f"validTime eq {T['0800']}", []),
    ("testEq", f"phenomenonTime eq {T['0800']}", [5]),
    ("testEq", f"resultTime eq {I78}", []),
    ("testEq", f"validTime eq {I78}", [11]),
    ("testEq", f"phenomenonTime eq {I78}", [11]),
    ("testEq", f"{T['0700']} eq phenomenonTime", [2]),
    # before / after
    ("testBefore", f"before(phenomenonTime,{T['0700']})", [0, 1, 8, 9]),
    ("testBefore", f"before(validTime,{I78})", [8, 9]),
    ("testBefore", f"before({T['0800']},phenomenonTime)", [6, 7, 15]),
    ("testBefore", f"before({I78},phenomenonTime)", [5, 6, 7, 14, 15]),
    ("testAfter", f"after(phenomenonTime,{T['0800']})", [6, 7, 15]),
    ("testAfter", f"after(resultTime,{I78})", [5, 6, 7]),
    ("testAfter", f"after({T['0700']},phenomenonTime)", [0, 1, 8, 9]),
    ("testAfter", f"after({I78},validTime)", [8, 9]),
    # meets
    ("testMeets", f"meets(resultTime,{T['0700']})", [2]),
    ("testMeets", f"meets(validTime,{T['0700']})", [9, 11, 17, 18]),
    ("testMeets", f"meets(phenomenonTime,{T['0700']})", [2, 9, 11, 17, 18]),
    ("testMeets", f"meets(resultTime,{I78})", [2, 5]),
    ("testMeets", f"meets(validTime,{I78})", [9, 14]),
    ("testMeets", f"meets({I78},phenomenonTime)", [2, 5, 9, 14]),
    # during
    ("testDuring", f"during(resultTime,{I78})", [2, 3, 4]),
    ("testDuring", f"during(validTime,{I78})", [11, 12, 17, 20]),
    ("testDuring", f"during(phenomenonTime,{I78})", [2, 3, 4, 11, 12, 17, 20]),
    ("testDuring", f"during({T['0700']},validTime)", [10, 11, 16, 17, 18, 19]),
    ("testDuring", f"during({T['0700']},phenomenonTime)", [10, 11, 16, 17, 18, 19]),
    ("testDuring", f"during({I78},phenomenonTime)", [11, 16, 18, 19]),
    # overlaps
    ("testOverlaps", f"overlaps(resultTime,{T['0700']})", [2]),
    ("testOverlaps", f"overlaps(validTime,{T['0700']})", [10, 11, 16, 17, 18, 19]),
    ("testOverlaps", f"overlaps(phenomenonTime,{I78})", [2, 3, 4, 10, 11, 12, 13, 16, 17, 18, 19, 20]),
    ("testOverlaps", f"overlaps({I78},validTime)", [10, 11, 12, 13, 16, 17, 18, 19, 20]),
    # starts / finishes
    ("testStarts", f"starts(phenomenonTime,{T['0700']})", [2, 11, 17, 18]),
    ("testStarts", f"starts(validTime,{I78})", [11, 17, 18]),
    ("testStarts", f"starts({I78},phenomenonTime)", [2, 11, 17, 18]),
    ("testFinishes", f"finishes(resultTime,{T['0800']})", [5]),
    ("testFinishes", f"finishes(phenomenonTime,{T['0800']})", [5, 11, 19, 20]),
    ("testFinishes", f"finishes(validTime,{I78})", [11, 19, 20]),
    ("testFinishes", f"finishes({I78},phenomenonTime)", [5, 11, 19, 20]),
]
for test, filt, want in DT_CASES:
    check(f"DateTimeTests {test}: {filt}", dt(filt), want)
for filt in [f"during(resultTime,{T['0700']})", f"during(phenomenonTime,{T['0700']})",
             f"during({T['0700']},resultTime)", f"during({I78},resultTime)"]:
    check(f"DateTimeTests testDuring: {filt} is a 400 (nothing lies during an instant)",
          dt(filt), 400)

# FilterTests testTimeInterval: durations (over the validTimes of four Observations)
ft_ds = datastream("Durations", deep, sensor, prop)
for d in range(1, 5):
    create("Observations", {"phenomenonTime": f"2016-01-0{d}T01:01:01.000Z", "result": d - 1,
                            "validTime": f"2016-01-0{d}T01:01:01.000Z/2016-01-0{d}T23:59:59.999Z",
                            "Datastream": {"@iot.id": ft_ds}})


def ft(filt):
    got = values(f"Datastreams({ft_ds})/Observations", "result", filter=filt)
    return sorted(got) if isinstance(got, list) else got


for filt, want in [
        ("not validTime lt 2016-01-03T12:00:00Z and not validTime gt 2016-01-03T12:00:00Z", [2]),
        ("validTime add duration'P1D' gt 2016-01-03T01:01:00Z", [1, 2, 3]),
        ("validTime gt 2016-01-03T01:01:00Z sub duration'P1D'", [1, 2, 3]),
        ("validTime sub duration'P1D' gt 2016-01-03T01:01:00Z", [3]),
        ("validTime lt 2016-01-02T01:01:01.000Z/2016-01-03T23:59:59.999Z add duration'P1D'", [0, 1]),
        ("validTime gt 2016-01-02T01:01:01.000Z/2016-01-03T23:59:59.999Z sub duration'P1D'", [2, 3]),
        ("phenomenonTime sub 2016-01-03T01:01:01.000Z eq duration'P1D'", [3])]:
    check(f"FilterTests testTimeInterval: {filt}", ft(filt), want)

# ======================= GeoTests =======================
geo_things = [create("Things", {"name": f"Geo Thing {i}", "description": f"geo thing {i}"})
              for i in range(1, 5)]
POLY = {"type": "Polygon", "coordinates": [[[8, 53], [7, 52], [7, 53], [8, 53]]]}
GEOMS = [({"type": "Point", "coordinates": [8, 51]}, 0),
         ({"type": "Point", "coordinates": [8, 52]}, 0),
         ({"type": "Point", "coordinates": [8, 53]}, 1),
         ({"type": "Point", "coordinates": [8, 54]}, 2),
         (POLY, 3),
         ({"type": "LineString", "coordinates": [[5, 52], [5, 53]]}, None),
         ({"type": "LineString", "coordinates": [[5, 52], [6, 53]]}, None),
         ({"type": "LineString", "coordinates": [[4, 52], [8, 52]]}, None)]
geo_ds = [datastream(f"Geo Datastream {i}", geo_things[i], sensor, prop) for i in range(3)]
geo_loc, geo_foi, geo_obs = [], [], []
for i, (g, t) in enumerate(GEOMS):
    loc = {"name": f"Geo Location {i}", "description": "geo", "encodingType": "application/geo+json",
           "location": g}
    if t is not None:
        loc["Things"] = [{"@iot.id": geo_things[t]}]
    geo_loc.append(create("Locations", loc))
    geo_foi.append(create("FeaturesOfInterest", {"name": f"Geo FoI {i}", "description": "geo",
                                                 "encodingType": "application/geo+json", "feature": g}))
    if i < 4:
        geo_obs.append(create("Observations", {
            "result": i + 1, "phenomenonTime": f"2016-01-0{i + 1}T01:01:01.000Z",
            "Datastream": {"@iot.id": geo_ds[min(i, 3) - (1 if i >= 1 else 0)]},
            "FeatureOfInterest": {"@iot.id": geo_foi[i]}}))


def geo(es, filt, prefix):
    field = "name"
    got = values(es, field, filter=f"({filt}) and startswith(name,'{prefix}')", top="100") \
        if es != "Observations" else \
        values(es, "result", filter=f"({filt}) and startswith(Datastream/name,'Geo ')", top="100")
    if not isinstance(got, list):
        return got
    if es == "Observations":
        return sorted(int(r) - 1 for r in got)
    return sorted(int(x.split()[-1]) for x in got)


SQ = "geography'POLYGON((7.5 51.5, 7.5 53.5, 8.5 53.5, 8.5 51.5, 7.5 51.5))'"
GEO_CASES = [
    ("testGeoDistance", "geo.distance(location, geography'POINT(8 54.1)') lt 1", [3]),
    ("testGeoDistance", "geo.distance(location, geography'POINT(8 54.1)') gt 1", [0, 1, 2, 4, 5, 6, 7]),
    ("testGeoIntersects", "geo.intersects(location, geography'LINESTRING(7.5 51, 7.5 54)')", [4, 7]),
    ("testGeoLength", "geo.length(location) gt 1", [6, 7]),
    ("testGeoLength", "geo.length(location) ge 1", [5, 6, 7]),
    ("testGeoLength", "geo.length(location) eq 1", [5]),
    ("testGeoLength", "geo.length(location) ne 1", [0, 1, 2, 3, 4, 6, 7]),
    ("testGeoLength", "geo.length(location) le 4", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("testGeoLength", "geo.length(location) lt 4", [0, 1, 2, 3, 4, 5, 6]),
    ("testStContains", f"st_contains({SQ}, location)", [1, 2]),
    ("testStCrosses", "st_crosses(geography'LINESTRING(7.5 51.5, 7.5 53.5)', location)", [4, 7]),
    ("testStDisjoint", f"st_disjoint({SQ}, location)", [0, 3, 5, 6]),
    ("testStEquals", "st_equals(location, geography'POINT(8 53)')", [2]),
    ("testStIntersects", "st_intersects(location, geography'LINESTRING(7.5 51, 7.5 54)')", [4, 7]),
    ("testStOverlaps", f"st_overlaps({SQ}, location)", [4]),
    ("testStRelate", f"st_relate({SQ}, location, 'T********')", [1, 2, 4, 7]),
    ("testStTouches", "st_touches(geography'POLYGON((8 53, 7.5 54.5, 8.5 54.5, 8 53))', location)", [2, 4]),
    ("testStWithin", "st_within(geography'POINT(7.5 52.75)', location)", [4]),
]
for test, filt, want in GEO_CASES:
    check(f"GeoTests {test}: Locations {filt}", geo("Locations", filt, "Geo Location"), want)
    ffilt = filt.replace("location", "feature")
    check(f"GeoTests {test}: FeaturesOfInterest {ffilt}", geo("FeaturesOfInterest", ffilt, "Geo FoI"), want)
for test, filt, want in [
        ("testGeoDistance", "geo.distance(FeatureOfInterest/feature, geography'POINT(8 54.1)') lt 1", [3]),
        ("testGeoDistance", "geo.distance(FeatureOfInterest/feature, geography'POINT(8 54.1)') gt 1", [0, 1, 2]),
        ("testStContains", f"st_contains({SQ}, FeatureOfInterest/feature)", [1, 2])]:
    check(f"GeoTests {test}: Observations {filt}", geo("Observations", filt, None), want)
check("FilterTests testIndirectFilter: Things with Locations/name eq 'Geo Location 2'",
      values("Things", "name", filter="Locations/name eq 'Geo Location 2'"), ["Geo Thing 2"])
check("FilterTests testIndirectFilter: through HistoricalLocations/Locations",
      values("Things", "name", filter="startswith(HistoricalLocations/Locations/name, 'Geo Location 1')"),
      ["Geo Thing 1"])

# ======================= Capability3: $filter operators and functions =======================
# Things whose names and properties the string functions read
fn_names = ["Alpha One", "beta two", "  Gamma  ", "Delta's"]
fn_things = [create("Things", {"name": nm, "description": f"fn {i}",
                               "properties": {"n": i, "tag": "fn"}})
             for i, nm in enumerate(fn_names)]


def fn(filt):
    got = values("Things", "name", filter=f"properties/tag eq 'fn' and ({filt})")
    return sorted(got) if isinstance(got, list) else got


for test, filt, want in [
        ("substringof", "substringof('ta', name)", ["Delta's", "beta two"]),
        ("contains", "contains(name, 'ph')", ["Alpha One"]),
        ("startswith", "startswith(name, 'Alp')", ["Alpha One"]),
        ("endswith", "endswith(name, 'two')", ["beta two"]),
        ("length", "length(name) eq 9", ["  Gamma  ", "Alpha One"]),
        ("indexof", "indexof(name, 'a') eq 4", ["Alpha One", "Delta's"]),
        ("substring", "substring(name, 1) eq 'eta two'", ["beta two"]),
        ("substring with a length", "substring(name, 1, 2) eq 'lp'", ["Alpha One"]),
        ("tolower", "tolower(name) eq 'alpha one'", ["Alpha One"]),
        ("toupper", "toupper(name) eq 'BETA TWO'", ["beta two"]),
        ("trim", "trim(name) eq 'Gamma'", ["  Gamma  "]),
        ("concat", "concat(concat(name, '-'), description) eq 'beta two-fn 1'", ["beta two"]),
        ("a quote doubled in a literal", "name eq 'Delta''s'", ["Delta's"]),
        ("eq", "properties/n eq 1", ["beta two"]),
        ("ne", "properties/n ne 1", ["  Gamma  ", "Alpha One", "Delta's"]),
        ("gt", "properties/n gt 2", ["Delta's"]),
        ("ge", "properties/n ge 2", ["  Gamma  ", "Delta's"]),
        ("lt", "properties/n lt 1", ["Alpha One"]),
        ("le", "properties/n le 1", ["Alpha One", "beta two"]),
        ("and", "properties/n ge 1 and properties/n le 2", ["  Gamma  ", "beta two"]),
        ("or", "properties/n eq 0 or properties/n eq 3", ["Alpha One", "Delta's"]),
        ("not", "not (properties/n lt 3)", ["Delta's"]),
        ("precedence: and binds tighter than or",
         "properties/n eq 0 or properties/n eq 1 and name eq 'x'", ["Alpha One"]),
        ("parentheses override precedence",
         "(properties/n eq 0 or properties/n eq 1) and name eq 'beta two'", ["beta two"]),
        ("add", "properties/n add 2 eq 5", ["Delta's"]),
        ("sub", "properties/n sub 1 eq 0", ["beta two"]),
        ("mul", "properties/n mul 3 eq 6", ["  Gamma  "]),
        ("div", "properties/n div 2 eq 1.5", ["Delta's"]),
        ("mod", "properties/n mod 2 eq 1", ["Delta's", "beta two"]),
        ("arithmetic precedence: mul before add", "1 add properties/n mul 2 eq 7", ["Delta's"])]:
    check(f"Capability3 checkFilterFunctions: {test}: {filt}", fn(filt), want)

fn_ds = datastream("Functions", deep, sensor, prop)
math_rows = [(2.4, "2016-02-03T04:05:06.250Z"), (2.5, "2017-11-12T13:14:15Z"),
             (-2.5, "2016-02-29T23:59:59Z"), (-2.4, "2018-12-31T00:00:00.5Z")]
for r, t in math_rows:
    create("Observations", {"result": r, "phenomenonTime": t, "resultTime": t,
                            "Datastream": {"@iot.id": fn_ds}})


def mf(filt):
    got = values(f"Datastreams({fn_ds})/Observations", "result", filter=filt)
    return sorted(got) if isinstance(got, list) else got


for test, filt, want in [
        ("round", "round(result) eq 3", [2.5]),
        ("round of a negative half", "round(result) eq -3", [-2.5]),
        ("floor", "floor(result) eq 2", [2.4, 2.5]),
        ("floor of a negative", "floor(result) eq -3", [-2.5, -2.4]),
        ("ceiling", "ceiling(result) eq 3", [2.4, 2.5]),
        ("ceiling of a negative", "ceiling(result) eq -2", [-2.5, -2.4]),
        ("year", "year(resultTime) eq 2016", [-2.5, 2.4]),
        ("month", "month(phenomenonTime) eq 2", [-2.5, 2.4]),
        ("day", "day(resultTime) eq 29", [-2.5]),
        ("hour", "hour(resultTime) eq 13", [2.5]),
        ("minute", "minute(resultTime) eq 5", [2.4]),
        ("second", "second(resultTime) eq 15", [2.5]),
        ("fractionalseconds", "fractionalseconds(resultTime) eq 0.25", [2.4]),
        ("fractionalseconds of a whole second", "fractionalseconds(resultTime) eq 0", [-2.5, 2.5]),
        ("date", "date(resultTime) eq date(2016-02-29T10:00:00Z)", [-2.5]),
        ("time", "time(resultTime) eq time(2020-01-01T13:14:15Z)", [2.5]),
        ("totaloffsetminutes", "totaloffsetminutes(resultTime) eq 0", [-2.5, -2.4, 2.4, 2.5]),
        ("now", "resultTime lt now()", [-2.5, -2.4, 2.4, 2.5]),
        ("mindatetime", "resultTime gt mindatetime()", [-2.5, -2.4, 2.4, 2.5]),
        ("maxdatetime", "resultTime lt maxdatetime()", [-2.5, -2.4, 2.4, 2.5]),
        ("a time with an offset", "resultTime eq 2017-11-12T15:14:15%2B02:00".replace("%2B", "+"), [2.5]),
        ("result gt, on numbers", "result gt 0", [2.4, 2.5]),
        ("result add, on numbers", "result add 0.5 eq 3", [2.5])]:
    check(f"Capability3 checkFilterFunctions: {test}: {filt}", mf(filt), want)

# ======================= Capability3: $select, $expand, $orderby, $top, $skip, $count =====
status, _, got = get(f"Datastreams({fn_ds})/Observations", select="result,phenomenonTime")
check("Capability3 readEntitiesWithSelectQO: $select gives only the selected properties",
      sorted(set(k for o in got["value"] for k in o)), ["phenomenonTime", "result"])
status, _, got = get(f"Datastreams({fn_ds})", select="id,Thing,Observations")
check("Capability3 checkSelectForEntityTypeRelations: $select of navigation properties gives "
      "their navigationLinks", sorted(got), ["@iot.id", "@iot.selfLink",
                                              "Observations@iot.navigationLink",
                                              "Thing@iot.navigationLink"])
status, _, got = get(f"Things({deep})", expand="Datastreams($select=name;$expand=Thing($select=name))",
                     select="name")
check("Capability3 checkExpandtForEntityTypeMultilevel: nested $expand with $select",
      (got.get("name"), sorted((d.get("name"), d.get("Thing", {}).get("name")) for d in got.get("Datastreams", [])),
       sorted(got)),
      ("Deep Thing", sorted([("Deep Datastream", "Deep Thing"), ("Result types", "Deep Thing"),
                             ("DateTime", "Deep Thing"), ("Durations", "Deep Thing"),
                             ("Functions", "Deep Thing")]), ["Datastreams", "name"]))
status, _, got = get(f"Datastreams({dt_ds})",
                     expand="Observations($filter=result lt 5;$orderby=result desc;$top=2;$skip=1;$count=true)")
check("Capability3 $expand with $filter, $orderby, $top, $skip, $count inside",
      ([o["result"] for o in got.get("Observations", [])], got.get("Observations@iot.count"),
       "Observations@iot.nextLink" in got), ([3, 2], 5, True))
status, _, got = get("Things", expand="Datastreams/ObservedProperty", filter=f"id eq {deep}")
check("Capability3 $expand of a path (Datastreams/ObservedProperty)",
      sorted(d["ObservedProperty"]["name"] for d in got["value"][0]["Datastreams"]),
      ["Deep Property"] + ["Temperature"] * 4)

check("Capability3 checkOrderbyForEntityType: $orderby of one key, ascending by default",
      values(f"Datastreams({fn_ds})/Observations", "result", orderby="result"), [-2.5, -2.4, 2.4, 2.5])
check("Capability3: $orderby desc",
      values(f"Datastreams({fn_ds})/Observations", "result", orderby="result desc"), [2.5, 2.4, -2.4, -2.5])
check("Capability3: $orderby of two keys (description desc, then name)",
      values("Things", "name", filter="properties/tag eq 'fn'", orderby="description desc,name"),
      ["Delta's", "  Gamma  ", "beta two", "Alpha One"])
check("Capability3: $orderby of an expression through a navigation property",
      values("Datastreams", "name", filter="startswith(name,'Geo')", orderby="Thing/name desc"),
      ["Geo Datastream 2", "Geo Datastream 1", "Geo Datastream 0"])
dt_all = sorted(range(21))
status, _, got = get(f"Datastreams({dt_ds})/Observations", top="5", orderby="result", count="true")
check("Capability3 readEntitiesWithTopQO + $count: five, the count of all, a nextLink",
      ([o["result"] for o in got["value"]], got.get("@iot.count"), "@iot.nextLink" in got),
      ([0, 1, 2, 3, 4], 21, True))
check("Capability3 readEntitiesWithSkipQO: $skip=18 of 21 gives the last three, no nextLink",
      (lambda b: ([o["result"] for o in b["value"]], "@iot.nextLink" in b))(
          get(f"Datastreams({dt_ds})/Observations", skip="18", orderby="result")[2]),
      ([18, 19, 20], False))
check("Capability3: $top and $skip together",
      values(f"Datastreams({dt_ds})/Observations", "result", top="3", skip="4", orderby="result")[:3],
      [4, 5, 6])
status, _, got = get(f"Datastreams({dt_ds})/Observations", top="0", count="true")
check("Capability3: $top=0 with $count: no entity, the count", (got.get("value"), got.get("@iot.count")),
      ([], 21))
status, _, got = get(f"Datastreams({dt_ds})/Observations", count="false")
check("Capability3 readEntitiesWithCountQO: $count=false has no @iot.count", "@iot.count" in got, False)
status, _, got = get(f"Datastreams({dt_ds})/Observations", count="true", filter="result ge 10")
check("Capability3: $count counts what $filter keeps", got.get("@iot.count"), 11)
check("Capability3: walking nextLinks with $top=4 visits each entity once, in order",
      values(f"Datastreams({dt_ds})/Observations", "result", top="4", orderby="result"), dt_all)
status, _, got = get(f"Datastreams({dt_ds})/Observations", top="4", orderby="result desc",
                     filter="result lt 10", select="result")
nl = got.get("@iot.nextLink")
status, _, page2 = execute("GET", nl) if nl else (None, None, {})
check("Capability3: a nextLink keeps $filter, $orderby and $select",
      [sorted(o) for o in page2.get("value", [])][:1] + [[o["result"] for o in page2.get("value", [])]],
      [["result"], [5, 4, 3, 2]])

# ======================= more of Capability1-3 =======================
status, hdrs, _ = execute("POST", f"Datastreams({fn_ds})/Observations",
                          {"result": 99, "phenomenonTime": "2019-05-05T05:05:05Z"})
check("Capability2 checkCreateEntities: a POST to Datastreams(id)/Observations links the new "
      "Observation to that Datastream", (status, values(f"Datastreams({fn_ds})/Observations", "result",
                                                         filter="result eq 99")), (201, [99]))
o_foi = create("Observations", {"result": 98, "phenomenonTime": "2019-05-05T06:00:00Z",
                                "Datastream": {"@iot.id": fn_ds},
                                "FeatureOfInterest": {"name": "Inline FoI", "description": "new",
                                                      "encodingType": "application/geo+json",
                                                      "feature": {"type": "Point", "coordinates": [3, 4]}}})
check("Capability2 deep insert: an Observation with a new FeatureOfInterest inline",
      get(f"Observations({o_foi})/FeatureOfInterest/name")[2], {"name": "Inline FoI"})
ds_inline = create("Datastreams", {"name": "Inline Thing DS", "description": "x", "observationType": OM,
                                   "unitOfMeasurement": UOM, "Sensor": {"@iot.id": sensor},
                                   "ObservedProperty": {"@iot.id": prop},
                                   "Thing": {"name": "Inline Thing", "description": "made with its Datastream"}})
check("Capability2 deep insert: a Datastream with a new Thing inline",
      get(f"Datastreams({ds_inline})/Thing/name")[2], {"name": "Inline Thing"})
it = get(f"Datastreams({ds_inline})/Thing")[2]["@iot.id"]
status, _, _ = execute("PATCH", f"Things({it})", {"Locations": [{"@iot.id": loc2}]})
check("Capability2 checkPatch: a Thing patched with a Location gets it and a HistoricalLocation "
      "pointing to it", (status, values(f"Things({it})/Locations"),
                         [values(f"HistoricalLocations({h})/Locations")
                          for h in values(f"Things({it})/HistoricalLocations")]),
      (200, [loc2], [[loc2]]))
status, _, got = get(f"Things({deep})/Locations({loc2})")
check("Capability1: an entity of a navigation collection by its id (Things(i)/Locations(j))",
      (status, got.get("@iot.id") if isinstance(got, dict) else got), (200, loc2))
status, _, got = get(f"Things({deep})/Locations({geo_loc[0]})")
check("Capability1: an entity by id that is not in that navigation collection is a 404", status, 404)
check("Capability3 checkFilterForEntityTypeRelations: a filter through two navigation properties",
      sorted(values("Observations", "result", filter="Datastream/Thing/name eq 'Geo Thing 1'")), [1, 2])
check("Capability3: geo.intersects of Things through Locations/location",
      sorted(values("Things", "name", filter="geo.intersects(Locations/location, "
                    "geography'POLYGON((7.9 50.9, 8.1 50.9, 8.1 52.1, 7.9 52.1, 7.9 50.9))')")),
      ["Geo Thing 1"])
check("Capability3: eq null on an absent resultTime",
      len(values(f"Datastreams({dt_ds})/Observations", filter="resultTime eq null")), 13)
check("Capability3: ne null",
      len(values(f"Datastreams({dt_ds})/Observations", filter="resultTime ne null")), 8)
status, _, got = get(f"Datastreams({fn_ds})/Observations", select="id", top="1")
check("Capability3: $select=id gives @iot.id and the selfLink only", sorted(got["value"][0]),
      ["@iot.id", "@iot.selfLink"])
check("Capability3: $orderby phenomenonTime desc with paging",
      values(f"Datastreams({dt_ds})/Observations", "result", filter="result lt 8",
             orderby="phenomenonTime desc", top="3"), [7, 6, 5, 4, 3, 2, 1, 0])

# ======================= error statuses on options =======================
for what, params in [("$top=-1", {"top": "-1"}), ("$top=x", {"top": "x"}), ("$skip=-3", {"skip": "-3"}),
                     ("$count=maybe", {"count": "maybe"}), ("$orderby of an unknown property", {"orderby": "nosuch"}),
                     ("$select of an unknown property", {"select": "nosuch"}),
                     ("$expand of an unknown navigation property", {"expand": "Nosuch"}),
                     ("$filter that does not parse", {"filter": "name eq"}),
                     ("$filter of an unknown function", {"filter": "nosuch(name) eq 1"}),
                     ("$filter comparing text with a number", {"filter": "name eq 1"})]:
    check(f"Capability3: {what} is a 400", status_of("Things", **params), 400)
status, _, _ = execute("GET", "NoSuchSet")
check("Capability1: an unknown entity set is a 404", status, 404)

# ======================= DataArrayTests =======================
da_ds = datastream("DataArray", deep, sensor, prop)
da_foi = create("FeaturesOfInterest", {"name": "DA FoI", "description": "x",
                                       "encodingType": "application/geo+json",
                                       "feature": {"type": "Point", "coordinates": [1, 2]}})
status, _, links = execute("POST", "CreateObservations", [{
    "Datastream": {"@iot.id": da_ds},
    "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
    "dataArray": [["2010-12-23T10:20:00Z", 20, da_foi], ["2010-12-23T10:21:00Z", 30, da_foi]]}])
check("DataArrayTests testCreateObservationsDataArray: 201 and one selfLink per row",
      (status, len(links) if isinstance(links, list) else links), (201, 2))
status, _, got = get(f"Datastreams({da_ds})/Observations", resultFormat="dataArray",
                     select="result,phenomenonTime")
v = got["value"][0] if status == 200 else {}
check("DataArrayTests testGetDataArray: components as selected, rows in order, count",
      (v.get("components"), v.get("dataArray"), v.get("dataArray@iot.count")),
      (["result", "phenomenonTime"], [[20, "2010-12-23T10:20:00Z"], [30, "2010-12-23T10:21:00Z"]], 2))
status, _, got = get("Observations", resultFormat="dataArray", filter=f"Datastream/id eq {da_ds}",
                     select="id,result")
check("DataArrayTests: a dataArray of all Observations groups them by Datastream",
      [x.get("Datastream@iot.navigationLink", "").endswith(f"Datastreams({da_ds})") for x in got["value"]],
      [True])

# ======================= DELETE and its cascades (Capability2 checkDeleteEntity) ==========
# a Datastream: its Observations go
o_ids = values(f"Datastreams({da_ds})/Observations")
status, _, _ = execute("DELETE", f"Datastreams({da_ds})")
check("Capability2 deleteEntities: DELETE of a Datastream: 200, then 404",
      (status, status_of(f"Datastreams({da_ds})")), (200, 404))
check("Capability2 deleteEntities: its Observations are gone",
      [status_of(f"Observations({i})") for i in o_ids], [404] * len(o_ids))
check("Capability2 deleteEntities: its FeatureOfInterest stays", status_of(f"FeaturesOfInterest({da_foi})"), 200)
# a FeatureOfInterest: its Observations go
o_ids = values(f"FeaturesOfInterest({geo_foi[0]})/Observations")
status, _, _ = execute("DELETE", f"FeaturesOfInterest({geo_foi[0]})")
check("Capability2: DELETE of a FeatureOfInterest takes its Observations",
      (status, len(o_ids), [status_of(f"Observations({i})") for i in o_ids]), (200, 1, [404]))
# an ObservedProperty, a Sensor: their Datastreams go
p2 = create("ObservedProperties", {"name": "P2", "description": "x", "definition": "http://x/p2"})
s2 = create("Sensors", {"name": "S2", "description": "x", "encodingType": "text/plain", "metadata": "m"})
d_p = datastream("by P2", deep, sensor, p2)
d_s = datastream("by S2", deep, s2, prop)
op = create("Observations", {"result": 1, "phenomenonTime": "2019-01-01T00:00:00Z", "Datastream": {"@iot.id": d_p}})
execute("DELETE", f"ObservedProperties({p2})")
check("Capability2: DELETE of an ObservedProperty takes its Datastreams and their Observations",
      (status_of(f"Datastreams({d_p})"), status_of(f"Observations({op})")), (404, 404))
execute("DELETE", f"Sensors({s2})")
check("Capability2: DELETE of a Sensor takes its Datastreams", status_of(f"Datastreams({d_s})"), 404)
# a Location: the HistoricalLocations that only had it go, the Thing stays
hl = values(f"Locations({geo_loc[3]})/HistoricalLocations")
execute("DELETE", f"Locations({geo_loc[3]})")
check("Capability2: DELETE of a Location takes its HistoricalLocations, keeps its Thing",
      ([status_of(f"HistoricalLocations({i})") for i in hl], status_of(f"Things({geo_things[2]})")),
      ([404] * len(hl), 200))
check("Capability2: ... and the Thing no longer lists it", values(f"Things({geo_things[2]})/Locations"), [])
# DELETE by filter (Fraunhofer DeleteFilterTests)
status, _, _ = execute("DELETE", f"Datastreams({dt_ds})/Observations",
                       params={"$filter": "result ge 10"})
check("DeleteFilterTests: DELETE of a collection with $filter: 200 and only the others stay",
      (status, sorted(values(f"Datastreams({dt_ds})/Observations", "result"))), (200, list(range(10))))
# a Thing: Datastreams, Observations and HistoricalLocations go, Locations stay
ds_ids = values(f"Things({deep})/Datastreams")
hl_ids = values(f"Things({deep})/HistoricalLocations")
obs_ids = values(f"Datastreams({ds_ids[0]})/Observations")
status, _, _ = execute("DELETE", f"Things({deep})")
check("Capability2: DELETE of a Thing: 200, then 404", (status, status_of(f"Things({deep})")), (200, 404))
check("Capability2: its Datastreams are gone", [status_of(f"Datastreams({i})") for i in ds_ids],
      [404] * len(ds_ids))
check("Capability2: their Observations are gone", [status_of(f"Observations({i})") for i in obs_ids],
      [404] * len(obs_ids))
check("Capability2: its HistoricalLocations are gone",
      [status_of(f"HistoricalLocations({i})") for i in hl_ids], [404] * len(hl_ids))
check("Capability2: its Location stays", status_of(f"Locations({loc2})"), 200)
status, _, _ = execute("DELETE", f"Things({deep})")
check("Capability2: DELETE of a missing entity is a 404", status, 404)
status, _, _ = execute("POST", f"Things({deep})/Datastreams", {"name": "x", "description": "x",
                                                               "observationType": OM, "unitOfMeasurement": UOM,
                                                               "Sensor": {"@iot.id": sensor},
                                                               "ObservedProperty": {"@iot.id": prop}})
check("Capability2: a POST under a missing parent is a 404 (or 400)", status in (400, 404), True)

finish()
