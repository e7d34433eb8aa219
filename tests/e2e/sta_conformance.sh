#!/bin/sh
# End-to-end: what the OGC SensorThings test suites (ets-sta10 and Fraunhofer IOSB's extended
# fork) check, asked again by tests/sta_conformance.py of the real `insitu serve` on a free
# loopback port, over an empty store: entity shapes, deep insert, PATCH, PUT, DELETE cascades,
# every $filter operator and function, the geo and time functions, paging, dataArray.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
sta_script sta_conformance "the conformance script"
done_testing
