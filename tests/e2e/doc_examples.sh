#!/bin/sh
# End-to-end: every ```sh example of README.md and docs/*.md, extracted from the documents and
# run as written, in order, on the shipped samples (tests/doc_examples.py says how: markers,
# substitutions, output shapes). One TAP line per command.
SRC=$(cd "$INSITU_TEST_DATA/../.." && pwd)
exec python3 "$SRC/tests/doc_examples.py" --src "$SRC" --insitu "$INSITU" \
  --pg-cluster "$INSITU_TEST_PG_CLUSTER"
