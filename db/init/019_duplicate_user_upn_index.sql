-- msgraph_users_upn_lower_idx (010) repeats msgraph_users_upn_idx (001): both are btree (lower(user_principal_name)).
-- The planner reads either; every insert, and every update that is not HOT, wrote both. The later one goes (the only
-- exact duplicate in the schema: pg_index grouped by definition).
DROP INDEX IF EXISTS msgraph_users_upn_lower_idx;
