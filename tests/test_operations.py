"""Operating it: /version, /metrics, the access line, JSON logs, docs setting, no Host-built
redirects (in process; the multi-worker metrics and the CLI's start-up are in test_startup.py)."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from promoledger import __version__
from promoledger.app import create_app
from promoledger.observability.logs import JsonFormatter, TextFormatter, mask_url
from promoledger.runtime import Runtime
from promoledger.settings import Settings
from tests.support.factories import World, bulk_body

ACCESS = "promoledger.access"


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return sum(
        v
        for key, v in samples(text, name).items()
        if all(dict(key).get(k) == want for k, want in labels.items())
    )


def test_version_needs_no_credentials(client: TestClient) -> None:
    assert client.get("/version").json() == {"name": "promoledger", "version": __version__}


def test_metrics_count_requests_by_route_template_never_by_path(world: World) -> None:
    org = world.org()
    till = world.till(org)
    (customer,) = world.customers(org, world.program(org))
    for _ in range(3):
        world.client.get(f"/admin/v1/customers/{customer.id}", headers=till.headers)
    world.client.get("/no/such/path/9170000000")
    text = world.client.get("/metrics").text
    routes = {dict(k)["route"] for k in samples(text, "promoledger_http_requests_total")}
    assert any(r.startswith("/admin/v1/customers/{") for r in routes), routes
    assert not any(str(customer.id) in r.split("/") or customer.mobile in r for r in routes)
    assert "/no/such/path/9170000000" not in routes
    template = next(r for r in routes if r.startswith("/admin/v1/customers/{"))
    assert value(text, "promoledger_http_requests_total", route=template, status="200") == 3
    assert value(text, "promoledger_http_request_duration_seconds_count", route=template) == 3
    assert customer.mobile not in text


def test_bulk_entries_are_counted_by_action_outcome_and_code(world: World) -> None:
    org = world.org()
    till = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    people = world.customers(org, program, n=3)
    body = bulk_body(program, promotion, [c.id for c in people] + [999_999_999])
    answer = world.client.post("/v2/promotion/bulk/enrolAndEarn", json=body, headers=till.headers)
    assert answer.status_code == 200
    envelope = answer.json()
    failed_code = str(envelope["response"][3]["errors"][0]["code"])
    # A replay under the same Idempotency-Key and a dry run change nothing: not counted again.
    keyed = {**till.headers, "Idempotency-Key": "k-1"}
    other = bulk_body(program, promotion, [people[0].id], action="EARN")
    for _ in range(2):
        world.client.post("/v2/promotion/bulk/enrolAndEarn", json=other, headers=keyed)
    world.client.post(
        "/v2/promotion/bulk/enrolAndEarn?dryRun=true", json=body, headers=till.headers
    )

    text = world.client.get("/metrics").text
    name = "promoledger_bulk_entries_total"
    common = {"endpoint": "enrolAndEarn"}
    assert value(text, name, action="ENROL", outcome="success", code="0", **common) == 3
    assert value(text, name, action="ENROL", outcome="failure", code=failed_code, **common) == 1
    assert value(text, name, action="EARN", **common) == 1
    labels = {k for key in samples(text, name) for k, _ in key}
    assert labels == {"endpoint", "action", "outcome", "code"}


def test_metrics_token_requires_bearer(database_url: str) -> None:
    guarded = Settings(database_url=database_url, metrics_token="scrape-me")
    runtime = Runtime.build(guarded)
    with TestClient(create_app(guarded, runtime=runtime)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200
        assert "promoledger_http_requests_total" in ok.text
    runtime.engine.dispose()


def test_one_access_line_per_request_without_secrets(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    org = world.org()
    till = world.till(org)
    program = world.program(org)
    promotion = world.promotion(org, program)
    people = world.customers(org, program, n=2)
    body = bulk_body(program, promotion, [c.id for c in people] + [999_999_999])
    with caplog.at_level(logging.INFO, logger=ACCESS):
        world.client.post(
            "/v2/promotion/bulk/enrolAndEarn",
            json=body,
            headers={**till.headers, "X-Request-ID": "rid-42"},
        )
    (record,) = [r for r in caplog.records if r.name == ACCESS]
    fields: Any = record.__dict__
    assert fields["method"] == "POST"
    assert fields["route"] == "/v2/promotion/bulk/enrolAndEarn"
    assert fields["status"] == 200
    assert fields["duration_ms"] >= 0
    assert fields["request_id"] == "rid-42"
    assert fields["credential"] == f"TILL:{till.credential_id}"
    assert fields["org"] == org
    assert (fields["totalCount"], fields["failureCount"]) == (3, 1)
    for formatter in (TextFormatter(), JsonFormatter()):
        line = formatter.format(record)
        assert till.headers["Authorization"].split()[1] not in line
        assert "Authorization" not in line
        assert till.secret not in line
    parsed = orjson.loads(JsonFormatter().format(record))
    assert (parsed["logger"], parsed["status"], parsed["org"]) == (ACCESS, 200, org)


def test_database_password_is_masked_in_logs() -> None:
    masked = mask_url("postgresql://app:hunter2@db:5432/promoledger")
    assert "hunter2" not in masked
    assert masked.startswith("postgresql://app:***@db")


def test_no_redirect_builds_a_location_from_the_host_header(world: World) -> None:
    till = world.till(world.org())
    answer = world.client.get(
        "/admin/v1/programs/",
        headers={**till.headers, "Host": "evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 404
    assert "location" not in answer.headers


def test_docs_are_public_by_default_and_can_be_turned_off(
    client: TestClient, settings: Settings, runtime: Runtime
) -> None:
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    hidden = settings.model_copy(update={"public_docs": False})
    with TestClient(create_app(hidden, runtime=runtime)) as closed:
        assert closed.get("/openapi.json").status_code == 404
        assert closed.get("/docs").status_code == 404


def test_docs_and_redoc_load_every_asset_from_promoledger(
    client: TestClient, settings: Settings, runtime: Runtime
) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        html = response.text
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), page
        assert not re.search(r"""url\(\s*["']?(?:https?:)?//""", html), page
        assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
        assert any(a.endswith(".js") for a in assets), page
        for url in assets:
            assert url.startswith("/"), (page, url)
            assert client.get(url).status_code == 200, (page, url)
    assert "/openapi.json" in client.get("/docs").text
    hidden = settings.model_copy(update={"public_docs": False})
    with TestClient(create_app(hidden, runtime=runtime)) as closed:
        assert closed.get("/redoc").status_code == 404
        assert closed.get("/docs-assets/swagger-ui-bundle.js").status_code == 404
