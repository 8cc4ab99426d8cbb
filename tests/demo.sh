#!/usr/bin/env bash
# Quick start: start the local WordPress lab (installing it on a fresh
# machine), then create a post and list posts with the wp-rest command line
# and through the MCP server, as an agent would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/wp/lab.sh up
# The MCP server's packages (wp_rest itself needs none).
python3 -c "import mcp, markdown_it" 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "mcp>=2.3,<3" "markdown-it-py>=3"

# The lab's admin and its application password, as a user would export them.
eval "$(python3 - <<'PY'
import json, shlex
site = json.load(open("tests/wp/lab.json"))["sites"]["main"]
admin = site["users"]["admin"]
for name, value in (("WP_URL", site["url"]), ("WP_USERNAME", admin["username"]),
                    ("WP_APP_PASSWORD", admin["app_password"])):
    print(f"export {name}={shlex.quote(value)}")
PY
)"

echo
echo "\$ wp-rest me"
python3 wp_rest.py me
echo
echo "\$ echo '<p>Written by wp-rest.</p>' | wp-rest posts create --title 'Hello from wp-rest' --content-file -"
echo '<p>Written by wp-rest.</p>' | python3 wp_rest.py posts create --title "Hello from wp-rest $(date +%H:%M:%S)" --content-file - \
  | python3 -c 'import json,sys; p=json.load(sys.stdin); print("created post", p["id"], "(" + p["status"] + "):", p["title"]["raw"])'
echo
echo "\$ wp-rest posts list --status draft --per-page 5 --table"
python3 wp_rest.py posts list --status draft --per-page 5 --table
echo
echo "# The same site through the MCP server, as an AI agent would use it:"
python3 tests/mcp_demo.py
echo
echo "The lab keeps running at $WP_URL, with the same sites on WordPress 6.8 and 7.1 beside it"
echo "(tests/wp/lab.json); stop it with: bash tests/wp/lab.sh down"
