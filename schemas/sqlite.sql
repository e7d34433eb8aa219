-- insitu store schema for SQLite + SpatiaLite.
-- Sections start with "-- @version N": a store at version V runs every section N > V, in
-- order, in one transaction, then records N in insitu_meta. Never edit a released section:
-- add a new one (a migration).
-- Times are int64 microseconds since 1970-01-01T00:00:00Z (UTC). Geometries are EPSG:4326,
-- kept twice: the GeoJSON as given (with any Z) and a 2-D SpatiaLite geometry for indexing.

-- @version 1
CREATE TABLE IF NOT EXISTS insitu_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

SELECT CASE WHEN (SELECT count(*) FROM sqlite_master WHERE name = 'spatial_ref_sys') = 0
            THEN InitSpatialMetadata(0, 'WGS84') END;

-- Thing: a station, site, SWOT reach/node, lake or virtual station.
CREATE TABLE things (
    id          INTEGER PRIMARY KEY,
    namespace   TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    UNIQUE (namespace, code)
);
CREATE INDEX things_name ON things (name);

CREATE TABLE locations (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,   -- thing id + canonical GeoJSON
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    encoding_type TEXT NOT NULL DEFAULT 'application/geo+json',
    location      TEXT,                   -- GeoJSON as given; NULL: the geom's (from WKB)
    properties    TEXT
);
SELECT AddGeometryColumn('locations', 'geom', 4326, 'GEOMETRY', 'XY', 1);
SELECT CreateSpatialIndex('locations', 'geom');

CREATE TABLE thing_locations (
    thing_id    INTEGER NOT NULL REFERENCES things (id) ON DELETE CASCADE,
    location_id INTEGER NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    PRIMARY KEY (thing_id, location_id)
) WITHOUT ROWID;
CREATE INDEX thing_locations_location ON thing_locations (location_id);

CREATE TABLE historical_locations (
    id       INTEGER PRIMARY KEY,
    thing_id INTEGER NOT NULL REFERENCES things (id) ON DELETE CASCADE,
    time     INTEGER NOT NULL
);
CREATE INDEX historical_locations_thing ON historical_locations (thing_id, time);

CREATE TABLE historical_location_locations (
    historical_location_id INTEGER NOT NULL REFERENCES historical_locations (id) ON DELETE CASCADE,
    location_id            INTEGER NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    PRIMARY KEY (historical_location_id, location_id)
) WITHOUT ROWID;

-- Sensor: an instrument, a method, or a product ("SWOT L2_HR_RiverSP").
CREATE TABLE sensors (
    id            INTEGER PRIMARY KEY,
    namespace     TEXT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    encoding_type TEXT NOT NULL DEFAULT 'text/plain',
    metadata      TEXT NOT NULL DEFAULT '',
    properties    TEXT,
    UNIQUE (namespace, code)
);

-- ObservedProperty: keyed by (definition, name), because thesaurus categories used as
-- definitions (Theia/OZCAR) are shared by several variables.
CREATE TABLE observed_properties (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    UNIQUE (definition, name)
);

CREATE TABLE datastreams (
    id                   INTEGER PRIMARY KEY,
    thing_id             INTEGER NOT NULL REFERENCES things (id) ON DELETE CASCADE,
    sensor_id            INTEGER NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    observed_property_id INTEGER NOT NULL REFERENCES observed_properties (id) ON DELETE CASCADE,
    qualifier            TEXT NOT NULL DEFAULT '',
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    observation_type     TEXT NOT NULL
        DEFAULT 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement',
    unit_name            TEXT NOT NULL DEFAULT '',
    unit_symbol          TEXT NOT NULL DEFAULT '',
    unit_definition      TEXT NOT NULL DEFAULT '',
    properties           TEXT,
    -- summary, maintained by every write: answers $count and "latest" without a scan
    n_obs                INTEGER NOT NULL DEFAULT 0,
    phenomenon_start     INTEGER,
    phenomenon_end       INTEGER,
    result_time_start    INTEGER,
    result_time_end      INTEGER,
    UNIQUE (thing_id, observed_property_id, sensor_id, qualifier)
);
CREATE INDEX datastreams_property ON datastreams (observed_property_id);
CREATE INDEX datastreams_sensor ON datastreams (sensor_id);

