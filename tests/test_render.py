"""Every answer set of the covering array renders into the expected project (fast).

Each set is rendered once per xdist worker (the session-scoped `render` fixture);
these tests only read the result.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from answer_sets import (
    ANSWER_SETS,
    DEFAULT_PACKAGE,
    DEFAULTS,
    FACTORS,
    AnswerSet,
    answer_set_params,
    missing_pairs,
)
from helpers import (
    REPO_ROOT,
    catalog_problems,
    dependency_bot_problems,
    observability_problems,
    published_schema_problems,
    rendered_files,
)
from pytest_copie.plugin import Copie, Result

Render = Callable[[AnswerSet], Result]

LAYERS = ("api", "application", "domain", "infrastructure")

# Jinja's three delimiters. Anything left in a rendered file or path is a template bug...
JINJA = re.compile(r"\{\{|\{%|\{#")
# ...except text that a rendered file's own format writes this way, named by path.
# (migrations/script.py.mako is Mako: `${...}` and `<% %>`, which the check ignores.)
LEGITIMATE = [
    # GitHub Actions expressions: ${{ github.ref }}
    (re.compile(r"\.github/workflows/[^/]+\.ya?ml"), re.compile(r"\$\{\{[^\n]*?\}\}")),
    # Prometheus alert templates: {{ $labels.job }}, {{ $value | humanizePercentage }}
    (
        re.compile(r"deploy/observability/alerts\.yml"),
        re.compile(r"\{\{ \$(labels\.\w+|value( \| \w+)?) \}\}"),
    ),
    # Grafana legends: {{route}}
    (
        re.compile(r"deploy/observability/dashboard\.json"),
        re.compile(r"\{\{\w+\}\}"),
    ),
]


@pytest.fixture(params=answer_set_params())
def answer_set(request: pytest.FixtureRequest) -> AnswerSet:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def project(answer_set: AnswerSet, render: Render) -> Path:
    result = render(answer_set)
    assert (
        result.exit_code == 0
    ), f"{answer_set.id} did not render: {result.exception!r}"
    assert result.project_dir is not None
    return result.project_dir


@pytest.fixture
def answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def package_dir(project: Path, answers: dict[str, Any]) -> Path:
    return project / "src" / str(answers["package_name"])


def relpaths(project: Path) -> list[str]:
    return [p.relative_to(project).as_posix() for p in rendered_files(project)]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _AnyTagLoader(yaml.SafeLoader):
    """SafeLoader that also accepts CI-specific tags such as GitLab's `!reference`."""


_AnyTagLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else (
            loader.construct_scalar(node)
            if isinstance(node, yaml.ScalarNode)
            else loader.construct_mapping(node)
        )
    ),
)


def load_yaml(path: Path) -> list[Any]:
    return list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_AnyTagLoader))


# --- the covering array itself ------------------------------------------------------


def test_answer_sets_cover_every_pair_of_levels() -> None:
    assert missing_pairs() == []


def test_answer_sets_have_unique_ids_and_include_the_defaults() -> None:
    ids = [s.id for s in ANSWER_SETS]
    assert len(ids) == len(set(ids))
    defaults = [s for s in ANSWER_SETS if s.data == {}]
    assert [s.id for s in defaults] == ["defaults"]
    assert dict(defaults[0].answers) == DEFAULTS


def test_answer_sets_only_use_known_levels() -> None:
    for s in ANSWER_SETS:
        assert set(s.answers) == set(FACTORS), s.id
        assert not set(s.extra) & set(FACTORS), s.id
        for factor, value in s.answers.items():
            assert value in FACTORS[factor], (s.id, factor, value)


# --- the template source --------------------------------------------------------------

# Jinja statements a template file may hold: past that, a file mixes too many answers
# for a reader to see the code it renders. The architecture document describes every
# answer, so it is exempt.
MAX_STATEMENTS = 60
OVER_THE_LIMIT = {"architecture.md.jinja"}


def test_no_template_file_mixes_too_many_answers() -> None:
    counts = {
        path.relative_to(REPO_ROOT / "template"): path.read_text(
            encoding="utf-8"
        ).count("{%")
        for path in (REPO_ROOT / "template").rglob("*")
        if path.is_file() and path.name not in OVER_THE_LIMIT
    }

    assert {
        str(path): count for path, count in counts.items() if count > MAX_STATEMENTS
    } == {}


# --- every set ------------------------------------------------------------------------


def test_renders(answer_set: AnswerSet, render: Render) -> None:
    result = render(answer_set)

    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0
    assert (
        result.project_dir is not None
        and (result.project_dir / "pyproject.toml").is_file()
    )


