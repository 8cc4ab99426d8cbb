"""The command line against the real WordPress lab: posts from the shell, one-line errors, and
`wp-rest login` through WordPress's authorize-application page (the lab's 'main' site, environment
'local', so the loopback callback is accepted)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
import urllib.parse
import uuid
import webbrowser
from pathlib import Path
from typing import Any

import pytest
import requests

import wp_rest
from conftest import ROOT, WPFactory

pytestmark = pytest.mark.wordpress


def _cli(lab: dict[str, Any], *args: str, role: str = "admin", stdin: str = "",
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``wp-rest ARGS`` run in this process (``main``), with only these WP_* variables set."""
    user = lab["sites"]["main"]["users"][role]
    full_env = {"WP_URL": lab["sites"]["main"]["url"], "WP_USERNAME": user["username"],
                "WP_APP_PASSWORD": user["app_password"], **(env or {})}
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("WP_")]:
            patch.delenv(name)
        for name, value in full_env.items():
            patch.setenv(name, value)
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = wp_rest.main(list(args))
    return subprocess.CompletedProcess(["wp-rest", *args], code, out.getvalue(), err.getvalue())


def test_cli_create_get_list_update_delete(lab: dict[str, Any], cleanup: list[tuple[str, int]],
                                          tmp_path: Path) -> None:
    made = _cli(lab, "posts", "create", "--title", "From the CLI ✓", "--content-file", "-",
                stdin="<p>piped</p>")
    assert made.returncode == 0, made.stderr
    post = json.loads(made.stdout)
    cleanup.append(("main", post["id"]))
    assert post["status"] == "draft"

    got = _cli(lab, "posts", "get", str(post["id"]))
    assert got.returncode == 0 and json.loads(got.stdout)["id"] == post["id"]

    listed = _cli(lab, "posts", "list", "--status", "draft", "--search", "From the CLI", "--table")
    assert listed.returncode == 0 and str(post["id"]) in listed.stdout and "From the CLI ✓" in listed.stdout

    lines = _cli(lab, "posts", "list", "--per-page", "3")
    assert lines.returncode == 0 and len(lines.stdout.splitlines()) == 3
    assert all("id" in json.loads(line) for line in lines.stdout.splitlines())
    assert re.fullmatch(r"# page 1 of \d+, \d+ posts\n", lines.stderr)

    content = tmp_path / "content.html"
    content.write_text("<p>from a file ✓</p>", encoding="utf-8")
    changed = _cli(lab, "posts", "update", str(post["id"]), "--content-file", str(content), "--status", "pending")
    assert changed.returncode == 0, changed.stderr
    updated = json.loads(changed.stdout)
    assert updated["status"] == "pending" and updated["title"]["raw"] == "From the CLI ✓"
    assert updated["content"]["raw"] == "<p>from a file ✓</p>"

    every = _cli(lab, "--url", lab["sites"]["main"]["url"], "posts", "list", "--all", "--status", "pending",
                 "--search", "From the CLI", env={"WP_URL": ""})
    assert every.returncode == 0 and every.stderr == ""  # --all prints no page line
    assert post["id"] in [json.loads(line)["id"] for line in every.stdout.splitlines()]

    me = _cli(lab, "me")
    assert me.returncode == 0 and json.loads(me.stdout)["roles"] == ["administrator"]

    gone = _cli(lab, "posts", "delete", str(post["id"]), "--force")
    assert gone.returncode == 0 and json.loads(gone.stdout)["deleted"] is True


def test_cli_errors_are_one_line_and_non_zero(lab: dict[str, Any]) -> None:
    bad = _cli(lab, "me", env={"WP_APP_PASSWORD": "abcd EFGH 1234 ijkl MNOP 6789"})
    assert bad.returncode == 1
    # main runs the lab's WooCommerce auth, which makes core name the wrong application password
    assert bad.stderr.count("\n") == 1 and "401 incorrect_password" in bad.stderr
    assert "abcd" not in bad.stderr + bad.stdout

    denied = _cli(lab, "posts", "create", "--title", "x", role="subscriber")
    assert denied.returncode == 1 and "403 rest_cannot_create" in denied.stderr

    unset = _cli(lab, "me", env={"WP_URL": ""})
    assert unset.returncode == 2 and "WP_URL" in unset.stderr


