"""deploy/k8s: a kustomize base that Kubernetes accepts and that fits the service.

Every manifest is checked against the Kubernetes API schemas (kubernetes-validate,
strict: an unknown field fails) for the oldest Kubernetes release still supported
upstream, then against what the service needs: probes on its health routes, its
port, settings it really reads, the Secret it expects, an autoscaler on its
Deployment. A microservices system has one such base per service
(deploy/k8s/<domain>/), listed by the root kustomization.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from answer_sets import MICROSERVICE_SETS, AnswerSet, answer_set_params
from pytest_copie.plugin import Copie

KUBERNETES_VERSION = "1.35.0"
PROBES = {"livenessProbe": "/health/live", "readinessProbe": "/health/ready"}


def manifests(directory: Path) -> dict[str, dict[str, Any]]:
    """<directory>/*.yaml by file name, each holding one document."""
    found = {}
    for path in sorted(directory.glob("*.yaml")):
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert len(documents) == 1, f"{path.name}: one document per file"
        found[path.name] = documents[0]
    return found


def env_keys(service: Path) -> set[str]:
    """Every APP_ variable .env.example documents (set or commented out)."""
    text = (service / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?(APP_[A-Z0-9_]+)=", text, re.MULTILINE))


def check_base(project: Path, answers: dict[str, Any]) -> None:
    if answers["architecture"] == "microservices":
        check_system(project, answers)
    else:
        check_service(
            project / "deploy" / "k8s", project, answers["project_slug"], answers
        )


def check_system(project: Path, answers: dict[str, Any]) -> None:
    """One base per service, each checked like a monolith's, listed by the root."""
    k8s = project / "deploy" / "k8s"
    domains: list[str] = answers["domains"]
    root = manifests(k8s)
    assert list(root) == ["kustomization.yaml"]
    assert root["kustomization.yaml"]["kind"] == "Kustomization"
    assert root["kustomization.yaml"]["resources"] == domains
    assert sorted(path.name for path in k8s.iterdir() if path.is_dir()) == sorted(
        domains
    )

    slug = answers["project_slug"]
    bases = {
        domain: check_service(
            k8s / domain,
            project / "services" / domain,
            f"{slug}-{domain.replace('_', '-')}",
            answers,
        )
        for domain in domains
    }
    # Every object has a name of its own in the namespace they share.
    names = [
        (manifest["kind"], manifest["metadata"]["name"])
        for by_kind in bases.values()
        for manifest in by_kind.values()
    ]
    assert len(names) == len(set(names))
    configs = {
        domain: by_kind["ConfigMap"]["data"] for domain, by_kind in bases.items()
    }
    # One events namespace: a service reads the events the others publish.
    assert {config["APP_EVENTS_NAMESPACE"] for config in configs.values()} == {slug}
    # A service that refers to the first calls it through the first's Service, on
    # its port.
    parent = domains[0]
    parent_service = bases[parent]["Service"]
    url_key = f"APP_{parent.upper()}_URL"
    callers = referring(answers, parent)
    assert callers
    assert [d for d, config in configs.items() if url_key in config] == callers
    (port,) = parent_service["spec"]["ports"]
    expected = f"http://{parent_service['metadata']['name']}"
    for caller in callers:
        assert configs[caller][url_key] == (
            expected if port["port"] == 80 else f"{expected}:{port['port']}"
        )


def referring(answers: dict[str, Any], target: str) -> list[str]:
    """The domains with a reference to `target`: the `ref` fields of the answer
    `entities`, and the sample relation of the second domain to the first while
    the second keeps the sample fields."""
    domains: list[str] = answers["domains"]
    spec: dict[str, dict[str, Any]] = answers.get("entities") or {}
    found = []
    for domain in domains:
        if domain not in spec:
            refers = domain == domains[1] and target == domains[0]
        else:
            refers = any(
                isinstance(field, dict)
                and field["type"] == "ref"
                and field["to"] == target
                for field in spec[domain].values()
            )
        if refers:
            found.append(domain)
    return found


def check_service(
    k8s: Path, project: Path, slug: str, answers: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The base in `k8s` of the service in `project`; its manifests by kind."""
    files = manifests(k8s)
    kustomization = files.pop("kustomization.yaml")
    secret = files.pop("secret.example.yaml", None)

    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(files)
    assert [image["name"] for image in kustomization["images"]] == [slug]
    for name, manifest in [*files.items(), ("secret.example.yaml", secret)]:
        if manifest is not None:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)

    by_kind = {manifest["kind"]: manifest for manifest in files.values()}
    deployment = by_kind["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (app,) = pod["containers"]
    (migrate,) = pod["initContainers"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()

    # The port the Dockerfile exposes, named, and the Service sends traffic to it.
    exposed = re.search(
        r"^EXPOSE (\d+)$", (project / "Dockerfile").read_text(), re.MULTILINE
    )
    assert exposed is not None
    assert app["ports"] == [{"name": "http", "containerPort": int(exposed[1])}]
    service = by_kind["Service"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]

    for probe, path in PROBES.items():
        assert app[probe]["httpGet"] == {"path": path, "port": "http"}
    assert app["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert migrate["command"] == ["alembic", "upgrade", "heads"]
    for container in (app, migrate):
        assert container["image"] == slug
        assert container["resources"]["requests"].keys() >= {"cpu", "memory"}
        assert "memory" in container["resources"]["limits"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # The image's numeric user, so that runAsNonRoot can be checked by the kubelet.
    user = re.search(r"^USER (\d+)", (project / "Dockerfile").read_text(), re.MULTILINE)
    assert user is not None
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(user[1])

    config = by_kind["ConfigMap"]
    sources = app["envFrom"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in sources
    (secret_ref,) = [s["secretRef"] for s in sources if "secretRef" in s]
    assert secret_ref["name"] == f"{slug}-secrets"
    # Only settings the service reads: a typo would be silently ignored otherwise.
    known = env_keys(project)
    assert set(config["data"]) <= known, set(config["data"]) - known
    assert all(isinstance(value, str) for value in config["data"].values())
    if secret is None:
        assert secret_ref.get("optional") is True
    else:
        assert secret["metadata"]["name"] == secret_ref["name"]
        assert set(secret["stringData"]) <= known
        assert not set(secret["stringData"]) & set(config["data"])
        # The audience tokens must name is the one the service runs with locally:
        # in a system, one for every service, so a token works across them.
        audience = re.search(
            r"^APP_AUTH_AUDIENCE=(.*)$",
            (project / ".env.example").read_text(),
            re.MULTILINE,
        )
        if audience is not None and "APP_AUTH_AUDIENCE" in secret["stringData"]:
            assert secret["stringData"]["APP_AUTH_AUDIENCE"] == audience[1]

    hpa = by_kind["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    sqlite = answers["database"] == "sqlite"
    # SQLite is one file with one writer: one replica on a volume of its own.
    assert (hpa["spec"]["maxReplicas"] == 1) == sqlite
    assert ("PersistentVolumeClaim" in by_kind) == sqlite
    assert ("APP_DATABASE_URL" in config["data"]) == sqlite
    if not sqlite:
        assert secret is not None
        assert secret["stringData"]["APP_DATABASE_URL"].startswith("postgresql+asyncpg")
    return by_kind


@pytest.mark.parametrize(
    "answer_set",
    [*answer_set_params(), *(pytest.param(s, id=s.id) for s in MICROSERVICE_SETS)],
)
def test_manifests_follow_the_answer(answer_set: AnswerSet, render: Any) -> None:
    result = render(answer_set)
    assert result.exit_code == 0
    project: Path = result.project_dir
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())

    assert answers["kubernetes"] == answer_set.answers["kubernetes"]
    assert (project / "deploy" / "k8s").exists() == answers["kubernetes"]
    if answers["kubernetes"]:
        check_base(project, answers)


@pytest.mark.parametrize(
    "architecture", ["monolith", "modular_monolith", "microservices"]
)
@pytest.mark.parametrize(
    ("database", "auth", "cache"),
    [
        ("sqlite", "none", "memory"),
        ("sqlite", "oauth2", "two_level"),
        ("postgresql", "none", "none"),
        ("postgresql", "jwt", "redis"),
        ("postgresql", "api_key", "memory"),
    ],
)
def test_every_style_gets_a_valid_base(
    architecture: str, database: str, auth: str, cache: str, copie: Copie
) -> None:
    result = copie.copy(
        extra_answers={
            "architecture": architecture,
            "database": database,
            "auth": auth,
            "cache": cache,
            "kubernetes": True,
        }
    )
    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    check_base(result.project_dir, answers)


def test_an_unknown_field_fails_the_validation() -> None:
    """The validator bites: a misspelt field is not silently accepted."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "acme-service"},
        "spec": {"ports": [{"port": 80, "targetport": "http"}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES_VERSION, strict=True)
