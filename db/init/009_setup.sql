-- One-time facts about this installation (e.g. that the first-run jobs were seeded), so seeding happens
-- once even when several workers start together and survives a user deleting the seeded jobs.
CREATE TABLE app_state (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at timestamptz NOT NULL
);