CREATE TABLE features (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,   -- canonical GeoJSON, or a source id
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    encoding_type TEXT NOT NULL DEFAULT 'application/geo+json',
    feature       TEXT,                   -- GeoJSON as given; NULL: the geom's (from WKB)
    properties    TEXT
);
SELECT AddGeometryColumn('features', 'geom', 4326, 'GEOMETRY', 'XY', 1);
SELECT CreateSpatialIndex('features', 'geom');

-- Observation: clustered by (datastream, phenomenon start) so that a series is one range
-- scan. No foreign key on datastream_id: the writer guarantees it, and a per-row check
-- would halve bulk ingest speed. run_id is the ingest run that last wrote the row.
CREATE TABLE observations (
    datastream_id    INTEGER NOT NULL,
    phenomenon_start INTEGER NOT NULL,
    phenomenon_end   INTEGER,             -- NULL for an instant
    id               INTEGER NOT NULL,
    result_time      INTEGER,
    result           REAL,                -- NULL: missing (fill value, NaN, empty)
    result_json      TEXT,                -- a non-numeric result, as JSON
    result_quality   TEXT,
    parameters       TEXT,                -- JSON object
    feature_id       INTEGER,
    valid_start      INTEGER,
    valid_end        INTEGER,
    run_id           INTEGER,
    PRIMARY KEY (datastream_id, phenomenon_start)
) WITHOUT ROWID;
CREATE UNIQUE INDEX observations_id ON observations (id);