def test_answers_file_records_the_answers_and_the_source(
    answer_set: AnswerSet, answers: dict[str, Any], pytestconfig: pytest.Config
) -> None:
    assert isinstance(answers.get("_commit"), str) and answers["_commit"]
    # Absolute, so that `copier update` can find the template again.
    assert answers["_src_path"] == str(Path(pytestconfig.option.template))
    assert Path(answers["_src_path"]).is_absolute()
    for factor in answer_set.answers:
        assert answers[factor] == answer_set.answer(factor), factor
    for question, value in answer_set.extra.items():
        assert answers[question] == value, question
    if answer_set.project_name is None:
        # copier.yml's defaults are still the ones the covering array was built on.
        assert answers["package_name"] == DEFAULT_PACKAGE
    else:
        assert answers["project_name"] == answer_set.project_name
        assert answers["package_name"] != DEFAULT_PACKAGE


def leftover_jinja(project: Path) -> list[str]:
    """Every templated file name and every line that still holds a Jinja delimiter."""
    leftovers: list[str] = []
    for path in rendered_files(project):
        rel = path.relative_to(project).as_posix()
        if rel.endswith(".jinja") or JINJA.search(rel):
            leftovers.append(f"{rel}: templated file name")
        text = read_text(path)
        if text is None:
            continue
        for name_re, allowed in LEGITIMATE:
            if name_re.fullmatch(rel):
                text = allowed.sub("", text)
        for number, line in enumerate(text.splitlines(), start=1):
            if JINJA.search(line):
                leftovers.append(f"{rel}:{number}: {line.strip()}")
    return leftovers


def syntax_errors(project: Path) -> list[str]:
    """Every .py file that this interpreter cannot compile, with the line and reason.

    compile() goes past the parser: it also refuses `await` outside an async function,
    `return` outside a function and the like. Nothing is written to disk.
    """
    errors = []
    for path in rendered_files(project):
        if path.suffix == ".py":
            source = path.read_text(encoding="utf-8")
            try:
                compile(source, str(path), "exec", dont_inherit=True)
            except SyntaxError as exc:
                errors.append(f"{path.relative_to(project)}:{exc.lineno}: {exc.msg}")
    return errors


def test_no_leftover_jinja(project: Path) -> None:
    assert leftover_jinja(project) == []


def test_no_template_internals_rendered(project: Path) -> None:
    paths = relpaths(project)

    assert [p for p in paths if "_partials" in p.split("/")] == []
    assert all(Path(p).name for p in paths)


def test_config_files_parse(project: Path) -> None:
    for path in rendered_files(project):
        rel = path.relative_to(project).as_posix()
        if path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in {".yml", ".yaml"}:
            assert load_yaml(path), f"{rel} is empty"


def runs_here(answer_set: AnswerSet) -> bool:
    """This interpreter is at least the set's minimum Python, so it can parse its code."""
    minimum = tuple(int(n) for n in answer_set.answers["python_version"].split("."))
    return minimum <= sys.version_info[:2]


@pytest.mark.parametrize("answer_set", answer_set_params(runs_here))
def test_python_files_parse(project: Path) -> None:
    """Syntax of every .py file, for the sets whose minimum Python is this one or older.

    (A 3.12 set may use 3.12 syntax; test_generated.py compiles those on their own
    interpreter.)
    """
    assert syntax_errors(project) == []


def test_minimum_python_is_the_answer(answer_set: AnswerSet, project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))

    assert (
        pyproject["project"]["requires-python"]
        == f">={answer_set.answers['python_version']}"
    )


def test_layout_of_the_architecture(answer_set: AnswerSet, package_dir: Path) -> None:
    assert (package_dir / "bootstrap.py").is_file()
    assert (package_dir / "main.py").is_file()
    assert (package_dir / "shared").is_dir()
    top = {
        p.name for p in package_dir.iterdir() if p.is_dir() and p.name != "__pycache__"
    }

    if answer_set.answers["architecture"] == "monolith":
        assert {*LAYERS, "shared"} <= top
        assert "modules" not in top
    else:
        assert "modules" in top
        assert not top & set(LAYERS), "modular monolith has top-level layer folders"
        for domain in answer_set.answers["domains"]:
            for layer in LAYERS:
                assert (package_dir / "modules" / domain / layer).is_dir(), (
                    domain,
                    layer,
                )


