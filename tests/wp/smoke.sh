#!/usr/bin/env bash
# Checks a running lab with plain curl, independently of wp_rest.py:
#   bash tests/wp/smoke.sh
# Reads tests/wp/lab.json (written by `lab.sh up`). Exits non-zero on the
# first failed check. Leaves no posts behind.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_JSON=$HERE/lab.json
[[ -f $LAB_JSON ]] || { echo "smoke: no $LAB_JSON; run lab.sh up" >&2; exit 1; }

# j 'sites.main.users.admin.app_password'  -> value from lab.json
j() {
    php -r '$v = json_decode(file_get_contents($argv[1]), true);
            foreach (explode(".", $argv[2]) as $k) { $v = $v[$k]; }
            echo is_bool($v) ? json_encode($v) : $v;' "$LAB_JSON" "$1"
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }

# req NAME CURL-ARGS... : body in $TMP/NAME.body, headers in $TMP/NAME.h, status echoed
req() {
    local name=$1
    shift
    curl -s -o "$TMP/$name.body" -D "$TMP/$name.h" -w '%{http_code}' --max-time 20 "$@"
}
header() { tr -d '\r' <"$TMP/$1.h" | grep -i "^$2:" | head -n1 | cut -d' ' -f2-; }
is_json() { php -r 'exit(json_decode(file_get_contents($argv[1])) === null ? 1 : 0);' "$TMP/$1.body"; }

for site in main plain basicauth production; do
    api=$(j "sites.$site.api_root")
    # The index itself, by the root the Link header advertised.
    code=$(req "$site-index" "$api")
    link=$(tr -d '\r' <"$TMP/$site-index.h" | grep -i '^link:' | grep -o '<[^>]*>; rel="https://api.w.org/"' | head -n1 || true)
    if [[ $code == 200 ]] && is_json "$site-index" && [[ $link == "<$api>; rel=\"https://api.w.org/\"" ]]; then
        ok "$site: REST index at $api is JSON with Link to itself"
    else
        bad "$site: REST index $api -> $code, link '$link'"
    fi
    site_hdr=$(header "$site-index" X-WPRest-Lab-Site)
    [[ $site_hdr == "$site" ]] && ok "$site: answered by lab site '$site_hdr'" || bad "$site: X-WPRest-Lab-Site '$site_hdr'"
done

# main: app passwords, write access, seed total.
url=$(j sites.main.url)
app=$(j sites.main.users.admin.app_password)
code=$(req me -u "admin:$app" "$url/wp-json/wp/v2/users/me")
[[ $code == 200 ]] && grep -q '"slug":"admin"' "$TMP/me.body" && ok "main: users/me with admin app password -> 200" || bad "main: users/me -> $code"

code=$(req create -u "admin:$app" -H 'Content-Type: application/json' \
    -d '{"title":"smoke test draft","status":"draft"}' "$url/wp-json/wp/v2/posts")
id=$(php -r '$b = json_decode(file_get_contents($argv[1]), true); echo $b["id"] ?? "";' "$TMP/create.body")
status=$(php -r '$b = json_decode(file_get_contents($argv[1]), true); echo $b["status"] ?? "";' "$TMP/create.body")
if [[ $code == 201 && $status == draft && -n $id ]]; then
    ok "main: POST /wp/v2/posts -> 201 draft id $id"
    code=$(req delete -u "admin:$app" -X DELETE "$url/wp-json/wp/v2/posts/$id?force=true")
    [[ $code == 200 ]] && ok "main: DELETE post $id?force=true -> 200" || bad "main: delete $id -> $code"
else
    bad "main: POST /wp/v2/posts -> $code status '$status'"
fi

code=$(req author-me -u "author:$(j sites.main.users.author.app_password)" "$url/wp-json/wp/v2/users/me")
[[ $code == 200 ]] && ok "main: users/me with author app password -> 200" || bad "main: author users/me -> $code"

code=$(req cats "$url/wp-json/wp/v2/categories?slug=$(j sites.main.seed_category_slug)")
cat_id=$(php -r '$b = json_decode(file_get_contents($argv[1]), true); echo $b[0]["id"] ?? "";' "$TMP/cats.body")
code=$(req seed "$url/wp-json/wp/v2/posts?categories=$cat_id&per_page=100")
total=$(header seed X-WP-Total)
pages=$(header seed X-WP-TotalPages)
[[ $code == 200 && $total == "$(j sites.main.seed_posts)" && $pages == 3 ]] &&
    ok "main: seed category $cat_id X-WP-Total $total, X-WP-TotalPages $pages" ||
    bad "main: seed category -> $code total '$total' pages '$pages'"

code=$(req bad-app -u "admin:aaaa bbbb cccc dddd eeee ffff" "$url/wp-json/wp/v2/users/me")
[[ $code == 401 ]] && ok "main: wrong app password -> 401" || bad "main: wrong app password -> $code"

# production: application passwords not offered over http, and ignored.
url=$(j sites.production.url)
grep -q '"authentication":\[\]' "$TMP/production-index.body" && ok 'production: index has "authentication":[]' ||
    bad "production: index authentication is not []"
grep -q '"application-passwords"' "$TMP/main-index.body" && ok 'main: index offers application-passwords' ||
    bad "main: index does not offer application-passwords"
code=$(req prod-me -u "admin:$(j sites.production.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
[[ $code == 401 ]] && ok "production: users/me with app password -> 401" || bad "production: users/me -> $code"

# plain: only ?rest_route= reaches the API.
url=$(j sites.plain.url)
code=$(req plain-posts "$url/?rest_route=/wp/v2/posts")
[[ $code == 200 ]] && is_json plain-posts && ok "plain: /?rest_route=/wp/v2/posts -> 200 JSON" || bad "plain: ?rest_route -> $code"
code=$(req plain-wpjson "$url/wp-json/wp/v2/posts")
if is_json plain-wpjson; then bad "plain: /wp-json/wp/v2/posts gave JSON ($code)"; else ok "plain: /wp-json/wp/v2/posts -> $code, not JSON"; fi
code=$(req plain-me -u "admin:$(j sites.plain.users.admin.app_password)" "$url/?rest_route=/wp/v2/users/me")
[[ $code == 200 ]] && ok "plain: users/me via ?rest_route with app password -> 200" || bad "plain: users/me -> $code"

# basicauth: the login password over Basic works (the colleague's mu-plugin
# emulating "JSON Basic Authentication"); like the real plugin, it turns an
# application password into 500 incorrect_password (PROTOCOLS.md section 3).
url=$(j sites.basicauth.url)
if [[ -f /var/lib/wordpress/wp-content/mu-plugins/wprest-lab-basic-auth.php ]]; then
    code=$(req ba-login -u "admin:$(j sites.basicauth.users.admin.password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 200 ]] && ok "basicauth: users/me with the login password -> 200" || bad "basicauth: login password -> $code"
    code=$(req ba-me -u "admin:$(j sites.basicauth.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 500 ]] && grep -q '"incorrect_password"' "$TMP/ba-me.body" &&
        ok "basicauth: app password -> 500 incorrect_password (as the real plugin)" || bad "basicauth: app password -> $code"
else
    code=$(req ba-me -u "admin:$(j sites.basicauth.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 200 ]] && ok "basicauth: no basic-auth mu-plugin installed; app password -> 200" || bad "basicauth: users/me -> $code"
fi

if ((fails)); then
    echo "smoke: $fails check(s) failed"
    exit 1
fi
echo "smoke: all checks passed"