-- Provenance: one row per ingest attempt.
CREATE TABLE ingest_runs (
    id             INTEGER PRIMARY KEY,
    source         TEXT NOT NULL,         -- as given (path or URL)
    source_key     TEXT NOT NULL,         -- identity of the source across versions
    source_version TEXT NOT NULL DEFAULT '',
    ingester       TEXT NOT NULL,
    checksum       TEXT NOT NULL DEFAULT '',
    bytes          INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL,         -- running, complete, skipped, failed
    started        INTEGER NOT NULL,
    finished       INTEGER,
    n_things       INTEGER NOT NULL DEFAULT 0,
    n_datastreams  INTEGER NOT NULL DEFAULT 0,
    n_observations INTEGER NOT NULL DEFAULT 0,
    n_inserted     INTEGER NOT NULL DEFAULT 0,
    n_updated      INTEGER NOT NULL DEFAULT 0,
    n_deleted      INTEGER NOT NULL DEFAULT 0,
    n_null         INTEGER NOT NULL DEFAULT 0,
    replaces_run   INTEGER,
    message        TEXT NOT NULL DEFAULT '',
    settings       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ingest_runs_source ON ingest_runs (source_key, status);
CREATE INDEX ingest_runs_checksum ON ingest_runs (checksum);

-- What each run wrote, per datastream: lets a newer version of a source replace exactly
-- the rows of the older one.
CREATE TABLE run_datastreams (
    run_id            INTEGER NOT NULL,
    datastream_id     INTEGER NOT NULL,
    n_obs             INTEGER NOT NULL,  -- rows the run wrote
    n_inserted        INTEGER NOT NULL,  -- of which new
    n_updated         INTEGER NOT NULL,  -- of which rewritten
    phenomenon_start  INTEGER NOT NULL,  -- first phenomenon start written
    phenomenon_last   INTEGER NOT NULL,  -- last phenomenon start written
    phenomenon_end    INTEGER NOT NULL,  -- last phenomenon end (or start) written
    result_time_start INTEGER,
    result_time_end   INTEGER,
    PRIMARY KEY (run_id, datastream_id)
) WITHOUT ROWID;
CREATE INDEX run_datastreams_ds ON run_datastreams (datastream_id);

-- @version 2
-- The spatial indexes' insert and update triggers write the R*Tree row directly from the
-- geometry blob's MBR. SpatiaLite's own call RTreeAlign(), which formats and compiles an
-- INSERT statement for every row (a third of the cost of writing a new reach's Location and
-- Feature); SQLite's R*Tree rounds the box outwards itself. Same names, so SpatiaLite's
-- DisableSpatialIndex and RecoverSpatialIndex still find them.
DROP TRIGGER IF EXISTS gii_locations_geom;
DROP TRIGGER IF EXISTS giu_locations_geom;
DROP TRIGGER IF EXISTS gii_features_geom;
DROP TRIGGER IF EXISTS giu_features_geom;
CREATE TRIGGER gii_locations_geom AFTER INSERT ON locations FOR EACH ROW
WHEN NEW.geom IS NOT NULL BEGIN
    INSERT OR REPLACE INTO idx_locations_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;
CREATE TRIGGER giu_locations_geom AFTER UPDATE OF geom ON locations FOR EACH ROW BEGIN
    DELETE FROM idx_locations_geom WHERE pkid = OLD.ROWID;
    INSERT OR REPLACE INTO idx_locations_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;
CREATE TRIGGER gii_features_geom AFTER INSERT ON features FOR EACH ROW
WHEN NEW.geom IS NOT NULL BEGIN
    INSERT OR REPLACE INTO idx_features_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;
CREATE TRIGGER giu_features_geom AFTER UPDATE OF geom ON features FOR EACH ROW BEGIN
    DELETE FROM idx_features_geom WHERE pkid = OLD.ROWID;
    INSERT OR REPLACE INTO idx_features_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;

-- @version 3
-- Texts that repeat are kept once: obs_texts holds each such resultQuality or parameters
-- text, and an observation refers to it by id (quality_id, parameters_id) instead of
-- holding it (result_quality, parameters stay for texts of one row: a THEIA pivot's extra
-- columns, a raster sample's pixel, and the rows written before version 3). A SWOT
-- product gives every row the same parameters (cycle, pass, CRID...) and each reach's 15
-- rows the same quality flags; a gauge's flags are a handful of words. The texts were 160
-- of a SWOT row's ~212 bytes, and every pass rewrites the last page of each series it
-- extends: narrower rows are fewer pages to write (docs/performance.md). Adding the
-- columns rewrites nothing. observations_text shows each row with its texts.
CREATE TABLE obs_texts (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
ALTER TABLE observations ADD COLUMN quality_id INTEGER;
ALTER TABLE observations ADD COLUMN parameters_id INTEGER;
CREATE VIEW observations_text AS
    SELECT o.datastream_id, o.phenomenon_start, o.phenomenon_end, o.id, o.result_time,
           o.result, o.result_json, coalesce(o.result_quality, q.text) AS result_quality,
           coalesce(o.parameters, p.text) AS parameters, o.feature_id, o.valid_start,
           o.valid_end, o.run_id
    FROM observations o LEFT JOIN obs_texts q ON q.id = o.quality_id
         LEFT JOIN obs_texts p ON p.id = o.parameters_id;

-- @version 4
-- What makes two ingests the same: a run records the file name of its source when what it
-- wrote depends on it (a CSV station named after its file, a raster's date or name in its
-- samples), '' when it does not; rows of older versions are NULL (not known: only the same
-- source is the same). Content already ingested under another name is skipped only when the
-- names agree or do not matter, and only while that run is in force (not replaced since).
ALTER TABLE ingest_runs ADD COLUMN source_name TEXT;
CREATE INDEX ingest_runs_replaces ON ingest_runs (replaces_run);

-- @version 5
-- Issue 15, "SensorThings without gaps": a POST creates an entity, and an id is never given
-- to a second entity.
-- * observed_properties.key: '' for the properties ingesters write, which merge by
--   (definition, name) so that a re-ingest is idempotent; a random 'sta:<128 bits>' for one
--   created through the SensorThings API, which is a new entity even when another has its
--   definition and name. The unique key is (definition, name, key).
-- * observations.seq: the key is (datastream_id, phenomenon_start, seq). Ingesters write
--   seq 0 and replace the row of their key, as before; an Observation created through the
--   API at a start its Datastream already has takes the next free seq instead of replacing
--   the stored one (two replicate samples, 06:00 and 06:00/06:59). A series is still one
--   range of the key, in (start, seq) order.
-- * AUTOINCREMENT on the entity tables: without it SQLite gives a new row the largest id
--   plus one, so deleting the newest Thing would give its id to the next one, and a
--   client's cached id would come to mean another entity. Observations are numbered by the
--   store (src/store_sqlite.c): the largest id it ever gave is kept in sqlite_sequence
--   under 'observations', as AUTOINCREMENT keeps those of the tables.
-- SQLite changes neither a primary key, nor a UNIQUE constraint, nor AUTOINCREMENT in
-- place: each table is rebuilt (made anew, its rows copied with their ids, the old one
-- dropped, the new one renamed). The backend runs a migration with foreign keys off (a
-- dropped parent would otherwise take its children with it) and checks them before it
-- commits. Locations and features hold SpatiaLite geometry columns: their registration,
-- triggers and R*Tree are removed first and made again after the rebuild (then the
-- triggers of version 2 again). On a store of 10M observations the rebuild takes about as
-- long as ingesting them again (docs/performance.md).
DROP VIEW observations_text;

CREATE TABLE things_v5 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace   TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    UNIQUE (namespace, code)
);
INSERT INTO things_v5 (id, namespace, code, name, description, properties)
    SELECT id, namespace, code, name, description, properties FROM things;
DROP TABLE things;
ALTER TABLE things_v5 RENAME TO things;
CREATE INDEX things_name ON things (name);

CREATE TABLE historical_locations_v5 (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    thing_id INTEGER NOT NULL REFERENCES things (id) ON DELETE CASCADE,
    time     INTEGER NOT NULL
);
INSERT INTO historical_locations_v5 (id, thing_id, time)
    SELECT id, thing_id, time FROM historical_locations;
DROP TABLE historical_locations;
ALTER TABLE historical_locations_v5 RENAME TO historical_locations;
CREATE INDEX historical_locations_thing ON historical_locations (thing_id, time);

CREATE TABLE sensors_v5 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace     TEXT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    encoding_type TEXT NOT NULL DEFAULT 'text/plain',
    metadata      TEXT NOT NULL DEFAULT '',
    properties    TEXT,
    UNIQUE (namespace, code)
);
INSERT INTO sensors_v5 (id, namespace, code, name, description, encoding_type, metadata,
                        properties)
    SELECT id, namespace, code, name, description, encoding_type, metadata, properties
    FROM sensors;
DROP TABLE sensors;
ALTER TABLE sensors_v5 RENAME TO sensors;

CREATE TABLE observed_properties_v5 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    key         TEXT NOT NULL DEFAULT '',  -- '' (ingesters), or 'sta:...' (an API create)
    UNIQUE (definition, name, key)
);
INSERT INTO observed_properties_v5 (id, name, definition, description, properties)
    SELECT id, name, definition, description, properties FROM observed_properties;