def test_one_module_per_domain(
    answer_set: AnswerSet, project: Path, package_dir: Path
) -> None:
    domains = answer_set.answers["domains"]

    if answer_set.answers["architecture"] == "monolith":
        for layer in LAYERS:
            for domain in domains:
                module = package_dir / layer / f"{domain}.py"
                assert (
                    module.is_file() or (package_dir / layer / domain).is_dir()
                ), module
    else:
        modules = package_dir / "modules"
        found = {
            p.name for p in modules.iterdir() if p.is_dir() and p.name != "__pycache__"
        }
        assert found == set(domains)

    # No file or folder of a domain that this set did not ask for (defaults leaking in).
    others = {d for level in FACTORS["domains"] for d in level} - set(domains)
    stray = [
        path
        for path in relpaths(project)
        for part in path.split("/")
        if Path(part).stem in others
        or any(part.startswith(f"test_{o}_") for o in others)
    ]
    assert stray == []
    # Each domain has tests of its own.
    tests = " ".join(relpaths(project / "tests"))
    for domain in domains:
        assert f"test_{domain}_" in tests or f"/{domain}/" in tests, domain


def test_ci_files_follow_the_answer(answer_set: AnswerSet, project: Path) -> None:
    ci = answer_set.answers["ci"]
    github = project / ".github" / "workflows" / "checks.yml"
    update_check = project / ".github" / "workflows" / "template-update.yml"
    gitlab = project / ".gitlab-ci.yml"

    updates = answer_set.data.get("template_updates", "pull_request")
    assert github.is_file() == (ci == "github")
    assert update_check.is_file() == (ci == "github" and updates != "renovate")
    bots = answer_set.data.get(
        "dependency_updates", "dependabot" if ci == "github" else "renovate"
    )
    assert (project / "renovate.json").is_file() == (
        updates == "renovate" or bots in ("renovate", "both")
    )
    dependabot = project / ".github" / "dependabot.yml"
    assert dependabot.is_file() == (bots in ("dependabot", "both"))
    assert dependency_bot_problems(project) == []
    # The script that proposes an update is there whatever the CI, to run by hand.
    assert (project / "tools" / "template_update.py").is_file()
    assert (project / ".github").exists() == (ci == "github")
    assert gitlab.is_file() == (ci == "gitlab")
    if ci == "none":
        return
    config = github if ci == "github" else gitlab
    text = config.read_text(encoding="utf-8")
    assert load_yaml(config)
    assert "make check" in text
    assert answer_set.answers["python_version"] in text
    assert ("postgres" in text) == (answer_set.answers["database"] == "postgresql")
    broker = answer_set.answers["broker"]
    uses_redis = answer_set.answers["cache"] in ("redis", "two_level")
    assert ("redis:" in text) == (uses_redis or broker == "redis")
    # The job runs the suite against the broker it was generated for, and no other.
    for server in ("rabbitmq", "nats"):
        assert bool(re.search(rf"\b{server}:\d", text)) == (broker == server), server
    # The scheduled job proposes each new release, or only reports it; with Renovate
    # there is none.
    scheduled = update_check if ci == "github" else gitlab
    job = scheduled.read_text(encoding="utf-8") if scheduled.is_file() else ""
    proposes = "tools/template_update.py --open " + ci
    assert (proposes in job) == (updates == "pull_request")
    assert ("copier check-update --quiet" in job) == (updates == "notify")


def test_alert_rules_pass_their_tests_and_the_dashboard_reads_served_metrics(
    project: Path,
) -> None:
    assert observability_problems(project) == []


def test_the_catalog_entities_are_valid_and_define_each_api_by_its_document(
    project: Path,
) -> None:
    assert catalog_problems(project) == []


def test_compose_and_ci_files_match_their_published_schemas(project: Path) -> None:
    assert (project / "compose.yaml").is_file()
    assert published_schema_problems(project) == []


def test_compose_has_postgres_only_for_postgresql(
    answer_set: AnswerSet, project: Path
) -> None:
    compose = project / "compose.yaml"
    text = compose.read_text(encoding="utf-8")
    services = load_yaml(compose)[0]["services"]

    wants_postgres = answer_set.answers["database"] == "postgresql"
    assert ("postgres" in text.lower()) == wants_postgres
    assert (
        any("postgres" in str(s.get("image", "")) for s in services.values())
        == wants_postgres
    )


def test_tracing_files_only_with_tracing(answer_set: AnswerSet, project: Path) -> None:
    tracing = answer_set.answers["tracing"]
    paths = relpaths(project)
    tracing_files = [p for p in paths if "tracing" in Path(p).name]
    otel_users = [
        p
        for p in paths
        if (p.endswith(".py") or p == "pyproject.toml")
        and "opentelemetry" in (project / p).read_text(encoding="utf-8")
    ]

    assert bool(tracing_files) == tracing, tracing_files
    assert bool(otel_users) == tracing, otel_users
    assert (
        "opentelemetry" in (project / "pyproject.toml").read_text(encoding="utf-8")
    ) == tracing


