"""Who is calling: App JWTs (RS256), installation tokens, personal tokens, or nobody.

Also mints installation tokens, so the token rules (lifetime, narrowing to repositories and
permissions, 401 once expired) sit next to the code that checks them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import jwt

from bot.sandbox.errors import ApiError, bad_credentials, not_found
from bot.sandbox.model import Installation, Json, State, Token

LEVEL_RANK = {"read": 1, "write": 2}
UNDECODABLE_JWT = "A JSON web token could not be decoded"
BAD_IAT = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
    "was issued"
)
BAD_EXP = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"


@dataclass(frozen=True)
class Identity:
    kind: str  # anonymous | app | installation | user
    login: str | None = None  # the acting account; the bot user for an installation
    token: Token | None = None
    remote: str = ""

    @property
    def installation_id(self) -> int | None:
        return self.token.installation_id if self.token else None

    @property
    def label(self) -> str:
        """Stable name of the caller, used in the request log and as the rate-limit key."""
        if self.kind == "installation":
            return f"installation:{self.installation_id}"
        if self.kind == "user":
            return f"user:{self.login}"
        if self.kind == "app":
            return "app"
        return f"anonymous:{self.remote}"


def _verify_jwt(state: State, value: str) -> Identity:
    key = state.app.public_key
    if key is None:
        raise ApiError(401, UNDECODABLE_JWT)
    try:
        claims = jwt.decode(
            value,
            key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as error:
        raise ApiError(401, UNDECODABLE_JWT) from error
    now = state.clock()
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int) or issued > now:
        raise ApiError(401, BAD_IAT)
    if not isinstance(expires, int | float) or expires <= now:
        raise ApiError(401, BAD_EXP)
    if expires - issued > 600:
        raise ApiError(401, EXP_TOO_FAR)
    if str(claims.get("iss")) != str(state.app.id):
        raise ApiError(401, UNDECODABLE_JWT)
    return Identity("app", login=None)


def identify(state: State, authorization: str | None, remote: str) -> Identity:
    """Resolve the Authorization header; raise 401 for credentials GitHub would refuse."""
    if not authorization:
        return Identity("anonymous", remote=remote)
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() not in ("token", "bearer") or not value:
        raise bad_credentials()
    token = state.tokens.get(value)
    if token is not None:
        if token.expires_at is not None and token.expires_at <= state.clock():
            raise bad_credentials()
        if token.installation_id is None:
            return Identity("user", login=token.login, token=token, remote=remote)
        if token.installation_id not in state.installations:
            raise bad_credentials()
        return Identity("installation", login=token.login, token=token, remote=remote)
    if value.count(".") == 2:
        return _verify_jwt(state, value)
    raise bad_credentials()


def _narrow_repositories(
    state: State, installation: Installation, body: Json
) -> frozenset[str] | None:
    """The repositories a token is limited to; None when it may use all of the installation's."""
    installed = {name.lower(): name for name in state.installed_repos(installation)}
    by_id = {state.repo(name).id: name for name in installed.values()}
    chosen: set[str] = set()
    names = body.get("repositories") or []
    ids = body.get("repository_ids") or []
    if not names and not ids:
        return None
    for name in names:
        full = f"{installation.account}/{name}".lower() if "/" not in str(name) else str(name)
        if full.lower() not in installed:
            raise ApiError(
                422,
                "There is at least one repository that does not exist or is not accessible "
                "to the parent installation.",
            )
        chosen.add(installed[full.lower()])
    for repo_id in ids:
        if repo_id not in by_id:
            raise ApiError(
                422,
                "There is at least one repository that does not exist or is not accessible "
                "to the parent installation.",
            )
        chosen.add(by_id[repo_id])
    return frozenset(chosen)


def _narrow_permissions(installation: Installation, wanted: Json | None) -> dict[str, str]:
    if not wanted:
        return dict(installation.permissions)
    for name, level in wanted.items():
        granted = installation.permissions.get(name)
        if granted is None or LEVEL_RANK.get(level, 99) > LEVEL_RANK[granted]:
            raise ApiError(422, "The permissions requested are not granted to this installation.")
    return {str(name): str(level) for name, level in wanted.items()}


def mint_installation_token(state: State, installation_id: int, body: Json | None = None) -> Token:
    """Create a token the way POST app/installations/{id}/access_tokens does."""
    installation = state.installations.get(installation_id)
    if installation is None:
        raise not_found()
    request = body or {}
    token = Token(
        value=f"ghs_{secrets.token_hex(18)}",
        login=state.app.bot_login,
        installation_id=installation_id,
        repositories=_narrow_repositories(state, installation, request),
        permissions=_narrow_permissions(installation, request.get("permissions")),
        expires_at=state.clock() + state.settings.token_lifetime,
    )
    state.tokens[token.value] = token
    return token


def permission_level(identity: Identity, permission: str) -> str | None:
    if identity.token is None:
        return None
    return identity.token.permissions.get(permission)


def grants(identity: Identity, alternatives: tuple[str, ...], write: bool) -> bool:
    """Whether an installation token holds one of the permissions at the needed level."""
    needed = LEVEL_RANK["write" if write else "read"]
    return any(
        LEVEL_RANK.get(permission_level(identity, name) or "", 0) >= needed for name in alternatives
    )