DROP TABLE observed_properties;
ALTER TABLE observed_properties_v5 RENAME TO observed_properties;

CREATE TABLE datastreams_v5 (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    thing_id             INTEGER NOT NULL REFERENCES things (id) ON DELETE CASCADE,
    sensor_id            INTEGER NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    observed_property_id INTEGER NOT NULL REFERENCES observed_properties (id) ON DELETE CASCADE,
    qualifier            TEXT NOT NULL DEFAULT '',
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    observation_type     TEXT NOT NULL
        DEFAULT 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement',
    unit_name            TEXT NOT NULL DEFAULT '',
    unit_symbol          TEXT NOT NULL DEFAULT '',
    unit_definition      TEXT NOT NULL DEFAULT '',
    properties           TEXT,
    n_obs                INTEGER NOT NULL DEFAULT 0,
    phenomenon_start     INTEGER,
    phenomenon_end       INTEGER,
    result_time_start    INTEGER,
    result_time_end      INTEGER,
    UNIQUE (thing_id, observed_property_id, sensor_id, qualifier)
);
INSERT INTO datastreams_v5 (id, thing_id, sensor_id, observed_property_id, qualifier, name,
                            description, observation_type, unit_name, unit_symbol,
                            unit_definition, properties, n_obs, phenomenon_start,
                            phenomenon_end, result_time_start, result_time_end)
    SELECT id, thing_id, sensor_id, observed_property_id, qualifier, name, description,
           observation_type, unit_name, unit_symbol, unit_definition, properties, n_obs,
           phenomenon_start, phenomenon_end, result_time_start, result_time_end
    FROM datastreams;