# --- cache and rate limiting ----------------------------------------------------------

REDIS_CACHES = ("redis", "two_level")
IN_PROCESS_CACHES = ("memory", "two_level")

# Which files and settings exist for a (cache, rate_limit) pair of answers.
Wanted = Callable[[str, str], bool]

# Files of the cache and the rate limiter under src/<pkg>/, and when each must exist.
CHOICE_FILES: dict[str, Wanted] = {
    "shared/cache/reads.py": lambda c, r: True,
    "shared/cache/memory.py": lambda c, r: c in IN_PROCESS_CACHES,
    "shared/cache/redis_store.py": lambda c, r: c in REDIS_CACHES,
    "shared/cache/two_level.py": lambda c, r: c == "two_level",
    "shared/redis.py": lambda c, r: c in REDIS_CACHES,
    "shared/rate_limit/limiter.py": lambda c, r: r != "none",
    "shared/rate_limit/middleware.py": lambda c, r: r != "none",
}

# Variables of .env.example, and when each must be listed.
ENV_VARIABLES: dict[str, Wanted] = {
    "APP_REDIS_URL": lambda c, r: c in REDIS_CACHES,
    "APP_REDIS_TIMEOUT_S": lambda c, r: c in REDIS_CACHES,
    "APP_CACHE_KEY_PREFIX": lambda c, r: c in REDIS_CACHES,
    "APP_CACHE_TTL_S": lambda c, r: c != "none",
    "APP_CACHE_LIST_TTL_S": lambda c, r: c != "none",
    "APP_CACHE_MAX_ENTRIES": lambda c, r: c in IN_PROCESS_CACHES,
    "APP_CACHE_L1_TTL_S": lambda c, r: c == "two_level",
    "APP_RATE_LIMIT_PER_MINUTE": lambda c, r: r != "none",
    # Only a limiter in Redis can lose its storage and have to fail open or closed.
    "APP_RATE_LIMIT_FAIL_OPEN": lambda c, r: r != "none" and c in REDIS_CACHES,
    "APP_TRUSTED_PROXIES": lambda c, r: True,
}

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def choice_problems(project: Path, cache: str, rate_limit: str) -> list[str]:
    """What in a rendered project does not follow its cache and rate_limit answers."""
    answers = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    package_dir = project / "src" / str(answers["package_name"])
    uses_redis = cache in REDIS_CACHES
    # Redis Streams as the broker need a Redis server, not the cache's client.
    redis_server = uses_redis or answers.get("broker") == "redis"
    problems: list[str] = []

    for rel, wanted in CHOICE_FILES.items():
        if (package_dir / rel).is_file() != wanted(cache, rate_limit):
            state = "missing" if wanted(cache, rate_limit) else "present"
            problems.append(f"src/<pkg>/{rel} is {state}")
    if (package_dir / "shared" / "rate_limit").exists() != (rate_limit != "none"):
        problems.append("shared/rate_limit/ exists exactly when rate_limit is not none")

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = [str(d) for d in pyproject["project"]["dependencies"]]
    names = {
        match[1].lower() for d in dependencies if (match := _REQUIREMENT_NAME.match(d))
    }
    if uses_redis and "redis" not in names:
        problems.append(f"no redis dependency: {dependencies}")
    if not uses_redis and "redis" in names:
        problems.append(f"a redis dependency without a Redis cache: {dependencies}")
    if rate_limit == "sliding_window" and "limits" not in names:
        problems.append(f"a sliding window without the limits library: {dependencies}")

    compose_text = (project / "compose.yaml").read_text(encoding="utf-8")
    services = load_yaml(project / "compose.yaml")[0]["services"]
    if ("redis" in services) != redis_server:
        problems.append(f"compose.yaml services: {sorted(services)}")
    if redis_server and "redis" in services:
        if not str(services["redis"].get("image", "")).startswith("redis:"):
            problems.append("compose.yaml: the redis service runs no redis image")
        if "healthcheck" not in services["redis"]:
            problems.append("compose.yaml: the redis service has no health check")
        for name in ("app", "migrate") if uses_redis else ():
            url = (services[name].get("environment") or {}).get("APP_REDIS_URL")
            if url != "redis://redis:6379/0":
                problems.append(f"compose.yaml: {name} has APP_REDIS_URL={url!r}")
        depends = services["app"].get("depends_on") or {}
        if (depends.get("redis") or {}).get("condition") != "service_healthy":
            problems.append("compose.yaml: app does not wait for a healthy redis")
    if not redis_server and "redis" in compose_text.lower():
        problems.append("compose.yaml mentions redis without Redis")
    if not uses_redis and "APP_REDIS_URL" in compose_text:
        problems.append("compose.yaml sets APP_REDIS_URL without a Redis cache")

    env_example = (project / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example, re.MULTILINE))
    for variable, wanted in ENV_VARIABLES.items():
        if (variable in listed) != wanted(cache, rate_limit):
            state = "missing from" if wanted(cache, rate_limit) else "listed in"
            problems.append(f"{variable} is {state} .env.example")

    architecture_doc = (project / "docs" / "architecture.md").read_text(
        encoding="utf-8"
    )
    for heading in ("## Caching", "## Rate limiting"):
        if f"\n{heading}\n" not in architecture_doc:
            problems.append(f"docs/architecture.md has no '{heading}' section")
    return problems


