"""The promises of the copied file: public names, stdlib only, importable in isolation."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import wp_rest

SOURCE = Path(wp_rest.__file__).read_text(encoding="utf-8")


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name, value in vars(wp_rest).items()
              if not name.startswith("_") and getattr(value, "__module__", None) == "wp_rest"}
    assert set(wp_rest.__all__) == public
    assert wp_rest.__all__ == sorted(wp_rest.__all__)


def _imports(nodes: list[ast.stmt]) -> set[str]:
    found: set[str] = set()
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_standard_library_is_imported() -> None:
    tree = ast.parse(SOURCE)
    type_only = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    assert len(type_only) == 1  # the type checker's imports, never run (TYPE_CHECKING is False)
    runtime = [n for n in tree.body if n not in type_only] + type_only[0].orelse
    assert _imports(runtime) - set(sys.stdlib_module_names) - {"__future__"} == set()
    assert _imports(type_only[0].body) - set(sys.stdlib_module_names) == {"typing_extensions"}


def test_the_copied_file_imports_and_runs_alone(tmp_path: Path) -> None:
    copy = tmp_path / "wp_rest.py"
    copy.write_text(SOURCE, encoding="utf-8")
    out = subprocess.run([sys.executable, "-I", "-S", str(copy), "--help"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=30, check=True)
    assert "WP_APP_PASSWORD" in out.stdout and "posts" in out.stdout
    version = subprocess.run([sys.executable, "-I", "-S", "-c", "import sys; sys.path.insert(0, '.'); import wp_rest; print(wp_rest.__version__)"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=30, check=True)
    assert version.stdout.strip() == wp_rest.__version__


def test_pip_install_gives_both_modules_and_both_commands(tmp_path: Path) -> None:
    import venv

    root = Path(wp_rest.__file__).parent
    env_dir = tmp_path / "venv"
    # System site packages: the mcp package the server needs is already there.
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    "--disable-pip-version-check", str(root)], check=True, timeout=300, cwd=tmp_path,
                   capture_output=True)
    help_text = subprocess.run([str(env_dir / "bin" / "wp-rest"), "--help"], capture_output=True, text=True,
                               check=True, timeout=60).stdout
    assert "doctor" in help_text and "posts" in help_text
    mcp_help = subprocess.run([str(env_dir / "bin" / "wp-rest-mcp"), "--help"], capture_output=True, text=True,
                              check=True, timeout=60).stdout
    assert "--transport" in mcp_help
    where = subprocess.run([str(python), "-c", "import wp_rest, mcp_server; print(wp_rest.__file__)"],
                           capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path).stdout
    assert str(env_dir) in where
