-- Monitor headers sealed with PINGUIN_SECRET_KEY (AES-256-GCM, format in
-- internal/secret). When a key is configured, headers is '{}' and the
-- headers live here; without one, they stay in headers as plain JSON.
ALTER TABLE monitors ADD COLUMN headers_sealed bytea;
