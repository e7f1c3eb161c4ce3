"""A microservices system renders into a workspace of services and one platform (fast).

Each set of MICROSERVICE_SETS is rendered once per xdist worker; these tests only read
the result. test_generated.py runs every service's gates and suites and the
cross-service tests; test_kubernetes.py validates the manifests.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from answer_sets import MICROSERVICE_SETS, AnswerSet, answer_set_params
from helpers import (
    catalog_problems,
    dependency_bot_problems,
    observability_problems,
    published_schema_problems,
    rendered_files,
)
from pytest_copie.plugin import Result
from test_render import leftover_jinja, load_yaml

Render = Callable[[AnswerSet], Result]


@pytest.fixture(params=answer_set_params(sets=MICROSERVICE_SETS))
def answer_set(request: pytest.FixtureRequest) -> AnswerSet:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def project(answer_set: AnswerSet, render: Render) -> Path:
    result = render(answer_set)
    assert result.exit_code == 0, f"{answer_set.id}: {result.exception!r}"
    assert result.project_dir is not None
    return result.project_dir


@pytest.fixture
def answers(project: Path) -> dict[str, Any]:
    data = yaml.safe_load((project / ".copier-answers.yml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_every_set_is_microservices_with_a_broker() -> None:
    for answer_set in MICROSERVICE_SETS:
        assert answer_set["architecture"] == "microservices"
        assert answer_set["broker"] != "none"
        assert len(answer_set["domains"]) >= 2
    assert {s["broker"] for s in MICROSERVICE_SETS} == {"rabbitmq", "nats", "redis"}
    assert {s["auth"] for s in MICROSERVICE_SETS} == {
        "jwt",
        "oauth2",
        "api_key",
        "none",
    }
    assert {s["cache"] for s in MICROSERVICE_SETS} == {
        "memory",
        "redis",
        "two_level",
        "none",
    }


def test_no_leftover_jinja(project: Path) -> None:
    assert leftover_jinja(project) == []


def test_alert_rules_pass_their_tests_and_the_dashboard_reads_served_metrics(
    project: Path,
) -> None:
    assert observability_problems(project) == []


def test_the_dependency_bots_leave_what_the_template_pins_alone(
    project: Path,
) -> None:
    assert dependency_bot_problems(project) == []


def test_the_catalog_entities_are_valid_and_define_each_api_by_its_document(
    project: Path,
) -> None:
    assert catalog_problems(project) == []


def test_config_files_parse(project: Path) -> None:
    for path in rendered_files(project):
        if path.suffix == ".toml":
            toml(path)
        elif path.suffix in {".yml", ".yaml"}:
            assert load_yaml(path), path


def test_one_workspace_of_one_platform_and_a_service_per_domain(
    project: Path, answers: dict[str, Any]
) -> None:
    package = answers["package_name"]
    domains = answers["domains"]

    root = toml(project / "pyproject.toml")
    assert root["tool"]["uv"]["workspace"]["members"] == ["libs/*", "services/*"]
    assert sorted(p.name for p in (project / "services").iterdir()) == sorted(domains)
    assert [p.name for p in (project / "libs").iterdir()] == [f"{package}_platform"]

    platform = project / "libs" / f"{package}_platform"
    assert (platform / "src" / f"{package}_platform" / "py.typed").is_file()
    platform_name = toml(platform / "pyproject.toml")["project"]["name"]
    for domain in domains:
        service = project / "services" / domain
        pyproject = toml(service / "pyproject.toml")
        # Its own distribution and package, depending on the one platform library.
        assert pyproject["project"]["dependencies"] == [platform_name]
        assert pyproject["tool"]["uv"]["sources"][platform_name] == {"workspace": True}
        source = service / "src" / f"{package}_{domain}"
        assert (source / "bootstrap.py").is_file()
        assert (source / "main.py").is_file()
        # Laid out as a monolith of its one domain; the platform is not copied in.
        for layer in ("api", "application", "domain", "infrastructure"):
            assert (source / layer / f"{domain}.py").is_file(), (domain, layer)
        assert not (source / "shared").exists()
        assert not (source / "modules").exists()
        for other in set(domains) - {domain}:
            assert not (source / "domain" / f"{other}.py").exists()
        for name in ("Makefile", "Dockerfile", "alembic.ini", ".env.example"):
            assert (service / name).is_file(), (domain, name)


def created_tables(migration: Path) -> set[str]:
    return set(
        re.findall(r'op\.create_table\(\s*"(\w+)"', migration.read_text("utf-8"))
    )


def test_each_service_owns_its_tables_and_migrations(
    project: Path, answers: dict[str, Any]
) -> None:
    """Each service's history creates its domain's table and nothing else; the
    outbox tables come once, from the platform library's own branch, which every
    service's alembic.ini lists."""
    for domain in answers["domains"]:
        service = project / "services" / domain
        tables: set[str] = set()
        for migration in (service / "migrations" / "versions").glob("*.py"):
            tables |= created_tables(migration)
        assert tables == {domain}, f"{domain}'s own history creates {tables}"
        alembic = (service / "alembic.ini").read_text(encoding="utf-8")
        assert f"\n    {answers['package_name']}_platform:migrations\n" in alembic
    platform = project / "libs" / f"{answers['package_name']}_platform" / "src"
    (events,) = platform.glob("*/migrations/events_0001.py")
    assert {"outbox", "handled_events", "failed_deliveries"} == created_tables(events)


