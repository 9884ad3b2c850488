-- Who did what: every change and every execution milestone. details never carries secrets.
CREATE TABLE audit_events (
    event_id    uuid PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    actor_oid   text,
    actor_upn   text,
    actor_name  text,
    action      text NOT NULL,
    entity_type text,
    entity_id   text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at DESC, event_id);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, occurred_at DESC);
CREATE INDEX audit_events_action_idx ON audit_events (action, occurred_at DESC);
