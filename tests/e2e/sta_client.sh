#!/bin/sh
# End-to-end: the FROST Python client's documented behaviour (tests/sta_client.py replays
# its requests: creates read by their Location header, isoformat() times, upper-case
# $orderby, nextLink walking, JSON Patch, dataArray) against the real `insitu serve` on a
# free loopback port, over an empty store.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
sta_script sta_client "the client script"
done_testing