# A service's own tests: its domain's, and the short contract tests that subclass
# the platform's (<platform>.testing.contracts). Everything else runs once, in the
# platform library's suite.
SERVICE_TEST_FILES = re.compile(
    r"(__init__|conftest|fakes|peers|resources/(__init__|\w+)"
    r"|api/(__init__|test_app|test_schema|test_access|test_\w+_api)"
    r"|integration/(__init__|test_migrations|test_cache|test_outages|test_events"
    r"|test_deletions)"
    r"|unit/(__init__|test_\w+_service))\.py"
)
# The longest run of identical lines two services' tests may share. The use-case
# tests included: they subclass the platform's UseCasesContract.
SHARED_RUN_LIMIT = 20


def longest_shared_run(a: list[str], b: list[str]) -> int:
    """The length of the longest run of lines (stripped, blank ones dropped) that
    stand in both `a` and `b` in the same order."""
    longest = 0
    previous = [0] * (len(b) + 1)
    for line in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            if line == other:
                current[j] = previous[j - 1] + 1
                longest = max(longest, current[j])
        previous = current
    return longest


def test_each_service_keeps_only_its_domain_and_contract_tests(
    project: Path, answers: dict[str, Any]
) -> None:
    sources: dict[str, list[str]] = {}
    for domain in answers["domains"]:
        tests = project / "services" / domain / "tests"
        for path in sorted(tests.rglob("*.py")):
            relative = path.relative_to(tests).as_posix()
            assert SERVICE_TEST_FILES.fullmatch(relative), f"{domain}: {relative}"
            if relative.startswith("resources/"):
                # Its entity's test values: the same in every service that keeps
                # the sample entity, as the entity's code is.
                continue
            lines = [line.strip() for line in path.read_text("utf-8").splitlines()]
            sources[f"{domain}/{relative}"] = [line for line in lines if line]
    for first, second in itertools.combinations(sources, 2):
        if first.split("/")[0] == second.split("/")[0]:
            continue
        run = longest_shared_run(sources[first], sources[second])
        assert run < SHARED_RUN_LIMIT, f"{first} and {second} share {run} lines"


