#!/usr/bin/env bash
# Re-fetch the vendored browser assets at their pinned versions (for maintainers; neither
# ./dev demo nor the tests run this: the files are committed, so nothing is fetched at run time).
#   scripts/vendor_assets.sh            fetch every package below from the npm registry
# To upgrade one, change its version here, run this, review the diff and run ./dev test.
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  destination  files to keep (besides the licence)
SWAGGER="swagger-ui-dist@5.35.0"
AXE="axe-core@4.14.1"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch PACKAGE@VERSION: unpack its npm tarball into $work/<name>
  local spec=$1 name=${1%@*}
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$work/$name"
  tar -xzf "$work"/"${name//\//-}"-*.tgz -C "$work/$name" --strip-components=1
}

keep() {  # keep NAME DEST FILE...: copy the files and the licence of NAME into DEST
  local name=$1 dest=$2; shift 2
  rm -rf "$dest" && mkdir -p "$dest"
  for file in "$@" LICENSE*; do
    (cd "$work/$name" && cp $file "$OLDPWD/$dest/")
  done
  echo "$name: $(cd "$work/$name" && node -p 'require("./package.json").version')" > "$dest/VERSION"
}

fetch "$SWAGGER"
keep swagger-ui-dist alertd/adapters/http/vendor/swagger-ui-dist \
  swagger-ui-bundle.js swagger-ui.css favicon-32x32.png NOTICE
fetch "$AXE"
keep axe-core tests/browser/vendor/axe-core axe.min.js
echo "vendored: $SWAGGER $AXE"
