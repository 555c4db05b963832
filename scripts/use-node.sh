#!/usr/bin/env bash
# Sourced by .ci/run (and usable by hand: `source scripts/use-node.sh`): makes Node 24 the `node` on
# PATH. The machine's node is used when it is new enough (>= 22.12, what `engines` states); else the
# pinned Node 24 comes from the npm registry (the `node` package, whose install step fetches the
# matching `node-linux-<arch>` binary package from the same registry; nothing from elsewhere) into a
# per-version cache folder, so a second run costs nothing. Why a cache folder rather than a pinned
# devDependency: `npm ci` itself must already run under Node 24 (wrangler's engines), so the runtime
# has to exist before the lockfile is installed.
DOCCHAT_NODE_VERSION="${DOCCHAT_NODE_VERSION:-24.21.0}"

# true when `node` on PATH is >= 22.12, or exactly major DOCCHAT_NODE_MAJOR when that is set (CI sets 24)
docchat_node_ok() {
  command -v node >/dev/null 2>&1 &&
    DOCCHAT_NODE_MAJOR="${DOCCHAT_NODE_MAJOR:-}" node -e '
      const [a, b] = process.versions.node.split(".").map(Number);
      const want = process.env.DOCCHAT_NODE_MAJOR;
      process.exit((want ? a === Number(want) : a > 22 || (a === 22 && b >= 12)) ? 0 : 1)'
}

if [ "${DOCCHAT_FORCE_NODE:-}" = "1" ] || ! docchat_node_ok; then
  _cache="${DOCCHAT_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docchat-node}/$DOCCHAT_NODE_VERSION"
  if [ ! -x "$_cache/node_modules/node/bin/node" ]; then
    echo "node $(node --version 2>/dev/null || echo missing) is not the required one: installing node@$DOCCHAT_NODE_VERSION from the npm registry into $_cache" >&2
    mkdir -p "$_cache"
    # --foreground-scripts: the package's preinstall step fetches the binary package; keep its output visible.
    npm install --prefix "$_cache" --no-save --no-package-lock --no-audit --no-fund --foreground-scripts \
      "node@$DOCCHAT_NODE_VERSION" >&2
  fi
  if [ ! -x "$_cache/node_modules/node/bin/node" ]; then
    echo "could not install node@$DOCCHAT_NODE_VERSION into $_cache" >&2
    return 1 2>/dev/null || exit 1
  fi
  export PATH="$_cache/node_modules/node/bin:$PATH"
  hash -r
fi
unset -f docchat_node_ok
