# Sourced by the scripts in bin/: finds a JDK of version 25 or newer (the
# code is compiled for 25; its AOT cache options are 25's) and exports JAVA_HOME.
# Looks at $JAVA_HOME first, then /usr/lib/jvm/*, newest first.

jdk_major() { # prints the feature version of the JDK at $1, or nothing
  local rel="$1/release" v
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -f "$rel" ]; then
    # read with the shell itself: every command starts through here, and a sed costs a fork and an exec
    local line
    while IFS= read -r line; do
      if [[ $line =~ ^JAVA_VERSION=\"([0-9]+) ]]; then
        v=${BASH_REMATCH[1]}
        break
      fi
    done < "$rel"
  else
    v=$("$1/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
  fi
  echo "$v"
}

find_jdk() {
  local cand best="" bestv=0 v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(jdk_major "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then
      return 0
    fi
  fi
  for cand in /usr/lib/jvm/*; do
    [ -d "$cand" ] || continue
    v=$(jdk_major "$cand")
    if [ -n "$v" ] && [ "$v" -ge 25 ] && [ "$v" -gt "$bestv" ]; then
      best=$cand; bestv=$v
    fi
  done
  if [ -z "$best" ]; then
    echo "jailhouse: no JDK 25 or newer found (JAVA_HOME=${JAVA_HOME:-unset}, /usr/lib/jvm has:" \
         "$(ls /usr/lib/jvm 2>/dev/null | tr '\n' ' '))." >&2
    echo "jailhouse: install one, e.g. Temurin 25 (package temurin-25-jdk), or point JAVA_HOME at it." >&2
    return 1
  fi
  export JAVA_HOME=$best
}

# Maven 3.8/3.9 on JDK 24+ warns about sun.misc.Unsafe in its own libraries.
maven_opts() {
  local v
  v=$(jdk_major "$JAVA_HOME")
  if [ -n "$v" ] && [ "$v" -ge 24 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
}
