#!/bin/sh
# End-to-end: the MultiDatastream extension (OGC 18-088 14.2, Fraunhofer's
# MultiDatastreamTests), asked by tests/sta_multidatastream.py of the real `insitu serve` over
# an empty store.
. "$INSITU_TEST_LIB"

insitu init >/dev/null
sta_script sta_multidatastream "the MultiDatastream script"
done_testing