def test_cache_and_rate_limit_files_follow_the_answers(
    answer_set: AnswerSet, project: Path
) -> None:
    assert (
        choice_problems(
            project, answer_set.answers["cache"], answer_set.answers["rate_limit"]
        )
        == []
    )


def test_env_example_gives_the_rate_limit_answer(
    answer_set: AnswerSet, project: Path, answers: dict[str, Any]
) -> None:
    env_example = (project / ".env.example").read_text(encoding="utf-8")
    if answer_set.answers["rate_limit"] == "none":
        assert "RATE_LIMIT" not in env_example
    else:
        per_minute = answer_set.extra.get("rate_limit_per_minute", 100)
        assert answers["rate_limit_per_minute"] == per_minute
        assert f"\nAPP_RATE_LIMIT_PER_MINUTE={per_minute}\n" in f"\n{env_example}\n"


def test_only_a_sqlite_image_has_a_default_database(
    answer_set: AnswerSet, project: Path
) -> None:
    """A PostgreSQL service's image names no database (the deployment does), so a
    missing APP_DATABASE_URL stops it in production instead of writing to SQLite."""
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    sqlite = answer_set.answers["database"] == "sqlite"
    assert ("APP_DATABASE_URL=sqlite" in dockerfile) is sqlite
    assert ("mkdir /data" in dockerfile) is sqlite


def test_uvicorn_leaves_proxy_headers_to_the_app(project: Path) -> None:
    """The app honours X-Forwarded-For only from APP_TRUSTED_PROXIES; uvicorn must not."""
    for name in ("Makefile", "Dockerfile"):
        text = (project / name).read_text(encoding="utf-8")
        assert "--no-proxy-headers" in text, name
        assert "--proxy-headers" not in text, name
        assert "forwarded-allow-ips" not in text, name


# Every combination of the three answers that decide which cache and rate-limit code
# exists (2 x 4 x 3 = 24), each rendered once with the other answers at their defaults.
# Render-only: no tools run, so the product stays cheap where the covering array
# above only promises pairs.
CACHE_PRODUCT = [
    pytest.param(
        architecture, cache, rate_limit, id=f"{architecture}-{cache}-{rate_limit}"
    )
    for architecture in FACTORS["architecture"]
    for cache in FACTORS["cache"]
    for rate_limit in FACTORS["rate_limit"]
]


@pytest.mark.parametrize(("architecture", "cache", "rate_limit"), CACHE_PRODUCT)
def test_every_cache_and_rate_limit_combination_renders(
    architecture: str, cache: str, rate_limit: str, copie: Copie
) -> None:
    result = copie.copy(
        extra_answers={
            "architecture": architecture,
            "cache": cache,
            "rate_limit": rate_limit,
        }
    )

    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0
    assert result.project_dir is not None
    project = result.project_dir
    assert leftover_jinja(project) == []
    # The defaults' python_version (3.11) is the oldest this suite runs on.
    assert syntax_errors(project) == []
    assert choice_problems(project, cache, rate_limit) == []


# --- broker ---------------------------------------------------------------------------

# Per broker answer: the FastStream extra and the scheme of APP_BROKER_URL.
BROKER_EXTRA = {"rabbitmq": "rabbit", "nats": "nats", "redis": "redis"}
BROKER_SCHEME = {"rabbitmq": "amqp://", "nats": "nats://", "redis": "redis://"}
EVENT_SETTINGS = (
    "APP_BROKER_URL",
    "APP_EVENTS_NAMESPACE",
    "APP_OUTBOX_POLL_INTERVAL_S",
    "APP_EVENTS_RETRY_DELAY_S",
    "APP_EVENTS_MAX_ATTEMPTS",
)
EVENT_TABLES = {"outbox", "handled_events", "failed_deliveries"}
_FASTSTREAM = re.compile(r"^\s*faststream\s*(?:\[([^\]]*)\])?", re.IGNORECASE)


def _module_constants(path: Path) -> dict[str, Any]:
    """The module's top-level assignments of literal values (`revision`, ...)."""
    constants: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                with contextlib.suppress(ValueError):
                    constants[target.id] = ast.literal_eval(value)
    return constants