DROP TABLE datastreams;
ALTER TABLE datastreams_v5 RENAME TO datastreams;
CREATE INDEX datastreams_property ON datastreams (observed_property_id);
CREATE INDEX datastreams_sensor ON datastreams (sensor_id);

-- the geometry tables: SpatiaLite lets go of their columns, which come back after the
-- rebuild (RecoverGeometryColumn checks every geometry and makes the triggers again;
-- CreateSpatialIndex makes and fills a new R*Tree); a function that fails stops the
-- migration (the CHECK of insitu_v5_ok)
CREATE TEMP TABLE insitu_v5_ok (step TEXT, ok INTEGER CHECK (ok = 1));
INSERT INTO insitu_v5_ok VALUES ('disable locations', DisableSpatialIndex('locations', 'geom')),
    ('discard locations', DiscardGeometryColumn('locations', 'geom')),
    ('disable features', DisableSpatialIndex('features', 'geom')),
    ('discard features', DiscardGeometryColumn('features', 'geom'));
DROP TABLE idx_locations_geom;
DROP TABLE idx_features_geom;

CREATE TABLE locations_v5 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL UNIQUE,   -- thing id + canonical GeoJSON
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    encoding_type TEXT NOT NULL DEFAULT 'application/geo+json',
    location      TEXT,                   -- GeoJSON as given; NULL: the geom's (from WKB)
    properties    TEXT,
    geom          GEOMETRY NOT NULL DEFAULT ''
);
INSERT INTO locations_v5 (id, key, name, description, encoding_type, location, properties,
                          geom)
    SELECT id, key, name, description, encoding_type, location, properties, geom
    FROM locations;
DROP TABLE locations;
ALTER TABLE locations_v5 RENAME TO locations;

CREATE TABLE features_v5 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL UNIQUE,   -- canonical GeoJSON, or a source id
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    encoding_type TEXT NOT NULL DEFAULT 'application/geo+json',
    feature       TEXT,                   -- GeoJSON as given; NULL: the geom's (from WKB)
    properties    TEXT,
    geom          GEOMETRY NOT NULL DEFAULT ''
);
INSERT INTO features_v5 (id, key, name, description, encoding_type, feature, properties, geom)
    SELECT id, key, name, description, encoding_type, feature, properties, geom FROM features;
DROP TABLE features;
ALTER TABLE features_v5 RENAME TO features;

INSERT INTO insitu_v5_ok VALUES
    ('recover locations', RecoverGeometryColumn('locations', 'geom', 4326, 'GEOMETRY', 'XY')),
    ('index locations', CreateSpatialIndex('locations', 'geom')),
    ('recover features', RecoverGeometryColumn('features', 'geom', 4326, 'GEOMETRY', 'XY')),
    ('index features', CreateSpatialIndex('features', 'geom'));
