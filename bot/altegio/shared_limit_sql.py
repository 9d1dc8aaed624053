"""The shared Altegio rate limit's tables and its one grant function, in PostgreSQL.

`altegio_limit_egress` has a row per egress address (the lock every grant takes, and a 429's
pause), `altegio_limit_grants` a row per request let through (when, and when answered, and for
which tenant), and `altegio_limit_waiters` a row per process with callers still waiting (how many
of each priority, of which tenants, until when that holds), which is how a booking waiting in
one process keeps the reads of the others back, and a tenant waiting in one process keeps back
the tenants served more lately elsewhere. `altegio_limit_grant_v2` decides one caller's turn in
one round trip.

Every instant is the database server's `clock_timestamp()`, the one clock all processes share.
It is a wall clock: keep the server's time synchronised by slewing (as NTP does by default),
since a step backwards would make the windows look emptier than they are for that long.
The tables are created on first use (a new version of the function gets a new name).
"""

from __future__ import annotations

# Taken around the schema's creation, so replicas starting together do not race on it.
SCHEMA_LOCK = 0x616C7465  # "alte"
GRANT_FUNCTION = "altegio_limit_grant_v2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS altegio_limit_egress (
    egress text PRIMARY KEY,
    paused_until timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE TABLE IF NOT EXISTS altegio_limit_grants (
    id bigserial PRIMARY KEY,
    egress text NOT NULL,
    priority smallint NOT NULL,
    granted timestamptz NOT NULL,
    ended timestamptz,
    tenant text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS altegio_limit_grants_egress ON altegio_limit_grants (egress, granted);
CREATE TABLE IF NOT EXISTS altegio_limit_waiters (
    egress text NOT NULL,
    instance uuid NOT NULL,
    urgent integer NOT NULL,
    normal integer NOT NULL,
    expires timestamptz NOT NULL,
    urgent_tenants text[] NOT NULL DEFAULT '{}',
    normal_tenants text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (egress, instance)
);
ALTER TABLE altegio_limit_grants ADD COLUMN IF NOT EXISTS tenant text NOT NULL DEFAULT '';
ALTER TABLE altegio_limit_waiters
    ADD COLUMN IF NOT EXISTS urgent_tenants text[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS normal_tenants text[] NOT NULL DEFAULT '{}';
-- When each tenant was served last, at each priority: one step down an index, whatever the count.
CREATE INDEX IF NOT EXISTS altegio_limit_grants_tenant
    ON altegio_limit_grants (egress, priority, tenant, granted);
"""

# One caller's turn, decided under the egress row's lock with the database's clock read once
# the lock is held (so two grants are never decided on the same picture of the windows).
#
# A request holds its place in each window from its grant until its answer plus the window; one
# still in flight holds it at least until now plus the window (a lower bound, so the delay
# returned is one too: the caller asks again then), and at most until `hold` after its grant
# (a process that died holding it). Callers of other processes still waiting are counted from
# `altegio_limit_waiters`: a read is let through only with room left for their bookings (they
# stand in the windows as if let through now), and a background read only when nobody anywhere
# waits and every window keeps a place free after it.
#
# Tenants (the bots of several salons): the caller's process names its tenants waiting at this
# priority (`p_tenants`); the one served longest ago at this priority is chosen (never served in
# the windows: first; then by name). A tenant waiting at this priority in another process and
# served longer ago than the chosen one stands in the windows too, one place each: a tenant
# flooding one process cannot take the place another's caller waits for elsewhere.
#
# Returns the grant's id (NULL when refused), the seconds until asking again is worth it, the
# places left in the tightest window, how many callers of other processes wait, and the tenant
# chosen.
GRANT = """
CREATE OR REPLACE FUNCTION altegio_limit_grant_v2(
    p_egress text, p_instance uuid, p_priority integer, p_urgent integer, p_normal integer,
    p_tenants text[], p_urgent_tenants text[], p_normal_tenants text[],
    p_limits integer[], p_windows double precision[], p_hold double precision,
    p_lease double precision,
    OUT grant_id bigint, OUT delay double precision, OUT room integer, OUT others integer,
    OUT tenant text
) LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz;
    v_paused timestamptz;
    v_urgent integer;
    v_window interval;
    v_hold interval := make_interval(secs => p_hold);
    v_exits timestamptz[];
    v_real integer;
    v_count integer;
    v_threshold integer;
    v_phantoms integer;
    v_mine_urgent integer;
    v_mine_normal integer;
    v_served timestamptz;
    v_ahead integer := 0;
BEGIN
    INSERT INTO altegio_limit_egress (egress) VALUES (p_egress) ON CONFLICT (egress) DO NOTHING;
    SELECT e.paused_until INTO v_paused
      FROM altegio_limit_egress e WHERE e.egress = p_egress FOR UPDATE;
    v_now := clock_timestamp();
    DELETE FROM altegio_limit_grants g
     WHERE g.egress = p_egress
       AND g.granted < v_now - v_hold
                       - make_interval(secs => (SELECT max(w) FROM unnest(p_windows) w));
    SELECT coalesce(sum(w.urgent), 0), coalesce(sum(w.urgent + w.normal), 0)
      INTO v_urgent, others
      FROM altegio_limit_waiters w
     WHERE w.egress = p_egress AND w.instance <> p_instance AND w.expires > v_now;
    SELECT c.t, c.served INTO tenant, v_served
      FROM (
        SELECT u.t, coalesce((SELECT g.granted FROM altegio_limit_grants g
                               WHERE g.egress = p_egress AND g.priority = p_priority
                                 AND g.tenant = u.t
                               ORDER BY g.granted DESC LIMIT 1), '-infinity') AS served
          FROM unnest(p_tenants) u(t)
      ) c
     ORDER BY c.served, c.t LIMIT 1;
    tenant := coalesce(tenant, '');
    IF p_priority < 2 THEN
        SELECT count(*) INTO v_ahead FROM (
            SELECT DISTINCT o.t
              FROM altegio_limit_waiters w,
                   unnest(CASE WHEN p_priority = 0 THEN w.urgent_tenants
                               ELSE w.normal_tenants END) o(t)
             WHERE w.egress = p_egress AND w.instance <> p_instance AND w.expires > v_now
        ) o
         WHERE (coalesce((SELECT g.granted FROM altegio_limit_grants g
                           WHERE g.egress = p_egress AND g.priority = p_priority
                             AND g.tenant = o.t
                           ORDER BY g.granted DESC LIMIT 1), '-infinity'), o.t)
               < (v_served, tenant);
    END IF;
    delay := CASE WHEN v_paused > v_now THEN extract(epoch FROM v_paused - v_now) ELSE 0 END;
    v_phantoms := CASE WHEN p_priority = 1 THEN v_urgent ELSE 0 END + v_ahead;
    FOR i IN 1 .. coalesce(array_length(p_limits, 1), 0) LOOP
        v_window := make_interval(secs => p_windows[i]);
        v_threshold := greatest(1, p_limits[i] - CASE WHEN p_priority >= 2 THEN 1 ELSE 0 END);
        SELECT array_agg(s.x ORDER BY s.x), count(*) FILTER (WHERE s.is_real)
          INTO v_exits, v_real
          FROM (
            SELECT CASE
                     WHEN g.ended IS NOT NULL THEN g.ended
                     WHEN g.granted + v_hold > v_now THEN v_now
                     ELSE g.granted + v_hold
                   END + v_window AS x, true AS is_real
              FROM altegio_limit_grants g WHERE g.egress = p_egress
            UNION ALL
            SELECT v_now + v_window, false FROM generate_series(1, v_phantoms)
          ) s
         WHERE s.x > v_now;
        v_count := coalesce(array_length(v_exits, 1), 0);
        room := least(coalesce(room, p_limits[i]), p_limits[i] - v_real);
        IF v_count >= v_threshold THEN
            delay := greatest(
                delay, extract(epoch FROM v_exits[v_count - v_threshold + 1] - v_now));
        END IF;
    END LOOP;
    IF delay <= 0 AND NOT (p_priority >= 2 AND others > 0) THEN
        INSERT INTO altegio_limit_grants (egress, priority, granted, tenant)
             VALUES (p_egress, p_priority, v_now, tenant)
          RETURNING id INTO grant_id;
        room := room - 1;
        delay := 0;
    END IF;
    IF p_priority < 2 THEN
        v_mine_urgent := p_urgent + CASE WHEN grant_id IS NULL AND p_priority = 0 THEN 1 ELSE 0 END;
        v_mine_normal := p_normal + CASE WHEN grant_id IS NULL AND p_priority = 1 THEN 1 ELSE 0 END;
        IF v_mine_urgent + v_mine_normal = 0 THEN
            DELETE FROM altegio_limit_waiters w
             WHERE w.egress = p_egress AND w.instance = p_instance;
        ELSE
            INSERT INTO altegio_limit_waiters AS w
                        (egress, instance, urgent, normal, expires, urgent_tenants, normal_tenants)
                 VALUES (p_egress, p_instance, v_mine_urgent, v_mine_normal,
                         v_now + make_interval(secs => delay + p_lease),
                         p_urgent_tenants, p_normal_tenants)
            ON CONFLICT (egress, instance) DO UPDATE
                SET urgent = excluded.urgent, normal = excluded.normal, expires = excluded.expires,
                    urgent_tenants = excluded.urgent_tenants,
                    normal_tenants = excluded.normal_tenants;
        END IF;
    END IF;
END
$$;
"""

ASK = (
    f"SELECT grant_id, delay, room, others, tenant FROM {GRANT_FUNCTION}"
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
RELEASE = "UPDATE altegio_limit_grants SET ended = clock_timestamp() WHERE id = %s"
RELEASE_LATE = """
UPDATE altegio_limit_grants g SET ended = g.granted + make_interval(secs => v.held)
  FROM unnest(%s::bigint[], %s::double precision[]) AS v(id, held)
 WHERE g.id = v.id AND g.ended IS NULL
"""
PAUSE = """
INSERT INTO altegio_limit_egress AS e (egress, paused_until)
     VALUES (%(egress)s, clock_timestamp() + make_interval(secs => %(seconds)s))
ON CONFLICT (egress) DO UPDATE SET paused_until = greatest(e.paused_until, excluded.paused_until)
"""
FORGET_WAITERS = "DELETE FROM altegio_limit_waiters WHERE egress = %s AND instance = %s"
