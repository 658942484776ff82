"""The console: sign-in (till and OAuth client), sessions, CSRF, access, search and pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from promoledger.console.sessions import token_hash
from promoledger.console.web import SESSION_COOKIE
from promoledger.domain.vocabulary import CredentialKind
from promoledger.services import credentials
from promoledger.store import tables as t
from promoledger.store.types import utcnow
from tests.support.console import csrf_of, page_csrf, sign_in
from tests.support.factories import Caller, World


def test_till_sign_in_sets_a_strict_httponly_cookie_and_stores_only_its_hash(
    client: TestClient, world: World
) -> None:
    till = world.till(world.org(), access="customer:write,config:read")
    response = sign_in(client, till)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/customers"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Secure" not in cookie  # plain http here; see the https test
    token = client.cookies.get(SESSION_COOKIE)
    [row] = world.rows(t.console_sessions)
    assert row.token_hash == token_hash(token) != token
    assert row.credential_id == till.credential_id
    page = client.get("/console/customers")
    assert page.status_code == 200
    assert till.name in page.text
    home = client.get("/console", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/console/customers")


def test_oauth_client_signs_in_with_key_and_secret(client: TestClient, world: World) -> None:
    oauth = world.oauth_client(world.org(), access="customer:read,config:read")
    assert sign_in(client, oauth, kind="client").status_code == 303
    assert client.get("/console/audit").status_code == 200


def test_wrong_password_is_401_with_the_form_and_audited(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    response = sign_in(client, till, password="wrong")
    assert response.status_code == 401
    assert "Sign-in failed" in response.text
    assert world.rows(t.console_sessions) == []
    assert len(world.audit(action="AUTH_FAILED")) == 1
    # An empty password or an unusable name fails the same way, before any lookup.
    assert sign_in(client, till, password="").status_code == 401
    nameless = Caller(till.org_id, till.credential_id, {}, "", till.secret)
    assert sign_in(client, nameless).status_code == 401
    assert len(world.audit(action="AUTH_FAILED")) == 1


def test_https_behind_a_proxy_makes_the_cookie_secure(world: World, client: TestClient) -> None:
    till = world.till(world.org())
    secure = TestClient(client.app, base_url="https://testserver")
    response = sign_in(secure, till)
    assert response.status_code == 303
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "=")
    )
    assert "Secure" in cookie


def test_pages_without_a_session_answer_401_with_the_sign_in_form(client: TestClient) -> None:
    for path in ("/console/customers", "/console/audit", "/console/revoke", "/console/customers/1"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert 'action="/console/signin"' in response.text
    response = client.get("/console/customers?q=abc")
    assert 'name="next" value="/console/customers?q=abc"' in response.text
    client.cookies.set(SESSION_COOKIE, "forged", path="/console")
    assert client.get("/console/customers").status_code == 401


def test_sign_in_goes_back_to_the_page_asked_for(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    form = client.get("/console/audit").text
    response = client.post(
        "/console/signin",
        data={"csrf": csrf_of(form), "kind": "till", "name": till.name, "password": till.secret,
              "next": "/console/audit"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.headers["location"] == "/console/audit"
    # Never somewhere else.
    form = client.get("/console/signin").text
    response = client.post(
        "/console/signin",
        data={"csrf": csrf_of(form), "kind": "till", "name": till.name, "password": till.secret,
              "next": "https://evil.example/"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.headers["location"] == "/console/customers"


def test_sign_in_without_its_csrf_token_is_refused(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    client.get("/console/signin")
    response = client.post(
        "/console/signin",
        data={"csrf": "guess", "kind": "till", "name": till.name, "password": till.secret},
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert world.rows(t.console_sessions) == []


def test_forms_without_the_session_csrf_token_are_refused(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    sign_in(client, till)
    response = client.post("/console/signout", data={"csrf": "nope"})
    assert response.status_code == 403
    assert "Form refused" in response.text
    assert len(world.rows(t.console_sessions)) == 1  # still signed in
    assert client.get("/console/customers").status_code == 200


def test_sign_out_ends_the_session(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    sign_in(client, till)
    response = client.post("/console/signout", data={"csrf": page_csrf(client)})
    assert response.status_code == 200
    assert world.rows(t.console_sessions) == []
    assert client.get("/console/customers").status_code == 401


def test_an_idle_session_is_gone(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    sign_in(client, till)
    idle = timedelta(minutes=world.runtime.settings.console_idle_minutes, seconds=1)
    with world.uow.write() as conn:
        conn.execute(update(t.console_sessions).values(last_seen_at=utcnow() - idle))
    assert client.get("/console/customers").status_code == 401
    assert world.rows(t.console_sessions) == []


def test_a_disabled_credential_loses_its_session_at_once(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    sign_in(client, till)
    credentials.set_disabled(world.uow, kind=CredentialKind.TILL, name=till.name, disabled=True)
    assert client.get("/console/customers").status_code == 401


def test_without_config_read_the_console_is_denied(client: TestClient, world: World) -> None:
    till = world.till(world.org(), access="customer:write,config:none")
    response = sign_in(client, till)
    assert response.status_code == 403
    assert "Access denied" in response.text
    assert world.rows(t.console_sessions) == []
    [denied] = world.audit(action="ACCESS_DENIED")
    assert denied.actor_id == till.credential_id
    assert client.get("/console/customers").status_code == 401


def test_search_lists_matches_and_links_each_customer(client: TestClient, world: World) -> None:
    org = world.org()
    till = world.till(org, access="customer:read,config:read")
    a, b = world.customers(org, None, n=2)
    [foreign] = world.customers(world.org("other"), None)
    sign_in(client, till)
    page = client.get("/console/customers", params={"q": a.mobile})
    assert page.status_code == 200
    assert f'href="/console/customers/{a.id}"' in page.text
    assert f'href="/console/customers/{b.id}"' not in page.text
    page = client.get("/console/customers", params={"q": "ext-"})
    assert f'href="/console/customers/{b.id}"' in page.text
    assert f'href="/console/customers/{foreign.id}"' not in page.text
    assert "No customer matches" in client.get("/console/customers?q=zzz").text


def test_customer_page_shows_the_timeline(client: TestClient, world: World) -> None:
    org = world.org()
    till = world.till(org, access="customer:read,config:read")
    program = world.program(org)
    promotion = world.promotion(org, program)
    [c] = world.customers(org, program)
    enrolment = world.enrolment(org, promotion.id, c.id)
    earn = world.earn(org, promotion.id, c.id, enrolment, status="REVOKED")
    sign_in(client, till)
    page = client.get(f"/console/customers/{c.id}")
    assert page.status_code == 200
    assert f"Enrolment {enrolment}" in page.text
    assert f"Earn {earn}" in page.text
    assert "REVOKED" in page.text
    assert promotion.name in page.text
    assert client.get("/console/customers/999999").status_code == 404
    assert client.get("/console/customers/abc").status_code == 404
    [foreign] = world.customers(world.org("other"), None)
    assert client.get(f"/console/customers/{foreign.id}").status_code == 404


def test_audit_page_filters_and_refuses_bad_filters(client: TestClient, world: World) -> None:
    org = world.org()
    till = world.till(org, access="customer:read,config:write")
    created = client.post(
        "/admin/v1/customers",
        json={"customers": [{"mobile": "1"}, {"mobile": "2"}]},
        headers=world.till(org).headers,
    ).json()["customers"]
    sign_in(client, till)
    page = client.get("/console/audit", params={"customerId": created[0]["id"]})
    assert page.status_code == 200
    assert "CUSTOMER_CREATED" in page.text
    assert f'href="/console/customers/{created[0]["id"]}"' in page.text
    assert f'href="/console/customers/{created[1]["id"]}"' not in page.text
    assert "No audit events match" in client.get("/console/audit?action=REVOKE_EARN").text
    for bad in ({"customerId": "x"}, {"since": "yesterday"}, {"action": "a-b"}):
        assert client.get("/console/audit", params=bad).status_code == 400, bad
    assert client.get("/console/audit", params={"since": "2000-01-01"}).status_code == 200


@pytest.mark.parametrize("path", ["/console/static/console.css", "/console/static/console.js"])
def test_static_assets_are_served_without_a_session(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_an_active_session_is_kept_alive(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    sign_in(client, till)
    earlier = utcnow() - timedelta(minutes=5)
    with world.uow.write() as conn:
        conn.execute(update(t.console_sessions).values(last_seen_at=earlier))
    assert client.get("/console/customers").status_code == 200
    [row] = world.rows(t.console_sessions)
    assert row.last_seen_at > earlier


def test_oversized_and_unreadable_forms_are_refused(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    sign_in(client, till)
    huge = client.post(
        "/console/signout",
        content=b"csrf=" + b"x" * 300_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    garbled = client.post(
        "/console/signout",
        content=b"csrf=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert garbled.status_code == 400
    assert len(world.rows(t.console_sessions)) == 1


def test_repeated_failed_sign_ins_are_throttled(client: TestClient, world: World) -> None:
    till = world.till(world.org())
    limit = world.runtime.settings.auth_failure_limit
    statuses = [sign_in(client, till, password="wrong").status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit] == 429
    throttled = sign_in(client, till)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert world.rows(t.console_sessions) == []


def test_audit_pages_link_to_older_events(client: TestClient, world: World) -> None:
    org = world.org()
    writer = world.till(org)
    batch = [{"externalId": f"audit-{i}"} for i in range(55)]
    created = client.post("/admin/v1/customers", json={"customers": batch}, headers=writer.headers)
    assert created.status_code == 201
    sign_in(client, world.till(org, access="customer:read,config:read"))
    first = client.get("/console/audit", params={"action": "customer_created"})
    assert first.text.count("<td>CUSTOMER_CREATED</td>") == 50
    older = re.search(r'href="(/console/audit\?[^"]*cursor=\d+)"', first.text)
    assert older, first.text
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count("<td>CUSTOMER_CREATED</td>") == 5
    assert "cursor=" not in second.text


def test_an_erased_customer_is_not_found_and_its_page_says_erased(
    client: TestClient, world: World
) -> None:
    org = world.org()
    writer = world.till(org)
    [c] = world.customers(org, None)
    assert client.delete(f"/admin/v1/customers/{c.id}", headers=writer.headers).status_code == 200
    sign_in(client, world.till(org, access="customer:write,config:read"))
    assert "No customer matches" in client.get("/console/customers", params={"q": c.mobile}).text
    page = client.get(f"/console/customers/{c.id}")
    assert page.status_code == 200
    assert ">erased<" in page.text
    assert c.mobile not in page.text
