#!/bin/sh
# End-to-end: docs/cli.md and every command's --help name the same options. For each command,
# the --long options of the option lines of `insitu CMD --help` against every --long option
# written in the command's "## CMD" section of docs/cli.md (tables and prose; the download
# options' subsection belongs to ingest and pull). insitu's own options (--store, --quiet,
# --version, --help) are documented once, at the top, and left out.
. "$INSITU_TEST_LIB"
DOC="$DATA/../../docs/cli.md"
COMMANDS="init ingest pull formats sources things datastreams query sample matchup serve backup"

# The options of the option lines of a command's --help ("  -o, --output FILE  ...").
help_options() {
  "$INSITU" "$1" --help | sed -n 's/^  \(-[A-Za-z], \)\{0,1\}--\([a-z0-9][a-z0-9-]*\).*/\2/p' |
    sort -u
}

# The lines of the "## NAME ..." section of docs/cli.md (its ### subsections included), or
# of the "### NAME ..." subsection when level is ###.
doc_section() {
  awk -v level="$1" -v name="$2" '
    /^#+ / { if (on && length($1) <= length(level)) on = 0
             if ($1 == level && $2 == name) on = 1 }
    on' "$DOC"
}

# An example line that runs another command ("    insitu query --thing X") names that
# command's options, not this one's: it is left out.
own_lines() {
  awk -v cmd="$1" '
    { line = $0; sub(/^[ \t]*(\$ )?/, "", line) }
    line ~ /^insitu / {
      n = split(line, w, " ")
      for (i = 2; i <= n && w[i] ~ /^-/; i++)
        if (w[i] == "--store" || w[i] == "-s") i++
      if (w[i] != cmd) next
    }
    { print }'
}

doc_options() {
  { doc_section "##" "$1"; [ "$1" = pull ] && doc_section "###" download; } | own_lines "$1" |
    grep -o -- '--[a-z][a-z0-9-]*' | sed 's/^--//' |
    grep -v -x -e store -e quiet -e version -e help | sort -u
}

[ -f "$DOC" ] || { echo "1..0 # SKIP no $DOC"; exit 0; }
for c in $COMMANDS; do
  help_options "$c" >"$T/help"
  doc_options "$c" >"$T/doc"
  undocumented=$(comm -23 "$T/help" "$T/doc" | sed 's/^/--/' | tr '\n' ' ')
  unknown=$(comm -13 "$T/help" "$T/doc" | sed 's/^/--/' | tr '\n' ' ')
  if [ -z "$undocumented$unknown" ]; then
    ok "$c: docs/cli.md and --help name the same $(wc -l <"$T/help") options"
  else
    not_ok "$c: docs/cli.md and --help name the same options" \
      "in --help, not in docs/cli.md's '## $c': ${undocumented:-none}" \
      "in docs/cli.md's '## $c', not in --help: ${unknown:-none}"
  fi
done
# the check itself sees what it should: a section with options, and the download subsection
equal "the check reads sample's options from its section" \
  "$(doc_options sample | grep -c -x -e window -e definition -e assume-crs)" 3
equal "pull's options include the download options" "$(doc_options pull | grep -c -x cache-dir)" 1
equal "an example running another command is not the section's" \
  "$(printf 'insitu ingest --set a=b\n    insitu --store x query --thing T\n$ insitu -q things --bbox 1\n' |
     own_lines ingest)" "insitu ingest --set a=b"
done_testing