DROP TABLE insitu_v5_ok;
-- version 2's R*Tree triggers, in place of those CreateSpatialIndex made
DROP TRIGGER IF EXISTS gii_locations_geom;
DROP TRIGGER IF EXISTS giu_locations_geom;
DROP TRIGGER IF EXISTS gii_features_geom;
DROP TRIGGER IF EXISTS giu_features_geom;
CREATE TRIGGER gii_locations_geom AFTER INSERT ON locations FOR EACH ROW
WHEN NEW.geom IS NOT NULL BEGIN
    INSERT OR REPLACE INTO idx_locations_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;
CREATE TRIGGER giu_locations_geom AFTER UPDATE OF geom ON locations FOR EACH ROW BEGIN
    DELETE FROM idx_locations_geom WHERE pkid = OLD.ROWID;
    INSERT OR REPLACE INTO idx_locations_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;
CREATE TRIGGER gii_features_geom AFTER INSERT ON features FOR EACH ROW
WHEN NEW.geom IS NOT NULL BEGIN
    INSERT OR REPLACE INTO idx_features_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;
CREATE TRIGGER giu_features_geom AFTER UPDATE OF geom ON features FOR EACH ROW BEGIN
    DELETE FROM idx_features_geom WHERE pkid = OLD.ROWID;
    INSERT OR REPLACE INTO idx_features_geom (pkid, xmin, xmax, ymin, ymax)
    VALUES (NEW.ROWID, MbrMinX(NEW.geom), MbrMaxX(NEW.geom), MbrMinY(NEW.geom),
            MbrMaxY(NEW.geom));
END;