# --- `wp-rest login` ----------------------------------------------------------------


def _command() -> list[str]:
    return [sys.executable, str(ROOT / "wp_rest.py")]


def _start_login(config: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Run `wp-rest login ...` and return it with the authorize URL it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WP_")}
    env["WP_REST_CONFIG"] = str(config)
    proc = subprocess.Popen([*_command(), "login", *args], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    for _ in range(5):
        line = proc.stderr.readline()
        if "authorize-application.php?" in line:
            return proc, line.strip()
    proc.kill()
    raise AssertionError(f"no authorize URL printed; exit {proc.wait()}")


def _browser(lab: dict[str, Any], url: str, button: str) -> requests.Response:
    """The user: logs in, opens the authorize page, presses approve or reject (no JavaScript)."""
    info = lab["sites"]["main"]
    browser = requests.Session()
    login = browser.post(info["url"] + "/wp-login.php", allow_redirects=False,
                         data={"log": "admin", "pwd": info["users"]["admin"]["password"]})
    assert login.status_code == 302
    page = browser.get(url)
    assert page.status_code == 200, page.text[:300]
    fields = dict(re.findall(r'name="(_wpnonce|app_id|success_url|reject_url|app_name)" '
                             r'(?:id="[^"]*" )?value="([^"]*)"', page.text))
    assert fields["success_url"].startswith("http://127.0.0.1:") and fields["_wpnonce"]
    fields = {k: v.replace("&amp;", "&").replace("&#038;", "&") for k, v in fields.items()}
    answer = browser.post(info["url"] + "/wp-admin/authorize-application.php", allow_redirects=False,
                          data={**fields, "action": "authorize_application_password", button: "1"})
    assert answer.status_code == 302
    # WordPress sends the browser to the callback; the browser follows.
    return browser.get(answer.headers["Location"], timeout=10)


def _app_passwords(wp: WPFactory, name: str) -> list[dict[str, Any]]:
    return [p for p in wp("admin").request("GET", "/wp/v2/users/me/application-passwords") if p["name"] == name]


@pytest.mark.wordpress
def test_login_approved_in_the_browser_stores_a_checked_password(wp: WPFactory, lab: dict[str, Any],
                                                                tmp_path: Path) -> None:
    config = tmp_path / "conf" / "credentials.json"
    app_name = f"wp-rest test {uuid.uuid4().hex[:8]}"
    proc, url = _start_login(config, lab["sites"]["main"]["url"], "--no-browser", "--name", "lab",
                             "--app-name", app_name)
    try:
        assert re.search(r"app_id=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-", url)
        assert "success_url=http%3A%2F%2F127.0.0.1%3A" in url
        callback = _browser(lab, url, "approve")
        assert callback.status_code == 200 and "back to the terminal" in callback.text
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stored as site 'lab'" in err
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        stored = json.loads(config.read_text())["sites"]["lab"]
        assert stored["url"] == lab["sites"]["main"]["url"] and stored["username"] == "admin"
        assert re.fullmatch(r"[A-Za-z0-9]{24}", stored["application_password"])
        # The stored password works, and the file is what from_env falls back on.
        env = {"WP_REST_CONFIG": str(config)}
        site_url, auth = wp_rest._auth_from_file(None, env)
        assert wp_rest.Client(site_url, auth=auth).me()["username"] == "admin"
        assert wp_rest.stored_sites(env) == ["lab"]
        assert [p["app_id"] for p in _app_passwords(wp, app_name)] == [stored["app_id"]]
    finally:
        proc.kill()
        for made in _app_passwords(wp, app_name):
            wp("admin").request("DELETE", f"/wp/v2/users/me/application-passwords/{made['uuid']}")


@pytest.mark.wordpress
def test_login_rejected_in_the_browser_exits_1_and_stores_nothing(wp: WPFactory, lab: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    config = tmp_path / "credentials.json"
    app_name = f"wp-rest test {uuid.uuid4().hex[:8]}"
    proc, url = _start_login(config, lab["sites"]["main"]["url"], "--no-browser", "--app-name", app_name)
    try:
        callback = _browser(lab, url, "reject")
        assert "success=false" in callback.url and "nothing was stored" in callback.text
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 1
        assert "rejected in the browser" in err and "nothing was stored" in err
        assert not config.exists() and _app_passwords(wp, app_name) == []
    finally:
        proc.kill()


def test_login_opens_the_browser_whose_other_requests_are_not_the_answer(
        wp: WPFactory, lab: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Without --no-browser the page opens in the browser, which also asks the callback server for
    a favicon (answered 404, and still waited for); then the user rejects."""
    config = tmp_path / "credentials.json"
    for name in [n for n in os.environ if n.startswith("WP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WP_REST_CONFIG", str(config))
    monkeypatch.setattr(wp_rest, "LOGIN_WAIT", 60.0)
    app_name = f"wp-rest test {uuid.uuid4().hex[:8]}"
    browsed: list[Any] = []
    threads: list[threading.Thread] = []

    def user(url: str) -> None:
        try:
            callback = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["success_url"]
            browsed.append(requests.get(urllib.parse.urljoin(callback, "/favicon.ico"), timeout=10).status_code)
            browsed.append(_browser(lab, url, "reject").text)
        except Exception as exc:  # shown by the asserts below
            browsed.append(exc)

    def open_page(url: str) -> bool:
        threads.append(threading.Thread(target=user, args=(url,), daemon=True))
        threads[0].start()
        return True

    monkeypatch.setattr(webbrowser, "open", open_page)
    code = wp_rest.main(["login", lab["sites"]["main"]["url"], "--app-name", app_name])
    err = capsys.readouterr().err
    threads[0].join(timeout=30)  # the browser shows the callback's page after wp-rest has it
    assert browsed[0] == 404, browsed
    assert len(browsed) == 2 and "nothing was stored" in str(browsed[1])
    assert code == 1 and "rejected in the browser" in err
    assert not config.exists() and _app_passwords(wp, app_name) == []


@pytest.mark.wordpress
def test_login_to_a_site_without_application_passwords_is_refused(lab: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    # 'production' over http: WordPress offers application passwords only over https there.
    proc = subprocess.run([*_command(), "login", lab["sites"]["production"]["url"], "--no-browser"],
                          cwd=ROOT, env={**os.environ, "WP_REST_CONFIG": str(tmp_path / "c.json")},
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0 and "offers no application passwords" in proc.stderr
    assert not (tmp_path / "c.json").exists()


@pytest.mark.wordpress
@pytest.mark.parametrize("good", [True, False])
def test_login_to_an_https_site_takes_the_pasted_password_and_checks_it(lab: dict[str, Any], tmp_path: Path,
                                                                       good: bool) -> None:
    """An https site ('production' environment) refuses an http callback, so the user pastes the
    password WordPress shows; a wrong one is refused by users/me and nothing is stored."""
    info = lab["sites"]["https"]
    password = info["users"]["admin"]["app_password"] if good else "aaaa bbbb cccc dddd eeee ffff"
    config = tmp_path / "c.json"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WP_")},
           "WP_REST_CONFIG": str(config), "WP_CA_BUNDLE": lab["ca_bundle"]}
    # A new session has no terminal, so getpass reads the pasted password from stdin.
    proc = subprocess.run([*_command(), "login", info["url"], "--no-browser", "--name", "secure"],
                          cwd=ROOT, env=env, input=f"admin\n{password}\n", capture_output=True, text=True,
                          timeout=60, start_new_session=True)
    assert "authorize-application.php?app_name=wp-rest&app_id=" in proc.stderr
    assert "success_url" not in proc.stderr
    if good:
        assert proc.returncode == 0, proc.stderr
        stored = json.loads(config.read_text())["sites"]["secure"]
        assert stored == {**stored, "url": info["url"], "username": "admin",
                          "application_password": password.replace(" ", "")}
    else:
        assert proc.returncode == 1 and "401" in proc.stderr and not config.exists()
        assert password not in proc.stderr
