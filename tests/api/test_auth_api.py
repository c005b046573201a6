"""`/api/auth/*` over real HTTP: JSON for scripts, 303 redirects for browser forms."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.models import User, UserSession
from tests.support.factories import PASSWORD, create_user, unique_email


def _register(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/api/auth/register", json=body)


def _users() -> int:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(User)).one()


def test_register_returns_201_and_an_httponly_lax_session_cookie(client):
    response = _register(client, email="Ada@Example.com", password=PASSWORD, display_name="Ada")
    assert response.status_code == 201
    assert response.json()["user"]["email"] == "ada@example.com"
    assert response.json()["user"]["display_name"] == "Ada"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("imgapp_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"email": "nope", "password": PASSWORD}, "email_invalid", "valid email"),
        ({"email": "", "password": PASSWORD}, "email_required", "email"),
        ({"password": PASSWORD}, "email_required", "email"),
        ({"email": "a@example.com", "password": "short"}, "password_too_short", "8"),
        ({"email": "a@example.com"}, "password_too_short", "8"),
        ({"email": 5, "password": PASSWORD}, "bad_request", "email"),
        (
            {"email": "a@example.com", "password": PASSWORD, "display_name": "x" * 61},
            "display_name_too_long",
            "60",
        ),
    ],
)
def test_register_bad_input_is_400_with_a_message_and_creates_nothing(client, body, code, fragment):
    response = _register(client, **body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert fragment in response.json()["error"]
    assert "set-cookie" not in response.headers
    assert _users() == 0


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"null", b""])
def test_a_body_that_is_not_a_json_object_is_400(client, raw):
    response = client.post(
        "/api/auth/register", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_register_existing_email_is_409(client):
    create_user(email="taken@example.com")
    response = _register(client, email="TAKEN@example.com", password=PASSWORD)
    assert response.status_code == 409
    assert response.json() == {
        "error": "An account with this email already exists. Sign in instead.",
        "code": "email_taken",
    }


def test_errors_speak_chinese_when_asked(client):
    response = client.post(
        "/api/auth/login",
        json={"email": "nobody@example.com", "password": PASSWORD},
        headers={"accept-language": "zh-CN,zh;q=0.9"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "邮箱或密码错误。"


def test_login_logout_and_me(client):
    user, _ = create_user()
    assert client.get("/api/auth/me").status_code == 401
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.id
    assert client.get("/api/auth/me").json()["id"] == user.id
    out = client.post("/api/auth/logout")
    assert out.status_code == 200
    assert out.json() == {"ok": True}
    assert client.get("/api/auth/me").status_code == 401


def test_logout_revokes_the_session_even_for_a_copied_cookie(client, new_client):
    user, _ = create_user()
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    copy = new_client()
    copy.cookies.set("imgapp_session", client.cookies["imgapp_session"])
    assert copy.get("/api/auth/me").status_code == 200
    client.post("/api/auth/logout")
    replay = copy.get("/api/auth/me")
    assert replay.status_code == 401
    assert replay.json()["code"] == "not_signed_in"


def test_wrong_password_is_401_and_sixth_attempt_is_429_with_retry_after(client):
    user, _ = create_user()
    for _ in range(5):
        wrong = client.post("/api/auth/login", json={"email": user.email, "password": "nope-nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "Wrong email or password."
    locked = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Try again in 15 minutes" in locked.json()["error"]
    assert 0 < int(locked.headers["retry-after"]) <= 900
    assert "set-cookie" not in locked.headers


def test_each_sign_in_is_its_own_session(client, new_client):
    user, _ = create_user()
    other = new_client()
    for http in (client, other):
        http.post(
            "/api/auth/login",
            json={"email": user.email, "password": PASSWORD},
            headers={"user-agent": "browser-x"},
        )
    client.post("/api/auth/logout")
    assert other.get("/api/auth/me").status_code == 200
    with db.read() as session:
        rows = session.exec(select(UserSession).where(UserSession.user_agent == "browser-x")).all()
    assert len(rows) == 2
    assert sum(r.revoked_at is not None for r in rows) == 1


# Browser forms: urlencoded in, 303 out.


def test_form_register_redirects_to_next_with_the_cookie(client):
    response = client.post(
        "/api/auth/register",
        data={"email": unique_email(), "password": PASSWORD, "next": "/console"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    assert "HttpOnly" in response.headers["set-cookie"]


def test_form_login_failure_returns_to_the_form_with_the_error_and_email(client):
    response = client.post(
        "/api/auth/login",
        data={"email": "who@example.com", "password": "wrong-password", "next": "/usage"},
    )
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    query = parse_qs(target.query)
    assert query == {
        "error": ["invalid_credentials"],
        "email": ["who@example.com"],
        "next": ["/usage"],
    }
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "evil", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/api/auth/logout"]
)
def test_form_next_never_leaves_the_site(client, evil):
    response = client.post(
        "/api/auth/register", data={"email": unique_email(), "password": PASSWORD, "next": evil}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_form_logout_clears_the_cookie_and_says_so(client):
    user, _ = create_user()
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    response = client.post(
        "/api/auth/logout",
        content=b"",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?signed_out=1"
    assert 'imgapp_session=""' in response.headers["set-cookie"]
    assert client.get("/api/auth/me").status_code == 401


def test_forms_posted_from_another_site_are_refused(client):
    user, _ = create_user()
    response = client.post(
        "/api/auth/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "cross_site"
    same_site = client.post(
        "/api/auth/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"origin": str(client.base_url).rstrip("/")},
    )
    assert same_site.status_code == 303


# The API as a whole answers JSON.


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert "No API route" in response.json()["error"]


def test_openapi_is_served_under_api_docs(client):
    assert client.get("/api/docs").status_code == 200
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/auth/register", "/api/auth/login", "/api/auth/logout", "/api/auth/me"):
        assert path in spec["paths"]


def test_health(client):
    assert client.get("/api/health").json() == {"status": "ok"}