def _table_calls(path: Path, function: str, operation: str) -> set[str]:
    """The tables that `function` passes to `op.<operation>(...)`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    (body,) = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == function
    ]
    return {
        node.args[0].value
        for node in ast.walk(body)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == operation
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def migration_graph(versions: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Each revision in the folder `versions`: its file and what it revises."""
    graph: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for path in sorted(versions.glob("*.py")):
        constants = _module_constants(path)
        if "revision" not in constants:
            continue
        down = constants.get("down_revision")
        parents = () if down is None else (down,) if isinstance(down, str) else down
        assert constants["revision"] not in graph, f"{path.name}: revision reused"
        graph[constants["revision"]] = (path, tuple(parents))
    return graph


def test_events_follow_the_broker_answer(
    answer_set: AnswerSet, project: Path, package_dir: Path
) -> None:
    broker = answer_set.answers["broker"]
    events = package_dir / "shared" / "events"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    extras = [
        match[1]
        for d in pyproject["project"]["dependencies"]
        if (match := _FASTSTREAM.match(str(d)))
    ]
    env_example = (project / ".env.example").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", env_example, re.MULTILINE))
    code_mentions = [
        p
        for p in relpaths(project)
        if p.endswith(".py") and "faststream" in (project / p).read_text("utf-8")
    ]

    if broker == "none":
        assert not events.exists()
        assert extras == []
        assert code_mentions == []
        assert not set(EVENT_SETTINGS) & set(listed)
        return
    # With Redis, the bus trims the streams (streams.py).
    assert {p.name for p in events.glob("*.py")} == {
        "__init__.py",
        "event.py",
        "outbox.py",
        "bus.py",
        "cli.py",
        "metrics.py",
    } | ({"streams.py"} if broker == "redis" else set())
    # One FastStream requirement, with the client of this broker only.
    assert extras == [BROKER_EXTRA[broker]]
    assert code_mentions == [
        (events / "bus.py").relative_to(project).as_posix()
    ], "FastStream is used outside the bus"
    assert set(EVENT_SETTINGS) <= set(listed)
    assert listed["APP_BROKER_URL"].startswith(BROKER_SCHEME[broker])


PLATFORM_TABLES = {
    "accounts": {"auth_accounts", "auth_refresh_tokens"},
    "api_keys": {"auth_api_keys"},
    "events": EVENT_TABLES,
}


def test_platform_tables_come_from_the_platform_branches(
    answer_set: AnswerSet, project: Path, package_dir: Path
) -> None:
    """The service's history is one chain from 0001 that creates only domain tables;
    each platform feature the answers turn on is a branch of its own, in the
    platform's folder, which alembic.ini lists beside the service's."""
    answers = answer_set.answers
    service = migration_graph(project / "migrations" / "versions")
    children: dict[str, list[str]] = {revision: [] for revision in service}
    for revision, (_, parents) in service.items():
        for parent in parents:
            assert parent in service, f"{revision} revises the unknown {parent}"
            children[parent].append(revision)
    assert [r for r, (_, parents) in service.items() if not parents] == ["0001"]
    assert all(len(below) <= 1 for below in children.values()), children
    every_platform_table = set().union(*PLATFORM_TABLES.values())
    for path, _ in service.values():
        assert not _table_calls(path, "upgrade", "create_table") & every_platform_table

    features = {
        "accounts": answers["auth"] == "jwt",
        "api_keys": answers["auth"] == "api_key",
        "events": answers["broker"] != "none",
    }
    platform = migration_graph(package_dir / "shared" / "migrations")
    assert sorted(platform) == sorted(
        f"platform_{feature}_0001" for feature, on in features.items() if on
    )
    for revision, (path, parents) in platform.items():
        feature = revision.removeprefix("platform_").removesuffix("_0001")
        assert parents == ()
        assert _module_constants(path)["branch_labels"] == (f"platform_{feature}",)
        assert _table_calls(path, "upgrade", "create_table") == PLATFORM_TABLES[feature]
        assert _table_calls(path, "downgrade", "drop_table") == PLATFORM_TABLES[feature]

    alembic = configparser.ConfigParser(interpolation=None)
    alembic.read(project / "alembic.ini", encoding="utf-8")
    assert alembic["alembic"]["version_locations"].split() == [
        "%(here)s/migrations/versions",
        f"{package_dir.name}.shared:migrations",
    ]


