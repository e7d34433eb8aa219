#!/usr/bin/env python3
"""The MultiDatastream extension of SensorThings (OGC 18-088, 14.2 "MultiDatastream
extension"), asked of a SensorThings endpoint: what FraunhoferIOSB/ets-sta10's
multiDatastreamExtension/MultiDatastreamTests checks, and what the standard adds.

A MultiDatastream groups Observations whose result is an array, one value per
ObservedProperty: its properties name, description, observationType (always
OM_ComplexObservation), multiObservationDataTypes (one per ObservedProperty),
unitOfMeasurements (one per ObservedProperty), properties; its navigations Thing, Sensor,
ObservedProperties (ordered, the order of the result's values) and Observations. An
Observation belongs to a Datastream or to a MultiDatastream, never both. The checks are
written from what the suite and the standard say, not from the suite's code; the fixtures
are the suite's (four MultiDatastreams with one or two ObservedProperties, in either order,
one with the same ObservedProperty twice).

Where the standard is silent, this script expects: a MultiDatastream whose
multiObservationDataTypes, unitOfMeasurements and ObservedProperties differ in number is a
400; an observationType other than OM_ComplexObservation is a 400; an Observation of a
MultiDatastream reads with no Datastream (absent or null in $expand).

Usage: sta_multidatastream.py BASE_URL TOKEN, against an empty store and a server that
takes writes with that token. Prints TAP lines ("ok N - ..."), exits 1 on a failure. Each
part runs on its own: a server without MultiDatastreams fails its checks, not the script.
"""
import traceback

from sta_http import OM, UOM, body_of, execute, get, status_of, try_create, values
from sta_tap import check, finish

COMPLEX = OM + "OM_ComplexObservation"
MEASUREMENT = OM + "OM_Measurement"
CELSIUS = {"name": "degree celsius", "symbol": "degC", "definition": "ucum:Cel"}
PERCENT = {"name": "percent", "symbol": "%", "definition": "ucum:%"}

ids = {}  # what the parts share: the ids of the fixtures


def srt(v):
    """A list sorted (numbers by value, anything else by its text), or v when it is not a
    list (a refused request's status), so that a check reports instead of raising."""
    if not isinstance(v, list):
        return v
    return sorted(v, key=lambda x: (0, x, "") if isinstance(x, (int, float)) else (1, 0, repr(x)))


def made(i):
    """An id from try_create, or -1 (an id no entity has) when nothing was made, so that the
    checks after compare with it and fail instead of matching another None."""
    return -1 if i is None else i


def lst(v):
    """v when it is a list, else [] (a refused request)."""
    return v if isinstance(v, list) else []


