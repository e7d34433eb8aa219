#!/bin/sh
. "$INSITU_TEST_LIB"
done_testing
