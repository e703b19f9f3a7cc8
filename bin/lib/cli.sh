# Sourced by bin/jailhouse and bin/lib/train-cli-aot: the CLI's class path and
# JVM options. The AOT cache is valid only for the class path it was trained
# with, so both take them from here.

# The CLI's jar, then its libraries in name order (a java wildcard's order is
# the directory's, which need not be the same twice).
cli_classpath() ( # $1: the project's top directory
  # A glob sorted bytewise whatever the caller's locale (no ls and sort to start); in a subshell,
  # so that the caller's locale is never restored here (bash would warn of one it cannot load).
  LC_COLLATE=C
  cp="$1/jailhouse-cli/target/jailhouse-cli.jar"
  for j in "$1/jailhouse-cli/target/lib/"*.jar; do
    cp="$cp:$j"
  done
  echo "$cp"
)

# A command lives for a fraction of a second: C1 only, the serial collector,
# a small heap, no perf-data file. Unified logging of the AOT cache is off:
# a missing or damaged cache is not the user's business (the JVM then loads
# classes from the jars as usual, and a stale one is refused silently).
CLI_JVM_OPTIONS=(--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx256m
  -XX:-UsePerfData -Xlog:aot=off -Xlog:cds=off)

cli_aot_cache() { # $1: the project's top directory
  echo "$1/jailhouse-cli/target/jailhouse-cli.aot"
}
