-- Figures of a check that do not fit the common columns: ICMP packets and
-- round trips, the DNS answer.
ALTER TABLE check_results ADD COLUMN detail text;
