"""What the template tests share: paths, the environment of generated projects, and
running a command in its own process group with a bounded time and a readable log."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType

import yaml
from answer_sets import AnswerSet
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_tool(name: str) -> ModuleType:
    """tools/<name>.py, a script rather than a package module, loaded from its file."""
    spec = importlib.util.spec_from_file_location(
        name, REPO_ROOT / "tools" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


# The server the generated conftest creates (and drops) its own database on.
POSTGRES_URL = os.environ.get(
    "TEMPLATE_TEST_DATABASE_URL",
    "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
)

# Not part of a rendered project: tool output that a test run leaves behind.
NOT_RENDERED = {
    ".venv",
    ".tools",
    ".git",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "var",
}

# Variables of this test run that must not reach a generated project's own tools:
# xdist and pytest-cov state, an activated venv, the service's settings.
_DROPPED_PREFIXES = ("PYTEST_", "COV_CORE_", "APP_")
_DROPPED = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT"}


def uv_cache_dir() -> Path:
    return Path(os.environ.get("UV_CACHE_DIR") or REPO_ROOT / ".uv-cache")


def new_user_path(path: str | None = None) -> str:
    """PATH as a new user's machine has it: without uv and without this run's venv.

    The generated Makefiles bootstrap uv themselves (pip into .tools/) when none is on
    PATH; the tests must exercise that, as a user with only python3 and make does, so
    every directory holding a `uv` is left out, and so is the venv running the tests
    (its pytest, ruff and python must not stand in for the project's own).
    """
    venv_bin = Path(sys.executable).parent.resolve()
    kept = []
    for entry in (
        path if path is not None else os.environ.get("PATH", os.defpath)
    ).split(os.pathsep):
        directory = Path(entry or ".").resolve()
        if directory == venv_bin or (directory / "uv").exists():
            continue
        kept.append(entry)
    joined = os.pathsep.join(kept)
    missing = [
        tool for tool in ("python3", "make") if shutil.which(tool, path=joined) is None
    ]
    if missing:
        raise RuntimeError(
            f"without uv and the test venv, PATH has no {', '.join(missing)}: {joined}"
        )
    return joined


@functools.cache
def _pyenv_version() -> str | None:
    """PYENV_VERSION that makes every CPython that pyenv installed visible on PATH.

    pyenv shims only run the selected versions' `python3.X`, so uv cannot find a newer
    interpreter that pyenv installed (it would try to download one). Listing all of
    them after the selected ones lets a project with `requires-python >= 3.13` use the
    machine's 3.13 while `python3` stays what it was.
    """
    if not shutil.which("pyenv"):
        return None

    def pyenv(*args: str) -> str:
        return subprocess.run(
            ["pyenv", *args], check=False, capture_output=True, text=True, timeout=30
        ).stdout

    try:
        selected = [v for v in pyenv("version-name").strip().split(":") if v]
        installed = pyenv("versions", "--bare").split()
    except (OSError, subprocess.SubprocessError):
        return None
    cpython = [v for v in installed if re.fullmatch(r"3\.\d+\.\d+", v)]
    if not selected or not cpython:
        return None
    newest_first = sorted(cpython, key=lambda v: [int(n) for n in v.split(".")])[::-1]
    return ":".join([*selected, *(v for v in newest_first if v not in selected)])


def project_env(answer_set: AnswerSet) -> dict[str, str]:
    """The environment a generated project's `make` runs in during the tests: a new
    user's PATH (so the project installs its own uv), the shared uv cache for speed."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }
    env["PATH"] = new_user_path(env.get("PATH"))
    env["UV_CACHE_DIR"] = str(uv_cache_dir())
    env.setdefault("UV_NO_PROGRESS", "1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    pyenv_version = _pyenv_version()
    if pyenv_version:
        env["PYENV_VERSION"] = pyenv_version
    if answer_set.answers["database"] == "postgresql":
        env["APP_DATABASE_URL"] = POSTGRES_URL
    return env


# The schema test's examples per operation in the projects the template's tests check,
# but the defaults' (which keep the 25 of the rendered schemathesis.toml): the
# conformance it checks is the platform's, the same in every answer set, and its cost
# grows with the examples; each set's own operations are still each called with
# valid and invalid data.
SCHEMA_EXAMPLES = 5


def fewer_schema_examples(project: Path, examples: int = SCHEMA_EXAMPLES) -> None:
    """Set `max-examples` in every schemathesis.toml of `project` to `examples`."""
    configs = [
        path
        for path in project.rglob("schemathesis.toml")
        if not NOT_RENDERED.intersection(path.relative_to(project).parts)
    ]
    assert configs, f"no schemathesis.toml in {project}"
    for config in configs:
        text = config.read_text(encoding="utf-8")
        lowered, found = re.subn(
            r"(?m)^max-examples = \d+$", f"max-examples = {examples}", text
        )
        assert found == 1, f"{config}: no max-examples line to lower"
        config.write_text(lowered, encoding="utf-8")


# Files a tool outside the project reads, with the published JSON schema each must
# match (the schemas check-jsonschema vendors: the Compose specification, GitHub
# Actions workflows, GitLab CI), so a misspelt key fails here rather than on a
# platform team's first push or `docker compose up`.
PUBLISHED_SCHEMAS = {
    "compose.yaml": "vendor.compose-spec",
    ".github/workflows/*.yml": "vendor.github-workflows",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
    "renovate.json": "vendor.renovate",
    ".github/dependabot.yml": "vendor.dependabot",
}


def published_schema_problems(project: Path) -> list[str]:
    """What check-jsonschema reports for the files of PUBLISHED_SCHEMAS that exist."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    problems = []
    for pattern, schema in PUBLISHED_SCHEMAS.items():
        files = sorted(str(path) for path in project.glob(pattern))
        if not files:
            continue
        result = subprocess.run(
            [str(checker), "--builtin-schema", schema, *files],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            problems.append(f"{pattern} ({schema}):\n{result.stdout}{result.stderr}")
    return problems


def rendered_files(root: Path) -> Iterator[Path]:
    """Every file of a rendered project, without what running its tools left behind."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in NOT_RENDERED or "__pycache__" in rel.parts:
            continue
        if path.is_file():
            yield path


def tail(text: str, lines: int = 80) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(kept)


def group_members(pgid: int) -> list[int]:
    """Processes of a process group that are still alive (zombies excluded)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    alive = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def stop_group(process: subprocess.Popen[bytes], grace_s: float = 15) -> list[int]:
    """SIGTERM the process group, SIGKILL what is left after grace_s; return survivors."""
    pgid = process.pid
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            process.poll()
            if not group_members(pgid):
                break
            time.sleep(0.2)
        if not group_members(pgid):
            break
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    return group_members(pgid)


def run_logged(
    cmd: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    log: Path,
) -> tuple[int | None, str]:
    """Run cmd in a new process group, output (both streams) to log; kill it all on timeout.

    Returns (exit code or None on timeout, the output).
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code: int | None = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            stop_group(process, grace_s=5)
    output = log.read_text(encoding="utf-8", errors="replace")
    if code is None:
        output += f"\n[harness] killed after {timeout_s:.0f} s: {' '.join(cmd)}\n"
    return code, output


# make -k reports each failed gate as: make: *** [Makefile:45: lint] Error 1
FAILED_TARGET = re.compile(
    r"make(?:\[\d+\])?: \*\*\* \[[^\]]*?:\s*([\w./-]+)\] Error \d+"
)


def failure_report(set_id: str, code: int | None, output: str) -> str:
    """Which gates failed, the output just before each failure, then the last lines."""
    lines = output.splitlines()
    failed: list[str] = []
    excerpts: list[str] = []
    start = 0
    for number, line in enumerate(lines):
        match = FAILED_TARGET.search(line)
        if match:
            failed.append(match[1])
            context = lines[max(start, number - 40) : number + 1]
            excerpts.append(
                f"--- before `{match[1]}` failed ---\n" + "\n".join(context)
            )
            start = number + 1
    outcome = "timed out" if code is None else f"exited {code}"
    return (
        f"`make check` in the {set_id} project {outcome}; failed: {', '.join(failed) or '?'}\n"
        + "\n".join(excerpts)
        + f"\n--- last lines of its output ---\n{tail(output, 40)}"
    )


def observability_problems(project: Path) -> list[str]:
    """What is wrong with deploy/observability/ of a rendered project: alert rules that
    promtool refuses or whose tests fail, dashboard queries that do not parse, and
    metrics either reads that the service does not serve."""
    folder = project / "deploy" / "observability"
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make promtool` installs it"
    problems = []
    for command in (
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ):
        done = subprocess.run(
            [promtool, *command],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            problems.append(
                f"promtool {' '.join(command)}:\n{done.stdout}{done.stderr}"
            )
    dashboard = json.loads((folder / "dashboard.json").read_text(encoding="utf-8"))
    queries = [
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    ]
    # Grafana's variables as Grafana fills them in, then each query as a recording
    # rule: promtool parses it.
    recorded = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {
                        "record": f"dashboard:query_{index}",
                        "expr": query.replace("$__rate_interval", "5m").replace(
                            "$job", "service"
                        ),
                    }
                    for index, query in enumerate(queries)
                ],
            }
        ]
    }
    rules = folder.parent / "dashboard-queries.yml"
    rules.write_text(yaml.safe_dump(recorded), encoding="utf-8")
    try:
        done = subprocess.run(
            [promtool, "check", "rules", str(rules)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        rules.unlink()
    if done.returncode != 0:
        problems.append(f"dashboard queries:\n{done.stdout}{done.stderr}")
    # The platform's metrics: those of the HTTP layer, and of the event bus.
    served = {
        name
        for source in project.rglob("metrics.py")
        if ".venv" not in source.parts
        for name in re.findall(
            r'(?:Counter|Gauge|Histogram)\(\s*"(\w+)"', source.read_text("utf-8")
        )
    }
    alerts = (folder / "alerts.yml").read_text(encoding="utf-8")
    for text in [*queries, alerts]:
        for name in re.findall(r"\b([a-z_]+)\{", text):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            if name != "up" and name not in served and base not in served:
                problems.append(f"{name} is read but not served ({sorted(served)})")
    return problems


# Prints the OpenAPI document of the service whose main module is given.
_DUMP_OPENAPI = (
    "import json, sys; from importlib import import_module; "
    "print(json.dumps(import_module(sys.argv[1]).create_app().openapi()))"
)


def openapi_lint_problems(project: Path, env: Mapping[str, str]) -> list[str]:
    """What Redocly's recommended ruleset finds in the OpenAPI document of each
    service of `project` (installed), errors and warnings alike."""
    redocly = REPO_ROOT / ".npm-tools" / "node_modules" / ".bin" / "redocly"
    assert redocly.is_file(), "Redocly CLI is missing: `make redocly` installs it"
    problems = []
    for main in sorted(project.glob("**/src/*/main.py")):
        # A service's venv, or the workspace's at a microservices root.
        venv = next(p / ".venv" for p in main.parents if (p / ".venv").is_dir())
        module = f"{main.parent.name}.main"
        dumped = subprocess.run(
            [str(venv / "bin" / "python"), "-c", _DUMP_OPENAPI, module],
            cwd=main.parents[2],
            env={**env, "APP_ENVIRONMENT": "development"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert dumped.returncode == 0, dumped.stderr[-3000:]
        with tempfile.TemporaryDirectory() as folder:
            document = Path(folder) / "openapi.json"
            document.write_text(dumped.stdout, encoding="utf-8")
            linted = subprocess.run(
                [str(redocly), "lint", "--extends", "recommended", "--format", "json"]
                + [str(document)],
                env={
                    **env,
                    "REDOCLY_TELEMETRY": "off",
                    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
                },
                capture_output=True,
                text=True,
                check=False,
            )
        report = json.loads(linted.stdout)
        if report["totals"]["errors"] or report["totals"]["warnings"]:
            found = [
                f"{problem['ruleId']}: {problem['message']}"
                for problem in report["problems"]
            ]
            problems.append(f"{module}: " + "; ".join(found))
    return problems


TECHDOCS_REF = "backstage.io/techdocs-ref"


def catalog_problems(project: Path, *, exported: bool = False) -> list[str]:
    """What Backstage's catalog would refuse in the project's catalog-info.yaml (its
    entity policies and kind validators, through tools/catalog_check.cjs), relations
    to entities the file does not define, and APIs whose definition is not a service's
    docs/openapi.json; with `exported` (after `make install`), that file must exist
    and is read in, as the catalog reads a `$text` placeholder. Every component, and
    nothing but the project's docs sites, is pointed at a docs site (TechDocs)."""
    checker = REPO_ROOT / "tools" / "catalog_check.cjs"
    model = REPO_ROOT / ".npm-tools" / "node_modules" / "@backstage" / "catalog-model"
    assert model.is_dir(), "Backstage's catalog model is missing: `make backstage`"
    text = (project / "catalog-info.yaml").read_text(encoding="utf-8")
    entities = [entity for entity in yaml.safe_load_all(text) if entity]
    defined = {(e["kind"].lower(), e["metadata"]["name"]) for e in entities}
    services = {main.parents[2].resolve() for main in project.glob("*/*/src/*/main.py")}
    services |= {main.parents[2].resolve() for main in project.glob("src/*/main.py")}
    problems = []
    documented: set[Path] = set()
    for entity in entities:
        spec = entity.get("spec", {})
        name = f"{entity['kind']}:{entity['metadata']['name']}"
        refs = [("system", spec["system"])] if "system" in spec else []
        apis = [*spec.get("providesApis", []), *spec.get("consumesApis", [])]
        refs += [("api", api) for api in apis]
        refs += [tuple(ref.split(":", 1)) for ref in spec.get("dependsOn", [])]
        for kind, target in refs:
            if (kind, target) not in defined:
                problems.append(f"{name}: {kind}:{target} is not in the file")
        docs = entity["metadata"].get("annotations", {}).get(TECHDOCS_REF)
        if docs is not None:
            documented.add((project / docs.removeprefix("dir:")).resolve())
        elif entity["kind"] == "Component":
            problems.append(f"{name}: no {TECHDOCS_REF}")
        definition = spec.get("definition")
        if not isinstance(definition, dict):
            continue
        where = definition.get("$text", "")
        document = (project / where).resolve()
        if (document.name, document.parent.name) != ("openapi.json", "docs") or (
            document.parent.parent not in services
        ):
            problems.append(f"{name}: {where} is not a service's docs/openapi.json")
        elif exported and not document.is_file():
            problems.append(f"{name}: {where} does not exist after `make install`")
        elif exported:
            spec["definition"] = document.read_text(encoding="utf-8")
            if "openapi" not in json.loads(spec["definition"]):
                problems.append(f"{name}: {where} is not an OpenAPI document")
        if isinstance(spec["definition"], dict):
            spec["definition"] = f"the text of {where}"
    # TechDocs builds each entity's docs from the mkdocs.yml in the folder its
    # techdocs-ref names: every docs site of the project, and nothing else.
    sites = {config.parent.resolve() for config in project.glob("mkdocs.yml")}
    sites |= {config.parent.resolve() for config in project.glob("*/*/mkdocs.yml")}
    if documented != sites:
        problems.append(
            f"{TECHDOCS_REF} names {sorted(map(str, documented))},"
            f" the docs sites are {sorted(map(str, sites))}"
        )
    checked = subprocess.run(
        ["node", str(checker)],
        input=json.dumps(entities),
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode in (0, 1), checked.stderr
    return problems + checked.stdout.splitlines()


_REMOTE_LOAD = re.compile(
    r"<(?:script|img|iframe)\b[^>]*\bsrc=[\"'](?:https?:)?//[^\"']+"
    r"|<link\b[^>]*\bhref=[\"'](?:https?:)?//[^\"']+"
)


def remote_loads(page: str) -> list[str]:
    """What an HTML page loads from another host: a script, an image, a frame, a
    stylesheet or a font. Links to other sites are fine: they load nothing."""
    return _REMOTE_LOAD.findall(page)


_HTML_TAG = re.compile(r"<[^>]+>")
_MERMAID_BLOCK = re.compile(r"^```mermaid\n", re.MULTILINE)


def docs_site_problems(project: Path) -> list[str]:
    """What is wrong with the docs sites `make docs` built: one beside every
    mkdocs.yml of the project, in its site/. Each page of docs/ is in it with each
    Mermaid block drawn as an SVG (no block left for a script to draw), no page loads
    anything from another host, and the API reference names every path of the
    service's docs/openapi.json."""
    problems = []
    configs = sorted(project.glob("mkdocs.yml")) + sorted(
        project.glob("*/*/mkdocs.yml")
    )
    if not configs:
        return ["no mkdocs.yml"]
    for config in configs:
        folder = config.parent
        where = folder.relative_to(project).as_posix()
        site = folder / "site"
        for source in sorted((folder / "docs").glob("*.md")):
            page = site / ("" if source.stem == "index" else source.stem) / "index.html"
            if not page.is_file():
                problems.append(f"{where}: {source.name} is not in the site")
                continue
            html = page.read_text(encoding="utf-8")
            blocks = len(_MERMAID_BLOCK.findall(source.read_text(encoding="utf-8")))
            drawn = len(re.findall(r'<div class="diagram"[^>]*>\s*<svg\b', html))
            if drawn != blocks or 'class="mermaid"' in html:
                problems.append(
                    f"{where}: {source.name} has {blocks} diagrams, {drawn} drawn"
                )
            problems += [
                f"{where}: {source.name} loads {load}" for load in remote_loads(html)
            ]
        document = folder / "docs" / "openapi.json"
        if document.is_file():
            reference = _HTML_TAG.sub(
                "", (site / "api" / "index.html").read_text(encoding="utf-8")
            )
            problems += [
                f"{where}: the API reference lacks {path}"
                for path in json.loads(document.read_text(encoding="utf-8"))["paths"]
                if path not in reference
            ]
    return problems


def dependency_bot_problems(project: Path) -> list[str]:
    """Where a dependency bot's configuration (renovate.json, .github/dependabot.yml)
    would not leave alone exactly what the template pins: every requirement of the
    rendered pyproject files (in a fresh render, all of them are the template's, the
    workspace's own packages included) and nothing else."""
    pinned: set[str] = set()
    for pyproject in project.glob("**/pyproject.toml"):
        if ".venv" in pyproject.relative_to(project).parts:
            continue
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        groups = data.get("dependency-groups", {}).values()
        listed = [
            *data.get("project", {}).get("dependencies", []),
            *(line for group in groups for line in group),
        ]
        pinned |= {canonicalize_name(Requirement(line).name) for line in listed}
    left_alone: dict[str, set[str]] = {}
    renovate = project / "renovate.json"
    if renovate.is_file():
        config = json.loads(renovate.read_text(encoding="utf-8"))
        if "pep621" in config.get("enabledManagers", []):
            left_alone["renovate.json"] = {
                canonicalize_name(name)
                for rule in config["packageRules"]
                if rule.get("enabled") is False
                and rule.get("matchManagers") == ["pep621"]
                for name in rule["matchPackageNames"]
            }
    dependabot = project / ".github" / "dependabot.yml"
    if dependabot.is_file():
        (uv,) = yaml.safe_load(dependabot.read_text(encoding="utf-8"))["updates"]
        left_alone[".github/dependabot.yml"] = {
            canonicalize_name(rule["dependency-name"]) for rule in uv["ignore"]
        }
    problems = []
    for name, ignored in left_alone.items():
        if ignored != pinned:
            problems.append(
                f"{name}: updates what the template pins: {sorted(pinned - ignored)}; "
                f"ignores what it does not: {sorted(ignored - pinned)}"
            )
    return problems