def test_architecture_doc_describes_the_broker(
    answer_set: AnswerSet, project: Path, package_dir: Path
) -> None:
    broker = answer_set.answers["broker"]
    doc = (project / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "\n## Integration patterns\n" in doc
    section = doc.split("\n## Integration patterns\n", 1)[1].split("\n## ", 1)[0]

    if broker == "none":
        assert "`broker` is `none`" in section
        assert "APP_BROKER_URL" not in doc
        return
    for setting in EVENT_SETTINGS:
        assert f"`{setting}`" in section, setting
    for term in ("`outbox`", "`handled_events`", "At-least-once", "broker is down"):
        assert term in section, term
    assert "`broker`" in doc.split("\n## Health checks\n", 1)[1].split("\n## ", 1)[0]
    # The consumer name in the doc is the one the code subscribes under.
    names = [
        value
        for path in package_dir.rglob("*.py")
        for key, value in _module_constants(path).items()
        if key.startswith("RELEASE_") and isinstance(value, str)
    ]
    domains = answer_set.answers["domains"]
    # The sample relation, whose deletions go through the broker, holds while the
    # second domain keeps the sample fields; the answer's references are foreign keys.
    if len(domains) >= 2 and domains[1] not in answer_set.answer("entities"):
        assert len(names) == 1, names
        assert f"`{names[0]}`" in section
        assert f"`{domains[0]}.deleted`" in section
    else:
        assert names == []
        assert "No events yet" in section


def scaffold_once(project: Path, answers: dict[str, Any]) -> set[str]:
    """The rendered files that copier.yml's `_skip_if_exists` gives to the service."""
    import jinja2
    from pathspec import PathSpec

    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    context = dict(answers)
    # A computed value (`when: false`), not in the answers file.
    computed = env.from_string(config["platform_dir"]["default"])
    context["platform_dir"] = computed.render(context)
    patterns = [env.from_string(p).render(context) for p in config["_skip_if_exists"]]
    spec = PathSpec.from_lines("gitignore", patterns)  # as Copier matches them
    return {rel for rel in relpaths(project) if spec.match_file(rel)}


def test_scaffold_once_files_are_the_service_own(
    answer_set: AnswerSet, project: Path, answers: dict[str, Any]
) -> None:
    """Sample domains, their tests, the first migrations and the extension points are
    the service's (never overwritten by an update); everything else is the template's.
    """
    package = answers["package_name"]
    owned_by_service = scaffold_once(project, answers)
    src = f"src/{package}"

    for hook in (
        f"{src}/app_extensions.py",
        f"{src}/shared/service_settings.py",
        "docs/service.md",
        "Makefile.local",
        "README.md",
    ):
        assert hook in owned_by_service
    for domain in answers["domains"]:
        samples = {
            rel
            for rel in relpaths(project)
            if f"/modules/{domain}/" in rel
            or rel.endswith(
                (f"/{domain}.py", f"test_{domain}_api.py", f"test_{domain}_service.py")
            )
        }
        assert samples
        assert samples <= owned_by_service, samples - owned_by_service
    for owned in (
        f"{src}/main.py",
        f"{src}/bootstrap.py",
        f"{src}/shared/config.py",
        f"{src}/shared/db.py",
        "pyproject.toml",
        "Makefile",
        "docs/architecture.md",
        "tests/conftest.py",
        "migrations/env.py",
    ):
        assert owned not in owned_by_service
    assert not any(rel.startswith(f"{src}/shared/http/") for rel in owned_by_service)
    # Each domain joins the app through a wiring module of its own, which the team
    # may edit; bootstrap.py (template-owned) only lists the generated ones.
    for domain in answers["domains"]:
        assert f"{src}/wiring/{domain}.py" in owned_by_service
    assert f"{src}/wiring/__init__.py" in relpaths(project)
    assert f"{src}/wiring/__init__.py" not in owned_by_service


def test_pre_commit_refuses_conflict_leftovers(project: Path, tmp_path: Path) -> None:
    """What `copier update` can leave behind never gets committed: inline markers
    (outside a git merge, which is how Copier leaves them) and `.rej` files."""
    config = load_yaml(project / ".pre-commit-config.yaml")[0]
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    conflicted = tmp_path / "main.py"
    conflicted.write_text(
        "<<<<<<< before updating\nA = 1\n=======\nA = 2\n>>>>>>> after updating\n"
    )
    clean = tmp_path / "clean.py"
    clean.write_text("A = 1\n")
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    checker = Path(sys.executable).with_name("check-merge-conflict")
    configured = hooks["check-merge-conflict"].get("args", [])

    def check(path: Path, args: list[str]) -> int:
        done = subprocess.run(
            [str(checker), *args, str(path)],
            cwd=tmp_path,
            capture_output=True,
            check=False,
        )
        return done.returncode

    assert check(conflicted, configured) == 1
    assert check(clean, configured) == 0
    # Without the flag the hook looks only during a git merge, and lets this through.
    assert check(conflicted, []) == 0
    rej = hooks["no-rej-files"]
    assert rej["language"] == "fail"
    assert re.search(rej["files"], "src/app/main.py.rej")
    assert not re.search(rej["files"], "src/app/main.py")


# --- relations ------------------------------------------------------------------------

# A domain of two references and a plain string: no filter, no unique and no other
# field type (rendering paths the answer sets' typed entities do not take).
TWO_REFERENCES = {
    "authors": {"name": "string"},
    "books": {"title": "string"},
    "reviews": {
        "author_id": {"type": "ref", "to": "authors", "optional": True},
        "book_id": {"type": "ref", "to": "books", "on_delete": "cascade"},
        "text": "string",
    },
}


@pytest.mark.parametrize("architecture", ["monolith", "modular_monolith"])
def test_a_domain_of_references_only_renders_lint_clean(
    architecture: str, copie: Copie
) -> None:
    result = copie.copy(
        extra_answers={
            "architecture": architecture,
            "domains": ["authors", "books", "reviews"],
            "entities": TWO_REFERENCES,
        }
    )

    assert result.exit_code == 0, repr(result.exception)
    assert result.project_dir is not None
    project = result.project_dir
    (package,) = (project / "src").iterdir()
    routes = (
        package / "modules" / "reviews" / "api" / "routes.py"
        if architecture == "modular_monolith"
        else package / "api" / "reviews.py"
    )
    code = routes.read_text(encoding="utf-8")
    # The lists within each parent: /authors/{author_id}/reviews and /books/...
    assert 'Within("authors", "author_id", ReviewService.list_for_author)' in code
    assert 'Within("books", "book_id", ReviewService.list_for_book)' in code
    assert "query=" not in code
    assert_lint_clean(project)


def test_a_service_refers_to_two_others_over_http_and_follows_their_deletions(
    copie: Copie,
) -> None:
    entities = {
        **TWO_REFERENCES,
        # A chain: deleting an author deletes their books, which deletes the
        # books' reviews in the service after.
        "books": {
            **TWO_REFERENCES["books"],
            "author_id": {"type": "ref", "to": "authors", "on_delete": "cascade"},
        },
        "reviews": {
            **TWO_REFERENCES["reviews"],
            "author_id": {
                "type": "ref",
                "to": "authors",
                "optional": True,
                "on_delete": "set_null",
            },
        },
    }
    result = copie.copy(
        extra_answers={
            "architecture": "microservices",
            "domains": ["authors", "books", "reviews"],
            "entities": entities,
            # Without auth, authors have no filter at all (no owner either).
            "auth": "none",
        }
    )

    assert result.exit_code == 0, repr(result.exception)
    assert result.project_dir is not None
    project = result.project_dir
    reviews = project / "services" / "reviews"
    (package,) = (reviews / "src").iterdir()
    wiring = (package / "wiring" / "reviews.py").read_text(encoding="utf-8")
    config = (package / "config.py").read_text(encoding="utf-8")
    compose = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))
    for target in ("authors", "books"):
        assert f'remote_lookup(container, "{target}", settings.{target}_url)' in wiring
    assert (
        "container.subscribe(\n        AUTHOR_DELETED,\n        RELEASE_AUTHOR,"
        in wiring
    )
    assert (
        "container.subscribe(\n        BOOK_DELETED,\n        DELETE_WITH_BOOK,"
        in wiring
    )
    assert "authors_url: str" in config and "books_url: str" in config
    environment = compose["services"]["reviews"]["environment"]
    assert environment["APP_AUTHORS_URL"] == "http://authors:8000"
    assert environment["APP_BOOKS_URL"] == "http://books:8000"
    assert "APP_BOOKS_URL" not in compose["services"]["books"]["environment"]
    # The books the chain deletes publish their own deletions, for the reviews.
    books = project / "services" / "books" / "src" / "acme_service_books"
    cascade = (books / "application" / "books.py").read_text(encoding="utf-8")
    assert "for book_id in deleted:" in cascade and "BOOK_DELETED," in cascade
    for folder in [project, *sorted((project / "services").iterdir())]:
        assert_lint_clean(folder)


def assert_lint_clean(folder: Path) -> None:
    """ruff, ruff format and black, each with the rendered configuration, pass."""
    for check in (
        ["ruff", "check", "--quiet"],
        ["ruff", "format", "--check", "--quiet"],
        ["black", "--check", "--quiet"],
    ):
        lint = subprocess.run(
            [sys.executable, "-m", *check, "."],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.returncode == 0, f"{folder}: {lint.stdout}{lint.stderr}"