def part(name, fn):
    """Runs one part; an exception (a server that answers something unexpected) is one
    failed check naming it, and the other parts still run."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (any error is reported as a failed check)
        last = traceback.extract_tb(e.__traceback__)[-1]
        check(f"{name}: ran to its end", f"{type(e).__name__}: {e} (line {last.lineno})", "no error")


def mds(name, thing, sensor, props, uoms, types=None, **more):
    body = {"name": name, "description": f"the MultiDatastream {name}",
            "observationType": COMPLEX,
            "multiObservationDataTypes": types or [MEASUREMENT] * len(uoms),
            "unitOfMeasurements": uoms, "Thing": {"@iot.id": thing},
            "Sensor": {"@iot.id": sensor},
            "ObservedProperties": [{"@iot.id": p} for p in props]}
    body.update(more)
    return body


def obs(mds_id, result, time="2020-01-01T00:00:00Z"):
    return {"phenomenonTime": time, "result": result, "MultiDatastream": {"@iot.id": mds_id}}


# ======================= fixtures: the suite's Things, Sensors, ObservedProperties ==========
def fixtures():
    status, _, root = get("")
    names = [v.get("name") for v in root.get("value", [])] if isinstance(root, dict) else []
    check("the service root lists the MultiDatastreams entity set", "MultiDatastreams" in names, True)
    conf = (root.get("serverSettings") or {}).get("conformance", []) if isinstance(root, dict) else []
    check("serverSettings.conformance lists the multi-datastream requirement class",
          any(c.endswith("/req/multi-datastream") for c in conf), True)
    loc = try_create("Locations", {"name": "Location 1.0", "description": "Location of Thing 1",
                                   "encodingType": "application/geo+json",
                                   "location": {"type": "Point", "coordinates": [8, 51]}})
    ids["things"] = [try_create("Things", {"name": f"Thing {i}", "description": f"thing {i}",
                                           "Locations": [{"@iot.id": loc}]}) for i in (1, 2)]
    ids["sensors"] = [try_create("Sensors", {"name": f"Sensor {i}", "description": f"sensor {i}",
                                             "encodingType": "text/plain", "metadata": "m"})
                      for i in (1, 2)]
    ids["props"] = [try_create("ObservedProperties", {"name": n, "description": n,
                                                      "definition": f"http://example.org/{n}"})
                    for n in ("Temperature", "Humidity")]
    t, s, p = ids["things"], ids["sensors"], ids["props"]
    ids["ds"] = [try_create("Datastreams", {"name": f"Datastream {i + 1}", "description": "x",
                                            "observationType": MEASUREMENT, "unitOfMeasurement": UOM,
                                            "Thing": {"@iot.id": t[i]}, "Sensor": {"@iot.id": s[i]},
                                            "ObservedProperty": {"@iot.id": p[0]}}) for i in (0, 1)]
    ids["ds_obs"] = [try_create("Observations", {"phenomenonTime": "2020-01-01T00:00:00Z", "result": r,
                                                 "Datastream": {"@iot.id": ids["ds"][i]}})
                     for i, r in ((0, -1), (1, 0))]
    check("fixtures: Things, Sensors, ObservedProperties, Datastreams and their Observations made",
          None in t + s + p + ids["ds"] + ids["ds_obs"], False)


# ======================= testMultiDatastream: creating four =======================
def creating():
    t, s, p = ids["things"], ids["sensors"], ids["props"]
    ids["mds"] = [
        try_create("MultiDatastreams", mds("MultiDatastream 1", t[0], s[0], [p[0]], [CELSIUS])),
        try_create("MultiDatastreams", mds("MultiDatastream 2", t[0], s[0], [p[0], p[1]],
                                           [CELSIUS, PERCENT])),
        try_create("MultiDatastreams", mds("MultiDatastream 3", t[0], s[0], [p[1], p[0]],
                                           [PERCENT, CELSIUS])),
        try_create("MultiDatastreams", mds("MultiDatastream 4", t[0], s[1], [p[0], p[0]],
                                           [CELSIUS, CELSIUS], properties={"site": "roof"})),
    ]
    ids["mds"] = [made(i) for i in ids["mds"]]
    check("MultiDatastreamTests testMultiDatastream: four MultiDatastreams are made (201)",
          [i != -1 for i in ids["mds"]], [True] * 4)
    m = body_of(f"MultiDatastreams({ids['mds'][1]})")
    check("a MultiDatastream reads back with its properties",
          (m.get("name"), m.get("description"), m.get("observationType"),
           m.get("multiObservationDataTypes"), m.get("unitOfMeasurements")),
          ("MultiDatastream 2", "the MultiDatastream MultiDatastream 2", COMPLEX,
           [MEASUREMENT, MEASUREMENT], [CELSIUS, PERCENT]))
    check("a MultiDatastream has @iot.id, @iot.selfLink and the navigationLinks Thing, Sensor, "
          "ObservedProperties, Observations",
          sorted(k for k in ("@iot.id", "@iot.selfLink", "Thing@iot.navigationLink",
                             "Sensor@iot.navigationLink", "ObservedProperties@iot.navigationLink",
                             "Observations@iot.navigationLink") if k not in m), [])
    check("each navigationLink of a MultiDatastream resolves",
          [execute("GET", m[k])[0] for k in sorted(m) if k.endswith("@iot.navigationLink")]
          if m else None, [200] * 4)
    check("properties of a MultiDatastream read back",
          body_of(f"MultiDatastreams({ids['mds'][3]})").get("properties"), {"site": "roof"})
    check("MultiDatastreams(id)/unitOfMeasurements reads that property",
          body_of(f"MultiDatastreams({ids['mds'][2]})/unitOfMeasurements"),
          {"unitOfMeasurements": [PERCENT, CELSIUS]})
    check("MultiDatastreams(999999) is a 404", status_of("MultiDatastreams(999999)"), 404)


# ======================= invalid MultiDatastreams =======================
def invalid_mds():
    t, s, p = ids["things"], ids["sensors"], ids["props"]
    before = values("MultiDatastreams")
    for what, body in [
            ("two unitOfMeasurements for one ObservedProperty",
             mds("bad 1", t[0], s[0], [p[0]], [CELSIUS, PERCENT], types=[MEASUREMENT])),
            ("two multiObservationDataTypes for one ObservedProperty",
             mds("bad 2", t[0], s[0], [p[0]], [CELSIUS], types=[MEASUREMENT, MEASUREMENT])),
            ("two ObservedProperties for one unitOfMeasurement",
             mds("bad 3", t[0], s[0], [p[0], p[1]], [CELSIUS], types=[MEASUREMENT])),
            ("no ObservedProperties", mds("bad 4", t[0], s[0], [], [])),
            ("an observationType other than OM_ComplexObservation",
             mds("bad 5", t[0], s[0], [p[0]], [CELSIUS], observationType=MEASUREMENT)),
            ("no Thing", {k: v for k, v in mds("bad 6", t[0], s[0], [p[0]], [CELSIUS]).items()
                          if k != "Thing"}),
            ("no Sensor", {k: v for k, v in mds("bad 7", t[0], s[0], [p[0]], [CELSIUS]).items()
                           if k != "Sensor"}),
            ("no unitOfMeasurements",
             {k: v for k, v in mds("bad 8", t[0], s[0], [p[0]], [CELSIUS]).items()
              if k != "unitOfMeasurements"}),
            ("a link to an ObservedProperty that does not exist",
             mds("bad 9", t[0], s[0], [999999], [CELSIUS]))]:
        check(f"a MultiDatastream with {what} is a 400",
              execute("POST", "MultiDatastreams", body)[0], 400)
    check("... and none of them was made", values("MultiDatastreams"), before)


# ======================= testObservationInMultiDatastream =======================
def observations():
    m = ids["mds"]
    rows = [(0, [1]), (0, [2]), (0, [3]), (1, [4, 1]), (1, [5, 2]), (1, [6, 3]),
            (2, [7, 4]), (2, [8, 5]), (2, [9, 6]), (3, [10, 7]), (3, [11, 8]), (3, [12, 9])]
    ids["obs"] = [made(try_create("Observations", obs(m[k], r, f"2020-01-0{1 + n % 3}T00:00:00Z")))
                  for n, (k, r) in enumerate(rows)]
    check("MultiDatastreamTests testObservationInMultiDatastream: twelve Observations with "
          "array results are made", [i != -1 for i in ids["obs"]], [True] * 12)
    check("an Observation of a MultiDatastream reads back its array result",
          body_of(f"Observations({ids['obs'][3]})").get("result"), [4, 1])
    for k, want in enumerate([[[1], [2], [3]], [[4, 1], [5, 2], [6, 3]], [[7, 4], [8, 5], [9, 6]],
                              [[10, 7], [11, 8], [12, 9]]]):
        check(f"testFetchObservationsByMultiDatastream: MultiDatastreams(id)/Observations of "
              f"MultiDatastream {k + 1}",
              values(f"MultiDatastreams({m[k]})/Observations", "result", orderby="phenomenonTime"),
              want)
    check("testObservations: all Observations are listed (2 of Datastreams, 12 of "
          "MultiDatastreams)", srt(values("Observations")), srt(ids["ds_obs"] + ids["obs"]))
    # POST to the navigation collection links the new Observation to that MultiDatastream
    status, hdrs, _ = execute("POST", f"MultiDatastreams({m[1]})/Observations",
                              {"phenomenonTime": "2020-02-01T00:00:00Z", "result": [40, 41]})
    check("a POST to MultiDatastreams(id)/Observations links the Observation to it",
          (status, values(f"MultiDatastreams({m[1]})/Observations", "result",
                          filter="phenomenonTime eq 2020-02-01T00:00:00Z")), (201, [[40, 41]]))
    loc = hdrs.get("Location", "") if hdrs else ""
    if "(" in loc:
        execute("DELETE", loc)


# ======================= testObservationInMultiDatastreamIncorrect =======================
def invalid_observations():
    m, d = ids["mds"], ids["ds"]
    before = values("Observations")
    for what, body in [
            ("a result that is not an array", obs(m[1], 1)),
            ("two values in a MultiDatastream of one ObservedProperty", obs(m[0], [1, 2])),
            ("one value in a MultiDatastream of two ObservedProperties", obs(m[1], [1])),
            ("both a Datastream and a MultiDatastream",
             dict(obs(m[0], [1]), Datastream={"@iot.id": d[0]})),
            ("a MultiDatastream that does not exist", obs(999999, [1]))]:
        check(f"testObservationInMultiDatastreamIncorrect: an Observation with {what} is a 400",
              execute("POST", "Observations", body)[0], 400)
    check("... and none of them was made", srt(values("Observations")), srt(before))


# ======================= links: Things, Sensors, ObservedProperties, Observations ==========
def links():
    t, s, p, m, d = ids["things"], ids["sensors"], ids["props"], ids["mds"], ids["ds"]
    check("testJson: Things, Sensors and ObservedProperties have MultiDatastreams navigationLinks",
          [all("MultiDatastreams@iot.navigationLink" in e for e in body_of(es).get("value", [{}]))
           for es in ("Things", "Sensors", "ObservedProperties")], [True] * 3)
    check("testJson: an Observation of a MultiDatastream has a MultiDatastream navigationLink",
          "MultiDatastream@iot.navigationLink" in body_of(f"Observations({ids['obs'][0]})"), True)
    check("testMultiDatastreamThings: Thing 1's Datastreams and MultiDatastreams",
          (values(f"Things({t[0]})/Datastreams"), srt(values(f"Things({t[0]})/MultiDatastreams"))),
          ([d[0]], srt(lst(m))))
    check("Thing 2 has no MultiDatastreams", values(f"Things({t[1]})/MultiDatastreams"), [])
    check("testMultiDatastreamSensors: Sensor 1's Datastreams and MultiDatastreams",
          (values(f"Sensors({s[0]})/Datastreams"), srt(values(f"Sensors({s[0]})/MultiDatastreams"))),
          ([d[0]], srt(m[:3])))
    check("testMultiDatastreamObservedProperties1: ObservedProperty 1's Datastreams and "
          "MultiDatastreams",
          (srt(values(f"ObservedProperties({p[0]})/Datastreams")),
           srt(values(f"ObservedProperties({p[0]})/MultiDatastreams"))), (srt(d), srt(m)))
    check("testMultiDatastreamObservedProperties2: ObservedProperty 2 is in MultiDatastreams 2 "
          "and 3 only", (values(f"ObservedProperties({p[1]})/Datastreams"),
                         srt(values(f"ObservedProperties({p[1]})/MultiDatastreams"))),
          ([], srt(m[1:3])))
    check("MultiDatastreams(id)/Thing and /Sensor",
          (body_of(f"MultiDatastreams({m[3]})/Thing").get("@iot.id"),
           body_of(f"MultiDatastreams({m[3]})/Sensor").get("@iot.id")), (t[0], s[1]))
    o = body_of(f"Observations({ids['ds_obs'][0]})", expand="Datastream,MultiDatastream")
    check("testObservationLinks1: an Observation of a Datastream has that Datastream and no "
          "MultiDatastream",
          ((o.get("Datastream") or {}).get("@iot.id"), o.get("MultiDatastream")), (d[0], None))
    o = body_of(f"Observations({ids['obs'][0]})", expand="Datastream,MultiDatastream")
    check("testObservationLinks2: an Observation of a MultiDatastream has it and no Datastream",
          ((o.get("MultiDatastream") or {}).get("@iot.id"), o.get("Datastream")), (m[0], None))
    check("Observations(id)/MultiDatastream reads the MultiDatastream",
          body_of(f"Observations({ids['obs'][4]})/MultiDatastream").get("@iot.id"), m[1])


# ======================= testObservedPropertyOrder =======================
def order():
    p, m = ids["props"], ids["mds"]
    for k, want in enumerate([[p[0]], [p[0], p[1]], [p[1], p[0]], [p[0], p[0]]]):
        check(f"testObservedPropertyOrder: MultiDatastreams(id)/ObservedProperties of "
              f"MultiDatastream {k + 1} in the order given",
              values(f"MultiDatastreams({m[k]})/ObservedProperties"), want)
    got = body_of(f"MultiDatastreams({m[2]})", expand="ObservedProperties")
    check("$expand=ObservedProperties keeps their order",
          [x.get("@iot.id") for x in got.get("ObservedProperties", [])], [p[1], p[0]])
    got = body_of("Things", filter=f"id eq {ids['things'][0]}",
                  expand="MultiDatastreams($orderby=name;$expand=ObservedProperties($select=name))")
    v = (got.get("value") or [{}])[0]
    check("$expand of Things' MultiDatastreams with their ObservedProperties (names in order)",
          [[o.get("name") for o in x.get("ObservedProperties", [])] for x in v.get("MultiDatastreams", [])],
          [["Temperature"], ["Temperature", "Humidity"], ["Humidity", "Temperature"],
           ["Temperature", "Temperature"]])


# ======================= updates =======================
def updates():
    p, m, d = ids["props"], ids["mds"], ids["ds"]
    status, _, _ = execute("PATCH", f"Observations({ids['ds_obs'][0]})",
                           {"MultiDatastream": {"@iot.id": m[0]}})
    check("testIncorrectObservation: giving an Observation of a Datastream a MultiDatastream "
          "too is a 400", status, 400)
    check("... and it still has its Datastream",
          body_of(f"Observations({ids['ds_obs'][0]})/Datastream").get("@iot.id"), d[0])
    status, _, _ = execute("PATCH", f"ObservedProperties({p[1]})",
                           {"MultiDatastreams": [{"@iot.id": m[0]}]})
    check("testIncorrectObservedProperty: linking a MultiDatastream from an ObservedProperty "
          "is a 400", status, 400)
    check("... and MultiDatastream 1 still has one ObservedProperty",
          values(f"MultiDatastreams({m[0]})/ObservedProperties"), [p[0]])
    status, _, _ = execute("PATCH", f"MultiDatastreams({m[3]})",
                           {"description": "patched", "properties": {"site": "cellar"}})
    got = body_of(f"MultiDatastreams({m[3]})")
    check("PATCH of a MultiDatastream changes the given members and keeps the others",
          (status, got.get("description"), got.get("properties"), got.get("name"),
           got.get("unitOfMeasurements")),
          (200, "patched", {"site": "cellar"}, "MultiDatastream 4", [CELSIUS, CELSIUS]))
    status, _, _ = execute("PATCH", f"MultiDatastreams({m[3]})", {"unitOfMeasurements": [CELSIUS]})
    check("PATCH of unitOfMeasurements to another number of units than ObservedProperties is a 400",
          (status, body_of(f"MultiDatastreams({m[3]})").get("unitOfMeasurements")),
          (400, [CELSIUS, CELSIUS]))
    status, _, _ = execute("PATCH", f"Observations({ids['obs'][3]})", {"result": [44, 11]})
    check("PATCH of an Observation's array result",
          (status, body_of(f"Observations({ids['obs'][3]})").get("result")), (200, [44, 11]))
    status, _, _ = execute("PATCH", f"Observations({ids['obs'][3]})", {"result": [1, 2, 3]})
    check("PATCH of an Observation's result to an array of another length is a 400",
          (status, body_of(f"Observations({ids['obs'][3]})").get("result")), (400, [44, 11]))
    execute("PATCH", f"Observations({ids['obs'][3]})", {"result": [4, 1]})
    status, _, _ = execute("PUT", f"MultiDatastreams({m[3]})", mds(
        "MultiDatastream 4", ids["things"][0], ids["sensors"][1], [p[0], p[0]], [CELSIUS, CELSIUS]))
    got = body_of(f"MultiDatastreams({m[3]})")
    check("PUT of a MultiDatastream replaces it: the description given, properties reset",
          (status, got.get("description"), got.get("properties")),
          (200, "the MultiDatastream MultiDatastream 4", None))


# ======================= filters through MultiDatastream paths =======================
def filters():
    m, t, p = ids["mds"], ids["things"], ids["props"]
    check("Observations filtered on MultiDatastream/name",
          srt(values("Observations", "result", filter="MultiDatastream/name eq 'MultiDatastream 3'")),
          [[7, 4], [8, 5], [9, 6]])
    check("Observations filtered on MultiDatastream/id",
          len(lst(values("Observations", filter=f"MultiDatastream/id eq {m[0]}"))), 3)
    check("MultiDatastreams filtered on ObservedProperties/name",
          srt(values("MultiDatastreams", "name", filter="ObservedProperties/name eq 'Humidity'")),
          ["MultiDatastream 2", "MultiDatastream 3"])
    check("MultiDatastreams filtered on Sensor/name",
          values("MultiDatastreams", "name", filter="Sensor/name eq 'Sensor 2'"), ["MultiDatastream 4"])
    check("Things filtered on MultiDatastreams/name",
          values("Things", "name", filter="MultiDatastreams/name eq 'MultiDatastream 2'"), ["Thing 1"])
    check("ObservedProperties filtered through MultiDatastreams/Observations",
          srt(values("ObservedProperties", "name",
                        filter="MultiDatastreams/name eq 'MultiDatastream 3'")), ["Humidity", "Temperature"])
    check("MultiDatastreams filtered, ordered and counted",
          (lambda b: (b.get("@iot.count"), [x.get("name") for x in b.get("value", [])]))(
              body_of("MultiDatastreams", filter=f"Thing/id eq {t[0]}", orderby="name desc", count="true",
                      top="2")),
          (4, ["MultiDatastream 4", "MultiDatastream 3"]))
    check("$select of MultiDatastream properties",
          srt(list(body_of(f"MultiDatastreams({m[0]})", select="name,unitOfMeasurements"))),
          ["name", "unitOfMeasurements"])
    check("Observations filtered on result[0] (an index into the array result)",
          srt(values(f"MultiDatastreams({m[1]})/Observations", "result", filter="result[0] gt 4")),
          [[5, 2], [6, 3]])
    status, _, got = get(f"Observations({ids['obs'][3]})/result[0]")
    check("testJson: Observations(id)/result[0] is {\"result[0]\": 4}", (status, got),
          (200, {"result[0]": 4}))
    check("Datastreams are not affected: Datastream/name filters still find their Observations",
          values("Observations", "result", filter="Datastream/name eq 'Datastream 1'"), [-1])
    check("ObservedProperty 2's MultiDatastreams through $expand",
          srt([x.get("name") for x in body_of(f"ObservedProperties({p[1]})",
                                                 expand="MultiDatastreams").get("MultiDatastreams", [])]),
          ["MultiDatastream 2", "MultiDatastream 3"])


# ======================= deep insert =======================
def deep_insert():
    status, hdrs, _ = execute("POST", "Things", {
        "name": "Deep Thing", "description": "made with a MultiDatastream",
        # its Observations' FeatureOfInterest is made from its Location
        "Locations": [{"name": "Deep place", "description": "d", "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [8, 51]}}],
        "MultiDatastreams": [{
            "name": "Deep MultiDatastream", "description": "deep", "observationType": COMPLEX,
            "multiObservationDataTypes": [MEASUREMENT, MEASUREMENT],
            "unitOfMeasurements": [CELSIUS, PERCENT],
            "Sensor": {"name": "Deep Sensor", "description": "new", "encodingType": "text/plain",
                       "metadata": "m"},
            "ObservedProperties": [
                {"name": "Deep Temperature", "description": "new", "definition": "http://x/dt"},
                {"@iot.id": ids["props"][1]}],
            "Observations": [{"phenomenonTime": "2021-01-01T00:00:00Z", "result": [20, 55]},
                             {"phenomenonTime": "2021-01-01T01:00:00Z", "result": [21, 56]}]}]})
    check("deep insert: a Thing with a MultiDatastream, its new Sensor, a new and a linked "
          "ObservedProperty, and Observations: 201", status, 201)
    loc = hdrs.get("Location", "") if hdrs else ""
    thing = int(loc[loc.rfind("(") + 1:loc.rfind(")")]) if "(" in loc else -1
    got = body_of(f"Things({thing})", expand="MultiDatastreams($expand=Sensor,ObservedProperties,"
                  "Observations($orderby=phenomenonTime))")
    md = (got.get("MultiDatastreams") or [{}])[0]
    check("deep insert: the MultiDatastream has its Sensor, ObservedProperties in order, "
          "Observations",
          (md.get("name"), (md.get("Sensor") or {}).get("name"),
           [o.get("name") for o in md.get("ObservedProperties", [])],
           [o.get("result") for o in md.get("Observations", [])]),
          ("Deep MultiDatastream", "Deep Sensor", ["Deep Temperature", "Humidity"], [[20, 55], [21, 56]]))
    ids["deep_thing"] = thing
    ids["deep_mds"] = made(md.get("@iot.id"))
    status, _, _ = execute("POST", "MultiDatastreams", mds(
        "Deep bad", ids["things"][0], ids["sensors"][0], [ids["props"][0]], [CELSIUS],
        Observations=[{"phenomenonTime": "2021-01-01T00:00:00Z", "result": [1, 2]}]))
    check("deep insert of an Observation whose result does not fit is a 400, and makes nothing",
          (status, values("MultiDatastreams", filter="name eq 'Deep bad'")), (400, []))
    status, _, _ = execute("POST", "Things", {
        "name": "Deep bad Thing", "description": "x",
        "MultiDatastreams": [{"name": "no sensor", "description": "x", "observationType": COMPLEX,
                              "multiObservationDataTypes": [MEASUREMENT], "unitOfMeasurements": [CELSIUS],
                              "ObservedProperties": [{"@iot.id": ids["props"][0]}]}]})
    check("deep insert of a MultiDatastream without its Sensor is a 400, and makes no Thing",
          (status, values("Things", filter="name eq 'Deep bad Thing'")), (400, []))


# ======================= dataArray =======================
def data_array():
    m = ids["mds"]
    status, _, links = execute("POST", "CreateObservations", [{
        "MultiDatastream": {"@iot.id": m[1]},
        "components": ["phenomenonTime", "result"],
        "dataArray": [["2022-01-01T00:00:00Z", [30, 60]], ["2022-01-01T01:00:00Z", [31, 61]]]}])
    check("DataArray: CreateObservations of a MultiDatastream: 201 and one selfLink per row",
          (status, len(links) if isinstance(links, list) else links), (201, 2))
    check("... the Observations are the MultiDatastream's",
          values(f"MultiDatastreams({m[1]})/Observations", "result",
                 filter="phenomenonTime ge 2022-01-01T00:00:00Z", orderby="phenomenonTime"),
          [[30, 60], [31, 61]])
    status, _, links = execute("POST", "CreateObservations", [{
        "MultiDatastream": {"@iot.id": m[1]}, "components": ["phenomenonTime", "result"],
        "dataArray": [["2022-02-01T00:00:00Z", [1]]]}])
    # OGC 18-088 14.4: the answer has one line per row, "error" for a row not written
    check("DataArray: a row whose result does not fit the MultiDatastream is refused (its line "
          "an error, nothing written)",
          isinstance(links, list) and str(links[0]).startswith("error")
          and values(f"MultiDatastreams({m[1]})/Observations",
                     filter="phenomenonTime eq 2022-02-01T00:00:00Z") == [], True)
    got = body_of(f"MultiDatastreams({m[1]})/Observations", resultFormat="dataArray",
                  filter="phenomenonTime ge 2022-01-01T00:00:00Z", orderby="phenomenonTime",
                  select="phenomenonTime,result")
    v = (got.get("value") or [{}])[0]
    check("DataArray: GET of a MultiDatastream's Observations as a dataArray",
          (v.get("components"), v.get("dataArray")),
          (["phenomenonTime", "result"], [["2022-01-01T00:00:00Z", [30, 60]],
                                          ["2022-01-01T01:00:00Z", [31, 61]]]))
    got = body_of("Observations", resultFormat="dataArray", filter=f"MultiDatastream/id eq {m[1]}",
                  select="result")
    check("DataArray: Observations of a MultiDatastream are grouped under its navigationLink",
          [x.get("MultiDatastream@iot.navigationLink", "").endswith(f"MultiDatastreams({m[1]})")
           for x in got.get("value", [{}])], [True])


# ======================= deletes (testDeleteObservedProperty, testDeleteSensor, testDeleteThing)
def deletes():
    m, p, s, t = ids["mds"], ids["props"], ids["sensors"], ids["things"]
    obs_of = {k: lst(values(f"MultiDatastreams({m[k]})/Observations")) for k in range(4)}
    dm = ids.get("deep_mds")
    deep_obs = values(f"MultiDatastreams({dm})/Observations") if dm else []
    status, _, _ = execute("DELETE", f"MultiDatastreams({dm})")
    check("DELETE of a MultiDatastream: 200, it is gone, its Observations too, its Thing stays",
          (status, status_of(f"MultiDatastreams({dm})"),
           [status_of(f"Observations({i})") for i in deep_obs] if isinstance(deep_obs, list) else deep_obs,
           status_of(f"Things({ids.get('deep_thing')})")), (200, 404, [404, 404], 200))
    status, _, _ = execute("DELETE", f"ObservedProperties({p[1]})")
    check("testDeleteObservedProperty: deleting ObservedProperty 2 deletes MultiDatastreams 2 "
          "and 3", (status, srt(values("MultiDatastreams", filter=f"Thing/id eq {t[0]}"))),
          (200, srt([m[0], m[3]])))
    check("... and their Observations, and only those",
          ([status_of(f"Observations({i})") for i in obs_of[1] + obs_of[2]],
           [status_of(f"Observations({i})") for i in obs_of[0] + obs_of[3] + ids["ds_obs"]]),
          ([404] * len(obs_of[1] + obs_of[2]), [200] * 8))
    status, _, _ = execute("DELETE", f"Sensors({s[1]})")
    check("testDeleteSensor: deleting Sensor 2 deletes MultiDatastream 4 (and Datastream 2)",
          (status, values("MultiDatastreams", filter=f"Thing/id eq {t[0]}"),
           status_of(f"Datastreams({ids['ds'][1]})")), (200, [m[0]], 404))
    status, _, _ = execute("DELETE", f"Things({t[0]})")
    check("testDeleteThing: deleting Thing 1 deletes the last MultiDatastream and its "
          "Observations",
          (status, values("MultiDatastreams", filter=f"id eq {m[0]}"),
           [status_of(f"Observations({i})") for i in obs_of[0]]), (200, [], [404] * 3))
    check("the ObservedProperty and Sensor of deleted MultiDatastreams stay",
          (status_of(f"ObservedProperties({p[0]})"), status_of(f"Sensors({s[0]})")), (200, 200))


for name, fn in [("fixtures", fixtures), ("creating", creating), ("invalid MultiDatastreams", invalid_mds),
                 ("Observations", observations), ("invalid Observations", invalid_observations),
                 ("links", links), ("ObservedProperties order", order), ("updates", updates),
                 ("filters", filters), ("deep insert", deep_insert), ("dataArray", data_array),
                 ("deletes", deletes)]:
    part(name, fn)
finish()
