"""A local OpenID Connect identity provider that speaks the protocol over HTTP (discovery,
authorise, token, JWKS; RS256 ID tokens), and signing in through it."""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID, CLIENT_SECRET = "workmode-test", "s3cret-test-only"


class LocalIdP:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.email = "alex@northwind.example"
        self.email_verified = True
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, payload, status=200):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json({"issuer": idp.url, "authorization_endpoint": idp.url + "/authorize",
                                "token_endpoint": idp.url + "/token", "jwks_uri": idp.url + "/jwks",
                                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                                "id_token_signing_alg_values_supported": ["RS256"],
                                "code_challenge_methods_supported": ["S256"]})
                elif url.path == "/jwks":
                    self._json({"keys": [idp.key.as_dict(private=False)]})
                elif url.path == "/authorize":  # the person signs in and consents at once
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    idp.codes[code] = q
                    query = urlencode({"code": code, "state": q["state"]})
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + query)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                idp.token_requests.append({**form, "authorization": self.headers.get("Authorization", "")})
                asked = idp.codes.pop(form.get("code", ""), None)
                if asked is None:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                claims = {"iss": idp.url, "sub": "u-1", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                          "nonce": asked.get("nonce"), "email": idp.email, "email_verified": idp.email_verified}
                id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, idp.key)
                self._json({"access_token": "at-" + secrets.token_hex(8), "token_type": "Bearer",
                            "expires_in": 300, "id_token": id_token})

        return Handler

    def stop(self):
        self.server.shutdown()


def through_idp(client, idp, next_path="/settings"):
    start = client.get(f"/login/oidc?next={next_path}", follow_redirects=False)
    assert start.status_code == 302 and start.headers["location"].startswith(idp.url + "/authorize?")
    back = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlparse(back.headers["location"])
    assert callback.path == "/auth/callback"
    return client.get(f"/auth/callback?{callback.query}", follow_redirects=False)