-- observations, copied in the order of their key (appended to the new table's B-tree)
CREATE TABLE observations_v5 (
    datastream_id    INTEGER NOT NULL,
    phenomenon_start INTEGER NOT NULL,
    seq              INTEGER NOT NULL DEFAULT 0, -- 0; 1, 2... for more API creates at a start
    phenomenon_end   INTEGER,             -- NULL for an instant
    id               INTEGER NOT NULL,
    result_time      INTEGER,
    result           REAL,                -- NULL: missing (fill value, NaN, empty)
    result_json      TEXT,                -- a non-numeric result, as JSON
    result_quality   TEXT,
    parameters       TEXT,                -- JSON object
    feature_id       INTEGER,
    valid_start      INTEGER,
    valid_end        INTEGER,
    run_id           INTEGER,
    quality_id       INTEGER,
    parameters_id    INTEGER,
    PRIMARY KEY (datastream_id, phenomenon_start, seq)
) WITHOUT ROWID;
INSERT INTO observations_v5 (datastream_id, phenomenon_start, seq, phenomenon_end, id,
                             result_time, result, result_json, result_quality, parameters,
                             feature_id, valid_start, valid_end, run_id, quality_id,
                             parameters_id)
    SELECT datastream_id, phenomenon_start, 0, phenomenon_end, id, result_time, result,
           result_json, result_quality, parameters, feature_id, valid_start, valid_end,
           run_id, quality_id, parameters_id
    FROM observations ORDER BY datastream_id, phenomenon_start;
DROP TABLE observations;
ALTER TABLE observations_v5 RENAME TO observations;
CREATE UNIQUE INDEX observations_id ON observations (id);
DELETE FROM sqlite_sequence WHERE name = 'observations';
INSERT INTO sqlite_sequence (name, seq) SELECT 'observations', coalesce(max(id), 0)
    FROM observations;
-- the view of version 3, with seq (last, as on PostgreSQL)
CREATE VIEW observations_text AS
    SELECT o.datastream_id, o.phenomenon_start, o.phenomenon_end, o.id, o.result_time,
           o.result, o.result_json, coalesce(o.result_quality, q.text) AS result_quality,
           coalesce(o.parameters, p.text) AS parameters, o.feature_id, o.valid_start,
           o.valid_end, o.run_id, o.seq
    FROM observations o LEFT JOIN obs_texts q ON q.id = o.quality_id
         LEFT JOIN obs_texts p ON p.id = o.parameters_id;

-- @version 6
-- Issue 15: a Datastream's observedArea, "the spatial bounding box of the spatial extent of
-- the FeaturesOfInterest that belong to the Observations associated with this Datastream"
-- (OGC 18-088), kept in its row as its other series summaries are (n_obs, phenomenon_start):
-- the bounds of its features' geometries, NULL while it has none. Every write keeps it: an
-- ingest widens it by the features of the rows it added (src/store.c), a write that removes
-- or moves observations computes it again from the series. The API shows it as a Point, a
-- LineString (a flat box) or a Polygon (the dialect's box_geom). Existing stores get it from
-- one pass over their observations. observed_area holds the GeoJSON made from the box
-- whenever it changes: a page of Datastreams reads it as text (making it when read took half
-- the page's time).
ALTER TABLE datastreams ADD COLUMN area_xmin REAL;
ALTER TABLE datastreams ADD COLUMN area_ymin REAL;
ALTER TABLE datastreams ADD COLUMN area_xmax REAL;
ALTER TABLE datastreams ADD COLUMN area_ymax REAL;
ALTER TABLE datastreams ADD COLUMN observed_area TEXT; -- its GeoJSON, made when it changes
UPDATE datastreams SET (area_xmin, area_ymin, area_xmax, area_ymax) = (
    SELECT min(MbrMinX(geom)), min(MbrMinY(geom)), max(MbrMaxX(geom)), max(MbrMaxY(geom))
    FROM features WHERE id IN (SELECT feature_id FROM observations
                               WHERE datastream_id = datastreams.id));
-- the GeoJSON the API shows (the dialect's box_geom in src/store_sqlite.c, made by SQL there
-- on every change: the same expression)
UPDATE datastreams SET observed_area = AsGeoJSON(CASE WHEN area_xmin IS NULL THEN NULL
    WHEN area_xmin = area_xmax AND area_ymin = area_ymax THEN MakePoint(area_xmin, area_ymin, 4326)
    WHEN area_xmin = area_xmax OR area_ymin = area_ymax THEN
        MakeLine(MakePoint(area_xmin, area_ymin, 4326), MakePoint(area_xmax, area_ymax, 4326))
    ELSE BuildMbr(area_xmin, area_ymin, area_xmax, area_ymax, 4326) END, 9);

-- @version 7
-- Issue 15: the SensorThings MultiDatastream (OGC 18-088 14.3). A MultiDatastream is a row
-- of datastreams with multi = 1, so that everything kept for a series works on its
-- Observations unchanged: their key (datastream_id, phenomenon_start, seq), the summaries
-- (n_obs, phenomenon and result time, observedArea), deletes, dataArray, exports. Its
-- Observations hold the array of its members' values in result_json (result NULL).
-- multi_types is its multiObservationDataTypes and unit_json its unitOfMeasurements (JSON
-- arrays, one entry per member); multi_datastream_properties its ObservedProperties in
-- order (position 0, 1, ...). Its observed_property_id is its first member's (the column is
-- NOT NULL) and its qualifier 'sta-md:<key>', so the series key never meets another row's.
-- The API's Datastreams are the rows with multi = 0, its MultiDatastreams those with
-- multi = 1: one id sequence for both. Ingesters write multi = 0, but
-- for the pivot's guideline mapping when asked (docs/formats.md).
ALTER TABLE datastreams ADD COLUMN multi INTEGER NOT NULL DEFAULT 0;
ALTER TABLE datastreams ADD COLUMN multi_types TEXT;
ALTER TABLE datastreams ADD COLUMN unit_json TEXT;
CREATE TABLE multi_datastream_properties (
    datastream_id        INTEGER NOT NULL REFERENCES datastreams (id) ON DELETE CASCADE,
    position             INTEGER NOT NULL,
    observed_property_id INTEGER NOT NULL
        REFERENCES observed_properties (id) ON DELETE CASCADE,
    PRIMARY KEY (datastream_id, position)
);
CREATE INDEX multi_datastream_properties_property
    ON multi_datastream_properties (observed_property_id);
