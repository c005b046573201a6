"""`/api/auth/sessions` and the new-device alert, over HTTP."""

from __future__ import annotations

import httpx
from sqlmodel import select

from imgapp.core import db
from imgapp.models import AuditLog
from imgapp.services import devices
from tests.support.factories import PASSWORD, create_user
from tests.support.listen import listening, wait_for

CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
CHROME_WIN_NEWER = CHROME_WIN.replace("Chrome/120", "Chrome/121")
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def _login(http: httpx.Client, email: str, agent: str, **headers: str) -> None:
    response = http.post(
        "/api/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"user-agent": agent, **headers},
    )
    assert response.status_code == 200, response.text


def _actions(user_id: int, action: str) -> list[AuditLog]:
    with db.read() as session:
        query = select(AuditLog).where(AuditLog.actor_user_id == user_id, AuditLog.action == action)
        return list(session.exec(query).all())


def test_the_list_names_each_device_and_marks_this_browser(client, new_client):
    user, _ = create_user()  # sign-up's own session: user agent "pytest"
    _login(client, user.email, CHROME_WIN)
    _login(new_client(), user.email, IPHONE)
    listed = client.get("/api/auth/sessions")
    assert listed.status_code == 200
    found = listed.json()["sessions"]
    assert len(found) == 3
    mine = found[0]
    assert mine["current"] is True
    assert (mine["browser"], mine["os"], mine["ip"]) == ("Chrome 120", "Windows 10", "127.0.0.1")
    assert mine["created_at"].endswith("+00:00")
    assert "last_active_at" in mine
    phone = next(s for s in found if s["os"].startswith("iOS"))
    assert "iPhone" in phone["device"]
    assert phone["browser"] == "Mobile Safari 17"
    assert [s["current"] for s in found].count(True) == 1
    unknown = next(s for s in found if s["browser"] == "")
    assert unknown["device"] == unknown["os"] == ""


def test_ending_another_session_signs_it_out_is_audited_and_announced(client, new_client):
    user, _ = create_user()
    _login(client, user.email, CHROME_WIN)
    phone = new_client()
    _login(phone, user.email, IPHONE)
    other = next(
        s for s in client.get("/api/auth/sessions").json()["sessions"] if "iPhone" in s["device"]
    )
    with listening() as heard:
        response = client.delete(f"/api/auth/sessions/{other['id']}")
        assert response.status_code == 204
        event = wait_for(heard, lambda e: e.topic == "session" and e.data["kind"] == "revoked")
    assert event.user_id == user.id
    assert event.data["session_ids"] == [other["id"]]
    assert phone.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me").status_code == 200
    (row,) = _actions(user.id, "session_revoked")
    assert row.target == str(other["id"])


def test_someone_elses_or_an_unknown_session_is_404(client, new_client):
    owner, _ = create_user()
    theirs = new_client()
    _login(theirs, owner.email, IPHONE)
    their_id = theirs.get("/api/auth/sessions").json()["sessions"][0]["id"]
    intruder, _ = create_user()
    _login(client, intruder.email, CHROME_WIN)
    for target in (their_id, 987654):
        response = client.delete(f"/api/auth/sessions/{target}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert theirs.get("/api/auth/me").status_code == 200
    assert _actions(intruder.id, "session_revoked") == []


def test_revoke_others_keeps_only_this_session(client, new_client):
    user, _ = create_user()
    _login(client, user.email, CHROME_WIN)
    others = [new_client(), new_client()]
    for http in others:
        _login(http, user.email, IPHONE)
    with listening() as heard:
        response = client.post("/api/auth/sessions/revoke-others")
        assert response.status_code == 200
        event = wait_for(heard, lambda e: e.topic == "session" and e.data["kind"] == "revoked")
    assert response.json() == {"revoked": 3}  # the two phones and sign-up's session
    assert len(event.data["session_ids"]) == 3
    assert all(http.get("/api/auth/me").status_code == 401 for http in others)
    assert [s["current"] for s in client.get("/api/auth/sessions").json()["sessions"]] == [True]
    (row,) = _actions(user.id, "other_sessions_revoked")
    assert row.details["count"] == 3
    assert client.post("/api/auth/sessions/revoke-others").json() == {"revoked": 0}


def test_ending_this_session_signs_this_browser_out(client):
    user, _ = create_user()
    _login(client, user.email, CHROME_WIN)
    mine = client.get("/api/auth/sessions").json()["sessions"][0]["id"]
    response = client.delete(f"/api/auth/sessions/{mine}")
    assert response.status_code == 204
    assert "imgapp_session=" in response.headers["set-cookie"]
    assert client.get("/api/auth/me").status_code == 401


def test_sessions_need_a_signed_in_same_origin_caller(client, api_server):
    assert client.get("/api/auth/sessions").status_code == 401
    assert client.post("/api/auth/sessions/revoke-others").status_code == 401
    user, _ = create_user()
    _login(client, user.email, CHROME_WIN)
    bare = httpx.Client(base_url=api_server.url, cookies=client.cookies)
    with bare:
        assert bare.post("/api/auth/sessions/revoke-others").status_code == 403
        foreign = bare.post(
            "/api/auth/sessions/revoke-others", headers={"origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        assert foreign.json()["code"] == "cross_site"


def test_a_sign_in_from_a_new_device_is_audited_and_announced(client, new_client, configure):
    configure(TRUST_PROXY_HEADERS="true")
    user, _ = create_user()
    _login(client, user.email, CHROME_WIN, **{"x-forwarded-for": "203.0.113.7"})
    assert len(_actions(user.id, "new_device_sign_in")) == 1  # "pytest" was the only one before
    # Same browser and system (a newer version), same /24: the same device.
    _login(new_client(), user.email, CHROME_WIN_NEWER, **{"x-forwarded-for": "203.0.113.99"})
    assert len(_actions(user.id, "new_device_sign_in")) == 1
    with listening() as heard:
        # Same browser, another network: new.
        _login(new_client(), user.email, CHROME_WIN, **{"x-forwarded-for": "198.51.100.4"})
        event = wait_for(heard, lambda e: e.topic == "session" and e.data["kind"] == "new_device")
    assert event.user_id == user.id
    assert event.data["browser"] == "Chrome 120"
    assert event.data["os"] == "Windows 10"
    assert event.data["ip"] == "198.51.100.4"
    rows = _actions(user.id, "new_device_sign_in")
    assert len(rows) == 2
    assert rows[-1].target == str(event.data["session_id"])
    assert rows[-1].details["browser"] == "Chrome 120"


def test_networks_compare_by_slash_24_and_slash_48():
    assert devices.network("203.0.113.7") == devices.network("203.0.113.200") == "203.0.113.0/24"
    assert devices.network("203.0.114.7") != devices.network("203.0.113.7")
    assert devices.network("2001:db8:1:2::1") == devices.network("2001:db8:1:ffff::9")
    assert devices.network("2001:db8:2::1") != devices.network("2001:db8:1::1")
    assert devices.network("::ffff:203.0.113.7") == "203.0.113.0/24"
    assert devices.network("testclient") == "testclient"
