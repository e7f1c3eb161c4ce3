"""The naming filters, answer validators, formatter rules and derived context of
extensions/, alone and through copier: a bad answer stops the copy with a message that
says what is wrong."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import black
import copier
import jinja2
import jinja2.ext
import pytest
import yaml
from helpers import REPO_ROOT


def _load_extension(name: str) -> ModuleType:
    path = REPO_ROOT / "extensions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"template_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


names = _load_extension("names")
validators = _load_extension("validators")
formatting = _load_extension("formatting")
context_hook = _load_extension("context")
compiled = _load_extension("compiled")

# The routes every generated service already has (DESIGN.md, HTTP contract): a domain
# of that name would collide with them, whatever RESERVED_DOMAINS says.
ROUTE_NAMES = ["health", "metrics", "docs", "openapi", "api"]


# --- naming filters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Acme Service", "acme-service"),
        ("acme service", "acme-service"),
        ("AcmeService", "acme-service"),
        ("acme_service", "acme-service"),
        ("  Billing:  Hub 2 ", "billing-hub-2"),
    ],
)
def test_kebab(value: str, expected: str) -> None:
    assert names.kebab(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Acme Service", "acme_service"),
        ("acme-service", "acme_service"),
        ("AcmeService", "acme_service"),
        ("Billing Hub 2", "billing_hub_2"),
    ],
)
def test_snake(value: str, expected: str) -> None:
    assert names.snake(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("user", "User"),
        ("customer_account", "CustomerAccount"),
        ("shipping-address", "ShippingAddress"),
        ("acme service", "AcmeService"),
    ],
)
def test_pascal(value: str, expected: str) -> None:
    assert names.pascal(value) == expected


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("users", "user"),
        ("orders", "order"),
        ("products", "product"),
        ("invoices", "invoice"),
        ("categories", "category"),
        ("addresses", "address"),
        ("boxes", "box"),
        ("branches", "branch"),
        ("wishes", "wish"),
        ("customer_accounts", "customer_account"),
        ("shipping_addresses", "shipping_address"),
        ("product_categories", "product_category"),
        # already singular: unchanged
        ("status", "status"),
        ("address", "address"),
        ("analysis", "analysis"),
        ("inventory", "inventory"),
    ],
)
def test_singular(plural: str, singular: str) -> None:
    assert names.singular(plural) == singular


def test_derived_names_chain_from_the_project_name() -> None:
    """copier.yml derives the slug with kebab and the package with snake of the slug."""
    slug = names.kebab("Acme Service")
    package = names.snake(slug)

    assert (slug, package) == ("acme-service", "acme_service")
    assert validators.slug_error(slug) == ""
    assert validators.package_name_error(package) == ""


# --- slug -------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["acme-service", "acme", "svc2", "a1-b2-c3"])
def test_slug_accepts(slug: str) -> None:
    assert validators.slug_error(slug) == ""


@pytest.mark.parametrize(
    "slug",
    [
        "Acme-Service",
        "acme_service",
        "acme service",
        "-acme",
        "acme-",
        "acme--svc",
        "1acme",
        "",
    ],
)
def test_slug_rejects_with_a_reason(slug: str) -> None:
    message = validators.slug_error(slug)

    assert "not a valid slug" in message
    assert f"'{slug}'" in message


# --- package name ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["acme_service", "billing", "svc2", "a1_b2"])
def test_package_name_accepts(name: str) -> None:
    assert validators.package_name_error(name) == ""


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Acme", "not a valid package name"),
        ("acme-service", "not a valid package name"),
        ("_acme", "not a valid package name"),
        ("acme__svc", "not a valid package name"),
        ("2acme", "not a valid package name"),
        ("", "not a valid package name"),
        ("class", "Python keyword"),
        ("import", "Python keyword"),
        ("match", "Python keyword"),  # a soft keyword
        ("json", "standard-library module"),
        ("typing", "standard-library module"),
        ("asyncio", "standard-library module"),
        ("fastapi", "dependency"),
        ("pydantic", "dependency"),
        ("sqlalchemy", "dependency"),
        ("alembic", "dependency"),
        ("uvicorn", "dependency"),
        ("tests", "dependency"),
        ("redis", "dependency"),
        ("limits", "dependency"),
        ("cachetools", "dependency"),
    ],
)
def test_package_name_rejects_with_a_reason(name: str, reason: str) -> None:
    message = validators.package_name_error(name)

    assert reason in message
    assert f"'{name}'" in message


# --- email ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["platform@example.com", "first.last+tag@mail.example.org", "a@b.io"]
)
def test_email_accepts(email: str) -> None:
    assert validators.email_error(email) == ""


@pytest.mark.parametrize(
    "email",
    ["platform", "platform@example", "@example.com", "a b@example.com", "a@b@c.com"],
)
def test_email_rejects_with_a_reason(email: str) -> None:
    message = validators.email_error(email)

    assert "not an email address" in message
    assert f"'{email}'" in message


# --- domains ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "domains",
    [
        ["users", "orders", "products"],
        ["invoices"],
        ["customer_accounts", "shipping_addresses"],
        ["users2"],
    ],
)
def test_domains_accepts(domains: list[str]) -> None:
    assert validators.domains_error(domains, singular=names.singular) == ""


@pytest.mark.parametrize(
    ("domains", "reason"),
    [
        ([], "non-empty YAML list"),
        ("users", "non-empty YAML list"),
        (None, "non-empty YAML list"),
        (["Users"], "not a snake_case identifier"),
        (["user-accounts"], "not a snake_case identifier"),
        (["users", "user accounts"], "not a snake_case identifier"),
        ([1], "not a snake_case identifier"),
        (["users", "orders", "users"], "listed twice"),
        (["class"], "keyword"),
        (["json"], "stdlib"),
        (["user", "users"], "same singular"),
        (["categories", "category"], "same singular"),
    ],
)
def test_domains_rejects_with_a_reason(domains: Any, reason: str) -> None:
    assert reason in validators.domains_error(domains, singular=names.singular)


@pytest.mark.parametrize(
    "name", sorted(set(ROUTE_NAMES) | set(validators.RESERVED_DOMAINS))
)
def test_domains_rejects_reserved_names(name: str) -> None:
    message = validators.domains_error(["users", name], singular=names.singular)

    assert "reserved" in message
    assert f"'{name}'" in message


# --- rate_limit_per_minute ---------------------------------------------------------------

RATE_LIMIT_MESSAGE = (
    "rate_limit_per_minute must be a whole number of requests, at least 1"
)


@pytest.mark.parametrize("value", [1, 30, 100, 10_000])
def test_rate_limit_per_minute_accepts(value: int) -> None:
    assert validators.rate_limit_per_minute_error(value) == ""


@pytest.mark.parametrize("value", [0, -5, True, 2.5, "30", None])
def test_rate_limit_per_minute_rejects_with_a_reason(value: Any) -> None:
    message = validators.rate_limit_per_minute_error(value)

    assert RATE_LIMIT_MESSAGE in message
    assert f"(got {value!r})" in message


# --- through copier -------------------------------------------------------------------------

# (answers, question named in the message, what the message must say)
BAD_ANSWERS = [
    pytest.param(
        {"project_slug": "Bad Slug"}, "project_slug", "not a valid slug", id="slug"
    ),
    pytest.param(
        {"package_name": "json"}, "package_name", "standard-library module", id="stdlib"
    ),
    pytest.param(
        {"package_name": "class"}, "package_name", "Python keyword", id="keyword"
    ),
    pytest.param(
        {"package_name": "fastapi"}, "package_name", "dependency", id="dependency"
    ),
    pytest.param(
        {"package_name": "acme-service"},
        "package_name",
        "not a valid package name",
        id="package-format",
    ),
    # The derived defaults are validated too: "Json" gives the package name json.
    pytest.param(
        {"project_name": "Json"},
        "package_name",
        "standard-library module",
        id="derived-package",
    ),
    pytest.param(
        {"project_name": "   "}, "project_name", "cannot be empty", id="empty-name"
    ),
    pytest.param(
        {"author_email": "platform.example.com"},
        "author_email",
        "not an email address",
        id="email",
    ),
    pytest.param(
        {"license": "MIT License"},
        "license",
        "not a license identifier",
        id="license",
    ),
    pytest.param(
        {"ci": "gitlab", "dependency_updates": "dependabot"},
        "dependency_updates",
        "Dependabot runs on GitHub",
        id="dependabot-without-github",
    ),
    pytest.param(
        {"domains": ["users", "orders", "users"]},
        "domains",
        "'users' is listed twice",
        id="duplicate-domain",
    ),
    pytest.param(
        {"domains": ["users", "health"]},
        "domains",
        "'health' is reserved",
        id="reserved-domain",
    ),
    pytest.param(
        {"domains": ["Users"]},
        "domains",
        "not a snake_case identifier",
        id="domain-case",
    ),
    pytest.param({"domains": []}, "domains", "non-empty", id="no-domain"),
    pytest.param(
        {"rate_limit_per_minute": 0},
        "rate_limit_per_minute",
        f"{RATE_LIMIT_MESSAGE} (got 0)",
        id="zero-per-minute",
    ),
    pytest.param(
        {"rate_limit": "token_bucket", "rate_limit_per_minute": -5},
        "rate_limit_per_minute",
        f"{RATE_LIMIT_MESSAGE} (got -5)",
        id="negative-per-minute",
    ),
    pytest.param(
        {"architecture": "microservices", "broker": "none"},
        "broker",
        "Microservices exchange their domain events over a broker",
        id="microservices-without-broker",
    ),
    pytest.param(
        {"architecture": "microservices", "domains": ["invoices"]},
        "domains",
        "microservices need at least two domains",
        id="microservices-of-one-domain",
    ),
    pytest.param(
        {"entities": {"orders": {"total": "money"}}},
        "entities",
        "entities.orders.total: unknown type 'money'",
        id="entity-of-an-unknown-type",
    ),
    pytest.param(
        {"entities": {"invoices": {"total": "decimal"}}},
        "entities",
        "entities.invoices: not a domain; the domains are users, orders, products",
        id="entity-of-an-unknown-domain",
    ),
    pytest.param(
        {
            "entities": {
                "users": {
                    "last_order": {"type": "ref", "to": "orders"},
                    "name": "string",
                },
                "orders": {"buyer": {"type": "ref", "to": "users"}, "total": "decimal"},
            }
        },
        "entities",
        "entities: orders -> users -> orders refer to each other in a circle",
        id="entity-references-in-a-circle",
    ),
    pytest.param(
        {
            "architecture": "microservices",
            "broker": "rabbitmq",
            "entities": {
                "orders": {"buyer": {"type": "ref", "to": "users"}, "total": "decimal"}
            },
        },
        "entities",
        "entities.orders.buyer: users live in a service of their own, whose database"
        " cannot refuse a delete for orders; choose on_delete: cascade",
        id="entity-restrict-between-services",
    ),
    pytest.param(
        {
            "entities": {
                "orders": {"total": {"type": "decimal", "min": 5, "max": "4.99"}}
            }
        },
        "entities",
        "entities.orders.total: min is above max",
        id="entity-decimal-min-above-max",
    ),
]


def _copy(dst: Path, data: dict[str, Any], src: str) -> None:
    with warnings.catch_warnings():
        # A dirty working tree (uncommitted template edits) is rendered with a warning.
        warnings.simplefilter("ignore", copier.errors.DirtyLocalWarning)
        copier.run_copy(
            src,
            str(dst),
            data=data,
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )


@pytest.mark.parametrize(("data", "question", "reason"), BAD_ANSWERS)
def test_copier_refuses_a_bad_answer(
    data: dict[str, Any],
    question: str,
    reason: str,
    tmp_path: Path,
    pytestconfig: pytest.Config,
) -> None:
    dst = tmp_path / "project"

    with pytest.raises(ValueError) as caught:
        _copy(dst, data, pytestconfig.option.template)

    message = str(caught.value)
    assert f"'{question}'" in message
    assert reason in message
    # Nothing was written: the copy stopped before rendering.
    assert not dst.exists() or not any(dst.iterdir())


def test_copier_accepts_the_same_answers_when_they_are_good(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """The control for the test above: the same call with good answers renders."""
    dst = tmp_path / "project"
    data = {
        "project_name": "Billing Hub",
        "author_email": "billing@example.com",
        "domains": ["invoices", "payments"],
        "rate_limit": "token_bucket",
        "rate_limit_per_minute": 30,
    }

    _copy(dst, data, pytestconfig.option.template)

    assert (dst / "src" / "billing_hub").is_dir()
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["rate_limit_per_minute"] == 30


def test_assignment_wraps_the_value_only_when_the_line_is_too_long() -> None:
    assert formatting.assignment('"short"', "name: str", 4) == '    name: str = "short"'
    long_value = '"' + "x" * 80 + '"'
    assert formatting.assignment(long_value, "NAME") == f"NAME = (\n    {long_value}\n)"


def test_a_string_too_long_even_in_parentheses_is_split_as_both_formatters_keep_it(
    tmp_path: Path,
) -> None:
    """Alone in parentheses it would still not fit: ruff format removes such
    parentheses and black keeps them, so no one line satisfies both."""
    url = '"sqlite+aiosqlite:///./var/northwind_traders_global_catalog_customer_accounts.db"'
    statement = formatting.assignment(url, "database_url: str", 4)
    module = tmp_path / "config.py"
    module.write_text(f"class Settings:\n{statement}\n", encoding="utf-8")

    assert statement.splitlines()[1:3] == [
        '        "sqlite+aiosqlite:///./var/"',
        '        "northwind_traders_global_catalog_customer_accounts.db"',
    ]
    (settings,) = ast.parse(module.read_text(encoding="utf-8")).body
    assert isinstance(settings, ast.ClassDef)
    (field,) = settings.body
    assert isinstance(field, ast.AnnAssign) and field.value is not None
    assert ast.literal_eval(field.value) == url.strip('"')
    for formatter in (["black", "--check", "--quiet"], ["ruff", "format", "--check"]):
        checked = subprocess.run(
            [sys.executable, "-m", *formatter, str(module)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, (formatter, checked.stdout + checked.stderr)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("order", "an order"),
        ("user", "a user"),
        ("unit", "a unit"),
        ("product", "a product"),
        ("invoice", "an invoice"),
        ("hour_slot", "an hour slot"),
        ("umbrella", "an umbrella"),
    ],
)
def test_with_article_goes_by_the_sound_of_the_word(words: str, expected: str) -> None:
    assert names.with_article(words) == expected


def test_sort_imports_orders_statements_as_isort_does_and_keeps_the_rest() -> None:
    block = (
        "from shop_users.api import router\n"
        "from shop_platform.http.envelope import (\n"
        "    Envelope,\n"
        "    ok,\n"
        ")\n"
        "import shop_platform\n"
        "\n"
        "# Not an import: it stays where it is.\n"
        "URL = '/api/v1/users'\n"
    )
    assert formatting.sort_imports(block) == (
        "import shop_platform\n"
        "from shop_platform.http.envelope import (\n"
        "    Envelope,\n"
        "    ok,\n"
        ")\n"
        "from shop_users.api import router\n"
        "\n"
        "# Not an import: it stays where it is.\n"
        "URL = '/api/v1/users'\n"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [("services/users", "users"), ("services/order_lines/", "order_lines"), (".", ".")],
)
def test_last_part_names_a_service_folder_without_its_parents(
    path: str, expected: str
) -> None:
    assert names.last_part(path) == expected


def test_microservices_need_two_domains() -> None:
    assert validators.domains_error(["users"], singular=names.singular) == ""
    assert "at least two domains" in validators.domains_error(
        ["users"], "microservices", singular=names.singular
    )
    assert (
        validators.domains_error(
            ["users", "orders"], "microservices", singular=names.singular
        )
        == ""
    )


_SHOP: dict[str, Any] = {
    "architecture": "microservices",
    "domains": ["users", "orders", "products"],
    "package_name": "shop",
    "project_slug": "shop",
    "project_name": "Shop",
    "platform_pkg": "shop_platform",
    "sample_events": True,
    "added_domains": ["products"],
    "_copier_conf": {},
}


def _context(**answers: Any) -> dict[str, Any]:
    context = {**_SHOP, **answers}
    context_hook.derive(context)
    return context


def test_each_microservice_is_a_monolith_of_its_domain_with_its_own_package() -> None:
    users = _context(service_dir="services/users")
    assert users["service"] == {
        "dir": "services/users",
        "package": "shop_users",
        "slug": "shop-users",
        "name": "Shop Users",
        "domains": ["users"],
        "layout": "layers",
        "settings_module": "shop_users.config",
        "remote_targets": [],
        # The first domain's service only publishes its events.
        "sample_events": False,
        # A domain added later is a service of its own, with its first migration.
        "added_domains": [],
    }
    # The first domain's service owns the parent.
    assert users["parent"]["name"] == "users" and users["child"] is None
    assert users["dmeta"]["users"]["service"] == "shop_users.application.users"

    orders = _context(service_dir="services/orders")
    # The second domain's service keeps the first as a remote parent and subscribes.
    assert orders["service"]["remote_targets"] == ["users"]
    assert list(orders["peers"]) == ["users"]
    assert orders["service"]["sample_events"] is True
    assert orders["child"]["name"] == "orders"
    assert orders["parent"]["name"] == "users"
    assert list(orders["dmeta"]) == ["orders"]

    products = _context(service_dir="services/products")
    assert products["parent"] is None and products["child"] is None


def test_the_answers_keep_describing_the_whole_project() -> None:
    orders = _context(service_dir="services/orders")
    for name, answer in _SHOP.items():
        assert orders[name] == answer, name


def test_a_systems_own_files_render_outside_any_service() -> None:
    system = _context()
    assert system["service"] is None
    # Every domain, in its own service: the system tests name the related pair.
    assert system["dmeta"]["orders"]["domain"] == "shop_orders.domain.orders"
    assert system["parent"]["name"] == "users"
    assert system["child"]["name"] == "orders"


@pytest.mark.parametrize(
    ("architecture", "layout", "service_module"),
    [
        ("monolith", "layers", "shop.application.orders"),
        ("modular_monolith", "modules", "shop.modules.orders.application.service"),
    ],
)
@pytest.mark.parametrize("service_dir", [".", None])
def test_a_monolith_is_one_service_at_the_root_the_project_itself(
    architecture: str, layout: str, service_module: str, service_dir: str | None
) -> None:
    answers = {"architecture": architecture, "platform_pkg": "shop.shared"}
    if service_dir is not None:
        answers["service_dir"] = service_dir
    context = _context(**answers)
    assert context["service"] == {
        "dir": ".",
        "package": "shop",
        "slug": "shop",
        "name": "Shop",
        "domains": ["users", "orders", "products"],
        "layout": layout,
        "settings_module": "shop.shared.config",
        "remote_targets": [],
        "sample_events": True,
        "added_domains": ["products"],
    }
    assert context["dmeta"]["orders"]["service"] == service_module
    assert context["parent"]["name"] == "users"
    assert context["child"]["name"] == "orders"


def test_the_answers_references_replace_the_samples_relation() -> None:
    context = _context(
        architecture="modular_monolith",
        platform_pkg="shop.shared",
        entities={
            "users": {
                "order": {"type": "ref", "to": "orders", "on_delete": "cascade"},
                "name": "string",
            },
            "orders": {"total": "decimal"},
        },
    )

    # The second domain's fields are the answer's: no sample relation, no flow.
    assert context["parent"] is None and context["child"] is None
    assert context["service"]["sample_events"] is False
    (order,) = context["dmeta"]["users"]["refs"]
    assert (order["field"], order["key"], order["to"]["name"]) == (
        "order",
        "order",
        "orders",
    )
    assert order["foreign_key"] and not order["remote"]
    assert [r["child"] for r in context["dmeta"]["orders"]["dependents"]] == ["users"]
    # Users refer to orders: the orders table comes first.
    assert context["table_order"] == ["orders", "users", "products"]


def test_the_hook_can_run_again_on_its_own_context() -> None:
    # An include renders with the context of the file that includes it.
    once = _context(service_dir="services/orders")
    twice = dict(once)
    context_hook.DerivedContext(jinja2.Environment()).hook(twice)
    assert twice == once


def test_the_hook_derives_each_services_context_once() -> None:
    """Copier makes a context for every path and file: the hook derives the context
    of each service once, and gives it again as it was derived."""
    hook = context_hook.DerivedContext(jinja2.Environment())
    for service_dir in ("services/orders", "services/users", "services/orders", None):
        context = {**_SHOP, "service_dir": service_dir}
        hook.hook(context)
        assert context == _context(service_dir=service_dir), service_dir
    assert len(hook.derived) == 3


def test_a_template_string_is_compiled_once_and_preprocessed_at_each_use() -> None:
    """Copier's `yield` tag clears in its preprocessing what the last path part
    yielded: a string compiled before is preprocessed again when it is used."""
    sources = []

    class Recording(jinja2.ext.Extension):
        def preprocess(
            self, source: str, name: str | None, filename: str | None = None
        ) -> str:
            sources.append(source)
            return source

    environment = jinja2.Environment(extensions=[Recording, compiled.CompiledOnce])
    first = environment.from_string("{{ x }}")
    second = environment.from_string("{{ x }}")

    assert second is first
    assert sources == ["{{ x }}", "{{ x }}"]
    assert second.render(x=1) == "1"


@pytest.mark.parametrize("width", [1, 20, 60, 120])
def test_calls_and_tuples_of_calls_are_laid_out_as_black_does(width: int) -> None:
    """call and call_tuple write what black leaves as it is, at any argument width."""
    args = ['"field"', f'"{"x" * width}"', '"why"']
    source = "\n".join(
        [
            formatting.call("class TestThing", ["Base", "Mixin" * width], suffix=":"),
            "    pass",
            "",
            "",
            formatting.call("Value", args, prefix="change = "),
            formatting.call_tuple([("Edge", args)], prefix="one = "),
            formatting.call_tuple(
                [("Edge", args), ("Edge", args[:2])], prefix="two = "
            ),
            "",
        ]
    )

    assert black.format_str(source, mode=black.Mode()) == source
