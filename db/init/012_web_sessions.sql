-- Web sign-in on Microsoft.Identity.Web (issue 12): server-side sessions and the distributed token cache.

-- The MSAL token cache now lives in Identity.Web's distributed cache (web_distributed_cache); the hand-written one goes.
DROP TABLE IF EXISTS web_token_cache;

-- IDistributedCache for Identity.Web's token cache: one entry per account (user tokens) and one for the app (client
-- credentials). Values are encrypted by Identity.Web with Data Protection before they get here.
CREATE TABLE web_distributed_cache (
    cache_key          text PRIMARY KEY,
    value              bytea NOT NULL,
    expires_at         timestamptz NOT NULL,
    sliding_seconds    integer,
    absolute_expires_at timestamptz
);
CREATE INDEX web_distributed_cache_expires_idx ON web_distributed_cache (expires_at);

-- Server-side sessions: the session cookie carries only the random session id; the authentication ticket (claims,
-- re-validation stamps) is here, encrypted with Data Protection. Sign-out deletes the row, so a copied cookie stops
-- working; expires_at is the absolute lifetime (WEB_SESSION_HOURS), idle_expires_at the sliding one inside it.
CREATE TABLE web_sessions (
    session_id      text PRIMARY KEY,
    user_oid        text,
    ticket          bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_oid);
