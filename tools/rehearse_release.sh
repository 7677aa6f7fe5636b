#!/usr/bin/env bash
# Release rehearsal: publish the built distributions (dist/*) to a package index on loopback
# (pypiserver) with `twine upload`, install bexvendre-mapping[http,cli] from that index into
# a fresh virtual environment, and run `bexvendre demo` there: the publish path is tested,
# not just the build. Run after `nox -s build`; `.ci/run` does.
set -euo pipefail
cd "$(dirname "$0")/.."

shopt -s nullglob
dists=(dist/*.whl dist/*.tar.gz)
if [ "${#dists[@]}" -ne 2 ]; then
    echo "expected one wheel and one sdist in dist/, found: ${dists[*]:-nothing}" >&2
    exit 1
fi
version="$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"

work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/tools"
"$work/tools/bin/pip" install -q "pypiserver>=2.3,<3" "twine>=5"

mkdir "$work/packages"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
index="http://127.0.0.1:$port"
# No authentication (-a . -P .): the index lives on loopback for the length of this script.
"$work/tools/bin/pypi-server" run -i 127.0.0.1 -p "$port" -a . -P . "$work/packages" \
    >"$work/server.log" 2>&1 &
server=$!
python3 - "$index" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1] + "/simple/", timeout=2).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the loopback index did not start")
PY

"$work/tools/bin/twine" upload --non-interactive --disable-progress-bar \
    --repository-url "$index/" -u rehearsal -p rehearsal "${dists[@]}"
for dist in "${dists[@]}"; do
    cmp "$dist" "$work/packages/$(basename "$dist")"  # what was published is what was built
done

# A user's machine: a fresh environment, the package from the index (its dependencies from
# the usual registries), run from a folder with no checkout in it.
python3 -m venv "$work/user"
"$work/user/bin/pip" install -q --no-cache-dir --extra-index-url "$index/simple/" \
    --report "$work/install.json" "bexvendre-mapping[http,cli]==$version"
python3 - "$work/install.json" "$index/" <<'PY'
import json, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
(ours,) = [i for i in report["install"] if i["metadata"]["name"] == "bexvendre-mapping"]
url = ours["download_info"]["url"]
if not (url.startswith(sys.argv[2]) and url.endswith(".whl")):
    sys.exit(f"bexvendre-mapping came from {url}, not from the loopback index's wheel")
print(f"installed from {url}")
PY
(cd "$work" && "$work/user/bin/bexvendre" demo >"$work/demo.txt")
grep -q "none twice" "$work/demo.txt"
echo "published $version to $index, installed it from there, and its demo ran"