def test_the_second_service_asks_the_first_over_http_and_reacts_to_its_events(
    project: Path, answers: dict[str, Any]
) -> None:
    package = answers["package_name"]
    parent, child = answers["domains"][:2]
    parent_src = project / "services" / parent / "src" / f"{package}_{parent}"
    child_src = project / "services" / child / "src" / f"{package}_{child}"

    child_wiring = (child_src / "wiring" / f"{child}.py").read_text(encoding="utf-8")
    # The platform's client (deadline, retries, circuit breaker) at the parent's URL,
    # however the call is wrapped.
    called = " ".join(child_wiring.split()).replace("( ", "(")
    called = called.replace(", )", ")").replace(" )", ")")
    assert f'remote_lookup(container, "{parent}", settings.{parent}_url)' in called
    assert "container.subscribe(" in child_wiring
    assert (child_src / "config.py").read_text("utf-8").count(f"{parent}_url") == 1

    # The first service publishes and depends on nobody.
    parent_wiring = (parent_src / "wiring" / f"{parent}.py").read_text("utf-8")
    assert "ServiceClient" not in parent_wiring
    assert "container.subscribe(" not in parent_wiring
    emits = (parent_src / "application" / f"{parent}.py").read_text("utf-8")
    assert f'"{parent}.deleted"' in emits
    # Nothing imports another service.
    for domain in answers["domains"]:
        for path in (project / "services" / domain).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for other in set(answers["domains"]) - {domain}:
                assert f"{package}_{other}" not in text, (path, other)


def test_services_share_one_events_namespace_and_the_broker(
    project: Path, answers: dict[str, Any]
) -> None:
    platform_config = (
        project
        / "libs"
        / f"{answers['package_name']}_platform"
        / "src"
        / f"{answers['package_name']}_platform"
        / "config.py"
    ).read_text(encoding="utf-8")
    assert f'default="{answers["project_slug"]}"' in platform_config
    for domain in answers["domains"]:
        env = (project / "services" / domain / ".env.example").read_text("utf-8")
        assert f"APP_EVENTS_NAMESPACE={answers['project_slug']}\n" in env
        assert "APP_BROKER_URL=" in env
        assert ("APP_SERVICE_TOKEN=" in env) == (answers["auth"] != "none")


def test_make_runs_every_service_on_its_own_port(
    project: Path, answers: dict[str, Any]
) -> None:
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert "\nBASE_PORT ?= 8000\n" in makefile
    for index, domain in enumerate(answers["domains"]):
        port = f"PORT=$$(($(BASE_PORT) + {index}))"
        assert f"-C services/{domain} run HOST=$(HOST) {port}" in makefile
        own = (project / "services" / domain / "Makefile").read_text(encoding="utf-8")
        assert f"\nPORT ?= {8000 + index}\n" in own
    assert re.search(
        r"^test: test-platform test-services test-system ", makefile, re.MULTILINE
    )


def test_the_architecture_doc_describes_every_service(
    project: Path, answers: dict[str, Any]
) -> None:
    doc = (project / "docs" / "architecture.md").read_text(encoding="utf-8")
    parent = answers["domains"][0]
    for heading in ("## Services", "## Integration patterns"):
        assert f"\n{heading}\n" in doc
    for domain in answers["domains"]:
        assert f"| `{domain}` |" in doc
        assert (project / "services" / domain / "docs" / "architecture.md").is_file()
    for term in ("outbox", "circuit breaker", "X-Request-ID", f"`{parent}.deleted`"):
        assert term in doc, term


def test_compose_and_ci_files_match_their_published_schemas(project: Path) -> None:
    assert published_schema_problems(project) == []


def test_compose_runs_the_whole_system(project: Path, answers: dict[str, Any]) -> None:
    compose = yaml.safe_load((project / "compose.yaml").read_text("utf-8"))
    services = compose["services"]
    for index, domain in enumerate(answers["domains"]):
        name = domain.replace("_", "-")
        # The migration step builds the image the service then runs.
        build = services[f"{name}-migrate"]["build"]
        assert build["context"] == "."
        assert build["dockerfile"] == f"services/{domain}/Dockerfile"
        assert services[name]["image"] == services[f"{name}-migrate"]["image"]
        assert services[name]["ports"] == [f"{8000 + index}:8000"]
        depends = services[name]["depends_on"]
        assert (
            depends[f"{name}-migrate"]["condition"] == "service_completed_successfully"
        )
    broker = {"rabbitmq": "rabbitmq", "nats": "nats", "redis": "redis"}
    assert broker[answers["broker"]] in services
