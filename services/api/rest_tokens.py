"""REST: my personal API tokens. `GET/POST /api/tokens`, `POST /api/tokens/{id}/revoke`.
Creating one needs a signed-in web session (cookie + X-CSRF-Token): a token cannot mint tokens."""
from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import ApiUser, DbDep, SessionApiUser
from services.api.schemas import TokenCreate, TokenCreated, TokenPublic
from services.api.tokens import create_api_token, list_api_tokens, revoke_api_token

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.get("", response_model=list[TokenPublic])
def list_(me: ApiUser, db: DbDep) -> list[TokenPublic]:
    return [TokenPublic(**t.model_dump()) for t in list_api_tokens(session=db, principal=me)]


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenCreate, me: SessionApiUser, db: DbDep) -> TokenCreated:
    """A new token (from a signed-in web session only); the response is the only time it is shown."""
    row, token = create_api_token(session=db, principal=me, name=body.name, expires_days=body.expires_days,
                                  scope=body.scope)
    db.commit()
    return TokenCreated(**row.model_dump(), token=token)


@router.post("/{token_id}/revoke", response_model=TokenPublic)
def revoke(token_id: str, me: ApiUser, db: DbDep) -> TokenPublic:
    row = revoke_api_token(session=db, principal=me, token_id=token_id)
    db.commit()
    return TokenPublic(**row.model_dump())
