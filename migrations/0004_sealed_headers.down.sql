ALTER TABLE monitors DROP COLUMN IF EXISTS headers_sealed;
