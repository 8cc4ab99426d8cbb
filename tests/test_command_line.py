"""The command line offline: usage errors found before any request, and Ctrl-C. What the
commands do with a real WordPress is in test_command_line_wordpress.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import wp_rest
from conftest import ROOT
from stub import Answer, Seen, json_answer, serve

SECRET = "abcd EFGH 1234 ijkl MNOP 6789"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [n for n in os.environ if n.startswith("WP_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_login_refuses_a_site_name_unfit_for_the_credentials_file(env: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with serve(lambda seen: json_answer({})) as server:
        assert wp_rest.main(["login", server.url, "--name", "my site", "--no-browser"]) == 2
        assert server.seen == []
    assert capsys.readouterr().err == ("wp-rest: error: --name 'my site': use letters, digits, '.', '_' "
                                       "and '-'\n")


def test_login_names_a_missing_ca_bundle_before_any_request(env: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("WP_CA_BUNDLE", str(tmp_path / "ca.pem"))
    with serve(lambda seen: json_answer({})) as server:
        assert wp_rest.main(["login", server.url, "--no-browser"]) == 2
        assert server.seen == []
    assert capsys.readouterr().err == f"wp-rest: error: CA bundle {str(tmp_path / 'ca.pem')!r}: no such file\n"


@pytest.mark.parametrize("action", [["create", "--title", "x"], ["update", "7"]])
def test_an_unreadable_content_file_is_a_usage_error_before_any_request(
        action: list[str], env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.html"
    with serve(lambda seen: json_answer({})) as server:
        env.setenv("WP_USERNAME", "admin")
        env.setenv("WP_APP_PASSWORD", SECRET)
        assert wp_rest.main(["--url", server.url, "posts", *action, "--content-file", str(missing)]) == 2
        assert server.seen == []
    err = capsys.readouterr().err
    assert err == f"wp-rest: error: cannot read --content-file {str(missing)!r}: No such file or directory\n"


def test_ctrl_c_during_a_request_exits_130_without_a_traceback(tmp_path: Path) -> None:
    arrived, release = threading.Event(), threading.Event()

    def hold(seen: Seen) -> Answer:
        arrived.set()
        release.wait(30)
        return json_answer({})

    with serve(hold) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WP_")}
        env.update(WP_URL=server.url, WP_USERNAME="admin", WP_APP_PASSWORD=SECRET)
        proc = subprocess.Popen([sys.executable, str(ROOT / "wp_rest.py"), "me"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        try:
            assert arrived.wait(30), "the command sent no request"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
    assert (proc.returncode, out, err) == (130, "", "")
