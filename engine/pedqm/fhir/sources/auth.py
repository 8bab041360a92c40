"""Authorization for FHIR servers: none, a bearer token, or SMART Backend Services.

SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html) is how a
measure engine reaches an EHR without a user: the client signs a short-lived JWT with its private
key (RS384 or ES384), trades it at the token endpoint (found in
``[base]/.well-known/smart-configuration``) for an access token, and asks again shortly before
that token expires. The HTTP layer calls :meth:`headers` before every request and
:meth:`refresh` once after a 401, so an access token revoked early costs one retry, not the run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .errors import DataSourceError

ALGORITHMS = ("RS384", "ES384")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 240  # seconds; SMART allows at most five minutes


class Auth(Protocol):
    """What the HTTP layer needs from an authorization scheme."""

    def headers(self, client: httpx.Client, base_url: str) -> dict[str, str]:
        """Headers for the next request (may fetch or renew a token)."""
        ...

    def refresh(self) -> bool:
        """Forget the current credential after a 401; True if asking again may help."""
        ...


class BearerToken:
    """A fixed access token, e.g. one issued out of band."""

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise DataSourceError("the bearer token is empty")
        self.token = token.strip()

    def headers(self, client: httpx.Client, base_url: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:  # never print the token
        return "BearerToken(***)"


def load_private_key(source: str | Path | bytes, kid: str | None = None) -> tuple[Any, str | None]:
    """A private key from a PEM file or a JWK / JWKS JSON file; returns (key, kid from the JWK)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    where = "the key" if isinstance(source, bytes) else str(source)
    text = data.strip()
    if text.startswith(b"{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise DataSourceError(f"{where} is neither a PEM key nor valid JWK JSON: {exc}") from exc
        keys = document.get("keys", [document]) if isinstance(document, dict) else []
        private = [k for k in keys if isinstance(k, dict) and "d" in k and (kid is None or k.get("kid") == kid)]
        if not private:
            raise DataSourceError(f"{where} holds no private JWK{f' with kid {kid!r}' if kid else ''}")
        try:
            jwk = jwt.PyJWK(private[0])
        except jwt.PyJWTError as exc:
            raise DataSourceError(f"{where}: unusable JWK: {exc}") from exc
        return jwk.key, private[0].get("kid")
    try:
        return serialization.load_pem_private_key(data, password=None), None
    except (ValueError, TypeError) as exc:
        raise DataSourceError(f"{where} is not an unencrypted PEM private key or a JWK: {exc}") from exc


def algorithm_for(key: Any, requested: str | None) -> str:
    """The signing algorithm: ``requested`` checked against the key, or inferred from it."""
    if isinstance(key, rsa.RSAPrivateKey):
        natural = "RS384"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP384R1):
            raise DataSourceError(f"ES384 needs a P-384 EC key; this key is on {key.curve.name}")
        natural = "ES384"
    else:
        raise DataSourceError(f"SMART Backend Services needs an RSA or EC private key, not {type(key).__name__}")
    if requested is not None:
        if requested not in ALGORITHMS:
            raise DataSourceError(f"unsupported signing algorithm {requested!r}; use RS384 or ES384")
        if requested != natural:
            raise DataSourceError(f"{requested} does not match the key (an {natural} key was given)")
    return natural


def jwk_thumbprint(key: Any) -> str:
    """RFC 7638 thumbprint of the public key: a stable ``kid`` when none is given."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        nums = public.public_numbers()
        members = {"e": _b64_int(nums.e), "kty": "RSA", "n": _b64_int(nums.n)}
    else:
        enc = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        members = {"crv": "P-384", "kty": "EC", "x": _b64_int(enc.x, size), "y": _b64_int(enc.y, size)}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64_int(value: int, size: int | None = None) -> str:
    raw = value.to_bytes(size or (value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SmartBackendAuth:
    """SMART Backend Services: client_credentials with a private_key_jwt client assertion."""

    def __init__(
        self,
        client_id: str,
        private_key: str | Path | bytes,
        *,
        alg: str | None = None,
        scope: str = "system/*.read",
        token_url: str | None = None,
        kid: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id:
            raise DataSourceError("SMART Backend Services needs a client id")
        self.client_id = client_id
        self.key, jwk_kid = load_private_key(private_key, kid)
        self.alg = algorithm_for(self.key, alg)
        self.kid = kid or jwk_kid or jwk_thumbprint(self.key)
        self.scope = scope
        self.token_url = token_url
        self.clock = clock
        self.token_requests = 0  # how many access tokens were fetched (reported, and tested)
        self.granted_scope: str | None = None
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SmartBackendAuth(client_id={self.client_id!r}, alg={self.alg}, scope={self.scope!r})"

    def headers(self, client: httpx.Client, base_url: str) -> dict[str, str]:
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._fetch_token(client, base_url)
            return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def discover_token_url(self, client: httpx.Client, base_url: str) -> str:
        """The token endpoint from ``[base]/.well-known/smart-configuration``."""
        url = f"{base_url.rstrip('/')}/.well-known/smart-configuration"
        try:
            resp = client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise DataSourceError(f"SMART discovery failed: cannot reach {url}: {exc}", url=url) from exc
        if resp.status_code != 200:
            raise DataSourceError(
                f"SMART discovery failed at {url}: HTTP {resp.status_code}; pass the token URL explicitly",
                url=url,
                status=resp.status_code,
            )
        try:
            endpoint = resp.json().get("token_endpoint")
        except (ValueError, AttributeError):
            endpoint = None
        if not isinstance(endpoint, str) or not endpoint:
            raise DataSourceError(f"{url} names no token_endpoint; pass the token URL explicitly", url=url)
        return endpoint

    def client_assertion(self, token_url: str) -> str:
        now = int(time.time())  # the server checks exp against its own clock, not ours
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "exp": now + ASSERTION_LIFETIME,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": self.kid, "typ": "JWT"})

    def _fetch_token(self, client: httpx.Client, base_url: str) -> None:
        if self.token_url is None:
            self.token_url = self.discover_token_url(client, base_url)
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.client_assertion(self.token_url),
        }
        try:
            resp = client.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise DataSourceError(f"SMART token request failed: cannot reach {self.token_url}: {exc}", url=self.token_url) from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error", "") if isinstance(body, dict) else ""
            desc = body.get("error_description", "") if isinstance(body, dict) else ""
            detail = ": ".join(x for x in (error, desc) if x) or resp.text[:200]
            raise DataSourceError(
                f"SMART token request refused by {self.token_url}: HTTP {resp.status_code} {detail}",
                url=self.token_url,
                status=resp.status_code,
            )
        lifetime = body.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 300.0
        self._token = str(body["access_token"])
        self.granted_scope = body.get("scope") if isinstance(body.get("scope"), str) else None
        # Renew a fifth of the lifetime early (at most a minute): never send a token about to lapse.
        self._renew_at = self.clock() + lifetime - min(60.0, lifetime / 5)
        self.token_requests += 1
