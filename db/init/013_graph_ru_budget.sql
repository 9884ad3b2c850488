-- One SharePoint/Graph resource-unit budget per tenant, shared by every process that calls Graph
-- (workers and the web's live drill-down). Windows are fixed UTC minutes and days; a process reserves RU in
-- chunks with one UPDATE (see GraphRuBudget). paused_until is set by a 429/503 anywhere and honoured everywhere.
CREATE TABLE graph_ru_budget (
    tenant_id       text PRIMARY KEY,
    ru_per_minute   integer NOT NULL CHECK (ru_per_minute > 0),
    ru_per_day      bigint NOT NULL CHECK (ru_per_day > 0),
    tenant_licences integer CHECK (tenant_licences > 0),
    minute_start    timestamptz NOT NULL DEFAULT '-infinity',
    minute_used     integer NOT NULL DEFAULT 0 CHECK (minute_used >= 0),
    day_start       timestamptz NOT NULL DEFAULT '-infinity',
    day_used        bigint NOT NULL DEFAULT 0 CHECK (day_used >= 0),
    paused_until    timestamptz NOT NULL DEFAULT '-infinity',
    last_grant      integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
